#!/usr/bin/env bash
# layering.sh - src/ is layered, and every arrow runs one way.
#
# Each folder of src/ is one subsystem (docs/DESIGN.md, "Source folders").
# A file may include or call files of its own folder, the shared headers at
# the top of src/ (internal.h) and the folders ALLOWED lists for its folder;
# nothing else.  Checked here:
#   1. every source file sits in a folder listed below;
#   2. the #include "..." lines of src/ (resolved as the compiler does:
#      beside the file, then under src/);
#   3. the calls and data references: each object of the static library's
#      undefined symbols, mapped with nm to the folder that defines them;
#   4. no loop between files, through includes or calls (tsort), nor
#      between folders (the table below must itself be acyclic).
# Run by `make check` (SN_LIBDIR names the library folder of the build);
# alone: bash test/layering.sh after `make lib`.
set -u
cd "$(dirname "$0")/.."

# ---------------------------------------------------------------- the rule
# folder: the folders it may use (the ones below it).  Written once, here.
ALLOWED='
core:
kernels: core
model:   core kernels
layers:  core kernels model
train:   core kernels model
text:    core model
custom:  core kernels model layers
io:      core kernels model layers custom train text
fit:     core kernels model train io
data:    core kernels model text
eval:    core
series:  core
mpi:
'
# (mpi/ is libseqnet-mpi, a library of its own on the public API only: it
# may include no folder of src/.)
# Files allowed at the top of src/ (shared by every folder).
TOP_FILES='internal.h libseqnet.map'

LIB=${SN_LIBDIR:-lib}/libseqnet.a
edges=$(mktemp)
trap 'rm -f "$edges" "$edges".*' EXIT
fail=0
err() { echo "layering: $*"; fail=1; }

folders=$(printf '%s\n' "$ALLOWED" | sed -n 's/^\([a-z_]*\):.*/\1/p')
allowed_of() { # folder -> its allowed folders
    printf '%s\n' "$ALLOWED" | sed -n "s/^$1:[[:space:]]*//p"
}
declare -A may
for a in $folders; do
    may["$a $a"]=1
    may["$a ."]=1                       # the shared top-level headers
    for b in $(allowed_of "$a"); do may["$a $b"]=1; done
done
may_use() { # from to -> 0 if allowed
    [ -n "${may["$1 $2"]:-}" ]
}
folder_of() { # src/<folder>/x.c -> folder; src/x.h -> . (in $folder)
    local p=${1#src/}
    case $p in */*) folder=${p%%/*} ;; *) folder=. ;; esac
}

# ------------------------------------------------ 1. files in known folders
for f in src/*; do
    name=${f#src/}
    if [ -d "$f" ]; then
        printf '%s\n' "$folders" | grep -qx "$name" ||
            err "src/$name/ is not in the table of test/layering.sh"
    else
        case " $TOP_FILES " in *" $name "*) ;; *)
            err "$f: sources belong in a subsystem folder (src/<folder>/)" ;;
        esac
    fi
done
# the table itself must be a one-way order
for a in $folders; do
    for b in $(allowed_of "$a"); do
        printf '%s\n' "$folders" | grep -qx "$b" ||
            err "table: $a may use '$b', which is not a folder of the table"
        echo "$a $b"
    done
done > "$edges.folders"
tsort "$edges.folders" > /dev/null 2>&1 ||
    err "table: the allowed directions form a loop: $(tsort "$edges.folders" 2>&1 >/dev/null | grep -v 'input contains' | sed 's/^tsort: //' | awk '!seen[$0]++' | tr '\n' ' ')"

# ------------------------------------------------------------ 2. includes
n_inc=0
while IFS= read -r f; do
    dir=${f%/*}
    folder_of "$f"; from=$folder
    while IFS=: read -r line inc; do
        if [ -f "$dir/$inc" ]; then
            target="$dir/$inc"
        elif [ -f "src/$inc" ]; then
            target="src/$inc"
        else
            continue                    # a system or public header
        fi
        n_inc=$((n_inc + 1))
        echo "$f $target" >> "$edges"
        folder_of "$target"; to=$folder
        may_use "$from" "$to" ||
            err "$f:$line includes $target: $from/ may not use $to/"
    done < <(awk '/^[ \t]*#[ \t]*include[ \t]*"/ {
                      match($0, /"[^"]*"/)
                      print FNR ":" substr($0, RSTART + 1, RLENGTH - 2) }' "$f")
done < <(find src -name '*.[ch]' | sort)

# ------------------------------------------------------------- 3. symbols
n_sym=0
if [ ! -f "$LIB" ]; then
    err "$LIB not found: build the library first (make lib)"
else
    # object name -> source file (the archive keeps base names only, so
    # base names must be unique across src/)
    find src -name '*.c' | sort > "$edges.srcs"
    dups=$(sed 's|.*/||' "$edges.srcs" | sort | uniq -d)
    [ -z "$dups" ] || err "source names used twice ($dups): objects are mapped by name"
    # symbol -> defining source; object -> undefined symbols
    nm -A --defined-only "$LIB" 2>/dev/null |
        awk '$(NF-1) ~ /^[A-TX-Z]$/ { n = split($1, p, ":"); print p[n-1], $NF }' |
        sort -u > "$edges.defs"
    nm -A -u "$LIB" 2>/dev/null |
        awk '{ n = split($1, p, ":"); print p[n-1], $NF }' |
        sort -u > "$edges.undef"
    awk 'FILENAME == ARGV[1] { b = $0; sub(/.*\//, "", b); sub(/\.c$/, ".o", b); src[b] = $0; next }
         FILENAME == ARGV[2] { if (!($2 in def)) def[$2] = $1; next }
         ($2 in def) && ($1 in src) && (def[$2] in src) && src[$1] != src[def[$2]] {
             print src[$1], src[def[$2]], $2 }' \
        "$edges.srcs" "$edges.defs" "$edges.undef" | sort -u > "$edges.calls"
    while read -r from_f to_f sym; do
        n_sym=$((n_sym + 1))
        echo "$from_f $to_f" >> "$edges"
        folder_of "$from_f"; from=$folder
        folder_of "$to_f"; to=$folder
        may_use "$from" "$to" ||
            err "$from_f uses $sym of $to_f: $from/ may not use $to/"
    done < "$edges.calls"
    [ "$n_sym" -gt 0 ] || err "no symbol of $LIB mapped to src/: is nm there?"
fi

# -------------------------------------------------------- 4. no file loops
if ! tsort "$edges" > /dev/null 2> "$edges.loop"; then
    err "a loop between files (includes or calls): $(grep -v 'input contains' "$edges.loop" | sed 's/^tsort: //' | awk '!seen[$0]++' | tr '\n' ' ')"
fi

if [ "$fail" -ne 0 ]; then
    echo "layering: FAILED (the allowed directions are at the top of test/layering.sh; docs/DESIGN.md explains them)"
    exit 1
fi
echo "layering: ok ($n_inc includes, $n_sym cross-file symbol uses, $(printf '%s\n' "$folders" | wc -l) folders, no loop)"

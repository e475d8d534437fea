#!/bin/sh
# scripts/install-deps.sh - installs what building and testing libseqnet
# needs, and only what is missing.
#
#   scripts/install-deps.sh [--for=lib|check|demo|examples] [--blas=openblas|blis]
#                           [--dry-run] [--quiet]
#
# The Makefile runs it (before it calls pkg-config) for every goal that
# builds something, so that on a fresh Debian 12 with only git, make and gcc
# `make check` and `make demo` do the whole set-up.  It probes each
# dependency (a C compiler that finds the C library headers, pkg-config,
# OpenBLAS or BLIS, Check, zlib; for demo/examples also PLplot with its
# cairo driver, and a downloader when there is no shared IMDB tarball),
# maps what is missing to Debian packages, and installs them with
#
#     apt-get install -y --no-install-recommends <packages>
#
# as root, or through sudo (`sudo -n` when there is no terminal to ask a
# password on).  A machine that already has everything installs nothing
# and the script prints nothing.  When it cannot install (no apt-get, not
# root and no usable sudo, SN_INSTALL_DEPS=no, or apt-get failed) it prints
# one message with the exact command to run, and exits 1.
#
#   --for=WHAT    lib (library only), check (default: library + tests),
#                 demo or examples (also PLplot and the data download),
#                 doc (doxygen only, for `make doc`), mpi (Open MPI for
#                 `make mpi`: libopenmpi-dev, openmpi-bin)
#   --blas=NAME   openblas (default) or blis
#   --dry-run     say what is missing and what would be installed; exit 1
#                 if something is missing
#   --quiet       print nothing when nothing is missing (the default when
#                 the Makefile calls it); without it, say so
#
# Environment: CC, PKG_CONFIG (as the Makefile uses them), SN_SHARED (the
# shared data folder, default ../shared), SN_INSTALL_DEPS=no (never
# install: report and fail).  Everything is written to stderr, so that the
# Makefile's $(shell ...) captures nothing.
set -u

cd "$(dirname "$0")/.." || exit 2

what=check
blas=openblas
dry_run=0
quiet=0
for arg in "$@"; do
    case $arg in
        --for=*) what=${arg#--for=} ;;
        --blas=*) blas=${arg#--blas=} ;;
        --dry-run) dry_run=1 ;;
        --quiet) quiet=1 ;;
        -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
        *) echo "install-deps: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
    esac
done
case $what in lib|check|demo|examples|doc|mpi) ;; *)
    echo "install-deps: --for must be lib, check, demo, examples, doc or mpi" >&2; exit 2 ;;
esac
case $blas in openblas|blis) ;; *)
    echo "install-deps: --blas must be openblas or blis" >&2; exit 2 ;;
esac

say() { printf 'install-deps: %s\n' "$*" >&2; }

cc=${CC:-cc}
pc=${PKG_CONFIG:-pkg-config}
shared=${SN_SHARED:-../shared}

have() { command -v "$1" >/dev/null 2>&1; }
pc_has() { have "$pc" && "$pc" --exists "$1" 2>/dev/null; }
# The compiler finds a header (the C library's or a dependency's).
cc_header() {
    printf '#include <%s>\n' "$1" | "$cc" -E -x c - >/dev/null 2>&1
}
blis_found() {
    triplet=$("$cc" -print-multiarch 2>/dev/null)
    for d in ${triplet:+/usr/lib/$triplet/blis-pthread /usr/lib/$triplet/blis-serial /usr/lib/$triplet} \
             /usr/lib64 /usr/lib; do
        [ -e "$d/libblis.so" ] && return 0
    done
    return 1
}
plplot_cairo_found() {
    for f in /usr/lib/*/plplot*/drivers/cairo.so /usr/lib/plplot*/drivers/cairo.so \
             /usr/lib64/plplot*/drivers/cairo.so /usr/local/lib/plplot*/drivers/cairo.so; do
        [ -e "$f" ] && return 0
    done
    return 1
}

# Each probe that fails adds "what (package)" to the lists.
missing=''
packages=''
need() { # need <what> <debian packages...>
    missing="$missing${missing:+, }$1"
    shift
    packages="$packages $*"
}

probe() {
    missing=''
    packages=''
    if [ "$what" = doc ]; then
        have doxygen || need "doxygen" doxygen
        return
    fi
    if [ "$what" = mpi ]; then
        pc_has ompi-c || need "Open MPI's headers (pkg-config ompi-c)" libopenmpi-dev
        have mpirun || need "mpirun" openmpi-bin
        return
    fi
    if ! have "$cc"; then
        need "a C compiler ($cc)" gcc libc6-dev
    elif ! cc_header stdio.h; then
        need "the C library headers" libc6-dev
    fi
    have make || need "make" make
    if ! have "$pc"; then
        need "pkg-config" pkg-config
    fi
    if [ "$blas" = openblas ]; then
        pc_has openblas || need "OpenBLAS (pkg-config openblas)" libopenblas-dev
    else
        blis_found || need "BLIS (libblis.so)" libblis-pthread-dev
    fi
    if [ "$what" = check ]; then
        pc_has check || need "Check (pkg-config check)" check
        pc_has libsubunit || need "subunit (pkg-config libsubunit, used by Check)" libsubunit-dev
    fi
    pc_has zlib || cc_header zlib.h || need "zlib (zlib.h)" zlib1g-dev
    # test/*.sh are bash scripts and read the ELF files with binutils.
    if [ "$what" = check ]; then
        have bash || need "bash" bash
        { have nm && have readelf; } || need "binutils (nm, readelf)" binutils
        # the locale tests build de_DE.UTF-8 with localedef from the locale
        # sources of the package locales; without them they are reported as
        # skipped
        [ -e /usr/share/i18n/locales/de_DE ] ||
            need "the de_DE locale source (a decimal-comma locale for the locale tests)" locales
    fi
    if [ "$what" = demo ] || [ "$what" = examples ]; then
        pc_has plplot || need "PLplot (pkg-config plplot)" libplplot-dev
        plplot_cairo_found || need "PLplot's cairo driver" plplot-driver-cairo
        if [ ! -r "$shared/data/imdb/aclImdb_v1.tar.gz" ] && [ ! -d data/aclImdb ] &&
           ! have curl && ! have wget; then
            need "curl (to download the IMDB reviews)" curl ca-certificates
        fi
    fi
}

probe
if [ -z "$missing" ]; then
    [ "$quiet" = 1 ] || say "nothing missing for '$what' (BLAS=$blas)"
    exit 0
fi

# shellcheck disable=SC2086  # one word per package
packages=$(printf '%s\n' $packages | sort -u | tr '\n' ' ' | sed 's/ $//')
to_install=$packages
cmd="apt-get install -y --no-install-recommends $packages"

say "missing for 'make' ($what, BLAS=$blas): $missing"

cannot() {
    say "$1"
    say "install them, then run make again:"
    if have apt-get; then
        if [ "$(id -u)" -eq 0 ]; then
            say "    $cmd"
        else
            say "    sudo $cmd"
        fi
    else
        say "    (Debian/Ubuntu) apt-get install $packages"
        say "    (elsewhere) the same libraries from your distribution; see docs/BUILD.md"
    fi
    exit 1
}

if [ "$dry_run" = 1 ]; then
    cannot "--dry-run: would install: $packages"
fi
case ${SN_INSTALL_DEPS:-yes} in
    no|0|false) cannot "SN_INSTALL_DEPS=${SN_INSTALL_DEPS} forbids installing" ;;
esac
have apt-get || cannot "no apt-get on this machine, so nothing can be installed automatically"

if [ "$(id -u)" -eq 0 ]; then
    run_root() { "$@"; }
elif have sudo && [ -t 0 ]; then
    run_root() { sudo "$@"; }
elif have sudo && sudo -n true 2>/dev/null; then
    run_root() { sudo -n "$@"; }
else
    cannot "not root, and no sudo that works without a terminal"
fi

say "installing with apt-get: $packages"
apt_opts="-o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0 -q"
# apt-get's own output goes to stderr too.
# shellcheck disable=SC2086
if ! run_root env DEBIAN_FRONTEND=noninteractive apt-get $apt_opts install -y \
        --no-install-recommends $packages >&2; then
    # Package lists absent (a fresh debootstrap root) or stale: refresh once.
    say "apt-get install failed; running apt-get update and trying again"
    # shellcheck disable=SC2086
    run_root env DEBIAN_FRONTEND=noninteractive apt-get $apt_opts update >&2 &&
        run_root env DEBIAN_FRONTEND=noninteractive apt-get $apt_opts install -y \
            --no-install-recommends $packages >&2 ||
        cannot "apt-get failed (see above)"
fi

probe
if [ -n "$missing" ]; then
    cannot "still missing after apt-get: $missing"
fi
say "done: installed $to_install"
exit 0

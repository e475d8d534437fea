# docs/doxygen/filter.awk - Doxygen's INPUT_FILTER for include/seqnet.h.
#
# The header documents every declaration with a plain C comment just above
# it (or after it on the same line, for fields and enumerators), so that it
# reads well as a header.  This filter makes Doxygen read those comments as
# documentation, without changing the line count (warnings keep pointing at
# the right line):
#   - the first comment of the file becomes the @file description;
#   - a comment that starts a line becomes a doc comment ("/*" -> "/**")
#     for what follows it; when several declarations follow it with no blank
#     line between them (e.g. sn_simple_rnn, sn_lstm, sn_gru), they become a
#     member group that shares it (DISTRIBUTE_GROUP_DOC);
#   - a comment after code on the same line documents that code
#     ("/*" -> "/**<");
#   - `#define SN_X_INIT` right after `} sn_x;` is documented as the
#     initialiser of sn_x, as the header's conventions say;
#   - banner lines ("/* ----- */") and the section title between two of
#     them stay plain comments;
#   - in comments, <word> and backslashes are escaped for Doxygen.
{ L[NR] = $0 }

function is_banner(s) { return s ~ /^\/\* -+ \*\/[[:space:]]*$/ }
function starts_comment(s) { return s ~ /^[[:space:]]*\/\*/ }
# <word> -> \<word\> (Doxygen reads <dir> as an unknown HTML tag; text in
# double quotes it leaves alone).  (No gensub: mawk.)
function esc_tags(t,    r, pre, q) {
    r = ""
    while (match(t, /<[A-Za-z_][A-Za-z0-9_]*>/)) {
        pre = substr(t, 1, RSTART - 1)
        r = r pre
        q = r; if (gsub(/"/, "", q) % 2 == 1)     # inside "...": as is
            r = r substr(t, RSTART, RLENGTH)
        else
            r = r "\\<" substr(t, RSTART + 1, RLENGTH - 2) "\\>"
        t = substr(t, RSTART + RLENGTH)
    }
    return r t
}
# \ -> \\ (a backslash starts a Doxygen command).
function dup_bs(t,    r, k) {
    r = ""
    while ((k = index(t, "\\")) > 0) {
        r = r substr(t, 1, k) "\\"
        t = substr(t, k + 1)
    }
    return r t
}
function is_decl(s) { return s ~ /^(SN_API|#define|typedef)[[:space:]]/ }

END {
    n = NR
    # Which lines are (partly) comment text, and where each comment ends.
    inc = 0
    for (i = 1; i <= n; i++) {
        s = L[i]
        incomment[i] = inc
        t = s
        if (inc) {
            if (match(t, /\*\//)) { t = substr(t, RSTART + 2); inc = 0 } else t = ""
        }
        while (!inc && match(t, /\/\*/)) {
            hascomment[i] = 1
            t = substr(t, RSTART + 2)
            if (match(t, /\*\//)) t = substr(t, RSTART + 2)
            else inc = 1
        }
        if (inc) hascomment[i] = 1
    }

    for (i = 1; i <= n; i++) out_post[i] = ""
    banner = 0
    first = 1
    for (i = 1; i <= n; i++) {
        s = L[i]
        if (incomment[i]) { out[i] = s; continue }
        if (is_banner(s)) { banner = !banner; out[i] = s; kind[i] = "plain"; continue }
        if (banner) { out[i] = s; kind[i] = "plain"; continue }
        if (first && s ~ /^\/\*/) {
            first = 0
            sub(/^\/\*/, "/** @file", s)
            out[i] = s
            continue
        }
        if (starts_comment(s) && s !~ /^[[:space:]]*\/\*\*/) {
            sub(/\/\*/, "/**", s)
            # The comment's last line, then the declarations after it.
            e = i
            while (e < n && incomment[e + 1]) e++
            decls = 0; last = 0; compound = 0
            for (j = e + 1; j <= n; j++) {
                if (L[j] ~ /^[[:space:]]*$/ || (starts_comment(L[j]) && !incomment[j])) break
                if (is_decl(L[j])) {
                    decls++
                    if (decls == 1 && L[j] ~ /^typedef[[:space:]]+(struct|enum|union)[^;]*\{/) compound = 1
                }
                last = j
            }
            if (decls >= 2 && !compound) {
                s = "/**@{*/ " s
                out_post[last] = out_post[last] " /**@}*/"
            }
            out[i] = s
            continue
        }
        if (hascomment[i] && s !~ /\/\*\*/ && s ~ /^[[:space:]]*[^[:space:]\/]/) {
            sub(/\/\*/, "/**<", s)
        }
        # `} sn_x;` followed by `#define SN_X_INIT`, with no comment of its own.
        if (s ~ /^}[[:space:]]*sn_[a-z0-9_]+;[[:space:]]*$/ && i < n &&
            L[i + 1] ~ /^#define[[:space:]]+SN_[A-Z0-9_]+_INIT([[:space:]]|$)/) {
            name = s
            sub(/^}[[:space:]]*/, "", name); sub(/;.*/, "", name)
            s = s " /** Initialiser of " name ": its size field set, every other field its default (see the fields). */"
        }
        out[i] = s
    }

    for (i = 1; i <= n; i++) {
        s = out[i]
        if (hascomment[i] && kind[i] != "plain") {
            # Escape for Doxygen, only in comment text: split code/comment
            # roughly at the first comment opener on the line.
            if (incomment[i]) { code = ""; text = s }
            else if (match(s, /\/\*/)) { code = substr(s, 1, RSTART - 1); text = substr(s, RSTART) }
            else { code = s; text = "" }
            text = dup_bs(text)
            text = esc_tags(text)
            s = code text
        }
        print s out_post[i]
    }
}

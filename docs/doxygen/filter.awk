# docs/doxygen/filter.awk - Doxygen's INPUT_FILTER for include/seqnet.h.
#
# The header documents every declaration with a plain C comment just above
# it (or after it on the same line, for fields and enumerators), so that it
# reads well as a header.  This filter makes Doxygen read those comments as
# documentation, line by line, without changing the line count:
#   - the first comment of the file becomes the @file description;
#   - a comment that starts a line becomes a doc comment ("/*" -> "/**")
#     for what follows it;
#   - a comment after code on the same line documents that code
#     ("/*" -> "/**<");
#   - banner lines ("/* ----- */") and the section title between two of
#     them stay plain comments.
{
    line = $0
    if (in_comment) {
        if (line ~ /\*\//) in_comment = 0
        print line
        next
    }
    if (line ~ /^\/\* -+ \*\/[[:space:]]*$/) {
        banner = !banner
        print line
        next
    }
    if (banner) { print line; next }
    if (!seen_first && line ~ /^\/\*/) {
        seen_first = 1
        sub(/^\/\*/, "/** @file", line)
    } else if (line ~ /^[[:space:]]*\/\*[^*]/ || line ~ /^[[:space:]]*\/\*$/) {
        sub(/\/\*/, "/**", line)
    } else if (line ~ /[^[:space:]].*\/\*/ && line !~ /\/\*\*/) {
        sub(/\/\*/, "/**<", line)
    }
    # Still open at the end of the line?
    tail = line
    while (match(tail, /\/\*/)) {
        tail = substr(tail, RSTART + 2)
        if (match(tail, /\*\//)) tail = substr(tail, RSTART + 2)
        else { in_comment = 1; break }
    }
    print line
}

#!/bin/sh
# docs/doxygen/postprocess.sh DIR - tidies Doxygen's man pages in DIR/man/man3
# (`make doc` and test/api_doc.sh run it):
#   - keeps only seqnet.h.3 and the pages named sn_* / SN_*: with MAN_LINKS
#     Doxygen also writes a link page per struct field (free.3, size.3,
#     alpha.3, ...), which would clash with other packages' pages;
#   - drops the pages of anonymous member groups (@0.3, ...);
#   - escapes a text line starting with ' (troff would read it as a request).
set -eu
man3="$1/man/man3"
[ -d "$man3" ] || { echo "postprocess: no $man3" >&2; exit 1; }
for f in "$man3"/*.3; do
    case $(basename "$f") in
        sn_*|SN_*|seqnet.h.3) ;;
        *) rm -f "$f" ;;
    esac
done
sed -i -e "s/^'/\\\\\\&'/" "$man3"/*.3

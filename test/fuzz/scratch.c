/* scratch.c - per-process scratch paths for the fuzz targets that need a
 * file or a folder (GloVe, IMDB). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"

const char *fuzz_scratch(const char *suffix)
{
    static char path[4][512];
    static int next;
    const char *tmp = getenv("TMPDIR");
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/sn_fuzz_%ld%s",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp", (long)getpid(),
             suffix);
    return p;
}

/*
 * fuzz.h - what the fuzz targets of test/fuzz/ share.
 *
 * Each fuzz_<name>.c defines LLVMFuzzerTestOneInput.  Built with clang
 * -fsanitize=fuzzer (`make fuzz`) it is a libFuzzer target; built with any
 * C compiler and replay.c (`make fuzz-replay`, part of `make check`) it is
 * a program that runs every file of the corpora named on its command line.
 * A target returns 0 for every input; it aborts (a finding) only when the
 * library breaks a promise: a crash or sanitizer report, a status outside
 * sn_status, a failure without a message, or an object returned on failure.
 */
#ifndef SN_FUZZ_H
#define SN_FUZZ_H

#include <seqnet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with a message: the fuzzer records the input as a crash. */
#define FUZZ_CHECK(cond)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "fuzz check failed: %s (%s:%d), last error: "  \
                    "%s\n", #cond, __FILE__, __LINE__, sn_last_error());   \
            abort();                                                       \
        }                                                                  \
    } while (0)

/* A failed call returned a known status and said why. */
static inline void fuzz_check_failure(sn_status st)
{
    FUZZ_CHECK(st < 0 && st >= -64);
    FUZZ_CHECK(sn_last_error()[0] != '\0');
}

/* data as a NUL-terminated string (malloc'ed). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    FUZZ_CHECK(s != NULL);
    if (size > 0)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* A per-process scratch path under $TMPDIR (or /tmp) ending in suffix. */
const char *fuzz_scratch(const char *suffix);

#endif

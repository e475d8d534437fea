/*
 * testkit.h - helpers shared by the Check programs test/check_*.c.
 *
 * What more than one test program needs lives here once: the Makefile
 * compiles test/support with the tests' flags in each build variant and
 * links it into every test program.  Names start with tk_ so that a
 * program's own helpers cannot collide with them.  Failures are reported
 * with ck_assert and friends, so call these from inside a test.
 */
#ifndef SN_TEST_TESTKIT_H
#define SN_TEST_TESTKIT_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include <seqnet.h>

/* ------------------------------------------------- deterministic numbers */

/* A small LCG, so that tests do not depend on rand(): advances *state and
 * returns 24 random bits. */
uint32_t tk_lcg_next(uint32_t *state);

/* Uniform in [lo, hi), drawn from *state. */
float tk_frand(uint32_t *state, float lo, float hi);

/* x[0..n) uniform in [lo, hi), the same values for the same seed. */
void tk_fill(float *x, size_t n, uint32_t seed, float lo, float hi);

/* --------------------------------------------------------------- models */

/* An empty model with the given seed (never NULL). */
sn_model_t *tk_new_model(uint64_t seed);

/* The values of the weight called name (which must exist); *count, if not
 * NULL, receives the number of floats. */
float *tk_weight(sn_model_t *m, const char *name, size_t *count);

/* Every weight i of a built model (it must have some) uniform in [-r, r),
 * seeded seed + i * seed_step, so that biases are nonzero too. */
void tk_fill_weights(sn_model_t *m, uint32_t seed, uint32_t seed_step,
                     float r);

/* Elements of output k of the last forward, batch included. */
size_t tk_output_count(const sn_model_t *m, int k);

/* What sn_model_summary prints for m, as a string the caller frees. */
char *tk_summary_text(sn_model_t *m);

/* ----------------------------------------------------------- assertions */

/* Whether haystack is not NULL and contains needle. */
int tk_contains(const char *haystack, const char *needle);

/* The last error message mentions word. */
void tk_expect_error_mentions(const char *word);

/* A constructor returned NULL and its error message mentions word. */
void tk_expect_null_with(sn_layer_t *l, const char *word);

/* |got[i] - want[i]| <= tol * (1 + |want[i]|) for every i < n; what names
 * the array in the failure message. */
void tk_expect_close(const float *got, const float *want, size_t n,
                     double tol, const char *what);

/* How many files in dir hold the library's temporary-file mark
 * (".sntmp-"): a save that returned must leave none. */
int tk_temp_files_in(const char *dir);

/* ---------------------------------------------------------------- skips */

/* A test that cannot run here (data or a locale missing) calls tk_skip and
 * returns.  Where the environment promises everything (CI=true, or
 * SN_REQUIRE_DATA=1) it fails instead.  Otherwise it prints "SKIPPED" and
 * appends a line to the file named by SN_TEST_SKIP_LOG, which `make check`
 * counts and prints in its summary, so that a skip never reads as a pass. */
void tk_skip(const char *test, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* How many times longer than natively the tests may take: the environment
 * variable SN_TEST_TIME_FACTOR (a number >= 1; 1 when unset or invalid).
 * `make check-cross` sets it for emulated runs, together with Check's own
 * CK_TIMEOUT_MULTIPLIER; a test with a time budget of its own multiplies
 * the budget by it, so that it tests the same thing under emulation. */
double tk_time_factor(void);

/* ---------------------------------------------------------------- main */

/* Runs every test of s and returns main's exit status. */
int tk_run_suite(Suite *s);

#endif

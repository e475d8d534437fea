/*
 * testkit.c - the helpers of testkit.h: deterministic random numbers, model
 * shortcuts, assertions and the suite runner every test program shares.
 */
#include "testkit.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------- deterministic numbers */

uint32_t tk_lcg_next(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

float tk_frand(uint32_t *state, float lo, float hi)
{
    return lo + (hi - lo) * (float)tk_lcg_next(state) / (float)(1u << 24);
}

void tk_fill(float *x, size_t n, uint32_t seed, float lo, float hi)
{
    uint32_t s = seed;
    for (size_t i = 0; i < n; i++)
        x[i] = tk_frand(&s, lo, hi);
}

/* --------------------------------------------------------------- models */

sn_model_t *tk_new_model(uint64_t seed)
{
    sn_model_opts o = SN_MODEL_OPTS_INIT;
    o.seed = seed;
    sn_model_t *m = sn_model_new(&o);
    ck_assert_ptr_nonnull(m);
    return m;
}

float *tk_weight(sn_model_t *m, const char *name, size_t *count)
{
    int i = sn_model_find_weight(m, name);
    ck_assert_msg(i >= 0, "no weight %s", name);
    float *p = sn_model_weight_data(m, i, count);
    ck_assert_ptr_nonnull(p);
    return p;
}

void tk_fill_weights(sn_model_t *m, uint32_t seed, uint32_t seed_step,
                     float r)
{
    int nw = sn_model_num_weights(m);
    ck_assert_int_gt(nw, 0);
    for (int i = 0; i < nw; i++) {
        size_t n;
        float *p = sn_model_weight_data(m, i, &n);
        ck_assert_ptr_nonnull(p);
        tk_fill(p, n, seed + seed_step * (uint32_t)i, -r, r);
    }
}

size_t tk_output_count(const sn_model_t *m, int k)
{
    int dims[SN_MAX_RANK + 1], rank = 0;
    ck_assert_ptr_nonnull(sn_model_output(m, k, dims, SN_MAX_RANK + 1, &rank));
    size_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= (size_t)dims[i];
    return n;
}

char *tk_summary_text(sn_model_t *m)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(sn_model_summary(m, f), SN_OK);
    fclose(f);
    return text;
}

/* ----------------------------------------------------------- assertions */

int tk_contains(const char *haystack, const char *needle)
{
    return haystack != NULL && strstr(haystack, needle) != NULL;
}

void tk_expect_error_mentions(const char *word)
{
    ck_assert_msg(strstr(sn_last_error(), word) != NULL,
                  "error '%s' lacks '%s'", sn_last_error(), word);
}

void tk_expect_null_with(sn_layer_t *l, const char *word)
{
    ck_assert_ptr_null(l);
    tk_expect_error_mentions(word);
}

void tk_expect_close(const float *got, const float *want, size_t n,
                     double tol, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        ck_assert_msg(d <= tol * (1.0 + fabs((double)want[i])),
                      "%s[%zu]: got %.7f, expected %.7f", what, i,
                      (double)got[i], (double)want[i]);
    }
}

/* ---------------------------------------------------------------- skips */

static int strict_environment(void)
{
    const char *ci = getenv("CI"), *req = getenv("SN_REQUIRE_DATA");
    return (ci != NULL && strcmp(ci, "true") == 0) ||
           (req != NULL && strcmp(req, "1") == 0);
}

void tk_skip(const char *test, const char *fmt, ...)
{
    char why[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(why, sizeof why, fmt, args);
    va_end(args);
    if (strict_environment())
        ck_abort_msg("%s cannot run: %s (CI=true / SN_REQUIRE_DATA=1: a "
                     "skip is a failure here)", test, why);
    printf("SKIPPED %s: %s\n", test, why);
    fflush(stdout);
    const char *log = getenv("SN_TEST_SKIP_LOG");
    if (log != NULL && log[0] != '\0') {
        FILE *f = fopen(log, "a");
        if (f != NULL) {
            fprintf(f, "%s: %s\n", test, why);
            fclose(f);
        }
    }
}

/* ---------------------------------------------------------------- time */

double tk_time_factor(void)
{
    const char *s = getenv("SN_TEST_TIME_FACTOR");
    if (s == NULL || s[0] == '\0')
        return 1.0;
    char *end = NULL;
    double f = strtod(s, &end);
    return end != s && *end == '\0' && isfinite(f) && f >= 1.0 ? f : 1.0;
}

/* ---------------------------------------------------------------- main */

int tk_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int tk_temp_files_in(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".sntmp-") != NULL)
            n++;
    closedir(d);
    return n;
}

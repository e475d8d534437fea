/*
 * check_internal.c - hidden helpers that the public API cannot reach
 * directly: the generator, option merging, shapes and the allocator
 * wrappers.  Links the static library and includes src/internal.h.
 */
#include <check.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#include "support/testkit.h"

START_TEST(test_rng_deterministic_and_seed_sensitive)
{
    sn_rng a, b, c;
    sn_rng_seed(&a, 1);
    sn_rng_seed(&b, 1);
    sn_rng_seed(&c, 2);
    int same_as_c = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = sn_rng_next(&a);
        ck_assert_uint_eq(x, sn_rng_next(&b));
        same_as_c += x == sn_rng_next(&c);
    }
    ck_assert_int_eq(same_as_c, 0);
    ck_assert_uint_ne(sn_rng_derive(5, 1), sn_rng_derive(5, 2));
    ck_assert_uint_ne(sn_rng_derive(5, 1), sn_rng_derive(6, 1));
    ck_assert_uint_eq(sn_rng_derive(5, 1), sn_rng_derive(5, 1));
}
END_TEST

START_TEST(test_rng_uniform_range_and_mean)
{
    sn_rng r;
    sn_rng_seed(&r, 77);
    double sum = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double u = sn_rng_uniform(&r);
        ck_assert(u >= 0.0 && u < 1.0);
        sum += u;
    }
    ck_assert_double_eq_tol(sum / n, 0.5, 0.005);
}
END_TEST

START_TEST(test_rng_normal_moments)
{
    sn_rng r;
    sn_rng_seed(&r, 78);
    double s = 0, s2 = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double z = sn_rng_normal(&r);
        s += z;
        s2 += z * z;
    }
    ck_assert_double_eq_tol(s / n, 0.0, 0.01);
    ck_assert_double_eq_tol(s2 / n, 1.0, 0.02);
}
END_TEST

START_TEST(test_rng_below_is_in_range_and_covers)
{
    sn_rng r;
    sn_rng_seed(&r, 3);
    int hits[7] = { 0 };
    for (int i = 0; i < 7000; i++) {
        uint64_t k = sn_rng_below(&r, 7);
        ck_assert_uint_lt(k, 7);
        hits[k]++;
    }
    for (int k = 0; k < 7; k++)
        ck_assert_int_gt(hits[k], 800);
    ck_assert_uint_eq(sn_rng_below(&r, 1), 0);
}
END_TEST

/* A stand-in for an options struct that grew a field in a later release. */
typedef struct grown_opts {
    size_t size;
    int old_field;
    int new_field;
} grown_opts;

START_TEST(test_opts_merge_reads_only_callers_bytes)
{
    grown_opts defaults = { sizeof(grown_opts), 1, 2 };
    grown_opts caller = { offsetof(grown_opts, new_field), 10, 999 };
    ck_assert_int_eq(sn_opts_merge(&defaults, sizeof defaults, &caller, "t"),
                     SN_OK);
    ck_assert_int_eq(defaults.old_field, 10);
    ck_assert_int_eq(defaults.new_field, 2); /* not the caller's garbage */
    ck_assert_uint_eq(defaults.size, sizeof(grown_opts));
    ck_assert_int_eq(sn_opts_merge(&defaults, sizeof defaults, NULL, "t"),
                     SN_OK);
    caller.size = sizeof(grown_opts) + 8;
    ck_assert_int_eq(sn_opts_merge(&defaults, sizeof defaults, &caller,
                                   "who"), SN_ERR_INVALID_ARG);
    ck_assert(strstr(sn_last_error(), "who") != NULL);
    caller.size = 0;
    ck_assert_int_eq(sn_opts_merge(&defaults, sizeof defaults, &caller, "t"),
                     SN_ERR_INVALID_ARG);
}
END_TEST

START_TEST(test_shapes)
{
    sn_shape a = sn_shape_2(SN_FLOAT32, -1, 8);
    sn_shape b = sn_shape_2(SN_FLOAT32, 5, 8);
    sn_shape c = sn_shape_1(SN_INT32, 5);
    char buf[64];
    sn_shape_format(&a, buf, sizeof buf);
    ck_assert_str_eq(buf, "(None, None, 8)");
    sn_shape_format(&c, buf, sizeof buf);
    ck_assert_str_eq(buf, "(None, 5)");
    sn_shape_format(&b, buf, 6); /* truncation stays terminated */
    ck_assert_uint_le(strlen(buf), 5);
    ck_assert_uint_eq(sn_shape_count(&a), 0);
    ck_assert_uint_eq(sn_shape_count(&b), 40);
    ck_assert(!sn_shape_equal(&a, &b));
    ck_assert(sn_shape_equal(&b, &b));
    sn_shape d = sn_shape_1(SN_FLOAT32, 5);
    ck_assert(!sn_shape_equal(&c, &d)); /* dtype matters */
}
END_TEST

START_TEST(test_fail_formats_and_records_status)
{
    sn_clear_error();
    ck_assert_int_eq(sn_last_status(), SN_OK);
    ck_assert_int_eq(sn_fail(SN_ERR_SHAPE, "x=%d", 42), SN_ERR_SHAPE);
    ck_assert_str_eq(sn_last_error(), "x=42");
    ck_assert_int_eq(sn_last_status(), SN_ERR_SHAPE);
    /* wrapping the previous message must not corrupt it */
    sn_fail(SN_ERR_IO, "outer: %s", sn_last_error());
    ck_assert_str_eq(sn_last_error(), "outer: x=42");
    char longer[2000];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    sn_fail(SN_ERR_IO, "%s", longer); /* truncated, not overflowed */
    ck_assert_uint_lt(strlen(sn_last_error()), sizeof longer);
}
END_TEST

START_TEST(test_mem_helpers)
{
    sn_mem mem = sn_mem_current();
    ck_assert_ptr_null(sn_mem_calloc(&mem, SIZE_MAX / 2, 4));
    ck_assert_int_eq(sn_last_status(), SN_ERR_NOMEM);
    void *buf = NULL;
    size_t cap = 0;
    ck_assert_int_eq(sn_mem_reserve(&mem, &buf, &cap, 64), SN_OK);
    void *first = buf;
    ck_assert_int_eq(sn_mem_reserve(&mem, &buf, &cap, 32), SN_OK);
    ck_assert_ptr_eq(buf, first); /* big enough: kept */
    ck_assert_int_eq(sn_mem_reserve(&mem, &buf, &cap, 4096), SN_OK);
    ck_assert_uint_ge(cap, 4096);
    sn_mem_free(&mem, buf);
    char *s = sn_mem_strdup(&mem, "seqnet");
    ck_assert_str_eq(s, "seqnet");
    sn_mem_free(&mem, s);
    sn_mem_free(&mem, NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("internal");
    TCase *tc = tcase_create("helpers");
    tcase_add_test(tc, test_rng_deterministic_and_seed_sensitive);
    tcase_add_test(tc, test_rng_uniform_range_and_mean);
    tcase_add_test(tc, test_rng_normal_moments);
    tcase_add_test(tc, test_rng_below_is_in_range_and_covers);
    tcase_add_test(tc, test_opts_merge_reads_only_callers_bytes);
    tcase_add_test(tc, test_shapes);
    tcase_add_test(tc, test_fail_formats_and_records_status);
    tcase_add_test(tc, test_mem_helpers);
    suite_add_tcase(s, tc);
    return tk_run_suite(s);
}

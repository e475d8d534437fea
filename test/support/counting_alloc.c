/*
 * counting_alloc.c - the counting, failing allocator of counting_alloc.h.
 */
#include "counting_alloc.h"

#include <check.h>
#include <stdlib.h>

void *tk_count_alloc(void *user, size_t bytes)
{
    tk_counting_alloc *c = user;
    if (!c->failed && c->fail_at > 0 && c->allocs + 1 == c->fail_at) {
        c->failed = 1;
        return NULL;
    }
    void *p = malloc(bytes);
    if (p != NULL)
        c->allocs++;
    return p;
}

void tk_count_free(void *user, void *ptr)
{
    tk_counting_alloc *c = user;
    if (ptr != NULL)
        c->frees++;
    free(ptr);
}

sn_allocator tk_counting_allocator(tk_counting_alloc *c)
{
    sn_allocator a = { sizeof a, tk_count_alloc, tk_count_free, c };
    return a;
}

/* The allocator of tk_fail_every_allocation: allocations fail from the
 * fail_from-th one (1-based) on, which is what a process out of memory
 * sees; 0 = never. */
typedef struct failing_alloc {
    long calls, fail_from, allocs, frees;
} failing_alloc;

static void *failing_alloc_fn(void *user, size_t bytes)
{
    failing_alloc *f = user;
    if (f->fail_from > 0 && ++f->calls >= f->fail_from)
        return NULL;
    if (f->fail_from == 0)
        f->calls++;
    void *p = malloc(bytes);
    if (p != NULL)
        f->allocs++;
    return p;
}

static void failing_free_fn(void *user, void *ptr)
{
    failing_alloc *f = user;
    if (ptr != NULL)
        f->frees++;
    free(ptr);
}

/* One run of scenario failing from allocation fail_from; returns its
 * result and how many allocations it asked for. */
static bool run_failing(bool (*scenario)(void), long fail_from, long *calls)
{
    failing_alloc f = { 0, fail_from, 0, 0 };
    sn_allocator a = { sizeof a, failing_alloc_fn, failing_free_fn, &f };
    ck_assert_int_eq(sn_set_allocator(&a), SN_OK);
    bool ok = scenario();
    ck_assert_int_eq(sn_set_allocator(NULL), SN_OK);
    ck_assert_msg(f.allocs == f.frees, "failing from allocation %ld: %ld "
                  "allocations, %ld frees", fail_from, f.allocs, f.frees);
    *calls = f.calls;
    return ok;
}

void tk_fail_every_allocation(bool (*scenario)(void), long min_allocs)
{
    long total = 0, calls = 0;
    ck_assert_msg(run_failing(scenario, 0, &total), "the scenario fails "
                  "with memory to spare: %s", sn_last_error());
    ck_assert_int_gt(total, min_allocs);
    for (long k = 1; k <= total; k++)
        ck_assert_msg(!run_failing(scenario, k, &calls), "allocation %ld "
                      "of %ld failed, yet the scenario reports success", k,
                      total);
    ck_assert(run_failing(scenario, 0, &calls));
}

void tk_fail_each_allocation(sn_status (*scenario)(void), long min_allocs)
{
    for (long k = 1;; k++) {
        tk_counting_alloc c = { 0, 0, k, 0 };
        sn_allocator a = tk_counting_allocator(&c);
        ck_assert_int_eq(sn_set_allocator(&a), SN_OK);
        sn_status st = scenario();
        ck_assert_int_eq(sn_set_allocator(NULL), SN_OK);
        ck_assert_msg(c.allocs == c.frees, "allocation %ld failed: %ld "
                      "allocations, %ld frees", k, c.allocs, c.frees);
        if (!c.failed) {
            ck_assert_msg(st == SN_OK, "with memory to spare: %s (%s)",
                          sn_strerror(st), sn_last_error());
            ck_assert_int_gt(k, min_allocs);
            return;
        }
        ck_assert_msg(st == SN_ERR_NOMEM, "allocation %ld failed: %s (%s)",
                      k, sn_strerror(st), sn_last_error());
        ck_assert_int_lt(k, 1000000);
    }
}

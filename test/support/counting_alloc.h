/*
 * counting_alloc.h - an sn_allocator for out-of-memory fault injection.
 *
 * It counts the allocations and frees made through it, so that a test can
 * check that everything taken was given back, and can fail one chosen
 * allocation, so that a test can walk every failure point of a scenario.
 */
#ifndef SN_TEST_COUNTING_ALLOC_H
#define SN_TEST_COUNTING_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

#include <seqnet.h>

typedef struct tk_counting_alloc {
    long allocs, frees; /* successful allocations, frees of non-NULL   */
    long fail_at;       /* fail the fail_at-th allocation (1-based);
                           0 = never                                     */
    int failed;         /* 1 once that failure has happened: it happens
                           once, later allocations succeed               */
} tk_counting_alloc;

/* The allocate and free functions of the allocator; user is the
 * tk_counting_alloc. */
void *tk_count_alloc(void *user, size_t bytes);
void tk_count_free(void *user, void *ptr);

/* An sn_allocator that counts into *c. */
sn_allocator tk_counting_allocator(tk_counting_alloc *c);

/* Out of memory at every step of a scenario.  scenario does its work
 * through libseqnet and returns true when every call succeeded; it frees
 * what it made either way.  Runs it with the library's allocations
 * routed here: once with all of them succeeding (it must return true
 * after more than min_allocs of them), then once for each k, with the
 * k-th allocation and every later one failing (it must return false),
 * then once more succeeding.  Each run must give back every byte it got
 * (counted, so a leak fails even without a leak checker). */
void tk_fail_every_allocation(bool (*scenario)(void), long min_allocs);

/* The same with one failure per run: run k fails the k-th allocation
 * only, and scenario must then return SN_ERR_NOMEM (its status otherwise),
 * give back everything it got, and succeed once k passes its last
 * allocation, which must come after min_allocs. */
void tk_fail_each_allocation(sn_status (*scenario)(void), long min_allocs);

#endif

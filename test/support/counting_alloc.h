/*
 * counting_alloc.h - an sn_allocator for out-of-memory fault injection.
 *
 * It counts the allocations and frees made through it, so that a test can
 * check that everything taken was given back, and can fail one chosen
 * allocation, so that a test can walk every failure point of a scenario.
 */
#ifndef SN_TEST_COUNTING_ALLOC_H
#define SN_TEST_COUNTING_ALLOC_H

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

#endif

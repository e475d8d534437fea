/*
 * counting_alloc.c - the counting, failing allocator of counting_alloc.h.
 */
#include "counting_alloc.h"

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

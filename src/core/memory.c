/*
 * memory.c - every allocation of the library goes through here.
 *
 * The allocator is chosen per thread (like errno) and copied into each
 * object at creation, so an object is always freed with the allocator that
 * made it.  Fault-injection tests install an allocator that fails on the
 * N-th call and check that every path reports SN_ERR_NOMEM without leaking.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void *default_alloc(void *user, size_t bytes)
{
    (void)user;
    return malloc(bytes);
}

static void default_free(void *user, void *ptr)
{
    (void)user;
    free(ptr);
}

static _Thread_local sn_allocator thread_allocator;
static _Thread_local bool thread_allocator_set;

SN_API sn_status sn_set_allocator(const sn_allocator *allocator)
{
    if (allocator == NULL) {
        thread_allocator_set = false;
        return SN_OK;
    }
    if (allocator->size != sizeof *allocator)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_set_allocator: "
                       "allocator->size is %zu, expected %zu (start from "
                       "SN_ALLOCATOR_INIT)", allocator->size,
                       sizeof *allocator);
    if (allocator->alloc == NULL || allocator->free == NULL)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "sn_set_allocator: alloc and free must both be set");
    thread_allocator = *allocator;
    thread_allocator_set = true;
    return SN_OK;
}

sn_mem sn_mem_current(void)
{
    sn_mem mem;
    if (thread_allocator_set) {
        mem.a = thread_allocator;
    } else {
        mem.a.size = sizeof mem.a;
        mem.a.alloc = default_alloc;
        mem.a.free = default_free;
        mem.a.user = NULL;
    }
    return mem;
}

void *sn_mem_alloc(const sn_mem *mem, size_t bytes)
{
    void *p = mem->a.alloc(mem->a.user, bytes ? bytes : 1);
    if (p == NULL)
        sn_fail(SN_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
    return p;
}

void *sn_mem_calloc(const sn_mem *mem, size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size) {
        sn_fail(SN_ERR_NOMEM, "allocation of %zu x %zu bytes overflows",
                count, size);
        return NULL;
    }
    void *p = sn_mem_alloc(mem, count * size);
    if (p != NULL)
        memset(p, 0, count * size);
    return p;
}

void sn_mem_free(const sn_mem *mem, void *ptr)
{
    if (ptr != NULL)
        mem->a.free(mem->a.user, ptr);
}

char *sn_mem_strdup(const sn_mem *mem, const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = sn_mem_alloc(mem, n);
    if (copy != NULL)
        memcpy(copy, s, n);
    return copy;
}

sn_status sn_mem_reserve(const sn_mem *mem, void **buf, size_t *capacity,
                         size_t bytes)
{
    if (*buf != NULL && *capacity >= bytes)
        return SN_OK;
    void *fresh = sn_mem_alloc(mem, bytes);
    if (fresh == NULL)
        return SN_ERR_NOMEM;
    sn_mem_free(mem, *buf);
    *buf = fresh;
    *capacity = bytes;
    return SN_OK;
}

sn_status sn_opts_merge(void *dst, size_t dst_size, const void *src,
                        const char *who)
{
    if (src == NULL)
        return SN_OK;
    size_t caller_size;
    memcpy(&caller_size, src, sizeof caller_size);
    if (caller_size < sizeof(size_t) || caller_size > dst_size)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: options .size is %zu, expected %zu (initialise "
                       "options with their SN_*_OPTS_INIT macro)",
                       who, caller_size, dst_size);
    memcpy(dst, src, caller_size);
    memcpy(dst, &dst_size, sizeof dst_size);
    return SN_OK;
}

/* shape.c - per-sample tensor shapes (the batch axis is implicit). */
#include <stdio.h>
#include <string.h>

#include "internal.h"

sn_shape sn_shape_1(sn_dtype dtype, int d0)
{
    sn_shape s = { dtype, 1, { d0, 0, 0 } };
    return s;
}

sn_shape sn_shape_2(sn_dtype dtype, int d0, int d1)
{
    sn_shape s = { dtype, 2, { d0, d1, 0 } };
    return s;
}

size_t sn_shape_count(const sn_shape *s)
{
    size_t n = 1;
    for (int i = 0; i < s->rank; i++) {
        if (s->dim[i] < 0)
            return 0;
        n *= (size_t)s->dim[i];
    }
    return n;
}

bool sn_shape_equal(const sn_shape *a, const sn_shape *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dim[i] != b->dim[i])
            return false;
    return true;
}

void sn_shape_format(const sn_shape *s, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "(None");
    for (int i = 0; i < s->rank && used < len; i++) {
        if (s->dim[i] < 0)
            used += (size_t)snprintf(buf + used, len - used, ", None");
        else
            used += (size_t)snprintf(buf + used, len - used, ", %d", s->dim[i]);
    }
    if (used < len)
        snprintf(buf + used, len - used, ")");
}

sn_status sn_dims_out_check(const int *dims, int dims_cap, const char *who)
{
    if (dims_cap < 0 || (dims == NULL && dims_cap != 0))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: dims is %s with dims_cap %d "
                       "(pass a buffer of dims_cap ints, or NULL and 0)",
                       who, dims == NULL ? "NULL" : "set", dims_cap);
    return SN_OK;
}

void sn_dims_out_copy(int *dims, int dims_cap, const int *src, int rank)
{
    for (int i = 0; i < rank && i < dims_cap; i++)
        dims[i] = src[i];
}

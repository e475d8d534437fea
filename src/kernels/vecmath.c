/*
 * vecmath.c - exp, sigmoid and tanh over float arrays (the kernels of
 * vecmath.h in loops).  Compiled once per instruction-set path; each copy
 * exports one table, SN_VECMATH_OPS (sn_vecmath_ops_avx512, ...);
 * vecmath_dispatch.c picks the one in use.
 */
#include <stdbool.h>
#include <stddef.h>

#include "kernels/vecmath.h"

#ifndef SN_VECMATH_OPS
#define SN_VECMATH_OPS sn_vecmath_ops_generic
#endif

static void vec_exp(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = sn_exp_kernel(x[i]);
}

static void vec_sigmoid(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = sn_sigmoid_kernel(x[i]);
}

static void vec_tanh(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = sn_tanh_kernel(x[i]);
}

const sn_vecmath_ops SN_VECMATH_OPS = { vec_exp, vec_sigmoid, vec_tanh };

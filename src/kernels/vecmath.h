/*
 * vecmath.h - exp, sigmoid and tanh of one float as branch-free inline
 * code the compiler vectorises (libm's expf and tanhf are scalar calls,
 * and the recurrent layers evaluate millions per batch).  Included by the
 * per-path kernels (vecmath.c, rnn_cells.c) so each copy inlines them at
 * its own vector width.
 *
 * exp follows Cephes' expf: clamp, split x = n ln2 + r with ln2 in two
 * parts, a degree-6 polynomial for e^r on |r| <= ln2/2, and 2^n built in
 * the exponent bits.  Relative error below 2 ulp over the clamped range.
 *
 * NaN in, NaN out: a NaN is replaced by 0 before the float-to-int
 * conversion (converting a NaN to int is undefined behaviour in C) and
 * put back at the end.  ±Inf saturate like the clamp: exp(+Inf) is
 * e^88 (about 1.7e38), exp(-Inf) e^-87, sigmoid(±Inf) 1 and 0,
 * tanh(±Inf) ±1.
 */
#ifndef SN_KERNELS_VECMATH_H
#define SN_KERNELS_VECMATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/cpu.h"

static inline float sn_exp_kernel(float x)
{
    const float log2e = 1.44269504088896341f;
    const float ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
    bool nan = x != x;
    float xc = nan ? 0.0f : x;
    xc = xc < -87.0f ? -87.0f : xc;
    xc = xc > 88.0f ? 88.0f : xc;
    /* n = floor(x log2e + 1/2) by truncation and a sign fix (no floorf,
     * which baseline x86-64 lacks; |x log2e| < 128 fits an int) */
    float t = xc * log2e + 0.5f;
    int32_t ni = (int32_t)t - (t < 0.0f);
    float n = (float)ni;
    float r = xc - n * ln2_hi - n * ln2_lo;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = (ni + 127) * (1 << 23);
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return nan ? x : p * scale;
}

/* 1 / (1 + e^-x): the clamp inside the exp keeps e^-x finite, so the
 * formula is safe on both sides. */
static inline float sn_sigmoid_kernel(float x)
{
    return 1.0f / (1.0f + sn_exp_kernel(-x));
}

/* tanh x = 1 - 2 / (e^2x + 1); near 0 the subtraction loses relative but
 * not absolute accuracy (about 1e-7), which is what gradients need. */
static inline float sn_tanh_kernel(float x)
{
    return 1.0f - 2.0f / (sn_exp_kernel(2.0f * x) + 1.0f);
}

/* The table each copy of vecmath.c exports (arrays, in place). */
typedef struct sn_vecmath_ops {
    void (*exp)(float *x, size_t n);
    void (*sigmoid)(float *x, size_t n);
    void (*tanh)(float *x, size_t n);
} sn_vecmath_ops;

extern const sn_vecmath_ops sn_vecmath_ops_generic;
extern const sn_vecmath_ops sn_vecmath_ops_avx2;
extern const sn_vecmath_ops sn_vecmath_ops_avx512;

/* The table of a path (vecmath_dispatch.c), NULL when the build has none. */
const sn_vecmath_ops *sn_vecmath_ops_for(sn_isa isa);

#endif /* SN_KERNELS_VECMATH_H */

/*
 * fastmath.c - exp, sigmoid and tanh over float arrays, written as
 * branch-free loops the compiler vectorises (libm's expf and tanhf are
 * scalar calls, and the recurrent layers evaluate millions per batch).
 *
 * exp follows Cephes' expf: clamp, split x = n ln2 + r with ln2 in two
 * parts, a degree-6 polynomial for e^r on |r| <= ln2/2, and 2^n built in
 * the exponent bits.  Relative error below 2 ulp over the clamped range.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

static inline float exp_kernel(float x)
{
    const float log2e = 1.44269504088896341f;
    const float ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    /* n = floor(x log2e + 1/2) by truncation and a sign fix (no floorf,
     * which baseline x86-64 lacks; |x log2e| < 128 fits an int) */
    float t = x * log2e + 0.5f;
    int32_t ni = (int32_t)t - (t < 0.0f);
    float n = (float)ni;
    float r = x - n * ln2_hi - n * ln2_lo;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = (ni + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* The clones are static: an exported ifunc would leak its resolver. */
SN_CLONES static void vec_exp(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = exp_kernel(x[i]);
}

/* 1 / (1 + e^-x): the clamp inside exp_kernel keeps e^-x finite, so the
 * formula is safe on both sides. */
SN_CLONES static void vec_sigmoid(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = 1.0f / (1.0f + exp_kernel(-x[i]));
}

/* tanh x = 1 - 2 / (e^2x + 1); near 0 the subtraction loses relative but
 * not absolute accuracy (about 1e-7), which is what gradients need. */
SN_CLONES static void vec_tanh(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = 1.0f - 2.0f / (exp_kernel(2.0f * x[i]) + 1.0f);
}

void sn_vec_exp(float *x, size_t n)
{
    vec_exp(x, n);
}

void sn_vec_sigmoid(float *x, size_t n)
{
    vec_sigmoid(x, n);
}

void sn_vec_tanh(float *x, size_t n)
{
    vec_tanh(x, n);
}

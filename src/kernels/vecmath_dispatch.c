/*
 * vecmath_dispatch.c - sn_vec_exp, sn_vec_sigmoid, sn_vec_tanh through
 * the copy of vecmath.c of the path in use.
 */
#include "internal.h"
#include "kernels/cpu.h"
#include "kernels/vecmath.h"

static const sn_vecmath_ops *active(void)
{
#if defined(SN_X86_KERNELS)
    switch (sn_isa_active()) {
    case SN_ISA_AVX512: return &sn_vecmath_ops_avx512;
    case SN_ISA_AVX2: return &sn_vecmath_ops_avx2;
    default: break;
    }
#endif
    return &sn_vecmath_ops_generic;
}

void sn_vec_exp(float *x, size_t n)
{
    active()->exp(x, n);
}

void sn_vec_sigmoid(float *x, size_t n)
{
    active()->sigmoid(x, n);
}

void sn_vec_tanh(float *x, size_t n)
{
    active()->tanh(x, n);
}

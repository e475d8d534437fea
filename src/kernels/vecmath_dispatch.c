/*
 * vecmath_dispatch.c - sn_vec_exp, sn_vec_sigmoid, sn_vec_tanh through
 * the copy of vecmath.c of the path in use.
 */
#include "internal.h"
#include "kernels/cpu.h"
#include "kernels/vecmath.h"

const sn_vecmath_ops *sn_vecmath_ops_for(sn_isa isa)
{
    switch (isa) {
#if defined(SN_X86_KERNELS)
    case SN_ISA_AVX512: return &sn_vecmath_ops_avx512;
    case SN_ISA_AVX2: return &sn_vecmath_ops_avx2;
#endif
#if defined(__aarch64__)
    /* the generic copy, vectorised with NEON by the compiler there */
    case SN_ISA_NEON: return &sn_vecmath_ops_generic;
#endif
    case SN_ISA_GENERIC: return &sn_vecmath_ops_generic;
    default: return NULL;
    }
}

static const sn_vecmath_ops *active(void)
{
    return sn_vecmath_ops_for(sn_isa_active());
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

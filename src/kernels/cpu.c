/*
 * cpu.c - run-time choice of the kernels' instruction-set path.
 *
 * The x86 paths exist only when the build compiled them (SN_X86_KERNELS,
 * set by the Makefile for GCC on x86-64).  On aarch64 the best path is
 * "neon": ASIMD is part of ARMv8-A, so every aarch64 CPU has it, and what
 * differs from "generic" there is the matrix product (the CBLAS's NEON/SVE
 * kernels instead of our portable block; gemm_blas.c).  Anywhere else
 * every kernel is the generic one and this file always answers "generic".  The choice is made
 * once (pthread_once) so that weights packed for one path are never read
 * by another: the packed layouts differ between paths.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "seqnet.h"
#include "kernels/cpu.h"

const char *sn_isa_name(sn_isa isa)
{
    switch (isa) {
    case SN_ISA_AVX512: return "avx512";
    case SN_ISA_AVX2: return "avx2";
    case SN_ISA_NEON: return "neon";
    default: return "generic";
    }
}

/* Whether a CPU whose best path is best can run isa: generic always,
 * and the paths below best on its own architecture's chain (cpu.h). */
static bool isa_within(sn_isa isa, sn_isa best)
{
    if (isa == SN_ISA_GENERIC || isa == best)
        return true;
    return isa == SN_ISA_AVX2 && best == SN_ISA_AVX512;
}

sn_isa sn_isa_choose(const char *cap, sn_isa best)
{
    if (cap == NULL)
        return best;
    sn_isa want;
    if (strcmp(cap, "avx512") == 0)
        want = SN_ISA_AVX512;
    else if (strcmp(cap, "avx2") == 0)
        want = SN_ISA_AVX2;
    else if (strcmp(cap, "neon") == 0)
        want = SN_ISA_NEON;
    else if (strcmp(cap, "generic") == 0)
        want = SN_ISA_GENERIC;
    else
        return best;
    return isa_within(want, best) ? want : best;
}

/* The best path this CPU and its OS support (the GCC builtins check the
 * OS's XSAVE state for the AVX and AVX-512 registers too). */
static sn_isa best_supported(void)
{
#if defined(SN_X86_KERNELS)
    __builtin_cpu_init();
    bool v3 = __builtin_cpu_supports("avx2") &&
              __builtin_cpu_supports("fma") &&
              __builtin_cpu_supports("bmi2") &&
              __builtin_cpu_supports("f16c");
    bool v4 = v3 && __builtin_cpu_supports("avx512f") &&
              __builtin_cpu_supports("avx512bw") &&
              __builtin_cpu_supports("avx512cd") &&
              __builtin_cpu_supports("avx512dq") &&
              __builtin_cpu_supports("avx512vl");
    return v4 ? SN_ISA_AVX512 : v3 ? SN_ISA_AVX2 : SN_ISA_GENERIC;
#elif defined(__aarch64__)
    return SN_ISA_NEON;
#else
    return SN_ISA_GENERIC;
#endif
}

bool sn_isa_supported(sn_isa isa)
{
    return isa_within(isa, best_supported());
}

/* Written once under pthread_once, read-only afterwards. */
static pthread_once_t isa_once = PTHREAD_ONCE_INIT;
static sn_isa isa_chosen = SN_ISA_GENERIC;

static void choose_once(void)
{
    isa_chosen = sn_isa_choose(getenv("SN_CPU"), best_supported());
}

sn_isa sn_isa_active(void)
{
    pthread_once(&isa_once, choose_once);
    return isa_chosen;
}

SN_API const char *sn_cpu_isa(void)
{
    return sn_isa_name(sn_isa_active());
}

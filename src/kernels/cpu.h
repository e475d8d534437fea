/*
 * cpu.h - which instruction-set path the kernels take (cpu.c).
 *
 * The library's hot kernels (matrix products, vector math, recurrent cell
 * rows) are compiled once per path and picked at run time: the best path
 * the CPU and the operating system support, capped by the environment
 * variable SN_CPU (avx512 | avx2 | neon | generic), read once per process.
 *
 * The paths form one chain per architecture, each able to run the ones
 * below it: generic < avx2 < avx512 on x86-64, generic < neon on aarch64,
 * generic alone elsewhere.
 */
#ifndef SN_KERNELS_CPU_H
#define SN_KERNELS_CPU_H

#include <stdbool.h>

typedef enum sn_isa {
    SN_ISA_GENERIC = 0, /* baseline x86-64 (SSE2) or any other CPU        */
    SN_ISA_AVX2 = 1,    /* x86-64-v3: AVX2 + FMA                          */
    SN_ISA_AVX512 = 2,  /* x86-64-v4: AVX-512 F/BW/CD/DQ/VL               */
    SN_ISA_NEON = 3     /* aarch64 (ASIMD, in every ARMv8-A CPU): the
                           products through the CBLAS (gemm_blas.c), the
                           element-wise kernels in their generic copy,
                           which GCC vectorises with NEON there          */
} sn_isa;

/* Whether this CPU (and build) can run the path: tests use it to try
 * every path a machine supports in one run. */
bool sn_isa_supported(sn_isa isa);

/* The path in use (the same for the whole process). */
sn_isa sn_isa_active(void);

/* Its name: "avx512", "avx2", "neon" or "generic". */
const char *sn_isa_name(sn_isa isa);

/* Which path SN_CPU = cap selects on a CPU whose best path is best: the
 * cap itself when the CPU can run it, else the best one it can; an unset,
 * empty or unknown cap selects best.  (Pure: tested directly.) */
sn_isa sn_isa_choose(const char *cap, sn_isa best);

#endif /* SN_KERNELS_CPU_H */

/*
 * init.c - Keras weight initialisers.
 *
 * Fans follow Keras compute_fans: a [in, out] kernel has fan_in = in and
 * fan_out = out; a Conv1D kernel [k, in, filters] has fan_in = k*in and
 * fan_out = k*filters (the caller passes them).  The *_normal variants draw
 * from a normal truncated at two standard deviations, scaled as Keras does
 * so that the truncated distribution keeps the intended variance.
 */
#include <math.h>

#include "internal.h"

/* std of a standard normal truncated to [-2, 2] */
static const double truncated_normal_std = 0.87962566103423978;

static void fill_uniform(sn_rng *rng, double limit, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (float)((2.0 * sn_rng_uniform(rng) - 1.0) * limit);
}

static double truncated_normal(sn_rng *rng)
{
    double z;
    do {
        z = sn_rng_normal(rng);
    } while (z < -2.0 || z > 2.0);
    return z;
}

static void fill_truncated_normal(sn_rng *rng, double stddev, float *out,
                                  size_t n)
{
    double scale = stddev / truncated_normal_std;
    for (size_t i = 0; i < n; i++)
        out[i] = (float)(truncated_normal(rng) * scale);
}

static void fill_constant(float value, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = value;
}

/* Orthonormalises the columns of a [rows, cols] matrix (rows >= cols) in
 * place by modified Gram-Schmidt, run twice for stability.  The resulting
 * R has a positive diagonal, which is exactly QR followed by Keras'
 * sign fix q *= sign(diag(r)). */
static void orthonormalise_columns(double *a, int rows, int cols)
{
    for (int j = 0; j < cols; j++) {
        for (int pass = 0; pass < 2; pass++) {
            for (int k = 0; k < j; k++) {
                double dot = 0.0;
                for (int i = 0; i < rows; i++)
                    dot += a[(size_t)i * cols + k] * a[(size_t)i * cols + j];
                for (int i = 0; i < rows; i++)
                    a[(size_t)i * cols + j] -= dot * a[(size_t)i * cols + k];
            }
        }
        double norm = 0.0;
        for (int i = 0; i < rows; i++)
            norm += a[(size_t)i * cols + j] * a[(size_t)i * cols + j];
        norm = sqrt(norm);
        if (norm < 1e-300)
            norm = 1.0; /* probability zero for a normal draw */
        for (int i = 0; i < rows; i++)
            a[(size_t)i * cols + j] /= norm;
    }
}

/* Keras Orthogonal(gain=1): QR of a [max, min] normal matrix, transposed
 * when the weight is wider than tall. */
static sn_status fill_orthogonal(sn_rng *rng, int rows, int cols, float *out,
                                 const sn_mem *mem)
{
    int tall = rows >= cols ? rows : cols;
    int narrow = rows >= cols ? cols : rows;
    double *q = sn_mem_calloc(mem, (size_t)tall * narrow, sizeof *q);
    if (q == NULL)
        return SN_ERR_NOMEM;
    for (size_t i = 0; i < (size_t)tall * narrow; i++)
        q[i] = sn_rng_normal(rng);
    orthonormalise_columns(q, tall, narrow);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            out[(size_t)i * cols + j] = (float)(rows >= cols
                ? q[(size_t)i * narrow + j]
                : q[(size_t)j * narrow + i]);
    sn_mem_free(mem, q);
    return SN_OK;
}

static sn_status fill_base(sn_initializer init, sn_rng *rng, int fan_in,
                           int fan_out, int rows, int cols, float *out,
                           const sn_mem *mem);

sn_status sn_init_fill(sn_initializer init, sn_rng *rng, int fan_in,
                       int fan_out, int rows, int cols, float *out,
                       const sn_mem *mem)
{
    bool forget_ones = ((int)init & SN_INIT_FORGET_ONES) != 0;
    sn_initializer base = (sn_initializer)((int)init & ~SN_INIT_FORGET_ONES);
    sn_status st = fill_base(base, rng, fan_in, fan_out, rows, cols, out,
                             mem);
    if (st != SN_OK || !forget_ones)
        return st;
    int quarter = cols / 4;
    for (int r = 0; r < rows; r++)
        for (int k = quarter; k < 2 * quarter; k++)
            out[(size_t)r * cols + k] = 1.0f;
    return SN_OK;
}

static sn_status fill_base(sn_initializer init, sn_rng *rng, int fan_in,
                           int fan_out, int rows, int cols, float *out,
                           const sn_mem *mem)
{
    size_t n = (size_t)rows * (size_t)cols;
    double fan_sum = (double)fan_in + (double)fan_out;
    double in = fan_in > 0 ? fan_in : 1;
    if (fan_sum <= 0)
        fan_sum = 1;
    switch (init) {
    case SN_INIT_ZEROS: fill_constant(0.0f, out, n); return SN_OK;
    case SN_INIT_ONES: fill_constant(1.0f, out, n); return SN_OK;
    case SN_INIT_GLOROT_UNIFORM:
        fill_uniform(rng, sqrt(6.0 / fan_sum), out, n); return SN_OK;
    case SN_INIT_GLOROT_NORMAL:
        fill_truncated_normal(rng, sqrt(2.0 / fan_sum), out, n); return SN_OK;
    case SN_INIT_HE_UNIFORM:
        fill_uniform(rng, sqrt(6.0 / in), out, n); return SN_OK;
    case SN_INIT_HE_NORMAL:
        fill_truncated_normal(rng, sqrt(2.0 / in), out, n); return SN_OK;
    case SN_INIT_LECUN_UNIFORM:
        fill_uniform(rng, sqrt(3.0 / in), out, n); return SN_OK;
    case SN_INIT_LECUN_NORMAL:
        fill_truncated_normal(rng, sqrt(1.0 / in), out, n); return SN_OK;
    case SN_INIT_ORTHOGONAL:
        return fill_orthogonal(rng, rows, cols, out, mem);
    case SN_INIT_RANDOM_UNIFORM:
        fill_uniform(rng, 0.05, out, n); return SN_OK;
    case SN_INIT_RANDOM_NORMAL:
        for (size_t i = 0; i < n; i++)
            out[i] = (float)(0.05 * sn_rng_normal(rng));
        return SN_OK;
    case SN_INIT_DEFAULT:
        break;
    }
    return sn_fail(SN_ERR_INVALID_ARG, "unknown initializer %d", (int)init);
}

SN_API sn_status sn_initializer_fill(sn_initializer init, uint64_t seed,
                                     int rows, int cols, float *out)
{
    if (out == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_initializer_fill: out is NULL");
    if (rows <= 0 || cols <= 0)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "sn_initializer_fill: rows and cols must be > 0, got "
                       "%d x %d", rows, cols);
    if (init <= SN_INIT_DEFAULT || init > SN_INIT_RANDOM_NORMAL)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "sn_initializer_fill: unknown initializer %d",
                       (int)init);
    sn_rng rng;
    sn_rng_seed(&rng, seed);
    sn_mem mem = sn_mem_current();
    return sn_init_fill(init, &rng, rows, cols, rows, cols, out, &mem);
}

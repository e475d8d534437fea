/*
 * activations.c - the five activation functions, forward in place and
 * backward from the activation's output.
 *
 * Every derivative is written in terms of the output y, so layers keep only
 * their output and never the pre-activation:
 *   relu'    = (y > 0)
 *   tanh'    = 1 - y^2
 *   sigmoid' = y (1 - y)
 *   softmax: dx_i = y_i (dy_i - sum_j dy_j y_j)     (per row)
 * Backward ACCUMULATES into dx (+=); zeroing is the caller's business.
 * The activations appended later (gelu .. softplus) live in
 * activations_more.c; two of them need the pre-activation in backward.
 */
#include <math.h>
#include <stddef.h>

#include "internal.h"
#include "kernels/activations_more.h"

/* The exp/sigmoid/tanh arrays go through the kernels of the path in use
 * (sn_vec_*); the simple loops here are memory-bound and stay baseline. */

/* ------------------------------------------------------------- forward */

static void relu_fwd(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static void tanh_fwd(float *x, size_t n)
{
    sn_vec_tanh(x, n);
}

/* sn_vec_sigmoid clamps before exp, so neither side overflows. */
static void sigmoid_fwd(float *x, size_t n)
{
    sn_vec_sigmoid(x, n);
}

/* One row; subtracting the row max keeps exp() <= 1, so no overflow, and
 * the max term gives exp(0) = 1, so the sum is never 0. */
static void softmax_row(float *x, size_t n)
{
    float mx = x[0];
    for (size_t i = 1; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    float sum = 0.0f;
    for (size_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    float inv = 1.0f / sum;
    for (size_t i = 0; i < n; i++)
        x[i] *= inv;
}

void sn_act_forward(sn_activation act, float *x, size_t rows, size_t n)
{
    size_t total = rows * n;
    switch (act) {
    case SN_RELU: relu_fwd(x, total); break;
    case SN_TANH: tanh_fwd(x, total); break;
    case SN_SIGMOID: sigmoid_fwd(x, total); break;
    case SN_SOFTMAX:
        if (n > 0)
            for (size_t r = 0; r < rows; r++)
                softmax_row(x + r * n, n);
        break;
    case SN_LINEAR: break;
    default:
        if (sn_act_more(act))
            sn_act_more_forward(act, x, total);
        break;
    }
}

/* ------------------------------------------------------------ backward */

static void linear_bwd(const float *dy, float *dx, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dx[i] += dy[i];
}

static void relu_bwd(const float *y, const float *dy, float *dx,
                               size_t n)
{
    for (size_t i = 0; i < n; i++)
        dx[i] += y[i] > 0.0f ? dy[i] : 0.0f;
}

static void tanh_bwd(const float *y, const float *dy, float *dx,
                               size_t n)
{
    for (size_t i = 0; i < n; i++)
        dx[i] += dy[i] * (1.0f - y[i] * y[i]);
}

static void sigmoid_bwd(const float *y, const float *dy, float *dx,
                                  size_t n)
{
    for (size_t i = 0; i < n; i++)
        dx[i] += dy[i] * y[i] * (1.0f - y[i]);
}

/* Jacobian-vector product of one softmax row: J = diag(y) - y y^T. */
static void softmax_bwd_row(const float *y, const float *dy, float *dx,
                            size_t n)
{
    float dot = 0.0f;
    for (size_t j = 0; j < n; j++)
        dot += dy[j] * y[j];
    for (size_t i = 0; i < n; i++)
        dx[i] += y[i] * (dy[i] - dot);
}

void sn_act_backward(sn_activation act, const float *x, const float *y,
                     const float *dy, float *dx, size_t rows, size_t n)
{
    size_t total = rows * n;
    if (sn_act_more(act)) {
        sn_act_more_backward(act, x, y, dy, dx, total);
        return;
    }
    switch (act) {
    case SN_RELU: relu_bwd(y, dy, dx, total); break;
    case SN_TANH: tanh_bwd(y, dy, dx, total); break;
    case SN_SIGMOID: sigmoid_bwd(y, dy, dx, total); break;
    case SN_SOFTMAX:
        for (size_t r = 0; r < rows; r++)
            softmax_bwd_row(y + r * n, dy + r * n, dx + r * n, n);
        break;
    case SN_LINEAR:
    default: linear_bwd(dy, dx, total); break;
    }
}

/* ---------------------------------------------------------------- names */

const char *sn_act_name(sn_activation act)
{
    switch (act) {
    case SN_LINEAR: return "linear";
    case SN_RELU: return "relu";
    case SN_TANH: return "tanh";
    case SN_SIGMOID: return "sigmoid";
    case SN_SOFTMAX: return "softmax";
    default: return sn_act_more_name(act);
    }
}

bool sn_act_valid(int act)
{
    return act >= SN_LINEAR && act <= SN_SOFTPLUS;
}

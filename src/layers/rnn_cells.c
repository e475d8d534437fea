/*
 * rnn_cells.c - one row of one time step of each cell, forward beside
 * backward.  Notation: H units, σ = recurrent_activation, φ = activation,
 * pre = x.K + b + h.R (Keras), rows of G*H in Keras gate order.
 *
 * Compiled once per instruction-set path (kernels/cpu.h) with that path's
 * -march flags, the vector math inlined at its width; each copy exports
 * one table, SN_RNN_CELL_OPS (sn_rnn_cell_ops_avx512, ...), and
 * rnn_cells_dispatch.c forwards the sn_*_row calls to the one in use.
 */
#include <string.h>

#include "kernels/vecmath.h"
#include "rnn_cells.h"

#ifndef SN_RNN_CELL_OPS
#define SN_RNN_CELL_OPS sn_rnn_cell_ops_generic
#endif

static void act(sn_activation a, float *x, size_t n)
{
    switch (a) {
    case SN_TANH:
        for (size_t i = 0; i < n; i++)
            x[i] = sn_tanh_kernel(x[i]);
        break;
    case SN_SIGMOID:
        for (size_t i = 0; i < n; i++)
            x[i] = sn_sigmoid_kernel(x[i]);
        break;
    case SN_RELU:
        for (size_t i = 0; i < n; i++)
            x[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    default: break; /* linear; softmax is refused by the constructors */
    }
}

/* out = dy * a'(.) written from the activation's output y.
 * always_inline: specialised inside each row function. */
__attribute__((always_inline)) static inline void
act_grad(sn_activation a, const float *y, const float *dy, float *out,
         size_t n)
{
    switch (a) {
    case SN_TANH:
        for (size_t i = 0; i < n; i++)
            out[i] = dy[i] * (1.0f - y[i] * y[i]);
        break;
    case SN_SIGMOID:
        for (size_t i = 0; i < n; i++)
            out[i] = dy[i] * y[i] * (1.0f - y[i]);
        break;
    case SN_RELU:
        for (size_t i = 0; i < n; i++)
            out[i] = y[i] > 0.0f ? dy[i] : 0.0f;
        break;
    default:
        memmove(out, dy, n * sizeof *out);
        break;
    }
}

static void act_grad_call(sn_activation a, const float *y, const float *dy,
                          float *out, size_t n)
{
    act_grad(a, y, dy, out, n);
}

/* ------------------------------------------------------------ SimpleRNN
 * forward:  h = φ(pre)
 * backward: dpre = dh φ'(h);  dh_prev (direct) = 0                      */

static void simple_forward_row(const sn_rnn_cfg *cfg, float *gates, float *h)
{
    act(cfg->act, gates, (size_t)cfg->units);
    memcpy(h, gates, (size_t)cfg->units * sizeof *h);
}

static void simple_backward_row(const sn_rnn_cfg *cfg, const float *gates,
                            float *dh, float *dz)
{
    size_t n = (size_t)cfg->units;
    act_grad(cfg->act, gates, dh, dz, n);
    memset(dh, 0, n * sizeof *dh);
}

/* ------------------------------------------------------------ LSTM
 * forward:  i = σ(pre_i)  f = σ(pre_f)  g = φ(pre_c)  o = σ(pre_o)
 *           c = f c_prev + i g          h = o φ(c)
 * backward: do = dh φ(c)                dc += dh o φ'(φ(c))
 *           di = dc g   df = dc c_prev  dg = dc i   dc_prev = dc f
 *           dpre_* = d* times the gate's activation derivative
 *           dh_prev (direct) = 0                                         */

static void lstm_forward_row(const sn_rnn_cfg *cfg, float *gates, float *h,
                         float *c, float *tc)
{
    int n = cfg->units;
    float *i = gates, *f = gates + n, *g = gates + 2 * n, *o = gates + 3 * n;
    act(cfg->rec_act, i, (size_t)(2 * n));
    act(cfg->act, g, (size_t)n);
    act(cfg->rec_act, o, (size_t)n);
    for (int k = 0; k < n; k++) {
        c[k] = f[k] * c[k] + i[k] * g[k];
        tc[k] = c[k];
    }
    act(cfg->act, tc, (size_t)n);
    for (int k = 0; k < n; k++)
        h[k] = o[k] * tc[k];
}

/* The default cell (φ = tanh, σ = sigmoid) in one vectorisable pass; the
 * derivatives come from the outputs: tanh' = 1 - y², σ' = y (1 - y).
 * restrict: the rows never overlap, and saying so lets the compiler use
 * vector instructions. */
static void lstm_backward_row_tanh(int n,
                                             const float *restrict gates,
                                             const float *restrict tc,
                                             const float *restrict cprev,
                                             float *restrict dh,
                                             float *restrict dc,
                                             float *restrict dz)
{
    const float *i = gates, *f = gates + n, *g = gates + 2 * n,
                *o = gates + 3 * n;
    float *di = dz, *df = dz + n, *dg = dz + 2 * n, *dout = dz + 3 * n;
    for (int k = 0; k < n; k++) {
        float dck = dc[k] + dh[k] * o[k] * (1.0f - tc[k] * tc[k]);
        di[k] = dck * g[k] * i[k] * (1.0f - i[k]);
        df[k] = dck * cprev[k] * f[k] * (1.0f - f[k]);
        dg[k] = dck * i[k] * (1.0f - g[k] * g[k]);
        dout[k] = dh[k] * tc[k] * o[k] * (1.0f - o[k]);
        dc[k] = dck * f[k];
        dh[k] = 0.0f;
    }
}

static void lstm_backward_row(const sn_rnn_cfg *cfg, const float *gates,
                          const float *tc, const float *cprev, float *dh,
                          float *dc, float *dz)
{
    int n = cfg->units;
    if (cfg->act == SN_TANH && cfg->rec_act == SN_SIGMOID) {
        lstm_backward_row_tanh(n, gates, tc, cprev, dh, dc, dz);
        return;
    }
    const float *i = gates, *f = gates + n, *g = gates + 2 * n,
                *o = gates + 3 * n;
    float *di = dz, *df = dz + n, *dg = dz + 2 * n, *dout = dz + 3 * n;
    /* dout temporarily holds dh * o, the gradient reaching φ(c) */
    for (int k = 0; k < n; k++)
        dout[k] = dh[k] * o[k];
    act_grad(cfg->act, tc, dout, dg, (size_t)n);
    for (int k = 0; k < n; k++) {
        dc[k] += dg[k];
        dout[k] = dh[k] * tc[k];
        di[k] = dc[k] * g[k];
        df[k] = dc[k] * cprev[k];
        dg[k] = dc[k] * i[k];
        dc[k] *= f[k];
    }
    act_grad(cfg->rec_act, i, di, di, (size_t)n);
    act_grad(cfg->rec_act, f, df, df, (size_t)n);
    act_grad(cfg->act, g, dg, dg, (size_t)n);
    act_grad(cfg->rec_act, o, dout, dout, (size_t)n);
    memset(dh, 0, (size_t)n * sizeof *dh);
}

/* ------------------------------------------------------------ GRU
 * forward:  z = σ(pre_z)  r = σ(pre_r)
 *           after:  ĥ = φ(xK_h + b_h + r (h R_h + b'_h))    aux = h R_h + b'_h
 *           before: ĥ = φ(xK_h + b_h + (r h) R_h)            aux = (r h) R_h
 *           h = z h_prev + (1 - z) ĥ
 * backward: dĥpre = dh (1 - z) φ'(ĥ)   dzpre = dh (h_prev - ĥ) σ'(z)
 *           after:  drpre = dĥpre aux σ'(r); recurrent-side candidate
 *                   gradient dĥpre r
 *           before: the r path needs dĥpre R_hᵀ, done by the caller
 *           dh_prev (direct) = dh z                                      */

static void gru_gates_row(const sn_rnn_cfg *cfg, float *gates)
{
    act(cfg->rec_act, gates, (size_t)(2 * cfg->units));
}

static void gru_forward_row(const sn_rnn_cfg *cfg, float *gates, const float *xw_h,
                        const float *aux, float *h)
{
    int n = cfg->units;
    const float *z = gates, *r = gates + n;
    float *hh = gates + 2 * n;
    if (cfg->reset_after)
        for (int k = 0; k < n; k++)
            hh[k] = xw_h[k] + r[k] * aux[k];
    else
        for (int k = 0; k < n; k++)
            hh[k] = xw_h[k] + aux[k];
    act(cfg->act, hh, (size_t)n);
    for (int k = 0; k < n; k++)
        h[k] = z[k] * h[k] + (1.0f - z[k]) * hh[k];
}

static void gru_backward_row(const sn_rnn_cfg *cfg, const float *gates,
                         const float *hprev, const float *aux, float *dh,
                         float *dzx, float *dzh)
{
    int n = cfg->units;
    const float *z = gates, *r = gates + n, *hh = gates + 2 * n;
    float *dz = dzx, *dr = dzx + n, *dhh = dzx + 2 * n;
    for (int k = 0; k < n; k++) {
        dhh[k] = dh[k] * (1.0f - z[k]);
        dz[k] = dh[k] * (hprev[k] - hh[k]);
        dh[k] *= z[k];
    }
    act_grad(cfg->act, hh, dhh, dhh, (size_t)n);
    act_grad(cfg->rec_act, z, dz, dz, (size_t)n);
    if (!cfg->reset_after) {
        memset(dr, 0, (size_t)n * sizeof *dr); /* finished by the caller */
        return;
    }
    for (int k = 0; k < n; k++)
        dr[k] = dhh[k] * aux[k];
    act_grad(cfg->rec_act, r, dr, dr, (size_t)n);
    memcpy(dzh, dzx, (size_t)(2 * n) * sizeof *dzh);
    for (int k = 0; k < n; k++)
        dzh[2 * n + k] = dhh[k] * r[k];
}

const sn_rnn_cell_ops SN_RNN_CELL_OPS = {
    .act_grad = act_grad_call,
    .simple_forward_row = simple_forward_row,
    .simple_backward_row = simple_backward_row,
    .lstm_forward_row = lstm_forward_row,
    .lstm_backward_row = lstm_backward_row,
    .gru_gates_row = gru_gates_row,
    .gru_forward_row = gru_forward_row,
    .gru_backward_row = gru_backward_row,
};

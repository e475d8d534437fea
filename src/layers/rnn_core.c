/*
 * rnn_core.c - the time loop of one recurrent direction, forward and
 * backward through time, with the matrix products on CBLAS:
 *
 *   forward   XW = x.K + b                   one GEMM  [B*T,E] x [E,G*H]
 *             per step: Z = h.R              one GEMM  [B,H] x [H,G*H]
 *             gates, state: fused per row (rnn_cells.c)
 *   backward  per step: dh_prev += dZ.Rᵀ     one GEMM  [B,G*H] x [G*H,H]
 *             dK += xᵀ.dZ, dR += h_prevᵀ.dZ, dx += dZ.Kᵀ: one GEMM each
 *             over all steps
 *
 * Masked steps (mask 0) carry the state unchanged, output the previous
 * output (or 0), and get no gradient; a step where every row is masked
 * is skipped.  Nothing here allocates: the caller carves the workspace.
 */
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "rnn_cells.h"

/* ------------------------------------------------------------ workspace */

typedef struct carve {
    char *at;
    size_t used;
} carve;

/* 64-byte aligned pieces, so vector loads never split cache lines. */
static void *take(carve *cv, size_t bytes)
{
    size_t aligned = (bytes + 63) & ~(size_t)63;
    void *p = cv->at != NULL ? cv->at + cv->used : NULL;
    cv->used += aligned;
    return p;
}

static void lay_out(const sn_rnn_cfg *cfg, int B, int T, carve *cv,
                    sn_rnn_ws *ws)
{
    size_t G = (size_t)sn_rnn_gates(cfg), H = (size_t)cfg->units;
    size_t E = (size_t)cfg->in_dim, BT = (size_t)B * (size_t)T;
    size_t f = sizeof(float);
    bool lstm = cfg->cell == SN_CELL_LSTM, gru = cfg->cell == SN_CELL_GRU;
    ws->xw = take(cv, BT * G * H * f);
    ws->dzh = gru && cfg->reset_after ? take(cv, BT * G * H * f) : NULL;
    ws->gates = take(cv, BT * G * H * f);
    ws->hprev = take(cv, BT * H * f);
    ws->cprev = lstm ? take(cv, BT * H * f) : NULL;
    ws->tc = lstm ? take(cv, BT * H * f) : NULL;
    ws->aux = gru ? take(cv, BT * H * f) : NULL;
    ws->xd = take(cv, BT * E * f);
    ws->hm = take(cv, BT * H * f);
    ws->dxt = take(cv, BT * E * f);
    ws->h = take(cv, (size_t)B * H * f);
    ws->c = take(cv, (size_t)B * H * f);
    ws->hd = take(cv, (size_t)B * H * f);
    ws->out = take(cv, (size_t)B * H * f);
    ws->z = take(cv, (size_t)B * G * H * f);
    ws->dh = take(cv, (size_t)B * H * f);
    ws->dc = take(cv, (size_t)B * H * f);
    ws->tmp = take(cv, (size_t)B * H * f);
    ws->hnorm = take(cv, (size_t)T * f);
    ws->xnorm = take(cv, (size_t)T * f);
    ws->first_real = take(cv, (size_t)B * sizeof(int));
}

size_t sn_rnn_ws_bytes(const sn_rnn_cfg *cfg, int batch, int steps)
{
    carve cv = { NULL, 0 };
    sn_rnn_ws ws;
    lay_out(cfg, batch, steps, &cv, &ws);
    return cv.used;
}

void sn_rnn_ws_carve(const sn_rnn_cfg *cfg, int batch, int steps,
                     void *base, sn_rnn_ws *ws)
{
    carve cv = { base, 0 };
    lay_out(cfg, batch, steps, &cv, ws);
}

/* ------------------------------------------------------------ helpers */

/* Time index of processing step s. */
static int time_of(const sn_rnn_cfg *cfg, int T, int s)
{
    return cfg->go_backwards ? T - 1 - s : s;
}

static bool real_step(const sn_rnn_io *io, int b, int t)
{
    return io->mask == NULL || io->mask[(size_t)b * io->steps + t] != 0;
}

static bool any_real(const sn_rnn_io *io, int t)
{
    if (io->mask == NULL)
        return true;
    for (int b = 0; b < io->batch; b++)
        if (io->mask[(size_t)b * io->steps + t])
            return true;
    return false;
}

/* hd = h * keep (recurrent dropout) or h itself. */
static const float *dropped_state(const sn_rnn_cfg *cfg, const sn_rnn_io *io,
                                  sn_rnn_ws *ws)
{
    if (io->keep_rec == NULL)
        return ws->h;
    size_t n = (size_t)io->batch * (size_t)cfg->units;
    for (size_t i = 0; i < n; i++)
        ws->hd[i] = ws->h[i] * io->keep_rec[i];
    return ws->hd;
}

/* XW = x' K + b over all steps, x' = x * keep_in (input dropout). */
static void project_inputs(const sn_rnn_cfg *cfg, const sn_rnn_weights *w,
                           const sn_rnn_io *io, sn_rnn_ws *ws)
{
    int BT = io->batch * io->steps, E = cfg->in_dim;
    int GH = sn_rnn_gates(cfg) * cfg->units;
    const float *x = io->x;
    if (io->keep_in != NULL) {
        for (int b = 0; b < io->batch; b++)
            for (int t = 0; t < io->steps; t++) {
                size_t row = ((size_t)b * io->steps + t) * E;
                for (int e = 0; e < E; e++)
                    ws->xd[row + e] = x[row + e] * io->keep_in[b * E + e];
            }
        x = ws->xd;
    }
    for (int r = 0; r < BT; r++) {
        float *dst = ws->xw + (size_t)r * GH;
        if (w->bias != NULL)
            memcpy(dst, w->bias, (size_t)GH * sizeof *dst);
        else
            memset(dst, 0, (size_t)GH * sizeof *dst);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, BT, GH, E, 1.0f,
                x, E, w->kernel, GH, 1.0f, ws->xw, GH);
}

static void init_state(const sn_rnn_cfg *cfg, const sn_rnn_io *io,
                       sn_rnn_ws *ws)
{
    size_t n = (size_t)io->batch * (size_t)cfg->units * sizeof(float);
    if (io->h0 != NULL)
        memcpy(ws->h, io->h0, n);
    else
        memset(ws->h, 0, n);
    if (io->c0 != NULL)
        memcpy(ws->c, io->c0, n);
    else
        memset(ws->c, 0, n);
    memset(ws->out, 0, n);
    for (int b = 0; b < io->batch; b++) {
        ws->first_real[b] = io->steps;
        for (int s = 0; s < io->steps; s++)
            if (real_step(io, b, time_of(cfg, io->steps, s))) {
                ws->first_real[b] = s;
                break;
            }
    }
}

/* ------------------------------------------------------------ forward */

/* Z = hd . R[:, cols]: the recurrent product of one step. */
static void recurrent_product(const sn_rnn_cfg *cfg, const sn_rnn_weights *w,
                              int B, const float *hd, int cols, float *z)
{
    int H = cfg->units, GH = sn_rnn_gates(cfg) * H;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, cols, H, 1.0f,
                hd, H, w->recurrent, GH, 0.0f, z, GH);
}

/* Writes the step's output rows and remembers them for masked steps. */
static void emit_output(const sn_rnn_cfg *cfg, sn_rnn_io *io, sn_rnn_ws *ws,
                        int b, int t, bool real)
{
    size_t H = (size_t)cfg->units;
    float *out = ws->out + (size_t)b * H;
    if (real)
        memcpy(out, ws->h + (size_t)b * H, H * sizeof *out);
    if (!cfg->return_sequences)
        return;
    int at = cfg->reverse_output ? io->steps - 1 - t : t;
    float *y = io->y + ((size_t)b * io->steps + at) * H;
    if (!real && cfg->zero_output_for_mask)
        memset(y, 0, H * sizeof *y);
    else
        memcpy(y, out, H * sizeof *y);
}

static void step_rows(const sn_rnn_cfg *cfg, const sn_rnn_weights *w,
                      sn_rnn_io *io, sn_rnn_ws *ws, int t)
{
    int B = io->batch, H = cfg->units, G = sn_rnn_gates(cfg), GH = G * H;
    bool gru_before = cfg->cell == SN_CELL_GRU && !cfg->reset_after;
    for (int b = 0; b < B; b++) {
        size_t row = (size_t)b * io->steps + t;
        float *g = ws->gates + row * GH;
        const float *xw = ws->xw + row * GH, *zr = ws->z + (size_t)b * GH;
        bool real = real_step(io, b, t);
        memcpy(ws->hprev + row * H, ws->h + (size_t)b * H, H * sizeof(float));
        if (!real) {
            memset(g, 0, (size_t)GH * sizeof *g);
            continue;
        }
        int n_rec = gru_before ? 2 * H : GH;
        for (int k = 0; k < n_rec; k++)
            g[k] = xw[k] + zr[k];
        if (w->bias_rec != NULL) /* GRU reset_after: recurrent z, r bias */
            for (int k = 0; k < 2 * H; k++)
                g[k] += w->bias_rec[k];
        if (cfg->cell == SN_CELL_SIMPLE) {
            sn_simple_forward_row(cfg, g, ws->h + (size_t)b * H);
        } else if (cfg->cell == SN_CELL_LSTM) {
            memcpy(ws->cprev + row * H, ws->c + (size_t)b * H,
                   H * sizeof(float));
            sn_lstm_forward_row(cfg, g, ws->h + (size_t)b * H,
                                ws->c + (size_t)b * H, ws->tc + row * H);
        } else {
            sn_gru_gates_row(cfg, g);
            if (cfg->reset_after) {
                float *aux = ws->aux + row * H;
                for (int k = 0; k < H; k++)
                    aux[k] = zr[2 * H + k] +
                             (w->bias_rec != NULL ? w->bias_rec[2 * H + k] : 0);
                sn_gru_forward_row(cfg, g, xw + 2 * H, aux,
                                   ws->h + (size_t)b * H);
            }
        }
    }
}

/* GRU reset_before: the candidate needs (r * hd) . R_h, a second product
 * that can only start once every row's r is known.  aux keeps r * hd, the
 * input of R_h, for the weight gradient. */
static void gru_before_candidate(const sn_rnn_cfg *cfg,
                                 const sn_rnn_weights *w, sn_rnn_io *io,
                                 sn_rnn_ws *ws, int t, const float *hd)
{
    int B = io->batch, H = cfg->units, GH = 3 * H, T = io->steps;
    for (int b = 0; b < B; b++) {
        size_t row = (size_t)b * T + t;
        const float *r = ws->gates + row * GH + H;
        float *aux = ws->aux + row * H;
        for (int k = 0; k < H; k++)
            aux[k] = r[k] * hd[(size_t)b * H + k];
    }
    float *cand = ws->z; /* reuse: [B, H] rows with stride GH */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, H, H, 1.0f,
                ws->aux + (size_t)t * H, T * H, w->recurrent + 2 * H, GH,
                0.0f, cand, GH);
    for (int b = 0; b < B; b++) {
        size_t row = (size_t)b * T + t;
        if (!real_step(io, b, t))
            continue;
        sn_gru_forward_row(cfg, ws->gates + row * GH,
                           ws->xw + row * GH + 2 * H, cand + (size_t)b * GH,
                           ws->h + (size_t)b * H);
    }
}

void sn_rnn_forward(const sn_rnn_cfg *cfg, const sn_rnn_weights *w,
                    sn_rnn_io *io, sn_rnn_ws *ws)
{
    int B = io->batch, T = io->steps, H = cfg->units;
    int GH = sn_rnn_gates(cfg) * H;
    bool gru_before = cfg->cell == SN_CELL_GRU && !cfg->reset_after;
    project_inputs(cfg, w, io, ws);
    init_state(cfg, io, ws);
    for (int s = 0; s < T; s++) {
        int t = time_of(cfg, T, s);
        if (!any_real(io, t)) {
            /* nothing moves: record states for backward, repeat outputs */
            for (int b = 0; b < B; b++) {
                size_t row = (size_t)b * T + t;
                memcpy(ws->hprev + row * H, ws->h + (size_t)b * H,
                       (size_t)H * sizeof(float));
                memset(ws->gates + row * GH, 0, (size_t)GH * sizeof(float));
                emit_output(cfg, io, ws, b, t, false);
            }
            continue;
        }
        const float *hd = dropped_state(cfg, io, ws);
        recurrent_product(cfg, w, B, hd, gru_before ? 2 * H : GH, ws->z);
        step_rows(cfg, w, io, ws, t);
        if (gru_before)
            gru_before_candidate(cfg, w, io, ws, t, hd);
        for (int b = 0; b < B; b++)
            emit_output(cfg, io, ws, b, t, real_step(io, b, t));
    }
    size_t n = (size_t)B * H * sizeof(float);
    if (!cfg->return_sequences)
        memcpy(io->y, ws->out, n);
    if (io->h_last != NULL)
        memcpy(io->h_last, ws->h, n);
    if (io->c_last != NULL)
        memcpy(io->c_last, ws->c, n);
}

/* ------------------------------------------------------------ backward */

static void add_into(float *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] += src[i];
}

static float norm2(const float *x, size_t n, size_t stride, size_t len)
{
    double s = 0.0;
    for (size_t r = 0; r < n; r++)
        for (size_t k = 0; k < len; k++)
            s += (double)x[r * stride + k] * x[r * stride + k];
    return (float)sqrt(s);
}

/* Output gradients that reach the state after processing step s. */
static void add_output_grad(const sn_rnn_cfg *cfg, const sn_rnn_io *io,
                            sn_rnn_ws *ws, int s, int t)
{
    if (io->dy == NULL)
        return;
    int H = cfg->units;
    for (int b = 0; b < io->batch; b++) {
        float *dh = ws->dh + (size_t)b * H;
        if (!cfg->return_sequences) {
            /* y = last output: the state after the last real step */
            if (s == io->steps - 1 && ws->first_real[b] < io->steps)
                add_into(dh, io->dy + (size_t)b * H, (size_t)H);
            continue;
        }
        bool real = real_step(io, b, t);
        if (!real && (cfg->zero_output_for_mask || s < ws->first_real[b]))
            continue; /* this output is a constant 0 */
        int at = cfg->reverse_output ? io->steps - 1 - t : t;
        add_into(dh, io->dy + ((size_t)b * io->steps + at) * H, (size_t)H);
    }
}

/* One row's cell backward; dZ rows of masked steps are zero. */
static void step_back_rows(const sn_rnn_cfg *cfg, sn_rnn_io *io,
                           sn_rnn_ws *ws, int t)
{
    int H = cfg->units, GH = sn_rnn_gates(cfg) * H;
    for (int b = 0; b < io->batch; b++) {
        size_t row = (size_t)b * io->steps + t;
        float *dzx = ws->xw + row * GH;
        float *dzh = ws->dzh != NULL ? ws->dzh + row * GH : dzx;
        float *dh = ws->dh + (size_t)b * H;
        const float *g = ws->gates + row * GH;
        if (!real_step(io, b, t)) {
            memset(dzx, 0, (size_t)GH * sizeof *dzx);
            if (dzh != dzx)
                memset(dzh, 0, (size_t)GH * sizeof *dzh);
            continue; /* dh, dc pass through unchanged */
        }
        if (cfg->cell == SN_CELL_SIMPLE)
            sn_simple_backward_row(cfg, g, dh, dzx);
        else if (cfg->cell == SN_CELL_LSTM)
            sn_lstm_backward_row(cfg, g, ws->tc + row * H,
                                 ws->cprev + row * H, dh,
                                 ws->dc + (size_t)b * H, dzx);
        else
            sn_gru_backward_row(cfg, g, ws->hprev + row * H,
                                ws->aux + row * H, dh, dzx, dzh);
    }
}

/* GRU reset_before: d(r*hd) = dĥpre . R_hᵀ gives dr and a state term:
 * drpre = d(r*hd) * hd * σ'(r), and dL/d(hd) += d(r*hd) * r (in drh). */
static void gru_before_back(const sn_rnn_cfg *cfg, const sn_rnn_weights *w,
                            sn_rnn_io *io, sn_rnn_ws *ws, int t, float *drh)
{
    int B = io->batch, H = cfg->units, GH = 3 * H, T = io->steps;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, H, H, 1.0f,
                ws->xw + (size_t)t * GH + 2 * H, T * GH,
                w->recurrent + 2 * H, GH, 0.0f, drh, H);
    for (int b = 0; b < B; b++) {
        size_t row = (size_t)b * T + t;
        if (!real_step(io, b, t))
            continue;
        const float *r = ws->gates + row * GH + H;
        const float *hp = ws->hprev + row * H;
        const float *keep = io->keep_rec != NULL
                                ? io->keep_rec + (size_t)b * H : NULL;
        float *dr = ws->xw + row * GH + H;
        float *d = drh + (size_t)b * H;
        for (int k = 0; k < H; k++) {
            float hd = keep != NULL ? hp[k] * keep[k] : hp[k];
            dr[k] = d[k] * hd;
            d[k] *= r[k];
        }
        sn_rnn_act_grad(cfg->rec_act, r, dr, dr, (size_t)H);
    }
}

/* dh_prev = direct part + (dZh . Rᵀ) * keep_rec (+ GRU-before term). */
static void recurrent_back(const sn_rnn_cfg *cfg, const sn_rnn_weights *w,
                           sn_rnn_io *io, sn_rnn_ws *ws, int t,
                           const float *extra)
{
    int B = io->batch, H = cfg->units, GH = sn_rnn_gates(cfg) * H;
    int T = io->steps;
    bool gru_before = cfg->cell == SN_CELL_GRU && !cfg->reset_after;
    const float *dz = (ws->dzh != NULL ? ws->dzh : ws->xw) + (size_t)t * GH;
    int k_cols = gru_before ? 2 * H : GH;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, H, k_cols, 1.0f,
                dz, T * GH, w->recurrent, GH, 0.0f, ws->tmp, H);
    size_t n = (size_t)B * H;
    if (extra != NULL)
        add_into(ws->tmp, extra, n);
    if (io->keep_rec != NULL)
        for (size_t i = 0; i < n; i++)
            ws->tmp[i] *= io->keep_rec[i];
    for (int b = 0; b < B; b++)
        if (real_step(io, b, t))
            add_into(ws->dh + (size_t)b * H, ws->tmp + (size_t)b * H,
                     (size_t)H);
}

/* Truncated BPTT: chunks of k steps counted back from the last step;
 * gradient does not flow from one chunk into the one before. */
static bool chunk_starts(const sn_rnn_cfg *cfg, int T, int s)
{
    return cfg->truncate > 0 && s > 0 && (T - s) % cfg->truncate == 0;
}

static void weight_grads(const sn_rnn_cfg *cfg, const sn_rnn_weights *w,
                         sn_rnn_io *io, sn_rnn_ws *ws)
{
    int B = io->batch, T = io->steps, BT = B * T, H = cfg->units;
    int E = cfg->in_dim, GH = sn_rnn_gates(cfg) * H;
    const float *x = io->keep_in != NULL ? ws->xd : io->x;
    const float *hm = ws->hprev;
    if (io->keep_rec != NULL) {
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++) {
                size_t row = ((size_t)b * T + t) * H;
                for (int k = 0; k < H; k++)
                    ws->hm[row + k] = ws->hprev[row + k] *
                                      io->keep_rec[(size_t)b * H + k];
            }
        hm = ws->hm;
    }
    const float *dzh = ws->dzh != NULL ? ws->dzh : ws->xw;
    if (w->d_kernel != NULL)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, E, GH, BT, 1.0f,
                    x, E, ws->xw, GH, 1.0f, w->d_kernel, GH);
    if (w->d_recurrent != NULL) {
        if (cfg->cell == SN_CELL_GRU && !cfg->reset_after) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, 2 * H, BT,
                        1.0f, hm, H, dzh, GH, 1.0f, w->d_recurrent, GH);
            /* aux holds r * hd: the input of R_h */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, H, BT,
                        1.0f, ws->aux, H, dzh + 2 * H, GH, 1.0f,
                        w->d_recurrent + 2 * H, GH);
        } else {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, GH, BT,
                        1.0f, hm, H, dzh, GH, 1.0f, w->d_recurrent, GH);
        }
    }
    for (int r = 0; r < BT; r++) {
        if (w->d_bias != NULL)
            add_into(w->d_bias, ws->xw + (size_t)r * GH, (size_t)GH);
        if (w->d_bias_rec != NULL)
            add_into(w->d_bias_rec, dzh + (size_t)r * GH, (size_t)GH);
    }
}

static void input_grads(const sn_rnn_cfg *cfg, const sn_rnn_weights *w,
                        sn_rnn_io *io, sn_rnn_ws *ws)
{
    int B = io->batch, T = io->steps, BT = B * T, E = cfg->in_dim;
    int GH = sn_rnn_gates(cfg) * cfg->units;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, BT, E, GH, 1.0f,
                ws->xw, GH, w->kernel, GH, 0.0f, ws->dxt, E);
    if (io->keep_in != NULL)
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++)
                for (int e = 0; e < E; e++)
                    ws->dxt[((size_t)b * T + t) * E + e] *=
                        io->keep_in[(size_t)b * E + e];
    for (int t = 0; t < T; t++)
        ws->xnorm[t] = norm2(ws->dxt + (size_t)t * E, (size_t)B,
                             (size_t)T * E, (size_t)E);
    if (io->dx != NULL)
        add_into(io->dx, ws->dxt, (size_t)BT * E);
}

void sn_rnn_backward(const sn_rnn_cfg *cfg, const sn_rnn_weights *w,
                     sn_rnn_io *io, sn_rnn_ws *ws)
{
    int B = io->batch, T = io->steps, H = cfg->units;
    size_t n = (size_t)B * H;
    bool gru_before = cfg->cell == SN_CELL_GRU && !cfg->reset_after;
    if (io->dh_last != NULL)
        memcpy(ws->dh, io->dh_last, n * sizeof(float));
    else
        memset(ws->dh, 0, n * sizeof(float));
    if (io->dc_last != NULL)
        memcpy(ws->dc, io->dc_last, n * sizeof(float));
    else
        memset(ws->dc, 0, n * sizeof(float));
    float *drh = ws->hd; /* free in backward: [B, H] */
    for (int s = T - 1; s >= 0; s--) {
        int t = time_of(cfg, T, s);
        add_output_grad(cfg, io, ws, s, t);
        ws->hnorm[t] = norm2(ws->dh, n, 1, 1);
        step_back_rows(cfg, io, ws, t);
        if (gru_before)
            gru_before_back(cfg, w, io, ws, t, drh);
        if (any_real(io, t))
            recurrent_back(cfg, w, io, ws, t, gru_before ? drh : NULL);
        if (chunk_starts(cfg, T, s)) {
            memset(ws->dh, 0, n * sizeof(float));
            memset(ws->dc, 0, n * sizeof(float));
        }
    }
    if (io->dh0 != NULL)
        add_into(io->dh0, ws->dh, n);
    if (io->dc0 != NULL && cfg->cell == SN_CELL_LSTM)
        add_into(io->dc0, ws->dc, n);
    weight_grads(cfg, w, io, ws);
    input_grads(cfg, w, io, ws);
}

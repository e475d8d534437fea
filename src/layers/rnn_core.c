/*
 * rnn_core.c - the time loop of one recurrent direction, forward and
 * backward through time, with the matrix products on the library's own
 * kernel (kernels/gemm.h):
 *
 *   forward   batch >= 8 ("fused"): per step
 *             gates = [x_t | h].[K; R] + b   one GEMM  [B,E+H] x [E+H,G*H]
 *             (GRU: for z, r; the candidate's x_t.K_h + b_h and
 *             h.R_h + b'_h as two more, since r multiplies only the
 *             second)
 *             otherwise: XW = x.K + b        one GEMM  [B*T,E] x [E,G*H]
 *             and per step Z = h.R           one GEMM  [B,H] x [H,G*H]
 *             gates, state: fused per row (rnn_cells.c)
 *   backward  per step: dh_prev += dZ.Rᵀ     one GEMM  [B,G*H] x [G*H,H]
 *             dK += xᵀ.dZ, dR += h_prevᵀ.dZ, dx += dZ.Kᵀ: one GEMM each
 *             over all steps (dx only when something upstream wants it)
 *
 * Masked steps (mask 0) carry the state unchanged, output the previous
 * output (or 0), and get no gradient; a step where every row is masked
 * is skipped.  Nothing here allocates: the caller carves the workspace.
 *
 * Threads: batch rows are independent sequences, so the time loop runs on
 * the model's thread pool (io->pool, at most SN_RNN_MAX_PARTS threads),
 * each over its own slice of rows.  All products here use the library's
 * own single-threaded kernel (kernels/gemm_kernel.c, one copy per
 * instruction-set path), the large ones split over the same pool: a
 * multi-threaded BLAS called beside our threads would fight them for the
 * cores (its idle workers spin), which measured slower on 2 cores.
 */
#include <math.h>
#include <string.h>

#include "rnn_cells.h"
#include "kernels/gemm.h"

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

/* Floats of the forward's packed weights, in pack_recurrent's layout. */
static size_t packed_forward_floats(const sn_rnn_cfg *cfg, bool fused)
{
    int H = cfg->units, E = cfg->in_dim, GH = sn_rnn_gates(cfg) * H;
    if (cfg->cell == SN_CELL_GRU && fused) /* [K_zr; R_zr], K_h, R_h */
        return sn_gemm_packed_floats(E + H, 2 * H) +
               sn_gemm_packed_floats(E, H) + sn_gemm_packed_floats(H, H);
    if (cfg->cell == SN_CELL_GRU && !cfg->reset_after) /* R_zr, R_h */
        return sn_gemm_packed_floats(H, 2 * H) + sn_gemm_packed_floats(H, H);
    return fused ? sn_gemm_packed_floats(E + H, GH)
                 : sn_gemm_packed_floats(H, GH);
}

static void lay_out(const sn_rnn_cfg *cfg, int B, int T, bool store,
                    carve *cv, sn_rnn_ws *ws)
{
    size_t G = (size_t)sn_rnn_gates(cfg), H = (size_t)cfg->units;
    size_t E = (size_t)cfg->in_dim, BT = (size_t)B * (size_t)T;
    size_t f = sizeof(float);
    /* per-step arrays hold every step when stored, else one step */
    size_t BS = store ? BT : (size_t)B;
    bool lstm = cfg->cell == SN_CELL_LSTM, gru = cfg->cell == SN_CELL_GRU;
    ws->store = store;
    ws->srows = store ? T : 1;
    /* each step's pre-activations come from fused products [x_t | h] .
     * [K; R] (a GRU's candidate from x_t.K_h and h.R_h apart), so no
     * [B*T, G*H] projection is written and read back; training still needs
     * that array for dZ.  Below a full row block of the kernel (batch 1:
     * latency) the weights streamed per step would cost more than the
     * projection saves: one big x.K is better. */
    ws->fused = B >= sn_gemm_row_block();
    ws->xw = ws->fused && !store ? NULL : take(cv, BT * G * H * f);
    ws->dzh = store && gru && cfg->reset_after ? take(cv, BT * G * H * f)
                                               : NULL;
    ws->gates = take(cv, BS * G * H * f);
    ws->hprev = store ? take(cv, BT * H * f) : NULL;
    ws->cprev = store && lstm ? take(cv, BT * H * f) : NULL;
    ws->tc = lstm ? take(cv, BS * H * f) : NULL;
    ws->aux = gru ? take(cv, BS * H * f) : NULL;
    ws->xd = take(cv, BT * E * f);
    ws->hm = store ? take(cv, BT * H * f) : NULL;
    ws->dxt = store ? take(cv, BT * E * f) : NULL;
    ws->h = take(cv, (size_t)B * H * f);
    ws->c = take(cv, (size_t)B * H * f);
    ws->hd = take(cv, (size_t)B * H * f);
    ws->out = take(cv, (size_t)B * H * f);
    ws->z = take(cv, (size_t)B * G * H * f);
    ws->dh = take(cv, (size_t)B * H * f);
    ws->dc = take(cv, (size_t)B * H * f);
    ws->tmp = take(cv, (size_t)B * H * f);
    bool gru_before = gru && !cfg->reset_after;
    int iH = (int)H, iGH = (int)(G * H), iE = (int)E;
    size_t rtp = gru_before ? sn_gemm_packed_floats(2 * iH, iH) +
                                  sn_gemm_packed_floats(iH, iH)
                            : sn_gemm_packed_floats(iGH, iH);
    ws->rp = take(cv, packed_forward_floats(cfg, ws->fused) * f);
    ws->bias_zr = gru ? take(cv, 2 * H * f) : NULL;
    ws->rtp = store ? take(cv, rtp * f) : NULL;
    ws->pack = take(cv, SN_RNN_MAX_PARTS * f *
                        sn_gemm_pack_buffer_floats(iGH > iE ? iGH : iE));
    ws->hnorm = take(cv, (size_t)T * SN_RNN_MAX_PARTS * f);
    ws->xnorm = take(cv, (size_t)T * f);
    ws->first_real = take(cv, (size_t)B * sizeof(int));
    ws->rows = take(cv, (size_t)B * sizeof(int));
    ws->real_bt = store ? take(cv, BT * sizeof(int)) : NULL;
}

size_t sn_rnn_ws_bytes(const sn_rnn_cfg *cfg, int batch, int steps,
                       bool store)
{
    carve cv = { NULL, 0 };
    sn_rnn_ws ws;
    lay_out(cfg, batch, steps, store, &cv, &ws);
    return cv.used;
}

void sn_rnn_ws_carve(const sn_rnn_cfg *cfg, int batch, int steps, bool store,
                     void *base, sn_rnn_ws *ws)
{
    carve cv = { base, 0 };
    lay_out(cfg, batch, steps, store, &cv, ws);
}

/* ------------------------------------------------------------ helpers */

/* Threads to use: the model's pool's, at most SN_RNN_MAX_PARTS. */
static int core_count(const sn_rnn_io *io)
{
    int n = sn_pool_threads(io->pool);
    return n > SN_RNN_MAX_PARTS ? SN_RNN_MAX_PARTS : n;
}

/* Row of (b, t) in the per-step arrays: every step, or just this one. */
static size_t srow(const sn_rnn_ws *ws, int b, int t)
{
    return ws->store ? (size_t)b * ws->srows + t : (size_t)b;
}

/* Time index of processing step s. */
static int time_of(const sn_rnn_cfg *cfg, int T, int s)
{
    return cfg->go_backwards ? T - 1 - s : s;
}

static bool real_step(const sn_rnn_io *io, int b, int t)
{
    return io->mask == NULL || io->mask[(size_t)b * io->steps + t] != 0;
}

/* The rows whose step t is real (not padding) into ws->rows; returns
 * how many.  The step products then skip the padded rows. */
static int real_rows(const sn_rnn_io *io, int t, sn_rnn_ws *ws)
{
    int n = 0;
    for (int b = 0; b < io->batch; b++)
        if (real_step(io, b, t))
            ws->rows[n++] = b;
    return n;
}

/* The row list for a product over n real rows: NULL when every row is
 * real (the plain, contiguous product). */
static const int *row_list(const sn_rnn_io *io, const sn_rnn_ws *ws, int n)
{
    return n == io->batch ? NULL : ws->rows;
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

/* x' = x * keep_in (input dropout) into xd, or x itself. */
static const float *dropped_input(const sn_rnn_cfg *cfg, const sn_rnn_io *io,
                                  sn_rnn_ws *ws)
{
    if (io->keep_in == NULL)
        return io->x;
    int E = cfg->in_dim;
    for (int b = 0; b < io->batch; b++)
        for (int t = 0; t < io->steps; t++) {
            size_t row = ((size_t)b * io->steps + t) * E;
            for (int e = 0; e < E; e++)
                ws->xd[row + e] = io->x[row + e] * io->keep_in[b * E + e];
        }
    return ws->xd;
}

/* XW = x' K + b over all steps, x' = x * keep_in (input dropout). */
static void project_inputs(const sn_rnn_cfg *cfg, const sn_rnn_weights *w,
                           const sn_rnn_io *io, sn_rnn_ws *ws)
{
    int BT = io->batch * io->steps, E = cfg->in_dim;
    int GH = sn_rnn_gates(cfg) * cfg->units;
    const float *x = dropped_input(cfg, io, ws);
    sn_gemm_args g = { false, false, BT, GH, E, x, E, w->kernel, GH,
                       ws->xw, GH, false, w->bias, NULL, NULL };
    sn_gemm_parallel(&g, io->pool, core_count(io), ws->pack);
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

/* Z = hd . R[:, cols]: the recurrent product of one step, on its real
 * rows (all when rows is NULL). */
static void recurrent_product(const sn_rnn_cfg *cfg, const sn_rnn_ws *ws,
                              int n_real, const int *rows,
                              const float *hd, int cols, float *z)
{
    int H = cfg->units, GH = sn_rnn_gates(cfg) * H;
    sn_gemm_nn_packed_rows(n_real, rows, cols, H, hd, H, ws->rp, z, GH);
}

/* Where a fused GRU's packed blocks start: [K_zr; R_zr], K_h, R_h. */
static const float *gru_packed_kh(const sn_rnn_cfg *cfg, const sn_rnn_ws *ws)
{
    int E = cfg->in_dim, H = cfg->units;
    return ws->rp + sn_gemm_packed_floats(E + H, 2 * H);
}

static const float *gru_packed_rh(const sn_rnn_cfg *cfg, const sn_rnn_ws *ws)
{
    if (!ws->fused) /* the reset_before layout: R_zr, R_h */
        return ws->rp + sn_gemm_packed_floats(cfg->units, 2 * cfg->units);
    return gru_packed_kh(cfg, ws) +
           sn_gemm_packed_floats(cfg->in_dim, cfg->units);
}

/* Fused step: gates = [x'_t | hd] . [K; R] + b, straight into the gate
 * rows (pre-activations; the cell activates them in place), on the real
 * rows only (all when rows is NULL).  A GRU's candidate keeps its input
 * and recurrent parts apart: x'_t.K_h + b_h into the candidate column
 * block, and with reset_after hd.R_h + b'_h into aux. */
static void fused_product(const sn_rnn_cfg *cfg, const sn_rnn_weights *w,
                          const sn_rnn_io *io, const sn_rnn_ws *ws,
                          const float *hd, int t, int n_real,
                          const int *rows)
{
    int E = cfg->in_dim, H = cfg->units, GH = sn_rnn_gates(cfg) * H;
    const float *xt = (io->keep_in != NULL ? ws->xd : io->x) + (size_t)t * E;
    int ldx = io->steps * E, ldg = ws->srows * GH;
    float *g = ws->gates + srow(ws, 0, t) * GH;
    bool gru = cfg->cell == SN_CELL_GRU;
    sn_gemm_split zr = { n_real, gru ? 2 * H : GH, xt, ldx, E, hd, H, H,
                         ws->rp, gru ? ws->bias_zr : w->bias, g, ldg, rows };
    sn_gemm_split_packed(&zr);
    if (!gru)
        return;
    sn_gemm_split xh = { n_real, H, xt, ldx, E, NULL, 0, 0,
                         gru_packed_kh(cfg, ws),
                         w->bias != NULL ? w->bias + 2 * H : NULL, g + 2 * H,
                         ldg, rows };
    sn_gemm_split_packed(&xh);
    if (!cfg->reset_after)
        return;
    sn_gemm_split hh = { n_real, H, hd, H, H, NULL, 0, 0,
                         gru_packed_rh(cfg, ws),
                         w->bias_rec != NULL ? w->bias_rec + 2 * H : NULL,
                         ws->aux + srow(ws, 0, t) * H, ws->srows * H, rows };
    sn_gemm_split_packed(&hh);
}

/* Packs R (forward) once per pass; a GRU with reset_before keeps its
 * z, r columns and its candidate columns as two packed blocks. */
static void pack_recurrent(const sn_rnn_cfg *cfg, const sn_rnn_weights *w,
                           sn_rnn_ws *ws)
{
    int H = cfg->units, E = cfg->in_dim, GH = sn_rnn_gates(cfg) * H;
    if (cfg->cell == SN_CELL_GRU && ws->fused) {
        sn_gemm_pack_b_stacked(E, w->kernel, H, w->recurrent, 2 * H, GH,
                               ws->rp);
        sn_gemm_pack_b(E, H, w->kernel + 2 * H, GH, false,
                       (float *)gru_packed_kh(cfg, ws));
        sn_gemm_pack_b(H, H, w->recurrent + 2 * H, GH, false,
                       (float *)gru_packed_rh(cfg, ws));
        /* z and r see both biases at once (b + b' with reset_after) */
        for (int k = 0; k < 2 * H; k++)
            ws->bias_zr[k] = (w->bias != NULL ? w->bias[k] : 0.0f) +
                             (w->bias_rec != NULL ? w->bias_rec[k] : 0.0f);
    } else if (cfg->cell == SN_CELL_GRU && !cfg->reset_after) {
        sn_gemm_pack_b(H, 2 * H, w->recurrent, GH, false, ws->rp);
        sn_gemm_pack_b(H, H, w->recurrent + 2 * H, GH, false,
                       ws->rp + sn_gemm_packed_floats(H, 2 * H));
    } else if (ws->fused) {
        sn_gemm_pack_b_stacked(cfg->in_dim, w->kernel, H, w->recurrent, GH,
                               GH, ws->rp);
    } else {
        sn_gemm_pack_b(H, GH, w->recurrent, GH, false, ws->rp);
    }
}

/* Packs Rᵀ (backward), split the same way. */
static void pack_recurrent_t(const sn_rnn_cfg *cfg, const sn_rnn_weights *w,
                             sn_rnn_ws *ws)
{
    int H = cfg->units, GH = sn_rnn_gates(cfg) * H;
    if (cfg->cell == SN_CELL_GRU && !cfg->reset_after) {
        sn_gemm_pack_b(2 * H, H, w->recurrent, GH, true, ws->rtp);
        sn_gemm_pack_b(H, H, w->recurrent + 2 * H, GH, true,
                       ws->rtp + sn_gemm_packed_floats(2 * H, H));
    } else {
        sn_gemm_pack_b(GH, H, w->recurrent, GH, true, ws->rtp);
    }
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
        size_t row = (size_t)b * io->steps + t, sr = srow(ws, b, t);
        float *g = ws->gates + sr * GH;
        const float *xw = ws->fused ? NULL : ws->xw + row * GH;
        const float *zr = ws->z + (size_t)b * GH;
        bool real = real_step(io, b, t);
        if (ws->hprev != NULL)
            memcpy(ws->hprev + row * H, ws->h + (size_t)b * H,
                   H * sizeof(float));
        if (!real) {
            memset(g, 0, (size_t)GH * sizeof *g);
            continue;
        }
        int n_rec = gru_before ? 2 * H : GH;
        if (!ws->fused) { /* fused: g already holds the pre-activations */
            for (int k = 0; k < n_rec; k++)
                g[k] = xw[k] + zr[k];
            if (w->bias_rec != NULL) /* GRU reset_after: z, r recurrent bias */
                for (int k = 0; k < 2 * H; k++)
                    g[k] += w->bias_rec[k];
        }
        if (cfg->cell == SN_CELL_SIMPLE) {
            sn_simple_forward_row(cfg, g, ws->h + (size_t)b * H);
        } else if (cfg->cell == SN_CELL_LSTM) {
            if (ws->cprev != NULL)
                memcpy(ws->cprev + row * H, ws->c + (size_t)b * H,
                       H * sizeof(float));
            sn_lstm_forward_row(cfg, g, ws->h + (size_t)b * H,
                                ws->c + (size_t)b * H, ws->tc + sr * H);
        } else {
            sn_gru_gates_row(cfg, g);
            if (cfg->reset_after) {
                float *aux = ws->aux + sr * H; /* fused: already h.R_h + b' */
                if (!ws->fused)
                    for (int k = 0; k < H; k++)
                        aux[k] = zr[2 * H + k] + (w->bias_rec != NULL
                                                      ? w->bias_rec[2 * H + k]
                                                      : 0);
                sn_gru_forward_row(cfg, g, ws->fused ? g + 2 * H : xw + 2 * H,
                                   aux, ws->h + (size_t)b * H);
            }
        }
    }
}

/* GRU reset_before: the candidate needs (r * hd) . R_h, a second product
 * that can only start once every row's r is known.  aux keeps r * hd, the
 * input of R_h, for the weight gradient. */
static void gru_before_candidate(const sn_rnn_cfg *cfg, sn_rnn_io *io,
                                 sn_rnn_ws *ws, int t, const float *hd)
{
    int B = io->batch, H = cfg->units, GH = 3 * H;
    for (int b = 0; b < B; b++) {
        size_t sr = srow(ws, b, t);
        const float *r = ws->gates + sr * GH + H;
        float *aux = ws->aux + sr * H;
        for (int k = 0; k < H; k++)
            aux[k] = r[k] * hd[(size_t)b * H + k];
    }
    float *cand = ws->z; /* reuse: [B, H] rows with stride GH */
    sn_gemm_nn_packed(B, H, H, ws->aux + srow(ws, 0, t) * H, ws->srows * H,
                      gru_packed_rh(cfg, ws), cand, GH, false);
    for (int b = 0; b < B; b++) {
        size_t row = (size_t)b * io->steps + t;
        if (!real_step(io, b, t))
            continue;
        float *g = ws->gates + srow(ws, b, t) * GH;
        /* the input part of the candidate: fused, in g itself */
        const float *xw_h = ws->fused ? g + 2 * H : ws->xw + row * GH + 2 * H;
        sn_gru_forward_row(cfg, g, xw_h, cand + (size_t)b * GH,
                           ws->h + (size_t)b * H);
    }
}

/* ------------------------------------------------------------ threads */

typedef void (*part_fn)(const sn_rnn_cfg *cfg, const sn_rnn_weights *w,
                        sn_rnn_io *io, sn_rnn_ws *ws);

/* The rows [b0, b1) of io and ws, as a batch of their own. */
static void slice(const sn_rnn_cfg *cfg, const sn_rnn_io *io,
                  const sn_rnn_ws *ws, int b0, int b1, int part,
                  sn_rnn_io *sio, sn_rnn_ws *sws)
{
    size_t T = (size_t)io->steps, H = (size_t)cfg->units;
    size_t E = (size_t)cfg->in_dim, GH = (size_t)sn_rnn_gates(cfg) * H;
    size_t b = (size_t)b0, S = (size_t)ws->srows;
    size_t y_row = cfg->return_sequences ? T * H : H;
    *sio = *io;
    sio->batch = b1 - b0;
    sio->x = io->x + b * T * E;
    if (io->mask) sio->mask = io->mask + b * T;
    if (io->h0) sio->h0 = io->h0 + b * H;
    if (io->c0) sio->c0 = io->c0 + b * H;
    if (io->keep_rec) sio->keep_rec = io->keep_rec + b * H;
    if (io->keep_in) sio->keep_in = io->keep_in + b * E;
    sio->y = io->y + b * y_row;
    if (io->dy) sio->dy = io->dy + b * y_row;
    *sws = *ws;
    if (ws->xw) sws->xw = ws->xw + b * T * GH;
    sws->xd = ws->xd + b * T * E;
    if (ws->dzh) sws->dzh = ws->dzh + b * T * GH;
    sws->gates = ws->gates + b * S * GH;
    if (ws->hprev) sws->hprev = ws->hprev + b * T * H;
    if (ws->cprev) sws->cprev = ws->cprev + b * T * H;
    if (ws->tc) sws->tc = ws->tc + b * S * H;
    if (ws->aux) sws->aux = ws->aux + b * S * H;
    sws->h = ws->h + b * H;
    sws->c = ws->c + b * H;
    sws->hd = ws->hd + b * H;
    sws->out = ws->out + b * H;
    sws->z = ws->z + b * GH;
    sws->dh = ws->dh + b * H;
    sws->dc = ws->dc + b * H;
    sws->tmp = ws->tmp + b * H;
    sws->hnorm = ws->hnorm + (size_t)part * T;
    sws->first_real = ws->first_real + b;
    sws->rows = ws->rows + b;
}

typedef struct part_job {
    part_fn fn;
    const sn_rnn_cfg *cfg;
    const sn_rnn_weights *w;
    sn_rnn_io io;
    sn_rnn_ws ws;
} part_job;

static void run_job(void *ctx, int i)
{
    part_job *j = (part_job *)ctx + i;
    j->fn(j->cfg, j->w, &j->io, &j->ws);
}

/* How many slices: one per thread (at most SN_RNN_MAX_PARTS), each at
 * least a register block of the kernel so the step products stay
 * efficient. */
static int count_parts(const sn_rnn_io *io)
{
    int parts = core_count(io), block = sn_gemm_row_block();
    while (parts > 1 && io->batch / parts < block)
        parts--;
    return parts;
}

/* Runs fn over slices of the batch on the model's thread pool; returns
 * the slice count. */
static int run_parts(part_fn fn, const sn_rnn_cfg *cfg,
                     const sn_rnn_weights *w, const sn_rnn_io *io,
                     const sn_rnn_ws *ws)
{
    int parts = count_parts(io), block = sn_gemm_row_block();
    part_job jobs[SN_RNN_MAX_PARTS];
    int rows = (io->batch + parts - 1) / parts;
    rows = (rows + block - 1) / block * block; /* whole register blocks */
    int used = 0;
    for (int p = 0; p < parts && p * rows < io->batch; p++) {
        int b0 = p * rows;
        int b1 = b0 + rows < io->batch ? b0 + rows : io->batch;
        jobs[p] = (part_job){ fn, cfg, w, { 0 }, { 0 } };
        slice(cfg, io, ws, b0, b1, p, &jobs[p].io, &jobs[p].ws);
        used = p + 1;
    }
    sn_pool_run(io->pool, used, run_job, jobs);
    return used;
}

/* ------------------------------------------------------------ forward */

/* The time loop over one slice of rows. */
static void forward_part(const sn_rnn_cfg *cfg, const sn_rnn_weights *w,
                         sn_rnn_io *io, sn_rnn_ws *ws)
{
    int B = io->batch, T = io->steps, H = cfg->units;
    int GH = sn_rnn_gates(cfg) * H;
    bool gru_before = cfg->cell == SN_CELL_GRU && !cfg->reset_after;
    for (int s = 0; s < T; s++) {
        int t = time_of(cfg, T, s);
        int n_real = real_rows(io, t, ws);
        if (n_real == 0) {
            /* nothing moves: record states for backward, repeat outputs */
            for (int b = 0; b < B; b++) {
                size_t row = (size_t)b * T + t;
                if (ws->hprev != NULL)
                    memcpy(ws->hprev + row * H, ws->h + (size_t)b * H,
                           (size_t)H * sizeof(float));
                memset(ws->gates + srow(ws, b, t) * GH, 0,
                       (size_t)GH * sizeof(float));
                emit_output(cfg, io, ws, b, t, false);
            }
            continue;
        }
        const float *hd = dropped_state(cfg, io, ws);
        const int *rows = row_list(io, ws, n_real);
        if (ws->fused)
            fused_product(cfg, w, io, ws, hd, t, n_real, rows);
        else
            recurrent_product(cfg, ws, n_real, rows, hd,
                              gru_before ? 2 * H : GH, ws->z);
        step_rows(cfg, w, io, ws, t);
        if (gru_before)
            gru_before_candidate(cfg, io, ws, t, hd);
        /* without a mask and without sequences the output is just the
         * final state: nothing to record per step */
        if (cfg->return_sequences || io->mask != NULL)
            for (int b = 0; b < B; b++)
                emit_output(cfg, io, ws, b, t, real_step(io, b, t));
    }
    size_t n = (size_t)B * H * sizeof(float);
    if (!cfg->return_sequences)
        memcpy(io->y, io->mask != NULL ? ws->out : ws->h, n);
}

void sn_rnn_forward(const sn_rnn_cfg *cfg, const sn_rnn_weights *w,
                    sn_rnn_io *io, sn_rnn_ws *ws)
{
    if (ws->fused)
        dropped_input(cfg, io, ws);
    else
        project_inputs(cfg, w, io, ws);
    init_state(cfg, io, ws);
    pack_recurrent(cfg, w, ws);
    run_parts(forward_part, cfg, w, io, ws);
    size_t n = (size_t)io->batch * cfg->units * sizeof(float);
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
static void gru_before_back(const sn_rnn_cfg *cfg, sn_rnn_io *io,
                            sn_rnn_ws *ws, int t, float *drh)
{
    int B = io->batch, H = cfg->units, GH = 3 * H, T = io->steps;
    sn_gemm_nn_packed(B, H, H, ws->xw + (size_t)t * GH + 2 * H, T * GH,
                      ws->rtp + sn_gemm_packed_floats(2 * H, H), drh, H,
                      false);
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

/* dh_prev = direct part + (dZh . Rᵀ) * keep_rec (+ GRU-before term), on
 * the n_real rows that are real at step t (padded rows keep dh). */
static void recurrent_back(const sn_rnn_cfg *cfg, sn_rnn_io *io,
                           sn_rnn_ws *ws, int t, int n_real,
                           const float *extra)
{
    int B = io->batch, H = cfg->units, GH = sn_rnn_gates(cfg) * H;
    int T = io->steps;
    bool gru_before = cfg->cell == SN_CELL_GRU && !cfg->reset_after;
    const float *dz = (ws->dzh != NULL ? ws->dzh : ws->xw) + (size_t)t * GH;
    int k_cols = gru_before ? 2 * H : GH;
    sn_gemm_nn_packed_rows(n_real, row_list(io, ws, n_real), H, k_cols, dz,
                           T * GH, ws->rtp, ws->tmp, H);
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

/* The rows b*T + t of the real steps into ws->real_bt; returns how many
 * (B*T without a mask).  Padded steps' dZ rows are 0, so the products
 * over all steps may skip them and stay exact. */
static int real_steps(const sn_rnn_io *io, sn_rnn_ws *ws)
{
    int BT = io->batch * io->steps, n = 0;
    if (io->mask == NULL)
        return BT;
    for (int r = 0; r < BT; r++)
        if (io->mask[r])
            ws->real_bt[n++] = r;
    return n;
}

/* dK, dR (and the biases) summed over the n_real steps in list (NULL:
 * every step). */
static void weight_grads(const sn_rnn_cfg *cfg, const sn_rnn_weights *w,
                         sn_rnn_io *io, sn_rnn_ws *ws, int n_real,
                         const int *list)
{
    int B = io->batch, T = io->steps, H = cfg->units;
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
    int parts = core_count(io);
    bool before = cfg->cell == SN_CELL_GRU && !cfg->reset_after;
    if (w->d_kernel != NULL && w->d_recurrent != NULL && !before &&
        dzh == ws->xw) {
        /* dK += xᵀ.dZ and dR += hᵀ.dZ share dZ: pack it once; the sum
         * runs over the real steps only */
        sn_gemm_pair g = { n_real, GH, dzh, GH, x, E, E, w->d_kernel, hm, H,
                           H, w->d_recurrent, GH, list };
        sn_gemm_tn_pair(&g, io->pool, parts, ws->pack);
    } else {
        if (w->d_kernel != NULL) {
            sn_gemm_args g = { true, false, E, GH, n_real, x, E, ws->xw, GH,
                               w->d_kernel, GH, true, NULL, NULL, list };
            sn_gemm_parallel(&g, io->pool, parts, ws->pack);
        }
        if (w->d_recurrent != NULL) {
            sn_gemm_args g = { true, false, H, before ? 2 * H : GH, n_real,
                               hm, H, dzh, GH, w->d_recurrent, GH, true,
                               NULL, NULL, list };
            sn_gemm_parallel(&g, io->pool, parts, ws->pack);
            if (before) { /* aux holds r * hd: the input of R_h */
                sn_gemm_args gh = { true, false, H, H, n_real, ws->aux, H,
                                    dzh + 2 * H, GH, w->d_recurrent + 2 * H,
                                    GH, true, NULL, NULL, list };
                sn_gemm_parallel(&gh, io->pool, parts, ws->pack);
            }
        }
    }
    for (int i = 0; i < n_real; i++) {
        size_t r = (size_t)(list != NULL ? list[i] : i);
        if (w->d_bias != NULL)
            add_into(w->d_bias, ws->xw + r * GH, (size_t)GH);
        if (w->d_bias_rec != NULL)
            add_into(w->d_bias_rec, dzh + r * GH, (size_t)GH);
    }
}

/* dx = dZ.Kᵀ on the n_real steps in list (NULL: every step); the others
 * (padding) get dx = 0. */
static void input_grads(const sn_rnn_cfg *cfg, const sn_rnn_weights *w,
                        sn_rnn_io *io, sn_rnn_ws *ws, int n_real,
                        const int *list)
{
    int B = io->batch, T = io->steps, BT = B * T, E = cfg->in_dim;
    int GH = sn_rnn_gates(cfg) * cfg->units;
    if (n_real < BT)
        for (int r = 0; r < BT; r++)
            if (!io->mask[r])
                memset(ws->dxt + (size_t)r * E, 0, (size_t)E * sizeof(float));
    sn_gemm_args g = { false, true, n_real, E, GH, ws->xw, GH, w->kernel,
                       GH, ws->dxt, E, false, NULL, list, NULL }; /* dZ.Kᵀ */
    sn_gemm_parallel(&g, io->pool, core_count(io), ws->pack);
    if (io->keep_in != NULL)
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++)
                for (int e = 0; e < E; e++)
                    ws->dxt[((size_t)b * T + t) * E + e] *=
                        io->keep_in[(size_t)b * E + e];
    for (int t = 0; t < T; t++)
        ws->xnorm[t] = norm2(ws->dxt + (size_t)t * E, (size_t)B,
                             (size_t)T * E, (size_t)E);
    add_into(io->dx, ws->dxt, (size_t)BT * E);
}

/* The time loop of backward over one slice of rows; records the squared
 * norm of dL/dh_t per step in this slice's part of hnorm. */
static void backward_part(const sn_rnn_cfg *cfg, const sn_rnn_weights *w,
                          sn_rnn_io *io, sn_rnn_ws *ws)
{
    int B = io->batch, T = io->steps, H = cfg->units;
    size_t n = (size_t)B * H;
    bool gru_before = cfg->cell == SN_CELL_GRU && !cfg->reset_after;
    float *drh = ws->hd; /* free in backward: [B, H] */
    (void)w;
    for (int s = T - 1; s >= 0; s--) {
        int t = time_of(cfg, T, s);
        add_output_grad(cfg, io, ws, s, t);
        float nrm = norm2(ws->dh, n, 1, 1);
        ws->hnorm[t] = nrm * nrm;
        step_back_rows(cfg, io, ws, t);
        if (gru_before)
            gru_before_back(cfg, io, ws, t, drh);
        int n_real = real_rows(io, t, ws);
        if (n_real > 0)
            recurrent_back(cfg, io, ws, t, n_real, gru_before ? drh : NULL);
        if (chunk_starts(cfg, T, s)) {
            memset(ws->dh, 0, n * sizeof(float));
            memset(ws->dc, 0, n * sizeof(float));
        }
    }
}

void sn_rnn_backward(const sn_rnn_cfg *cfg, const sn_rnn_weights *w,
                     sn_rnn_io *io, sn_rnn_ws *ws)
{
    int B = io->batch, T = io->steps, H = cfg->units;
    size_t n = (size_t)B * H;
    if (io->dh_last != NULL)
        memcpy(ws->dh, io->dh_last, n * sizeof(float));
    else
        memset(ws->dh, 0, n * sizeof(float));
    if (io->dc_last != NULL)
        memcpy(ws->dc, io->dc_last, n * sizeof(float));
    else
        memset(ws->dc, 0, n * sizeof(float));
    pack_recurrent_t(cfg, w, ws);
    int parts = run_parts(backward_part, cfg, w, io, ws);
    for (int t = 0; t < T; t++) {
        double sq = 0.0;
        for (int p = 0; p < parts; p++)
            sq += ws->hnorm[(size_t)p * T + t];
        ws->hnorm[t] = (float)sqrt(sq);
    }
    if (io->dh0 != NULL)
        add_into(io->dh0, ws->dh, n);
    if (io->dc0 != NULL && cfg->cell == SN_CELL_LSTM)
        add_into(io->dc0, ws->dc, n);
    int n_real = real_steps(io, ws);
    const int *list = n_real == B * T ? NULL : ws->real_bt;
    weight_grads(cfg, w, io, ws, n_real, list);
    if (io->dx != NULL) /* else nothing upstream wants dx: skip dZ.Kᵀ */
        input_grads(cfg, w, io, ws, n_real, list);
}

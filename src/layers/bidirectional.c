/*
 * bidirectional.c - Keras Bidirectional(layer, merge_mode): the wrapped
 * SimpleRNN/LSTM/GRU runs forward over the sequence and a copy with its
 * own weights runs backward; with return_sequences the backward outputs
 * are aligned with input time, and masked steps output zeros in both
 * halves (Keras sets zero_output_for_mask).  With a mask, the backward
 * direction skips the padding and so starts at each row's last real token.
 * Stateful (as Keras): each direction carries its own final state into
 * the next call, the backward one the state it ended with at step 0.
 *
 * merge:  concat [yf, yb]   sum yf + yb   mul yf * yb   ave (yf + yb) / 2
 * back:   split             dyf = dyb = dy   dyf = dy*yb, dyb = dy*yf   dy/2
 */
#include <stdio.h>
#include <string.h>

#include "rnn_layer.h"

typedef struct bidi_priv {
    sn_layer *cell;        /* the wrapped layer: its options only          */
    sn_merge_mode mode;
} bidi_priv;

bool sn_rnn_is_bidirectional(const sn_layer *l)
{
    return l->ops == &sn_bidirectional_ops;
}

const sn_layer *sn_rnn_cell_layer(const sn_layer *l)
{
    if (sn_rnn_is_recurrent(l))
        return l;
    if (sn_rnn_is_bidirectional(l))
        return ((const bidi_priv *)l->priv)->cell;
    return NULL;
}

static const sn_rnn_layer *cell_of(const sn_layer *l)
{
    return ((const bidi_priv *)l->priv)->cell->priv;
}

static int bidi_infer(sn_layer *l, const sn_shape *in, int n_in,
                      sn_shape *out, int max_out)
{
    const bidi_priv *b = l->priv;
    const sn_rnn_layer *p = cell_of(l);
    int n_states = sn_rnn_n_states(p);
    sn_status st = sn_rnn_check_inputs(l, p, in, n_in, 2 * n_states);
    if (st != SN_OK)
        return st;
    (void)max_out;
    int width = b->mode == SN_MERGE_CONCAT ? 2 * p->units : p->units;
    sn_shape y = p->opts.return_sequences
                     ? sn_shape_2(SN_FLOAT32, in[0].dim[0], width)
                     : sn_shape_1(SN_FLOAT32, width);
    int n = 0;
    out[n++] = y;
    if (b->mode == SN_MERGE_NONE)
        out[n++] = y;
    for (int k = 0; p->opts.return_state && k < 2 * n_states; k++)
        out[n++] = sn_shape_1(SN_FLOAT32, p->units);
    return n;
}

static sn_status bidi_build(sn_layer *l, sn_build *b, const sn_shape *in,
                            int n_in)
{
    (void)n_in;
    const sn_rnn_layer *p = cell_of(l);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "forward_%s/", sn_rnn_cell_name(p->cell));
    sn_status st = sn_rnn_build_weights(p, b, in[0].dim[1], prefix);
    if (st != SN_OK)
        return st;
    snprintf(prefix, sizeof prefix, "backward_%s/", sn_rnn_cell_name(p->cell));
    return sn_rnn_build_weights(p, b, in[0].dim[1], prefix);
}

/* Weight index of direction d's kernel within the layer. */
static int dir_weight(const sn_rnn_layer *p, int d)
{
    return d * (p->opts.use_bias ? 3 : 2);
}

/* Per-direction output buffers live in the node scratch after the engine
 * workspaces: y_f, y_b, dy_f, dy_b, each as large as one output half. */
static size_t half_floats(const sn_rnn_layer *p, int batch, int steps)
{
    size_t n = (size_t)batch * (size_t)p->units;
    return p->opts.return_sequences ? n * (size_t)steps : n;
}

static void make_io(const sn_call *c, const sn_rnn_layer *p,
                    const sn_rnn_scratch *s, int d, float *y, sn_rnn_io *io)
{
    int n_states = sn_rnn_n_states(p);
    int first_out = ((const bidi_priv *)c->layer->priv)->mode == SN_MERGE_NONE
                        ? 2 : 1;
    memset(io, 0, sizeof *io);
    io->pool = sn_call_pool(c);
    io->batch = s->batch;
    io->steps = s->steps;
    io->x = c->in[0]->data;
    io->mask = c->in[0]->mask;
    if (c->n_in > 1) {
        io->h0 = c->in[1 + d * n_states]->data;
        io->c0 = n_states > 1 ? c->in[2 + d * n_states]->data : NULL;
    } else {
        sn_rnn_carried_state(p, s->batch, d, &io->h0, &io->c0);
    }
    io->keep_in = sn_rnn_keep_in(s, d);
    io->keep_rec = sn_rnn_keep_rec(s, d);
    io->y = y;
    if (p->opts.return_state) {
        io->h_last = c->out[first_out + d * n_states]->data;
        io->c_last = n_states > 1 ? c->out[first_out + d * n_states + 1]->data
                                  : NULL;
    }
}

static void merge(sn_merge_mode mode, const float *yf, const float *yb,
                  size_t rows, size_t h, float *out, float *out2)
{
    for (size_t r = 0; r < rows; r++) {
        const float *f = yf + r * h, *b = yb + r * h;
        if (mode == SN_MERGE_CONCAT) {
            memcpy(out + r * 2 * h, f, h * sizeof *f);
            memcpy(out + r * 2 * h + h, b, h * sizeof *b);
            continue;
        }
        float *o = out + r * h;
        for (size_t k = 0; k < h; k++) {
            switch (mode) {
            case SN_MERGE_SUM: o[k] = f[k] + b[k]; break;
            case SN_MERGE_MUL: o[k] = f[k] * b[k]; break;
            case SN_MERGE_AVE: o[k] = 0.5f * (f[k] + b[k]); break;
            default: o[k] = f[k]; out2[r * h + k] = b[k]; break;
            }
        }
    }
}

static sn_status bidi_forward(sn_call *c)
{
    const bidi_priv *bp = c->layer->priv;
    sn_rnn_layer *p = bp->cell->priv;
    const sn_shape *xs = &c->in[0]->shape;
    int T = xs->dim[0];
    sn_status st = sn_rnn_stateful_begin(c->layer, p, c->batch);
    if (st != SN_OK)
        return st;
    bool zero = p->opts.return_sequences;
    sn_rnn_cfg cfg[2] = { sn_rnn_make_cfg(p, xs->dim[1], false, zero),
                          sn_rnn_make_cfg(p, xs->dim[1], true, zero) };
    size_t half = half_floats(p, c->batch, T);
    sn_rnn_ws ws[2];
    sn_rnn_scratch *s = sn_rnn_scratch_prepare(c, p, cfg, 2, c->batch, T,
                                               4 * half * sizeof(float), ws);
    if (s == NULL)
        return SN_ERR_NOMEM;
    float *y[2] = { sn_rnn_scratch_extra(s), NULL };
    y[1] = y[0] + half;
    for (int d = 0; d < 2; d++) {
        sn_rnn_io io;
        make_io(c, p, s, d, y[d], &io);
        sn_rnn_weights w;
        sn_rnn_weights_at(c, dir_weight(p, d), &cfg[d], &w);
        sn_rnn_forward(&cfg[d], &w, &io, &ws[d]);
    }
    size_t rows = half / (size_t)p->units;
    merge(bp->mode, y[0], y[1], rows, (size_t)p->units, c->out[0]->data,
          bp->mode == SN_MERGE_NONE ? c->out[1]->data : NULL);
    if (p->opts.return_sequences) {
        c->out[0]->mask = c->in[0]->mask;
        if (bp->mode == SN_MERGE_NONE)
            c->out[1]->mask = c->in[0]->mask;
    }
    if (p->opts.stateful) {
        bool lstm = p->cell == SN_CELL_LSTM;
        const float *h[2] = { ws[0].h, ws[1].h };
        const float *cs[2] = { lstm ? ws[0].c : NULL, lstm ? ws[1].c : NULL };
        return sn_rnn_stateful_end(p, &bp->cell->mem, c->batch, 2, h, cs);
    }
    return SN_OK;
}

/* Splits dL/d(merged) into the two halves' output gradients. */
static void unmerge(sn_merge_mode mode, const float *dy, const float *dy2,
                    const float *yf, const float *yb, size_t rows, size_t h,
                    float *dyf, float *dyb)
{
    for (size_t r = 0; r < rows; r++) {
        float *df = dyf + r * h, *db = dyb + r * h;
        if (mode == SN_MERGE_CONCAT) {
            memcpy(df, dy + r * 2 * h, h * sizeof *df);
            memcpy(db, dy + r * 2 * h + h, h * sizeof *db);
            continue;
        }
        const float *g = dy + r * h;
        for (size_t k = 0; k < h; k++) {
            switch (mode) {
            case SN_MERGE_SUM: df[k] = g[k]; db[k] = g[k]; break;
            case SN_MERGE_MUL:
                df[k] = g[k] * yb[r * h + k];
                db[k] = g[k] * yf[r * h + k];
                break;
            case SN_MERGE_AVE: df[k] = db[k] = 0.5f * g[k]; break;
            default: df[k] = g[k]; db[k] = dy2[r * h + k]; break;
            }
        }
    }
}

static sn_status bidi_backward(sn_call *c)
{
    const bidi_priv *bp = c->layer->priv;
    const sn_rnn_layer *p = cell_of(c->layer);
    sn_rnn_scratch *s = sn_call_scratch(c, sizeof *s);
    if (s == NULL)
        return SN_ERR_NOMEM;
    size_t half = half_floats(p, s->batch, s->steps);
    float *y[2] = { sn_rnn_scratch_extra(s), NULL };
    y[1] = y[0] + half;
    float *dy[2] = { y[1] + half, y[1] + 2 * half };
    unmerge(bp->mode, c->out[0]->grad,
            bp->mode == SN_MERGE_NONE ? c->out[1]->grad : NULL, y[0], y[1],
            half / (size_t)p->units, (size_t)p->units, dy[0], dy[1]);
    int n_states = sn_rnn_n_states(p);
    int first_out = bp->mode == SN_MERGE_NONE ? 2 : 1;
    for (int d = 0; d < 2; d++) {
        sn_rnn_ws ws;
        sn_rnn_scratch_ws(s, d, &ws);
        sn_rnn_io io;
        make_io(c, p, s, d, y[d], &io);
        io.dy = dy[d];
        if (p->opts.return_state) {
            io.dh_last = c->out[first_out + d * n_states]->grad;
            io.dc_last = n_states > 1
                             ? c->out[first_out + d * n_states + 1]->grad
                             : NULL;
        }
        io.dx = c->in[0]->grad;
        if (c->n_in > 1) {
            io.dh0 = c->in[1 + d * n_states]->grad;
            io.dc0 = n_states > 1 ? c->in[2 + d * n_states]->grad : NULL;
        }
        sn_rnn_weights w;
        sn_rnn_weights_at(c, dir_weight(p, d), &s->cfg[d], &w);
        sn_rnn_backward(&s->cfg[d], &w, &io, &ws);
    }
    s->backward_done = true;
    s->input_norms = c->in[0]->grad != NULL;
    return SN_OK;
}

static void bidi_destroy(sn_layer *l)
{
    bidi_priv *b = l->priv;
    sn_layer_free(b->cell);
}

static void bidi_save_config(const sn_layer *l, sn_writer *w)
{
    const bidi_priv *b = l->priv;
    sn_write_i32(w, (int32_t)b->mode);
    sn_rnn_save_opts(b->cell->priv, w);
}

static sn_layer *bidi_load_config(sn_reader *r)
{
    int mode = sn_read_int(r, SN_MERGE_CONCAT, SN_MERGE_NONE, "merge_mode");
    if (r->status != SN_OK)
        return NULL;
    sn_layer *cell = sn_rnn_load_opts(r, sn_rnn_cell_ops);
    if (cell == NULL)
        return NULL;
    return sn_bidirectional(cell, (sn_merge_mode)mode);
}

/* As its cell: a stateful one carries one state per direction. */
static const char *bidi_unshareable(const sn_layer *l)
{
    const sn_layer *cell = sn_rnn_cell_layer(l);
    return cell->ops->unshareable(cell);
}

const sn_layer_ops sn_bidirectional_ops = {
    .type = "Bidirectional",
    .base_name = "bidirectional",
    .min_inputs = 1,
    .max_inputs = 5,
    .infer = bidi_infer,
    .build = bidi_build,
    .forward = bidi_forward,
    .backward = bidi_backward,
    .destroy = bidi_destroy,
    .unshareable = bidi_unshareable,
    .save_config = bidi_save_config,
    .load_config = bidi_load_config,
};

SN_API sn_layer_t *sn_bidirectional(sn_layer_t *layer, sn_merge_mode mode)
{
    if (layer == NULL) {
        sn_status cause = sn_last_status();
        sn_fail(cause != SN_OK ? cause : SN_ERR_INVALID_ARG,
                "sn_bidirectional: layer is NULL (did its constructor fail? "
                "it said: %.300s)", sn_last_error());
        return NULL;
    }
    const char *why = NULL;
    if (layer->owner != NULL)
        why = "is already applied to a model";
    else if (!sn_rnn_is_recurrent(layer))
        why = "is not a SimpleRNN, LSTM or GRU";
    else if (mode < SN_MERGE_CONCAT || mode > SN_MERGE_NONE)
        why = "was given an unknown merge mode";
    if (why != NULL) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_bidirectional: layer '%s' (%s) %s",
                sn_layer_label(layer), layer->ops->type, why);
        if (layer->owner == NULL)
            sn_layer_free(layer);
        return NULL;
    }
    sn_layer *l = sn_layer_create(&sn_bidirectional_ops, sizeof(bidi_priv));
    if (l == NULL) {
        sn_layer_free(layer);
        return NULL;
    }
    bidi_priv *b = l->priv;
    b->cell = layer;
    b->mode = mode;
    return l;
}

/*
 * rnn_common.c - configuration, weights, scratch layout, dropout masks
 * and stateful carry shared by the recurrent layers and Bidirectional.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rnn_layer.h"

const char *sn_rnn_cell_name(sn_cell_kind cell)
{
    switch (cell) {
    case SN_CELL_SIMPLE: return "simple_rnn";
    case SN_CELL_LSTM: return "lstm";
    default: return "gru";
    }
}

const char *sn_rnn_cell_type(sn_cell_kind cell)
{
    switch (cell) {
    case SN_CELL_SIMPLE: return "SimpleRNN";
    case SN_CELL_LSTM: return "LSTM";
    default: return "GRU";
    }
}

/* ------------------------------------------------------------ creation */

static bool rate_ok(float r)
{
    return r >= 0.0f && r < 1.0f; /* false for NaN too */
}

static bool init_ok(sn_initializer i)
{
    return i >= SN_INIT_DEFAULT && i <= SN_INIT_RANDOM_NORMAL;
}

static bool act_ok(sn_activation a)
{
    /* The cells differentiate from the output: the original four only. */
    return a == SN_LINEAR || a == SN_RELU || a == SN_TANH || a == SN_SIGMOID;
}

static sn_status check_opts(const sn_rnn_opts *o, int units, const char *who)
{
    if (units <= 0 || units > (1 << 20))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: units must be in 1..%d, got "
                       "%d", who, 1 << 20, units);
    if (!act_ok(o->activation) || !act_ok(o->recurrent_activation))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: activation (%d) and "
                       "recurrent_activation (%d) must be linear, relu, tanh "
                       "or sigmoid", who, (int)o->activation,
                       (int)o->recurrent_activation);
    if (!rate_ok(o->dropout) || !rate_ok(o->recurrent_dropout))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: dropout (%g) and "
                       "recurrent_dropout (%g) must lie in [0, 1)", who,
                       (double)o->dropout, (double)o->recurrent_dropout);
    if (!init_ok(o->kernel_initializer) ||
        !init_ok(o->recurrent_initializer) || !init_ok(o->bias_initializer))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: unknown initializer", who);
    if (o->padded_output != SN_PADDED_CARRY_LAST &&
        o->padded_output != SN_PADDED_ZEROS)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: padded_output must be "
                       "SN_PADDED_CARRY_LAST (0) or SN_PADDED_ZEROS (1), got "
                       "%d", who, o->padded_output);
    if (o->truncate_steps < 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: truncate_steps must be >= 0, "
                       "got %d", who, o->truncate_steps);
    return SN_OK;
}

sn_layer *sn_rnn_create(const sn_layer_ops *ops, sn_cell_kind cell,
                        int units, const sn_rnn_opts *o, const char *who)
{
    sn_rnn_opts opts = SN_RNN_OPTS_INIT;
    if (sn_opts_merge(&opts, sizeof opts, o, who) != SN_OK)
        return NULL;
    if (check_opts(&opts, units, who) != SN_OK)
        return NULL;
    if (opts.kernel_initializer == SN_INIT_DEFAULT)
        opts.kernel_initializer = SN_INIT_GLOROT_UNIFORM;
    if (opts.recurrent_initializer == SN_INIT_DEFAULT)
        opts.recurrent_initializer = SN_INIT_ORTHOGONAL;
    if (opts.bias_initializer == SN_INIT_DEFAULT)
        opts.bias_initializer = SN_INIT_ZEROS;
    opts.use_bias = opts.use_bias != 0;
    opts.unit_forget_bias = opts.unit_forget_bias != 0;
    opts.reset_after = opts.reset_after != 0;
    opts.return_sequences = opts.return_sequences != 0;
    opts.return_state = opts.return_state != 0;
    opts.go_backwards = opts.go_backwards != 0;
    opts.stateful = opts.stateful != 0;
    sn_layer *l = sn_layer_create(ops, sizeof(sn_rnn_layer));
    if (l == NULL)
        return NULL;
    sn_rnn_layer *p = l->priv;
    p->opts = opts;
    p->cell = cell;
    p->units = units;
    return l;
}

int sn_rnn_n_states(const sn_rnn_layer *p)
{
    return p->cell == SN_CELL_LSTM ? 2 : 1;
}

sn_rnn_cfg sn_rnn_make_cfg(const sn_rnn_layer *p, int in_dim,
                           bool flip_direction, bool zero_output_for_mask)
{
    sn_rnn_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.cell = p->cell;
    cfg.units = p->units;
    cfg.in_dim = in_dim;
    cfg.act = p->opts.activation;
    cfg.rec_act = p->opts.recurrent_activation;
    cfg.use_bias = p->opts.use_bias;
    cfg.reset_after = p->cell == SN_CELL_GRU && p->opts.reset_after;
    cfg.go_backwards = p->opts.go_backwards != flip_direction;
    cfg.return_sequences = p->opts.return_sequences;
    cfg.zero_output_for_mask = zero_output_for_mask;
    cfg.truncate = p->opts.truncate_steps;
    return cfg;
}

sn_status sn_rnn_check_inputs(const sn_layer *l, const sn_rnn_layer *p,
                              const sn_shape *in, int n_in, int n_states_in)
{
    sn_status st = sn_expect_float(l, &in[0]);
    if (st == SN_OK)
        st = sn_expect_rank(l, &in[0], 2);
    if (st != SN_OK)
        return st;
    if (in[0].dim[1] <= 0)
        return sn_fail(SN_ERR_SHAPE, "%s: the feature axis must be known",
                       sn_layer_label(l));
    if (n_in != 1 && n_in != 1 + n_states_in)
        return sn_fail(SN_ERR_SHAPE, "%s: takes the sequence and optionally "
                       "%d initial state(s), got %d inputs",
                       sn_layer_label(l), n_states_in, n_in);
    for (int i = 1; i < n_in; i++) {
        if (in[i].dtype != SN_FLOAT32 || in[i].rank != 1 ||
            in[i].dim[0] != p->units) {
            char buf[96];
            sn_shape_format(&in[i], buf, sizeof buf);
            return sn_fail(SN_ERR_SHAPE, "%s: initial state %d must be "
                           "(None, %d) floats, got %s", sn_layer_label(l), i,
                           p->units, buf);
        }
    }
    return SN_OK;
}

/* ------------------------------------------------------------ weights */

sn_status sn_rnn_build_weights(const sn_rnn_layer *p, sn_build *b,
                               int in_dim, const char *prefix)
{
    int G = (int)p->cell, H = p->units, GH = G * H;
    char name[128];
    int kdims[2] = { in_dim, GH }, rdims[2] = { H, GH };
    snprintf(name, sizeof name, "%skernel", prefix);
    int st = sn_build_weight(b, name, 2, kdims, p->opts.kernel_initializer,
                             in_dim, GH);
    if (st < 0)
        return st;
    snprintf(name, sizeof name, "%srecurrent_kernel", prefix);
    st = sn_build_weight(b, name, 2, rdims, p->opts.recurrent_initializer, H,
                         GH);
    if (st < 0 || !p->opts.use_bias)
        return st < 0 ? st : SN_OK;
    snprintf(name, sizeof name, "%sbias", prefix);
    int init = (int)p->opts.bias_initializer;
    if (p->cell == SN_CELL_LSTM && p->opts.unit_forget_bias)
        init |= SN_INIT_FORGET_ONES;
    if (p->cell == SN_CELL_GRU && p->opts.reset_after) {
        int bdims[2] = { 2, GH }; /* row 0 input bias, row 1 recurrent */
        st = sn_build_weight(b, name, 2, bdims, (sn_initializer)init, 2, GH);
    } else {
        int bdims[1] = { GH };
        st = sn_build_weight(b, name, 1, bdims, (sn_initializer)init, GH, GH);
    }
    return st < 0 ? st : SN_OK;
}

void sn_rnn_weights_at(const sn_call *c, int k, const sn_rnn_cfg *cfg,
                       sn_rnn_weights *w)
{
    int GH = sn_rnn_gates(cfg) * cfg->units;
    bool grads = sn_call_wants_weight_grad(c);
    memset(w, 0, sizeof *w);
    w->kernel = sn_call_weight(c, k);
    w->recurrent = sn_call_weight(c, k + 1);
    if (grads) {
        w->d_kernel = sn_call_weight_grad(c, k);
        w->d_recurrent = sn_call_weight_grad(c, k + 1);
    }
    if (!cfg->use_bias)
        return;
    w->bias = sn_call_weight(c, k + 2);
    w->d_bias = grads ? sn_call_weight_grad(c, k + 2) : NULL;
    if (cfg->reset_after) {
        w->bias_rec = w->bias + GH;
        w->d_bias_rec = grads ? w->d_bias + GH : NULL;
    }
}

/* ------------------------------------------------------------ scratch */

static size_t align64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

/* Inverted dropout factors: 0 or 1 / (1 - rate), one per (row, feature),
 * shared by every time step (Keras' recurrent dropout semantics). */
static void draw_keep(sn_rng *rng, float rate, float *keep, size_t n)
{
    float scale = 1.0f / (1.0f - rate);
    for (size_t i = 0; i < n; i++)
        keep[i] = sn_rng_uniform(rng) >= (double)rate ? scale : 0.0f;
}

sn_rnn_scratch *sn_rnn_scratch_prepare(sn_call *c, const sn_rnn_layer *p,
                                       const sn_rnn_cfg *cfg, int n_dirs,
                                       int batch, int steps, size_t extra,
                                       sn_rnn_ws *ws)
{
    bool store = sn_call_can_backward(c);
    bool drop_in = c->training && p->opts.dropout > 0.0f;
    bool drop_rec = c->training && p->opts.recurrent_dropout > 0.0f;
    size_t in_bytes = (size_t)batch * cfg[0].in_dim * sizeof(float);
    size_t rec_bytes = (size_t)batch * cfg[0].units * sizeof(float);
    size_t at = align64(sizeof(sn_rnn_scratch));
    size_t keep_in[2] = { 0, 0 }, keep_rec[2] = { 0, 0 }, ws_at[2] = { 0, 0 };
    for (int d = 0; d < n_dirs; d++) {
        if (drop_in) {
            keep_in[d] = at;
            at += align64(in_bytes);
        }
        if (drop_rec) {
            keep_rec[d] = at;
            at += align64(rec_bytes);
        }
        ws_at[d] = at;
        at += align64(sn_rnn_ws_bytes(&cfg[d], batch, steps, store));
    }
    size_t extra_at = at;
    at += align64(extra);
    char *base = sn_call_scratch(c, at);
    if (base == NULL)
        return NULL;
    sn_rnn_scratch *s = (sn_rnn_scratch *)base;
    memset(s, 0, sizeof *s);
    s->extra_offset = extra_at;
    s->batch = batch;
    s->steps = steps;
    s->n_dirs = n_dirs;
    s->store = store;
    for (int d = 0; d < n_dirs; d++) {
        s->cfg[d] = cfg[d];
        s->ws_offset[d] = ws_at[d];
        s->keep_in_offset[d] = keep_in[d];
        s->keep_rec_offset[d] = keep_rec[d];
        if (drop_in)
            draw_keep(c->rng, p->opts.dropout, (float *)(base + keep_in[d]),
                      in_bytes / sizeof(float));
        if (drop_rec)
            draw_keep(c->rng, p->opts.recurrent_dropout,
                      (float *)(base + keep_rec[d]),
                      rec_bytes / sizeof(float));
        sn_rnn_ws_carve(&cfg[d], batch, steps, store, base + ws_at[d], &ws[d]);
    }
    return s;
}

const float *sn_rnn_keep_in(const sn_rnn_scratch *s, int dir)
{
    if (s->keep_in_offset[dir] == 0)
        return NULL;
    return (const float *)((const char *)s + s->keep_in_offset[dir]);
}

const float *sn_rnn_keep_rec(const sn_rnn_scratch *s, int dir)
{
    if (s->keep_rec_offset[dir] == 0)
        return NULL;
    return (const float *)((const char *)s + s->keep_rec_offset[dir]);
}

void *sn_rnn_scratch_extra(const sn_rnn_scratch *s)
{
    return (char *)s + s->extra_offset;
}

sn_status sn_rnn_output_mask(sn_call *c, const sn_rnn_cfg *cfg, int steps)
{
    const uint8_t *in = c->in[0]->mask;
    if (!cfg->reverse_output) {
        c->out[0]->mask = in;
        return SN_OK;
    }
    uint8_t *m = sn_call_out_mask(c, 0, steps);
    if (m == NULL)
        return SN_ERR_NOMEM;
    for (int b = 0; b < c->batch; b++)
        for (int t = 0; t < steps; t++)
            m[(size_t)b * steps + t] = in[(size_t)b * steps + steps - 1 - t];
    return SN_OK;
}

void sn_rnn_scratch_ws(const sn_rnn_scratch *s, int dir, sn_rnn_ws *ws)
{
    sn_rnn_ws_carve(&s->cfg[dir], s->batch, s->steps, s->store,
                    (char *)s + s->ws_offset[dir], ws);
}

/* ------------------------------------------------------------ stateful */

sn_status sn_rnn_stateful_begin(const sn_layer *l, sn_rnn_layer *p,
                                int batch)
{
    if (!p->opts.stateful || p->state_batch == 0 || p->state_batch == batch)
        return SN_OK;
    return sn_fail(SN_ERR_SHAPE, "%s: stateful layer carries state for "
                   "batch %d, got batch %d (reset its states first)",
                   sn_layer_label(l), p->state_batch, batch);
}

void sn_rnn_carried_state(const sn_rnn_layer *p, int batch, int d,
                          const float **h0, const float **c0)
{
    if (!p->opts.stateful || p->state_batch != batch)
        return;
    size_t at = (size_t)d * (size_t)batch * (size_t)p->units;
    *h0 = p->state_h + at;
    if (p->cell == SN_CELL_LSTM)
        *c0 = p->state_c + at;
}

sn_status sn_rnn_stateful_end(sn_rnn_layer *p, const sn_mem *mem, int batch,
                              int n_dirs, const float *const *h,
                              const float *const *c)
{
    size_t n = (size_t)batch * (size_t)p->units;
    if (p->state_batch != batch) {
        float *sh = sn_mem_calloc(mem, n * (size_t)n_dirs, sizeof *sh);
        float *sc = sn_mem_calloc(mem, n * (size_t)n_dirs, sizeof *sc);
        if (sh == NULL || sc == NULL) {
            sn_mem_free(mem, sh);
            sn_mem_free(mem, sc);
            return SN_ERR_NOMEM;
        }
        sn_mem_free(mem, p->state_h);
        sn_mem_free(mem, p->state_c);
        p->state_h = sh;
        p->state_c = sc;
        p->state_batch = batch;
    }
    for (int d = 0; d < n_dirs; d++) {
        memcpy(p->state_h + (size_t)d * n, h[d], n * sizeof(float));
        if (c != NULL && c[d] != NULL)
            memcpy(p->state_c + (size_t)d * n, c[d], n * sizeof(float));
    }
    return SN_OK;
}

/* ------------------------------------------------------------ config I/O */

void sn_rnn_save_opts(const sn_rnn_layer *p, sn_writer *w)
{
    const sn_rnn_opts *o = &p->opts;
    sn_write_i32(w, (int32_t)p->cell);
    sn_write_i32(w, p->units);
    sn_write_i32(w, (int32_t)o->activation);
    sn_write_i32(w, (int32_t)o->recurrent_activation);
    sn_write_i32(w, o->use_bias);
    sn_write_i32(w, (int32_t)o->kernel_initializer);
    sn_write_i32(w, (int32_t)o->recurrent_initializer);
    sn_write_i32(w, (int32_t)o->bias_initializer);
    sn_write_i32(w, o->unit_forget_bias);
    sn_write_i32(w, o->reset_after);
    sn_write_f32(w, o->dropout);
    sn_write_f32(w, o->recurrent_dropout);
    sn_write_i32(w, o->return_sequences);
    sn_write_i32(w, o->return_state);
    sn_write_i32(w, o->go_backwards);
    sn_write_i32(w, o->stateful);
    sn_write_i32(w, o->truncate_steps);
    /* appended field, written only when set: files of default layers stay
     * byte-identical to those of earlier versions */
    if (o->padded_output != SN_PADDED_CARRY_LAST)
        sn_write_i32(w, o->padded_output);
}

sn_layer *sn_rnn_load_opts(sn_reader *r,
                           const sn_layer_ops *(*cell_ops)(sn_cell_kind))
{
    sn_rnn_opts o = SN_RNN_OPTS_INIT;
    int cell = sn_read_int(r, 1, 4, "recurrent cell");
    int units = sn_read_i32(r);
    o.activation = (sn_activation)sn_read_i32(r);
    o.recurrent_activation = (sn_activation)sn_read_i32(r);
    o.use_bias = sn_read_int(r, 0, 1, "use_bias");
    o.kernel_initializer = (sn_initializer)sn_read_i32(r);
    o.recurrent_initializer = (sn_initializer)sn_read_i32(r);
    o.bias_initializer = (sn_initializer)sn_read_i32(r);
    o.unit_forget_bias = sn_read_int(r, 0, 1, "unit_forget_bias");
    o.reset_after = sn_read_int(r, 0, 1, "reset_after");
    o.dropout = sn_read_f32(r);
    o.recurrent_dropout = sn_read_f32(r);
    o.return_sequences = sn_read_int(r, 0, 1, "return_sequences");
    o.return_state = sn_read_int(r, 0, 1, "return_state");
    o.go_backwards = sn_read_int(r, 0, 1, "go_backwards");
    o.stateful = sn_read_int(r, 0, 1, "stateful");
    o.truncate_steps = sn_read_i32(r);
    if (r->status == SN_OK && sn_reader_remaining(r) >= 4)
        o.padded_output = sn_read_int(r, 0, 1, "padded_output");
    if (r->status != SN_OK)
        return NULL;
    if (cell != SN_CELL_SIMPLE && cell != SN_CELL_GRU &&
        cell != SN_CELL_LSTM) {
        sn_reader_fail(r, SN_ERR_FORMAT, "unknown recurrent cell %d", cell);
        return NULL;
    }
    return sn_rnn_create(cell_ops((sn_cell_kind)cell), (sn_cell_kind)cell,
                         units, &o, "load");
}

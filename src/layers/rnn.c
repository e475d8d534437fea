/*
 * rnn.c - SimpleRNN, LSTM and GRU as layers: shapes, weights, the forward
 * and backward calls into the engine (rnn_core.c), stateful carry, and
 * saving.  Inputs: the sequence [T, E], then optional initial states.
 * Outputs: y ([T, H] or [H]), then with return_state h_T (and c_T).
 */
#include <string.h>

#include "rnn_layer.h"

static int rnn_infer(sn_layer *l, const sn_shape *in, int n_in,
                     sn_shape *out, int max_out)
{
    const sn_rnn_layer *p = l->priv;
    int n_states = sn_rnn_n_states(p);
    sn_status st = sn_rnn_check_inputs(l, p, in, n_in, n_states);
    if (st != SN_OK)
        return st;
    (void)max_out;
    out[0] = p->opts.return_sequences
                 ? sn_shape_2(SN_FLOAT32, in[0].dim[0], p->units)
                 : sn_shape_1(SN_FLOAT32, p->units);
    if (!p->opts.return_state)
        return 1;
    for (int k = 0; k < n_states; k++)
        out[1 + k] = sn_shape_1(SN_FLOAT32, p->units);
    return 1 + n_states;
}

static sn_status rnn_build(sn_layer *l, sn_build *b, const sn_shape *in,
                           int n_in)
{
    (void)n_in;
    return sn_rnn_build_weights(l->priv, b, in[0].dim[1], "");
}

/* The engine's inputs and outputs for this call. */
static void make_io(const sn_call *c, const sn_rnn_layer *p,
                    const sn_rnn_scratch *s, sn_rnn_io *io)
{
    int n_states = sn_rnn_n_states(p);
    bool init = c->n_in > 1;
    memset(io, 0, sizeof *io);
    io->pool = sn_call_pool(c);
    io->batch = s->batch;
    io->steps = s->steps;
    io->x = c->in[0]->data;
    io->mask = c->in[0]->mask;
    if (init) {
        io->h0 = c->in[1]->data;
        io->c0 = n_states > 1 ? c->in[2]->data : NULL;
    } else {
        sn_rnn_carried_state(p, s->batch, 0, &io->h0, &io->c0);
    }
    io->keep_in = sn_rnn_keep_in(s, 0);
    io->keep_rec = sn_rnn_keep_rec(s, 0);
    io->y = c->out[0]->data;
    if (p->opts.return_state) {
        io->h_last = c->out[1]->data;
        io->c_last = n_states > 1 ? c->out[2]->data : NULL;
    }
}

/* forward: y, states = RNN(x, h0, c0)  — see rnn_core.c for the loop */
static sn_status rnn_forward(sn_call *c)
{
    sn_rnn_layer *p = c->layer->priv;
    const sn_shape *xs = &c->in[0]->shape;
    sn_status st = sn_rnn_stateful_begin(c->layer, p, c->batch);
    if (st != SN_OK)
        return st;
    sn_rnn_cfg cfg = sn_rnn_make_cfg(p, xs->dim[1], false, false);
    cfg.reverse_output = cfg.go_backwards; /* Keras returns it reversed */
    sn_rnn_ws ws;
    sn_rnn_scratch *s = sn_rnn_scratch_prepare(c, p, &cfg, 1, c->batch,
                                               xs->dim[0], 0, &ws);
    if (s == NULL)
        return SN_ERR_NOMEM;
    sn_rnn_io io;
    make_io(c, p, s, &io);
    sn_rnn_weights w;
    sn_rnn_weights_at(c, 0, &cfg, &w);
    sn_rnn_forward(&cfg, &w, &io, &ws);
    if (p->opts.return_sequences && c->in[0]->mask != NULL) {
        sn_status ms = sn_rnn_output_mask(c, &cfg, s->steps);
        if (ms != SN_OK)
            return ms;
    }
    if (p->opts.stateful) {
        const float *h[1] = { ws.h };
        const float *cs[1] = { p->cell == SN_CELL_LSTM ? ws.c : NULL };
        return sn_rnn_stateful_end(p, &c->layer->mem, c->batch, 1, h, cs);
    }
    return SN_OK;
}

/* backward: BPTT from dy (and the state outputs' gradients) */
static sn_status rnn_backward(sn_call *c)
{
    sn_rnn_layer *p = c->layer->priv;
    sn_rnn_scratch *s = sn_call_scratch(c, sizeof *s);
    if (s == NULL)
        return SN_ERR_NOMEM;
    sn_rnn_ws ws;
    sn_rnn_scratch_ws(s, 0, &ws);
    sn_rnn_io io;
    make_io(c, p, s, &io);
    io.dy = c->out[0]->grad;
    if (p->opts.return_state) {
        io.dh_last = c->out[1]->grad;
        io.dc_last = c->n_out > 2 ? c->out[2]->grad : NULL;
    }
    io.dx = c->in[0]->grad;
    if (c->n_in > 1) {
        io.dh0 = c->in[1]->grad;
        io.dc0 = c->n_in > 2 ? c->in[2]->grad : NULL;
    }
    sn_rnn_weights w;
    sn_rnn_weights_at(c, 0, &s->cfg[0], &w);
    sn_rnn_backward(&s->cfg[0], &w, &io, &ws);
    s->backward_done = true;
    s->input_norms = io.dx != NULL;
    return SN_OK;
}

static void rnn_destroy(sn_layer *l)
{
    sn_rnn_layer *p = l->priv;
    sn_mem_free(&l->mem, p->state_h);
    sn_mem_free(&l->mem, p->state_c);
    sn_mem_free(&l->mem, p->torch_bias);
}

/* A stateful layer carries one state from call to call: two uses would
 * overwrite each other's. */
static const char *rnn_unshareable(const sn_layer *l)
{
    const sn_rnn_layer *p = l->priv;
    return p->opts.stateful ? "it is stateful (one carried state)" : NULL;
}

static void rnn_save_config(const sn_layer *l, sn_writer *w)
{
    sn_rnn_save_opts(l->priv, w);
}

/* The saved cell must be the one the type name promised. */
static sn_layer *load_cell(sn_reader *r, const sn_layer_ops *ops)
{
    sn_layer *l = sn_rnn_load_opts(r, sn_rnn_cell_ops);
    if (l != NULL && l->ops != ops) {
        sn_layer_free(l);
        sn_reader_fail(r, SN_ERR_FORMAT, "recurrent cell does not match its "
                       "layer type %s", ops->type);
        return NULL;
    }
    return l;
}

static sn_layer *simple_load(sn_reader *r)
{
    return load_cell(r, &sn_simple_rnn_ops);
}

static sn_layer *lstm_load(sn_reader *r)
{
    return load_cell(r, &sn_lstm_ops);
}

static sn_layer *gru_load(sn_reader *r)
{
    return load_cell(r, &sn_gru_ops);
}

const sn_layer_ops sn_simple_rnn_ops = {
    .type = "SimpleRNN", .base_name = "simple_rnn",
    .min_inputs = 1, .max_inputs = 2,
    .infer = rnn_infer, .build = rnn_build,
    .forward = rnn_forward, .backward = rnn_backward,
    .destroy = rnn_destroy, .unshareable = rnn_unshareable,
    .save_config = rnn_save_config, .load_config = simple_load,
};
const sn_layer_ops sn_lstm_ops = {
    .type = "LSTM", .base_name = "lstm",
    .min_inputs = 1, .max_inputs = 3,
    .infer = rnn_infer, .build = rnn_build,
    .forward = rnn_forward, .backward = rnn_backward,
    .destroy = rnn_destroy, .unshareable = rnn_unshareable,
    .save_config = rnn_save_config, .load_config = lstm_load,
};
const sn_layer_ops sn_gru_ops = {
    .type = "GRU", .base_name = "gru",
    .min_inputs = 1, .max_inputs = 2,
    .infer = rnn_infer, .build = rnn_build,
    .forward = rnn_forward, .backward = rnn_backward,
    .destroy = rnn_destroy, .unshareable = rnn_unshareable,
    .save_config = rnn_save_config, .load_config = gru_load,
};

/* ------------------------------------------------------------ the types */

const sn_layer_ops *sn_rnn_cell_ops(sn_cell_kind cell)
{
    switch (cell) {
    case SN_CELL_SIMPLE: return &sn_simple_rnn_ops;
    case SN_CELL_LSTM: return &sn_lstm_ops;
    default: return &sn_gru_ops;
    }
}

bool sn_rnn_is_recurrent(const sn_layer *l)
{
    return l->ops == &sn_simple_rnn_ops || l->ops == &sn_lstm_ops ||
           l->ops == &sn_gru_ops;
}

SN_API sn_layer_t *sn_simple_rnn(int units, const sn_rnn_opts *opts)
{
    return sn_rnn_create(&sn_simple_rnn_ops, SN_CELL_SIMPLE, units, opts,
                         "sn_simple_rnn");
}

SN_API sn_layer_t *sn_lstm(int units, const sn_rnn_opts *opts)
{
    return sn_rnn_create(&sn_lstm_ops, SN_CELL_LSTM, units, opts, "sn_lstm");
}

SN_API sn_layer_t *sn_gru(int units, const sn_rnn_opts *opts)
{
    return sn_rnn_create(&sn_gru_ops, SN_CELL_GRU, units, opts, "sn_gru");
}

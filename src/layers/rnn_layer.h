/*
 * rnn_layer.h - what SimpleRNN/LSTM/GRU (rnn.c) and Bidirectional
 * (bidirectional.c) share: their configuration, the scratch layout that
 * carries a forward pass to its backward pass and to the introspection
 * calls, weight registration and lookup (rnn_common.c).
 *
 * One way: rnn_common.c knows neither layer type; rnn.c (the cells) uses
 * it; bidirectional.c wraps a cell; rnn_states.c, rnn_weights.c and
 * rnn_introspect.c serve both from above.
 */
#ifndef SN_RNN_LAYER_H
#define SN_RNN_LAYER_H

#include "rnn_core.h"

/* Private state of a SimpleRNN, LSTM or GRU layer. */
typedef struct sn_rnn_layer {
    sn_rnn_opts opts;
    sn_cell_kind cell;
    int units;
    float *state_h, *state_c;   /* stateful: carried [dirs, batch, units] */
    int state_batch;            /* 0 = nothing carried yet              */
    /* LSTM / SimpleRNN: the PyTorch bias pair last imported, per
     * direction [bias_ih | bias_hh] (2 * 2 * G*units floats), valid while
     * the Keras bias still equals their sum (rnn_weights.c); NULL = none */
    float *torch_bias;
} sn_rnn_layer;

/* Header at the start of a recurrent node's scratch memory. */
typedef struct sn_rnn_scratch {
    int batch, steps, n_dirs;
    bool store;                 /* kept what backward needs            */
    bool backward_done;
    bool input_norms;           /* backward computed dx (and its norms) */
    sn_rnn_cfg cfg[2];
    size_t ws_offset[2];
    size_t keep_in_offset[2], keep_rec_offset[2]; /* 0 = no mask       */
    size_t extra_offset;        /* caller's own bytes (Bidirectional)  */
} sn_rnn_scratch;

const char *sn_rnn_cell_name(sn_cell_kind cell);     /* "lstm"           */
const char *sn_rnn_cell_type(sn_cell_kind cell);     /* "LSTM"           */
/* A SimpleRNN, LSTM or GRU (rnn.c); the layer type of a cell (rnn.c). */
bool sn_rnn_is_recurrent(const sn_layer *l);
const sn_layer_ops *sn_rnn_cell_ops(sn_cell_kind cell);
/* A Bidirectional (bidirectional.c). */
bool sn_rnn_is_bidirectional(const sn_layer *l);
/* The cell layer inside l: l itself, or a Bidirectional's wrapped one
 * (bidirectional.c). */
const sn_layer *sn_rnn_cell_layer(const sn_layer *l);

/* Validates and fills a layer of type ops (cell's) from constructor
 * arguments. */
sn_layer *sn_rnn_create(const sn_layer_ops *ops, sn_cell_kind cell,
                        int units, const sn_rnn_opts *o, const char *who);

/* Number of state tensors (1, or 2 for an LSTM). */
int sn_rnn_n_states(const sn_rnn_layer *p);
/* The engine configuration for an input of in_dim features. */
sn_rnn_cfg sn_rnn_make_cfg(const sn_rnn_layer *p, int in_dim,
                           bool flip_direction, bool zero_output_for_mask);
/* Checks the sequence input and the n_init initial-state inputs. */
sn_status sn_rnn_check_inputs(const sn_layer *l, const sn_rnn_layer *p,
                              const sn_shape *in, int n_in, int n_states_in);

/* Registers kernel, recurrent_kernel and bias as "<prefix>kernel", ... */
sn_status sn_rnn_build_weights(const sn_rnn_layer *p, sn_build *b,
                               int in_dim, const char *prefix);
/* The engine's view of the three weights starting at layer weight k. */
void sn_rnn_weights_at(const sn_call *c, int k, const sn_rnn_cfg *cfg,
                       sn_rnn_weights *w);

/* Lays out the scratch for n_dirs directions, dropout masks included,
 * and draws the masks in training.  NULL on allocation failure. */
sn_rnn_scratch *sn_rnn_scratch_prepare(sn_call *c, const sn_rnn_layer *p,
                                       const sn_rnn_cfg *cfg, int n_dirs,
                                       int batch, int steps, size_t extra,
                                       sn_rnn_ws *ws);
/* The `extra` bytes asked for in prepare. */
void *sn_rnn_scratch_extra(const sn_rnn_scratch *s);
/* Output mask of a return_sequences layer: the input mask, reversed
 * when the outputs come in processing order (go_backwards). */
sn_status sn_rnn_output_mask(sn_call *c, const sn_rnn_cfg *cfg, int steps);
const float *sn_rnn_keep_in(const sn_rnn_scratch *s, int dir);
const float *sn_rnn_keep_rec(const sn_rnn_scratch *s, int dir);
void sn_rnn_scratch_ws(const sn_rnn_scratch *s, int dir, sn_rnn_ws *ws);

/* Stateful layers: initial states for this batch / keep the final ones
 * of n_dirs directions (h[d], and c[d] for an LSTM, each [batch, units];
 * direction d's are carried at offset d * batch * units). */
sn_status sn_rnn_stateful_begin(const sn_layer *l, sn_rnn_layer *p,
                                int batch);
/* Direction d's initial state carried from the last call into this
 * batch; left NULL (zeros) when the layer is stateless or carries none. */
void sn_rnn_carried_state(const sn_rnn_layer *p, int batch, int d,
                          const float **h0, const float **c0);
sn_status sn_rnn_stateful_end(sn_rnn_layer *p, const sn_mem *mem, int batch,
                              int n_dirs, const float *const *h,
                              const float *const *c);

/* PyTorch layout (rnn_weights.c): allocates the bias pair memory of an
 * LSTM or SimpleRNN layer l now, so that later writes cannot fail on it. */
sn_status sn_rnn_torch_reserve(const sn_layer *l);
/* Sets direction dir's bias pair of an LSTM or SimpleRNN l at once, in
 * PyTorch gate order (reserved, values finite, sums finite). */
void sn_rnn_torch_set_pair(const sn_layer *l, int dir, const float *ih,
                           const float *hh);

/* Config (de)serialisation shared with Bidirectional. */
void sn_rnn_save_opts(const sn_rnn_layer *p, sn_writer *w);
/* cell_ops gives the layer type of the saved cell kind. */
sn_layer *sn_rnn_load_opts(sn_reader *r,
                           const sn_layer_ops *(*cell_ops)(sn_cell_kind));

extern const sn_layer_ops sn_simple_rnn_ops, sn_lstm_ops, sn_gru_ops,
    sn_bidirectional_ops;

#endif /* SN_RNN_LAYER_H */

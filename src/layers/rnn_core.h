/*
 * rnn_core.h - the recurrent engine shared by SimpleRNN, LSTM, GRU and
 * Bidirectional: one direction of one layer over one batch, forward and
 * backward through time, on raw arrays.
 *
 * Layout: everything is batch-major like the data, rows (b, t) of a
 * [B*T, n] matrix, so the input projection x.K, the weight gradients and
 * dx are single GEMMs over all steps, and a time step's rows are read with
 * a leading dimension of T*n.  Gate blocks follow Keras: LSTM i,f,c,o;
 * GRU z,r,h; SimpleRNN one block.
 */
#ifndef SN_RNN_CORE_H
#define SN_RNN_CORE_H

#include "internal.h"
#include "kernels/threadpool.h"

typedef enum sn_cell_kind {
    SN_CELL_SIMPLE = 1,   /* value = number of gates */
    SN_CELL_GRU = 3,
    SN_CELL_LSTM = 4
} sn_cell_kind;

/* What a recurrent layer is, independent of batch and weights. */
typedef struct sn_rnn_cfg {
    sn_cell_kind cell;
    int units;                 /* H                                      */
    int in_dim;                /* E                                      */
    sn_activation act;         /* candidate / output activation          */
    sn_activation rec_act;     /* gate activation                        */
    bool use_bias;
    bool reset_after;          /* GRU                                    */
    bool go_backwards;
    bool return_sequences;
    bool zero_output_for_mask; /* Bidirectional: masked steps output 0   */
    bool reverse_output;       /* sequence output in processing order    */
    int truncate;              /* truncated BPTT chunk, 0 = full         */
} sn_rnn_cfg;

/* The time loop runs on at most this many threads. */
enum { SN_RNN_MAX_PARTS = SN_POOL_MAX_THREADS };

static inline int sn_rnn_gates(const sn_rnn_cfg *c) { return (int)c->cell; }

/* Weights of one direction and their gradients (gradients may be NULL). */
typedef struct sn_rnn_weights {
    const float *kernel;     /* [E, G*H]                                 */
    const float *recurrent;  /* [H, G*H]                                 */
    const float *bias;       /* [G*H] or NULL                            */
    const float *bias_rec;   /* GRU reset_after: [G*H] recurrent bias    */
    float *d_kernel, *d_recurrent, *d_bias, *d_bias_rec;
} sn_rnn_weights;

/* One direction's inputs and outputs for a batch. */
typedef struct sn_rnn_io {
    int batch, steps;          /* B, T                                   */
    const float *x;            /* [B, T, E]                              */
    const uint8_t *mask;       /* [B, T] or NULL                         */
    const float *h0, *c0;      /* [B, H] or NULL (zeros)                 */
    const float *keep_in;      /* input dropout factors [B, E] or NULL   */
    const float *keep_rec;     /* recurrent dropout factors [B, H] or NULL */
    float *y;                  /* [B, T, H] or [B, H]                    */
    float *h_last, *c_last;    /* final states [B, H], may be NULL       */
    /* backward */
    const float *dy;           /* like y, or NULL                        */
    const float *dh_last, *dc_last; /* gradients of the final states     */
    float *dx;                 /* [B, T, E] accumulated, or NULL         */
    float *dh0, *dc0;          /* [B, H] accumulated, or NULL            */
    sn_pool *pool;             /* the model's threads, or NULL (serial)  */
} sn_rnn_io;

/* Buffers of one direction, carved from a layer's scratch memory. */
typedef struct sn_rnn_ws {
    bool store;       /* keep every step for backward (else one step)    */
    bool fused;       /* per-step [x_t | h].[K; R] products, no x.K for
                         all steps first (batch >= the kernel's row block) */
    int srows;        /* steps kept per batch row: T or 1                 */
    float *xw;        /* [B*T, G*H] input projection; dZ in backward;
                         NULL when fused                                 */
    float *dzh;       /* [B*T, G*H] GRU reset_after recurrent dZ         */
    float *gates;     /* [B*T, G*H] gate activations                     */
    float *hprev;     /* [B*T, H] state before each step (dropout-free)  */
    float *cprev;     /* [B*T, H] LSTM cell before each step             */
    float *tc;        /* [B*T, H] LSTM act(c_t)                          */
    float *aux;       /* [B*T, H] GRU: h.R_h + b (after) or r*h (before) */
    float *xd;        /* [B*T, E] dropped-out input                      */
    float *hm;        /* [B*T, H] dropped-out states for dR              */
    float *dxt;       /* [B*T, E] this layer's dx before accumulation    */
    float *h, *c;     /* [B, H] running state                            */
    float *hd;        /* [B, H] running state after recurrent dropout    */
    float *out;       /* [B, H] last output (masked steps repeat it)     */
    float *z;         /* [B, G*H] per-step recurrent product             */
    float *dh, *dc;   /* [B, H] running gradients                        */
    float *tmp;       /* [B, H]                                          */
    float *rp;        /* R packed for the step product (forward); fused:
                         [K; R] (GRU: [K_zr; R_zr], K_h, R_h)            */
    float *bias_zr;   /* GRU fused: b + b' of the z, r columns [2H]      */
    float *rtp;       /* Rᵀ packed (backward)                            */
    float *pack;      /* per-thread packing buffers of the big products  */
    float *hnorm;     /* [T] ||dL/dh_t|| (first squared, per thread part)*/
    float *xnorm;     /* [T] ||dL/dx_t||                                 */
    int *first_real;  /* [B] first real step in processing order, or T   */
    int *rows;        /* [B] this step's real rows (scratch)             */
    int *real_bt;     /* [B*T] rows b*T + t of the real steps (backward) */
} sn_rnn_ws;

/* Bytes of scratch one direction needs for this batch; store keeps what
 * backward needs (without it the pass is inference-only and smaller). */
size_t sn_rnn_ws_bytes(const sn_rnn_cfg *cfg, int batch, int steps,
                       bool store);
/* Points ws into base (sn_rnn_ws_bytes large, suitably aligned). */
void sn_rnn_ws_carve(const sn_rnn_cfg *cfg, int batch, int steps, bool store,
                     void *base, sn_rnn_ws *ws);

void sn_rnn_forward(const sn_rnn_cfg *cfg, const sn_rnn_weights *w,
                    sn_rnn_io *io, sn_rnn_ws *ws);
/* Backward through time; accumulates weight gradients (when the pointers
 * are set), dx, dh0, dc0, and records the per-step gradient norms (those
 * of dx only when io->dx is set: without it dx is not computed). */
void sn_rnn_backward(const sn_rnn_cfg *cfg, const sn_rnn_weights *w,
                     sn_rnn_io *io, sn_rnn_ws *ws);

#endif /* SN_RNN_CORE_H */

/*
 * rnn_cells.h - the per-step, per-row arithmetic of each recurrent cell,
 * forward and backward side by side (rnn_cells.c).  The time loop and the
 * matrix products live in rnn_core.c.
 */
#ifndef SN_RNN_CELLS_H
#define SN_RNN_CELLS_H

#include "rnn_core.h"

/* The derivative of act from its output y, times dy. */
void sn_rnn_act_grad(sn_activation a, const float *y, const float *dy,
                     float *out, size_t n);

/* One row of one step.  pre: gates row holding x.K + b + h.R (+ b_rec);
 * turned into activations in place.  h, c: the running state, updated. */
void sn_simple_forward_row(const sn_rnn_cfg *cfg, float *gates, float *h);
void sn_lstm_forward_row(const sn_rnn_cfg *cfg, float *gates, float *h,
                         float *c, float *tc);
/* GRU: z, r rows are activated; the candidate's pre-activation is
 * xw_h + r * aux (reset_after, aux = h.R_h + b_h) or xw_h + aux
 * (reset_before, aux = (r*h).R_h already multiplied). */
void sn_gru_gates_row(const sn_rnn_cfg *cfg, float *gates);
void sn_gru_forward_row(const sn_rnn_cfg *cfg, float *gates, const float *xw_h,
                        const float *aux, float *h);

/* Backward of one row.  dh (and dc) hold dL/d(state after the step) on
 * entry and dL/d(state before the step), direct part only, on exit (the
 * path through R is added by the caller).  dz receives dL/d(pre). */
void sn_simple_backward_row(const sn_rnn_cfg *cfg, const float *gates,
                            float *dh, float *dz);
void sn_lstm_backward_row(const sn_rnn_cfg *cfg, const float *gates,
                          const float *tc, const float *cprev, float *dh,
                          float *dc, float *dz);
/* GRU: dzx gets the gradient of the input-side pre-activations; dzh that
 * of the recurrent side (reset_after: candidate part times r; reset_before:
 * candidate part equals dzx's and the r path is finished by the caller). */
void sn_gru_backward_row(const sn_rnn_cfg *cfg, const float *gates,
                         const float *hprev, const float *aux, float *dh,
                         float *dzx, float *dzh);

/* What each copy of rnn_cells.c (one per instruction-set path) exports:
 * the functions above, same contracts. */
typedef struct sn_rnn_cell_ops {
    void (*act_grad)(sn_activation a, const float *y, const float *dy,
                     float *out, size_t n);
    void (*simple_forward_row)(const sn_rnn_cfg *cfg, float *gates,
                               float *h);
    void (*simple_backward_row)(const sn_rnn_cfg *cfg, const float *gates,
                                float *dh, float *dz);
    void (*lstm_forward_row)(const sn_rnn_cfg *cfg, float *gates, float *h,
                             float *c, float *tc);
    void (*lstm_backward_row)(const sn_rnn_cfg *cfg, const float *gates,
                              const float *tc, const float *cprev, float *dh,
                              float *dc, float *dz);
    void (*gru_gates_row)(const sn_rnn_cfg *cfg, float *gates);
    void (*gru_forward_row)(const sn_rnn_cfg *cfg, float *gates,
                            const float *xw_h, const float *aux, float *h);
    void (*gru_backward_row)(const sn_rnn_cfg *cfg, const float *gates,
                             const float *hprev, const float *aux, float *dh,
                             float *dzx, float *dzh);
} sn_rnn_cell_ops;

extern const sn_rnn_cell_ops sn_rnn_cell_ops_generic;
extern const sn_rnn_cell_ops sn_rnn_cell_ops_avx2;
extern const sn_rnn_cell_ops sn_rnn_cell_ops_avx512;

#endif /* SN_RNN_CELLS_H */

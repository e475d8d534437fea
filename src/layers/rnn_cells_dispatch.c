/*
 * rnn_cells_dispatch.c - the sn_*_row functions of rnn_cells.h through
 * the copy of rnn_cells.c of the instruction-set path in use.
 */
#include "kernels/cpu.h"
#include "rnn_cells.h"

static const sn_rnn_cell_ops *active(void)
{
    switch (sn_isa_active()) {
#if defined(SN_X86_KERNELS)
    case SN_ISA_AVX512: return &sn_rnn_cell_ops_avx512;
    case SN_ISA_AVX2: return &sn_rnn_cell_ops_avx2;
#endif
    default: return &sn_rnn_cell_ops_generic;  /* generic and neon */
    }
}

void sn_rnn_act_grad(sn_activation a, const float *y, const float *dy,
                     float *out, size_t n)
{
    active()->act_grad(a, y, dy, out, n);
}

void sn_simple_forward_row(const sn_rnn_cfg *cfg, float *gates, float *h)
{
    active()->simple_forward_row(cfg, gates, h);
}

void sn_simple_backward_row(const sn_rnn_cfg *cfg, const float *gates,
                            float *dh, float *dz)
{
    active()->simple_backward_row(cfg, gates, dh, dz);
}

void sn_lstm_forward_row(const sn_rnn_cfg *cfg, float *gates, float *h,
                         float *c, float *tc)
{
    active()->lstm_forward_row(cfg, gates, h, c, tc);
}

void sn_lstm_backward_row(const sn_rnn_cfg *cfg, const float *gates,
                          const float *tc, const float *cprev, float *dh,
                          float *dc, float *dz)
{
    active()->lstm_backward_row(cfg, gates, tc, cprev, dh, dc, dz);
}

void sn_gru_gates_row(const sn_rnn_cfg *cfg, float *gates)
{
    active()->gru_gates_row(cfg, gates);
}

void sn_gru_forward_row(const sn_rnn_cfg *cfg, float *gates,
                        const float *xw_h, const float *aux, float *h)
{
    active()->gru_forward_row(cfg, gates, xw_h, aux, h);
}

void sn_gru_backward_row(const sn_rnn_cfg *cfg, const float *gates,
                         const float *hprev, const float *aux, float *dh,
                         float *dzx, float *dzh)
{
    active()->gru_backward_row(cfg, gates, hprev, aux, dh, dzx, dzh);
}

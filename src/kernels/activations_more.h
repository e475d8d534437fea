/*
 * activations_more.h - the activations appended after softmax
 * (activations_more.c); activations.c dispatches to them, so layers go on
 * calling sn_act_forward / sn_act_backward only.
 */
#ifndef SN_ACTIVATIONS_MORE_H
#define SN_ACTIVATIONS_MORE_H

#include "internal.h"

/* act is one of SN_GELU .. SN_SOFTPLUS. */
bool sn_act_more(sn_activation act);
void sn_act_more_forward(sn_activation act, float *x, size_t n);
/* dx += dy * act'(x); x is read only when sn_act_needs_input(act). */
void sn_act_more_backward(sn_activation act, const float *x, const float *y,
                          const float *dy, float *dx, size_t n);
const char *sn_act_more_name(sn_activation act);

#endif

/*
 * optimizer_impl.h - the optimizer object and the helpers shared by
 * optimizer.c, lr_schedule.c and clip.c.  Private to those three files.
 */
#ifndef SN_OPTIMIZER_IMPL_H
#define SN_OPTIMIZER_IMPL_H

#include "train.h"

/* Most slot arrays any optimizer keeps per weight element (Adam with
 * amsgrad: m, v, vhat; RMSprop centered with momentum: v, mom, mg). */
#define SN_OPT_MAX_SLOTS 3

struct sn_optimizer {
    sn_mem mem;
    sn_optimizer_opts o;       /* validated options                        */
    bool has_schedule;         /* false: constant rate o.learning_rate      */
    sn_lr_schedule sched;      /* valid when has_schedule                   */
    int64_t iterations;        /* steps taken                               */
    bool bound;                /* slot arrays allocated for bound_n values  */
    size_t bound_n;
    int n_slots;               /* from the options (sn_opt_slot_count)      */
    float *slot[SN_OPT_MAX_SLOTS];
};

/* ------------------------------------------------------ optimizer_more.c */

/* Nadam's u_t = beta_1 (1 - 0.5 * 0.96^t) and the product P_t of
 * u_1 .. u_t (1 for t = 0), a function of the step count: not saved. */
double sn_nadam_u(float beta_1, int64_t t);
double sn_nadam_u_product(float beta_1, int64_t t);
/* One Nadam step of n elements at step t (1-based); u_product_t is the
 * product up to and including u_t.  m, v: the first and second moments. */
void sn_update_nadam(const sn_optimizer_opts *o, double lr, int64_t t,
                     double u_product_t, float *w, const float *g, float *m,
                     float *v, size_t n);
/* One Adamax step: m the first moment, u the exponentially weighted
 * infinity norm. */
void sn_update_adamax(const sn_optimizer_opts *o, double lr, int64_t t,
                      float *w, const float *g, float *m, float *u,
                      size_t n);

/* ------------------------------------------------------- lr_schedule.c */

/* Checks a merged schedule (kind known, rates finite and in range);
 * returns SN_OK or an sn_fail status with a message starting with who. */
sn_status sn_lr_schedule_check(const sn_lr_schedule *s, const char *who);
/* The schedule's rate at 0-based step (iterations before the step). */
double sn_lr_schedule_value(const sn_lr_schedule *s, int64_t step);

/* -------------------------------------------------------------- clip.c */

/* Whether model weight i belongs to a trainable layer. */
bool sn_opt_weight_trainable(const sn_model *m, int i);
/* Global L2 norm over all trainable gradients, accumulated in double
 * (NaN or infinity if a gradient is not finite). */
double sn_opt_global_grad_norm(const sn_model *m);
/* Multiplies every trainable gradient by factor. */
void sn_opt_scale_grads(sn_model *m, float factor);
/* Keras clipnorm: each trainable weight's gradient g becomes
 * g * c / max(||g||, c). */
void sn_opt_clip_norm_per_weight(sn_model *m, float c);
/* Keras clipvalue: every trainable gradient element into [-c, c]. */
void sn_opt_clip_value(sn_model *m, float c);

#endif /* SN_OPTIMIZER_IMPL_H */

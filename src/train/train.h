/*
 * train.h - what training (this folder) offers the folders above it: the
 * optimizer's and the compile state's save/load (io/model_io.c, fit/) and
 * the loss with its gradient (fit/evaluate.c, fit/fit.c).  The model
 * (model.h) knows none of it.
 */
#ifndef SN_TRAIN_H
#define SN_TRAIN_H

#include "model/model.h"

/* Optimizer internals used by save/load and fit (optimizer.c). */
sn_status sn_optimizer_save_state(const sn_optimizer_t *opt, sn_writer *w);
/* Rebuilds an optimizer (options, schedule, step count, slot arrays) from
 * what save_state wrote; validates every value. */
sn_status sn_optimizer_load_state(sn_reader *r, const sn_mem *mem,
                                  sn_optimizer_t **out);
/* Whether opt holds slot arrays (is bound to a model), and their length. */
bool sn_optimizer_bound_count(const sn_optimizer_t *opt, size_t *n);
/* A fresh optimizer with the same options and schedule, no state. */
sn_optimizer_t *sn_optimizer_clone_config(const sn_optimizer_t *opt);

/* Compile state for save/load (model_compile.c): loss, metrics and, when
 * present, the optimizer, plus the dropout pass counter. */
void sn_model_save_training_state(const sn_model *m, sn_writer *w);
sn_status sn_model_load_training_state(sn_model *m, sn_reader *r);

/* Training helpers shared by model_compile.c and fit.c. */
void sn_output_rows_cols(const sn_model *m, int k, int batch, int *rows,
                         int *cols);
size_t sn_target_count(const sn_model *m, int k);
sn_status sn_model_loss_and_grad(sn_model *m, int batch,
                                 const float *const *targets,
                                 const float *sample_weights, double *loss,
                                 const float **grads);

/* Data-parallel training (collectives.c); without collectives (or with a
 * world of 1) every one of them does nothing and returns st / SN_OK. */
bool sn_collectives_on(const sn_model *m);
int sn_collectives_rank(const sn_model *m);
int sn_collectives_world(const sn_model *m);
/* values[0 .. n) := their sum over the processes. */
sn_status sn_collectives_sum(sn_model *m, double *values, size_t n,
                             const char *who);
/* Agrees on success: returns st where it failed, an error naming the
 * failed process everywhere else, SN_OK when all succeeded. */
sn_status sn_collectives_agree(sn_model *m, sn_status st, const char *who);
/* Between backward and the optimizer step: the gradient of this process's
 * batch mean (st: how its step went so far) becomes the mean over all
 * the processes' samples. */
sn_status sn_collectives_average_grads(sn_model *m, int batch, sn_status st);
/* The step of a process that has no sample in it (or failed before its
 * step with st): takes part in the average and steps the optimizer. */
sn_status sn_collectives_empty_step(sn_model *m, sn_status st);

#endif /* SN_TRAIN_H */

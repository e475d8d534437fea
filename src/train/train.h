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
/* sn_model_train_on_batch with per-row lengths of the float sequence
 * inputs (NULL = none), for fit. */
sn_status sn_model_train_step(sn_model *m, int batch,
                              const void *const *inputs,
                              const int *timesteps,
                              const int *const *lengths,
                              const float *const *targets,
                              const float *sample_weights, double *loss);

/* What a compile accepts (compile_checks.c). */
bool sn_loss_valid(const sn_loss_opts *l);
bool sn_metric_valid(int kind);
/* A metric must read the targets the loss reads (class ids or dense). */
sn_status sn_metric_check(sn_metric_kind kind, const sn_loss_opts *loss);
const char *sn_metric_kind_name(sn_metric_kind kind);

/* Per-output training of a compile with sn_compile_opts.outputs
 * (output_losses.c): one entry per model output. */
typedef struct sn_output_train {
    bool has_loss;
    sn_loss_opts loss;
    float weight;              /* loss_weight                             */
    sn_metric_kind *metrics;   /* as given (ACCURACY resolved per batch)  */
    int n_metrics;
    double last_loss;          /* unweighted loss of the last batch       */
} sn_output_train;

/* Checks and copies o->outputs into a new array (NULL on failure). */
sn_status sn_outputs_parse(sn_model *m, const sn_compile_opts *o,
                           sn_output_train **out);
/* Frees m->output_train / an array sn_outputs_parse made. */
void sn_outputs_free(sn_model *m);
void sn_outputs_free_array(sn_model *m, sn_output_train *o);
/* Fills m->metric_names (freed and empty on entry) for m->output_train. */
sn_status sn_outputs_names(sn_model *m);
/* The values after "loss" of the last forward: per-output losses (of the
 * last sn_model_loss_and_grad), then metrics. */
sn_status sn_outputs_metrics(sn_model *m, int batch,
                             const float *const *targets, double *out);
/* The per-output training in the model file's TRAN section, after the
 * optimizer (docs/FORMAT.md); load validates every value. */
void sn_outputs_save(const sn_model *m, sn_writer *w);
sn_status sn_outputs_load(sn_model *m, sn_reader *r, sn_output_train **out);
/* Whether output k is trained or measured against targets (a per-output
 * compile may leave an output without both). */
bool sn_output_needs_targets(const sn_model *m, int k);
/* Whether output k's targets are class ids [rows] (sparse loss). */
bool sn_output_sparse_targets(const sn_model *m, int k);

/* Keras' stateful confusion metrics, AUC, Precision, Recall
 * (metrics_confusion.c). */
typedef struct sn_confusion sn_confusion;
bool sn_metric_is_stateful(sn_metric_kind kind);
/* The metric over one batch alone (sn_metric_compute). */
double sn_confusion_once(sn_metric_kind kind, size_t n, const float *pred,
                         const float *target, float threshold);
/* Zeroes (allocating on first use) the counts fit and evaluate keep per
 * (output, compiled metric); called at the start of every epoch and of
 * every evaluation. */
sn_status sn_metric_state_reset(sn_model *m);
void sn_metric_state_free(sn_model *m);
/* Adds one batch of output `output` to compiled metric `metric` and
 * returns the value over everything since the reset. */
double sn_metric_state_update(sn_model *m, int output, int metric, size_t n,
                              const float *pred, const float *target,
                              bool logits);
/* Whether log entry log_index (0 = loss) is such a metric: its epoch
 * value is its last value, not a mean over batches. */
bool sn_metric_log_is_stateful(const sn_model *m, int log_index);
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

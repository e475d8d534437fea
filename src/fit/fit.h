/*
 * fit.h - pieces of the high-level training loop shared between fit.c,
 * evaluate.c, history.c, progress.c and fit_monitors.c.
 */
#ifndef SN_FIT_H
#define SN_FIT_H

#include <stdio.h>

#include "train/train.h"

/* ---------------------------------------------------------------- history */
sn_history_t *sn_history_new(const sn_mem *mem, const char *const *keys,
                             int n_keys);
sn_status sn_history_append(sn_history_t *h, const double *row);
void sn_history_set_stopped(sn_history_t *h, int epoch);

/* ------------------------------------------------------------- progress */
/* A Keras-style progress bar on a FILE: redrawn in place on a terminal,
 * one line per epoch otherwise, nothing when out is NULL. */
typedef struct sn_progress {
    FILE *out;
    bool tty;
    int steps;             /* batches per epoch                        */
    double epoch_start;    /* seconds, monotonic                       */
    double last_draw;
} sn_progress;

void sn_progress_begin_epoch(sn_progress *p, FILE *out, int epoch,
                             int epochs, int steps);
/* After batch `step` (1-based) with the running logs. */
void sn_progress_update(sn_progress *p, int step, char *const *names,
                        const double *logs, int n_logs);
/* The epoch's final line, with validation logs appended. */
void sn_progress_end_epoch(sn_progress *p, char *const *names,
                           const double *logs, int n_logs,
                           char *const *val_names, const double *val_logs,
                           int n_val);
double sn_now_seconds(void);

/* ------------------------------------------------------------- batches */
/* Per-sample sizes of the data set's inputs and targets. */
typedef struct sn_data_layout {
    int n_inputs, n_outputs;
    size_t in_bytes[64];     /* bytes per sample of each input        */
    size_t out_count[64];    /* floats per sample of each target      */
    size_t pred_count[64];   /* floats per sample of each output      */
} sn_data_layout;

sn_status sn_data_layout_get(const sn_model *m, const sn_dataset *d,
                             bool need_targets, sn_data_layout *out,
                             const char *who);
/* Validates a data set's pointers against the model. */
sn_status sn_dataset_check(const sn_model *m, const sn_dataset *d,
                           bool need_targets, const char *who);

/* Metric values of the last forward (every name after "loss"). */
sn_status sn_compute_metrics(sn_model *m, int batch,
                             const float *const *targets, double *out);

/* Evaluates rows [first, first + n) of d: loss and metrics means. */
sn_status sn_evaluate_range(sn_model *m, const sn_dataset *d, int first,
                            int n, int batch_size, double *results);

/* ------------------------------------------------------------- monitors */
/* Keras' monitor comparisons: improvement beyond min_delta. */
typedef struct sn_monitor {
    int index;           /* into the epoch log row                  */
    bool maximise;
    double min_delta;
    double best;
} sn_monitor;

sn_status sn_monitor_init(sn_monitor *mon, const char *monitor,
                          sn_monitor_mode mode, double min_delta,
                          char *const *keys, int n_keys, const char *who);
bool sn_monitor_improved(const sn_monitor *mon, double value);

/* ------------------------------------------- data-parallel (fit_distributed.c) */
/* Global steps of an epoch of n rows at batch rows per process. */
int sn_fit_steps(const sn_model *m, int n, int batch);
/* This process's rows of global step `step`: order[first, first + count);
 * count may be 0 in a short last step. */
void sn_fit_shard(const sn_model *m, int n, int batch, int step, int *first,
                  int *count);
/* Every process has as many training and validation rows. */
sn_status sn_fit_check_same_data(sn_model *m, int n_train, int n_val);
/* Agrees on st, then sums[0 .. n_logs) and *seen over the processes. */
sn_status sn_fit_reduce_logs(sn_model *m, double *sums, int n_logs,
                             int *seen, sn_status st);
/* sn_evaluate_range, each process on its share, the means combined. */
sn_status sn_fit_evaluate(sn_model *m, const sn_dataset *d, int first, int n,
                          int batch_size, double *results);
/* Whether any process wants to stop (sets *st if the sum fails). */
bool sn_fit_agree_stop(sn_model *m, bool stop, sn_status *st);

#endif /* SN_FIT_H */

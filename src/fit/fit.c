/*
 * fit.c - sn_model_fit, Keras' fit loop: epochs of shuffled mini-batches
 * through sn_model_train_on_batch, running means of loss and metrics,
 * validation after every epoch, a history, callbacks, EarlyStopping,
 * ReduceLROnPlateau and ModelCheckpoint.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fit.h"

enum { MAX_IO = 64, MAX_LOGS = 256 };

typedef struct fit_state {
    sn_model *m;
    const sn_dataset *train;
    sn_fit_opts o;
    sn_data_layout lay;
    int n_train;                 /* training rows: [0, n_train)           */
    const sn_dataset *val;       /* NULL = no validation                  */
    int val_first, n_val;
    int *order;                  /* sample order of this epoch            */
    void *in_buf[MAX_IO];        /* one batch, gathered                   */
    float *tg_buf[MAX_IO];
    float *sw_buf;
    bool weighted;               /* sample or class weights in play       */
    char *keys[2 * MAX_LOGS + 1];/* history keys                          */
    int n_logs;                  /* loss + metrics                        */
    int n_keys;
    sn_history_t *history;
    /* EarlyStopping */
    bool es_on;
    sn_monitor es;
    sn_early_stopping_opts es_o;
    int es_wait;
    float *best_weights;
    bool have_best;
    /* ReduceLROnPlateau */
    bool rl_on;
    sn_monitor rl;
    sn_reduce_lr_opts rl_o;
    int rl_wait, rl_cooldown;
    /* ModelCheckpoint */
    bool ck_on;
    sn_monitor ck;
    sn_checkpoint_opts ck_o;
} fit_state;

/* ------------------------------------------------------------ setup */

static sn_status check_opts(fit_state *s)
{
    const sn_fit_opts *o = &s->o;
    if (o->epochs < 1 || o->batch_size < 1)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_fit: epochs (%d) and "
                       "batch_size (%d) must be >= 1", o->epochs,
                       o->batch_size);
    if (o->initial_epoch < 0 || o->initial_epoch >= o->epochs)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_fit: initial_epoch %d "
                       "must lie in [0, epochs = %d)", o->initial_epoch,
                       o->epochs);
    if (!(o->validation_split >= 0.0f && o->validation_split < 1.0f))
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_fit: validation_split "
                       "must lie in [0, 1), got %g",
                       (double)o->validation_split);
    if (o->class_weight != NULL && o->n_class_weight <= 0)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_fit: class_weight "
                       "given with n_class_weight = %d", o->n_class_weight);
    for (int c = 0; o->class_weight != NULL && c < o->n_class_weight; c++)
        if (!isfinite(o->class_weight[c]) || o->class_weight[c] < 0)
            return sn_fail(SN_ERR_INVALID_ARG, "sn_model_fit: "
                           "class_weight[%d] = %g", c,
                           (double)o->class_weight[c]);
    return SN_OK;
}

/* Keras: validation_split takes the last samples, before shuffling. */
static sn_status split_data(fit_state *s)
{
    int n = s->train->n_samples;
    s->n_train = n;
    if (s->o.validation_data != NULL) {
        sn_status st = sn_dataset_check(s->m, s->o.validation_data, true,
                                        "sn_model_fit (validation_data)");
        if (st != SN_OK)
            return st;
        s->val = s->o.validation_data;
        s->val_first = 0;
        s->n_val = s->val->n_samples;
        return SN_OK;
    }
    if (s->o.validation_split <= 0.0f)
        return SN_OK;
    int keep = (int)((double)n * (1.0 - (double)s->o.validation_split));
    if (keep < 1 || keep >= n)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_fit: validation_split "
                       "%g of %d samples leaves an empty part",
                       (double)s->o.validation_split, n);
    s->n_train = keep;
    s->val = s->train;
    s->val_first = keep;
    s->n_val = n - keep;
    return SN_OK;
}

static sn_status make_keys(fit_state *s)
{
    const sn_model *m = s->m;
    s->n_logs = m->n_metric_names;
    if (s->n_logs > MAX_LOGS)
        return sn_fail(SN_ERR_UNSUPPORTED, "sn_model_fit: at most %d "
                       "metrics", MAX_LOGS);
    int at = 0;
    for (int i = 0; i < s->n_logs; i++)
        s->keys[at++] = sn_mem_strdup(&s->m->mem, m->metric_names[i]);
    for (int i = 0; s->val != NULL && i < s->n_logs; i++) {
        char buf[320];
        snprintf(buf, sizeof buf, "val_%s", m->metric_names[i]);
        s->keys[at++] = sn_mem_strdup(&s->m->mem, buf);
    }
    s->keys[at++] = sn_mem_strdup(&s->m->mem, "lr");
    s->n_keys = at;
    for (int i = 0; i < at; i++)
        if (s->keys[i] == NULL)
            return SN_ERR_NOMEM;
    s->history = sn_history_new(&s->m->mem, (const char *const *)s->keys,
                                s->n_keys);
    return s->history != NULL ? SN_OK : SN_ERR_NOMEM;
}

static sn_status alloc_buffers(fit_state *s)
{
    const sn_mem *mem = &s->m->mem;
    size_t b = (size_t)s->o.batch_size;
    s->order = sn_mem_calloc(mem, (size_t)s->n_train, sizeof *s->order);
    if (s->order == NULL)
        return SN_ERR_NOMEM;
    for (int k = 0; k < s->lay.n_inputs; k++)
        if ((s->in_buf[k] = sn_mem_calloc(mem, b, s->lay.in_bytes[k])) == NULL)
            return SN_ERR_NOMEM;
    for (int k = 0; k < s->lay.n_outputs; k++)
        if ((s->tg_buf[k] = sn_mem_calloc(mem, b * s->lay.out_count[k],
                                          sizeof(float))) == NULL)
            return SN_ERR_NOMEM;
    s->weighted = s->train->sample_weights != NULL ||
                  s->o.class_weight != NULL;
    if (s->weighted &&
        (s->sw_buf = sn_mem_calloc(mem, b, sizeof(float))) == NULL)
        return SN_ERR_NOMEM;
    return SN_OK;
}

static sn_status setup_monitors(fit_state *s)
{
    sn_status st = SN_OK;
    if (s->o.early_stopping != NULL) {
        sn_early_stopping_opts d = SN_EARLY_STOPPING_OPTS_INIT;
        st = sn_opts_merge(&d, sizeof d, s->o.early_stopping,
                           "sn_model_fit (early_stopping)");
        if (st == SN_OK && d.patience < 0)
            st = sn_fail(SN_ERR_INVALID_ARG, "sn_model_fit: early stopping "
                         "patience must be >= 0");
        if (st == SN_OK)
            st = sn_monitor_init(&s->es, d.monitor, d.mode, d.min_delta,
                                 s->keys, s->n_keys, "early_stopping");
        if (st == SN_OK && d.restore_best_weights)
            s->best_weights = sn_mem_calloc(&s->m->mem, s->m->n_values,
                                            sizeof(float));
        if (st == SN_OK && d.restore_best_weights && !s->best_weights)
            st = SN_ERR_NOMEM;
        s->es_o = d;
        s->es_on = st == SN_OK;
    }
    if (st == SN_OK && s->o.reduce_lr != NULL) {
        sn_reduce_lr_opts d = SN_REDUCE_LR_OPTS_INIT;
        st = sn_opts_merge(&d, sizeof d, s->o.reduce_lr,
                           "sn_model_fit (reduce_lr)");
        if (st == SN_OK && !(d.factor > 0.0f && d.factor < 1.0f))
            st = sn_fail(SN_ERR_INVALID_ARG, "sn_model_fit: reduce_lr factor "
                         "must lie in (0, 1), got %g", (double)d.factor);
        if (st == SN_OK && (d.patience < 0 || d.cooldown < 0 ||
                            !(d.min_lr >= 0.0f)))
            st = sn_fail(SN_ERR_INVALID_ARG, "sn_model_fit: reduce_lr "
                         "patience, cooldown and min_lr must be >= 0");
        if (st == SN_OK)
            st = sn_monitor_init(&s->rl, d.monitor, d.mode, d.min_delta,
                                 s->keys, s->n_keys, "reduce_lr");
        s->rl_o = d;
        s->rl_on = st == SN_OK;
    }
    if (st == SN_OK && s->o.checkpoint != NULL) {
        sn_checkpoint_opts d = SN_CHECKPOINT_OPTS_INIT;
        st = sn_opts_merge(&d, sizeof d, s->o.checkpoint,
                           "sn_model_fit (checkpoint)");
        if (st == SN_OK && (d.path == NULL || d.path[0] == '\0'))
            st = sn_fail(SN_ERR_INVALID_ARG, "sn_model_fit: checkpoint path "
                         "is empty");
        if (st == SN_OK && d.save_best_only)
            st = sn_monitor_init(&s->ck, d.monitor, d.mode, 0.0, s->keys,
                                 s->n_keys, "checkpoint");
        s->ck_o = d;
        s->ck_on = st == SN_OK;
    }
    return st;
}

static void teardown(fit_state *s)
{
    const sn_mem *mem = &s->m->mem;
    sn_mem_free(mem, s->order);
    for (int k = 0; k < MAX_IO; k++) {
        sn_mem_free(mem, s->in_buf[k]);
        sn_mem_free(mem, s->tg_buf[k]);
    }
    sn_mem_free(mem, s->sw_buf);
    for (int i = 0; i < s->n_keys; i++)
        sn_mem_free(mem, s->keys[i]);
    sn_mem_free(mem, s->best_weights);
}

/* ------------------------------------------------------------ batches */

/* Keras-style shuffling: a fresh permutation every epoch, from the model
 * seed and the epoch number, so a resumed run shuffles identically. */
static void order_epoch(fit_state *s, int epoch)
{
    for (int i = 0; i < s->n_train; i++)
        s->order[i] = i;
    if (!s->o.shuffle)
        return;
    sn_rng rng;
    sn_rng_seed(&rng, sn_rng_derive(s->m->seed ^ 0x73687566666c65ULL,
                                    (uint64_t)epoch));
    for (int i = s->n_train - 1; i > 0; i--) {
        int j = (int)sn_rng_below(&rng, (uint64_t)i + 1);
        int t = s->order[i];
        s->order[i] = s->order[j];
        s->order[j] = t;
    }
}

/* The class a sample belongs to, for class_weight: its sparse id, its
 * rounded binary label, or the argmax of its one-hot target. */
static sn_status sample_class(const fit_state *s, int row, int *cls)
{
    const float *y = s->train->targets[0] + (size_t)row * s->lay.out_count[0];
    size_t n = s->lay.out_count[0];
    bool sparse = s->m->loss.kind == SN_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
    int c = 0;
    if (sparse || n == 1) {
        c = sparse ? (int)y[0] : (y[0] >= 0.5f ? 1 : 0);
    } else {
        int cols = (int)s->lay.pred_count[0];
        for (int j = 1; j < cols; j++)
            if (y[j] > y[c])
                c = j;
    }
    if (c < 0 || c >= s->o.n_class_weight)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_fit: sample %d has "
                       "class %d but class_weight has %d entries", row, c,
                       s->o.n_class_weight);
    *cls = c;
    return SN_OK;
}

static sn_status gather(fit_state *s, int start, int b)
{
    const sn_dataset *d = s->train;
    for (int i = 0; i < b; i++) {
        int row = s->order[start + i];
        for (int k = 0; k < s->lay.n_inputs; k++)
            memcpy((char *)s->in_buf[k] + (size_t)i * s->lay.in_bytes[k],
                   (const char *)d->inputs[k] +
                       (size_t)row * s->lay.in_bytes[k],
                   s->lay.in_bytes[k]);
        for (int k = 0; k < s->lay.n_outputs; k++)
            memcpy(s->tg_buf[k] + (size_t)i * s->lay.out_count[k],
                   d->targets[k] + (size_t)row * s->lay.out_count[k],
                   s->lay.out_count[k] * sizeof(float));
        if (!s->weighted)
            continue;
        float w = d->sample_weights != NULL ? d->sample_weights[row] : 1.0f;
        if (s->o.class_weight != NULL) {
            int c = 0;
            sn_status st = sample_class(s, row, &c);
            if (st != SN_OK)
                return st;
            w *= s->o.class_weight[c];
        }
        s->sw_buf[i] = w;
    }
    return SN_OK;
}

/* ------------------------------------------------------------ epochs */

static sn_status train_epoch(fit_state *s, int epoch, double *logs,
                             bool *stop)
{
    sn_model *m = s->m;
    int steps = sn_fit_steps(m, s->n_train, s->o.batch_size);
    sn_progress bar;
    sn_progress_begin_epoch(&bar, s->o.progress, epoch, s->o.epochs, steps);
    order_epoch(s, epoch);
    double sums[MAX_LOGS] = { 0 }, batch_logs[MAX_LOGS];
    int seen = 0;
    /* data-parallel: a failure after this step's collective waits for the
     * next one, so that every process stops at the same call */
    sn_status pending = SN_OK;
    for (int step = 0; step < steps && !*stop; step++) {
        int start, b;
        sn_fit_shard(m, s->n_train, s->o.batch_size, step, &start, &b);
        sn_status st = pending;
        if (st == SN_OK && b > 0)
            st = gather(s, start, b);
        if (st == SN_OK && b > 0)
            st = sn_model_train_on_batch(m, b, (const void *const *)s->in_buf,
                                         s->train->timesteps,
                                         (const float *const *)s->tg_buf,
                                         s->weighted ? s->sw_buf : NULL,
                                         &batch_logs[0]);
        else if (sn_collectives_on(m))
            st = sn_collectives_empty_step(m, st);
        if (st == SN_OK && b > 0) {
            st = sn_compute_metrics(m, b, (const float *const *)s->tg_buf,
                                    &batch_logs[1]);
            if (st != SN_OK && sn_collectives_on(m)) {
                pending = st;
                continue;
            }
        }
        if (st != SN_OK) {
            if (bar.out != NULL && bar.tty)
                fputc('\n', bar.out);
            return st;
        }
        seen += b;
        for (int i = 0; i < s->n_logs; i++) {
            sums[i] += batch_logs[i] * b;
            logs[i] = seen > 0 ? sums[i] / seen : 0.0;
        }
        sn_progress_update(&bar, step + 1, s->keys, logs, s->n_logs);
        if (s->o.on_batch_end != NULL)
            *stop = sn_fit_agree_stop(m, s->o.on_batch_end(s->o.user, epoch,
                                                           step, logs,
                                                           s->n_logs) != 0,
                                      &st);
        if (st != SN_OK)
            return st;
    }
    sn_status st = sn_fit_reduce_logs(m, sums, s->n_logs, &seen, pending);
    if (st != SN_OK)
        return st;
    for (int i = 0; i < s->n_logs; i++)
        logs[i] = sums[i] / seen;
    double *val_logs = logs + s->n_logs;
    if (s->val != NULL) {
        st = sn_fit_evaluate(m, s->val, s->val_first, s->n_val,
                             s->o.batch_size, val_logs);
        if (st != SN_OK)
            return st;
    }
    sn_progress_end_epoch(&bar, s->keys, logs, s->n_logs, s->keys, val_logs,
                          s->val != NULL ? s->n_logs : 0);
    return SN_OK;
}

static sn_status checkpoint(fit_state *s, const double *row)
{
    if (!s->ck_on)
        return SN_OK;
    if (s->ck_o.save_best_only) {
        if (!sn_monitor_improved(&s->ck, row[s->ck.index]))
            return SN_OK;
        s->ck.best = row[s->ck.index];
    }
    if (sn_collectives_rank(s->m) != 0)   /* data-parallel: one writer */
        return SN_OK;
    return sn_model_save(s->m, s->ck_o.path, s->ck_o.include_optimizer);
}

/* Keras ReduceLROnPlateau.on_epoch_end. */
static sn_status reduce_lr(fit_state *s, const double *row)
{
    if (!s->rl_on)
        return SN_OK;
    double current = row[s->rl.index];
    bool cooling = s->rl_cooldown > 0;
    if (cooling) {
        s->rl_cooldown--;
        s->rl_wait = 0;
    }
    if (sn_monitor_improved(&s->rl, current)) {
        s->rl.best = current;
        s->rl_wait = 0;
    } else if (!cooling && ++s->rl_wait >= s->rl_o.patience) {
        double lr = sn_optimizer_learning_rate(s->m->optimizer);
        if (lr > (double)s->rl_o.min_lr) {
            double next = lr * (double)s->rl_o.factor;
            if (next < (double)s->rl_o.min_lr)
                next = (double)s->rl_o.min_lr;
            sn_status st = sn_optimizer_set_learning_rate(s->m->optimizer,
                                                          next);
            if (st != SN_OK)
                return st;
            s->rl_cooldown = s->rl_o.cooldown;
            s->rl_wait = 0;
        }
    }
    return SN_OK;
}

/* Keras EarlyStopping.on_epoch_end; returns true to stop. */
static bool early_stop(fit_state *s, int epoch, const double *row)
{
    if (!s->es_on || epoch - s->o.initial_epoch < s->es_o.start_from_epoch)
        return false;
    double current = row[s->es.index];
    if (s->best_weights != NULL && !s->have_best) {
        memcpy(s->best_weights, s->m->values, s->m->n_values * sizeof(float));
        s->have_best = true;
    }
    s->es_wait++;
    if (sn_monitor_improved(&s->es, current)) {
        s->es.best = current;
        if (s->best_weights != NULL)
            memcpy(s->best_weights, s->m->values,
                   s->m->n_values * sizeof(float));
        s->es_wait = 0;
        return false;
    }
    return s->es_wait >= s->es_o.patience && epoch > 0;
}

static sn_status run_epochs(fit_state *s)
{
    double row[2 * MAX_LOGS + 1];
    bool stop = false;
    for (int epoch = s->o.initial_epoch; epoch < s->o.epochs && !stop;
         epoch++) {
        double lr = sn_optimizer_learning_rate(s->m->optimizer);
        sn_status st = train_epoch(s, epoch, row, &stop);
        if (st != SN_OK)
            return st;
        row[s->n_keys - 1] = lr;
        st = sn_history_append(s->history, row);
        if (st == SN_OK)
            st = checkpoint(s, row);
        if (st == SN_OK)
            st = reduce_lr(s, row);
        st = sn_collectives_agree(s->m, st, "sn_model_fit");
        if (st != SN_OK)
            return st;
        if (early_stop(s, epoch, row)) {
            stop = true;
            sn_history_set_stopped(s->history, epoch);
        }
        if (s->o.on_epoch_end != NULL &&
            sn_fit_agree_stop(s->m, s->o.on_epoch_end(s->o.user, epoch,
                                                      s->history) != 0, &st))
            stop = true;
        if (st != SN_OK)
            return st;
    }
    if (s->best_weights != NULL && s->have_best)
        memcpy(s->m->values, s->best_weights, s->m->n_values * sizeof(float));
    return SN_OK;
}

SN_API sn_status sn_model_fit(sn_model_t *m, const sn_dataset *train,
                              const sn_fit_opts *opts,
                              sn_history_t **history)
{
    if (history != NULL)
        *history = NULL;
    if (m == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_fit: model is NULL");
    if (!m->compiled)
        return sn_fail(SN_ERR_STATE, "sn_model_fit: compile the model "
                       "first (sn_model_compile)");
    fit_state s;
    memset(&s, 0, sizeof s);
    s.m = m;
    s.train = train;
    s.o = (sn_fit_opts)SN_FIT_OPTS_INIT;
    sn_status st = sn_opts_merge(&s.o, sizeof s.o, opts, "sn_model_fit");
    if (st == SN_OK)
        st = check_opts(&s);
    if (st == SN_OK)
        st = sn_dataset_check(m, train, true, "sn_model_fit");
    if (st == SN_OK)
        st = sn_data_layout_get(m, train, true, &s.lay, "sn_model_fit");
    if (st == SN_OK)
        st = split_data(&s);
    if (sn_collectives_rank(m) != 0)   /* data-parallel: one printer */
        s.o.progress = NULL;
    if (st == SN_OK)
        st = make_keys(&s);
    if (st == SN_OK)
        st = alloc_buffers(&s);
    if (st == SN_OK)
        st = setup_monitors(&s);
    /* data-parallel: a set-up failure on one process stops all of them */
    st = sn_collectives_agree(m, st, "sn_model_fit");
    if (st == SN_OK)
        st = sn_fit_check_same_data(m, s.n_train, s.n_val);
    if (st == SN_OK)
        st = run_epochs(&s);
    teardown(&s);
    if (history != NULL)
        *history = s.history;
    else
        sn_history_free(s.history);
    return st;
}

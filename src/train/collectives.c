/*
 * collectives.c - data-parallel training without a transport of its own:
 * sn_model_set_collectives makes the model one replica of a group, copies
 * process 0's state to every process, and the step below averages the
 * gradient over the group between backward and the optimizer step.  The
 * hooks (sum, broadcast) come from the caller, e.g. libseqnet-mpi.
 *
 * Protocol of one training step, identical on every process:
 *   1. sum_f64 over 4 doubles: [batch, failed, status if failed, rank+1 if
 *      failed]; a process whose forward, loss or backward failed still
 *      takes part, so a failure anywhere stops the step everywhere instead
 *      of leaving the others waiting in the next call;
 *   2. if nobody failed: scale this process's gradient (the mean over its
 *      batch b_r) by b_r / B, B = sum of the b_r, and sum_f32 over the whole
 *      gradient array (m->grads holds every weight's gradient contiguously:
 *      one call, however many tensors).  The result is the gradient of the
 *      mean loss over all B samples, as one process at batch B computes it;
 *      regularisation terms, equal on every process, stay unchanged.
 */
#include <string.h>

#include "train.h"

enum { STEP_BATCH, STEP_FAILED, STEP_CODE, STEP_RANK, STEP_SLOTS };

bool sn_collectives_on(const sn_model *m)
{
    return m->collectives.world > 1;
}

int sn_collectives_rank(const sn_model *m)
{
    return sn_collectives_on(m) ? m->collectives.rank : 0;
}

int sn_collectives_world(const sn_model *m)
{
    return sn_collectives_on(m) ? m->collectives.world : 1;
}

sn_status sn_collectives_sum(sn_model *m, double *values, size_t n,
                             const char *who)
{
    if (!sn_collectives_on(m))
        return SN_OK;
    const sn_collectives *c = &m->collectives;
    sn_status st = c->sum_f64(c->user, values, n);
    return st == SN_OK ? SN_OK
                       : sn_fail(st, "%s: the collective sum failed", who);
}

/* The status a failure elsewhere is reported with: the failing process's
 * own when one failed (or all that failed agree), SN_ERR_STATE otherwise. */
static sn_status remote_failure(const double *v, int world, const char *who)
{
    double failed = v[STEP_FAILED];
    double code = v[STEP_CODE] / failed;
    sn_status st = code == (double)(int)code && code < 0 ? (sn_status)code
                                                         : SN_ERR_STATE;
    if (failed == 1.0)
        return sn_fail(st, "%s: process %d of %d failed (status %d; its own "
                       "error says why); stopped on every process", who,
                       (int)v[STEP_RANK] - 1, world, (int)st);
    return sn_fail(st, "%s: %d of %d processes failed; stopped on every "
                   "process", who, (int)failed, world);
}

/* Agrees on success: st on the process it happened on, every other
 * process gets an error naming the one that failed. */
static sn_status agree_slots(sn_model *m, double *v, sn_status st,
                             const char *who)
{
    if (st != SN_OK) {
        v[STEP_FAILED] = 1.0;
        v[STEP_CODE] = (double)st;
        v[STEP_RANK] = (double)m->collectives.rank + 1.0;
    }
    char msg[400];
    snprintf(msg, sizeof msg, "%s", st != SN_OK ? sn_last_error() : "");
    sn_status cs = sn_collectives_sum(m, v, STEP_SLOTS, who);
    if (st != SN_OK)   /* our own error, with our own message */
        return sn_fail(st, "%s", msg);
    if (cs != SN_OK)
        return cs;
    return v[STEP_FAILED] > 0.0
               ? remote_failure(v, m->collectives.world, who) : SN_OK;
}

sn_status sn_collectives_agree(sn_model *m, sn_status st, const char *who)
{
    if (!sn_collectives_on(m))
        return st;
    double v[STEP_SLOTS] = { 0 };
    return agree_slots(m, v, st, who);
}

sn_status sn_collectives_average_grads(sn_model *m, int batch, sn_status st)
{
    if (!sn_collectives_on(m))
        return st;
    const char *who = "sn_model_train_on_batch";
    double v[STEP_SLOTS] = { 0 };
    v[STEP_BATCH] = st == SN_OK ? (double)batch : 0.0;
    st = agree_slots(m, v, st, who);
    if (st != SN_OK)
        return st;
    if (!(v[STEP_BATCH] > 0.0))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: no process had a sample in "
                       "this step", who);
    float scale = (float)((double)batch / v[STEP_BATCH]);
    for (size_t i = 0; i < m->n_values; i++)
        m->grads[i] *= scale;
    const sn_collectives *c = &m->collectives;
    st = c->sum_f32(c->user, m->grads, m->n_values);
    return st == SN_OK ? SN_OK
                       : sn_fail(st, "%s: the gradient allreduce failed", who);
}

sn_status sn_collectives_empty_step(sn_model *m, sn_status st)
{
    if (st == SN_OK)
        st = sn_model_zero_grad(m);
    st = sn_collectives_average_grads(m, 0, st);
    if (st == SN_OK)
        st = sn_optimizer_step(m->optimizer, m);
    return st;
}

/* ------------------------------------------------------------- attach */

static sn_status broadcast(sn_model *m, void *data, size_t bytes)
{
    const sn_collectives *c = &m->collectives;
    sn_status st = c->broadcast(c->user, data, bytes);
    return st == SN_OK ? SN_OK
                       : sn_fail(st, "sn_model_set_collectives: the "
                                 "broadcast failed");
}

/* Process 0's optimizer state, when it has any, replaces the others'. */
static sn_status share_optimizer(sn_model *m)
{
    size_t bound = 0;
    uint64_t len = 0;
    sn_writer w;
    sn_writer_init(&w, &m->mem);
    sn_status st = SN_OK;
    if (m->collectives.rank == 0 && m->optimizer != NULL &&
        sn_optimizer_bound_count(m->optimizer, &bound)) {
        st = sn_optimizer_save_state(m->optimizer, &w);
        if (st == SN_OK)
            st = w.status;
        len = st == SN_OK ? (uint64_t)w.len : 0;
    }
    st = sn_collectives_agree(m, st, "sn_model_set_collectives");
    if (st == SN_OK)
        st = broadcast(m, &len, sizeof len);
    uint8_t *buf = NULL;
    if (st == SN_OK && len > 0 && m->collectives.rank != 0) {
        buf = sn_mem_alloc(&m->mem, (size_t)len);
        st = buf != NULL ? SN_OK : SN_ERR_NOMEM;
    }
    if (st == SN_OK && len > 0)
        st = sn_collectives_agree(m, st, "sn_model_set_collectives");
    if (st == SN_OK && len > 0)
        st = broadcast(m, m->collectives.rank == 0 ? w.data : buf,
                       (size_t)len);
    sn_optimizer_t *opt = NULL;
    if (st == SN_OK && buf != NULL) {
        sn_reader r;
        sn_reader_init(&r, buf, (size_t)len);
        st = sn_optimizer_load_state(&r, &m->mem, &opt);
    }
    if (st == SN_OK && len > 0)
        st = sn_collectives_agree(m, st, "sn_model_set_collectives");
    if (st == SN_OK && opt != NULL) {
        sn_optimizer_free(m->optimizer);
        m->optimizer = opt;
        opt = NULL;
    }
    sn_optimizer_free(opt);
    sn_mem_free(&m->mem, buf);
    sn_writer_free(&w);
    return st;
}

static sn_status check_collectives(const sn_collectives *c)
{
    if (c->size < sizeof(sn_collectives))
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_set_collectives: .size "
                       "is %zu (initialise with SN_COLLECTIVES_INIT)",
                       c->size);
    if (c->world < 1 || c->rank < 0 || c->rank >= c->world)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_set_collectives: rank "
                       "%d of world %d", c->rank, c->world);
    if (c->world > 1 && (c->sum_f64 == NULL || c->sum_f32 == NULL ||
                         c->broadcast == NULL))
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_set_collectives: a hook "
                       "is NULL");
    return SN_OK;
}

/* Copies process 0's weights, seed, pass counter and optimizer state; checks
 * first that every process has as many weights as process 0. */
static sn_status share_state(sn_model *m)
{
    uint64_t n = (uint64_t)m->n_values;
    sn_status st = broadcast(m, &n, sizeof n);
    if (st != SN_OK)
        return st;
    if (n != (uint64_t)m->n_values)
        st = sn_fail(SN_ERR_INVALID_ARG, "sn_model_set_collectives: this "
                     "process's model has %zu weights, process 0's has %llu",
                     m->n_values, (unsigned long long)n);
    st = sn_collectives_agree(m, st, "sn_model_set_collectives");
    if (st == SN_OK && m->n_values > 0)
        st = broadcast(m, m->values, m->n_values * sizeof(float));
    /* the seed orders fit's shuffles: one permutation for the group */
    uint64_t passes = m->forward_calls;
    if (st == SN_OK)
        st = broadcast(m, &m->seed, sizeof m->seed);
    if (st == SN_OK)
        st = broadcast(m, &passes, sizeof passes);
    /* disjoint dropout streams: rank r draws pass numbers r * 2^40 + k */
    m->forward_calls = passes + ((uint64_t)m->collectives.rank << 40);
    if (st == SN_OK && m->compiled)
        st = share_optimizer(m);
    return st;
}

SN_API sn_status sn_model_set_collectives(sn_model_t *m,
                                          const sn_collectives *c)
{
    if (m == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_set_collectives: model "
                       "is NULL");
    memset(&m->collectives, 0, sizeof m->collectives);
    if (c == NULL)
        return SN_OK;
    sn_status st = check_collectives(c);
    if (st != SN_OK)
        return st;
    if (c->world == 1)
        return SN_OK;
    st = sn_model_build(m);   /* the weights must exist to be shared */
    if (st != SN_OK)
        return st;
    m->collectives = *c;
    st = share_state(m);
    if (st != SN_OK)
        memset(&m->collectives, 0, sizeof m->collectives);
    return st;
}

/*
 * optimizer.c - SGD, Adam, AdamW, RMSprop, Adagrad (and, through
 * optimizer_more.c, Nadam and Adamax) with the update rules
 * of Keras 3 (keras/src/optimizers/), their options, binding to a
 * model, the step, and saving / loading their state.
 *
 * Element updates are computed in float, as Keras does on float32
 * variables; per-step scalars (bias corrections, rates) in double and
 * rounded once.  See docs/OPTIMIZERS.md.
 */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "optimizer_impl.h"

/* Slot indices per kind (fixed, so save/load and the step agree). */
enum {
    SGD_MOM = 0,
    ADAM_M = 0, ADAM_V = 1, ADAM_VHAT = 2,
    RMS_V = 0, RMS_MOM = 1, RMS_MG = 2,
    ADAGRAD_ACC = 0,
    NADAM_M = 0, NADAM_V = 1,
    ADAMAX_M = 0, ADAMAX_U = 1
};

#define OPT_STATE_MAGIC 0x504f4e53u /* "SNOP" little-endian */
#define OPT_STATE_VERSION 1u

static bool kind_valid(int kind)
{
    return kind >= SN_SGD && kind <= SN_ADAMAX;
}

static const char *kind_name(sn_optimizer_kind kind)
{
    switch (kind) {
    case SN_SGD: return "SGD";
    case SN_ADAM: return "Adam";
    case SN_ADAMW: return "AdamW";
    case SN_RMSPROP: return "RMSprop";
    case SN_ADAGRAD: return "Adagrad";
    case SN_NADAM: return "Nadam";
    case SN_ADAMAX: return "Adamax";
    }
    return "?";
}

static void fill_defaults(sn_optimizer_kind kind, sn_optimizer_opts *o)
{
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->kind = kind;
    o->learning_rate = kind == SN_SGD ? 0.01f : 0.001f;
    o->momentum = 0.0f;
    o->nesterov = 0;
    o->beta_1 = 0.9f;
    o->beta_2 = 0.999f;
    o->epsilon = 1e-7f;
    o->amsgrad = 0;
    o->weight_decay = kind == SN_ADAMW ? 0.004f : 0.0f;
    o->rho = 0.9f;
    o->centered = 0;
    o->initial_accumulator_value = 0.1f;
    o->clipnorm = 0.0f;
    o->clipvalue = 0.0f;
    o->global_clipnorm = 0.0f;
}

SN_API sn_status sn_optimizer_defaults(sn_optimizer_kind kind,
                                       sn_optimizer_opts *opts)
{
    if (opts == NULL)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "sn_optimizer_defaults: opts is NULL");
    if (!kind_valid((int)kind))
        return sn_fail(SN_ERR_INVALID_ARG,
                       "sn_optimizer_defaults: unknown optimizer kind %d",
                       (int)kind);
    fill_defaults(kind, opts);
    return SN_OK;
}

/* Whether slot k holds state for these options. */
static bool slot_used(const sn_optimizer_opts *o, int k)
{
    switch (o->kind) {
    case SN_SGD:
        return k == SGD_MOM && o->momentum > 0.0f;
    case SN_ADAM:
    case SN_ADAMW:
        return k == ADAM_M || k == ADAM_V || (k == ADAM_VHAT && o->amsgrad);
    case SN_RMSPROP:
        return k == RMS_V || (k == RMS_MOM && o->momentum > 0.0f) ||
               (k == RMS_MG && o->centered);
    case SN_ADAGRAD:
        return k == ADAGRAD_ACC;
    case SN_NADAM:
        return k == NADAM_M || k == NADAM_V;
    case SN_ADAMAX:
        return k == ADAMAX_M || k == ADAMAX_U;
    }
    return false;
}

/* Whether slot k must hold values >= 0 (second moments, accumulators). */
static bool slot_nonnegative(const sn_optimizer_opts *o, int k)
{
    switch (o->kind) {
    case SN_ADAM:
    case SN_ADAMW:
        return k == ADAM_V || k == ADAM_VHAT;
    case SN_RMSPROP:
        return k == RMS_V;
    case SN_ADAGRAD:
        return k == ADAGRAD_ACC;
    case SN_NADAM:
        return k == NADAM_V;
    case SN_ADAMAX:
        return k == ADAMAX_U;
    default:
        return false;
    }
}

static int used_slot_count(const sn_optimizer_opts *o)
{
    int n = 0;
    for (int k = 0; k < SN_OPT_MAX_SLOTS; k++)
        n += slot_used(o, k);
    return n;
}

static bool finite_ge0(float v) { return isfinite(v) && v >= 0.0f; }
static bool finite_gt0(float v) { return isfinite(v) && v > 0.0f; }
static bool unit_open(float v) { return isfinite(v) && v >= 0.0f && v < 1.0f; }

/* Checks merged options of a known kind; flags must already be 0 or 1. */
static sn_status check_opts(const sn_optimizer_opts *o, const char *who)
{
    sn_optimizer_kind k = o->kind;
    if (!finite_gt0(o->learning_rate))
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: learning_rate must be > 0 and finite (got %g)",
                       who, (double)o->learning_rate);
    if ((k == SN_SGD || k == SN_RMSPROP) && !unit_open(o->momentum))
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: momentum must be in [0, 1) (got %g)", who,
                       (double)o->momentum);
    if (k == SN_ADAM || k == SN_ADAMW || k == SN_NADAM || k == SN_ADAMAX) {
        if (!unit_open(o->beta_1))
            return sn_fail(SN_ERR_INVALID_ARG,
                           "%s: beta_1 must be in [0, 1) (got %g)", who,
                           (double)o->beta_1);
        if (!unit_open(o->beta_2))
            return sn_fail(SN_ERR_INVALID_ARG,
                           "%s: beta_2 must be in [0, 1) (got %g)", who,
                           (double)o->beta_2);
    }
    if (k != SN_SGD && !finite_gt0(o->epsilon))
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: epsilon must be > 0 and finite (got %g)", who,
                       (double)o->epsilon);
    if (k == SN_RMSPROP && !unit_open(o->rho))
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: rho must be in [0, 1) (got %g)", who,
                       (double)o->rho);
    if (k == SN_ADAGRAD && !finite_ge0(o->initial_accumulator_value))
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: initial_accumulator_value must be >= 0 and "
                       "finite (got %g)", who,
                       (double)o->initial_accumulator_value);
    if (!finite_ge0(o->weight_decay))
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: weight_decay must be >= 0 and finite (got %g)",
                       who, (double)o->weight_decay);
    if (!finite_ge0(o->clipnorm))
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: clipnorm must be >= 0 and finite (got %g)", who,
                       (double)o->clipnorm);
    if (!finite_ge0(o->clipvalue))
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: clipvalue must be >= 0 and finite (got %g)", who,
                       (double)o->clipvalue);
    if (!finite_ge0(o->global_clipnorm))
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: global_clipnorm must be >= 0 and finite (got %g)",
                       who, (double)o->global_clipnorm);
    int n_clip = (o->clipnorm > 0.0f) + (o->clipvalue > 0.0f) +
                 (o->global_clipnorm > 0.0f);
    if (n_clip > 1)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: only one of clipnorm, clipvalue and "
                       "global_clipnorm may be set (got %g, %g, %g)", who,
                       (double)o->clipnorm, (double)o->clipvalue,
                       (double)o->global_clipnorm);
    return SN_OK;
}

static sn_optimizer_t *alloc_optimizer(const sn_mem *mem,
                                       const sn_optimizer_opts *o)
{
    sn_optimizer_t *opt = sn_mem_calloc(mem, 1, sizeof *opt);
    if (opt == NULL)
        return NULL;
    opt->mem = *mem;
    opt->o = *o;
    opt->n_slots = used_slot_count(o);
    return opt;
}

SN_API sn_optimizer_t *sn_optimizer_new(const sn_optimizer_opts *opts)
{
    static const char who[] = "sn_optimizer_new";
    if (opts == NULL) {
        sn_fail(SN_ERR_INVALID_ARG, "%s: opts is NULL", who);
        return NULL;
    }
    size_t size;
    memcpy(&size, opts, sizeof size);
    size_t need = offsetof(sn_optimizer_opts, kind) + sizeof opts->kind;
    if (size < need || size > sizeof(sn_optimizer_opts)) {
        sn_fail(SN_ERR_INVALID_ARG,
                "%s: options .size is %zu, expected %zu (fill the options "
                "with sn_optimizer_defaults)", who, size,
                sizeof(sn_optimizer_opts));
        return NULL;
    }
    sn_optimizer_kind kind;
    memcpy(&kind, (const char *)opts + offsetof(sn_optimizer_opts, kind),
           sizeof kind);
    if (!kind_valid((int)kind)) {
        sn_fail(SN_ERR_INVALID_ARG, "%s: unknown optimizer kind %d", who,
                (int)kind);
        return NULL;
    }
    sn_optimizer_opts o;
    fill_defaults(kind, &o);
    if (sn_opts_merge(&o, sizeof o, opts, who) != SN_OK)
        return NULL;
    o.nesterov = o.nesterov != 0;
    o.amsgrad = o.amsgrad != 0;
    o.centered = o.centered != 0;
    if (check_opts(&o, who) != SN_OK)
        return NULL;
    sn_mem mem = sn_mem_current();
    return alloc_optimizer(&mem, &o);
}

static void free_slots(sn_optimizer_t *opt)
{
    for (int k = 0; k < SN_OPT_MAX_SLOTS; k++) {
        sn_mem_free(&opt->mem, opt->slot[k]);
        opt->slot[k] = NULL;
    }
    opt->bound = false;
    opt->bound_n = 0;
}

SN_API void sn_optimizer_free(sn_optimizer_t *opt)
{
    if (opt == NULL)
        return;
    free_slots(opt);
    sn_mem mem = opt->mem;
    sn_mem_free(&mem, opt);
}

sn_optimizer_t *sn_optimizer_clone_config(const sn_optimizer_t *opt)
{
    if (opt == NULL) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_optimizer_clone_config: optimizer "
                "is NULL");
        return NULL;
    }
    sn_optimizer_t *c = alloc_optimizer(&opt->mem, &opt->o);
    if (c == NULL)
        return NULL;
    c->has_schedule = opt->has_schedule;
    c->sched = opt->sched;
    return c;
}

/* Allocates the used slot arrays for n values (Adagrad's accumulator
 * starts at initial_accumulator_value, everything else at 0). */
static sn_status alloc_slots(sn_optimizer_t *opt, size_t n)
{
    for (int k = 0; k < SN_OPT_MAX_SLOTS; k++) {
        if (!slot_used(&opt->o, k))
            continue;
        opt->slot[k] = sn_mem_calloc(&opt->mem, n, sizeof(float));
        if (opt->slot[k] == NULL) {
            free_slots(opt);
            return SN_ERR_NOMEM;
        }
    }
    if (opt->o.kind == SN_ADAGRAD) {
        float init = opt->o.initial_accumulator_value;
        for (size_t j = 0; j < n; j++)
            opt->slot[ADAGRAD_ACC][j] = init;
    }
    opt->bound = true;
    opt->bound_n = n;
    return SN_OK;
}

/* -------------------------------------------------------------- updates */

static void update_sgd(const sn_optimizer_t *opt, float lr, float *w,
                       const float *g, float *mom, size_t n)
{
    float mu = opt->o.momentum;
    if (mu > 0.0f) {
        if (opt->o.nesterov) {
            for (size_t j = 0; j < n; j++) {
                mom[j] = mu * mom[j] - lr * g[j];
                w[j] += mu * mom[j] - lr * g[j];
            }
        } else {
            for (size_t j = 0; j < n; j++) {
                mom[j] = mu * mom[j] - lr * g[j];
                w[j] += mom[j];
            }
        }
    } else {
        for (size_t j = 0; j < n; j++)
            w[j] -= lr * g[j];
    }
}

static void update_adam(const sn_optimizer_t *opt, float alpha, float *w,
                        const float *g, float *m, float *v, float *vhat,
                        size_t n)
{
    float b1c = 1.0f - opt->o.beta_1, b2c = 1.0f - opt->o.beta_2;
    float eps = opt->o.epsilon;
    for (size_t j = 0; j < n; j++) {
        m[j] += (g[j] - m[j]) * b1c;
        v[j] += (g[j] * g[j] - v[j]) * b2c;
        float vv = v[j];
        if (vhat != NULL) {
            if (vv > vhat[j])
                vhat[j] = vv;
            vv = vhat[j];
        }
        w[j] -= alpha * m[j] / (sqrtf(vv) + eps);
    }
}

static void update_rmsprop(const sn_optimizer_t *opt, float lr, float *w,
                           const float *g, float *v, float *mom, float *mg,
                           size_t n)
{
    float rho = opt->o.rho, rhoc = 1.0f - opt->o.rho;
    float mu = opt->o.momentum, eps = opt->o.epsilon;
    for (size_t j = 0; j < n; j++) {
        v[j] = rho * v[j] + rhoc * g[j] * g[j];
        float denom;
        if (mg != NULL) {
            mg[j] = rho * mg[j] + rhoc * g[j];
            denom = v[j] - mg[j] * mg[j] + eps;
        } else {
            denom = v[j] + eps;
        }
        float incr = lr * g[j] / sqrtf(denom);
        if (mom != NULL) {
            mom[j] = mu * mom[j] + incr;
            w[j] -= mom[j];
        } else {
            w[j] -= incr;
        }
    }
}

static void update_adagrad(const sn_optimizer_t *opt, float lr, float *w,
                           const float *g, float *acc, size_t n)
{
    float eps = opt->o.epsilon;
    for (size_t j = 0; j < n; j++) {
        acc[j] += g[j] * g[j];
        w[j] -= lr * g[j] / sqrtf(acc[j] + eps);
    }
}

SN_API sn_status sn_optimizer_step(sn_optimizer_t *opt, sn_model_t *m)
{
    static const char who[] = "sn_optimizer_step";
    if (opt == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: optimizer is NULL", who);
    if (m == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: model is NULL", who);
    sn_status st = sn_model_build(m);
    if (st != SN_OK)
        return st;
    if (opt->bound && opt->bound_n != m->n_values)
        return sn_fail(SN_ERR_STATE,
                       "%s: the optimizer is bound to a model with %zu "
                       "weight values; this model has %zu", who,
                       opt->bound_n, m->n_values);

    /* (1) Refuse non-finite gradients before changing anything. */
    for (int i = 0; i < m->n_weights; i++) {
        if (!sn_opt_weight_trainable(m, i))
            continue;
        const sn_weight *w = &m->weights[i];
        const float *g = m->grads + w->offset;
        for (size_t j = 0; j < w->count; j++)
            if (!isfinite(g[j]))
                return sn_fail(SN_ERR_NUMERIC,
                               "%s: the gradient of %s has a non-finite "
                               "value (%g at element %zu); nothing was "
                               "updated", who, w->name, (double)g[j], j);
    }
    double lr_d = sn_optimizer_learning_rate(opt);
    if (!isfinite(lr_d) || lr_d < 0.0)
        return sn_fail(SN_ERR_NUMERIC,
                       "%s: the learning rate is not finite (%g)", who, lr_d);
    float lr = (float)lr_d;
    if (!opt->bound) {
        st = alloc_slots(opt, m->n_values);
        if (st != SN_OK)
            return st;
    }

    /* (2) Clipping, in place on the model's gradients. */
    const sn_optimizer_opts *o = &opt->o;
    if (o->clipnorm > 0.0f) {
        sn_opt_clip_norm_per_weight(m, o->clipnorm);
    } else if (o->global_clipnorm > 0.0f) {
        double norm = sn_opt_global_grad_norm(m);
        double c = o->global_clipnorm;
        if (norm > c)
            sn_opt_scale_grads(m, (float)(c / norm));
    } else if (o->clipvalue > 0.0f) {
        sn_opt_clip_value(m, o->clipvalue);
    }

    /* Per-step scalars. */
    int64_t t = opt->iterations + 1;
    float alpha = 0.0f;
    if (o->kind == SN_ADAM || o->kind == SN_ADAMW) {
        double b1p = pow((double)o->beta_1, (double)t);
        double b2p = pow((double)o->beta_2, (double)t);
        alpha = (float)(lr_d * sqrt(1.0 - b2p) / (1.0 - b1p));
    }
    float decay = o->weight_decay * lr;
    double u_product = o->kind == SN_NADAM
                           ? sn_nadam_u_product(o->beta_1, t) : 1.0;

    for (int i = 0; i < m->n_weights; i++) {
        if (!sn_opt_weight_trainable(m, i))
            continue;
        const sn_weight *wt = &m->weights[i];
        size_t off = wt->offset, n = wt->count;
        float *w = m->values + off;
        const float *g = m->grads + off;
#define SLOT(k) (opt->slot[(k)] != NULL ? opt->slot[(k)] + off : NULL)
        /* (3) Decoupled weight decay, before the update (Keras). */
        if (o->weight_decay > 0.0f)
            for (size_t j = 0; j < n; j++)
                w[j] -= w[j] * decay;
        /* (4) The update. */
        switch (o->kind) {
        case SN_SGD:
            update_sgd(opt, lr, w, g, SLOT(SGD_MOM), n);
            break;
        case SN_ADAM:
        case SN_ADAMW:
            update_adam(opt, alpha, w, g, SLOT(ADAM_M), SLOT(ADAM_V),
                        SLOT(ADAM_VHAT), n);
            break;
        case SN_RMSPROP:
            update_rmsprop(opt, lr, w, g, SLOT(RMS_V), SLOT(RMS_MOM),
                           SLOT(RMS_MG), n);
            break;
        case SN_ADAGRAD:
            update_adagrad(opt, lr, w, g, SLOT(ADAGRAD_ACC), n);
            break;
        case SN_NADAM:
            sn_update_nadam(o, lr_d, t, u_product, w, g, SLOT(NADAM_M),
                            SLOT(NADAM_V), n);
            break;
        case SN_ADAMAX:
            sn_update_adamax(o, lr_d, t, w, g, SLOT(ADAMAX_M),
                             SLOT(ADAMAX_U), n);
            break;
        }
#undef SLOT
    }
    /* (5) */
    opt->iterations = t;
    /* (6) Weight constraints after the update (Keras), weight_rules.c. */
    sn_weight_rules_constrain(m);
    return SN_OK;
}

/* ------------------------------------------------------------ save/load */

sn_status sn_optimizer_save_state(const sn_optimizer_t *opt, sn_writer *w)
{
    if (opt == NULL || w == NULL)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "sn_optimizer_save_state: NULL argument");
    const sn_optimizer_opts *o = &opt->o;
    sn_write_u32(w, OPT_STATE_MAGIC);
    sn_write_u32(w, OPT_STATE_VERSION);
    sn_write_i32(w, (int32_t)o->kind);
    sn_write_f32(w, o->learning_rate);
    sn_write_f32(w, o->momentum);
    sn_write_u8(w, (uint8_t)o->nesterov);
    sn_write_f32(w, o->beta_1);
    sn_write_f32(w, o->beta_2);
    sn_write_f32(w, o->epsilon);
    sn_write_u8(w, (uint8_t)o->amsgrad);
    sn_write_f32(w, o->weight_decay);
    sn_write_f32(w, o->rho);
    sn_write_u8(w, (uint8_t)o->centered);
    sn_write_f32(w, o->initial_accumulator_value);
    sn_write_f32(w, o->clipnorm);
    sn_write_f32(w, o->clipvalue);
    sn_write_f32(w, o->global_clipnorm);
    sn_write_u8(w, opt->has_schedule ? 1 : 0);
    if (opt->has_schedule) {
        sn_write_i32(w, (int32_t)opt->sched.kind);
        sn_write_f32(w, opt->sched.initial_learning_rate);
        sn_write_i32(w, opt->sched.decay_steps);
        sn_write_f32(w, opt->sched.decay_rate);
        sn_write_f32(w, opt->sched.alpha);
    }
    sn_write_i64(w, opt->iterations);
    sn_write_u8(w, opt->bound ? 1 : 0);
    sn_write_u64(w, (uint64_t)opt->bound_n);
    if (opt->bound)
        for (int k = 0; k < SN_OPT_MAX_SLOTS; k++)
            if (slot_used(o, k))
                sn_write_f32s(w, opt->slot[k], opt->bound_n);
    return w->status;
}

static uint8_t read_flag(sn_reader *r, const char *what)
{
    uint8_t v = sn_read_u8(r);
    if (v > 1) {
        sn_reader_fail(r, SN_ERR_FORMAT,
                       "optimizer state: %s flag is %u, expected 0 or 1",
                       what, (unsigned)v);
        return 0;
    }
    return v;
}

/* Turns a failed option check into a reader failure (SN_ERR_FORMAT). */
static sn_status fail_from_check(sn_reader *r)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%s", sn_last_error());
    return sn_reader_fail(r, SN_ERR_FORMAT, "%s", msg);
}

bool sn_optimizer_bound_count(const sn_optimizer_t *opt, size_t *n)
{
    *n = opt != NULL && opt->bound ? opt->bound_n : 0;
    return opt != NULL && opt->bound;
}

sn_status sn_optimizer_load_state(sn_reader *r, const sn_mem *mem,
                                  sn_optimizer_t **out)
{
    static const char who[] = "optimizer state";
    if (out != NULL)
        *out = NULL;
    if (r == NULL || mem == NULL || out == NULL)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "sn_optimizer_load_state: NULL argument");
    if (r->status != SN_OK)
        return r->status;
    uint32_t magic = sn_read_u32(r);
    uint32_t version = sn_read_u32(r);
    if (r->status != SN_OK)
        return r->status;
    if (magic != OPT_STATE_MAGIC)
        return sn_reader_fail(r, SN_ERR_FORMAT,
                              "%s: bad magic 0x%08x", who, (unsigned)magic);
    if (version > OPT_STATE_VERSION)
        return sn_reader_fail(r, SN_ERR_VERSION,
                              "%s: version %u is newer than this library's "
                              "%u", who, (unsigned)version,
                              (unsigned)OPT_STATE_VERSION);
    if (version == 0)
        return sn_reader_fail(r, SN_ERR_FORMAT, "%s: version 0", who);
    int kind = sn_read_int(r, SN_SGD, SN_ADAMAX, "optimizer kind");
    if (r->status != SN_OK)
        return r->status;
    sn_optimizer_opts o;
    fill_defaults((sn_optimizer_kind)kind, &o);
    o.learning_rate = sn_read_f32(r);
    o.momentum = sn_read_f32(r);
    o.nesterov = read_flag(r, "nesterov");
    o.beta_1 = sn_read_f32(r);
    o.beta_2 = sn_read_f32(r);
    o.epsilon = sn_read_f32(r);
    o.amsgrad = read_flag(r, "amsgrad");
    o.weight_decay = sn_read_f32(r);
    o.rho = sn_read_f32(r);
    o.centered = read_flag(r, "centered");
    o.initial_accumulator_value = sn_read_f32(r);
    o.clipnorm = sn_read_f32(r);
    o.clipvalue = sn_read_f32(r);
    o.global_clipnorm = sn_read_f32(r);
    if (r->status != SN_OK)
        return r->status;
    if (check_opts(&o, who) != SN_OK)
        return fail_from_check(r);

    bool has_schedule = read_flag(r, "schedule");
    sn_lr_schedule s = SN_LR_SCHEDULE_INIT;
    if (has_schedule) {
        s.kind = (sn_lr_schedule_kind)sn_read_int(r, SN_LR_STEP, SN_LR_COSINE,
                                                  "schedule kind");
        s.initial_learning_rate = sn_read_f32(r);
        s.decay_steps = sn_read_i32(r);
        s.decay_rate = sn_read_f32(r);
        s.alpha = sn_read_f32(r);
        if (r->status != SN_OK)
            return r->status;
        if (sn_lr_schedule_check(&s, who) != SN_OK)
            return fail_from_check(r);
    }
    int64_t iterations = sn_read_i64(r);
    bool bound = read_flag(r, "bound");
    uint64_t bound_n = sn_read_u64(r);
    if (r->status != SN_OK)
        return r->status;
    if (iterations < 0)
        return sn_reader_fail(r, SN_ERR_FORMAT,
                              "%s: negative step count %lld", who,
                              (long long)iterations);
    if (!bound && bound_n != 0)
        return sn_reader_fail(r, SN_ERR_FORMAT,
                              "%s: unbound optimizer with %llu values", who,
                              (unsigned long long)bound_n);
    int n_slots = used_slot_count(&o);
    /* Never allocate more than the stream can fill. */
    uint64_t per_value = (uint64_t)n_slots * sizeof(float);
    if (bound_n > (uint64_t)(SIZE_MAX / sizeof(float)) ||
        (per_value > 0 && bound_n > sn_reader_remaining(r) / per_value))
        return sn_reader_fail(r, SN_ERR_FORMAT,
                              "%s: %llu values per slot do not fit in the "
                              "%zu bytes left", who,
                              (unsigned long long)bound_n,
                              sn_reader_remaining(r));

    sn_optimizer_t *opt = alloc_optimizer(mem, &o);
    if (opt == NULL)
        return SN_ERR_NOMEM;
    opt->has_schedule = has_schedule;
    if (has_schedule)
        opt->sched = s;
    opt->iterations = iterations;
    if (bound) {
        size_t n = (size_t)bound_n;
        if (alloc_slots(opt, n) != SN_OK) {
            sn_optimizer_free(opt);
            return SN_ERR_NOMEM;
        }
        for (int k = 0; k < SN_OPT_MAX_SLOTS && r->status == SN_OK; k++) {
            if (!slot_used(&o, k))
                continue;
            sn_read_f32s(r, opt->slot[k], n);
            if (r->status != SN_OK)
                break;
            bool nonneg = slot_nonnegative(&o, k);
            for (size_t j = 0; j < n; j++) {
                float v = opt->slot[k][j];
                if (!isfinite(v) || (nonneg && v < 0.0f)) {
                    sn_reader_fail(r, SN_ERR_FORMAT,
                                   "%s: %s slot %d holds %g at %zu", who,
                                   kind_name(o.kind), k, (double)v, j);
                    break;
                }
            }
        }
        if (r->status != SN_OK) {
            sn_optimizer_free(opt);
            return r->status;
        }
    }
    *out = opt;
    return SN_OK;
}

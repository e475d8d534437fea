/*
 * lr_schedule.c - learning-rate schedules (Keras ExponentialDecay with and
 * without staircase, CosineDecay without warmup) and the optimizer's
 * learning-rate accessors.
 */
#include <float.h>
#include <math.h>

#include "optimizer_impl.h"

#define SN_PI 3.14159265358979323846

static bool finite_float_positive(double v)
{
    return isfinite(v) && v > 0.0 && v <= FLT_MAX;
}

sn_status sn_lr_schedule_check(const sn_lr_schedule *s, const char *who)
{
    switch (s->kind) {
    case SN_LR_CONSTANT:
    case SN_LR_STEP:
    case SN_LR_EXPONENTIAL:
    case SN_LR_COSINE:
        break;
    default:
        return sn_fail(SN_ERR_INVALID_ARG, "%s: unknown schedule kind %d", who,
                       (int)s->kind);
    }
    if (!finite_float_positive(s->initial_learning_rate))
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: initial_learning_rate must be > 0 and finite "
                       "(got %g)", who, (double)s->initial_learning_rate);
    if (s->kind == SN_LR_CONSTANT)
        return SN_OK;
    if (s->decay_steps <= 0)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: decay_steps must be > 0 (got %d)", who,
                       s->decay_steps);
    if ((s->kind == SN_LR_STEP || s->kind == SN_LR_EXPONENTIAL) &&
        !finite_float_positive(s->decay_rate))
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: decay_rate must be > 0 and finite (got %g)", who,
                       (double)s->decay_rate);
    if (s->kind == SN_LR_COSINE &&
        !(s->alpha >= 0.0f && s->alpha <= 1.0f))
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: alpha must be in [0, 1] (got %g)", who,
                       (double)s->alpha);
    return SN_OK;
}

double sn_lr_schedule_value(const sn_lr_schedule *s, int64_t step)
{
    double lr0 = s->initial_learning_rate;
    double ds = s->decay_steps;
    double v;
    if (step < 0)
        step = 0;
    switch (s->kind) {
    case SN_LR_STEP:
        v = lr0 * pow(s->decay_rate, (double)(step / s->decay_steps));
        break;
    case SN_LR_EXPONENTIAL:
        v = lr0 * pow(s->decay_rate, (double)step / ds);
        break;
    case SN_LR_COSINE: {
        double t = step < (int64_t)s->decay_steps ? (double)step : ds;
        double cosine = 0.5 * (1.0 + cos(SN_PI * t / ds));
        v = lr0 * ((1.0 - s->alpha) * cosine + s->alpha);
        break;
    }
    default:
        v = lr0;
        break;
    }
    /* Keras keeps the rate in a float32 variable. */
    return (double)(float)v;
}

SN_API sn_status sn_optimizer_set_schedule(sn_optimizer_t *opt,
                                           const sn_lr_schedule *schedule)
{
    static const char who[] = "sn_optimizer_set_schedule";
    if (opt == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: optimizer is NULL", who);
    if (schedule == NULL) {
        opt->has_schedule = false;
        return SN_OK;
    }
    sn_lr_schedule s = SN_LR_SCHEDULE_INIT;
    sn_status st = sn_opts_merge(&s, sizeof s, schedule, who);
    if (st != SN_OK)
        return st;
    st = sn_lr_schedule_check(&s, who);
    if (st != SN_OK)
        return st;
    if (s.kind == SN_LR_CONSTANT) {
        /* A constant schedule is the constant rate. */
        opt->o.learning_rate = s.initial_learning_rate;
        opt->has_schedule = false;
        return SN_OK;
    }
    opt->sched = s;
    opt->has_schedule = true;
    return SN_OK;
}

SN_API double sn_optimizer_learning_rate(const sn_optimizer_t *opt)
{
    if (opt == NULL) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_optimizer_learning_rate: optimizer "
                "is NULL");
        return 0.0;
    }
    if (opt->has_schedule)
        return sn_lr_schedule_value(&opt->sched, opt->iterations);
    return (double)opt->o.learning_rate;
}

SN_API sn_status sn_optimizer_set_learning_rate(sn_optimizer_t *opt,
                                                double learning_rate)
{
    if (opt == NULL)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "sn_optimizer_set_learning_rate: optimizer is NULL");
    if (!finite_float_positive(learning_rate) ||
        !((float)learning_rate > 0.0f))
        return sn_fail(SN_ERR_INVALID_ARG,
                       "sn_optimizer_set_learning_rate: learning_rate must be "
                       "> 0 and finite (got %g)", learning_rate);
    if (opt->has_schedule)
        opt->sched.initial_learning_rate = (float)learning_rate;
    else
        opt->o.learning_rate = (float)learning_rate;
    return SN_OK;
}

SN_API int64_t sn_optimizer_iterations(const sn_optimizer_t *opt)
{
    if (opt == NULL)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "sn_optimizer_iterations: optimizer is NULL");
    return opt->iterations;
}

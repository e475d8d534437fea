/*
 * check_optimizers.c - optimizers, learning-rate schedules and gradient
 * clipping through the public API only.
 *
 * The model is Input(2) -> Dense(1): a kernel [2, 1] and a bias [1], three
 * values that the tests set by hand, together with their gradients.  Every
 * expected value is recomputed here in double from the Keras 3 update rules
 * (docs/OPTIMIZERS.md), independently of the library code.
 */
#include <check.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <seqnet.h>

#include "support/testkit.h"

#define NV 3     /* values of the tiny model: kernel[2], bias[1] */
#define NSTEPS 3
#define TOL 2e-6

/* Initial weights and the gradients fed at each step. */
static const double W0[NV] = {0.5, -1.0, 0.25};
static const double G[NSTEPS][NV] = {
    {1.0, -0.2, 0.3},
    {0.01, 0.05, -0.2}, /* element 0 shrinks: amsgrad's vhat matters */
    {0.02, 0.3, -0.05},
};

/* ------------------------------------------------------------ helpers */

static sn_model_t *tiny_model(int units)
{
    sn_model_t *m = sn_model_new(NULL);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_ge(sn_input(m, SN_NO_TIME, 2), 0);
    ck_assert_int_eq(sn_model_add(m, sn_dense(units, SN_LINEAR, NULL)), SN_OK);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    return m;
}

/* Copies v[0..2] into kernel then bias (data or grad). */
static void put3(sn_model_t *m, const double *v, int grads)
{
    size_t nk = 0, nb = 0;
    float *k = grads ? sn_model_weight_grad(m, 0, &nk)
                     : sn_model_weight_data(m, 0, &nk);
    float *b = grads ? sn_model_weight_grad(m, 1, &nb)
                     : sn_model_weight_data(m, 1, &nb);
    ck_assert_ptr_nonnull(k);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(nk, 2);
    ck_assert_uint_eq(nb, 1);
    k[0] = (float)v[0];
    k[1] = (float)v[1];
    b[0] = (float)v[2];
}

static void get3(sn_model_t *m, double *v, int grads)
{
    float *k = grads ? sn_model_weight_grad(m, 0, NULL)
                     : sn_model_weight_data(m, 0, NULL);
    float *b = grads ? sn_model_weight_grad(m, 1, NULL)
                     : sn_model_weight_data(m, 1, NULL);
    v[0] = k[0];
    v[1] = k[1];
    v[2] = b[0];
}

static void expect3(const double *got, const double *want, double tol,
                    const char *what, int step)
{
    for (int i = 0; i < NV; i++)
        ck_assert_msg(fabs(got[i] - want[i]) <= tol + 1e-6 * fabs(want[i]),
                      "%s step %d value %d: got %.9g want %.9g", what, step,
                      i, got[i], want[i]);
}

static sn_optimizer_t *make_opt(const sn_optimizer_opts *o)
{
    sn_optimizer_t *opt = sn_optimizer_new(o);
    ck_assert_msg(opt != NULL, "sn_optimizer_new: %s", sn_last_error());
    return opt;
}

/* One step of a fresh optimizer from W0 with gradient G[0]; the weights
 * after it into w (for the checks made by hand). */
static void first_step(const sn_optimizer_opts *o, double *w)
{
    sn_model_t *m = tiny_model(1);
    sn_optimizer_t *opt = make_opt(o);
    put3(m, W0, 0);
    put3(m, G[0], 1);
    ck_assert_int_eq(sn_optimizer_step(opt, m), SN_OK);
    get3(m, w, 0);
    sn_optimizer_free(opt);
    sn_model_free(m);
}

/* Reference state of one optimizer, in double. */
typedef struct ref {
    double w[NV], s1[NV], s2[NV], s3[NV];
    int t;
} ref;

typedef void (*ref_step_fn)(const sn_optimizer_opts *o, ref *r,
                            const double *g);

static void ref_init(ref *r, const sn_optimizer_opts *o)
{
    memset(r, 0, sizeof *r);
    memcpy(r->w, W0, sizeof W0);
    if (o->kind == SN_ADAGRAD)
        for (int i = 0; i < NV; i++)
            r->s1[i] = o->initial_accumulator_value;
}

static void ref_decay(const sn_optimizer_opts *o, ref *r)
{
    for (int i = 0; i < NV; i++)
        r->w[i] -= r->w[i] * (double)o->weight_decay * o->learning_rate;
}

static void ref_sgd(const sn_optimizer_opts *o, ref *r, const double *g)
{
    double lr = o->learning_rate, mu = o->momentum;
    ref_decay(o, r);
    for (int i = 0; i < NV; i++) {
        if (mu > 0) {
            r->s1[i] = mu * r->s1[i] - lr * g[i];
            if (o->nesterov)
                r->w[i] += mu * r->s1[i] - lr * g[i];
            else
                r->w[i] += r->s1[i];
        } else {
            r->w[i] -= lr * g[i];
        }
    }
}

static void ref_adam(const sn_optimizer_opts *o, ref *r, const double *g)
{
    double b1 = o->beta_1, b2 = o->beta_2, eps = o->epsilon;
    int t = ++r->t;
    double alpha = o->learning_rate * sqrt(1 - pow(b2, t)) / (1 - pow(b1, t));
    ref_decay(o, r);
    for (int i = 0; i < NV; i++) {
        r->s1[i] += (g[i] - r->s1[i]) * (1 - b1);
        r->s2[i] += (g[i] * g[i] - r->s2[i]) * (1 - b2);
        double v = r->s2[i];
        if (o->amsgrad) {
            r->s3[i] = fmax(r->s3[i], v);
            v = r->s3[i];
        }
        r->w[i] -= alpha * r->s1[i] / (sqrt(v) + eps);
    }
}

static void ref_rmsprop(const sn_optimizer_opts *o, ref *r, const double *g)
{
    double lr = o->learning_rate, rho = o->rho, eps = o->epsilon;
    ref_decay(o, r);
    for (int i = 0; i < NV; i++) {
        r->s1[i] = rho * r->s1[i] + (1 - rho) * g[i] * g[i];
        double denom = r->s1[i];
        if (o->centered) {
            r->s3[i] = rho * r->s3[i] + (1 - rho) * g[i];
            denom -= r->s3[i] * r->s3[i];
        }
        double incr = lr * g[i] / sqrt(denom + eps);
        if (o->momentum > 0) {
            r->s2[i] = o->momentum * r->s2[i] + incr;
            r->w[i] -= r->s2[i];
        } else {
            r->w[i] -= incr;
        }
    }
}

static void ref_adagrad(const sn_optimizer_opts *o, ref *r, const double *g)
{
    ref_decay(o, r);
    for (int i = 0; i < NV; i++) {
        r->s1[i] += g[i] * g[i];
        r->w[i] -= o->learning_rate * g[i] / sqrt(r->s1[i] + o->epsilon);
    }
}

/* Runs NSTEPS library steps and the reference side by side; returns the
 * final weights in out (for tests that compare two configurations). */
static void run_vs_ref_scaled(const sn_optimizer_opts *o, ref_step_fn fn,
                              const char *what, double *out, double gscale)
{
    sn_model_t *m = tiny_model(1);
    sn_optimizer_t *opt = make_opt(o);
    ref r;
    ref_init(&r, o);
    put3(m, W0, 0);
    for (int s = 0; s < NSTEPS; s++) {
        double g[NV];
        for (int i = 0; i < NV; i++)
            g[i] = (double)(float)(G[s][i] * gscale);
        put3(m, g, 1);
        ck_assert_int_eq(sn_optimizer_step(opt, m), SN_OK);
        fn(o, &r, g);
        double got[NV];
        get3(m, got, 0);
        expect3(got, r.w, TOL, what, s);
        ck_assert_int_eq(sn_optimizer_iterations(opt), s + 1);
    }
    /* The reference must have moved: a test that cannot fail is useless. */
    for (int i = 0; i < NV; i++)
        ck_assert(fabs(r.w[i] - W0[i]) > 1e-4 * gscale);
    if (out != NULL)
        get3(m, out, 0);
    sn_optimizer_free(opt);
    sn_model_free(m);
}

static void run_vs_ref(const sn_optimizer_opts *o, ref_step_fn fn,
                       const char *what, double *out)
{
    run_vs_ref_scaled(o, fn, what, out, 1.0);
}

static sn_optimizer_opts defaults(sn_optimizer_kind kind)
{
    sn_optimizer_opts o;
    ck_assert_int_eq(sn_optimizer_defaults(kind, &o), SN_OK);
    return o;
}

/* ------------------------------------------------------------ defaults */

START_TEST(test_defaults)
{
    sn_optimizer_opts o = defaults(SN_SGD);
    ck_assert_uint_eq(o.size, sizeof o);
    ck_assert_int_eq(o.kind, SN_SGD);
    ck_assert_float_eq(o.learning_rate, 0.01f);
    ck_assert_float_eq(o.momentum, 0.0f);
    ck_assert_int_eq(o.nesterov, 0);
    ck_assert_float_eq(o.weight_decay, 0.0f);
    ck_assert_float_eq(o.clipnorm, 0.0f);
    ck_assert_float_eq(o.clipvalue, 0.0f);
    ck_assert_float_eq(o.global_clipnorm, 0.0f);

    o = defaults(SN_ADAM);
    ck_assert_float_eq(o.learning_rate, 0.001f);
    ck_assert_float_eq(o.beta_1, 0.9f);
    ck_assert_float_eq(o.beta_2, 0.999f);
    ck_assert_float_eq(o.epsilon, 1e-7f);
    ck_assert_int_eq(o.amsgrad, 0);
    ck_assert_float_eq(o.weight_decay, 0.0f);

    o = defaults(SN_ADAMW);
    ck_assert_int_eq(o.kind, SN_ADAMW);
    ck_assert_float_eq(o.learning_rate, 0.001f);
    ck_assert_float_eq(o.weight_decay, 0.004f);
    ck_assert_float_eq(o.beta_2, 0.999f);

    o = defaults(SN_RMSPROP);
    ck_assert_float_eq(o.learning_rate, 0.001f);
    ck_assert_float_eq(o.rho, 0.9f);
    ck_assert_float_eq(o.momentum, 0.0f);
    ck_assert_float_eq(o.epsilon, 1e-7f);
    ck_assert_int_eq(o.centered, 0);

    o = defaults(SN_ADAGRAD);
    ck_assert_float_eq(o.learning_rate, 0.001f);
    ck_assert_float_eq(o.initial_accumulator_value, 0.1f);
    ck_assert_float_eq(o.epsilon, 1e-7f);
    ck_assert_float_eq(o.weight_decay, 0.0f);

    ck_assert_int_eq(sn_optimizer_defaults((sn_optimizer_kind)0, &o),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_optimizer_defaults((sn_optimizer_kind)8, &o),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_optimizer_defaults(SN_ADAM, NULL),
                     SN_ERR_INVALID_ARG);
}
END_TEST

/* ------------------------------------------------------------ updates */

START_TEST(test_sgd_plain)
{
    sn_optimizer_opts o = defaults(SN_SGD);
    o.learning_rate = 0.1f;
    run_vs_ref(&o, ref_sgd, "sgd", NULL);
}
END_TEST

START_TEST(test_sgd_momentum)
{
    sn_optimizer_opts o = defaults(SN_SGD);
    o.learning_rate = 0.1f;
    o.momentum = 0.9f;
    double a[NV], b[NV];
    run_vs_ref(&o, ref_sgd, "sgd momentum", a);
    /* By hand, element 2: m1 = -0.03, w1 = 0.22; m2 = -0.027 + 0.02 =
     * -0.007, w2 = 0.213; m3 = -0.0063 + 0.005 = -0.0013, w3 = 0.2117. */
    ck_assert_double_eq_tol(a[2], 0.2117, 1e-6);
    o.nesterov = 1;
    run_vs_ref(&o, ref_sgd, "sgd nesterov", b);
    /* Nesterov, element 2: w1 = 0.25 + 0.9*(-0.03) - 0.03 = 0.193. */
    ck_assert(fabs(a[0] - b[0]) > 1e-4);
}
END_TEST

START_TEST(test_sgd_nesterov_by_hand)
{
    sn_optimizer_opts o = defaults(SN_SGD);
    o.learning_rate = 0.1f;
    o.momentum = 0.9f;
    o.nesterov = 1;
    double w[NV];
    first_step(&o, w);
    /* m = -0.1*g; w += 0.9*m - 0.1*g = -0.19*g */
    ck_assert_double_eq_tol(w[0], 0.5 - 0.19, 1e-6);
    ck_assert_double_eq_tol(w[1], -1.0 + 0.038, 1e-6);
    ck_assert_double_eq_tol(w[2], 0.193, 1e-6);
}
END_TEST

START_TEST(test_sgd_weight_decay)
{
    sn_optimizer_opts o = defaults(SN_SGD);
    o.learning_rate = 0.1f;
    o.weight_decay = 0.5f;
    run_vs_ref(&o, ref_sgd, "sgd weight_decay", NULL);
    /* Step 1, element 0 by hand: 0.5 - 0.5*0.5*0.1 - 0.1*1.0 = 0.375. */
    double w[NV];
    first_step(&o, w);
    ck_assert_double_eq_tol(w[0], 0.375, 1e-6);
}
END_TEST

START_TEST(test_adam)
{
    sn_optimizer_opts o = defaults(SN_ADAM);
    o.learning_rate = 0.1f;
    run_vs_ref(&o, ref_adam, "adam", NULL);
    /* Step 1 by hand: m = 0.1 g, v = 0.001 g^2, alpha = 0.1 *
     * sqrt(0.001) / 0.1, so w -= sqrt(.001) * 0.1 g / (sqrt(.001)|g| + eps)
     * ~= 0.1 * sign(g). */
    double w[NV];
    first_step(&o, w);
    ck_assert_double_eq_tol(w[0], 0.4, 1e-5);
    ck_assert_double_eq_tol(w[1], -0.9, 1e-5);
    ck_assert_double_eq_tol(w[2], 0.15, 1e-5);
}
END_TEST

START_TEST(test_adam_amsgrad)
{
    sn_optimizer_opts o = defaults(SN_ADAM);
    o.learning_rate = 0.1f;
    o.beta_2 = 0.5f; /* v forgets fast, so vhat = max(...) differs */
    double plain[NV], ams[NV];
    run_vs_ref(&o, ref_adam, "adam beta_2=.5", plain);
    o.amsgrad = 1;
    run_vs_ref(&o, ref_adam, "adam amsgrad", ams);
    ck_assert(fabs(plain[0] - ams[0]) > 1e-3);
}
END_TEST

START_TEST(test_adamw)
{
    sn_optimizer_opts o = defaults(SN_ADAMW);
    o.learning_rate = 0.1f;
    o.weight_decay = 0.2f;
    double w[NV];
    run_vs_ref(&o, ref_adam, "adamw", w);
    /* The decay is there: compare with Adam on the same rates. */
    sn_optimizer_opts a = defaults(SN_ADAM);
    a.learning_rate = 0.1f;
    double wa[NV];
    run_vs_ref(&a, ref_adam, "adam", wa);
    ck_assert(fabs(w[1] - wa[1]) > 1e-3);
}
END_TEST

START_TEST(test_rmsprop)
{
    sn_optimizer_opts o = defaults(SN_RMSPROP);
    o.learning_rate = 0.01f;
    run_vs_ref(&o, ref_rmsprop, "rmsprop", NULL);
    /* Step 1 by hand, element 0: v = 0.1, w = 0.5 - 0.01/sqrt(0.1+1e-7). */
    double w[NV];
    first_step(&o, w);
    ck_assert_double_eq_tol(w[0], 0.5 - 0.01 / sqrt(0.1 + 1e-7), 1e-6);
}
END_TEST

START_TEST(test_rmsprop_momentum_centered)
{
    sn_optimizer_opts o = defaults(SN_RMSPROP);
    o.learning_rate = 0.01f;
    o.momentum = 0.5f;
    run_vs_ref(&o, ref_rmsprop, "rmsprop momentum", NULL);
    o.momentum = 0.0f;
    o.centered = 1;
    run_vs_ref(&o, ref_rmsprop, "rmsprop centered", NULL);
    o.momentum = 0.5f;
    run_vs_ref(&o, ref_rmsprop, "rmsprop centered momentum", NULL);
}
END_TEST

START_TEST(test_adagrad)
{
    sn_optimizer_opts o = defaults(SN_ADAGRAD);
    o.learning_rate = 0.1f;
    run_vs_ref(&o, ref_adagrad, "adagrad", NULL);
    /* Step 1 by hand, element 0: acc = 0.1 + 1 = 1.1. */
    double w[NV];
    first_step(&o, w);
    ck_assert_double_eq_tol(w[0], 0.5 - 0.1 / sqrt(1.1 + 1e-7), 1e-6);
}
END_TEST

/* Gradients of order 1e-4 make g^2 comparable to epsilon, so where
 * epsilon sits (inside the sqrt for RMSprop and Adagrad, outside for Adam)
 * changes the result by far more than the tolerance. */
START_TEST(test_epsilon_placement)
{
    sn_optimizer_opts o = defaults(SN_RMSPROP);
    o.learning_rate = 0.01f;
    run_vs_ref_scaled(&o, ref_rmsprop, "rmsprop tiny grads", NULL, 1e-4);
    o.centered = 1;
    run_vs_ref_scaled(&o, ref_rmsprop, "rmsprop centered tiny", NULL, 1e-4);
    o = defaults(SN_ADAGRAD);
    o.learning_rate = 0.1f;
    o.initial_accumulator_value = 0.0f;
    run_vs_ref_scaled(&o, ref_adagrad, "adagrad tiny grads", NULL, 1e-4);
    o = defaults(SN_ADAM);
    o.learning_rate = 0.1f;
    run_vs_ref_scaled(&o, ref_adam, "adam tiny grads", NULL, 1e-4);
}
END_TEST

/* --------------------------------------------------------- schedules */

/* Expected rate at 0-based step t. */
static double sched_ref(const sn_lr_schedule *s, int t)
{
    double lr0 = s->initial_learning_rate;
    switch (s->kind) {
    case SN_LR_STEP:
        return lr0 * pow(s->decay_rate, t / s->decay_steps);
    case SN_LR_EXPONENTIAL:
        return lr0 * pow(s->decay_rate, (double)t / s->decay_steps);
    case SN_LR_COSINE: {
        double tt = t < s->decay_steps ? t : s->decay_steps;
        double c = 0.5 * (1 + cos(3.14159265358979323846 * tt /
                                  s->decay_steps));
        return lr0 * ((1 - s->alpha) * c + s->alpha);
    }
    default:
        return lr0;
    }
}

/* Steps plain SGD with gradient 1 on every value: each step moves the
 * weights by exactly the rate it used. */
static void check_schedule(const sn_lr_schedule *s, int steps)
{
    sn_optimizer_opts o = defaults(SN_SGD);
    sn_optimizer_t *opt = make_opt(&o);
    ck_assert_int_eq(sn_optimizer_set_schedule(opt, s), SN_OK);
    sn_model_t *m = tiny_model(1);
    const double zero[NV] = {0, 0, 0}, one[NV] = {1, 1, 1};
    for (int t = 0; t < steps; t++) {
        double want = sched_ref(s, t);
        ck_assert_msg(fabs(sn_optimizer_learning_rate(opt) - want) <=
                          1e-7 * want,
                      "schedule %d step %d: lr %.9g want %.9g", s->kind, t,
                      sn_optimizer_learning_rate(opt), want);
        put3(m, zero, 0);
        put3(m, one, 1);
        ck_assert_int_eq(sn_optimizer_step(opt, m), SN_OK);
        double w[NV];
        get3(m, w, 0);
        ck_assert_double_eq_tol(w[0], -want, 1e-7);
    }
    sn_model_free(m);
    sn_optimizer_free(opt);
}

START_TEST(test_schedules)
{
    sn_lr_schedule s = SN_LR_SCHEDULE_INIT;
    s.initial_learning_rate = 0.1f;
    s.decay_steps = 2;
    s.decay_rate = 0.5f;

    s.kind = SN_LR_STEP;
    check_schedule(&s, 6);
    /* By hand: 0.1, 0.1, 0.05, 0.05, 0.025 ... */
    ck_assert_double_eq_tol(sched_ref(&s, 3), 0.05, 1e-8);

    s.kind = SN_LR_EXPONENTIAL;
    check_schedule(&s, 6);
    ck_assert_double_eq_tol(sched_ref(&s, 1), 0.1 * sqrt(0.5), 1e-8);

    s.kind = SN_LR_COSINE;
    s.decay_steps = 4;
    s.alpha = 0.1f;
    check_schedule(&s, 7);
    /* By hand: step 2 = 0.1 * (0.9 * 0.5 + 0.1); past the end 0.1 * 0.1. */
    ck_assert_double_eq_tol(sched_ref(&s, 2), 0.055, 1e-9);
    ck_assert_double_eq_tol(sched_ref(&s, 6), 0.01, 1e-9);
}
END_TEST

START_TEST(test_constant_and_set_learning_rate)
{
    sn_optimizer_opts o = defaults(SN_SGD);
    sn_optimizer_t *opt = make_opt(&o);
    ck_assert_double_eq_tol(sn_optimizer_learning_rate(opt), 0.01, 1e-7);
    ck_assert_int_eq(sn_optimizer_iterations(opt), 0);
    ck_assert_int_eq(sn_optimizer_set_learning_rate(opt, 0.25), SN_OK);
    ck_assert_double_eq_tol(sn_optimizer_learning_rate(opt), 0.25, 1e-7);
    ck_assert_int_eq(sn_optimizer_set_learning_rate(opt, 0.0),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_optimizer_set_learning_rate(opt, -1.0),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_optimizer_set_learning_rate(opt, NAN),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_optimizer_set_learning_rate(opt, INFINITY),
                     SN_ERR_INVALID_ARG);
    ck_assert_double_eq_tol(sn_optimizer_learning_rate(opt), 0.25, 1e-7);

    /* A schedule: set_learning_rate moves its initial rate. */
    sn_lr_schedule s = SN_LR_SCHEDULE_INIT;
    s.kind = SN_LR_STEP;
    s.initial_learning_rate = 0.1f;
    s.decay_steps = 1;
    s.decay_rate = 0.5f;
    ck_assert_int_eq(sn_optimizer_set_schedule(opt, &s), SN_OK);
    ck_assert_double_eq_tol(sn_optimizer_learning_rate(opt), 0.1, 1e-7);
    sn_model_t *m = tiny_model(1);
    ck_assert_int_eq(sn_optimizer_step(opt, m), SN_OK);
    ck_assert_int_eq(sn_optimizer_iterations(opt), 1);
    ck_assert_double_eq_tol(sn_optimizer_learning_rate(opt), 0.05, 1e-7);
    ck_assert_int_eq(sn_optimizer_set_learning_rate(opt, 0.4), SN_OK);
    ck_assert_double_eq_tol(sn_optimizer_learning_rate(opt), 0.2, 1e-8);
    /* NULL schedule: back to the constant rate. */
    ck_assert_int_eq(sn_optimizer_set_schedule(opt, NULL), SN_OK);
    ck_assert_double_eq_tol(sn_optimizer_learning_rate(opt), 0.25, 1e-7);
    /* A constant schedule sets the constant rate. */
    s.kind = SN_LR_CONSTANT;
    s.initial_learning_rate = 0.3f;
    ck_assert_int_eq(sn_optimizer_set_schedule(opt, &s), SN_OK);
    ck_assert_double_eq_tol(sn_optimizer_learning_rate(opt), 0.3, 1e-7);

    /* Bad schedules. */
    sn_lr_schedule bad = SN_LR_SCHEDULE_INIT;
    bad.kind = (sn_lr_schedule_kind)9;
    ck_assert_int_eq(sn_optimizer_set_schedule(opt, &bad), SN_ERR_INVALID_ARG);
    bad.kind = SN_LR_STEP;
    bad.decay_steps = 0;
    ck_assert_int_eq(sn_optimizer_set_schedule(opt, &bad), SN_ERR_INVALID_ARG);
    bad.decay_steps = 10;
    bad.decay_rate = 0.0f;
    ck_assert_int_eq(sn_optimizer_set_schedule(opt, &bad), SN_ERR_INVALID_ARG);
    bad.decay_rate = 0.5f;
    bad.initial_learning_rate = -1.0f;
    ck_assert_int_eq(sn_optimizer_set_schedule(opt, &bad), SN_ERR_INVALID_ARG);
    bad.initial_learning_rate = 0.1f;
    bad.kind = SN_LR_COSINE;
    bad.alpha = 1.5f;
    ck_assert_int_eq(sn_optimizer_set_schedule(opt, &bad), SN_ERR_INVALID_ARG);
    bad.alpha = 0.0f;
    bad.size = 0;
    ck_assert_int_eq(sn_optimizer_set_schedule(opt, &bad), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_optimizer_set_schedule(NULL, NULL), SN_ERR_INVALID_ARG);
    /* Failed calls left the rate alone. */
    ck_assert_double_eq_tol(sn_optimizer_learning_rate(opt), 0.3, 1e-7);

    ck_assert_int_lt(sn_optimizer_iterations(NULL), 0);
    ck_assert_int_eq(sn_optimizer_set_learning_rate(NULL, 0.1),
                     SN_ERR_INVALID_ARG);
    sn_model_free(m);
    sn_optimizer_free(opt);
}
END_TEST

/* ---------------------------------------------------------- clipping */

/* One plain SGD step with lr 1 and the given clip option; returns the
 * weights' change (= minus the clipped gradient) and the gradient as left
 * in the model. */
static void clip_step(float clipnorm, float clipvalue, float global,
                      const double *g, double *delta, double *g_after)
{
    sn_optimizer_opts o = defaults(SN_SGD);
    o.learning_rate = 1.0f;
    o.clipnorm = clipnorm;
    o.clipvalue = clipvalue;
    o.global_clipnorm = global;
    sn_optimizer_t *opt = make_opt(&o);
    sn_model_t *m = tiny_model(1);
    const double zero[NV] = {0, 0, 0};
    put3(m, zero, 0);
    put3(m, g, 1);
    ck_assert_int_eq(sn_optimizer_step(opt, m), SN_OK);
    get3(m, delta, 0);
    for (int i = 0; i < NV; i++)
        delta[i] = -delta[i];
    get3(m, g_after, 1);
    sn_model_free(m);
    sn_optimizer_free(opt);
}

START_TEST(test_clip_options)
{
    double d[NV], ga[NV];
    /* clipnorm 1, per tensor: kernel (3, 4) has norm 5 -> (0.6, 0.8);
     * bias 0.5 has norm 0.5 <= 1 -> unchanged. */
    const double g1[NV] = {3, 4, 0.5};
    const double want1[NV] = {0.6, 0.8, 0.5};
    clip_step(1.0f, 0, 0, g1, d, ga);
    expect3(d, want1, 1e-6, "clipnorm", 0);
    expect3(ga, want1, 1e-6, "clipnorm grads in place", 0);

    /* global_clipnorm 1: (2, 2, 1) has norm 3 -> all / 3. */
    const double g2[NV] = {2, 2, 1};
    const double want2[NV] = {2.0 / 3, 2.0 / 3, 1.0 / 3};
    clip_step(0, 0, 1.0f, g2, d, ga);
    expect3(d, want2, 1e-6, "global_clipnorm", 0);
    /* Below the threshold nothing changes. */
    clip_step(0, 0, 10.0f, g2, d, ga);
    expect3(d, g2, 1e-6, "global_clipnorm no-op", 0);

    /* clipvalue 0.5: element-wise. */
    const double g3[NV] = {3, -4, 0.2};
    const double want3[NV] = {0.5, -0.5, 0.2};
    clip_step(0, 0.5f, 0, g3, d, ga);
    expect3(d, want3, 1e-6, "clipvalue", 0);
}
END_TEST

START_TEST(test_clip_functions)
{
    sn_model_t *m = tiny_model(1);
    const double g[NV] = {3, 4, 0};
    double norm = -1, ga[NV];
    put3(m, g, 1);
    ck_assert_int_eq(sn_clip_grad_norm(m, 10.0, &norm), SN_OK);
    ck_assert_double_eq_tol(norm, 5.0, 1e-9);
    get3(m, ga, 1);
    expect3(ga, g, 0, "clip_grad_norm no-op", 0);
    ck_assert_int_eq(sn_clip_grad_norm(m, 1.0, &norm), SN_OK);
    ck_assert_double_eq_tol(norm, 5.0, 1e-9);
    get3(m, ga, 1);
    const double want[NV] = {0.6, 0.8, 0};
    expect3(ga, want, 1e-6, "clip_grad_norm", 0);
    ck_assert_int_eq(sn_clip_grad_norm(m, 1.0, NULL), SN_OK);

    ck_assert_int_eq(sn_clip_grad_norm(m, 0.0, &norm), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_clip_grad_norm(m, -1.0, &norm), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_clip_grad_norm(m, NAN, &norm), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_clip_grad_norm(m, INFINITY, &norm),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_clip_grad_norm(NULL, 1.0, &norm), SN_ERR_INVALID_ARG);

    /* A NaN gradient: SN_ERR_NUMERIC, gradients untouched. */
    const double gn[NV] = {3, NAN, 4};
    put3(m, gn, 1);
    ck_assert_int_eq(sn_clip_grad_norm(m, 1.0, &norm), SN_ERR_NUMERIC);
    get3(m, ga, 1);
    ck_assert_double_eq(ga[0], 3.0);
    ck_assert_double_eq(ga[2], 4.0);

    const double g3[NV] = {3, -4, 0.2};
    put3(m, g3, 1);
    ck_assert_int_eq(sn_clip_grad_value(m, 0.5), SN_OK);
    get3(m, ga, 1);
    const double want3[NV] = {0.5, -0.5, 0.2};
    expect3(ga, want3, 1e-7, "clip_grad_value", 0);
    ck_assert_int_eq(sn_clip_grad_value(m, 0.0), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_clip_grad_value(m, -1.0), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_clip_grad_value(m, NAN), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_clip_grad_value(NULL, 1.0), SN_ERR_INVALID_ARG);
    sn_model_free(m);
}
END_TEST

/* ------------------------------------------------------ error paths */

START_TEST(test_nan_gradient_changes_nothing)
{
    sn_optimizer_opts o = defaults(SN_ADAM);
    o.learning_rate = 0.1f;
    sn_model_t *m = tiny_model(1);
    sn_optimizer_t *opt = make_opt(&o);
    ref r;
    ref_init(&r, &o);
    put3(m, W0, 0);

    put3(m, G[0], 1);
    ck_assert_int_eq(sn_optimizer_step(opt, m), SN_OK);
    ref_adam(&o, &r, G[0]);

    double before[NV], after[NV];
    get3(m, before, 0);
    const double bad[NV] = {0.1, NAN, 0.2};
    put3(m, bad, 1);
    ck_assert_int_eq(sn_optimizer_step(opt, m), SN_ERR_NUMERIC);
    ck_assert(strlen(sn_last_error()) > 0);
    get3(m, after, 0);
    expect3(after, before, 0, "weights after NaN", 1);
    ck_assert_int_eq(sn_optimizer_iterations(opt), 1);
    const double inf[NV] = {INFINITY, 0, 0};
    put3(m, inf, 1);
    ck_assert_int_eq(sn_optimizer_step(opt, m), SN_ERR_NUMERIC);
    ck_assert_int_eq(sn_optimizer_iterations(opt), 1);

    /* The moments were not touched either: the next step matches a
     * reference that never saw the bad gradients. */
    put3(m, G[1], 1);
    ck_assert_int_eq(sn_optimizer_step(opt, m), SN_OK);
    ref_adam(&o, &r, G[1]);
    get3(m, after, 0);
    expect3(after, r.w, TOL, "adam after NaN", 2);
    sn_optimizer_free(opt);
    sn_model_free(m);
}
END_TEST

START_TEST(test_frozen_layer)
{
    sn_model_t *m = sn_model_new(NULL);
    ck_assert_int_ge(sn_input(m, SN_NO_TIME, 2), 0);
    sn_layer_t *frozen = sn_dense(2, SN_LINEAR, NULL);
    ck_assert_ptr_nonnull(frozen);
    ck_assert_int_eq(sn_layer_set_trainable(frozen, 0), SN_OK);
    ck_assert_int_eq(sn_model_add(m, frozen), SN_OK);
    ck_assert_int_eq(sn_model_add(m, sn_dense(1, SN_LINEAR, NULL)), SN_OK);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    int nw = sn_model_num_weights(m);
    ck_assert_int_eq(nw, 4);
    float saved[4][4];
    for (int i = 0; i < nw; i++) {
        size_t n = 0;
        float *w = sn_model_weight_data(m, i, &n);
        float *g = sn_model_weight_grad(m, i, &n);
        ck_assert_uint_le(n, 4);
        for (size_t j = 0; j < n; j++) {
            w[j] = 0.1f * (float)(i + 1) + 0.01f * (float)j;
            g[j] = 0.5f; /* even a frozen layer's (stale) gradient */
            saved[i][j] = w[j];
        }
    }
    sn_optimizer_opts o = defaults(SN_SGD);
    o.learning_rate = 0.1f;
    o.global_clipnorm = 0.5f; /* the norm counts trainable weights only */
    sn_optimizer_t *opt = make_opt(&o);
    ck_assert_int_eq(sn_optimizer_step(opt, m), SN_OK);
    for (int i = 0; i < nw; i++) {
        size_t n = 0;
        float *w = sn_model_weight_data(m, i, &n);
        float *g = sn_model_weight_grad(m, i, &n);
        for (size_t j = 0; j < n; j++) {
            if (i < 2) {
                ck_assert_float_eq(w[j], saved[i][j]);
                ck_assert_float_eq(g[j], 0.5f);
            } else {
                /* 3 trainable values of 0.5: norm sqrt(0.75). */
                double gc = 0.5 * 0.5 / sqrt(0.75);
                ck_assert_double_eq_tol(w[j], saved[i][j] - 0.1 * gc, 1e-6);
            }
        }
    }
    sn_optimizer_free(opt);
    sn_model_free(m);
}
END_TEST

START_TEST(test_rebind_other_size)
{
    sn_model_t *a = tiny_model(1), *b = tiny_model(2), *c = tiny_model(1);
    sn_optimizer_opts o = defaults(SN_ADAM);
    sn_optimizer_t *opt = make_opt(&o);
    ck_assert_int_eq(sn_optimizer_step(opt, a), SN_OK);
    ck_assert_int_eq(sn_optimizer_step(opt, b), SN_ERR_STATE);
    ck_assert_int_eq(sn_optimizer_iterations(opt), 1);
    ck_assert_int_eq(sn_optimizer_step(opt, c), SN_OK); /* same size */
    ck_assert_int_eq(sn_optimizer_step(NULL, a), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_optimizer_step(opt, NULL), SN_ERR_INVALID_ARG);
    /* An unbuildable model: sn_model_build's status. */
    sn_model_t *empty = sn_model_new(NULL);
    sn_optimizer_t *fresh = make_opt(&o);
    ck_assert_int_eq(sn_optimizer_step(fresh, empty), SN_ERR_STATE);
    ck_assert_int_eq(sn_optimizer_iterations(fresh), 0);
    sn_optimizer_free(fresh);
    sn_model_free(empty);
    sn_optimizer_free(opt);
    sn_model_free(a);
    sn_model_free(b);
    sn_model_free(c);
    sn_optimizer_free(NULL);
}
END_TEST

static void expect_rejected(const sn_optimizer_opts *o, const char *what)
{
    sn_optimizer_t *opt = sn_optimizer_new(o);
    ck_assert_msg(opt == NULL, "%s was accepted", what);
    sn_optimizer_free(opt);
    ck_assert_msg(strncmp(sn_last_error(), "sn_optimizer_new:", 17) == 0,
                  "%s: message '%s'", what, sn_last_error());
}

START_TEST(test_bad_options)
{
    sn_optimizer_opts o;
#define BAD(kind, field, value)                                              \
    do {                                                                     \
        o = defaults(kind);                                                  \
        o.field = value;                                                     \
        expect_rejected(&o, #kind " " #field " = " #value);                  \
    } while (0)
    BAD(SN_SGD, learning_rate, 0.0f);
    BAD(SN_SGD, learning_rate, -0.1f);
    BAD(SN_ADAM, learning_rate, NAN);
    BAD(SN_ADAM, learning_rate, INFINITY);
    BAD(SN_SGD, momentum, -0.1f);
    BAD(SN_SGD, momentum, 1.0f);
    BAD(SN_RMSPROP, momentum, 1.5f);
    BAD(SN_ADAM, beta_1, 1.0f);
    BAD(SN_ADAM, beta_1, -0.1f);
    BAD(SN_ADAMW, beta_2, 1.0f);
    BAD(SN_ADAM, beta_2, NAN);
    BAD(SN_ADAM, epsilon, 0.0f);
    BAD(SN_RMSPROP, epsilon, -1e-7f);
    BAD(SN_ADAGRAD, epsilon, 0.0f);
    BAD(SN_RMSPROP, rho, 1.0f);
    BAD(SN_RMSPROP, rho, -0.5f);
    BAD(SN_ADAGRAD, initial_accumulator_value, -0.1f);
    BAD(SN_SGD, weight_decay, -0.1f);
    BAD(SN_ADAMW, weight_decay, NAN);
    BAD(SN_SGD, clipnorm, -1.0f);
    BAD(SN_SGD, clipvalue, NAN);
    BAD(SN_SGD, global_clipnorm, -1.0f);
    BAD(SN_ADAM, clipnorm, INFINITY);
    BAD(SN_ADAM, kind, (sn_optimizer_kind)0);
    BAD(SN_ADAM, kind, (sn_optimizer_kind)42);
    BAD(SN_ADAM, size, 0);
    BAD(SN_ADAM, size, sizeof(sn_optimizer_opts) + 8);
#undef BAD
    /* Two clip options at once, as Keras refuses. */
    o = defaults(SN_SGD);
    o.clipnorm = 1.0f;
    o.clipvalue = 1.0f;
    expect_rejected(&o, "clipnorm + clipvalue");
    o = defaults(SN_SGD);
    o.clipnorm = 1.0f;
    o.global_clipnorm = 1.0f;
    expect_rejected(&o, "clipnorm + global_clipnorm");
    o = defaults(SN_SGD);
    o.clipvalue = 1.0f;
    o.global_clipnorm = 1.0f;
    expect_rejected(&o, "clipvalue + global_clipnorm");
    expect_rejected(NULL, "NULL");

    /* Fields a kind does not use are ignored. */
    o = defaults(SN_SGD);
    o.beta_1 = 5.0f;
    o.rho = -3.0f;
    sn_optimizer_t *opt = sn_optimizer_new(&o);
    ck_assert_ptr_nonnull(opt);
    sn_optimizer_free(opt);
}
END_TEST

START_TEST(test_short_options_struct)
{
    /* An older caller's struct that ends after learning_rate: the rest
     * comes from the kind's defaults. */
    sn_optimizer_opts o;
    memset(&o, 0, sizeof o);
    o.size = offsetof(sn_optimizer_opts, learning_rate) + sizeof(float);
    o.kind = SN_ADAM;
    o.learning_rate = 0.1f;
    sn_optimizer_t *opt = make_opt(&o);
    ck_assert_double_eq_tol(sn_optimizer_learning_rate(opt), 0.1, 1e-7);
    sn_model_t *m = tiny_model(1);
    put3(m, W0, 0);
    put3(m, G[0], 1);
    ck_assert_int_eq(sn_optimizer_step(opt, m), SN_OK);
    double w[NV];
    get3(m, w, 0);
    ck_assert_double_eq_tol(w[0], 0.4, 1e-5); /* Adam defaults, lr 0.1 */
    sn_model_free(m);
    sn_optimizer_free(opt);

    o.size = offsetof(sn_optimizer_opts, kind); /* no room for kind */
    expect_rejected(&o, "size without kind");
}
END_TEST

/* ---------------------------------------------------------------- main */

static Suite *optimizers_suite(void)
{
    Suite *s = suite_create("optimizers");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_sgd_plain);
    tcase_add_test(tc, test_sgd_momentum);
    tcase_add_test(tc, test_sgd_nesterov_by_hand);
    tcase_add_test(tc, test_sgd_weight_decay);
    tcase_add_test(tc, test_adam);
    tcase_add_test(tc, test_adam_amsgrad);
    tcase_add_test(tc, test_adamw);
    tcase_add_test(tc, test_rmsprop);
    tcase_add_test(tc, test_rmsprop_momentum_centered);
    tcase_add_test(tc, test_adagrad);
    tcase_add_test(tc, test_epsilon_placement);
    tcase_add_test(tc, test_schedules);
    tcase_add_test(tc, test_constant_and_set_learning_rate);
    tcase_add_test(tc, test_clip_options);
    tcase_add_test(tc, test_clip_functions);
    tcase_add_test(tc, test_nan_gradient_changes_nothing);
    tcase_add_test(tc, test_frozen_layer);
    tcase_add_test(tc, test_rebind_other_size);
    tcase_add_test(tc, test_bad_options);
    tcase_add_test(tc, test_short_options_struct);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tk_run_suite(optimizers_suite());
}

/*
 * gradcheck.c - the finite-difference gradient check of gradcheck.h.
 */
#include "gradcheck.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testkit.h"

const tk_grad_opts tk_grad_defaults = {1e-3f, 1e-2, 1e-3, 1u};

void tk_grad_forward(tk_grad_case *g)
{
    sn_status st = sn_model_forward(g->m, g->batch,
                                    (const void *const *)g->inputs,
                                    g->timesteps, g->training);
    ck_assert_msg(st == SN_OK, "forward failed: %s", sn_last_error());
}

double tk_grad_loss(tk_grad_case *g, float *const *w)
{
    tk_grad_forward(g);
    double l = 0.0;
    for (int k = 0; k < sn_model_num_outputs(g->m); k++) {
        const float *y = sn_model_output(g->m, k, NULL, 0, NULL);
        size_t n = tk_output_count(g->m, k);
        for (size_t i = 0; i < n; i++) {
            ck_assert_msg(isfinite(y[i]), "output %d[%zu] not finite", k, i);
            l += (double)w[k][i] * (double)y[i];
        }
    }
    return l;
}

/* Central difference of the loss in *p. */
static double numeric_grad(tk_grad_case *g, float *const *w, float *p,
                           float eps)
{
    float saved = *p;
    *p = saved + eps;
    double lp = tk_grad_loss(g, w);
    *p = saved - eps;
    double lm = tk_grad_loss(g, w);
    *p = saved;
    return (lp - lm) / (2.0 * (double)eps);
}

/* Records analytic a against numeric n for element idx of what. */
static void compare(tk_grad_result *r, const tk_grad_opts *o,
                    const char *what, size_t idx, double a, double n)
{
    r->checked++;
    if (fabs(a) > r->max_abs_grad)
        r->max_abs_grad = fabs(a);
    if (fabs(a - n) > o->atol + o->rtol * fmax(fabs(a), fabs(n))) {
        if (r->bad < 5)
            fprintf(stderr, "  %s[%zu]: analytic %.6f numeric %.6f\n", what,
                    idx, a, n);
        r->bad++;
    }
}

/* A copy of n floats: the library's gradient buffers are overwritten by
 * the forward passes of the numeric side. */
static float *copy_floats(const float *src, size_t n)
{
    ck_assert_ptr_nonnull(src);
    float *p = malloc((n ? n : 1) * sizeof *p);
    ck_assert_ptr_nonnull(p);
    memcpy(p, src, n * sizeof *p);
    return p;
}

static void free_each(float **p, int n)
{
    for (int i = 0; i < n; i++)
        free(p[i]);
    free(p);
}

/* The loss weights w_k, one array per output of the last forward. */
static float **loss_weights(const sn_model_t *m, uint32_t wseed,
                            uint32_t seed_step)
{
    int n_out = sn_model_num_outputs(m);
    ck_assert_int_gt(n_out, 0);
    float **w = calloc((size_t)n_out, sizeof *w);
    ck_assert_ptr_nonnull(w);
    for (int k = 0; k < n_out; k++) {
        size_t n = tk_output_count(m, k);
        w[k] = malloc((n ? n : 1) * sizeof *w[k]);
        ck_assert_ptr_nonnull(w[k]);
        tk_fill(w[k], n, wseed + seed_step * (uint32_t)k, -1.0f, 1.0f);
    }
    return w;
}

/* Copies of the analytic gradients of every weight (a pooling model has
 * none: the + 1 keeps calloc from returning NULL for that). */
static float **weight_grads(sn_model_t *m)
{
    int nw = sn_model_num_weights(m);
    float **wg = calloc((size_t)nw + 1, sizeof *wg);
    ck_assert_ptr_nonnull(wg);
    for (int i = 0; i < nw; i++) {
        size_t cnt;
        const float *gr = sn_model_weight_grad(m, i, &cnt);
        wg[i] = copy_floats(gr, cnt);
    }
    return wg;
}

/* Copies of the analytic gradients of the float inputs (NULL for ids). */
static float **input_grads(const tk_grad_case *g)
{
    float **ig = calloc(TK_GRAD_MAX_INPUTS, sizeof *ig);
    ck_assert_ptr_nonnull(ig);
    for (int k = 0; k < g->n_inputs; k++) {
        if (!g->in_float[k])
            continue;
        const float *gr = sn_model_input_grad(g->m, k);
        ck_assert_msg(gr != NULL, "no gradient for input %d", k);
        ig[k] = copy_floats(gr, g->in_count[k]);
    }
    return ig;
}

tk_grad_result tk_grad_check(tk_grad_case *g, uint32_t wseed,
                             const tk_grad_opts *o)
{
    tk_grad_result r = {0, 0, 0.0};
    ck_assert_int_le(g->n_inputs, TK_GRAD_MAX_INPUTS);
    tk_grad_forward(g); /* to learn the output sizes */
    int n_out = sn_model_num_outputs(g->m);
    float **w = loss_weights(g->m, wseed, o->seed_step);

    /* Analytic gradients. */
    ck_assert_int_eq(sn_model_zero_grad(g->m), SN_OK);
    (void)tk_grad_loss(g, w);
    sn_status st = sn_model_backward(g->m, (const float *const *)w);
    ck_assert_msg(st == SN_OK, "backward failed: %s", sn_last_error());
    int nw = sn_model_num_weights(g->m);
    float **wg = weight_grads(g->m);
    float **ig = input_grads(g);

    /* Numeric gradients. */
    for (int i = 0; i < nw; i++) {
        const char *name = NULL;
        sn_model_weight_info(g->m, i, &name, NULL, 0, NULL);
        size_t cnt;
        float *data = sn_model_weight_data(g->m, i, &cnt);
        for (size_t j = 0; j < cnt; j++)
            compare(&r, o, name, j, wg[i][j],
                    numeric_grad(g, w, &data[j], o->eps));
    }
    for (int k = 0; k < g->n_inputs; k++) {
        if (!g->in_float[k])
            continue;
        float *x = g->inputs[k];
        char what[32];
        snprintf(what, sizeof what, "input%d", k);
        for (size_t j = 0; j < g->in_count[k]; j++)
            compare(&r, o, what, j, ig[k][j],
                    numeric_grad(g, w, &x[j], o->eps));
    }
    free_each(wg, nw);
    free_each(ig, TK_GRAD_MAX_INPUTS);
    free_each(w, n_out);
    return r;
}

void tk_expect_good_grads(tk_grad_result r, const char *what)
{
    ck_assert_msg(r.checked > 0, "%s: nothing checked", what);
    ck_assert_msg(r.bad == 0, "%s: %d of %d gradients differ", what, r.bad,
                  r.checked);
    ck_assert_msg(r.max_abs_grad > 1e-3, "%s: gradient is all zero", what);
}

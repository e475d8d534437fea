/*
 * check_optimizers_more.c - Keras' Nadam and Adamax through the public
 * API: five steps on the three values of Input(2) -> Dense(1) with fixed
 * gradients, against float64 references (test/fixtures/gen_optimizers_ref.py:
 * Keras' rules written out, and PyTorch's Adamax, which agrees; PyTorch's
 * NAdam does not follow Keras, and the test shows the difference),
 * defaults, option checks and the state surviving a save/load in the
 * middle of training.
 */
#include <check.h>
#include <math.h>
#include <string.h>

#include <seqnet.h>

#include "fixtures/optimizers_ref.h"
#include "support/testkit.h"

static sn_model_t *tiny_model(void)
{
    sn_model_t *m = sn_model_new(NULL);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_ge(sn_input(m, SN_NO_TIME, 2), 0);
    ck_assert_int_eq(sn_model_add(m, sn_dense(1, SN_LINEAR, NULL)), SN_OK);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    return m;
}

/* kernel[0], kernel[1], bias[0] <- v (data or gradients). */
static void put3(sn_model_t *m, const double *v, int grads)
{
    float *k = grads ? sn_model_weight_grad(m, 0, NULL)
                     : sn_model_weight_data(m, 0, NULL);
    float *b = grads ? sn_model_weight_grad(m, 1, NULL)
                     : sn_model_weight_data(m, 1, NULL);
    k[0] = (float)v[0];
    k[1] = (float)v[1];
    b[0] = (float)v[2];
}

static void get3(sn_model_t *m, double *v)
{
    const float *k = sn_model_weight_data(m, 0, NULL);
    const float *b = sn_model_weight_data(m, 1, NULL);
    v[0] = k[0];
    v[1] = k[1];
    v[2] = b[0];
}

static sn_optimizer_t *make(sn_optimizer_kind kind)
{
    sn_optimizer_opts o;
    ck_assert_int_eq(sn_optimizer_defaults(kind, &o), SN_OK);
    o.learning_rate = (float)REF_LR;
    sn_optimizer_t *opt = sn_optimizer_new(&o);
    ck_assert_msg(opt != NULL, "%s", sn_last_error());
    return opt;
}

/* The weights after each step against want; the largest relative
 * difference from other (another reference) into *far. */
static void run_against(sn_optimizer_kind kind,
                        const double (*want)[3], double tol,
                        const double (*other)[3], double *far)
{
    sn_model_t *m = tiny_model();
    sn_optimizer_t *opt = make(kind);
    put3(m, ref_w0, 0);
    *far = 0.0;
    for (int s = 0; s < REF_NSTEPS; s++) {
        put3(m, ref_g[s], 1);
        ck_assert_int_eq(sn_optimizer_step(opt, m), SN_OK);
        double w[3];
        get3(m, w);
        for (int i = 0; i < 3; i++) {
            ck_assert_msg(fabs(w[i] - want[s][i]) <= tol * fabs(want[s][i]),
                          "kind %d step %d value %d: got %.9g want %.9g",
                          (int)kind, s + 1, i, w[i], want[s][i]);
            if (other != NULL)
                *far = fmax(*far, fabs(w[i] - other[s][i]));
        }
    }
    ck_assert_int_eq(sn_optimizer_iterations(opt), REF_NSTEPS);
    sn_optimizer_free(opt);
    sn_model_free(m);
}

START_TEST(test_nadam_matches_keras_rule)
{
    double far;
    run_against(SN_NADAM, ref_nadam, 2e-6, ref_nadam_torch_default, &far);
    /* torch's NAdam (momentum_decay 0.004, another schedule) is ~1e-4
     * away, 50 times the tolerance above */
    ck_assert_msg(far > 1e-4, "torch default NAdam only %g away", far);
}
END_TEST

START_TEST(test_adamax_matches_keras_rule)
{
    double far;
    run_against(SN_ADAMAX, ref_adamax_keras, 2e-6, ref_adamax_torch, &far);
    ck_assert_msg(far < 1e-6, "torch Adamax %g away", far);
}
END_TEST

/* Step 1 by hand: Nadam with u_1 = 0.9 (1 - 0.5 * 0.96), u_2 = 0.9 (1 -
 * 0.5 * 0.96^2), m = 0.1 g, v = 0.001 g^2, v_hat = g^2:
 *   w1 = w0 - lr (u_2 0.1 g / (1 - u_1 u_2) + (1 - u_1) g / (1 - u_1)) / |g|
 * (epsilon 1e-7 is below float resolution here). */
START_TEST(test_nadam_first_step_by_hand)
{
    double u1 = 0.9 * (1 - 0.5 * 0.96), u2 = 0.9 * (1 - 0.5 * 0.96 * 0.96);
    sn_model_t *m = tiny_model();
    sn_optimizer_t *opt = make(SN_NADAM);
    put3(m, ref_w0, 0);
    put3(m, ref_g[0], 1);
    ck_assert_int_eq(sn_optimizer_step(opt, m), SN_OK);
    double w[3];
    get3(m, w);
    for (int i = 0; i < 3; i++) {
        double g = ref_g[0][i];
        double mhat = u2 * 0.1 * g / (1 - u1 * u2) + (1 - u1) * g / (1 - u1);
        double want = ref_w0[i] - REF_LR * mhat / (fabs(g) + 1e-7);
        ck_assert_double_eq_tol(w[i], want, 1e-6);
    }
    sn_optimizer_free(opt);
    sn_model_free(m);
}
END_TEST

START_TEST(test_defaults_and_checks)
{
    sn_optimizer_kind kinds[2] = {SN_NADAM, SN_ADAMAX};
    for (int k = 0; k < 2; k++) {
        sn_optimizer_opts o;
        ck_assert_int_eq(sn_optimizer_defaults(kinds[k], &o), SN_OK);
        ck_assert_int_eq(o.kind, kinds[k]);
        ck_assert_float_eq(o.learning_rate, 0.001f);
        ck_assert_float_eq(o.beta_1, 0.9f);
        ck_assert_float_eq(o.beta_2, 0.999f);
        ck_assert_float_eq(o.epsilon, 1e-7f);
        ck_assert_float_eq(o.weight_decay, 0.0f);
        o.beta_1 = 1.0f;
        ck_assert_ptr_null(sn_optimizer_new(&o));
        tk_expect_error_mentions("beta_1");
        o.beta_1 = 0.9f;
        o.beta_2 = NAN;
        ck_assert_ptr_null(sn_optimizer_new(&o));
        tk_expect_error_mentions("beta_2");
    }
    sn_optimizer_opts o;
    ck_assert_int_ne(sn_optimizer_defaults((sn_optimizer_kind)8, &o), SN_OK);
}
END_TEST

/* Two steps, save with the optimizer, load, three more steps on both:
 * the same weights (Nadam's momentum product is rebuilt from the step
 * count, Adamax's infinity norm is a saved slot). */
static void resume_case(sn_optimizer_kind kind)
{
    sn_model_t *m = tiny_model();
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.optimizer = make(kind);
    ck_assert_int_eq(sn_model_compile(m, &co), SN_OK);
    sn_optimizer_t *opt = sn_model_optimizer(m);
    put3(m, ref_w0, 0);
    for (int s = 0; s < 2; s++) {
        put3(m, ref_g[s], 1);
        ck_assert_int_eq(sn_optimizer_step(opt, m), SN_OK);
    }
    void *data;
    size_t len;
    ck_assert_int_eq(sn_model_save_buffer(m, 1, &data, &len), SN_OK);
    sn_model_t *back = NULL;
    ck_assert_msg(sn_model_load_buffer(data, len, &back) == SN_OK, "%s",
                  sn_last_error());
    sn_free(data);
    sn_optimizer_t *opt2 = sn_model_optimizer(back);
    ck_assert_ptr_nonnull(opt2);
    ck_assert_int_eq(sn_optimizer_iterations(opt2), 2);
    for (int s = 2; s < REF_NSTEPS; s++) {
        put3(m, ref_g[s], 1);
        put3(back, ref_g[s], 1);
        ck_assert_int_eq(sn_optimizer_step(opt, m), SN_OK);
        ck_assert_int_eq(sn_optimizer_step(opt2, back), SN_OK);
    }
    double a[3], b[3];
    get3(m, a);
    get3(back, b);
    const double (*want)[3] = kind == SN_NADAM ? ref_nadam : ref_adamax_keras;
    for (int i = 0; i < 3; i++) {
        ck_assert_double_eq(a[i], b[i]);
        ck_assert_double_eq_tol(b[i], want[REF_NSTEPS - 1][i],
                                2e-6 * fabs(want[REF_NSTEPS - 1][i]));
    }
    sn_model_free(back);
    sn_model_free(m);
}

START_TEST(test_state_survives_save_load)
{
    resume_case(_i ? SN_ADAMAX : SN_NADAM);
}
END_TEST

static Suite *optimizers_more_suite(void)
{
    Suite *s = suite_create("optimizers_more");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, test_nadam_matches_keras_rule);
    tcase_add_test(tc, test_adamax_matches_keras_rule);
    tcase_add_test(tc, test_nadam_first_step_by_hand);
    tcase_add_test(tc, test_defaults_and_checks);
    tcase_add_loop_test(tc, test_state_survives_save_load, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tk_run_suite(optimizers_more_suite());
}

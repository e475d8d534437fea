/*
 * check_mha.c - MultiHeadAttention through the public API only: a plain
 * double-precision reference implementation (reading the model's weights)
 * against predict, attention scores, masks, the causal mask, finite-
 * difference gradients, dropout, a training step, argument and shape
 * validation, and save/load.
 *
 * Gradient checks use L = sum_i w_i * y_i with fixed pseudo-random w
 * (test/support/gradcheck.c).
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <seqnet.h>

#include "support/gradcheck.h"
#include "support/testkit.h"

/* ------------------------------------------------------------ helpers */

/* Every weight of the model uniform in [-r, r], seeded by its index, so
 * that biases are nonzero and the softmax is not flat. */
static void fill_weights(sn_model_t *m, float r)
{
    tk_fill_weights(m, 100u, 1u, r);
}

/* ------------------------------------------------- the model under test */

enum { MAXT = 6, MAXH = 2, MAXD = 6, MAXB = 4 };

/* One attention configuration.  self: one input [tq, dq] passed twice
 * (tk = tq, dv = dk = dq); otherwise query [tq, dq], value [tk, dv] and,
 * with with_key, key [tk, dk] (else the key is the value, dk = dv). */
typedef struct cfg {
    int self, with_key;
    int heads, kd, vd;
    int use_bias, output_shape, causal, scores;
    float dropout;
    int tq, tk, dq, dv, dk;
} cfg;

static cfg base_cfg(void)
{
    cfg c = {0, 0, 2, 3, 2, 1, 0, 0, 0, 0.0f, 3, 4, 4, 3, 3};
    return c;
}

static void normalise(cfg *c)
{
    if (c->self) {
        c->with_key = 0;
        c->tk = c->tq;
        c->dv = c->dq;
    }
    if (!c->with_key)
        c->dk = c->dv;
}

static int out_dim(const cfg *c)
{
    return c->output_shape > 0 ? c->output_shape : c->dq;
}

static sn_layer_t *make_layer(const cfg *c)
{
    sn_mha_opts o = SN_MHA_OPTS_INIT;
    o.value_dim = c->vd;
    o.dropout = c->dropout;
    o.use_bias = c->use_bias;
    o.output_shape = c->output_shape;
    o.use_causal_mask = c->causal;
    o.return_attention_scores = c->scores;
    sn_layer_t *l = sn_multi_head_attention(c->heads, c->kd, &o);
    ck_assert_msg(l != NULL, "constructor: %s", sn_last_error());
    ck_assert_int_eq(sn_layer_set_name(l, "mha"), SN_OK);
    return l;
}

/* Applies the layer to the model's inputs; outputs[0] = y, [1] = scores.
 * Returns the number of model inputs. */
static int apply_cfg(sn_model_t *m, const cfg *c, int *outputs)
{
    int in[3], n_in;
    if (c->self) {
        int x = sn_input(m, c->tq, c->dq);
        in[0] = in[1] = x;
        n_in = 2;
    } else {
        in[0] = sn_input(m, c->tq, c->dq);
        in[1] = sn_input(m, c->tk, c->dv);
        n_in = 2;
        if (c->with_key)
            in[n_in++] = sn_input(m, c->tk, c->dk);
    }
    int n = sn_apply_n(m, make_layer(c), in, n_in, outputs, 2);
    ck_assert_msg(n == 1 + c->scores, "apply: %d %s", n, sn_last_error());
    return c->self ? 1 : n_in;
}

/* A built model for c with weights from fill_weights; all outputs. */
static sn_model_t *build_cfg(const cfg *c, uint64_t seed, int *n_inputs)
{
    sn_model_t *m = tk_new_model(seed);
    int outs[2];
    *n_inputs = apply_cfg(m, c, outs);
    ck_assert_int_eq(sn_model_set_outputs(m, outs, 1 + c->scores), SN_OK);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    fill_weights(m, 0.7f);
    return m;
}

/* ------------------------------------------------------ the reference */

/* The layer's weights by Keras name, NULL for biases it does not have. */
typedef struct ref_w {
    const float *wq, *bq, *wk, *bk, *wv, *bv, *wo, *bo;
} ref_w;

static const float *opt_weight(sn_model_t *m, const char *name)
{
    int i = sn_model_find_weight(m, name);
    return i < 0 ? NULL : sn_model_weight_data(m, i, NULL);
}

static ref_w ref_weights(sn_model_t *m)
{
    ref_w w = {
        opt_weight(m, "mha/query/kernel"), opt_weight(m, "mha/query/bias"),
        opt_weight(m, "mha/key/kernel"), opt_weight(m, "mha/key/bias"),
        opt_weight(m, "mha/value/kernel"), opt_weight(m, "mha/value/bias"),
        opt_weight(m, "mha/attention_output/kernel"),
        opt_weight(m, "mha/attention_output/bias")};
    ck_assert(w.wq && w.wk && w.wv && w.wo);
    return w;
}

/* out[t][h][e] = sum_d x[t][d] W[d][h][e] + b[h][e]. */
static void ref_project(const float *x, int t_n, int d_n, const float *w,
                        const float *b, int h_n, int e_n,
                        double out[MAXT][MAXH][MAXD])
{
    for (int t = 0; t < t_n; t++)
        for (int h = 0; h < h_n; h++)
            for (int e = 0; e < e_n; e++) {
                double s = b ? b[h * e_n + e] : 0.0;
                for (int d = 0; d < d_n; d++)
                    s += (double)x[t * d_n + d] *
                         w[(d * h_n + h) * e_n + e];
                out[t][h][e] = s;
            }
}

/*
 * Keras MultiHeadAttention for one sample in double: xq [tq, dq], xv, xk
 * [tk, .], masks qm [tq], km [tk] (NULL = all real).  y [tq, out],
 * p [heads, tq, tk].
 */
static void ref_sample(const cfg *c, const ref_w *w, const float *xq,
                       const float *xv, const float *xk, const uint8_t *qm,
                       const uint8_t *km, double *y, double *p)
{
    static double q[MAXT][MAXH][MAXD], k[MAXT][MAXH][MAXD],
        v[MAXT][MAXH][MAXD], ctx[MAXT][MAXH][MAXD];
    int H = c->heads, o_n = out_dim(c);
    ref_project(xq, c->tq, c->dq, w->wq, w->bq, H, c->kd, q);
    ref_project(xk, c->tk, c->dk, w->wk, w->bk, H, c->kd, k);
    ref_project(xv, c->tk, c->dv, w->wv, w->bv, H, c->vd, v);
    for (int h = 0; h < H; h++)
        for (int i = 0; i < c->tq; i++) {
            double *row = p + ((size_t)h * c->tq + i) * c->tk, mx = -1e300;
            int any = 0;
            for (int j = 0; j < c->tk; j++) {
                int ok = (!qm || qm[i]) && (!km || km[j]) &&
                         (!c->causal || j <= i);
                double s = 0.0;
                for (int a = 0; a < c->kd; a++)
                    s += q[i][h][a] * k[j][h][a];
                row[j] = ok ? s / sqrt((double)c->kd) : NAN;
                if (ok && row[j] > mx)
                    mx = row[j];
                any |= ok;
            }
            double sum = 0.0;
            for (int j = 0; j < c->tk; j++) {
                row[j] = isnan(row[j]) ? 0.0 : exp(row[j] - mx);
                sum += row[j];
            }
            for (int j = 0; j < c->tk; j++)
                row[j] = any ? row[j] / sum : 0.0;
            for (int e = 0; e < c->vd; e++) {
                double s = 0.0;
                for (int j = 0; j < c->tk; j++)
                    s += row[j] * v[j][h][e];
                ctx[i][h][e] = s;
            }
        }
    for (int i = 0; i < c->tq; i++)
        for (int o = 0; o < o_n; o++) {
            double s = w->bo ? w->bo[o] : 0.0;
            for (int h = 0; h < H; h++)
                for (int e = 0; e < c->vd; e++)
                    s += ctx[i][h][e] * w->wo[(h * c->vd + e) * o_n + o];
            y[i * o_n + o] = s;
        }
}

/* Reference over a batch; xk NULL = the value. */
static void ref_batch(const cfg *c, sn_model_t *m, int batch, const float *xq,
                      const float *xv, const float *xk, const uint8_t *qm,
                      const uint8_t *km, double *y, double *p)
{
    ref_w w = ref_weights(m);
    if (xk == NULL)
        xk = xv;
    int o_n = out_dim(c);
    for (int b = 0; b < batch; b++)
        ref_sample(c, &w, xq + (size_t)b * c->tq * c->dq,
                   xv + (size_t)b * c->tk * c->dv,
                   xk + (size_t)b * c->tk * c->dk,
                   qm ? qm + (size_t)b * c->tq : NULL,
                   km ? km + (size_t)b * c->tk : NULL,
                   y + (size_t)b * c->tq * o_n,
                   p + (size_t)b * c->heads * c->tq * c->tk);
}

static void expect_close(const float *got, const double *want, size_t n,
                         double tol, const char *what)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabs((double)got[i] - want[i]) <= tol,
                      "%s[%zu]: got %.7f want %.7f", what, i, (double)got[i],
                      want[i]);
}

/* ------------------------------------------------ forward vs reference */

/* Runs predict on random inputs and compares y and scores with ref. */
static void check_forward(cfg c, const char *what)
{
    normalise(&c);
    c.scores = 1;
    const int batch = 2;
    int n_in;
    sn_model_t *m = build_cfg(&c, 3, &n_in);
    float xq[MAXB * MAXT * MAXD], xv[MAXB * MAXT * MAXD],
        xk[MAXB * MAXT * MAXD];
    tk_fill(xq, sizeof xq / sizeof *xq, 11, -1.0f, 1.0f);
    tk_fill(xv, sizeof xv / sizeof *xv, 12, -1.0f, 1.0f);
    tk_fill(xk, sizeof xk / sizeof *xk, 13, -1.0f, 1.0f);
    const void *in[3] = {xq, xv, xk};
    size_t ny = (size_t)batch * c.tq * out_dim(&c);
    size_t np = (size_t)batch * c.heads * c.tq * c.tk;
    float y[MAXB * MAXT * MAXD], p[MAXB * MAXH * MAXT * MAXT];
    float *outs[2] = {y, p};
    ck_assert_msg(sn_model_predict(m, batch, in, NULL, outs) == SN_OK,
                  "%s: predict: %s", what, sn_last_error());
    double ry[MAXB * MAXT * MAXD], rp[MAXB * MAXH * MAXT * MAXT];
    ref_batch(&c, m, batch, xq, c.self ? xq : xv,
              c.self ? xq : (c.with_key ? xk : NULL), NULL, NULL, ry, rp);
    expect_close(y, ry, ny, 2e-5, what);
    expect_close(p, rp, np, 2e-6, what);
    sn_model_free(m);
}

START_TEST(test_forward_matches_reference)
{
    char what[96];
    for (int self = 0; self <= 1; self++)
        for (int with_key = 0; with_key <= 1 - self; with_key++)
            for (int bias = 0; bias <= 1; bias++)
                for (int os = 0; os <= 5; os += 5)
                    for (int causal = 0; causal <= 1; causal++) {
                        cfg c = base_cfg();
                        c.self = self;
                        c.with_key = with_key;
                        c.use_bias = bias;
                        c.output_shape = os;
                        c.causal = causal;
                        c.dk = 5;
                        snprintf(what, sizeof what,
                                 "self %d key %d bias %d out %d causal %d",
                                 self, with_key, bias, os, causal);
                        check_forward(c, what);
                    }
}
END_TEST

/* value_dim defaults to key_dim; the weight shapes follow Keras. */
START_TEST(test_weight_shapes)
{
    sn_model_t *m = tk_new_model(1);
    int q = sn_input(m, 3, 4), v = sn_input(m, 5, 6), out[1];
    int in[2] = {q, v};
    ck_assert_int_eq(sn_apply_n(m, sn_multi_head_attention(2, 3, NULL), in,
                                2, out, 1), 1);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    static const struct {
        const char *name;
        int rank, d[3];
    } want[] = {
        {"multi_head_attention/query/kernel", 3, {4, 2, 3}},
        {"multi_head_attention/query/bias", 2, {2, 3, 0}},
        {"multi_head_attention/key/kernel", 3, {6, 2, 3}},
        {"multi_head_attention/key/bias", 2, {2, 3, 0}},
        {"multi_head_attention/value/kernel", 3, {6, 2, 3}},
        {"multi_head_attention/value/bias", 2, {2, 3, 0}},
        {"multi_head_attention/attention_output/kernel", 3, {2, 3, 4}},
        {"multi_head_attention/attention_output/bias", 1, {4, 0, 0}},
    };
    ck_assert_int_eq(sn_model_num_weights(m), 8);
    for (int i = 0; i < 8; i++) {
        const char *name;
        int dims[SN_MAX_RANK];
        ck_assert_int_eq(sn_model_weight_info(m, i, &name, dims, SN_MAX_RANK, NULL),
                         want[i].rank);
        ck_assert_str_eq(name, want[i].name);
        for (int r = 0; r < want[i].rank; r++)
            ck_assert_int_eq(dims[r], want[i].d[r]);
    }
    /* glorot_uniform with Keras' fans: (4, 2, 3) -> 8 + 12. */
    size_t n;
    const float *k = tk_weight(m, "multi_head_attention/query/kernel", &n);
    float lim = sqrtf(6.0f / 20.0f), mx = 0.0f;
    for (size_t i = 0; i < n; i++)
        mx = fmaxf(mx, fabsf(k[i]));
    ck_assert(mx <= lim && mx > 0.5f * lim);
    int dims[SN_MAX_RANK];
    ck_assert_int_eq(sn_model_tensor_shape(m, out[0], dims, SN_MAX_RANK, NULL), 2);
    ck_assert_int_eq(dims[0], 3);
    ck_assert_int_eq(dims[1], 4);
    sn_model_free(m);
}
END_TEST

/* Scores: [B, heads, Tq, Tk], each row a distribution. */
START_TEST(test_scores_shape_and_rows)
{
    cfg c = base_cfg();
    c.scores = 1;
    c.tq = 2;
    c.tk = 5;
    normalise(&c);
    int n_in;
    sn_model_t *m = build_cfg(&c, 4, &n_in);
    int dims[SN_MAX_RANK];
    ck_assert_int_eq(sn_model_tensor_shape(m, sn_model_output_id(m, 1), dims, SN_MAX_RANK,
                                           NULL), 3);
    ck_assert_int_eq(dims[0], 2);
    ck_assert_int_eq(dims[1], 2);
    ck_assert_int_eq(dims[2], 5);
    const int batch = 3;
    float xq[3 * 2 * 4], xv[3 * 5 * 3];
    tk_fill(xq, 24, 1, -1.0f, 1.0f);
    tk_fill(xv, 45, 2, -1.0f, 1.0f);
    const void *in[2] = {xq, xv};
    ck_assert_int_eq(sn_model_forward(m, batch, in, NULL, 0), SN_OK);
    int full[SN_MAX_RANK + 1], rank;
    const float *p = sn_model_output(m, 1, full, SN_MAX_RANK + 1, &rank);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(rank, 4);
    ck_assert_int_eq(full[0], batch);
    ck_assert_int_eq(full[1], 2);
    ck_assert_int_eq(full[2], 2);
    ck_assert_int_eq(full[3], 5);
    for (int r = 0; r < batch * 2 * 2; r++) {
        double s = 0.0;
        for (int j = 0; j < 5; j++) {
            ck_assert(p[r * 5 + j] > 0.0f);
            s += p[r * 5 + j];
        }
        ck_assert_msg(fabs(s - 1.0) < 1e-5, "row %d sums to %g", r, s);
    }
    sn_model_free(m);
}
END_TEST

/* ---------------------------------------------------------------- masks */

/* Tokens -> Embedding(mask_zero) "emb" -> value (and query when self);
 * otherwise a float query input comes first.  Outputs: y, the scores with
 * c->scores, then with with_pool GlobalAveragePooling1D(y). */
static sn_model_t *masked_model(const cfg *c, int with_pool)
{
    sn_model_t *m = tk_new_model(9);
    sn_embedding_opts eo = SN_EMBEDDING_OPTS_INIT;
    eo.mask_zero = 1;
    int q = c->self ? -1 : sn_input(m, c->tq, c->dq);
    sn_layer_t *emb = sn_embedding(6, c->dv, &eo);
    ck_assert_int_eq(sn_layer_set_name(emb, "emb"), SN_OK);
    int e = sn_apply(m, emb, sn_input_tokens(m, c->tk));
    ck_assert_int_ge(e, 0);
    int in[2] = {c->self ? e : q, e}, outs[3];
    ck_assert_int_eq(sn_apply_n(m, make_layer(c), in, 2, outs, 2),
                     1 + c->scores);
    int n_out = 1 + c->scores;
    if (with_pool) {
        outs[n_out++] = sn_apply(m, sn_global_average_pooling1d(), outs[0]);
        ck_assert_int_ge(outs[n_out - 1], 0);
    }
    ck_assert_int_eq(sn_model_set_outputs(m, outs, n_out), SN_OK);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    fill_weights(m, 0.7f);
    return m;
}

/* The embedding rows of ids, [n, dim], and their mask. */
static void embed(sn_model_t *m, const int32_t *ids, int n, int dim,
                  float *x, uint8_t *mask)
{
    const float *tab = tk_weight(m, "emb/embeddings", NULL);
    for (int i = 0; i < n; i++) {
        memcpy(x + (size_t)i * dim, tab + (size_t)ids[i] * dim,
               (size_t)dim * sizeof *x);
        mask[i] = ids[i] != 0;
    }
}

/* Padded keys get weight exactly 0, padded queries all-zero weights and
 * the output bias; a fully padded sample gives no NaN; the output carries
 * the query's mask (pooling leaves padded steps out). */
START_TEST(test_mask_self_attention)
{
    cfg c = base_cfg();
    c.self = 1;
    c.scores = 1;
    c.tq = 4;
    c.dq = 3;
    normalise(&c);
    sn_model_t *m = masked_model(&c, 1);
    enum { B = 3, T = 4, D = 3, H = 2 };
    int32_t ids[B * T] = {1, 2, 0, 0, 3, 4, 5, 0, 0, 0, 0, 0};
    float y[B * T * D], p[B * H * T * T], pool[B * D];
    float *outs[3] = {y, p, pool};
    const void *in[1] = {ids};
    ck_assert_int_eq(sn_model_predict(m, B, in, NULL, outs), SN_OK);

    float x[B * T * D];
    uint8_t mask[B * T];
    embed(m, ids, B * T, D, x, mask);
    double ry[B * T * D], rp[B * H * T * T];
    ref_batch(&c, m, B, x, x, NULL, mask, mask, ry, rp);
    expect_close(y, ry, B * T * D, 2e-5, "masked y");
    expect_close(p, rp, B * H * T * T, 2e-6, "masked scores");

    const float *bo = tk_weight(m, "mha/attention_output/bias", NULL);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++) {
                const float *row = p + ((b * H + h) * T + i) * T;
                for (int j = 0; j < T; j++)
                    if (!mask[b * T + i] || !mask[b * T + j])
                        ck_assert_float_eq(row[j], 0.0f);
            }
    for (int b = 0; b < B; b++)
        for (int i = 0; i < T; i++) {
            const float *yr = y + (b * T + i) * D;
            for (int d = 0; d < D; d++) {
                ck_assert(isfinite(yr[d]));
                if (!mask[b * T + i])
                    ck_assert_float_eq(yr[d], bo[d]);
            }
        }
    /* Output mask = query mask: the mean over real steps only. */
    for (int b = 0; b < 2; b++)
        for (int d = 0; d < D; d++) {
            double s = 0.0;
            int n = 0;
            for (int i = 0; i < T; i++)
                if (mask[b * T + i]) {
                    s += y[(b * T + i) * D + d];
                    n++;
                }
            ck_assert(fabs(pool[b * D + d] - s / n) < 1e-5);
        }
    sn_model_free(m);
}
END_TEST

/* Cross-attention: a float query (no mask) over a masked value. */
START_TEST(test_mask_cross_attention)
{
    cfg c = base_cfg();
    c.scores = 1;
    c.tq = 3;
    c.tk = 5;
    normalise(&c);
    sn_model_t *m = masked_model(&c, 0);
    enum { B = 2, TQ = 3, TK = 5, DQ = 4, DV = 3, H = 2 };
    int32_t ids[B * TK] = {2, 0, 3, 0, 0, 0, 0, 0, 0, 0};
    float xq[B * TQ * DQ];
    tk_fill(xq, B * TQ * DQ, 31, -1.0f, 1.0f);
    float y[B * TQ * DQ], p[B * H * TQ * TK];
    float *outs[2] = {y, p};
    const void *in[2] = {xq, ids};
    ck_assert_int_eq(sn_model_predict(m, B, in, NULL, outs), SN_OK);
    float xv[B * TK * DV];
    uint8_t mask[B * TK];
    embed(m, ids, B * TK, DV, xv, mask);
    double ry[B * TQ * DQ], rp[B * H * TQ * TK];
    ref_batch(&c, m, B, xq, xv, NULL, NULL, mask, ry, rp);
    expect_close(y, ry, B * TQ * DQ, 2e-5, "cross masked y");
    expect_close(p, rp, B * H * TQ * TK, 2e-6, "cross masked scores");
    for (int r = 0; r < B * H * TQ; r++)
        for (int j = 0; j < TK; j++)
            if (!mask[(r / (H * TQ)) * TK + j])
                ck_assert_float_eq(p[r * TK + j], 0.0f);
    sn_model_free(m);
}
END_TEST

/* --------------------------------------------------------------- causal */

/* Changing step t of the inputs leaves every output step before t exactly
 * as it was. */
static void check_causal(cfg c, int changed_input)
{
    normalise(&c);
    c.causal = 1;
    c.scores = 0;
    enum { B = 2 };
    int n_in;
    sn_model_t *m = build_cfg(&c, 5, &n_in);
    float x[3][B * MAXT * MAXD];
    int dims[3] = {c.dq, c.dv, c.dk};
    for (int k = 0; k < 3; k++)
        tk_fill(x[k], B * MAXT * MAXD, 40u + (uint32_t)k, -1.0f, 1.0f);
    const void *in[3] = {x[0], x[1], x[2]};
    int o_n = out_dim(&c);
    float y0[B * MAXT * MAXD], y1[B * MAXT * MAXD];
    float *o0[1] = {y0}, *o1[1] = {y1};
    ck_assert_int_eq(sn_model_predict(m, B, in, NULL, o0), SN_OK);
    const int t = 2;
    for (int b = 0; b < B; b++) {
        int T = changed_input == 0 ? c.tq : c.tk;
        float *row = x[changed_input] +
                     ((size_t)b * T + t) * dims[changed_input];
        for (int d = 0; d < dims[changed_input]; d++)
            row[d] += 0.9f;
    }
    ck_assert_int_eq(sn_model_predict(m, B, in, NULL, o1), SN_OK);
    for (int b = 0; b < B; b++) {
        const float *a = y0 + (size_t)b * c.tq * o_n;
        const float *z = y1 + (size_t)b * c.tq * o_n;
        ck_assert_msg(memcmp(a, z, (size_t)t * o_n * sizeof *a) == 0,
                      "input %d: an earlier step changed", changed_input);
        ck_assert_msg(memcmp(a, z, (size_t)(t + 1) * o_n * sizeof *a) != 0,
                      "input %d: step %d did not change", changed_input, t);
    }
    sn_model_free(m);
}

START_TEST(test_causal_exact)
{
    cfg c = base_cfg();
    c.self = 1;
    c.tq = 5;
    check_causal(c, 0);
    c = base_cfg();
    c.with_key = 1;
    c.tq = c.tk = 5;
    c.dk = 2;
    for (int k = 0; k < 3; k++)
        check_causal(c, k);
}
END_TEST

/* ------------------------------------------------------------ gradients */

/* Gradient check of c on a batch of 2; scores_out checks the gradient
 * through the returned scores instead of y. */
static void grad_case(cfg c, int scores_out, const char *what)
{
    normalise(&c);
    c.scores = scores_out;
    const int batch = 2;
    sn_model_t *m = tk_new_model(21);
    int outs[2];
    int n_in = apply_cfg(m, &c, outs);
    ck_assert_int_eq(sn_model_set_outputs(m, &outs[scores_out], 1), SN_OK);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    fill_weights(m, 0.7f);
    static float x[3][MAXB * MAXT * MAXD];
    size_t cnt[3] = {(size_t)batch * c.tq * c.dq, (size_t)batch * c.tk * c.dv,
                     (size_t)batch * c.tk * c.dk};
    tk_grad_case g = {m, batch, n_in, {x[0], x[1], x[2]}, {0}, {1, 1, 1},
                      0, NULL};
    for (int k = 0; k < n_in; k++) {
        tk_fill(x[k], cnt[k], 50u + (uint32_t)k, -1.0f, 1.0f);
        g.in_count[k] = cnt[k];
    }
    tk_expect_good_grads(tk_grad_check(&g, 61, &tk_grad_defaults), what);
    sn_model_free(m);
}

START_TEST(test_grad_cross_with_key)
{
    cfg c = base_cfg();
    c.with_key = 1;
    c.dk = 2;
    c.output_shape = 5;
    grad_case(c, 0, "cross with key");
}
END_TEST

START_TEST(test_grad_cross_no_bias)
{
    cfg c = base_cfg();
    c.use_bias = 0;
    grad_case(c, 0, "cross without bias");
}
END_TEST

/* One tensor as query, key and value: three gradients add up. */
START_TEST(test_grad_self)
{
    cfg c = base_cfg();
    c.self = 1;
    grad_case(c, 0, "self");
    c.use_bias = 0;
    c.output_shape = 2;
    grad_case(c, 0, "self without bias");
}
END_TEST

START_TEST(test_grad_causal)
{
    cfg c = base_cfg();
    c.self = 1;
    c.causal = 1;
    grad_case(c, 0, "self causal");
    c = base_cfg();
    c.causal = 1;
    c.tq = 4;
    c.tk = 3;
    grad_case(c, 0, "cross causal");
}
END_TEST

/* The gradient through the returned scores (softmax backward alone). */
START_TEST(test_grad_scores_output)
{
    cfg c = base_cfg();
    grad_case(c, 1, "scores");
    c.self = 1;
    c.causal = 1;
    grad_case(c, 1, "scores self causal");
}
END_TEST

/* Masked self- and cross-attention (Embedding(mask_zero) upstream), with
 * a fully padded sample: gradients match, none is NaN. */
START_TEST(test_grad_masked)
{
    int32_t ids[2 * 4] = {1, 3, 0, 0, 0, 0, 0, 0};
    for (int self = 0; self <= 1; self++) {
        cfg c = base_cfg();
        c.self = self;
        c.tq = self ? 4 : 3;
        c.dq = self ? 3 : 4;
        c.tk = 4;
        normalise(&c);
        sn_model_t *m = masked_model(&c, 0); /* y is the only output */
        float xq[2 * 3 * 4];
        tk_fill(xq, 24, 71, -1.0f, 1.0f);
        tk_grad_case g;
        memset(&g, 0, sizeof g);
        g.m = m;
        g.batch = 2;
        if (self) {
            g.n_inputs = 1;
            g.inputs[0] = ids;
            g.in_count[0] = 8;
        } else {
            g.n_inputs = 2;
            g.inputs[0] = xq;
            g.in_count[0] = 24;
            g.in_float[0] = 1;
            g.inputs[1] = ids;
            g.in_count[1] = 8;
        }
        tk_grad_result r = tk_grad_check(&g, 81, &tk_grad_defaults);
        tk_expect_good_grads(r, self ? "masked self" : "masked cross");
        /* Row 0 (padding) of the embeddings gets no gradient. */
        int e = sn_model_find_weight(m, "emb/embeddings");
        const float *ge = sn_model_weight_grad(m, e, NULL);
        for (int d = 0; d < c.dv; d++)
            ck_assert_float_eq(ge[d], 0.0f);
        sn_model_free(m);
    }
}
END_TEST

/* -------------------------------------------------------------- dropout */

/*
 * A layer that shows its dropped weights: one head, value and output
 * kernels the identity, no bias, value rows e_j.  Then y[b, i, j] =
 * dropout(P)[b, i, j] while the scores output gives P.
 */
static sn_model_t *dropout_model(uint64_t seed)
{
    cfg c = {0, 1, 1, 2, 4, 0, 4, 0, 1, 0.5f, 1, 4, 3, 4, 2};
    int n_in;
    sn_model_t *m = build_cfg(&c, seed, &n_in);
    size_t n;
    float *wv = tk_weight(m, "mha/value/kernel", &n);
    memset(wv, 0, n * sizeof *wv);
    for (int d = 0; d < 4; d++)
        wv[d * 4 + d] = 1.0f;
    float *wo = tk_weight(m, "mha/attention_output/kernel", &n);
    memcpy(wo, wv, n * sizeof *wo);
    return m;
}

enum { DB = 4 };
static float dq_in[DB * 1 * 3], dv_in[DB * 4 * 4], dk_in[DB * 4 * 2];

static void dropout_inputs(void)
{
    tk_fill(dq_in, sizeof dq_in / sizeof *dq_in, 91, -1.5f, 1.5f);
    tk_fill(dk_in, sizeof dk_in / sizeof *dk_in, 92, -1.5f, 1.5f);
    memset(dv_in, 0, sizeof dv_in);
    for (int b = 0; b < DB; b++)
        for (int j = 0; j < 4; j++)
            dv_in[(b * 4 + j) * 4 + j] = 1.0f;
}

START_TEST(test_dropout)
{
    dropout_inputs();
    const void *in[3] = {dq_in, dv_in, dk_in};
    sn_model_t *m = dropout_model(7), *m2 = dropout_model(7);
    float y[DB * 4], p[DB * 4], yi[DB * 4];
    float *outs[2] = {yi, p};
    /* Inference: no dropout, y = P. */
    ck_assert_int_eq(sn_model_predict(m, DB, in, NULL, outs), SN_OK);
    for (int e = 0; e < DB * 4; e++)
        ck_assert(fabsf(yi[e] - p[e]) < 1e-6f);

    /* Training: y = P * keep / (1 - rate), the same for the same seed. */
    ck_assert_int_eq(sn_model_forward(m, DB, in, NULL, 1), SN_OK);
    memcpy(y, sn_model_output(m, 0, NULL, 0, NULL), sizeof y);
    ck_assert_int_eq(sn_model_forward(m2, DB, in, NULL, 1), SN_OK);
    ck_assert(memcmp(y, sn_model_output(m2, 0, NULL, 0, NULL), sizeof y) == 0);
    ck_assert(memcmp(p, sn_model_output(m, 1, NULL, 0, NULL), sizeof p) == 0);
    int dropped = 0, kept = 0;
    for (int e = 0; e < DB * 4; e++) {
        if (y[e] == 0.0f) {
            dropped++;
        } else {
            ck_assert(fabsf(y[e] - 2.0f * p[e]) < 1e-6f);
            kept++;
        }
    }
    ck_assert(dropped > 0 && kept > 0);

    /* Backward through the same masks: a dropped weight passes nothing to
     * its value row (dXv[b, j, :] = sum_i Pd[b, i, j] * 1). */
    ck_assert_int_eq(sn_model_zero_grad(m), SN_OK);
    float ones[DB * 4];
    for (int e = 0; e < DB * 4; e++)
        ones[e] = 1.0f;
    const float *g[2] = {ones, NULL};
    ck_assert_int_eq(sn_model_backward(m, g), SN_OK);
    const float *dxv = sn_model_input_grad(m, 1);
    for (int e = 0; e < DB * 4; e++)
        for (int d = 0; d < 4; d++) {
            if (y[e] == 0.0f)
                ck_assert_float_eq(dxv[e * 4 + d], 0.0f);
            else
                ck_assert(fabsf(dxv[e * 4 + d] - y[e]) < 1e-6f);
        }

    /* dy = e_j for a dropped j: no gradient reaches the softmax, so query
     * and key get exactly 0; a kept j gives some. */
    int b_drop = -1, b_keep = -1;
    float dy[DB * 4] = {0};
    for (int b = 0; b < DB; b++)
        for (int j = 0; j < 4; j++) {
            int e = b * 4 + j;
            if (y[e] == 0.0f && b_drop < 0 && b != b_keep) {
                b_drop = b;
                dy[e] = 1.0f;
            } else if (y[e] != 0.0f && b_keep < 0 && b != b_drop) {
                b_keep = b;
                dy[e] = 1.0f;
            }
        }
    ck_assert(b_drop >= 0 && b_keep >= 0);
    ck_assert_int_eq(sn_model_zero_grad(m), SN_OK);
    g[0] = dy;
    ck_assert_int_eq(sn_model_backward(m, g), SN_OK);
    const float *dxq = sn_model_input_grad(m, 0);
    const float *dxk = sn_model_input_grad(m, 2);
    double keep_sum = 0.0;
    for (int d = 0; d < 3; d++) {
        ck_assert_float_eq(dxq[b_drop * 3 + d], 0.0f);
        keep_sum += fabsf(dxq[b_keep * 3 + d]);
    }
    for (int e = 0; e < 4 * 2; e++)
        ck_assert_float_eq(dxk[b_drop * 8 + e], 0.0f);
    ck_assert(keep_sum > 0.0);

    /* A second training forward draws fresh masks. */
    ck_assert_int_eq(sn_model_forward(m, DB, in, NULL, 1), SN_OK);
    ck_assert(memcmp(y, sn_model_output(m, 0, NULL, 0, NULL), sizeof y) != 0);
    sn_model_free(m);
    sn_model_free(m2);
}
END_TEST

/* ----------------------------------------------------- training, saving */

/* x + MHA(x, x) -> Dense: one optimisation step runs and changes the
 * attention weights. */
START_TEST(test_transformer_block_trains)
{
    enum { B = 3, T = 5, D = 4 };
    sn_model_t *m = tk_new_model(13);
    int x = sn_input(m, T, D), a[1];
    int xx[2] = {x, x};
    sn_mha_opts o = SN_MHA_OPTS_INIT;
    o.dropout = 0.1f;
    ck_assert_int_eq(sn_apply_n(m, sn_multi_head_attention(2, 3, &o), xx, 2,
                                a, 1), 1);
    int sum_in[2] = {x, a[0]}, s;
    ck_assert_int_eq(sn_apply_n(m, sn_add(), sum_in, 2, &s, 1), 1);
    ck_assert_int_ge(sn_apply(m, sn_dense(2, SN_LINEAR, NULL), s), 0);
    sn_optimizer_opts oo;
    ck_assert_int_eq(sn_optimizer_defaults(SN_ADAM, &oo), SN_OK);
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.optimizer = sn_optimizer_new(&oo);
    ck_assert_int_eq(sn_model_compile(m, &co), SN_OK);
    float xin[B * T * D], tgt[B * T * 2];
    tk_fill(xin, B * T * D, 3, -1.0f, 1.0f);
    tk_fill(tgt, B * T * 2, 4, -1.0f, 1.0f);
    size_t n;
    float *wq = tk_weight(m, "multi_head_attention/query/kernel", &n);
    float before = wq[0];
    const void *in[1] = {xin};
    const float *tg[1] = {tgt};
    double l0 = 0.0, l1 = 0.0;
    ck_assert_msg(sn_model_train_on_batch(m, B, in, NULL, tg, NULL, &l0) ==
                      SN_OK, "train: %s", sn_last_error());
    ck_assert_int_eq(sn_model_train_on_batch(m, B, in, NULL, tg, NULL, &l1),
                     SN_OK);
    ck_assert(isfinite(l0) && isfinite(l1));
    ck_assert(wq[0] != before);
    sn_model_free(m);
}
END_TEST

START_TEST(test_save_load_identical)
{
    cfg c = base_cfg();
    c.with_key = 1;
    c.dk = 2;
    c.output_shape = 3;
    c.causal = 1;
    c.scores = 1;
    c.dropout = 0.25f;
    c.tq = c.tk = 4;
    c.vd = 5;
    int n_in;
    sn_model_t *m = build_cfg(&c, 17, &n_in);
    void *buf = NULL;
    size_t len = 0;
    ck_assert_msg(sn_model_save_buffer(m, 0, &buf, &len) == SN_OK, "save: %s",
                  sn_last_error());
    sn_model_t *m2 = NULL;
    ck_assert_msg(sn_model_load_buffer(buf, len, &m2) == SN_OK, "load: %s",
                  sn_last_error());
    sn_free(buf);
    ck_assert_str_eq(sn_layer_type(sn_model_find_layer(m2, "mha")),
                     "MultiHeadAttention");
    enum { B = 2 };
    float x[3][B * 4 * 4];
    for (int k = 0; k < 3; k++)
        tk_fill(x[k], B * 4 * 4, 5u + (uint32_t)k, -1.0f, 1.0f);
    const void *in[3] = {x[0], x[1], x[2]};
    float y1[B * 4 * 3], p1[B * 2 * 4 * 4], y2[B * 4 * 3], p2[B * 2 * 4 * 4];
    float *o1[2] = {y1, p1}, *o2[2] = {y2, p2};
    ck_assert_int_eq(sn_model_predict(m, B, in, NULL, o1), SN_OK);
    ck_assert_int_eq(sn_model_predict(m2, B, in, NULL, o2), SN_OK);
    ck_assert(memcmp(y1, y2, sizeof y1) == 0);
    ck_assert(memcmp(p1, p2, sizeof p1) == 0);
    sn_model_free(m);
    sn_model_free(m2);
}
END_TEST

/* ----------------------------------------------------------- validation */

static void expect_bad(int heads, int key_dim, const sn_mha_opts *o)
{
    sn_clear_error();
    sn_layer_t *l = sn_multi_head_attention(heads, key_dim, o);
    ck_assert_ptr_null(l);
    ck_assert_msg(strstr(sn_last_error(), "sn_multi_head_attention") != NULL,
                  "message: '%s'", sn_last_error());
}

START_TEST(test_bad_args)
{
    expect_bad(0, 3, NULL);
    expect_bad(-1, 3, NULL);
    expect_bad(2, 0, NULL);
    expect_bad(2, -4, NULL);
    sn_mha_opts o = SN_MHA_OPTS_INIT;
    o.dropout = 1.0f;
    expect_bad(2, 3, &o);
    o.dropout = -0.1f;
    expect_bad(2, 3, &o);
    o.dropout = NAN;
    expect_bad(2, 3, &o);
    o = (sn_mha_opts)SN_MHA_OPTS_INIT;
    o.value_dim = -1;
    expect_bad(2, 3, &o);
    o = (sn_mha_opts)SN_MHA_OPTS_INIT;
    o.output_shape = -2;
    expect_bad(2, 3, &o);
    o = (sn_mha_opts)SN_MHA_OPTS_INIT;
    o.kernel_initializer = (sn_initializer)99;
    expect_bad(2, 3, &o);
    o = (sn_mha_opts)SN_MHA_OPTS_INIT;
    o.size = 1;
    sn_clear_error();
    ck_assert_ptr_null(sn_multi_head_attention(2, 3, &o));
    ck_assert_str_ne(sn_last_error(), "");
    o = (sn_mha_opts)SN_MHA_OPTS_INIT;
    o.dropout = 0.0f;
    sn_layer_t *l = sn_multi_head_attention(2, 3, &o);
    ck_assert_ptr_nonnull(l);
    ck_assert_str_eq(sn_layer_type(l), "MultiHeadAttention");
    sn_layer_free(l);
}
END_TEST

static int apply_pair(sn_model_t *m, int q, int v, int k)
{
    int in[3] = {q, v, k}, out[2];
    return sn_apply_n(m, sn_multi_head_attention(2, 3, NULL), in,
                      k >= 0 ? 3 : 2, out, 2);
}

START_TEST(test_shape_errors)
{
    sn_model_t *m = tk_new_model(1);
    int q = sn_input(m, 3, 4), v = sn_input(m, 5, 4), k = sn_input(m, 6, 4);
    int flat = sn_input(m, SN_NO_TIME, 4), tok = sn_input_tokens(m, 5);
    ck_assert_int_eq(apply_pair(m, q, v, k), SN_ERR_SHAPE);
    ck_assert_str_ne(sn_last_error(), "");
    ck_assert_int_eq(apply_pair(m, q, flat, -1), SN_ERR_SHAPE);
    ck_assert_int_eq(apply_pair(m, flat, v, -1), SN_ERR_SHAPE);
    ck_assert_int_eq(apply_pair(m, q, tok, -1), SN_ERR_SHAPE);
    int one[1] = {q}, out[1];
    ck_assert_int_lt(sn_apply_n(m, sn_multi_head_attention(2, 3, NULL), one,
                                1, out, 1), 0);
    ck_assert_int_eq(apply_pair(m, q, v, -1), 1);
    sn_model_free(m);

    /* Lengths known only at call time: checked then. */
    m = tk_new_model(1);
    int a = sn_input(m, SN_ANY_TIME, 2), b = sn_input(m, SN_ANY_TIME, 2);
    int c = sn_input(m, SN_ANY_TIME, 2);
    ck_assert_int_eq(apply_pair(m, a, b, c), 1);
    float x[2 * 4 * 2] = {0};
    const void *in[3] = {x, x, x};
    int ts_bad[3] = {2, 3, 4}, ts_ok[3] = {2, 4, 4};
    float y[2 * 2 * 2];
    float *outs[1] = {y};
    ck_assert_int_eq(sn_model_predict(m, 2, in, ts_bad, outs), SN_ERR_SHAPE);
    ck_assert_int_eq(sn_model_predict(m, 2, in, ts_ok, outs), SN_OK);
    sn_model_free(m);
}
END_TEST

static Suite *mha_suite(void)
{
    Suite *s = suite_create("mha");
    TCase *tc = tcase_create("forward");
    tcase_add_test(tc, test_forward_matches_reference);
    tcase_add_test(tc, test_weight_shapes);
    tcase_add_test(tc, test_scores_shape_and_rows);
    tcase_add_test(tc, test_mask_self_attention);
    tcase_add_test(tc, test_mask_cross_attention);
    tcase_add_test(tc, test_causal_exact);
    suite_add_tcase(s, tc);

    tc = tcase_create("gradients");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_grad_cross_with_key);
    tcase_add_test(tc, test_grad_cross_no_bias);
    tcase_add_test(tc, test_grad_self);
    tcase_add_test(tc, test_grad_causal);
    tcase_add_test(tc, test_grad_scores_output);
    tcase_add_test(tc, test_grad_masked);
    suite_add_tcase(s, tc);

    tc = tcase_create("training");
    tcase_add_test(tc, test_dropout);
    tcase_add_test(tc, test_transformer_block_trains);
    tcase_add_test(tc, test_save_load_identical);
    suite_add_tcase(s, tc);

    tc = tcase_create("validation");
    tcase_add_test(tc, test_bad_args);
    tcase_add_test(tc, test_shape_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tk_run_suite(mha_suite());
}

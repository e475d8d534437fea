/*
 * attention.c - sn_attention: additive (Bahdanau), dot and general
 * (Luong) and scaled dot-product attention, as one layer with the score
 * function as its parameter.  This file has the layer itself: shapes,
 * weights, key masks, softmax, dropout on the weights and the context;
 * attention_scores.c computes the scores.
 *
 *  forward (per batch row b)                 backward
 *  S = score(Q, K)        [Tq, Tk]           dA' = dY V^T (+ dWeights)
 *  A = softmax_j(S) over allowed keys        dV += A'^T dY           [Tk, Dv]
 *      (0 elsewhere; all 0 if none)          dA = dA' * drop
 *  A' = A * drop          (training)         dS = A (dA - sum_j A dA)
 *  Y = A' V               [Tq, Dv]           then the score's backward
 *  outputs: Y, then A' (weights)
 *
 * Key j is allowed for query i when it is real in the values and keys
 * masks, j <= i under the causal mask, and query i itself is real: a
 * padded query step gets zero weights and a zero context (Keras zeroes
 * its context; zeroing its weights too keeps padding from reaching any
 * output, so no gradient needs to flow into padded steps).
 */
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "attention_impl.h"

/* ------------------------------------------------------------- shapes */

static bool is_pooling(int n_in)
{
    return n_in == 1;
}

/* Index of the values and keys inputs. */
static int values_index(int n_in)
{
    return is_pooling(n_in) ? 0 : 1;
}

static int keys_index(int n_in)
{
    return n_in == 3 ? 2 : values_index(n_in);
}

static sn_status shape_fail(const sn_layer *l, const char *what,
                            const sn_shape *s)
{
    char buf[96];
    sn_shape_format(s, buf, sizeof buf);
    return sn_fail(SN_ERR_SHAPE, "%s: %s, got %s", sn_layer_label(l), what,
                   buf);
}

/* Every input float with a known last axis; values and keys sequences. */
static sn_status check_inputs(const sn_layer *l, const sn_shape *in, int n_in)
{
    for (int i = 0; i < n_in; i++) {
        sn_status st = sn_expect_float(l, &in[i]);
        if (st != SN_OK)
            return st;
        if (in[i].rank < 1 || in[i].rank > 2 ||
            in[i].dim[in[i].rank - 1] <= 0)
            return shape_fail(l, "inputs must be [time, features] or "
                              "[features] with known features", &in[i]);
    }
    for (int i = values_index(n_in); i < n_in; i++)
        if (in[i].rank != 2)
            return shape_fail(l, "values and keys must be sequences "
                              "[time, features]", &in[i]);
    const sn_shape *v = &in[values_index(n_in)], *k = &in[keys_index(n_in)];
    if (v->dim[0] > 0 && k->dim[0] > 0 && v->dim[0] != k->dim[0])
        return sn_fail(SN_ERR_SHAPE, "%s: values have %d steps but keys %d",
                       sn_layer_label(l), v->dim[0], k->dim[0]);
    return SN_OK;
}

static int att_infer(sn_layer *l, const sn_shape *in, int n_in,
                     sn_shape *out, int max_out)
{
    const att_priv *p = l->priv;
    sn_status st = check_inputs(l, in, n_in);
    if (st != SN_OK)
        return st;
    int n_out = p->opts.return_attention_scores ? 2 : 1;
    if (max_out < n_out)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: room for %d outputs, needs "
                       "%d", sn_layer_label(l), max_out, n_out);
    const sn_shape *v = &in[values_index(n_in)], *k = &in[keys_index(n_in)];
    bool seq = !is_pooling(n_in) && in[0].rank == 2;
    int dq = in[0].dim[in[0].rank - 1], dk = k->dim[1];
    bool dot = p->score == SN_SCORE_DOT || p->score == SN_SCORE_SCALED_DOT;
    if (dot && !is_pooling(n_in) && dq != dk)
        return sn_fail(SN_ERR_SHAPE, "%s: dot scores need query and key "
                       "widths equal, got %d and %d", sn_layer_label(l), dq,
                       dk);
    if (p->opts.use_causal_mask) {
        if (!seq)
            return sn_fail(SN_ERR_SHAPE, "%s: use_causal_mask needs a "
                           "sequence query [time, features]",
                           sn_layer_label(l));
        /* lengths given at call time are checked then (infer reruns) */
        if (in[0].dim[0] > 0 && k->dim[0] > 0 && in[0].dim[0] != k->dim[0])
            return sn_fail(SN_ERR_SHAPE, "%s: use_causal_mask needs as many "
                           "query steps as keys, got %d and %d",
                           sn_layer_label(l), in[0].dim[0], k->dim[0]);
    }
    if (seq) {
        out[0] = sn_shape_2(SN_FLOAT32, in[0].dim[0], v->dim[1]);
        out[1] = sn_shape_2(SN_FLOAT32, in[0].dim[0], k->dim[0]);
    } else {
        out[0] = sn_shape_1(SN_FLOAT32, v->dim[1]);
        out[1] = sn_shape_1(SN_FLOAT32, k->dim[0]);
    }
    return n_out;
}

/* ------------------------------------------------------------- weights */

/* A matrix [rows, cols], or a vector [rows] when cols == 0 (fans as Keras
 * computes them for a 1-D shape: both the length). */
static int add_weight(sn_build *b, const char *name, int rows, int cols,
                      sn_initializer init)
{
    if (cols == 0)
        return sn_build_weight(b, name, 1, &rows, init, rows, rows);
    int dims[2] = {rows, cols};
    return sn_build_weight(b, name, 2, dims, init, rows, cols);
}

static sn_status build_additive(att_priv *p, sn_build *b, int dq, int dk,
                                bool pooling)
{
    sn_initializer init = p->opts.kernel_initializer;
    int u = p->units;
    if (pooling && (p->w_query = add_weight(b, "query", u, 0, init)) < 0)
        return (sn_status)p->w_query;
    if ((p->w_w1 = add_weight(b, "W1", dk, u, init)) < 0)
        return (sn_status)p->w_w1;
    if (!pooling && (p->w_w2 = add_weight(b, "W2", dq, u, init)) < 0)
        return (sn_status)p->w_w2;
    if ((p->w_v = add_weight(b, "v", u, 0, init)) < 0)
        return (sn_status)p->w_v;
    if (!pooling && p->opts.use_bias &&
        (p->w_bias = add_weight(b, "bias", u, 0, SN_INIT_ZEROS)) < 0)
        return (sn_status)p->w_bias;
    return SN_OK;
}

static sn_status att_build(sn_layer *l, sn_build *b, const sn_shape *in,
                           int n_in)
{
    att_priv *p = l->priv;
    bool pooling = is_pooling(n_in);
    int dk = in[keys_index(n_in)].dim[1];
    int dq = in[0].dim[in[0].rank - 1];
    p->units = p->opts.units > 0 ? p->opts.units : dk;
    p->w_query = p->w_w1 = p->w_w2 = p->w_v = p->w_bias = p->w_w = -1;
    if (p->score == SN_SCORE_ADDITIVE)
        return build_additive(p, b, dq, dk, pooling);
    if (pooling) {
        p->w_query = add_weight(b, "query", dk, 0,
                                p->opts.kernel_initializer);
        return p->w_query < 0 ? (sn_status)p->w_query : SN_OK;
    }
    if (p->score == SN_SCORE_GENERAL) {
        p->w_w = add_weight(b, "W", dq, dk, p->opts.kernel_initializer);
        return p->w_w < 0 ? (sn_status)p->w_w : SN_OK;
    }
    return SN_OK;
}

/* ------------------------------------------------------------- scratch */

/*
 * Scratch, in floats; forward and backward ask for the same size, so
 * backward finds what forward kept (and whether forward dropped weights
 * it knows from the call: the executor passes forward's training flag on):
 *   a    B*Tq*Tk           softmax weights A
 *   drop B*Tq*Tk           dropout factors (dropout > 0 only)
 *   ad   B*Tq*Tk           A' = A * drop (dropout > 0 only; else = a)
 *   da   B*Tq*Tk           backward: dA', dA, dS in turn
 *   + the score's regions (att_ctx)
 */
typedef struct att_scratch {
    float *a, *drop, *ad, *da;
} att_scratch;

enum { N_REGIONS = 11 };

/* Region sizes in floats, in layout order (see above). */
static void region_sizes(const att_ctx *x, size_t sizes[N_REGIONS])
{
    size_t na = (size_t)x->batch * x->tq * x->tk;
    size_t rq = (size_t)x->batch * x->tq, rk = (size_t)x->batch * x->tk;
    size_t u = (size_t)x->units;
    bool drop = x->p->opts.dropout > 0.0f;
    bool add = x->p->score == SN_SCORE_ADDITIVE;
    bool gen = x->p->score == SN_SCORE_GENERAL && !x->pooling;
    const size_t v[N_REGIONS] = {
        na, drop ? na : 0, drop ? na : 0, na,
        gen ? rq * x->dk : 0, gen ? rq * x->dk : 0,
        add ? rk * u : 0, add ? rk * u : 0, add ? rq * u : 0,
        add ? rq * u : 0, add ? na * u : 0};
    memcpy(sizes, v, sizeof v);
}

/* Points the regions into base (empty regions get NULL). */
static void carve(att_ctx *x, att_scratch *s, float *base,
                  const size_t sizes[N_REGIONS])
{
    float **dst[N_REGIONS] = {&s->a, &s->drop, &s->ad, &s->da,
                              &x->qw, &x->dqw, &x->kp, &x->dkp,
                              &x->qp, &x->dqp, &x->h};
    size_t at = 0;
    for (int i = 0; i < N_REGIONS; i++) {
        *dst[i] = sizes[i] > 0 ? base + at : NULL;
        at += sizes[i];
    }
    if (s->ad == NULL) /* no dropout configured: A' is A */
        s->ad = s->a;
}

/* Sizes and pointers of this call, scratch included. */
static sn_status make_ctx(sn_call *c, att_ctx *x, att_scratch *s)
{
    const att_priv *p = c->layer->priv;
    int n_in = c->n_in;
    const sn_value *q = c->in[0], *v = c->in[values_index(n_in)];
    memset(x, 0, sizeof *x);
    x->c = c;
    x->p = p;
    x->batch = c->batch;
    x->pooling = is_pooling(n_in);
    x->keys = c->in[keys_index(n_in)];
    x->tk = v->shape.dim[0];
    x->dk = x->keys->shape.dim[1];
    x->dv = v->shape.dim[1];
    x->units = p->units;
    x->tq = !x->pooling && q->shape.rank == 2 ? q->shape.dim[0] : 1;
    if (x->pooling) {
        x->dq = p->score == SN_SCORE_ADDITIVE ? p->units : x->dk;
        x->q = sn_call_weight(c, p->w_query);
        x->q_stride = 0;
        x->dq_grad = sn_call_wants_weight_grad(c)
                         ? sn_call_weight_grad(c, p->w_query) : NULL;
    } else {
        x->dq = q->shape.dim[q->shape.rank - 1];
        x->q = q->data;
        x->q_stride = (size_t)x->tq * x->dq;
        x->dq_grad = q->grad;
    }
    /* CBLAS takes int sizes: the longest dimension is rows * width. */
    double big = (double)x->batch * x->tq * x->tk *
                 (x->units + x->dv + x->dk + 1);
    if (big > 2147483647.0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: batch %d is too large for "
                       "these sizes", sn_layer_label(c->layer), x->batch);
    size_t sizes[N_REGIONS], n = 0;
    region_sizes(x, sizes);
    for (int i = 0; i < N_REGIONS; i++)
        n += sizes[i];
    float *base = sn_call_scratch(c, n * sizeof(float));
    if (base == NULL)
        return SN_ERR_NOMEM;
    carve(x, s, base, sizes);
    return SN_OK;
}

/* ----------------------------------------------------- masks, softmax */

/* Whether key j of batch row b is real in both the values and the keys. */
static bool key_on(const att_ctx *x, int b, int j)
{
    size_t at = (size_t)b * x->tk + j;
    const uint8_t *vm = x->c->in[values_index(x->c->n_in)]->mask;
    const uint8_t *km = x->keys->mask;
    return (vm == NULL || vm[at]) && (km == NULL || km[at]);
}

/* Whether query step i of batch row b is real: only sequence queries
 * carry a mask. */
static bool query_on(const att_ctx *x, int b, int i)
{
    const sn_value *q = x->c->in[0];
    if (x->pooling || q->shape.rank != 2 || q->mask == NULL)
        return true;
    return q->mask[(size_t)b * x->tq + i] != 0;
}

/* Whether query i may look at key j.  A padded query looks at nothing:
 * its weights and context are zero, and nothing flows back from them. */
static bool allowed(const att_ctx *x, int b, int i, int j)
{
    if (x->p->opts.use_causal_mask && j > i)
        return false;
    return key_on(x, b, j) && query_on(x, b, i);
}

/* Softmax of row (b, i) in place over its allowed keys; disallowed keys
 * get exactly 0, and a row with none allowed is all 0 (no NaN). */
static void masked_softmax(const att_ctx *x, int b, int i, float *row)
{
    float mx = -INFINITY;
    for (int j = 0; j < x->tk; j++)
        if (allowed(x, b, i, j) && row[j] > mx)
            mx = row[j];
    if (mx == -INFINITY) {
        memset(row, 0, (size_t)x->tk * sizeof(float));
        return;
    }
    for (int j = 0; j < x->tk; j++)
        row[j] -= mx;
    sn_vec_exp(row, (size_t)x->tk);
    float sum = 0.0f;
    for (int j = 0; j < x->tk; j++) {
        if (!allowed(x, b, i, j))
            row[j] = 0.0f;
        sum += row[j];
    }
    float inv = 1.0f / sum; /* sum >= 1: the maximum contributes e^0 */
    for (int j = 0; j < x->tk; j++)
        row[j] *= inv;
}

/* -------------------------------------------------------------- forward */

/* Inverted dropout on the weights: ad = a * drop. */
static void apply_dropout(sn_call *c, att_scratch *s, size_t n)
{
    float rate = ((const att_priv *)c->layer->priv)->opts.dropout;
    float keep = 1.0f / (1.0f - rate);
    for (size_t k = 0; k < n; k++) {
        s->drop[k] = sn_rng_uniform(c->rng) >= (double)rate ? keep : 0.0f;
        s->ad[k] = s->a[k] * s->drop[k];
    }
}

/* Dropout on the weights is active in training with a nonzero rate. */
static bool weights_dropped(const sn_call *c, const att_priv *p)
{
    return c->training && p->opts.dropout > 0.0f;
}

static sn_status att_forward(sn_call *c)
{
    att_ctx x;
    att_scratch s;
    sn_status st = make_ctx(c, &x, &s);
    if (st != SN_OK)
        return st;
    const sn_value *v = c->in[values_index(c->n_in)];
    size_t na = (size_t)x.batch * x.tq * x.tk;
    sn_att_scores_forward(&x, s.a);
    for (int b = 0; b < x.batch; b++)
        for (int i = 0; i < x.tq; i++)
            masked_softmax(&x, b, i, s.a + ((size_t)b * x.tq + i) * x.tk);
    if (weights_dropped(c, x.p))
        apply_dropout(c, &s, na);
    else if (s.ad != s.a)
        memcpy(s.ad, s.a, na * sizeof(float));

    sn_value *y = c->out[0];
    for (int b = 0; b < x.batch; b++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, x.tq, x.dv,
                    x.tk, 1.0f, s.ad + (size_t)b * x.tq * x.tk, x.tk,
                    v->data + (size_t)b * x.tk * x.dv, x.dv, 0.0f,
                    y->data + (size_t)b * x.tq * x.dv, x.dv);

    bool seq = !x.pooling && c->in[0]->shape.rank == 2;
    for (int k = 0; k < c->n_out; k++)
        c->out[k]->mask = seq ? c->in[0]->mask : NULL;
    if (c->n_out > 1)
        memcpy(c->out[1]->data, s.ad, na * sizeof(float));
    return SN_OK;
}

/* ------------------------------------------------------------- backward */

/* dS = A (dA - sum_j A dA) per row, in place in da. */
static void softmax_backward(const att_ctx *x, const float *a, float *da)
{
    size_t rows = (size_t)x->batch * x->tq;
    for (size_t r = 0; r < rows; r++) {
        const float *ar = a + r * x->tk;
        float *dr = da + r * x->tk;
        float dot = 0.0f;
        for (int j = 0; j < x->tk; j++)
            dot += ar[j] * dr[j];
        for (int j = 0; j < x->tk; j++)
            dr[j] = ar[j] * (dr[j] - dot);
    }
}

static sn_status att_backward(sn_call *c)
{
    att_ctx x;
    att_scratch s;
    sn_status st = make_ctx(c, &x, &s);
    if (st != SN_OK)
        return st;
    const sn_value *v = c->in[values_index(c->n_in)];
    const float *dy = c->out[0]->grad;
    if (dy == NULL)
        return SN_OK;
    size_t na = (size_t)x.batch * x.tq * x.tk;
    for (int b = 0; b < x.batch; b++) {
        const float *dyb = dy + (size_t)b * x.tq * x.dv;
        const float *vb = v->data + (size_t)b * x.tk * x.dv;
        const float *adb = s.ad + (size_t)b * x.tq * x.tk;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, x.tq, x.tk,
                    x.dv, 1.0f, dyb, x.dv, vb, x.dv, 0.0f,
                    s.da + (size_t)b * x.tq * x.tk, x.tk);
        if (v->grad != NULL)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, x.tk, x.dv,
                        x.tq, 1.0f, adb, x.tk, dyb, x.dv, 1.0f,
                        v->grad + (size_t)b * x.tk * x.dv, x.dv);
    }
    if (c->n_out > 1 && c->out[1]->grad != NULL)
        for (size_t k = 0; k < na; k++)
            s.da[k] += c->out[1]->grad[k];
    if (weights_dropped(c, x.p)) /* forward dropped: dA = dA' * drop */
        for (size_t k = 0; k < na; k++)
            s.da[k] *= s.drop[k];
    softmax_backward(&x, s.a, s.da);
    sn_att_scores_backward(&x, s.da);
    return SN_OK;
}

/* -------------------------------------------------------- construction */

/* Config: i32 score, i32 units, i32 use_bias, i32 return_attention_scores,
 * i32 use_causal_mask, f32 dropout, i32 kernel_initializer. */
static void att_save_config(const sn_layer *l, sn_writer *w)
{
    const att_priv *p = l->priv;
    sn_write_i32(w, (int32_t)p->score);
    sn_write_i32(w, p->opts.units);
    sn_write_i32(w, p->opts.use_bias);
    sn_write_i32(w, p->opts.return_attention_scores);
    sn_write_i32(w, p->opts.use_causal_mask);
    sn_write_f32(w, p->opts.dropout);
    sn_write_i32(w, (int32_t)p->opts.kernel_initializer);
}

/* The constructor validates the values; the flags are checked here since
 * it would accept any nonzero value.  additive says which ops table the
 * record was saved under, which must agree with the score. */
static sn_layer *load_config(sn_reader *r, bool additive)
{
    int score = sn_read_int(r, SN_SCORE_ADDITIVE, SN_SCORE_SCALED_DOT,
                            "attention score");
    sn_attention_opts o = SN_ATTENTION_OPTS_INIT;
    o.units = sn_read_i32(r);
    o.use_bias = sn_read_int(r, 0, 1, "attention use_bias");
    o.return_attention_scores = sn_read_int(r, 0, 1,
                                            "attention return_scores");
    o.use_causal_mask = sn_read_int(r, 0, 1, "attention use_causal_mask");
    o.dropout = sn_read_f32(r);
    o.kernel_initializer = (sn_initializer)sn_read_i32(r);
    if (r->status == SN_OK && (score == SN_SCORE_ADDITIVE) != additive)
        sn_reader_fail(r, SN_ERR_FORMAT, "attention score %d does not fit "
                       "the layer type", score);
    if (r->status != SN_OK)
        return NULL;
    return sn_attention((sn_attention_score)score, &o);
}

static sn_layer *att_load_config(sn_reader *r)
{
    return load_config(r, false);
}

static sn_layer *additive_load_config(sn_reader *r)
{
    return load_config(r, true);
}

const sn_layer_ops sn_attention_ops = {
    .type = "Attention",
    .base_name = "attention",
    .min_inputs = 1,
    .max_inputs = 3,
    .infer = att_infer,
    .build = att_build,
    .forward = att_forward,
    .backward = att_backward,
    .destroy = NULL,
    .save_config = att_save_config,
    .load_config = att_load_config,
};

const sn_layer_ops sn_additive_attention_ops = {
    .type = "AdditiveAttention",
    .base_name = "additive_attention",
    .min_inputs = 1,
    .max_inputs = 3,
    .infer = att_infer,
    .build = att_build,
    .forward = att_forward,
    .backward = att_backward,
    .destroy = NULL,
    .save_config = att_save_config,
    .load_config = additive_load_config,
};

static bool init_valid(sn_initializer init)
{
    return (int)init >= SN_INIT_DEFAULT && (int)init <= SN_INIT_RANDOM_NORMAL;
}

/* Records why o is invalid and returns false, or returns true. */
static bool opts_valid(sn_attention_score score, const sn_attention_opts *o)
{
    const char *who = "sn_attention";
    sn_status bad = SN_ERR_INVALID_ARG;
    if ((int)score < SN_SCORE_ADDITIVE || (int)score > SN_SCORE_SCALED_DOT)
        sn_fail(bad, "%s: unknown score %d", who, (int)score);
    else if (o->units < 0)
        sn_fail(bad, "%s: units must be >= 0 (0 = the key width), got %d",
                who, o->units);
    else if (!isfinite(o->dropout) || o->dropout < 0.0f ||
             o->dropout >= 1.0f)
        sn_fail(bad, "%s: dropout must be in [0, 1), got %g", who,
                (double)o->dropout);
    else if (!init_valid(o->kernel_initializer))
        sn_fail(bad, "%s: unknown initializer %d", who,
                (int)o->kernel_initializer);
    else
        return true;
    return false;
}

sn_layer_t *sn_attention(sn_attention_score score,
                         const sn_attention_opts *opts)
{
    sn_attention_opts o = SN_ATTENTION_OPTS_INIT;
    if (opts != NULL &&
        sn_opts_merge(&o, sizeof o, opts, "sn_attention") != SN_OK)
        return NULL;
    if (!opts_valid(score, &o))
        return NULL;
    if (o.kernel_initializer == SN_INIT_DEFAULT)
        o.kernel_initializer = SN_INIT_GLOROT_UNIFORM;
    o.use_bias = o.use_bias != 0;
    o.return_attention_scores = o.return_attention_scores != 0;
    o.use_causal_mask = o.use_causal_mask != 0;
    const sn_layer_ops *ops = score == SN_SCORE_ADDITIVE
                                  ? &sn_additive_attention_ops
                                  : &sn_attention_ops;
    sn_layer *l = sn_layer_create(ops, sizeof(att_priv));
    if (l == NULL)
        return NULL;
    att_priv *p = l->priv;
    p->score = score;
    p->opts = o;
    p->w_query = p->w_w1 = p->w_w2 = p->w_v = p->w_bias = p->w_w = -1;
    return l;
}

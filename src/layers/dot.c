/*
 * dot.c - Keras Dot(axes=(axis_a, axis_b), normalize) over two float
 * inputs of per-sample rank 1 or 2: batch_dot along one axis of each.
 *
 * Each input is viewed as P rows of length K along its dot axis (P = 1 for
 * rank 1; for rank 2 the other axis, read with strides, so no transpose is
 * materialised).  The output is [P, Q] without the axes of size-1 views:
 * [P, Q], [P], [Q] or, when both inputs are vectors, [1] (as Keras).
 */
#include <math.h>
#include <string.h>

#include "layers.h"

#define DOT_EPS 1e-12f /* keras l2_normalize: x / sqrt(max(sum x^2, eps)) */

typedef struct dot_priv {
    int axis[2];       /* as given: -1 or 1..rank (Keras numbering)      */
    int normalize;
} dot_priv;

/* One input as P rows of K: element (i, k) at i*sp + k*sk. */
typedef struct dot_view {
    int p, k;
    size_t sp, sk;
} dot_view;

/* The view of input `side` with shape s, or a status. */
static sn_status dot_view_of(sn_layer *l, int side, const sn_shape *s,
                             dot_view *v)
{
    const dot_priv *pr = l->priv;
    int ax = pr->axis[side] == -1 ? s->rank - 1 : pr->axis[side] - 1;
    if (s->rank < 1 || s->rank > 2 || ax < 0 || ax >= s->rank) {
        char buf[96];
        sn_shape_format(s, buf, sizeof buf);
        return sn_fail(SN_ERR_SHAPE, "%s: input %d is %s: Dot takes rank 1 "
                       "or 2 with axis -1 or 1..rank, got axis %d",
                       sn_layer_label(l), side, buf, pr->axis[side]);
    }
    if (s->rank == 1) {
        *v = (dot_view){1, s->dim[0], 0, 1};
    } else if (ax == 1) {
        *v = (dot_view){s->dim[0], s->dim[1], (size_t)s->dim[1], 1};
    } else {
        *v = (dot_view){s->dim[1], s->dim[0], 1, (size_t)s->dim[1]};
    }
    return SN_OK;
}

static int dot_infer(sn_layer *l, const sn_shape *in, int n_in,
                     sn_shape *out, int max_out)
{
    (void)n_in;
    (void)max_out;
    dot_view a, b;
    sn_status st = sn_expect_float(l, &in[0]);
    if (st == SN_OK)
        st = sn_expect_float(l, &in[1]);
    if (st == SN_OK)
        st = dot_view_of(l, 0, &in[0], &a);
    if (st == SN_OK)
        st = dot_view_of(l, 1, &in[1], &b);
    if (st != SN_OK)
        return st;
    if (a.k != b.k && a.k > 0 && b.k > 0)
        return sn_fail(SN_ERR_SHAPE, "%s: the dot axes differ in size (%d "
                       "and %d)", sn_layer_label(l), a.k, b.k);
    out[0].dtype = SN_FLOAT32;
    out[0].rank = 0;
    if (in[0].rank == 2)
        out[0].dim[out[0].rank++] = a.p;
    if (in[1].rank == 2)
        out[0].dim[out[0].rank++] = b.p;
    if (out[0].rank == 0)
        out[0].dim[out[0].rank++] = 1;
    return 1;
}

/* Scratch floats: per sample An [P, K], Bn [Q, K], sums of squares
 * sa [P], sb [Q]; then one row of K for backward. */
static size_t dot_scratch_floats(int batch, const dot_view *a,
                                 const dot_view *b)
{
    size_t per = (size_t)(a->p + b->p) * (size_t)a->k + (size_t)(a->p + b->p);
    return (size_t)batch * per + (size_t)a->k;
}

/* Rows of x into r [P, K] (contiguous), their sums of squares into ss, and
 * with normalize each row divided by sqrt(max(ss, eps)). */
static void gather_rows(const float *x, const dot_view *v, int normalize,
                        float *r, float *ss)
{
    for (int i = 0; i < v->p; i++) {
        float *ri = r + (size_t)i * v->k;
        double s = 0.0;
        for (int k = 0; k < v->k; k++) {
            ri[k] = x[(size_t)i * v->sp + (size_t)k * v->sk];
            s += (double)ri[k] * ri[k];
        }
        ss[i] = (float)s;
        if (normalize) {
            float inv = 1.0f / sqrtf(fmaxf(ss[i], DOT_EPS));
            for (int k = 0; k < v->k; k++)
                ri[k] *= inv;
        }
    }
}

typedef struct dot_parts {
    dot_view a, b;
    float *an, *bn, *sa, *sb, *row;
} dot_parts;

static sn_status dot_setup(sn_call *c, dot_parts *d)
{
    sn_status st = dot_view_of(c->layer, 0, &c->in[0]->shape, &d->a);
    if (st == SN_OK)
        st = dot_view_of(c->layer, 1, &c->in[1]->shape, &d->b);
    if (st != SN_OK)
        return st;
    float *s = sn_call_scratch(c, dot_scratch_floats(c->batch, &d->a, &d->b) *
                                      sizeof(float));
    if (s == NULL)
        return SN_ERR_NOMEM;
    size_t nb = (size_t)c->batch, k = (size_t)d->a.k;
    d->an = s;
    d->bn = d->an + nb * (size_t)d->a.p * k;
    d->sa = d->bn + nb * (size_t)d->b.p * k;
    d->sb = d->sa + nb * (size_t)d->a.p;
    d->row = d->sb + nb * (size_t)d->b.p;
    return SN_OK;
}

/*
 *  forward                               backward
 *  a [B, P, K], b [B, Q, K] (views)      dy [B, P, Q]
 *  an = a / |a|_K   (normalize; else a)  dan[i,:] = sum_j dy[i,j] bn[j,:]
 *  bn = b / |b|_K                        dbn[j,:] = sum_i dy[i,j] an[i,:]
 *  y[i, j] = an[i,:] . bn[j,:]  [B,P,Q]  normalize, |a| = sqrt(max(ss,eps)):
 *                                          da = (dan - an (an.dan)) / |a|
 *                                          (da = dan / |a| when clamped)
 *                                        da, db scattered back by stride
 */
static sn_status dot_forward(sn_call *c)
{
    const dot_priv *p = c->layer->priv;
    dot_parts d;
    sn_status st = dot_setup(c, &d);
    if (st != SN_OK)
        return st;
    int np = d.a.p, nq = d.b.p, k = d.a.k;
    c->out[0]->mask = NULL;
    for (int s = 0; s < c->batch; s++) {
        float *an = d.an + (size_t)s * np * k, *bn = d.bn + (size_t)s * nq * k;
        gather_rows(c->in[0]->data + (size_t)s * c->in[0]->count, &d.a,
                    p->normalize, an, d.sa + (size_t)s * np);
        gather_rows(c->in[1]->data + (size_t)s * c->in[1]->count, &d.b,
                    p->normalize, bn, d.sb + (size_t)s * nq);
        float *y = c->out[0]->data + (size_t)s * np * nq;
        for (int i = 0; i < np; i++)
            for (int j = 0; j < nq; j++) {
                float acc = 0.0f;
                for (int t = 0; t < k; t++)
                    acc += an[(size_t)i * k + t] * bn[(size_t)j * k + t];
                y[(size_t)i * nq + j] = acc;
            }
    }
    return SN_OK;
}

/* dx (strided view v) += the gradient of row i, given d(row) in g and the
 * row r used in forward (normalised or not) with sum of squares ss. */
static void scatter_row(float *dx, const dot_view *v, int i, const float *g,
                        const float *r, float ss, int normalize)
{
    float inv = 1.0f, proj = 0.0f;
    if (normalize) {
        inv = 1.0f / sqrtf(fmaxf(ss, DOT_EPS));
        if (ss > DOT_EPS)
            for (int k = 0; k < v->k; k++)
                proj += r[k] * g[k];
    }
    for (int k = 0; k < v->k; k++)
        dx[(size_t)i * v->sp + (size_t)k * v->sk] +=
            (g[k] - r[k] * proj) * inv;
}

/* The gradient of one input: rows of `mine` against rows of `other`; dy is
 * [P, Q] with mine on the rows when mine_rows, else on the columns. */
static void dot_side_backward(const dot_parts *d, int side, int s,
                              const float *dy, float *dx, int normalize)
{
    const dot_view *v = side == 0 ? &d->a : &d->b;
    int n_other = side == 0 ? d->b.p : d->a.p, k = d->a.k, nq = d->b.p;
    const float *mine = (side == 0 ? d->an : d->bn) + (size_t)s * v->p * k;
    const float *other = (side == 0 ? d->bn : d->an) + (size_t)s * n_other * k;
    const float *ss = (side == 0 ? d->sa : d->sb) + (size_t)s * v->p;
    for (int i = 0; i < v->p; i++) {
        memset(d->row, 0, (size_t)k * sizeof(float));
        for (int j = 0; j < n_other; j++) {
            float g = side == 0 ? dy[(size_t)i * nq + j]
                                : dy[(size_t)j * nq + i];
            for (int t = 0; t < k; t++)
                d->row[t] += g * other[(size_t)j * k + t];
        }
        scatter_row(dx, v, i, d->row, mine + (size_t)i * k, ss[i], normalize);
    }
}

static sn_status dot_backward(sn_call *c)
{
    const dot_priv *p = c->layer->priv;
    const float *dy = c->out[0]->grad;
    if (dy == NULL)
        return SN_OK;
    dot_parts d;
    sn_status st = dot_setup(c, &d); /* forward's rows, kept in scratch */
    if (st != SN_OK)
        return st;
    size_t per_out = (size_t)d.a.p * (size_t)d.b.p;
    for (int side = 0; side < 2; side++) {
        float *dx = c->in[side]->grad;
        if (dx == NULL)
            continue;
        for (int s = 0; s < c->batch; s++)
            dot_side_backward(&d, side, s, dy + (size_t)s * per_out,
                              dx + (size_t)s * c->in[side]->count,
                              p->normalize);
    }
    return SN_OK;
}

/* Config: i32 axis_a, i32 axis_b, i32 normalize. */
static void dot_save_config(const sn_layer *l, sn_writer *w)
{
    const dot_priv *p = l->priv;
    sn_write_i32(w, p->axis[0]);
    sn_write_i32(w, p->axis[1]);
    sn_write_i32(w, p->normalize);
}

static sn_layer *dot_load_config(sn_reader *r)
{
    int a = sn_read_i32(r), b = sn_read_i32(r);
    int normalize = sn_read_int(r, 0, 1, "Dot normalize");
    return r->status == SN_OK ? sn_dot(a, b, normalize) : NULL;
}

const sn_layer_ops sn_dot_ops = {
    .type = "Dot",
    .base_name = "dot",
    .min_inputs = 2,
    .max_inputs = 2,
    .infer = dot_infer,
    .forward = dot_forward,
    .backward = dot_backward,
    .save_config = dot_save_config,
    .load_config = dot_load_config,
};

static bool axis_ok(int axis)
{
    return axis == -1 || (axis >= 1 && axis <= 2);
}

sn_layer_t *sn_dot(int axis_a, int axis_b, int normalize)
{
    if (!axis_ok(axis_a) || !axis_ok(axis_b)) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_dot: axes must be -1, 1 or 2 (0 is "
                "the batch), got (%d, %d)", axis_a, axis_b);
        return NULL;
    }
    sn_layer *l = sn_layer_create(&sn_dot_ops, sizeof(dot_priv));
    if (l == NULL)
        return NULL;
    dot_priv *p = l->priv;
    p->axis[0] = axis_a;
    p->axis[1] = axis_b;
    p->normalize = normalize != 0;
    return l;
}

/*
 * losses.c - the Keras losses, their reduction and their gradients.
 *
 * Shapes: pred [rows, cols]; target [rows, cols] (or [rows] class ids for
 * the sparse crossentropy); weights [rows] or NULL (all 1).  Each row r has a
 * loss l_r and the reduction is Keras' "sum_over_batch_size":
 *
 *   value = sum_r w_r l_r / rows
 *
 * (divided by rows, NOT by sum_r w_r: a zero weight removes a row's loss but
 * still counts it in the denominator, as Keras does).  grad[r, j] =
 * d value / d pred[r, j] = (w_r / rows) d l_r / d pred[r, j]; it is
 * overwritten, not accumulated.  Everything is accumulated in double.
 *
 * Inputs are validated completely before anything is written, so a failing
 * call leaves *value and grad untouched.
 */
#include <math.h>
#include <stddef.h>

#include "internal.h"

/* Keras clips probabilities to [eps, 1 - eps] with eps = 1e-7 in float32;
 * the upper bound is the float32 value 1 - 1e-7 (0.99999988), which is what
 * Keras actually clips to, so the clipped losses match it. */
#define SN_LOSS_EPS_LO ((double)1e-7f)
#define SN_LOSS_EPS_HI ((double)(1.0f - 1e-7f))

static const char *const who = "sn_loss_compute";

/* Per-row arguments: the row's predictions p[cols], its targets y[cols] (or
 * NULL for the sparse loss, whose target is class cls), the factor
 * scale = w_r / rows that turns d l_r into d value, and g[cols] or NULL. */
typedef struct row_args {
    const float *p;
    const float *y;
    int cls;
    int cols;
    double scale;
    float *g;
    double delta;
} row_args;

/* The target of column j: the dense target, or one-hot of cls. */
static double target_at(const row_args *a, int j)
{
    if (a->y != NULL)
        return a->y[j];
    return j == a->cls ? 1.0 : 0.0;
}

/* --------------------------------------------------- binary crossentropy */

/* Logistic sigmoid without overflow for large |z|. */
static double sigmoid(double z)
{
    if (z >= 0.0)
        return 1.0 / (1.0 + exp(-z));
    double e = exp(z);
    return e / (1.0 + e);
}

/* From logits z:  l = mean_j [ max(z,0) - z y + log1p(exp(-|z|)) ]
 * (the stable form of -(y log s + (1-y) log(1-s)), s = sigmoid(z));
 * d l / d z_j = (sigmoid(z_j) - y_j) / cols. */
static double bce_logits_row(const row_args *a)
{
    double sum = 0.0;
    for (int j = 0; j < a->cols; j++) {
        double z = a->p[j], y = target_at(a, j);
        sum += fmax(z, 0.0) - z * y + log1p(exp(-fabs(z)));
        if (a->g != NULL)
            a->g[j] = (float)(a->scale * (sigmoid(z) - y) / a->cols);
    }
    return sum / a->cols;
}

/* From probabilities p, clipped c = clip(p, eps, 1 - eps):
 *   l = mean_j -(y log c + (1 - y) log(1 - c));
 *   d l / d p_j = (p - y) / (p (1 - p)) / cols where p is inside the clip
 *   range, 0 where clipping made the loss flat in p. */
static double bce_probs_row(const row_args *a)
{
    double sum = 0.0;
    for (int j = 0; j < a->cols; j++) {
        double p = a->p[j], y = target_at(a, j);
        int clipped = p < SN_LOSS_EPS_LO || p > SN_LOSS_EPS_HI;
        double c = fmin(fmax(p, SN_LOSS_EPS_LO), SN_LOSS_EPS_HI);
        sum += -(y * log(c) + (1.0 - y) * log(1.0 - c));
        if (a->g != NULL) {
            double d = clipped ? 0.0 : (c - y) / (c * (1.0 - c));
            a->g[j] = (float)(a->scale * d / a->cols);
        }
    }
    return sum / a->cols;
}

/* ---------------------------------------------- categorical crossentropy */

/* From logits z (target y, Y = sum_j y_j; one-hot for sparse):
 *   lse = m + log sum_j exp(z_j - m),  m = max_j z_j   (no overflow)
 *   l = sum_j y_j (lse - z_j)        = -sum_j y_j log softmax_j
 *   d l / d z_j = softmax_j Y - y_j. */
static double cce_logits_row(const row_args *a)
{
    double m = a->p[0];
    for (int j = 1; j < a->cols; j++)
        m = fmax(m, a->p[j]);
    double se = 0.0, ysum = 0.0;
    for (int j = 0; j < a->cols; j++) {
        se += exp(a->p[j] - m);
        ysum += target_at(a, j);
    }
    double lse = m + log(se);
    double loss = 0.0;
    for (int j = 0; j < a->cols; j++) {
        double y = target_at(a, j);
        loss += y * (lse - a->p[j]);
        if (a->g != NULL) {
            double soft = exp(a->p[j] - m) / se;
            a->g[j] = (float)(a->scale * (soft * ysum - y));
        }
    }
    return loss;
}

/* From probabilities p, as Keras: normalise by the row sum S = sum_j p_j,
 * then clip, q_j = clip(p_j / S, eps, 1 - eps):
 *   l = -sum_j y_j log q_j.
 * With U = the columns whose p_j / S is inside the clip range and
 * Y_U = sum_{j in U} y_j, the chain rule through p_j / S gives
 *   d l / d p_k = -[k in U] y_k / p_k + Y_U / S
 * (the second term is the normalisation; clipped columns contribute no
 * slope of their own but still move S). */
static double cce_probs_row(const row_args *a)
{
    double s = 0.0, loss = 0.0, yu = 0.0;
    for (int j = 0; j < a->cols; j++)
        s += a->p[j];
    for (int j = 0; j < a->cols; j++) {
        double y = target_at(a, j), q = a->p[j] / s;
        int clipped = q < SN_LOSS_EPS_LO || q > SN_LOSS_EPS_HI;
        loss -= y * log(fmin(fmax(q, SN_LOSS_EPS_LO), SN_LOSS_EPS_HI));
        if (!clipped)
            yu += y;
    }
    if (a->g == NULL)
        return loss;
    for (int j = 0; j < a->cols; j++) {
        double y = target_at(a, j), q = a->p[j] / s;
        int clipped = q < SN_LOSS_EPS_LO || q > SN_LOSS_EPS_HI;
        double d = (clipped ? 0.0 : -y / a->p[j]) + yu / s;
        a->g[j] = (float)(a->scale * d);
    }
    return loss;
}

/* ------------------------------------------------------------ regression */

/* l = mean_j (p - y)^2;  d l / d p_j = 2 (p_j - y_j) / cols. */
static double mse_row(const row_args *a)
{
    double sum = 0.0;
    for (int j = 0; j < a->cols; j++) {
        double e = (double)a->p[j] - target_at(a, j);
        sum += e * e;
        if (a->g != NULL)
            a->g[j] = (float)(a->scale * 2.0 * e / a->cols);
    }
    return sum / a->cols;
}

/* l = mean_j |p - y|;  d l / d p_j = sign(p_j - y_j) / cols (0 at p = y,
 * the subgradient TensorFlow picks). */
static double mae_row(const row_args *a)
{
    double sum = 0.0;
    for (int j = 0; j < a->cols; j++) {
        double e = (double)a->p[j] - target_at(a, j);
        sum += fabs(e);
        if (a->g != NULL) {
            double sign = e > 0.0 ? 1.0 : (e < 0.0 ? -1.0 : 0.0);
            a->g[j] = (float)(a->scale * sign / a->cols);
        }
    }
    return sum / a->cols;
}

/* Keras Huber, e = p - y:
 *   h(e) = e^2 / 2                     if |e| <= delta
 *        = delta (|e| - delta / 2)     otherwise;   l = mean_j h(e_j)
 *   h'(e) = e if |e| <= delta, else delta sign(e);   d l / d p_j = h'/cols. */
static double huber_row(const row_args *a)
{
    double sum = 0.0, delta = a->delta;
    for (int j = 0; j < a->cols; j++) {
        double e = (double)a->p[j] - target_at(a, j);
        double ae = fabs(e);
        int quad = ae <= delta;
        sum += quad ? 0.5 * e * e : delta * (ae - 0.5 * delta);
        if (a->g != NULL) {
            double d = quad ? e : (e > 0.0 ? delta : -delta);
            a->g[j] = (float)(a->scale * d / a->cols);
        }
    }
    return sum / a->cols;
}

/* ------------------------------------------------------------ validation */

static int is_crossentropy(sn_loss_kind kind)
{
    return kind == SN_LOSS_BINARY_CROSSENTROPY ||
           kind == SN_LOSS_CATEGORICAL_CROSSENTROPY ||
           kind == SN_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
}

static sn_status check_opts(const sn_loss_opts *o)
{
    switch (o->kind) {
    case SN_LOSS_BINARY_CROSSENTROPY:
    case SN_LOSS_CATEGORICAL_CROSSENTROPY:
    case SN_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY:
    case SN_LOSS_MSE:
    case SN_LOSS_MAE:
        return SN_OK;
    case SN_LOSS_HUBER:
        /* !(delta > 0) also rejects NaN */
        if (!(o->delta > 0.0f) || !isfinite(o->delta))
            return sn_fail(SN_ERR_INVALID_ARG,
                           "%s: Huber delta must be finite and > 0, got %g",
                           who, (double)o->delta);
        return SN_OK;
    }
    return sn_fail(SN_ERR_INVALID_ARG, "%s: unknown loss kind %d", who,
                   (int)o->kind);
}

/* Every float of a [rows, cols] block is finite. */
static sn_status check_finite(const float *x, int rows, int cols,
                              const char *what)
{
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < cols; j++)
            if (!isfinite(x[(size_t)r * (size_t)cols + (size_t)j]))
                return sn_fail(SN_ERR_NUMERIC,
                               "%s: %s[%d, %d] is not finite (%g)", who, what,
                               r, j,
                               (double)x[(size_t)r * (size_t)cols + (size_t)j]);
    return SN_OK;
}

/* Sparse targets: finite, integral, in [0, cols). */
static sn_status check_class_ids(const float *t, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        double v = t[r];
        if (!isfinite(v))
            return sn_fail(SN_ERR_NUMERIC,
                           "%s: class id of row %d is not finite (%g)", who,
                           r, v);
        if (v != floor(v) || v < 0.0 || v >= (double)cols)
            return sn_fail(SN_ERR_INVALID_ARG,
                           "%s: class id of row %d is %g, expected an integer "
                           "in [0, %d)", who, r, v, cols);
    }
    return SN_OK;
}

static sn_status check_weights(const float *w, int rows)
{
    if (w == NULL)
        return SN_OK;
    for (int r = 0; r < rows; r++)
        if (!isfinite(w[r]) || w[r] < 0.0f)
            return sn_fail(SN_ERR_INVALID_ARG,
                           "%s: weights[%d] is %g, expected finite and >= 0",
                           who, r, (double)w[r]);
    return SN_OK;
}

/* Probability rows for the categorical loss must have a positive sum, or
 * the normalisation p / S has no meaning. */
static sn_status check_row_sums(const float *p, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        double s = 0.0;
        for (int j = 0; j < cols; j++)
            s += p[(size_t)r * (size_t)cols + (size_t)j];
        if (!(s > 0.0))
            return sn_fail(SN_ERR_INVALID_ARG,
                           "%s: probabilities of row %d sum to %g, expected "
                           "> 0 (use from_logits for unnormalised scores)",
                           who, r, s);
    }
    return SN_OK;
}

static sn_status check_args(const sn_loss_opts *o, int rows, int cols,
                            const float *pred, const float *target,
                            const float *weights)
{
    sn_status st = check_opts(o);
    if (st != SN_OK)
        return st;
    int sparse = o->kind == SN_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
    if ((st = check_finite(pred, rows, cols, "pred")) != SN_OK)
        return st;
    st = sparse ? check_class_ids(target, rows, cols)
                : check_finite(target, rows, cols, "target");
    if (st != SN_OK)
        return st;
    if ((st = check_weights(weights, rows)) != SN_OK)
        return st;
    if (is_crossentropy(o->kind) && o->kind != SN_LOSS_BINARY_CROSSENTROPY &&
        !o->from_logits)
        return check_row_sums(pred, rows, cols);
    return SN_OK;
}

/* ------------------------------------------------------------- dispatch */

static double row_loss(const sn_loss_opts *o, const row_args *a)
{
    switch (o->kind) {
    case SN_LOSS_BINARY_CROSSENTROPY:
        return o->from_logits ? bce_logits_row(a) : bce_probs_row(a);
    case SN_LOSS_CATEGORICAL_CROSSENTROPY:
    case SN_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY:
        return o->from_logits ? cce_logits_row(a) : cce_probs_row(a);
    case SN_LOSS_MSE:
        return mse_row(a);
    case SN_LOSS_MAE:
        return mae_row(a);
    case SN_LOSS_HUBER:
        return huber_row(a);
    }
    return 0.0; /* unreachable: check_opts rejected other kinds */
}

SN_API sn_status sn_loss_compute(const sn_loss_opts *loss, int rows, int cols,
                                 const float *pred, const float *target,
                                 const float *weights, double *value,
                                 float *grad)
{
    if (loss == NULL || pred == NULL || target == NULL || value == NULL)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: loss, pred, target and value must not be NULL",
                       who);
    if (rows <= 0 || cols <= 0)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: rows and cols must be > 0, got %d and %d", who,
                       rows, cols);
    sn_loss_opts o = SN_LOSS_OPTS_INIT;
    if (sn_opts_merge(&o, sizeof o, loss, who) != SN_OK)
        return SN_ERR_INVALID_ARG;
    sn_status st = check_args(&o, rows, cols, pred, target, weights);
    if (st != SN_OK)
        return st;

    int sparse = o.kind == SN_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
    double total = 0.0;
    for (int r = 0; r < rows; r++) {
        size_t at = (size_t)r * (size_t)cols;
        double w = weights != NULL ? weights[r] : 1.0;
        row_args a = {
            .p = pred + at,
            .y = sparse ? NULL : target + at,
            .cls = sparse ? (int)target[r] : -1,
            .cols = cols,
            .scale = w / rows,
            .g = grad != NULL ? grad + at : NULL,
            .delta = o.delta,
        };
        total += w * row_loss(&o, &a);
    }
    *value = total / rows;
    return SN_OK;
}

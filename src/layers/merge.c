/*
 * merge.c - Keras Add, Average and Concatenate over 2..64 float inputs.
 *
 * Masks (Keras merge semantics): Add and Average AND the masks that are
 * present.
 * Concatenate along a feature axis ANDs them too; along the time axis it
 * concatenates them, a missing mask counting as all ones.
 */
#include <limits.h>
#include <string.h>

#include "layers.h"

#define MERGE_MAX_INPUTS 64

typedef struct concat_priv {
    int axis; /* as given: -1 or 1..rank (Keras numbering, 0 = batch) */
} concat_priv;

static sn_status all_float(sn_layer *l, const sn_shape *in, int n_in)
{
    for (int i = 0; i < n_in; i++) {
        sn_status st = sn_expect_float(l, &in[i]);
        if (st != SN_OK)
            return st;
    }
    return SN_OK;
}

static sn_status shape_mismatch(sn_layer *l, const char *what,
                                const sn_shape *a, int ia, const sn_shape *b,
                                int ib)
{
    char sa[96], sb[96];
    sn_shape_format(a, sa, sizeof sa);
    sn_shape_format(b, sb, sizeof sb);
    return sn_fail(SN_ERR_SHAPE, "%s: %s: input %d is %s but input %d is %s",
                   sn_layer_label(l), what, ia, sa, ib, sb);
}

/* AND of the present input masks into a fresh output mask; NULL output
 * mask when none is present or there is no time axis (t_len < 0). */
sn_status sn_merge_and_masks(sn_call *c, int t_len)
{
    sn_value *y = c->out[0];
    int present = 0;
    for (int i = 0; i < c->n_in; i++)
        present += c->in[i]->mask != NULL;
    y->mask = NULL;
    if (present == 0 || t_len < 0)
        return SN_OK;
    uint8_t *m = sn_call_out_mask(c, 0, t_len);
    if (m == NULL)
        return SN_ERR_NOMEM;
    size_t n = (size_t)c->batch * t_len;
    memset(m, 1, n);
    for (int i = 0; i < c->n_in; i++) {
        const uint8_t *mi = c->in[i]->mask;
        if (mi != NULL)
            for (size_t s = 0; s < n; s++)
                m[s] = m[s] && mi[s];
    }
    y->mask = m;
    return SN_OK;
}

/* ------------------------------------------------------------------ Add */

int sn_merge_same_shape_infer(sn_layer *l, const sn_shape *in, int n_in,
                              sn_shape *out, int max_out)
{
    (void)max_out;
    sn_status st = all_float(l, in, n_in);
    if (st != SN_OK)
        return st;
    for (int i = 1; i < n_in; i++)
        if (!sn_shape_equal(&in[0], &in[i]))
            return shape_mismatch(l, "inputs must have one shape", &in[0], 0,
                                  &in[i], i);
    out[0] = in[0];
    return 1;
}

/*
 *  Add                           backward
 *  x_i [N], i = 0..n-1           dy [N]
 *  y = sum_i x_i     [N]         dx_i += dy         for every i
 *
 *  Average (Keras Average)
 *  y = (1/n) sum_i x_i [N]       dx_i += dy / n     for every i
 *
 *  One pair of loops serves both: scale is 1 or 1/n.
 */
static sn_status sum_forward(sn_call *c, float scale)
{
    sn_value *y = c->out[0];
    const sn_shape *s = &c->in[0]->shape;
    size_t n = (size_t)c->batch * c->in[0]->count;
    if (n > 0)
        memcpy(y->data, c->in[0]->data, n * sizeof(float));
    for (int i = 1; i < c->n_in; i++) {
        const float *xi = c->in[i]->data;
        for (size_t k = 0; k < n; k++)
            y->data[k] += xi[k];
    }
    if (scale != 1.0f)
        for (size_t k = 0; k < n; k++)
            y->data[k] *= scale;
    return sn_merge_and_masks(c, s->rank >= 2 ? s->dim[0] : -1);
}

static sn_status sum_backward(sn_call *c, float scale)
{
    const float *dy = c->out[0]->grad;
    size_t n = (size_t)c->batch * c->in[0]->count;
    if (dy == NULL)
        return SN_OK;
    for (int i = 0; i < c->n_in; i++) {
        float *dx = c->in[i]->grad;
        if (dx != NULL)
            for (size_t k = 0; k < n; k++)
                dx[k] += scale * dy[k];
    }
    return SN_OK;
}

static sn_status add_forward(sn_call *c)
{
    return sum_forward(c, 1.0f);
}

static sn_status add_backward(sn_call *c)
{
    return sum_backward(c, 1.0f);
}

static sn_status average_forward(sn_call *c)
{
    return sum_forward(c, 1.0f / (float)c->n_in);
}

static sn_status average_backward(sn_call *c)
{
    return sum_backward(c, 1.0f / (float)c->n_in);
}

/* Add and Average have no configuration: an empty blob. */
static void add_save_config(const sn_layer *l, sn_writer *w)
{
    (void)l;
    (void)w;
}

static sn_layer *add_load_config(sn_reader *r)
{
    return r->status == SN_OK ? sn_add() : NULL;
}

const sn_layer_ops sn_add_ops = {
    .type = "Add",
    .base_name = "add",
    .min_inputs = 2,
    .max_inputs = MERGE_MAX_INPUTS,
    .infer = sn_merge_same_shape_infer,
    .build = NULL,
    .forward = add_forward,
    .backward = add_backward,
    .destroy = NULL,
    .save_config = add_save_config,
    .load_config = add_load_config,
};

sn_layer_t *sn_add(void)
{
    return sn_layer_create(&sn_add_ops, 0);
}

static sn_layer *average_load_config(sn_reader *r)
{
    return r->status == SN_OK ? sn_average() : NULL;
}

const sn_layer_ops sn_average_ops = {
    .type = "Average",
    .base_name = "average",
    .min_inputs = 2,
    .max_inputs = MERGE_MAX_INPUTS,
    .infer = sn_merge_same_shape_infer,
    .build = NULL,
    .forward = average_forward,
    .backward = average_backward,
    .destroy = NULL,
    .save_config = add_save_config,
    .load_config = average_load_config,
};

sn_layer_t *sn_average(void)
{
    return sn_layer_create(&sn_average_ops, 0);
}

/* ---------------------------------------------------------- Concatenate */

/* Per-sample axis index (0 = time for rank 2) from the Keras axis. */
static int concat_axis(const sn_layer *l, int rank)
{
    const concat_priv *p = l->priv;
    return p->axis == -1 ? rank - 1 : p->axis - 1;
}

static int concat_infer(sn_layer *l, const sn_shape *in, int n_in,
                        sn_shape *out, int max_out)
{
    const concat_priv *p = l->priv;
    (void)max_out;
    sn_status st = all_float(l, in, n_in);
    if (st != SN_OK)
        return st;
    int rank = in[0].rank;
    int ax = concat_axis(l, rank);
    if (ax < 0 || ax >= rank) {
        char buf[96];
        sn_shape_format(&in[0], buf, sizeof buf);
        return sn_fail(SN_ERR_SHAPE,
                       "%s: axis %d is out of range for inputs %s (use -1 "
                       "or 1..%d; 0 is the batch)",
                       sn_layer_label(l), p->axis, buf, rank);
    }
    out[0] = in[0];
    for (int i = 1; i < n_in; i++) {
        if (in[i].rank != rank)
            return shape_mismatch(l, "inputs must have one rank", &in[0], 0,
                                  &in[i], i);
        for (int d = 0; d < rank; d++)
            if (d != ax && in[i].dim[d] != in[0].dim[d])
                return shape_mismatch(
                    l, "all dims but the concatenation axis must match",
                    &in[0], 0, &in[i], i);
        /* An unknown length along the axis makes the sum unknown. */
        if (out[0].dim[ax] < 0 || in[i].dim[ax] < 0)
            out[0].dim[ax] = -1;
        else if (in[i].dim[ax] > INT_MAX - out[0].dim[ax])
            return sn_fail(SN_ERR_SHAPE, "%s: the concatenated axis would "
                           "exceed %d", sn_layer_label(l), INT_MAX);
        else
            out[0].dim[ax] += in[i].dim[ax];
    }
    return 1;
}

/* x viewed as [outer, dim[ax] * inner]: outer includes the batch. */
static void concat_strides(const sn_call *c, int ax, size_t *outer,
                           size_t *inner)
{
    const sn_shape *s = &c->in[0]->shape;
    *outer = (size_t)c->batch;
    *inner = 1;
    for (int d = 0; d < ax; d++)
        *outer *= (size_t)s->dim[d];
    for (int d = ax + 1; d < s->rank; d++)
        *inner *= (size_t)s->dim[d];
}

/* Along time: output mask [B, sum T_i], a missing mask counting as ones. */
static sn_status concat_time_masks(sn_call *c)
{
    sn_value *y = c->out[0];
    int present = 0, t_out = 0;
    for (int i = 0; i < c->n_in; i++) {
        present += c->in[i]->mask != NULL;
        t_out += c->in[i]->shape.dim[0];
    }
    y->mask = NULL;
    if (present == 0)
        return SN_OK;
    uint8_t *m = sn_call_out_mask(c, 0, t_out);
    if (m == NULL)
        return SN_ERR_NOMEM;
    for (int b = 0; b < c->batch; b++) {
        uint8_t *row = m + (size_t)b * t_out;
        for (int i = 0; i < c->n_in; i++) {
            int ti = c->in[i]->shape.dim[0];
            const uint8_t *mi = c->in[i]->mask;
            if (mi != NULL)
                memcpy(row, mi + (size_t)b * ti, (size_t)ti);
            else
                memset(row, 1, (size_t)ti);
            row += ti;
        }
    }
    y->mask = m;
    return SN_OK;
}

/*
 *  forward                                  backward
 *  x_i [O, a_i, I]  O = batch * dims        dy [O, sum a_i, I]
 *        before axis, I = dims after        dx_i += dy[:, off_i : off_i +
 *  y = [x_0 | x_1 | ...] along a            a_i, :]
 */
static sn_status concat_forward(sn_call *c)
{
    sn_value *y = c->out[0];
    int rank = c->in[0]->shape.rank;
    int ax = concat_axis(c->layer, rank);
    size_t outer, inner, row = 0;
    concat_strides(c, ax, &outer, &inner);
    for (int i = 0; i < c->n_in; i++)
        row += (size_t)c->in[i]->shape.dim[ax] * inner;
    size_t off = 0;
    for (int i = 0; i < c->n_in; i++) {
        size_t chunk = (size_t)c->in[i]->shape.dim[ax] * inner;
        const float *xi = c->in[i]->data;
        for (size_t o = 0; o < outer; o++)
            memcpy(y->data + o * row + off, xi + o * chunk,
                   chunk * sizeof(float));
        off += chunk;
    }
    if (rank < 2) {
        y->mask = NULL;
        return SN_OK;
    }
    if (ax == 0)
        return concat_time_masks(c);
    return sn_merge_and_masks(c, c->in[0]->shape.dim[0]);
}

static sn_status concat_backward(sn_call *c)
{
    const float *dy = c->out[0]->grad;
    if (dy == NULL)
        return SN_OK;
    int ax = concat_axis(c->layer, c->in[0]->shape.rank);
    size_t outer, inner, row = 0;
    concat_strides(c, ax, &outer, &inner);
    for (int i = 0; i < c->n_in; i++)
        row += (size_t)c->in[i]->shape.dim[ax] * inner;
    size_t off = 0;
    for (int i = 0; i < c->n_in; i++) {
        size_t chunk = (size_t)c->in[i]->shape.dim[ax] * inner;
        float *dx = c->in[i]->grad;
        if (dx != NULL)
            for (size_t o = 0; o < outer; o++) {
                const float *src = dy + o * row + off;
                float *dst = dx + o * chunk;
                for (size_t k = 0; k < chunk; k++)
                    dst[k] += src[k];
            }
        off += chunk;
    }
    return SN_OK;
}

/* Config: i32 axis as given (-1 or 1..rank). */
static void concat_save_config(const sn_layer *l, sn_writer *w)
{
    sn_write_i32(w, ((const concat_priv *)l->priv)->axis);
}

static sn_layer *concat_load_config(sn_reader *r)
{
    int axis = sn_read_i32(r);
    return r->status == SN_OK ? sn_concatenate(axis) : NULL;
}

const sn_layer_ops sn_concatenate_ops = {
    .type = "Concatenate",
    .base_name = "concatenate",
    .min_inputs = 2,
    .max_inputs = MERGE_MAX_INPUTS,
    .infer = concat_infer,
    .build = NULL,
    .forward = concat_forward,
    .backward = concat_backward,
    .destroy = NULL,
    .save_config = concat_save_config,
    .load_config = concat_load_config,
};

sn_layer_t *sn_concatenate(int axis)
{
    if (axis == 0) {
        sn_fail(SN_ERR_INVALID_ARG,
                "sn_concatenate: axis 0 is the batch axis and cannot be "
                "concatenated; use -1 or 1..rank");
        return NULL;
    }
    if (axis < -1 || axis > SN_MAX_RANK) {
        sn_fail(SN_ERR_INVALID_ARG,
                "sn_concatenate: axis must be -1 or 1..%d, got %d",
                SN_MAX_RANK, axis);
        return NULL;
    }
    sn_layer *l = sn_layer_create(&sn_concatenate_ops, sizeof(concat_priv));
    if (l == NULL)
        return NULL;
    ((concat_priv *)l->priv)->axis = axis;
    return l;
}

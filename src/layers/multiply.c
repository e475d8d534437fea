/*
 * multiply.c - Keras Multiply: the element-wise product of 2..64 float
 * inputs of one shape.  Masks are AND-ed, as for Add.
 */
#include <string.h>

#include "layers.h"

#define MULTIPLY_MAX_INPUTS 64

static int multiply_infer(sn_layer *l, const sn_shape *in, int n_in,
                          sn_shape *out, int max_out)
{
    (void)max_out;
    for (int i = 0; i < n_in; i++) {
        sn_status st = sn_expect_float(l, &in[i]);
        if (st != SN_OK)
            return st;
        if (!sn_shape_equal(&in[0], &in[i])) {
            char a[96], b[96];
            sn_shape_format(&in[0], a, sizeof a);
            sn_shape_format(&in[i], b, sizeof b);
            return sn_fail(SN_ERR_SHAPE, "%s: inputs must have one shape: "
                           "input 0 is %s but input %d is %s",
                           sn_layer_label(l), a, i, b);
        }
    }
    out[0] = in[0];
    return 1;
}

/*
 *  forward                        backward
 *  x_i [N], i = 0..n-1            dy [N]
 *  y = prod_i x_i      [N]        dx_i += dy * prod_{j != i} x_j
 *  (the product of the others is formed directly, never y / x_i, so a
 *  zero input gives the right gradient)
 */
static sn_status multiply_forward(sn_call *c)
{
    sn_value *y = c->out[0];
    const sn_shape *s = &c->in[0]->shape;
    size_t n = (size_t)c->batch * c->in[0]->count;
    if (n > 0)
        memcpy(y->data, c->in[0]->data, n * sizeof(float));
    for (int i = 1; i < c->n_in; i++) {
        const float *xi = c->in[i]->data;
        for (size_t k = 0; k < n; k++)
            y->data[k] *= xi[k];
    }
    return sn_merge_and_masks(c, s->rank >= 2 ? s->dim[0] : -1);
}

static sn_status multiply_backward(sn_call *c)
{
    const float *dy = c->out[0]->grad;
    size_t n = (size_t)c->batch * c->in[0]->count;
    if (dy == NULL)
        return SN_OK;
    for (int i = 0; i < c->n_in; i++) {
        float *dx = c->in[i]->grad;
        if (dx == NULL)
            continue;
        for (size_t k = 0; k < n; k++) {
            float others = dy[k];
            for (int j = 0; j < c->n_in; j++)
                if (j != i)
                    others *= c->in[j]->data[k];
            dx[k] += others;
        }
    }
    return SN_OK;
}

/* Multiply has no configuration: an empty blob. */
static void multiply_save_config(const sn_layer *l, sn_writer *w)
{
    (void)l;
    (void)w;
}

static sn_layer *multiply_load_config(sn_reader *r)
{
    return r->status == SN_OK ? sn_multiply() : NULL;
}

const sn_layer_ops sn_multiply_ops = {
    .type = "Multiply",
    .base_name = "multiply",
    .min_inputs = 2,
    .max_inputs = MULTIPLY_MAX_INPUTS,
    .infer = multiply_infer,
    .forward = multiply_forward,
    .backward = multiply_backward,
    .save_config = multiply_save_config,
    .load_config = multiply_load_config,
};

sn_layer_t *sn_multiply(void)
{
    return sn_layer_create(&sn_multiply_ops, 0);
}

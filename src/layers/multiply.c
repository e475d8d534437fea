/*
 * multiply.c - Keras Multiply: the element-wise product of 2..64 float
 * inputs of one shape.  Masks are AND-ed, as for Add.
 */
#include <string.h>

#include "layers.h"

#define MULTIPLY_MAX_INPUTS 64

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
    .infer = sn_merge_same_shape_infer,
    .forward = multiply_forward,
    .backward = multiply_backward,
    .save_config = multiply_save_config,
    .load_config = multiply_load_config,
};

sn_layer_t *sn_multiply(void)
{
    return sn_layer_create(&sn_multiply_ops, 0);
}

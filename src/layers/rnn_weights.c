/*
 * rnn_weights.c - recurrent weights in Keras or PyTorch layout.
 *
 *   Keras    kernel [E, G*H]   recurrent_kernel [H, G*H]   bias [G*H]
 *            (GRU reset_after: bias [2, G*H], input row then recurrent)
 *   PyTorch  weight_ih_l0 [G*H, E]   weight_hh_l0 [G*H, H]
 *            bias_ih_l0 [G*H]        bias_hh_l0 [G*H]
 *
 * Gate blocks: LSTM i,f,c,o = PyTorch i,f,g,o (same order); GRU Keras
 * z,r,h = PyTorch blocks 1,0,2 (r,z,n).  PyTorch's GRU is the reset_after
 * form; reset_before has no PyTorch equivalent.  An LSTM or SimpleRNN has
 * one Keras bias for PyTorch's two: export gives bias_ih = bias and
 * bias_hh = 0; import sets bias = bias_ih, then adds bias_hh.
 * Bidirectional: Keras names gain "forward_<cell>/" or "backward_<cell>/",
 * PyTorch names the backward half with a "_reverse" suffix.
 */
#include <string.h>

#include "model/model.h"
#include "rnn_layer.h"

typedef enum part { KERNEL = 0, RECURRENT = 1, BIAS_IH = 2, BIAS_HH = 3 } part;

static const char *const keras_plain[3] = { "kernel", "recurrent_kernel",
                                            "bias" };
/* [cell: simple, gru, lstm][direction][part] */
static const char *const keras_bidi[3][2][3] = {
    { { "forward_simple_rnn/kernel", "forward_simple_rnn/recurrent_kernel",
        "forward_simple_rnn/bias" },
      { "backward_simple_rnn/kernel", "backward_simple_rnn/recurrent_kernel",
        "backward_simple_rnn/bias" } },
    { { "forward_gru/kernel", "forward_gru/recurrent_kernel",
        "forward_gru/bias" },
      { "backward_gru/kernel", "backward_gru/recurrent_kernel",
        "backward_gru/bias" } },
    { { "forward_lstm/kernel", "forward_lstm/recurrent_kernel",
        "forward_lstm/bias" },
      { "backward_lstm/kernel", "backward_lstm/recurrent_kernel",
        "backward_lstm/bias" } },
};
static const char *const torch_names[2][4] = {
    { "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0" },
    { "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
      "bias_hh_l0_reverse" },
};

typedef struct slot {
    int dir;
    part what;
    const char *name;
    int rank;
    int dims[2];
} slot;

static const sn_rnn_layer *cell_priv(const sn_layer *l)
{
    return sn_rnn_cell_layer(l)->priv;
}

static int n_dirs(const sn_layer *l)
{
    return sn_rnn_is_bidirectional(l) ? 2 : 1;
}

static int slots_per_dir(const sn_rnn_layer *p, sn_weight_layout layout)
{
    if (!p->opts.use_bias)
        return 2;
    return layout == SN_LAYOUT_KERAS ? 3 : 4;
}

static int cell_index(sn_cell_kind cell)
{
    return cell == SN_CELL_SIMPLE ? 0 : cell == SN_CELL_GRU ? 1 : 2;
}

/* Describes the i-th tensor of the layout. */
static bool describe(const sn_layer *l, sn_weight_layout layout, int i,
                     slot *s)
{
    const sn_rnn_layer *p = cell_priv(l);
    const sn_model *m = l->owner;
    int per = slots_per_dir(p, layout), H = p->units;
    int GH = (int)p->cell * H, E = m->weights[l->first_weight].dim[0];
    if (i < 0 || i >= per * n_dirs(l))
        return false;
    s->dir = i / per;
    int k = i % per;
    s->what = (part)k;
    if (layout == SN_LAYOUT_KERAS) {
        s->name = n_dirs(l) == 2
                      ? keras_bidi[cell_index(p->cell)][s->dir][k]
                      : keras_plain[k];
        bool gru2 = p->cell == SN_CELL_GRU && p->opts.reset_after;
        int rows[3] = { E, H, gru2 ? 2 : 1 };
        s->rank = k == 2 && !gru2 ? 1 : 2;
        s->dims[0] = k == 2 && !gru2 ? GH : rows[k];
        s->dims[1] = GH;
        return true;
    }
    s->name = torch_names[s->dir][k];
    s->rank = k < 2 ? 2 : 1;
    s->dims[0] = GH;
    s->dims[1] = k == 0 ? E : H;
    return true;
}

static sn_status check_layer(const sn_layer *l, sn_weight_layout layout,
                             const char *who)
{
    if (l == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: layer is NULL", who);
    if (sn_rnn_cell_layer(l) == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: layer '%s' (%s) is not "
                       "recurrent", who, sn_layer_label(l), l->ops->type);
    if (l->owner == NULL || !l->owner->built)
        return sn_fail(SN_ERR_STATE, "%s: layer '%s' must belong to a built "
                       "model", who, sn_layer_label(l));
    if (layout != SN_LAYOUT_KERAS && layout != SN_LAYOUT_PYTORCH)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: unknown layout %d", who,
                       (int)layout);
    const sn_rnn_layer *p = cell_priv(l);
    if (layout == SN_LAYOUT_PYTORCH && p->cell == SN_CELL_GRU &&
        !p->opts.reset_after)
        return sn_fail(SN_ERR_UNSUPPORTED, "%s: a GRU with reset_after = 0 "
                       "has no PyTorch equivalent", who);
    return SN_OK;
}

SN_API int sn_rnn_num_weights(const sn_layer_t *layer,
                              sn_weight_layout layout)
{
    sn_status st = check_layer(layer, layout, "sn_rnn_num_weights");
    if (st != SN_OK)
        return st;
    return slots_per_dir(cell_priv(layer), layout) * n_dirs(layer);
}

SN_API int sn_rnn_weight_info(const sn_layer_t *layer,
                              sn_weight_layout layout, int i,
                              const char **name, int *dims, int dims_cap)
{
    sn_status st = check_layer(layer, layout, "sn_rnn_weight_info");
    if (st == SN_OK)
        st = sn_dims_out_check(dims, dims_cap, "sn_rnn_weight_info");
    if (st != SN_OK)
        return st;
    slot s;
    if (!describe(layer, layout, i, &s))
        return sn_fail(SN_ERR_NOT_FOUND, "sn_rnn_weight_info: no weight %d",
                       i);
    if (name != NULL)
        *name = s.name;
    sn_dims_out_copy(dims, dims_cap, s.dims, s.rank);
    return s.rank;
}

/* Finds the slot called name and checks count against its size. */
static sn_status find_slot(const sn_layer *l, sn_weight_layout layout,
                           const char *name, size_t count, slot *s,
                           const char *who)
{
    sn_status st = check_layer(l, layout, who);
    if (st != SN_OK)
        return st;
    if (name == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: name is NULL", who);
    for (int i = 0; describe(l, layout, i, s); i++) {
        if (strcmp(s->name, name) != 0)
            continue;
        size_t need = (size_t)s->dims[0] * (s->rank == 2 ? s->dims[1] : 1);
        if (count != need)
            return sn_fail(SN_ERR_SHAPE, "%s: '%s' holds %zu floats, got "
                           "%zu", who, name, need, count);
        return SN_OK;
    }
    return sn_fail(SN_ERR_NOT_FOUND, "%s: layer '%s' has no %s weight "
                   "'%s'", who, sn_layer_label(l),
                   layout == SN_LAYOUT_KERAS ? "Keras" : "PyTorch", name);
}

/* The model's array for (direction, Keras part). */
static float *model_weight(const sn_layer *l, int dir, int keras_part)
{
    const sn_rnn_layer *p = cell_priv(l);
    const sn_model *m = l->owner;
    int per = p->opts.use_bias ? 3 : 2;
    const sn_weight *w = &m->weights[l->first_weight + dir * per +
                                     keras_part];
    return m->values + w->offset;
}

/* PyTorch gate block g holds Keras block keras_block(g). */
static int keras_block(const sn_rnn_layer *p, int g)
{
    if (p->cell == SN_CELL_GRU && g < 2)
        return 1 - g;
    return g;
}

/* Copies between a Keras [rows, G*H] matrix and a PyTorch [G*H, rows]
 * one, permuting gate blocks; to_torch picks the direction. */
static void transpose_gates(const sn_rnn_layer *p, float *keras, float *torch,
                            int rows, bool to_torch)
{
    int H = p->units, G = (int)p->cell, GH = G * H;
    for (int g = 0; g < G; g++) {
        int kb = keras_block(p, g);
        for (int j = 0; j < H; j++)
            for (int r = 0; r < rows; r++) {
                float *k = &keras[(size_t)r * GH + kb * H + j];
                float *t = &torch[((size_t)g * H + j) * rows + r];
                if (to_torch)
                    *t = *k;
                else
                    *k = *t;
            }
    }
}

static void permute_bias(const sn_rnn_layer *p, float *keras, float *torch,
                         bool to_torch)
{
    int H = p->units, G = (int)p->cell;
    for (int g = 0; g < G; g++)
        for (int j = 0; j < H; j++) {
            float *k = &keras[keras_block(p, g) * H + j];
            float *t = &torch[g * H + j];
            if (to_torch)
                *t = *k;
            else
                *k = *t;
        }
}

/* Moves one PyTorch tensor to or from the model. */
static void torch_copy(const sn_layer *l, const slot *s, float *torch,
                       bool to_torch)
{
    const sn_rnn_layer *p = cell_priv(l);
    int GH = (int)p->cell * p->units;
    if (s->what == KERNEL || s->what == RECURRENT) {
        transpose_gates(p, model_weight(l, s->dir, s->what), torch,
                        s->dims[1], to_torch);
        return;
    }
    float *bias = model_weight(l, s->dir, 2);
    bool two_rows = p->cell == SN_CELL_GRU && p->opts.reset_after;
    if (two_rows) {
        permute_bias(p, bias + (s->what == BIAS_HH ? GH : 0), torch,
                     to_torch);
        return;
    }
    if (to_torch) {
        if (s->what == BIAS_IH)
            permute_bias(p, bias, torch, true);
        else
            memset(torch, 0, (size_t)GH * sizeof *torch);
        return;
    }
    int H = p->units;
    for (int g = 0; g < (int)p->cell; g++)
        for (int j = 0; j < H; j++) {
            float *k = &bias[keras_block(p, g) * H + j];
            float t = torch[g * H + j];
            *k = s->what == BIAS_IH ? t : *k + t;
        }
}

SN_API sn_status sn_rnn_get_weight(const sn_layer_t *layer,
                                   sn_weight_layout layout, const char *name,
                                   float *out, size_t count)
{
    slot s;
    sn_status st = find_slot(layer, layout, name, count, &s,
                             "sn_rnn_get_weight");
    if (st != SN_OK)
        return st;
    if (out == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_rnn_get_weight: out is NULL");
    if (layout == SN_LAYOUT_KERAS)
        memcpy(out, model_weight(layer, s.dir, s.what), count * sizeof *out);
    else
        torch_copy(layer, &s, out, true);
    return SN_OK;
}

SN_API sn_status sn_rnn_set_weight(sn_layer_t *layer, sn_weight_layout layout,
                                   const char *name, const float *data,
                                   size_t count)
{
    slot s;
    sn_status st = find_slot(layer, layout, name, count, &s,
                             "sn_rnn_set_weight");
    if (st != SN_OK)
        return st;
    if (data == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_rnn_set_weight: data is NULL");
    for (size_t i = 0; i < count; i++)
        if (!(data[i] == data[i]) || data[i] - data[i] != 0.0f)
            return sn_fail(SN_ERR_NUMERIC, "sn_rnn_set_weight: '%s' element "
                           "%zu is not finite", name, i);
    if (layout == SN_LAYOUT_KERAS)
        memcpy(model_weight(layer, s.dir, s.what), data, count * sizeof *data);
    else
        torch_copy(layer, &s, (float *)data, false);
    return SN_OK;
}

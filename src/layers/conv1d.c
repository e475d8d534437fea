/*
 * conv1d.c - Keras Conv1D over time: float [T, C] -> [T_out, F], kernel
 * [k, C, F], cross-correlation, valid / same / causal padding, strides or
 * dilation.
 *
 * The convolution is one matrix product.  im2col copies, for every output
 * step, the k input rows it sees (zeros where the window hangs over the
 * padding) into one row of cols [B*T_out, k*C]; the kernel read as a
 * row-major [k*C, F] matrix then multiplies it.  Backward runs the same
 * two products transposed and scatters the column gradient back (col2im).
 *
 * Masks: Keras' Conv1D does not use a mask, neither does this layer (padded
 * steps are convolved like real ones).  When the output keeps the input's
 * length (same or causal padding, stride 1) output step t lines up with
 * input step t, so the input mask is passed on for the layers downstream
 * (e.g. an RNN after a causal conv); otherwise the output has no mask.
 */
#include <limits.h>
#include <string.h>

#include <cblas.h>

#include "layers.h"

typedef struct conv1d_priv {
    int filters;
    int kernel_size;
    sn_conv1d_opts opts;
} conv1d_priv;

enum { W_KERNEL = 0, W_BIAS = 1 };

/* Where the windows of one call lie on the time axis. */
typedef struct conv_geom {
    int t_in, t_out;   /* input and output steps                      */
    int c_in;          /* input channels                              */
    int k, s, d;       /* kernel size, stride, dilation               */
    int left;          /* zeros padded before step 0                  */
} conv_geom;

/* Output length and left padding for input length t (Keras/TF rules, see
 * sn_padding in seqnet.h).  Returns t_out, which is < 1 when a valid
 * convolution does not fit. */
static int conv_out_len(sn_padding pad, int t, int k, int s, int d,
                        int *left)
{
    long long span = (long long)d * (k - 1) + 1; /* receptive field */
    *left = 0;
    switch (pad) {
    case SN_PAD_SAME: {
        long long t_out = ((long long)t + s - 1) / s;
        long long total = (t_out - 1) * s + span - t;
        *left = total > 0 ? (int)(total / 2) : 0;
        return (int)t_out;
    }
    case SN_PAD_CAUSAL:
        *left = (int)(span - 1);
        return (int)(((long long)t + s - 1) / s);
    case SN_PAD_VALID:
    default:
        /* Explicit test: C division truncates toward zero, not floor. */
        return t < span ? 0 : (int)((t - span) / s + 1);
    }
}

static int conv1d_infer(sn_layer *l, const sn_shape *in, int n_in,
                        sn_shape *out, int max_out)
{
    const conv1d_priv *p = l->priv;
    (void)n_in;
    (void)max_out;
    sn_status st = sn_expect_float(l, &in[0]);
    if (st == SN_OK)
        st = sn_expect_rank(l, &in[0], 2);
    if (st != SN_OK)
        return st;
    char buf[96];
    sn_shape_format(&in[0], buf, sizeof buf);
    if (in[0].dim[1] <= 0)
        return sn_fail(SN_ERR_SHAPE, "%s: the channel axis must be known to "
                       "size the kernel, got %s", sn_layer_label(l), buf);
    int t = in[0].dim[0], t_out = -1, left;
    if (t >= 0) {
        t_out = conv_out_len(p->opts.padding, t, p->kernel_size,
                             p->opts.strides, p->opts.dilation_rate, &left);
        if (t_out < 1)
            return sn_fail(SN_ERR_SHAPE,
                           "%s: input %s has %d steps, fewer than the %lld "
                           "a kernel of size %d with dilation_rate %d spans "
                           "(padding \"valid\")",
                           sn_layer_label(l), buf, t,
                           (long long)p->opts.dilation_rate *
                               (p->kernel_size - 1) + 1,
                           p->kernel_size, p->opts.dilation_rate);
    }
    out[0] = sn_shape_2(SN_FLOAT32, t_out, p->filters);
    return 1;
}

static sn_status conv1d_build(sn_layer *l, sn_build *b, const sn_shape *in,
                              int n_in)
{
    const conv1d_priv *p = l->priv;
    (void)n_in;
    int c_in = in[0].dim[1], k = p->kernel_size, f = p->filters;
    if ((long long)k * c_in > INT_MAX || (long long)k * f > INT_MAX)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: kernel %d x %d x %d is too "
                       "large", sn_layer_label(l), k, c_in, f);
    /* Keras compute_fans: the receptive field multiplies both fans. */
    int kdims[3] = {k, c_in, f};
    int w = sn_build_weight(b, "kernel", 3, kdims, p->opts.kernel_initializer,
                            k * c_in, k * f);
    if (w < 0)
        return (sn_status)w;
    if (p->opts.use_bias) {
        int bdims[1] = {f};
        w = sn_build_weight(b, "bias", 1, bdims, p->opts.bias_initializer, f,
                            f);
        if (w < 0)
            return (sn_status)w;
    }
    return SN_OK;
}

/* The geometry of this call, and a check that the matrices fit BLAS ints. */
static sn_status conv1d_geom(const sn_call *c, conv_geom *g, int *rows,
                             int *kc)
{
    const conv1d_priv *p = c->layer->priv;
    const sn_shape *s = &c->in[0]->shape;
    g->t_in = s->dim[0];
    g->c_in = s->dim[1];
    g->k = p->kernel_size;
    g->s = p->opts.strides;
    g->d = p->opts.dilation_rate;
    g->t_out = conv_out_len(p->opts.padding, g->t_in, g->k, g->s, g->d,
                            &g->left);
    size_t r = (size_t)c->batch * (size_t)g->t_out;
    if (r > INT_MAX)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: batch * output steps = %zu rows is too large",
                       sn_layer_label(c->layer), r);
    *rows = (int)r;
    *kc = g->k * g->c_in; /* checked at build */
    return SN_OK;
}

/* Input step read by tap j of output step t (may lie in the padding). */
static long long tap_step(const conv_geom *g, int t, int j)
{
    return (long long)t * g->s + (long long)j * g->d - g->left;
}

/* cols[(b*T_out + t), j*C + c] = x[b, t*s + j*d - left, c], 0 off the end. */
static void im2col(const conv_geom *g, int batch, const float *x, float *cols)
{
    size_t c = (size_t)g->c_in;
    for (int b = 0; b < batch; b++)
        for (int t = 0; t < g->t_out; t++)
            for (int j = 0; j < g->k; j++) {
                long long src = tap_step(g, t, j);
                float *dst = cols +
                             (((size_t)b * g->t_out + t) * g->k + j) * c;
                if (src < 0 || src >= g->t_in)
                    memset(dst, 0, c * sizeof(float));
                else
                    memcpy(dst, x + ((size_t)b * g->t_in + src) * c,
                           c * sizeof(float));
            }
}

/* The adjoint of im2col: dx[b, src, :] += dcols[row, j*C : (j+1)*C]. */
static void col2im_add(const conv_geom *g, int batch, const float *dcols,
                       float *dx)
{
    size_t c = (size_t)g->c_in;
    for (int b = 0; b < batch; b++)
        for (int t = 0; t < g->t_out; t++)
            for (int j = 0; j < g->k; j++) {
                long long src = tap_step(g, t, j);
                if (src < 0 || src >= g->t_in)
                    continue;
                const float *from = dcols +
                                    (((size_t)b * g->t_out + t) * g->k + j) *
                                        c;
                float *to = dx + ((size_t)b * g->t_in + src) * c;
                for (size_t i = 0; i < c; i++)
                    to[i] += from[i];
            }
}

/* Scratch floats: cols [R, kC], then (when a backward pass may follow and
 * the activation is not linear) dz [R, F], then (for an activation whose
 * derivative needs its input, sn_act_needs_input) z [R, F].  Forward and
 * backward ask for the same size so that backward finds cols (and z) as
 * forward left them. */
static size_t scratch_floats(const sn_call *c, int rows, int kc)
{
    const conv1d_priv *p = c->layer->priv;
    size_t n = (size_t)rows * (size_t)kc;
    if (sn_call_can_backward(c) && p->opts.activation != SN_LINEAR)
        n += (size_t)rows * (size_t)p->filters;
    if (sn_call_can_backward(c) && sn_act_needs_input(p->opts.activation))
        n += (size_t)rows * (size_t)p->filters;
    return n;
}

/*
 *  forward                                  backward
 *  x    [B, T, C]                           dy [R, F]        (out grad)
 *  cols [R, kC]   R = B*T_out (im2col)      dz = act'(y) * dy        [R, F]
 *  W    [kC, F]   (kernel [k, C, F])        dW += cols^T dz          [kC, F]
 *  z = cols W + b          [R, F]           db += sum_rows dz        [F]
 *  y = act(z)              [R, F]           dcols = dz W^T           [R, kC]
 *                                           dx += col2im(dcols)      [B, T, C]
 */
static sn_status conv1d_forward(sn_call *c)
{
    const conv1d_priv *p = c->layer->priv;
    const sn_value *x = c->in[0];
    sn_value *y = c->out[0];
    conv_geom g;
    int rows, kc, f = p->filters;
    sn_status st = conv1d_geom(c, &g, &rows, &kc);
    if (st != SN_OK)
        return st;
    y->mask = g.t_out == g.t_in ? x->mask : NULL;
    float *cols = sn_call_scratch(c, scratch_floats(c, rows, kc) *
                                         sizeof(float));
    if (cols == NULL)
        return SN_ERR_NOMEM;
    im2col(&g, c->batch, x->data, cols);
    const float *w = sn_call_weight(c, W_KERNEL);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, f, kc, 1.0f,
                cols, kc, w, f, 0.0f, y->data, f);
    if (p->opts.use_bias) {
        const float *bias = sn_call_weight(c, W_BIAS);
        for (int r = 0; r < rows; r++) {
            float *yr = y->data + (size_t)r * f;
            for (int u = 0; u < f; u++)
                yr[u] += bias[u];
        }
    }
    if (sn_call_can_backward(c) && sn_act_needs_input(p->opts.activation))
        memcpy(cols + (size_t)rows * kc + (size_t)rows * f, y->data,
               (size_t)rows * f * sizeof(float));
    sn_act_forward(p->opts.activation, y->data, (size_t)rows, (size_t)f);
    return SN_OK;
}

static sn_status conv1d_backward(sn_call *c)
{
    const conv1d_priv *p = c->layer->priv;
    const sn_value *x = c->in[0];
    const sn_value *y = c->out[0];
    conv_geom g;
    int rows, kc, f = p->filters;
    sn_status st = conv1d_geom(c, &g, &rows, &kc);
    if (st != SN_OK)
        return st;
    if (y->grad == NULL)
        return SN_OK;
    float *cols = sn_call_scratch(c, scratch_floats(c, rows, kc) *
                                         sizeof(float));
    if (cols == NULL)
        return SN_ERR_NOMEM;

    /* dz: dy itself for linear; else after cols, zeroed first because
     * sn_act_backward accumulates. */
    const float *dz = y->grad;
    if (p->opts.activation != SN_LINEAR) {
        float *s = cols + (size_t)rows * kc;
        memset(s, 0, (size_t)rows * f * sizeof(float));
        sn_act_backward(p->opts.activation, s + (size_t)rows * f, y->data,
                        y->grad, s, (size_t)rows, (size_t)f);
        dz = s;
    }
    if (sn_call_wants_weight_grad(c)) {
        float *dw = sn_call_weight_grad(c, W_KERNEL);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kc, f, rows,
                    1.0f, cols, kc, dz, f, 1.0f, dw, f);
        if (p->opts.use_bias) {
            float *db = sn_call_weight_grad(c, W_BIAS);
            for (int r = 0; r < rows; r++) {
                const float *dzr = dz + (size_t)r * f;
                for (int u = 0; u < f; u++)
                    db[u] += dzr[u];
            }
        }
    }
    if (x->grad != NULL) {
        /* cols is no longer needed: dcols overwrites it. */
        const float *w = sn_call_weight(c, W_KERNEL);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, kc, f,
                    1.0f, dz, f, w, f, 0.0f, cols, kc);
        col2im_add(&g, c->batch, cols, x->grad);
    }
    return SN_OK;
}

/* Config: i32 filters, kernel_size, strides, padding, dilation_rate,
 * activation, use_bias, kernel and bias initialisers. */
static void conv1d_save_config(const sn_layer *l, sn_writer *w)
{
    const conv1d_priv *p = l->priv;
    sn_write_i32(w, p->filters);
    sn_write_i32(w, p->kernel_size);
    sn_write_i32(w, p->opts.strides);
    sn_write_i32(w, (int32_t)p->opts.padding);
    sn_write_i32(w, p->opts.dilation_rate);
    sn_write_i32(w, (int32_t)p->opts.activation);
    sn_write_i32(w, p->opts.use_bias);
    sn_write_i32(w, (int32_t)p->opts.kernel_initializer);
    sn_write_i32(w, (int32_t)p->opts.bias_initializer);
}

/* Ranges are checked here (the bytes may be corrupt); the constructor then
 * checks what depends on several values (strides with dilation, the
 * receptive field's size). */
static sn_layer *conv1d_load_config(sn_reader *r)
{
    int filters = sn_read_int(r, 1, INT_MAX, "Conv1D filters");
    int kernel_size = sn_read_int(r, 1, INT_MAX, "Conv1D kernel_size");
    sn_conv1d_opts o = SN_CONV1D_OPTS_INIT;
    o.strides = sn_read_int(r, 1, INT_MAX, "Conv1D strides");
    o.padding = (sn_padding)sn_read_int(r, SN_PAD_VALID, SN_PAD_CAUSAL,
                                        "Conv1D padding");
    o.dilation_rate = sn_read_int(r, 1, INT_MAX, "Conv1D dilation_rate");
    o.activation = (sn_activation)sn_read_int(r, SN_LINEAR, SN_SOFTPLUS,
                                              "Conv1D activation");
    o.use_bias = sn_read_int(r, 0, 1, "Conv1D use_bias");
    o.kernel_initializer = (sn_initializer)sn_read_int(
        r, SN_INIT_ZEROS, SN_INIT_RANDOM_NORMAL, "Conv1D kernel_initializer");
    o.bias_initializer = (sn_initializer)sn_read_int(
        r, SN_INIT_ZEROS, SN_INIT_RANDOM_NORMAL, "Conv1D bias_initializer");
    if (r->status != SN_OK)
        return NULL;
    return sn_conv1d(filters, kernel_size, &o);
}

const sn_layer_ops sn_conv1d_ops = {
    .type = "Conv1D",
    .base_name = "conv1d",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = conv1d_infer,
    .build = conv1d_build,
    .forward = conv1d_forward,
    .backward = conv1d_backward,
    .destroy = NULL,
    .save_config = conv1d_save_config,
    .load_config = conv1d_load_config,
};

static bool init_valid(sn_initializer init)
{
    return (int)init >= SN_INIT_DEFAULT && (int)init <= SN_INIT_RANDOM_NORMAL;
}

/* Checks the arguments that do not depend on the input; sn_fail names the
 * first bad one. */
static sn_status conv1d_check(int filters, int kernel_size,
                              const sn_conv1d_opts *o)
{
    const char *who = "sn_conv1d";
    if (filters <= 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: filters must be > 0, got %d",
                       who, filters);
    if (kernel_size <= 0)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: kernel_size must be > 0, got %d", who,
                       kernel_size);
    if (o->strides < 1)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: strides must be >= 1, got %d",
                       who, o->strides);
    if (o->dilation_rate < 1)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: dilation_rate must be >= 1, got %d", who,
                       o->dilation_rate);
    if (o->strides > 1 && o->dilation_rate > 1)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: strides > 1 (%d) and dilation_rate > 1 (%d) "
                       "cannot be combined", who, o->strides,
                       o->dilation_rate);
    /* The receptive field and left padding must fit an int. */
    if ((long long)o->dilation_rate * (kernel_size - 1) >= INT_MAX)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: dilation_rate %d x (kernel_size %d - 1) is too "
                       "large", who, o->dilation_rate, kernel_size);
    if ((int)o->padding < SN_PAD_VALID || (int)o->padding > SN_PAD_CAUSAL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: unknown padding %d", who,
                       (int)o->padding);
    if (!sn_act_valid((int)o->activation))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: unknown activation %d", who,
                       (int)o->activation);
    if (!init_valid(o->kernel_initializer) || !init_valid(o->bias_initializer))
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: unknown initializer (kernel %d, bias %d)", who,
                       (int)o->kernel_initializer, (int)o->bias_initializer);
    return SN_OK;
}

sn_layer_t *sn_conv1d(int filters, int kernel_size,
                      const sn_conv1d_opts *opts)
{
    sn_conv1d_opts o = SN_CONV1D_OPTS_INIT;
    if (opts != NULL &&
        sn_opts_merge(&o, sizeof o, opts, "sn_conv1d") != SN_OK)
        return NULL;
    if (conv1d_check(filters, kernel_size, &o) != SN_OK)
        return NULL;
    /* SN_INIT_DEFAULT means the Keras default of that argument. */
    if (o.kernel_initializer == SN_INIT_DEFAULT)
        o.kernel_initializer = SN_INIT_GLOROT_UNIFORM;
    if (o.bias_initializer == SN_INIT_DEFAULT)
        o.bias_initializer = SN_INIT_ZEROS;
    o.use_bias = o.use_bias != 0;

    sn_layer *l = sn_layer_create(&sn_conv1d_ops, sizeof(conv1d_priv));
    if (l == NULL)
        return NULL;
    conv1d_priv *p = l->priv;
    p->filters = filters;
    p->kernel_size = kernel_size;
    p->opts = o;
    return l;
}

/*
 * custom_layer.c - user-written layers (the "Custom layers" section of seqnet.h).
 *
 * A custom layer is an ordinary sn_layer whose sn_layer_ops are adapters
 * that translate the internal interface (sn_call, sn_build, sn_writer)
 * into the public one and call the user's callbacks.  The model, the
 * executor and the file format cannot tell it from a built-in layer.
 *
 * sn_layer_ops.type is the name the model saves, and it must be the
 * user's: so each custom layer carries its own copy of the adapter table
 * in its private state, pointing at its own copy of the type name, and
 * l->ops points there for the layer's lifetime.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "custom.h"

enum {
    MAX_TYPE = 64,           /* as the file format's type field        */
    MAX_IO = 64,             /* as sn_apply_n                          */
    MAX_WEIGHT_NAME = 200,
    MAX_CONFIG = 1 << 20     /* bytes a save_config may write          */
};

typedef struct custom_priv {
    sn_layer_ops ops;          /* this layer's adapter table            */
    sn_custom_layer_ops user;  /* validated copy; user.type -> type      */
    void *state;               /* owned: released with user.destroy     */
    char type[MAX_TYPE + 1];
    char base[3 * MAX_TYPE + 1]; /* default name stem, snake case    */
} custom_priv;

struct sn_custom_call {
    sn_call *call;
    bool backward;
};

struct sn_custom_build {
    sn_build *build;
};

struct sn_custom_writer {
    sn_writer *w;
    size_t start;              /* w->len when save_config began         */
};

/* ------------------------------------------------------------- errors */

SN_API sn_status sn_custom_fail(int status, const char *fmt, ...)
{
    char text[400];
    va_list args;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt != NULL ? fmt : "(no message)", args);
    va_end(args);
    return sn_fail((sn_status)status, "%s", text);
}

/* A callback's failure as a library failure: a negative status and a
 * message that names the layer.  The caller cleared the error before the
 * callback, so a message present now is the callback's own. */
static sn_status callback_failed(const sn_layer *l, const char *what, int st)
{
    sn_status s = st < 0 ? (sn_status)st : SN_ERR_INVALID_ARG;
    if (sn_last_status() != SN_OK)
        return sn_fail(s, "layer '%s' (%s): %s: %.300s", sn_layer_label(l),
                       l->ops->type, what, sn_last_error());
    return sn_fail(s, "layer '%s' (%s): the %s callback failed (%s)",
                   sn_layer_label(l), l->ops->type, what, sn_strerror(s));
}

/* --------------------------------------------------------- validation */

static bool type_char(char ch, bool first)
{
    bool alpha = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
    if (first)
        return alpha;
    return alpha || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.';
}

static sn_status check_type(const char *type, const char *who)
{
    if (type == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: ops->type is NULL", who);
    size_t n = strlen(type);
    bool ok = n >= 1 && n <= MAX_TYPE;
    for (size_t i = 0; ok && i < n; i++)
        ok = type_char(type[i], i == 0);
    if (!ok)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: type name '%.80s' must be "
                       "1-%d characters from [A-Za-z0-9_.] starting with a "
                       "letter", who, type, MAX_TYPE);
    if (sn_builtin_layer_ops(type) != NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: '%s' is a built-in layer "
                       "type; give the custom layer another name (e.g. "
                       "'myapp.%s')", who, type, type);
    return SN_OK;
}

sn_status sn_custom_ops_check(const sn_custom_layer_ops *ops,
                              sn_custom_layer_ops *out, const char *who)
{
    if (ops == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: ops is NULL", who);
    /* every field of this version is needed, so the caller's struct must
     * be at least this size; a larger one comes from a newer header */
    if (ops->size != sizeof *out)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: ops->size is %zu, expected "
                       "%zu (set it to sizeof(sn_custom_layer_ops))", who,
                       ops->size, sizeof *out);
    memcpy(out, ops, sizeof *out);
    sn_status st = check_type(out->type, who);
    if (st != SN_OK)
        return st;
    if (out->min_inputs < 1 || out->max_inputs < out->min_inputs ||
        out->max_inputs > MAX_IO)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: %s takes %d to %d inputs; "
                       "need 1 <= min_inputs <= max_inputs <= %d", who,
                       out->type, out->min_inputs, out->max_inputs, MAX_IO);
    if (out->infer == NULL || out->forward == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: %s has no %s callback (infer "
                       "and forward are required)", who, out->type,
                       out->infer == NULL ? "infer" : "forward");
    return SN_OK;
}

static bool is_upper(char ch) { return ch >= 'A' && ch <= 'Z'; }
static bool is_lower(char ch) { return ch >= 'a' && ch <= 'z'; }

/* Keras' default layer name (keras.src.utils.naming.to_snake_case) of the
 * type after any namespace: "myapp.BahdanauPool" -> "bahdanau_pool",
 * "HTTPServer" -> "http_server", "Conv1D" -> "conv1d".  Two passes, as
 * Keras' two regular expressions:
 *   1. (.)([A-Z][a-z]+) -> \1_\2   (non-overlapping, left to right)
 *   2. ([a-z])([A-Z])   -> \1_\2
 * out must hold 3 * MAX_TYPE + 1 bytes (each pass at most adds half). */
static void snake_case(const char *type, char *out)
{
    const char *dot = strrchr(type, '.');
    const char *s = dot != NULL && dot[1] != '\0' ? dot + 1 : type;
    char word[MAX_TYPE + 1], one[2 * MAX_TYPE + 1];
    size_t n = 0;
    for (; *s != '\0'; s++)
        if (*s != '.') /* Keras drops non-word characters */
            word[n++] = *s;
    word[n] = '\0';

    size_t k = 0, resume = 0;
    for (size_t i = 0; i < n;) {
        if (i >= resume + 1 && is_upper(word[i]) && is_lower(word[i + 1])) {
            one[k++] = '_';
            one[k++] = word[i++];
            while (is_lower(word[i]))
                one[k++] = word[i++];
            resume = i;
            continue;
        }
        one[k++] = word[i++];
    }
    one[k] = '\0';

    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        if (i > 0 && is_lower(one[i - 1]) && is_upper(one[i]))
            out[m++] = '_';
        out[m++] = is_upper(one[i]) ? (char)(one[i] - 'A' + 'a') : one[i];
    }
    out[m] = '\0';
}

/* ------------------------------------------------------------- shapes */

static void to_public(const sn_shape *in, sn_tensor_shape *out)
{
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    out->dtype = in->dtype;
    out->rank = in->rank;
    for (int d = 0; d < in->rank && d < SN_MAX_RANK; d++)
        out->dims[d] = in->dim[d];
}

static void to_internal(const sn_tensor_shape *in, sn_shape *out)
{
    memset(out, 0, sizeof *out);
    out->dtype = in->dtype;
    out->rank = in->rank;
    for (int d = 0; d < in->rank; d++)
        out->dim[d] = in->dims[d];
}

static sn_status check_out_shape(const sn_layer *l,
                                 const sn_tensor_shape *s, int k)
{
    if (s->size != sizeof *s)
        return sn_fail(SN_ERR_INVALID_ARG, "layer '%s' (%s): infer changed "
                       "out[%d].size (it tells the layout; leave it)",
                       sn_layer_label(l), l->ops->type, k);
    bool ok = s->dtype == SN_FLOAT32 && s->rank >= 1 &&
              s->rank <= SN_MAX_RANK;
    for (int d = 0; ok && d < s->rank; d++)
        ok = s->dims[d] > 0 || s->dims[d] == -1;
    if (ok)
        return SN_OK;
    return sn_fail(SN_ERR_INVALID_ARG, "layer '%s' (%s): infer gave output "
                   "%d a bad shape (need float32, rank 1-%d, dims > 0 or "
                   "-1)", sn_layer_label(l), l->ops->type, k, SN_MAX_RANK);
}

/* ----------------------------------------------------------- adapters */

static int custom_infer(sn_layer *l, const sn_shape *in, int n_in,
                        sn_shape *out, int max_out)
{
    const custom_priv *p = l->priv;
    sn_tensor_shape pin[MAX_IO], pout[MAX_IO];
    if (max_out > MAX_IO)
        max_out = MAX_IO;
    for (int i = 0; i < n_in && i < MAX_IO; i++)
        to_public(&in[i], &pin[i]);
    memset(pout, 0, sizeof pout);
    for (int k = 0; k < max_out; k++)
        pout[k].size = sizeof pout[k];
    sn_clear_error();
    int n = p->user.infer(p->state, pin, n_in, pout, max_out);
    if (n < 0)
        return callback_failed(l, "infer", n);
    if (n == 0 || n > max_out)
        return sn_fail(SN_ERR_INVALID_ARG, "layer '%s' (%s): infer returned "
                       "%d outputs, expected 1 to %d", sn_layer_label(l),
                       l->ops->type, n, max_out);
    for (int k = 0; k < n; k++) {
        sn_status st = check_out_shape(l, &pout[k], k);
        if (st != SN_OK)
            return st;
        to_internal(&pout[k], &out[k]);
    }
    return n;
}

static sn_status custom_build(sn_layer *l, sn_build *b, const sn_shape *in,
                              int n_in)
{
    custom_priv *p = l->priv;
    sn_tensor_shape pin[MAX_IO];
    for (int i = 0; i < n_in && i < MAX_IO; i++)
        to_public(&in[i], &pin[i]);
    sn_custom_build_t cb = { b };
    sn_clear_error();
    sn_status st = p->user.build(p->state, &cb, pin, n_in);
    return st == SN_OK ? SN_OK : callback_failed(l, "build", st);
}

static sn_status custom_forward(sn_call *c)
{
    const custom_priv *p = c->layer->priv;
    sn_custom_call_t cc = { c, false };
    sn_clear_error();
    sn_status st = p->user.forward(p->state, &cc);
    return st == SN_OK ? SN_OK : callback_failed(c->layer, "forward", st);
}

static sn_status custom_backward(sn_call *c)
{
    const custom_priv *p = c->layer->priv;
    if (p->user.backward == NULL)
        return sn_fail(SN_ERR_UNSUPPORTED, "layer '%s' (%s) has no backward "
                       "callback: it can be used for inference only",
                       sn_layer_label(c->layer), p->type);
    sn_custom_call_t cc = { c, true };
    sn_clear_error();
    sn_status st = p->user.backward(p->state, &cc);
    return st == SN_OK ? SN_OK : callback_failed(c->layer, "backward", st);
}

/* The internal save_config cannot return a status: a failure fails the
 * writer (its status is sticky), which the save reports. */
static void custom_save_config(const sn_layer *l, sn_writer *w)
{
    const custom_priv *p = l->priv;
    if (w->status != SN_OK)
        return;
    sn_custom_writer_t cw = { w, w->len };
    sn_clear_error();
    sn_status st = p->user.save_config(p->state, &cw);
    if (st != SN_OK && w->status == SN_OK)
        w->status = callback_failed(l, "save_config", st);
}

static void release_state(const sn_custom_layer_ops *ops, void *state)
{
    if (ops->destroy != NULL)
        ops->destroy(state);
}

static void custom_destroy(sn_layer *l)
{
    custom_priv *p = l->priv;
    release_state(&p->user, p->state);
    p->state = NULL;
}

/* --------------------------------------------------------- the layer */

/* Releases state when sn_custom_layer fails, if ops lets us read destroy. */
static void release_unchecked(const sn_custom_layer_ops *ops, void *state)
{
    size_t need = offsetof(sn_custom_layer_ops, destroy) +
                  sizeof ops->destroy;
    if (ops != NULL && ops->size >= need && ops->destroy != NULL)
        ops->destroy(state);
}

static void fill_adapter(custom_priv *p)
{
    sn_layer_ops *o = &p->ops;
    o->type = p->type;
    o->base_name = p->base;
    o->min_inputs = p->user.min_inputs;
    o->max_inputs = p->user.max_inputs;
    o->infer = custom_infer;
    o->build = p->user.build != NULL ? custom_build : NULL;
    o->forward = custom_forward;
    o->backward = custom_backward;
    o->destroy = custom_destroy;
    o->save_config = p->user.save_config != NULL ? custom_save_config : NULL;
    o->load_config = NULL; /* loading goes through the registry */
}

SN_API sn_layer_t *sn_custom_layer(const sn_custom_layer_ops *ops,
                                   void *state)
{
    sn_custom_layer_ops copy;
    if (sn_custom_ops_check(ops, &copy, "sn_custom_layer") != SN_OK) {
        sn_status st = sn_last_status();
        char msg[512];
        snprintf(msg, sizeof msg, "%s", sn_last_error());
        release_unchecked(ops, state);
        sn_fail(st, "%s", msg); /* destroy may have touched the error */
        return NULL;
    }
    /* a placeholder table until the private copy exists */
    static const sn_layer_ops placeholder = { .type = "Custom" };
    sn_layer *l = sn_layer_create(&placeholder, sizeof(custom_priv));
    if (l == NULL) {
        release_state(&copy, state);
        sn_fail(SN_ERR_NOMEM, "sn_custom_layer: out of memory");
        return NULL;
    }
    custom_priv *p = l->priv;
    p->user = copy;
    p->state = state;
    snprintf(p->type, sizeof p->type, "%s", copy.type);
    p->user.type = p->type;
    snake_case(p->type, p->base);
    fill_adapter(p);
    l->ops = &p->ops;
    return l;
}

static bool is_custom(const sn_layer *l)
{
    return l != NULL && l->ops != NULL && l->ops->forward == custom_forward;
}

SN_API void *sn_custom_layer_state(const sn_layer_t *layer)
{
    if (!is_custom(layer)) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_custom_layer_state: %s",
                layer == NULL ? "layer is NULL" : "not a custom layer");
        return NULL;
    }
    const custom_priv *p = layer->priv;
    return p->state;
}

sn_layer *sn_custom_layer_load(const sn_custom_layer_ops *ops, sn_reader *r)
{
    size_t n = sn_reader_remaining(r);
    const uint8_t *bytes = sn_read_view(r, n);
    void *state = NULL;
    sn_clear_error();
    sn_status st = ops->load_config(bytes, n, ops->user, &state);
    if (st != SN_OK) {
        sn_status s = st < 0 ? st : SN_ERR_FORMAT;
        if (sn_last_status() == SN_OK)
            sn_fail(s, "load_config failed (%s)", sn_strerror(s));
        else
            sn_fail(s, "load_config: %.400s", sn_last_error());
        return NULL;
    }
    return sn_custom_layer(ops, state);
}

/* -------------------------------------------------------------- build */

static sn_initializer resolve_init(sn_initializer init, int rank)
{
    if (init != SN_INIT_DEFAULT)
        return init;
    return rank == 1 ? SN_INIT_ZEROS : SN_INIT_GLOROT_UNIFORM;
}

/* Keras compute_fans: [n] -> n, n; [in, out]; [k, in, out] -> k*in, k*out. */
static void default_fans(int rank, const int *dims, int *fan_in,
                         int *fan_out)
{
    long long in = dims[0], out = dims[0];
    if (rank == 2) {
        in = dims[0];
        out = dims[1];
    } else if (rank == 3) {
        in = (long long)dims[0] * dims[1];
        out = (long long)dims[0] * dims[2];
    }
    if (*fan_in <= 0)
        *fan_in = in > 0x7fffffff ? 0x7fffffff : (int)in;
    if (*fan_out <= 0)
        *fan_out = out > 0x7fffffff ? 0x7fffffff : (int)out;
}

static bool valid_weight_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > MAX_WEIGHT_NAME)
        return false;
    for (size_t i = 0; i < n; i++)
        if (name[i] == '/' || (unsigned char)name[i] < 0x20)
            return false;
    return true;
}

SN_API int sn_custom_add_weight(sn_custom_build_t *b, const char *name,
                                int rank, const int *dims,
                                sn_initializer init, int fan_in, int fan_out)
{
    if (b == NULL || name == NULL || dims == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_custom_add_weight: %s is NULL",
                       b == NULL ? "b" : name == NULL ? "name" : "dims");
    if (!valid_weight_name(name))
        return sn_fail(SN_ERR_INVALID_ARG, "sn_custom_add_weight: weight name "
                       "must be 1-%d characters without '/' or control "
                       "characters", MAX_WEIGHT_NAME);
    if (rank < 1 || rank > SN_MAX_RANK)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_custom_add_weight: '%s' has "
                       "rank %d, expected 1 to %d", name, rank, SN_MAX_RANK);
    if ((int)init < SN_INIT_DEFAULT || (int)init > SN_INIT_RANDOM_NORMAL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_custom_add_weight: '%s' has "
                       "unknown initializer %d", name, (int)init);
    for (int d = 0; d < rank; d++)
        if (dims[d] <= 0)
            return sn_fail(SN_ERR_SHAPE, "sn_custom_add_weight: '%s' has "
                           "dimension %d = %d, expected > 0", name, d,
                           dims[d]);
    default_fans(rank, dims, &fan_in, &fan_out);
    return sn_build_weight(b->build, name, rank, dims,
                           resolve_init(init, rank), fan_in, fan_out);
}

/* ------------------------------------------------------ call accessors */

static bool in_ok(const sn_custom_call_t *c, int i)
{
    return c != NULL && i >= 0 && i < c->call->n_in;
}

static bool out_ok(const sn_custom_call_t *c, int k)
{
    return c != NULL && k >= 0 && k < c->call->n_out;
}

static sn_status bad_index(const char *who, const char *what, int i)
{
    return sn_fail(SN_ERR_INVALID_ARG, "%s: no %s %d (or the call is NULL)",
                   who, what, i);
}

SN_API int sn_custom_batch(const sn_custom_call_t *c)
{
    return c != NULL ? c->call->batch : 0;
}

SN_API int sn_custom_training(const sn_custom_call_t *c)
{
    return c != NULL && c->call->training;
}

SN_API int sn_custom_can_backward(const sn_custom_call_t *c)
{
    return c != NULL && sn_call_can_backward(c->call);
}

SN_API int sn_custom_num_inputs(const sn_custom_call_t *c)
{
    return c != NULL ? c->call->n_in : 0;
}

SN_API int sn_custom_num_outputs(const sn_custom_call_t *c)
{
    return c != NULL ? c->call->n_out : 0;
}

/* A shape the caller passes to be filled must say its layout: a later
 * library must not write past a struct from an older header. */
static sn_status check_shape_size(const sn_tensor_shape *shape,
                                  const char *who)
{
    if (shape->size == sizeof *shape)
        return SN_OK;
    return sn_fail(SN_ERR_INVALID_ARG, "%s: shape->size is %zu, expected "
                   "%zu (start from SN_TENSOR_SHAPE_INIT)", who, shape->size,
                   sizeof *shape);
}

SN_API int sn_custom_input_shape(const sn_custom_call_t *c, int i,
                                 sn_tensor_shape *shape)
{
    if (!in_ok(c, i) || shape == NULL)
        return bad_index("sn_custom_input_shape", "input", i);
    sn_status st = check_shape_size(shape, "sn_custom_input_shape");
    if (st != SN_OK)
        return st;
    to_public(&c->call->in[i]->shape, shape);
    return shape->rank;
}

SN_API int sn_custom_output_shape(const sn_custom_call_t *c, int k,
                                  sn_tensor_shape *shape)
{
    if (!out_ok(c, k) || shape == NULL)
        return bad_index("sn_custom_output_shape", "output", k);
    sn_status st = check_shape_size(shape, "sn_custom_output_shape");
    if (st != SN_OK)
        return st;
    to_public(&c->call->out[k]->shape, shape);
    return shape->rank;
}

SN_API const float *sn_custom_input(const sn_custom_call_t *c, int i)
{
    return in_ok(c, i) ? c->call->in[i]->data : NULL;
}

SN_API const int32_t *sn_custom_input_ids(const sn_custom_call_t *c, int i)
{
    return in_ok(c, i) ? c->call->in[i]->ids : NULL;
}

SN_API const uint8_t *sn_custom_input_mask(const sn_custom_call_t *c, int i)
{
    return in_ok(c, i) ? c->call->in[i]->mask : NULL;
}

SN_API float *sn_custom_output(sn_custom_call_t *c, int k)
{
    return out_ok(c, k) ? c->call->out[k]->data : NULL;
}

SN_API sn_status sn_custom_pass_mask(sn_custom_call_t *c, int k, int i)
{
    if (!out_ok(c, k) || !in_ok(c, i))
        return bad_index("sn_custom_pass_mask", "output or input", k);
    if (c->backward)
        return sn_fail(SN_ERR_STATE, "sn_custom_pass_mask: forward only");
    c->call->out[k]->mask = c->call->in[i]->mask;
    return SN_OK;
}

SN_API uint8_t *sn_custom_output_mask(sn_custom_call_t *c, int k)
{
    if (!out_ok(c, k)) {
        bad_index("sn_custom_output_mask", "output", k);
        return NULL;
    }
    const sn_shape *s = &c->call->out[k]->shape;
    if (c->backward || s->rank < 2) {
        sn_fail(SN_ERR_STATE, "sn_custom_output_mask: forward only, and "
                "output %d must have a time axis (rank >= 2)", k);
        return NULL;
    }
    return sn_call_out_mask(c->call, k, s->dim[0]);
}

SN_API const float *sn_custom_output_grad(const sn_custom_call_t *c, int k)
{
    return out_ok(c, k) && c->backward ? c->call->out[k]->grad : NULL;
}

SN_API float *sn_custom_input_grad(sn_custom_call_t *c, int i)
{
    return in_ok(c, i) && c->backward ? c->call->in[i]->grad : NULL;
}

SN_API int sn_custom_num_weights(const sn_custom_call_t *c)
{
    return c != NULL ? c->call->layer->n_weights : 0;
}

static bool weight_ok(const sn_custom_call_t *c, int k)
{
    return c != NULL && k >= 0 && k < c->call->layer->n_weights;
}

SN_API const float *sn_custom_weight(const sn_custom_call_t *c, int k)
{
    return weight_ok(c, k) ? sn_call_weight(c->call, k) : NULL;
}

SN_API float *sn_custom_weight_grad(sn_custom_call_t *c, int k)
{
    if (!weight_ok(c, k) || !c->backward ||
        !sn_call_wants_weight_grad(c->call))
        return NULL;
    return sn_call_weight_grad(c->call, k);
}

SN_API void *sn_custom_scratch(sn_custom_call_t *c, size_t bytes)
{
    if (c == NULL)
        return NULL;
    return sn_call_scratch(c->call, bytes);
}

SN_API double sn_custom_uniform(sn_custom_call_t *c)
{
    if (c == NULL || c->backward || c->call->rng == NULL)
        return -1.0;
    return sn_rng_uniform(c->call->rng);
}

/* ------------------------------------------------------------- saving */

SN_API sn_status sn_custom_write(sn_custom_writer_t *w, const void *data,
                                 size_t n)
{
    if (w == NULL || (data == NULL && n > 0))
        return sn_fail(SN_ERR_INVALID_ARG, "sn_custom_write: %s is NULL",
                       w == NULL ? "w" : "data");
    if (w->w->status != SN_OK)
        return w->w->status;
    size_t used = w->w->len - w->start;
    if (n > (size_t)MAX_CONFIG - used)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_custom_write: a layer config "
                       "may hold at most %d bytes", MAX_CONFIG);
    sn_write_bytes(w->w, data, n);
    return w->w->status;
}

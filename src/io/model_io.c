/*
 * model_io.c - saving and loading whole models in the format of
 * docs/FORMAT.md: a magic and version header, then CRC-checked sections
 * (CONF graph, WGHT weights, optional TRAN training state, END).
 *
 * Loading treats the bytes as hostile: every length is checked against
 * what is left before it is used, nothing is allocated from an unchecked
 * size, and the model is rebuilt through the public building functions so
 * that a corrupt graph meets the same validation as a hand-built one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "custom/custom.h"
#include "model/model.h"
#include "text/text_impl.h"
#include "train/train.h"

/* PNG's trick: a high-bit byte, then CR LF, ^Z and LF, so that 7-bit or
 * text-mode transfers that mangle line ends are caught by the magic. */
static const uint8_t file_magic[8] = {0x89, 'S', 'N', 'M',
                                      '\r', '\n', 0x1a, '\n'};
enum { FORMAT_VERSION = 1 };
enum { FLAG_TRAINING = 1u }; /* a TRAN section is present */

enum {
    MAX_MODEL_NAME = 4096,
    MAX_LAYER_NAME = 256,
    MAX_TYPE_NAME = 64,
    MAX_WEIGHT_NAME = 512,
    MAX_NODE_IO = 64,  /* as sn_apply_n */
    SECTION_OVERHEAD = 16 /* tag + length + CRC */
};
#define MAX_FILE_BYTES ((uint64_t)4 << 30)


/* ============================================================== saving */

/* Writes a section header and returns where it starts (for end_section). */
static size_t begin_section(sn_writer *w, const char tag[4])
{
    size_t start = w->len;
    sn_write_bytes(w, tag, 4);
    sn_write_u64(w, 0); /* length, patched by end_section */
    return start;
}

/* Patches the payload length and appends the CRC of tag, length and
 * payload, so that a damaged length is caught as surely as damaged data. */
static void end_section(sn_writer *w, size_t start)
{
    if (w->status != SN_OK)
        return;
    sn_writer_patch_u64(w, start + 4, (uint64_t)(w->len - start - 12));
    sn_write_u32(w, sn_crc32(w->data + start, w->len - start));
}

/* Whether every layer can be saved, before anything is written. */
static sn_status check_saveable(const sn_model *m)
{
    if (strlen(m->name) > MAX_MODEL_NAME)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_save: the model name is "
                       "longer than %d bytes", MAX_MODEL_NAME);
    for (int i = 0; i < m->n_nodes; i++) {
        const sn_layer *l = m->nodes[i].layer;
        if (l->ops->save_config == NULL)
            return sn_fail(SN_ERR_UNSUPPORTED, "sn_model_save: layer '%s' "
                           "(%s) cannot be saved", l->name, l->ops->type);
    }
    return SN_OK;
}

static void write_node(const sn_node *node, sn_writer *w)
{
    const sn_layer *l = node->layer;
    sn_write_str(w, l->ops->type);
    sn_write_str(w, l->name);
    sn_write_u8(w, l->trainable ? 1 : 0);
    sn_write_u32(w, (uint32_t)node->n_in);
    for (int k = 0; k < node->n_in; k++)
        sn_write_i32(w, node->in[k]);
    sn_write_u32(w, (uint32_t)node->n_out);
    size_t at = w->len;
    sn_write_u32(w, 0); /* config length, patched below */
    l->ops->save_config(l, w);
    if (w->status == SN_OK)
        sn_writer_patch_u32(w, at, (uint32_t)(w->len - at - 4));
}

static void write_conf(const sn_model *m, sn_writer *w)
{
    size_t start = begin_section(w, "CONF");
    sn_write_str(w, m->name);
    sn_write_u64(w, m->seed);
    sn_write_u64(w, m->forward_calls);
    sn_write_u32(w, (uint32_t)m->n_nodes);
    for (int i = 0; i < m->n_nodes; i++)
        write_node(&m->nodes[i], w);
    sn_write_u32(w, (uint32_t)m->n_outputs);
    for (int i = 0; i < m->n_outputs; i++)
        sn_write_i32(w, m->outputs[i]);
    end_section(w, start);
}

static void write_weights(const sn_model *m, sn_writer *w)
{
    size_t start = begin_section(w, "WGHT");
    sn_write_u32(w, (uint32_t)m->n_weights);
    for (int i = 0; i < m->n_weights; i++) {
        const sn_weight *wt = &m->weights[i];
        sn_write_str(w, wt->name);
        sn_write_u32(w, (uint32_t)wt->rank);
        for (int d = 0; d < wt->rank; d++)
            sn_write_u32(w, (uint32_t)wt->dim[d]);
        sn_write_f32s(w, m->values + wt->offset, wt->count);
    }
    end_section(w, start);
}

/* The whole file into w, after the user-buffer header (files.c). */
static sn_status serialise(sn_model *m, int include_optimizer, sn_writer *w,
                           const char *who)
{
    if (m == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: model is NULL", who);
    sn_status st = sn_model_build(m);
    if (st == SN_OK)
        st = check_saveable(m);
    if (st != SN_OK)
        return st;
    bool training = include_optimizer && m->compiled;
    sn_mem mem = sn_mem_current();
    sn_writer_init(w, &mem);
    sn_user_buffer_begin(w);
    sn_write_bytes(w, file_magic, sizeof file_magic);
    sn_write_u32(w, FORMAT_VERSION);
    sn_write_u32(w, training ? FLAG_TRAINING : 0);
    write_conf(m, w);
    write_weights(m, w);
    if (training) {
        size_t start = begin_section(w, "TRAN");
        sn_model_save_training_state(m, w);
        end_section(w, start);
    }
    if (m->vectorizer != NULL) {
        /* lower-case tag: optional, older readers skip it */
        size_t start = begin_section(w, "vocb");
        sn_model_save_vectorizer(m, w);
        end_section(w, start);
    }
    if (m->tokenizer != NULL) {
        size_t start = begin_section(w, "tokn");
        sn_model_save_tokenizer(m, w);
        end_section(w, start);
    }
    if (m->bpe != NULL) {
        size_t start = begin_section(w, "bpev");
        sn_model_save_bpe(m, w);
        end_section(w, start);
    }
    end_section(w, begin_section(w, "END "));
    if (w->status != SN_OK) {
        st = w->status;
        sn_writer_free(w);
    }
    return st;
}

SN_API sn_status sn_model_save_buffer(sn_model_t *m, int include_optimizer,
                                      void **data, size_t *len)
{
    if (data == NULL || len == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_save_buffer: data or "
                       "len is NULL");
    *data = NULL;
    *len = 0;
    sn_writer w;
    sn_status st = serialise(m, include_optimizer, &w,
                             "sn_model_save_buffer");
    if (st != SN_OK)
        return st;
    sn_user_buffer_finish(&w, data, len);
    return SN_OK;
}

SN_API sn_status sn_model_save(sn_model_t *m, const char *path,
                               int include_optimizer)
{
    if (path == NULL || path[0] == '\0')
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_save: path is NULL or "
                       "empty");
    sn_writer w;
    sn_status st = serialise(m, include_optimizer, &w, "sn_model_save");
    if (st != SN_OK)
        return st;
    st = sn_file_write_atomic(&w.mem, path, w.data + SN_USER_BUFFER_HEADER,
                              w.len - SN_USER_BUFFER_HEADER,
                              "sn_model_save");
    sn_writer_free(&w);
    return st;
}

/* ============================================================= loading */

/* Turns a failure of a building call into what it means for a file: the
 * file describes an impossible model (SN_ERR_FORMAT), unless memory ran
 * out. */
static sn_status as_format(sn_status st, const char *context)
{
    if (st == SN_OK || st == SN_ERR_NOMEM)
        return st;
    return sn_fail(SN_ERR_FORMAT, "%s: %s", context, sn_last_error());
}

/* The reader's status after a failed sub-step, never SN_OK. */
static sn_status reader_status(const sn_reader *r)
{
    if (r->status != SN_OK)
        return r->status;
    sn_status last = sn_last_status();
    return last != SN_OK ? last : SN_ERR_FORMAT;
}

/* Adds the input a saved InputLayer describes, through the public API. */
static int add_input_like(sn_model *m, const sn_shape *s)
{
    if (s->dtype == SN_INT32)
        return sn_input_tokens(m, s->dim[0]);
    if (s->rank == 1)
        return sn_input(m, SN_NO_TIME, s->dim[0]);
    return sn_input(m, s->dim[0], s->dim[1]);
}

/* Gives the input layer just added its saved name.  Inputs are named
 * automatically at creation, so the name is set here, with the checks
 * sn_layer_set_name and the model make for other layers. */
static sn_status name_input(sn_model *m, sn_layer *l, const char *name)
{
    if (strcmp(l->name, name) == 0)
        return SN_OK;
    for (int i = 0; i < m->n_nodes - 1; i++)
        if (strcmp(m->nodes[i].layer->name, name) == 0)
            return sn_fail(SN_ERR_FORMAT, "layer name '%s' is used twice",
                           name);
    /* sn_layer_set_name validates the text; it only accepts an unowned
     * layer, so the owner is hidden for the call */
    sn_model *owner = l->owner;
    l->owner = NULL;
    sn_status st = sn_layer_set_name(l, name);
    l->owner = owner;
    return as_format(st, "input layer");
}

static sn_status place_input(sn_model *m, sn_layer *l, const char *name,
                             int n_in, int n_out)
{
    sn_shape shape = *(const sn_shape *)l->priv;
    sn_layer_destroy(l);
    if (n_in != 0 || n_out != 1)
        return sn_fail(SN_ERR_FORMAT, "input layer '%s' has %d inputs and "
                       "%d outputs, expected 0 and 1", name, n_in, n_out);
    int id = add_input_like(m, &shape);
    if (id < 0)
        return as_format(id, "input layer");
    return name_input(m, m->nodes[m->n_nodes - 1].layer, name);
}

static sn_status place_layer(sn_model *m, sn_layer *l, const char *name,
                             const int *ids, int n_in, int n_out)
{
    for (int k = 0; k < n_in; k++)
        if (ids[k] < 0 || ids[k] >= m->n_tensors) {
            sn_layer_destroy(l);
            return sn_fail(SN_ERR_FORMAT, "layer '%s': input tensor %d does "
                           "not exist before it", name, ids[k]);
        }
    sn_status st = sn_layer_set_name(l, name);
    if (st != SN_OK) {
        sn_layer_destroy(l);
        return as_format(st, "layer name");
    }
    int outs[MAX_NODE_IO];
    int got = sn_apply_n(m, l, ids, n_in, outs, MAX_NODE_IO); /* owns l */
    if (got < 0)
        return as_format(got, name);
    if (got != n_out)
        return sn_fail(SN_ERR_FORMAT, "layer '%s' has %d outputs, the file "
                       "says %d", name, got, n_out);
    return SN_OK;
}

/* Creates the layer from its config blob; NULL with a status on failure.
 * Built-in types first, then the caller's registry of custom types. */
static sn_layer *make_layer(const sn_registry *reg, const char *type,
                            const char *name, const uint8_t *cfg,
                            uint32_t cfg_len, sn_status *st)
{
    const sn_layer_ops *ops = sn_builtin_layer_ops(type);
    const sn_custom_layer_ops *custom =
        ops == NULL ? sn_registry_find(reg, type) : NULL;
    if ((ops == NULL || ops->load_config == NULL) && custom == NULL) {
        *st = sn_fail(SN_ERR_UNSUPPORTED, "layer '%s' has type '%s', which "
                      "is not built in and not in the registry: register "
                      "the custom layer with sn_registry_add and load with "
                      "sn_model_load_ex (or use a newer libseqnet)",
                      name, type);
        return NULL;
    }
    sn_reader cr;
    sn_reader_init(&cr, cfg, cfg_len);
    sn_clear_error();
    sn_layer *l = custom != NULL ? sn_custom_layer_load(custom, &cr)
                                 : ops->load_config(&cr);
    if (l == NULL) {
        char ctx[MAX_LAYER_NAME + MAX_TYPE_NAME + 32];
        snprintf(ctx, sizeof ctx, "layer '%s' (%s): bad config", name, type);
        *st = as_format(reader_status(&cr), ctx);
        return NULL;
    }
    if (sn_reader_remaining(&cr) != 0) {
        sn_layer_destroy(l);
        *st = sn_fail(SN_ERR_FORMAT, "layer '%s' (%s): %zu unread config "
                      "bytes", name, type, sn_reader_remaining(&cr));
        return NULL;
    }
    *st = SN_OK;
    return l;
}

/* Reads one node record and adds it to m.  type and name are the
 * caller's so that it frees them on every path. */
static sn_status load_node(sn_reader *r, sn_model *m,
                           const sn_registry *reg, char **type, char **name)
{
    *type = sn_read_str(r, &m->mem, MAX_TYPE_NAME);
    *name = sn_read_str(r, &m->mem, MAX_LAYER_NAME);
    int trainable = sn_read_u8(r);
    if (r->status == SN_OK && trainable > 1)
        sn_reader_fail(r, SN_ERR_FORMAT, "trainable flag is %d", trainable);
    int n_in = sn_read_int(r, 0, MAX_NODE_IO, "layer input count");
    int ids[MAX_NODE_IO];
    for (int k = 0; k < n_in; k++)
        ids[k] = sn_read_i32(r);
    int n_out = sn_read_int(r, 1, MAX_NODE_IO, "layer output count");
    uint32_t cfg_len = sn_read_u32(r);
    const uint8_t *cfg = sn_read_view(r, cfg_len);
    if (r->status != SN_OK)
        return r->status;
    sn_status st;
    sn_layer *l = make_layer(reg, *type, *name, cfg, cfg_len, &st);
    if (l == NULL)
        return st;
    bool is_input = l->ops == &sn_input_layer_ops;
    st = is_input ? place_input(m, l, *name, n_in, n_out)
                  : place_layer(m, l, *name, ids, n_in, n_out);
    if (st != SN_OK)
        return st;
    return sn_layer_set_trainable(m->nodes[m->n_nodes - 1].layer, trainable);
}

static sn_status load_outputs(sn_reader *r, sn_model *m)
{
    uint32_t n = sn_read_u32(r);
    if (r->status != SN_OK)
        return r->status;
    /* checked against the bytes left before the allocation it sizes */
    if (n == 0 || n > sn_reader_remaining(r) / 4)
        return sn_reader_fail(r, SN_ERR_FORMAT, "output count %lu is zero "
                              "or past the end", (unsigned long)n);
    int *ids = sn_mem_calloc(&m->mem, n, sizeof *ids);
    if (ids == NULL)
        return SN_ERR_NOMEM;
    sn_status st = SN_OK;
    for (uint32_t k = 0; k < n && st == SN_OK; k++) {
        ids[k] = sn_read_i32(r);
        if (ids[k] < 0 || ids[k] >= m->n_tensors)
            st = sn_reader_fail(r, SN_ERR_FORMAT, "output tensor %d does not "
                                "exist", ids[k]);
    }
    if (st == SN_OK)
        st = as_format(sn_model_set_outputs(m, ids, (int)n), "outputs");
    sn_mem_free(&m->mem, ids);
    return st;
}

/* While a loaded graph is built, its allocator refuses any single block
 * larger than the file plus some slack: every weight is stored in the
 * file, so a larger request can only come from a corrupt layer config
 * (say units = 2^31 - 1), and must not reach the real allocator. */
typedef struct capped_alloc {
    sn_allocator inner;
    size_t cap;
    bool refused;
} capped_alloc;

static void *capped_alloc_fn(void *user, size_t bytes)
{
    capped_alloc *c = user;
    if (bytes > c->cap) {
        c->refused = true;
        return NULL;
    }
    return c->inner.alloc(c->inner.user, bytes);
}

static void capped_free_fn(void *user, void *ptr)
{
    capped_alloc *c = user;
    c->inner.free(c->inner.user, ptr);
}

enum { BUILD_SLACK = 1 << 16 };

static sn_status build_capped(sn_model *m, size_t file_len)
{
    capped_alloc c = { m->mem.a, file_len + BUILD_SLACK, false };
    if (c.cap < file_len)
        c.cap = SIZE_MAX;
    m->mem.a.alloc = capped_alloc_fn;
    m->mem.a.free = capped_free_fn;
    m->mem.a.user = &c;
    sn_status st = sn_model_build(m);
    /* the thread pool is no part of the file's size: restart it on the
     * model's own allocator, not the capped one that ends here */
    sn_model_stop_threads(m);
    m->mem.a = c.inner; /* blocks pass straight through: same allocator */
    if (st == SN_OK)
        st = sn_model_start_threads(m);
    if (st != SN_OK && c.refused)
        return sn_fail(SN_ERR_FORMAT, "the layers need more weights than "
                       "the file can hold");
    return as_format(st, "building the model");
}

/* CONF: creates *out (freed by the caller on failure) and its graph. */
static sn_status load_conf(sn_reader *r, size_t file_len,
                           const sn_registry *reg, sn_model **out)
{
    sn_mem mem = sn_mem_current();
    char *name = sn_read_str(r, &mem, MAX_MODEL_NAME);
    uint64_t seed = sn_read_u64(r);
    uint64_t forward_calls = sn_read_u64(r);
    uint32_t n_nodes = sn_read_u32(r);
    if (r->status != SN_OK) {
        sn_mem_free(&mem, name);
        return r->status;
    }
    sn_model_opts o = SN_MODEL_OPTS_INIT;
    o.seed = seed;
    o.name = name;
    sn_model *m = sn_model_new(&o);
    sn_mem_free(&mem, name);
    if (m == NULL)
        return SN_ERR_NOMEM;
    *out = m;
    /* dropout streams continue where the saved model left off */
    m->forward_calls = forward_calls;
    if (n_nodes == 0)
        return sn_fail(SN_ERR_FORMAT, "the model has no layers");
    /* no allocation depends on n_nodes: a huge count just runs out of
     * bytes on the way */
    for (uint32_t i = 0; i < n_nodes; i++) {
        char *type = NULL, *lname = NULL;
        sn_status st = load_node(r, m, reg, &type, &lname);
        sn_mem_free(&m->mem, type);
        sn_mem_free(&m->mem, lname);
        if (st != SN_OK)
            return st;
    }
    sn_status st = load_outputs(r, m);
    if (st == SN_OK)
        st = build_capped(m, file_len);
    return st;
}

static sn_status load_weight(sn_reader *r, sn_model *m, int i)
{
    const sn_weight *w = &m->weights[i];
    char *name = sn_read_str(r, &m->mem, MAX_WEIGHT_NAME);
    int rank = sn_read_int(r, 1, SN_MAX_RANK, "weight rank");
    int dims[SN_MAX_RANK] = {0};
    for (int d = 0; d < rank; d++)
        dims[d] = sn_read_i32(r);
    sn_status st = r->status;
    bool same = st == SN_OK && strcmp(name, w->name) == 0 && rank == w->rank;
    for (int d = 0; same && d < rank; d++)
        same = dims[d] == w->dim[d];
    if (st == SN_OK && !same)
        st = sn_reader_fail(r, SN_ERR_FORMAT, "weight %d is '%s' of rank %d "
                            "in the file, the model expects '%s' of rank %d "
                            "with other dimensions", i, name, rank, w->name,
                            w->rank);
    sn_mem_free(&m->mem, name);
    if (st == SN_OK)
        sn_read_f32s(r, m->values + w->offset, w->count);
    return r->status;
}

static sn_status load_weights(sn_reader *r, sn_model *m)
{
    uint32_t n = sn_read_u32(r);
    if (r->status == SN_OK && n != (uint32_t)m->n_weights)
        return sn_reader_fail(r, SN_ERR_FORMAT, "the file holds %lu weight "
                              "tensors, the model has %d", (unsigned long)n,
                              m->n_weights);
    for (int i = 0; i < m->n_weights && r->status == SN_OK; i++)
        load_weight(r, m, i);
    return r->status;
}

/* ------------------------------------------------------------ sections */

/* The tag for messages, bytes outside printable ASCII as \xNN. */
static void tag_text(const uint8_t tag[4], char buf[20])
{
    size_t at = 0;
    for (int i = 0; i < 4; i++) {
        if (tag[i] >= 0x20 && tag[i] < 0x7f)
            buf[at++] = (char)tag[i];
        else
            at += (size_t)snprintf(buf + at, 5, "\\x%02x", tag[i]);
    }
    buf[at] = '\0';
}

typedef struct load_state {
    size_t file_len;
    const sn_registry *registry; /* custom layer types, or NULL */
    uint32_t flags;
    sn_model *m;
    int seen;       /* SEEN_* bits */
    bool ended;
} load_state;

enum { SEEN_CONF = 1, SEEN_WGHT = 2, SEEN_TRAN = 4 };

/* Runs one known section's payload; returns SN_ERR_NOT_FOUND for a tag
 * this version does not know. */
static sn_status run_section(load_state *ls, const uint8_t tag[4],
                             sn_reader *sub)
{
    if (memcmp(tag, "CONF", 4) == 0) {
        if (ls->seen != 0)
            return sn_fail(SN_ERR_FORMAT, "CONF must be the first section");
        ls->seen |= SEEN_CONF;
        return load_conf(sub, ls->file_len, ls->registry, &ls->m);
    }
    if (memcmp(tag, "WGHT", 4) == 0) {
        if (ls->seen != SEEN_CONF)
            return sn_fail(SN_ERR_FORMAT, "WGHT must follow CONF, once");
        ls->seen |= SEEN_WGHT;
        return load_weights(sub, ls->m);
    }
    if (memcmp(tag, "TRAN", 4) == 0) {
        if (ls->seen != (SEEN_CONF | SEEN_WGHT) ||
            !(ls->flags & FLAG_TRAINING))
            return sn_fail(SN_ERR_FORMAT, "TRAN must follow WGHT, once, and "
                           "only when the header flags announce it");
        ls->seen |= SEEN_TRAN;
        return sn_model_load_training_state(ls->m, sub);
    }
    if (memcmp(tag, "END ", 4) == 0) {
        int want = SEEN_CONF | SEEN_WGHT |
                   ((ls->flags & FLAG_TRAINING) ? SEEN_TRAN : 0);
        if (ls->seen != want)
            return sn_fail(SN_ERR_FORMAT, "END before all required sections "
                           "(CONF, WGHT%s)",
                           (ls->flags & FLAG_TRAINING) ? ", TRAN" : "");
        ls->ended = true;
        return SN_OK;
    }
    if (memcmp(tag, "vocb", 4) == 0) {
        /* the text vectorizer (docs/TEXT.md); optional, once */
        if (ls->m == NULL)
            return sn_fail(SN_ERR_FORMAT, "vocb must follow CONF");
        return sn_model_load_vectorizer(ls->m, sub);
    }
    if (memcmp(tag, "tokn", 4) == 0 || memcmp(tag, "bpev", 4) == 0) {
        /* the Keras Tokenizer and the BPE tokenizer; optional, once */
        if (ls->m == NULL)
            return sn_fail(SN_ERR_FORMAT, "%s must follow CONF", tag);
        return tag[0] == 't' ? sn_model_load_tokenizer(ls->m, sub)
                             : sn_model_load_bpe(ls->m, sub);
    }
    return SN_ERR_NOT_FOUND;
}

/* Reads, checks and runs the next section. */
static sn_status next_section(sn_reader *r, load_state *ls)
{
    if (sn_reader_remaining(r) < SECTION_OVERHEAD)
        return sn_fail(SN_ERR_FORMAT, "truncated file: %zu bytes where a "
                       "section (at least %d) or END was expected",
                       sn_reader_remaining(r), SECTION_OVERHEAD);
    const uint8_t *head = sn_read_view(r, 12);
    char tag[20];
    tag_text(head, tag);
    uint64_t len = 0;
    for (int i = 0; i < 8; i++)
        len |= (uint64_t)head[4 + i] << (8 * i);
    if (len > sn_reader_remaining(r) - 4)
        return sn_fail(SN_ERR_FORMAT, "section '%s' claims %llu bytes but "
                       "only %zu are left (truncated or corrupt)", tag,
                       (unsigned long long)len, sn_reader_remaining(r) - 4);
    const uint8_t *payload = sn_read_view(r, (size_t)len);
    uint32_t stored = sn_read_u32(r);
    uint32_t crc = sn_crc32_update(sn_crc32(head, 12), payload, (size_t)len);
    if (crc != stored)
        return sn_fail(SN_ERR_FORMAT, "section '%s' is corrupt: CRC-32 "
                       "0x%08lx, stored 0x%08lx", tag, (unsigned long)crc,
                       (unsigned long)stored);
    sn_reader sub;
    sn_reader_init(&sub, payload, (size_t)len);
    sn_status st = run_section(ls, head, &sub);
    if (st == SN_ERR_NOT_FOUND) {
        /* lowercase first letter: optional, skip (PNG ancillary chunks) */
        if (head[0] >= 'a' && head[0] <= 'z')
            return SN_OK;
        return sn_fail(SN_ERR_FORMAT, "unknown required section '%s' (a "
                       "newer format?)", tag);
    }
    if (st == SN_OK && sn_reader_remaining(&sub) != 0)
        st = sn_fail(SN_ERR_FORMAT, "%zu unread bytes at the end",
                     sn_reader_remaining(&sub));
    if (st != SN_OK && st != SN_ERR_NOMEM)
        st = sn_fail(st, "section '%s': %s", tag, sn_last_error());
    return st;
}

static sn_status read_header(sn_reader *r, uint32_t *flags)
{
    const uint8_t *magic = sn_read_view(r, sizeof file_magic);
    if (magic == NULL || memcmp(magic, file_magic, sizeof file_magic) != 0)
        return sn_fail(SN_ERR_FORMAT, "not a libseqnet model file (expected "
                       "the magic \\x89SNM\\r\\n\\x1a\\n)");
    uint32_t version = sn_read_u32(r);
    *flags = sn_read_u32(r);
    if (r->status != SN_OK)
        return sn_fail(SN_ERR_FORMAT, "truncated file header");
    if (version == 0)
        return sn_fail(SN_ERR_FORMAT, "invalid format version 0");
    if (version > FORMAT_VERSION)
        return sn_fail(SN_ERR_VERSION, "the file has format version %lu; "
                       "this libseqnet (%s) reads format version %d and "
                       "older", (unsigned long)version, SN_VERSION_STRING,
                       FORMAT_VERSION);
    if ((*flags & ~(uint32_t)FLAG_TRAINING) != 0)
        return sn_fail(SN_ERR_FORMAT, "unknown header flags 0x%08lx",
                       (unsigned long)*flags);
    return SN_OK;
}

SN_API sn_status sn_model_load_buffer(const void *data, size_t len,
                                      sn_model_t **model)
{
    return sn_model_load_buffer_ex(data, len, NULL, model);
}

SN_API sn_status sn_model_load_buffer_ex(const void *data, size_t len,
                                         const sn_registry_t *registry,
                                         sn_model_t **model)
{
    if (model == NULL || data == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_load_buffer: %s is NULL",
                       model == NULL ? "model" : "data");
    *model = NULL;
    sn_reader r;
    sn_reader_init(&r, data, len);
    load_state ls = {0};
    ls.file_len = len;
    ls.registry = registry;
    sn_status st = read_header(&r, &ls.flags);
    while (st == SN_OK && !ls.ended)
        st = next_section(&r, &ls);
    if (st == SN_OK && sn_reader_remaining(&r) != 0)
        st = sn_fail(SN_ERR_FORMAT, "%zu bytes after the END section",
                     sn_reader_remaining(&r));
    if (st != SN_OK) {
        sn_model_free(ls.m);
        return st;
    }
    *model = ls.m;
    return SN_OK;
}

SN_API sn_status sn_model_load(const char *path, sn_model_t **model)
{
    return sn_model_load_ex(path, NULL, model);
}

SN_API sn_status sn_model_load_ex(const char *path,
                                  const sn_registry_t *registry,
                                  sn_model_t **model)
{
    if (model != NULL)
        *model = NULL;
    if (path == NULL || model == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_load: %s is NULL",
                       path == NULL ? "path" : "model");
    sn_mem mem = sn_mem_current();
    uint8_t *data = NULL;
    size_t len = 0;
    sn_status st = sn_file_read_all(&mem, path, MAX_FILE_BYTES, &data, &len,
                                    "sn_model_load");
    if (st != SN_OK)
        return st;
    st = sn_model_load_buffer_ex(data, len, registry, model);
    sn_mem_free(&mem, data);
    return st;
}

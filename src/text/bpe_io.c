/*
 * bpe_io.c - the BPE tokenizer's serialised form (docs/TEXT.md): the
 * payload (version, options, merges) shared by its own file (text_file.c)
 * and the model file's optional "bpev" section, and the copy a model
 * carries (SN_PART_BPE).  Loading rebuilds the vocabulary from the merges
 * with the same checks as training's output (sn_bpe_build).
 */
#include <string.h>

#include "model/model.h"
#include "text/text_impl.h"

static const uint8_t file_magic[8] = {0x89, 'S', 'N', 'B',
                                      '\r', '\n', 0x1a, '\n'};
enum { PAYLOAD_VERSION = 1 };
#define MAX_FILE_BYTES ((uint64_t)1 << 30)

void sn_bpe_write(const sn_bpe *b, sn_writer *w)
{
    size_t n = (size_t)(b->n_tokens - SN_BPE_BASE);
    sn_write_u32(w, PAYLOAD_VERSION);
    sn_write_i32(w, b->opts.vocab_size);
    sn_write_i32(w, b->opts.min_frequency);
    sn_write_i32(w, b->opts.standardize);
    sn_write_u32(w, (uint32_t)n);
    for (size_t k = 0; k < 2 * n; k++)
        sn_write_i32(w, b->merges[k]);
}

static void write_any(const void *b, sn_writer *w)
{
    sn_bpe_write(b, w);
}

sn_bpe *sn_bpe_read(sn_reader *r, const sn_mem *mem)
{
    uint32_t version = sn_read_u32(r);
    if (r->status == SN_OK && version != PAYLOAD_VERSION) {
        sn_reader_fail(r, version > PAYLOAD_VERSION ? SN_ERR_VERSION
                       : SN_ERR_FORMAT, "BPE payload version %u (this "
                       "library reads %d)", (unsigned)version,
                       PAYLOAD_VERSION);
        return NULL;
    }
    sn_bpe_opts o = SN_BPE_OPTS_INIT;
    o.vocab_size = sn_read_i32(r);
    o.min_frequency = sn_read_i32(r);
    o.standardize = sn_read_i32(r);
    uint32_t n = sn_read_u32(r);
    if (r->status != SN_OK)
        return NULL;
    if (sn_bpe_check_opts(&o, "BPE payload") != SN_OK) {
        sn_reader_fail(r, SN_ERR_FORMAT, "%s", sn_last_error());
        return NULL;
    }
    if ((uint64_t)n * 8 > sn_reader_remaining(r)) {
        sn_reader_fail(r, SN_ERR_FORMAT, "BPE payload: %u merges claimed, "
                       "%zu bytes left", (unsigned)n, sn_reader_remaining(r));
        return NULL;
    }
    int32_t *m = sn_mem_alloc(mem, (2 * (size_t)n + 1) * sizeof *m);
    if (m == NULL)
        return NULL;
    for (size_t k = 0; k < 2 * (size_t)n; k++)
        m[k] = sn_read_i32(r);
    sn_bpe *b = r->status == SN_OK
                ? sn_bpe_build(mem, &o, m, n, "BPE payload") : NULL;
    sn_mem_free(mem, m);
    return b;
}

/* ---------------------------------------------------------------- files */

SN_API sn_status sn_bpe_save_buffer(const sn_bpe_t *b, void **data,
                                    size_t *len)
{
    if (data == NULL || len == NULL || b == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_bpe_save_buffer: NULL "
                       "argument");
    *data = NULL;
    *len = 0;
    sn_writer w;
    sn_status st = sn_text_file_serialise(file_magic, write_any, b, &w);
    if (st != SN_OK)
        return st;
    sn_user_buffer_finish(&w, data, len);
    return SN_OK;
}

SN_API sn_status sn_bpe_load_buffer(const void *data, size_t len,
                                    sn_bpe_t **out)
{
    if (out != NULL)
        *out = NULL;
    if (data == NULL || out == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_bpe_load_buffer: NULL "
                       "argument");
    sn_reader r;
    sn_status st = sn_text_file_open(file_magic, "BPE", data, len, &r);
    if (st != SN_OK)
        return st;
    sn_mem mem = sn_mem_current();
    sn_clear_error();
    sn_bpe *b = sn_bpe_read(&r, &mem);
    if (b != NULL && sn_reader_remaining(&r) != 0) {
        sn_bpe_free(b);
        return sn_fail(SN_ERR_FORMAT, "BPE file: %zu unread bytes",
                       sn_reader_remaining(&r));
    }
    if (b == NULL)
        return sn_text_read_failed(&r, "BPE file");
    *out = b;
    return SN_OK;
}

SN_API sn_status sn_bpe_save(const sn_bpe_t *b, const char *path)
{
    if (path == NULL || path[0] == '\0' || b == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_bpe_save: bpe or path is "
                       "NULL or empty");
    sn_writer w;
    sn_status st = sn_text_file_serialise(file_magic, write_any, b, &w);
    if (st != SN_OK)
        return st;
    st = sn_file_write_atomic(&w.mem, path, w.data + SN_USER_BUFFER_HEADER,
                              w.len - SN_USER_BUFFER_HEADER, "sn_bpe_save");
    sn_writer_free(&w);
    return st;
}

SN_API sn_status sn_bpe_load(const char *path, sn_bpe_t **out)
{
    if (out != NULL)
        *out = NULL;
    if (path == NULL || out == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_bpe_load: NULL argument");
    sn_mem mem = sn_mem_current();
    uint8_t *data = NULL;
    size_t len = 0;
    sn_status st = sn_file_read_all(&mem, path, MAX_FILE_BYTES, &data, &len,
                                    "sn_bpe_load");
    if (st != SN_OK)
        return st;
    st = sn_bpe_load_buffer(data, len, out);
    sn_mem_free(&mem, data);
    return st;
}

/* ---------------------------------------------------------- the model */

static void free_model_bpe(sn_model *m)
{
    sn_bpe_free(m->bpe);
    m->bpe = NULL;
}

SN_API sn_status sn_model_set_bpe(sn_model_t *m, const sn_bpe_t *b)
{
    if (m == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_set_bpe: model is "
                       "NULL");
    sn_bpe *copy = NULL;
    if (b != NULL) {
        copy = sn_bpe_build(&m->mem, &b->opts, b->merges,
                            (size_t)(b->n_tokens - SN_BPE_BASE),
                            "sn_model_set_bpe");
        if (copy == NULL)
            return sn_last_status() != SN_OK ? sn_last_status()
                                             : SN_ERR_NOMEM;
    }
    free_model_bpe(m);
    m->bpe = copy;
    sn_model_attach(m, SN_PART_BPE, free_model_bpe);
    return SN_OK;
}

SN_API const sn_bpe_t *sn_model_bpe(const sn_model_t *m)
{
    return m != NULL ? m->bpe : NULL;
}

void sn_model_save_bpe(const sn_model *m, sn_writer *w)
{
    sn_bpe_write(m->bpe, w);
}

sn_status sn_model_load_bpe(sn_model *m, sn_reader *r)
{
    if (m->bpe != NULL)
        return sn_fail(SN_ERR_FORMAT, "a second BPE section");
    sn_clear_error();
    sn_bpe *b = sn_bpe_read(r, &m->mem);
    if (b == NULL)
        return sn_text_read_failed(r, "bpev section");
    m->bpe = b;
    sn_model_attach(m, SN_PART_BPE, free_model_bpe);
    return SN_OK;
}

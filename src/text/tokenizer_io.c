/*
 * tokenizer_io.c - the Keras Tokenizer's serialised form (docs/TEXT.md):
 * options, document count and every word with its count and document
 * count in order of first appearance (so ranking again gives the same
 * word_index); its own file (text_file.c) and the model file's optional
 * "tokn" section, and the copy a model carries (SN_PART_TOKENIZER).
 */
#include <string.h>

#include "model/model.h"
#include "text/text_impl.h"

static const uint8_t file_magic[8] = {0x89, 'S', 'N', 'T',
                                      '\r', '\n', 0x1a, '\n'};
enum { PAYLOAD_VERSION = 1, MAX_WORD = 1 << 16 };

static void write_payload(const void *obj, sn_writer *w)
{
    const sn_tokenizer *t = obj;
    sn_write_u32(w, PAYLOAD_VERSION);
    sn_write_i32(w, t->opts.num_words);
    sn_write_i32(w, t->opts.standardize);
    sn_write_u8(w, t->oov != NULL);
    if (t->oov != NULL)
        sn_write_str(w, t->oov);
    sn_write_i64(w, t->n_docs);
    sn_write_u64(w, t->words.n);
    for (size_t id = 0; id < t->words.n; id++) {
        sn_write_str(w, sn_strtab_str(&t->words, id));
        sn_write_i64(w, t->words.count[id]);
        sn_write_i64(w, t->words.df[id]);
    }
}

/* Reads the words into t, checking each. */
static bool read_words(sn_reader *r, sn_tokenizer *t)
{
    uint64_t n = sn_read_u64(r);
    if (r->status != SN_OK || n > sn_reader_remaining(r) / 21) {
        sn_reader_fail(r, SN_ERR_FORMAT, "tokenizer: %llu words claimed, "
                       "%zu bytes left", (unsigned long long)n,
                       sn_reader_remaining(r));
        return false;
    }
    for (uint64_t i = 0; i < n; i++) {
        char *s = sn_read_str(r, &t->mem, MAX_WORD);
        int64_t count = sn_read_i64(r), df = sn_read_i64(r);
        if (s == NULL || r->status != SN_OK) {
            sn_mem_free(&t->mem, s);
            return false;
        }
        size_t before = t->words.n;
        int32_t id = sn_strtab_add(&t->words, s, strlen(s));
        bool bad = s[0] == '\0' || (id >= 0 && t->words.n == before) ||
                   count < 1 || df < 1 || df > count || df > t->n_docs;
        sn_mem_free(&t->mem, s);
        if (id < 0)
            return false;
        if (bad) {
            sn_reader_fail(r, SN_ERR_FORMAT, "tokenizer: word %llu is empty, "
                           "repeated, or has impossible counts",
                           (unsigned long long)i);
            return false;
        }
        t->words.count[id] = count;
        t->words.df[id] = df;
        t->words.last_doc[id] = -1;
    }
    return true;
}

static sn_tokenizer *read_payload(sn_reader *r, const sn_mem *mem)
{
    uint32_t version = sn_read_u32(r);
    if (r->status == SN_OK && version != PAYLOAD_VERSION) {
        sn_reader_fail(r, version > PAYLOAD_VERSION ? SN_ERR_VERSION
                       : SN_ERR_FORMAT, "tokenizer payload version %u (this "
                       "library reads %d)", (unsigned)version,
                       PAYLOAD_VERSION);
        return NULL;
    }
    sn_tokenizer_opts o = SN_TOKENIZER_OPTS_INIT;
    o.num_words = sn_read_i32(r);
    o.standardize = sn_read_i32(r);
    char *oov = sn_read_u8(r) ? sn_read_str(r, mem, MAX_WORD) : NULL;
    o.oov_token = oov;
    int64_t n_docs = sn_read_i64(r);
    sn_tokenizer *t = NULL;
    if (r->status == SN_OK) {
        if (n_docs < 0 ||
            sn_tokenizer_check_opts(&o, "tokenizer payload") != SN_OK)
            sn_reader_fail(r, SN_ERR_FORMAT, "tokenizer payload: bad "
                           "options or document count");
        else
            t = sn_tokenizer_create(mem, &o);
    }
    sn_mem_free(mem, oov);
    if (t == NULL)
        return NULL;
    t->n_docs = n_docs;
    if (!read_words(r, t) || sn_tokenizer_rank(t) != SN_OK) {
        sn_tokenizer_free(t);
        return NULL;
    }
    return t;
}

/* ---------------------------------------------------------------- files */

SN_API sn_status sn_tokenizer_save_buffer(const sn_tokenizer_t *t,
                                          void **data, size_t *len)
{
    if (data == NULL || len == NULL || t == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_tokenizer_save_buffer: NULL "
                       "argument");
    *data = NULL;
    *len = 0;
    sn_writer w;
    sn_status st = sn_text_file_serialise(file_magic, write_payload, t, &w);
    if (st != SN_OK)
        return st;
    sn_user_buffer_finish(&w, data, len);
    return SN_OK;
}

static sn_status load_from(sn_reader *r, const sn_mem *mem,
                           sn_tokenizer **out, const char *what)
{
    sn_clear_error();
    sn_tokenizer *t = read_payload(r, mem);
    if (t != NULL && sn_reader_remaining(r) != 0) {
        sn_tokenizer_free(t);
        return sn_fail(SN_ERR_FORMAT, "%s: %zu unread bytes", what,
                       sn_reader_remaining(r));
    }
    if (t == NULL)
        return sn_text_read_failed(r, what);
    *out = t;
    return SN_OK;
}

SN_API sn_status sn_tokenizer_load_buffer(const void *data, size_t len,
                                          sn_tokenizer_t **out)
{
    if (out != NULL)
        *out = NULL;
    if (data == NULL || out == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_tokenizer_load_buffer: NULL "
                       "argument");
    sn_reader r;
    sn_status st = sn_text_file_open(file_magic, "tokenizer", data, len, &r);
    if (st != SN_OK)
        return st;
    sn_mem mem = sn_mem_current();
    return load_from(&r, &mem, out, "tokenizer file");
}

/* ---------------------------------------------------------- the model */

static void free_model_tokenizer(sn_model *m)
{
    sn_tokenizer_free(m->tokenizer);
    m->tokenizer = NULL;
}

SN_API sn_status sn_model_set_tokenizer(sn_model_t *m,
                                        const sn_tokenizer_t *t)
{
    if (m == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_set_tokenizer: model "
                       "is NULL");
    sn_tokenizer *copy = NULL;
    if (t != NULL) {
        /* a copy through the serialised form, with the model's allocator */
        sn_writer w;
        sn_writer_init(&w, &m->mem);
        write_payload(t, &w);
        sn_status st = w.status;
        if (st == SN_OK) {
            sn_reader r;
            sn_reader_init(&r, w.data, w.len);
            st = load_from(&r, &m->mem, &copy, "sn_model_set_tokenizer");
        }
        sn_writer_free(&w);
        if (st != SN_OK)
            return st;
    }
    free_model_tokenizer(m);
    m->tokenizer = copy;
    sn_model_attach(m, SN_PART_TOKENIZER, free_model_tokenizer);
    return SN_OK;
}

SN_API const sn_tokenizer_t *sn_model_tokenizer(const sn_model_t *m)
{
    return m != NULL ? m->tokenizer : NULL;
}

void sn_model_save_tokenizer(const sn_model *m, sn_writer *w)
{
    write_payload(m->tokenizer, w);
}

sn_status sn_model_load_tokenizer(sn_model *m, sn_reader *r)
{
    if (m->tokenizer != NULL)
        return sn_fail(SN_ERR_FORMAT, "a second tokenizer section");
    sn_tokenizer *t = NULL;
    sn_status st = load_from(r, &m->mem, &t, "tokn section");
    if (st != SN_OK)
        return st;
    m->tokenizer = t;
    sn_model_attach(m, SN_PART_TOKENIZER, free_model_tokenizer);
    return SN_OK;
}

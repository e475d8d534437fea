/*
 * vectorizer_io.c - the vectorizer's serialised form (docs/TEXT.md): the
 * payload shared with the model file's "vocb" section, and the small file
 * of its own around it (magic, length, payload, CRC-32).
 *
 * Loading treats the bytes as hostile, as model_io.c does: each count is
 * checked against the bytes left before anything is sized from it, and
 * options and tokens pass the same checks as sn_vectorizer_new and
 * sn_vectorizer_set_vocabulary.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "text/text_impl.h"

static const uint8_t file_magic[8] = {0x89, 'S', 'N', 'V',
                                      '\r', '\n', 0x1a, '\n'};
enum { PAYLOAD_VERSION = 1 };
#define MAX_FILE_BYTES ((uint64_t)4 << 30)

/* ------------------------------------------------------------- payload */

void sn_vectorizer_write(const sn_vectorizer_t *v, sn_writer *w)
{
    const sn_vectorizer_opts *o = &v->opts;
    sn_write_u32(w, PAYLOAD_VERSION);
    sn_write_i32(w, o->max_tokens);
    sn_write_i32(w, o->ngrams);
    sn_write_i32(w, (int32_t)o->output_mode);
    sn_write_i32(w, o->output_sequence_length);
    sn_write_i32(w, (int32_t)o->padding);
    sn_write_i32(w, (int32_t)o->truncation);
    sn_write_i32(w, o->standardize);
    size_t n = v->vocab.n - 2;
    sn_write_u32(w, (uint32_t)n);
    for (size_t id = 2; id < v->vocab.n; id++) {
        sn_write_u32(w, v->vocab.len[id]);
        sn_write_bytes(w, sn_strtab_str(&v->vocab, id), v->vocab.len[id]);
    }
    sn_write_u8(w, v->idf != NULL ? 1 : 0);
    if (v->idf != NULL)
        sn_write_f32s(w, v->idf, v->vocab.n);
}

static sn_status read_opts(sn_reader *r, sn_vectorizer_opts *o)
{
    uint32_t version = sn_read_u32(r);
    if (r->status == SN_OK && version == 0)
        return sn_reader_fail(r, SN_ERR_FORMAT, "vectorizer version 0");
    if (r->status == SN_OK && version > PAYLOAD_VERSION)
        return sn_reader_fail(r, SN_ERR_VERSION, "vectorizer version %lu; "
                              "this libseqnet (%s) reads version %d and older",
                              (unsigned long)version, SN_VERSION_STRING,
                              PAYLOAD_VERSION);
    *o = (sn_vectorizer_opts)SN_VECTORIZER_OPTS_INIT;
    o->max_tokens = sn_read_i32(r);
    o->ngrams = sn_read_i32(r);
    o->output_mode = (sn_output_mode)sn_read_i32(r);
    o->output_sequence_length = sn_read_i32(r);
    o->padding = (sn_seq_side)sn_read_i32(r);
    o->truncation = (sn_seq_side)sn_read_i32(r);
    o->standardize = sn_read_i32(r);
    if (r->status != SN_OK)
        return r->status;
    if (sn_vectorizer_check_opts(o, "vectorizer options") != SN_OK)
        return sn_reader_fail(r, SN_ERR_FORMAT, "%s", sn_last_error());
    return SN_OK;
}

static sn_status read_tokens(sn_reader *r, const sn_vectorizer_opts *o,
                             sn_strtab *vocab)
{
    uint32_t n = sn_read_u32(r);
    if (r->status != SN_OK)
        return r->status;
    /* each token takes at least 5 bytes: no allocation from a wild count */
    if (n > sn_reader_remaining(r) / 5 || n > SN_TEXT_MAX_IDS - 2)
        return sn_reader_fail(r, SN_ERR_FORMAT, "token count %lu is past the "
                              "end", (unsigned long)n);
    if (o->max_tokens > 0 && (uint64_t)n + 2 > (uint64_t)o->max_tokens)
        return sn_reader_fail(r, SN_ERR_FORMAT, "%lu tokens exceed "
                              "max_tokens %d", (unsigned long)n,
                              o->max_tokens);
    sn_mem mem = vocab->mem; /* sn_vocab_start resets *vocab */
    sn_status st = sn_vocab_start(vocab, &mem);
    for (uint32_t i = 0; i < n && st == SN_OK; i++) {
        uint32_t len = sn_read_u32(r);
        const uint8_t *s = sn_read_view(r, len);
        if (s == NULL)
            return r->status != SN_OK ? r->status : SN_ERR_FORMAT;
        st = sn_vocab_push(vocab, (const char *)s, len, "vocabulary", i);
    }
    if (st != SN_OK && st != SN_ERR_NOMEM)
        return sn_reader_fail(r, SN_ERR_FORMAT, "%s", sn_last_error());
    return st;
}

static sn_status read_idf(sn_reader *r, const sn_vectorizer_opts *o,
                          size_t n, const sn_mem *mem, float **idf)
{
    *idf = NULL;
    int has = sn_read_u8(r);
    if (r->status != SN_OK)
        return r->status;
    if (has != (o->output_mode == SN_OUTPUT_TF_IDF ? 1 : 0))
        return sn_reader_fail(r, SN_ERR_FORMAT, "idf flag %d does not fit "
                              "output mode %d", has, (int)o->output_mode);
    if (!has)
        return SN_OK;
    if (n > sn_reader_remaining(r) / 4)
        return sn_reader_fail(r, SN_ERR_FORMAT, "idf weights past the end");
    *idf = sn_mem_calloc(mem, n, sizeof **idf);
    if (*idf == NULL)
        return SN_ERR_NOMEM;
    sn_read_f32s(r, *idf, n);
    for (size_t i = 0; i < n && r->status == SN_OK; i++)
        if (!isfinite((*idf)[i]))
            sn_reader_fail(r, SN_ERR_FORMAT, "idf weight %zu is not finite",
                           i);
    return r->status;
}

sn_vectorizer_t *sn_vectorizer_read(sn_reader *r, const sn_mem *mem)
{
    sn_vectorizer_opts o;
    if (read_opts(r, &o) != SN_OK)
        return NULL;
    sn_strtab vocab;
    sn_strtab_init(&vocab, mem, false);
    float *idf = NULL;
    sn_status st = read_tokens(r, &o, &vocab);
    if (st == SN_OK)
        st = read_idf(r, &o, vocab.n, mem, &idf);
    sn_vectorizer_t *v = st == SN_OK ? sn_vectorizer_create(mem, &o) : NULL;
    if (v == NULL) {
        sn_strtab_free(&vocab);
        sn_mem_free(mem, idf);
        return NULL;
    }
    sn_vectorizer_install(v, &vocab, idf);
    return v;
}

/* ---------------------------------------------------------------- file */

/* The whole file into w, after the user-buffer header (files.c). */
static sn_status serialise(const sn_vectorizer_t *v, sn_writer *w,
                           const char *who)
{
    if (v == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: v is NULL", who);
    sn_mem mem = sn_mem_current();
    sn_writer_init(w, &mem);
    sn_user_buffer_begin(w);
    sn_write_bytes(w, file_magic, sizeof file_magic);
    size_t at = w->len;
    sn_write_u64(w, 0); /* payload length, patched below */
    sn_vectorizer_write(v, w);
    if (w->status == SN_OK)
        sn_writer_patch_u64(w, at, (uint64_t)(w->len - at - 8));
    if (w->status == SN_OK)
        sn_write_u32(w, sn_crc32(w->data + SN_USER_BUFFER_HEADER,
                                 w->len - SN_USER_BUFFER_HEADER));
    sn_status st = w->status;
    if (st != SN_OK)
        sn_writer_free(w);
    return st;
}

SN_API sn_status sn_vectorizer_save_buffer(const sn_vectorizer_t *v,
                                           void **data, size_t *len)
{
    if (data == NULL || len == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_vectorizer_save_buffer: data "
                       "or len is NULL");
    *data = NULL;
    *len = 0;
    sn_writer w;
    sn_status st = serialise(v, &w, "sn_vectorizer_save_buffer");
    if (st != SN_OK)
        return st;
    sn_user_buffer_finish(&w, data, len);
    return SN_OK;
}

SN_API sn_status sn_vectorizer_load_buffer(const void *data, size_t len,
                                           sn_vectorizer_t **v)
{
    if (v != NULL)
        *v = NULL;
    if (data == NULL || v == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_vectorizer_load_buffer: %s "
                       "is NULL", v == NULL ? "v" : "data");
    const uint8_t *p = data;
    if (len < sizeof file_magic || memcmp(p, file_magic, 8) != 0)
        return sn_fail(SN_ERR_FORMAT, "not a libseqnet vectorizer file "
                       "(expected the magic \\x89SNV\\r\\n\\x1a\\n)");
    sn_reader r;
    sn_reader_init(&r, p + 8, len - 8);
    uint64_t n = sn_read_u64(&r);
    if (r.status != SN_OK || sn_reader_remaining(&r) < 4 ||
        n != sn_reader_remaining(&r) - 4)
        return sn_fail(SN_ERR_FORMAT, "vectorizer file: the length field "
                       "says %llu payload bytes, %zu follow (truncated or "
                       "corrupt)", (unsigned long long)n,
                       r.status == SN_OK ? sn_reader_remaining(&r) : 0);
    uint32_t crc = sn_crc32(p, len - 4);
    uint32_t stored = (uint32_t)p[len - 4] | (uint32_t)p[len - 3] << 8 |
                      (uint32_t)p[len - 2] << 16 | (uint32_t)p[len - 1] << 24;
    if (crc != stored)
        return sn_fail(SN_ERR_FORMAT, "vectorizer file is corrupt: CRC-32 "
                       "0x%08lx, stored 0x%08lx", (unsigned long)crc,
                       (unsigned long)stored);
    sn_reader sub;
    sn_reader_init(&sub, p + 16, (size_t)n);
    sn_mem mem = sn_mem_current();
    sn_clear_error();
    sn_vectorizer_t *got = sn_vectorizer_read(&sub, &mem);
    if (got != NULL && sn_reader_remaining(&sub) != 0) {
        sn_vectorizer_free(got);
        return sn_fail(SN_ERR_FORMAT, "vectorizer file: %zu unread bytes",
                       sn_reader_remaining(&sub));
    }
    if (got == NULL) {
        sn_status st = sub.status != SN_OK ? sub.status : sn_last_status();
        if (st == SN_OK)
            st = SN_ERR_FORMAT;
        if (st != SN_ERR_NOMEM)
            st = sn_fail(st, "vectorizer file: %s", sn_last_error());
        return st;
    }
    *v = got;
    return SN_OK;
}

/* -------------------------------------------------------- file system */

SN_API sn_status sn_vectorizer_save(const sn_vectorizer_t *v,
                                    const char *path)
{
    if (path == NULL || path[0] == '\0')
        return sn_fail(SN_ERR_INVALID_ARG, "sn_vectorizer_save: path is NULL "
                       "or empty");
    sn_writer w;
    sn_status st = serialise(v, &w, "sn_vectorizer_save");
    if (st != SN_OK)
        return st;
    st = sn_file_write_atomic(&w.mem, path, w.data + SN_USER_BUFFER_HEADER,
                              w.len - SN_USER_BUFFER_HEADER,
                              "sn_vectorizer_save");
    sn_writer_free(&w);
    return st;
}

SN_API sn_status sn_vectorizer_load(const char *path, sn_vectorizer_t **v)
{
    if (v != NULL)
        *v = NULL;
    if (path == NULL || v == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_vectorizer_load: %s is NULL",
                       path == NULL ? "path" : "v");
    sn_mem mem = sn_mem_current();
    uint8_t *data = NULL;
    size_t len = 0;
    sn_status st = sn_file_read_all(&mem, path, MAX_FILE_BYTES, &data, &len,
                                    "sn_vectorizer_load");
    if (st != SN_OK)
        return st;
    st = sn_vectorizer_load_buffer(data, len, v);
    sn_mem_free(&mem, data);
    return st;
}

/*
 * tokenizer.c - keras.preprocessing.text.Tokenizer on the vectorizer's
 * tokenization core (standardize.c, tokenize.c) and string table
 * (vocab.c): fitting counts words (word_counts) and the documents holding
 * them (word_docs) in a counting table whose ids follow first appearance;
 * ranking orders them by count, ties by first appearance (Python's stable
 * sort over Keras' OrderedDict), into word_index from 1, after the
 * oov_token.  Files and the model's copy: tokenizer_io.c.
 */
#include <stdlib.h>
#include <string.h>

#include "text/text_impl.h"

static bool has_space(const char *s)
{
    for (; *s != '\0'; s++)
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\v' ||
            *s == '\f' || *s == '\r')
            return true;
    return false;
}

sn_status sn_tokenizer_check_opts(const sn_tokenizer_opts *o,
                                  const char *who)
{
    if (o->num_words < 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: num_words %d is negative",
                       who, o->num_words);
    if (o->standardize & ~SN_STANDARDIZE_DEFAULT)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: unknown standardize flags "
                       "0x%x", who, (unsigned)o->standardize);
    const char *oov = o->oov_token;
    if (oov != NULL && (oov[0] == '\0' || has_space(oov) ||
                        !sn_text_valid_utf8(oov, strlen(oov))))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: oov_token must be non-empty "
                       "valid UTF-8 without whitespace", who);
    return SN_OK;
}

sn_tokenizer *sn_tokenizer_create(const sn_mem *mem,
                                  const sn_tokenizer_opts *o)
{
    sn_tokenizer *t = sn_mem_calloc(mem, 1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->mem = *mem;
    t->opts = *o;
    t->opts.oov_token = NULL;
    sn_strtab_init(&t->words, mem, true);
    if (o->oov_token != NULL &&
        (t->oov = sn_mem_strdup(mem, o->oov_token)) == NULL) {
        sn_tokenizer_free(t);
        return NULL;
    }
    t->opts.oov_token = t->oov;
    if (sn_tokenizer_rank(t) != SN_OK) {
        sn_tokenizer_free(t);
        return NULL;
    }
    return t;
}

SN_API sn_tokenizer_t *sn_tokenizer_new(const sn_tokenizer_opts *opts)
{
    const char *who = "sn_tokenizer_new";
    sn_tokenizer_opts o = SN_TOKENIZER_OPTS_INIT;
    if (opts != NULL && sn_opts_merge(&o, sizeof o, opts, who) != SN_OK)
        return NULL;
    if (sn_tokenizer_check_opts(&o, who) != SN_OK)
        return NULL;
    sn_mem mem = sn_mem_current();
    return sn_tokenizer_create(&mem, &o);
}

SN_API void sn_tokenizer_free(sn_tokenizer_t *t)
{
    if (t == NULL)
        return;
    sn_mem mem = t->mem;
    sn_strtab_free(&t->words);
    sn_mem_free(&mem, t->oov);
    sn_mem_free(&mem, t->by_index);
    sn_mem_free(&mem, t->index_of);
    sn_mem_free(&mem, t);
}

/* ------------------------------------------------------------ ranking */

typedef struct ranked {
    int64_t count;
    int32_t id;
} ranked;

/* count descending, then first appearance */
static int cmp_ranked(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

sn_status sn_tokenizer_rank(sn_tokenizer *t)
{
    size_t n = t->words.n;
    int32_t oov_id = t->oov != NULL
                     ? sn_strtab_find(&t->words, t->oov, strlen(t->oov)) : -1;
    ranked *r = sn_mem_calloc(&t->mem, n + 1, sizeof *r);
    int32_t *by_index = sn_mem_calloc(&t->mem, n + 2, sizeof *by_index);
    int32_t *index_of = sn_mem_calloc(&t->mem, n + 1, sizeof *index_of);
    if (r == NULL || by_index == NULL || index_of == NULL) {
        sn_mem_free(&t->mem, r);
        sn_mem_free(&t->mem, by_index);
        sn_mem_free(&t->mem, index_of);
        return SN_ERR_NOMEM;
    }
    size_t k = 0;
    for (size_t id = 0; id < n; id++)
        if ((int32_t)id != oov_id)
            r[k++] = (ranked){ t->words.count[id], (int32_t)id };
    qsort(r, k, sizeof *r, cmp_ranked);
    int next = 1;
    by_index[0] = -1;
    if (t->oov != NULL) {
        by_index[next] = oov_id; /* -1 when the texts never held it */
        if (oov_id >= 0)
            index_of[oov_id] = next;
        next++;
    }
    for (size_t i = 0; i < k; i++) {
        by_index[next] = r[i].id;
        index_of[r[i].id] = next++;
    }
    sn_mem_free(&t->mem, r);
    sn_mem_free(&t->mem, t->by_index);
    sn_mem_free(&t->mem, t->index_of);
    t->by_index = by_index;
    t->index_of = index_of;
    t->n_index = next - 1;
    t->n_ranked = n;
    return SN_OK;
}

SN_API sn_status sn_tokenizer_fit(sn_tokenizer_t *t,
                                  const char *const *texts, size_t n)
{
    const char *who = "sn_tokenizer_fit";
    if (t == NULL || (texts == NULL && n > 0))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: NULL argument", who);
    for (size_t i = 0; i < n; i++)
        if (texts[i] == NULL)
            return sn_fail(SN_ERR_INVALID_ARG, "%s: texts[%zu] is NULL", who,
                           i);
    sn_text_work w;
    sn_text_work_init(&w, &t->mem, t->opts.standardize, 1);
    sn_status st = SN_OK;
    /* counts of a failed fit would be half-added: count into a copy?  The
     * table only grows, so a failure leaves extra counts; say so and keep
     * the ranking consistent with them. */
    for (size_t d = 0; d < n && st == SN_OK; d++) {
        st = sn_text_prepare(&w, texts[d]);
        for (size_t j = 0; j < sn_text_count(&w) && st == SN_OK; j++) {
            const char *tok;
            size_t len;
            sn_text_gram(&w, j, &tok, &len);
            st = sn_strtab_count(&t->words, tok, len, t->n_docs);
        }
        if (st == SN_OK)
            t->n_docs++;
    }
    sn_text_work_free(&w);
    sn_status rs = sn_tokenizer_rank(t);
    if (st == SN_OK)
        st = rs;
    if (st == SN_ERR_NOMEM)
        return sn_fail(st, "%s: out of memory (the texts counted so far "
                       "stay counted)", who);
    return st;
}

/* ---------------------------------------------------------- accessors */

SN_API int sn_tokenizer_word_count(const sn_tokenizer_t *t)
{
    if (t == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_tokenizer_word_count: NULL");
    return t->n_index;
}

SN_API const char *sn_tokenizer_word(const sn_tokenizer_t *t, int index)
{
    if (t == NULL || index < 1 || index > sn_tokenizer_word_count(t)) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_tokenizer_word: index %d out of "
                "range", index);
        return NULL;
    }
    if (t->oov != NULL && index == 1)
        return t->oov;
    return sn_strtab_str(&t->words, (size_t)t->by_index[index]);
}

/* The index of a word already standardized, or 0. */
static int index_of_word(const sn_tokenizer *t, const char *s, size_t len)
{
    int32_t id = sn_strtab_find(&t->words, s, len);
    if (id >= 0 && (size_t)id < t->n_ranked)
        return t->index_of[id]; /* words a failed fit added have none */
    if (t->oov != NULL && strlen(t->oov) == len &&
        memcmp(t->oov, s, len) == 0)
        return 1;
    return 0;
}

SN_API int sn_tokenizer_index(const sn_tokenizer_t *t, const char *word)
{
    if (t == NULL || word == NULL)
        return 0;
    return index_of_word(t, word, strlen(word));
}

static int32_t word_id(const sn_tokenizer *t, int index)
{
    if (t == NULL || index < 1 || index > t->n_index)
        return -2;
    return t->by_index[index];
}

SN_API int64_t sn_tokenizer_counts(const sn_tokenizer_t *t, int index)
{
    int32_t id = word_id(t, index);
    return id == -2 ? -1 : id < 0 ? 0 : t->words.count[id];
}

SN_API int64_t sn_tokenizer_docs(const sn_tokenizer_t *t, int index)
{
    int32_t id = word_id(t, index);
    return id == -2 ? -1 : id < 0 ? 0 : t->words.df[id];
}

SN_API int64_t sn_tokenizer_document_count(const sn_tokenizer_t *t)
{
    return t != NULL ? t->n_docs : 0;
}

/* -------------------------------------------------------- conversions */

/* The id a word of index becomes: itself, the oov index, or 0 (drop). */
static int32_t keep_index(const sn_tokenizer *t, int index)
{
    int oov = t->oov != NULL ? 1 : 0;
    if (index == 0)
        return oov;
    if (t->opts.num_words > 0 && index >= t->opts.num_words)
        return oov;
    return index;
}

static sn_status one_text(const sn_tokenizer *t, sn_text_work *w,
                          const char *text, sn_ragged *r)
{
    sn_status st = sn_text_prepare(w, text);
    for (size_t j = 0; j < sn_text_count(w) && st == SN_OK; j++) {
        const char *tok;
        size_t len;
        sn_text_gram(w, j, &tok, &len);
        int32_t id = keep_index(t, index_of_word(t, tok, len));
        if (id > 0)
            st = sn_ragged_push(r, &id, 1);
    }
    sn_ragged_end_row(r);
    return st;
}

SN_API sn_status sn_tokenizer_texts_to_sequences(const sn_tokenizer_t *t,
                                                 const char *const *texts,
                                                 size_t n, sn_ragged_t **out)
{
    const char *who = "sn_tokenizer_texts_to_sequences";
    if (out != NULL)
        *out = NULL;
    if (t == NULL || out == NULL || (texts == NULL && n > 0))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: NULL argument", who);
    for (size_t i = 0; i < n; i++)
        if (texts[i] == NULL)
            return sn_fail(SN_ERR_INVALID_ARG, "%s: texts[%zu] is NULL", who,
                           i);
    sn_mem mem = sn_mem_current();
    sn_ragged *r = sn_ragged_create(&mem, n);
    if (r == NULL)
        return sn_fail(SN_ERR_NOMEM, "%s: out of memory", who);
    sn_text_work w;
    sn_text_work_init(&w, &mem, t->opts.standardize, 1);
    sn_status st = SN_OK;
    for (size_t i = 0; i < n && st == SN_OK; i++)
        st = one_text(t, &w, texts[i], r);
    sn_text_work_free(&w);
    if (st != SN_OK) {
        sn_ragged_free(r);
        return sn_fail(st, "%s: out of memory", who);
    }
    *out = r;
    return SN_OK;
}

SN_API sn_status sn_tokenizer_sequence_to_text(const sn_tokenizer_t *t,
                                               const int32_t *ids,
                                               size_t len, char *buf,
                                               size_t cap, size_t *needed)
{
    const char *who = "sn_tokenizer_sequence_to_text";
    if (needed != NULL)
        *needed = 0;
    if (t == NULL || (ids == NULL && len > 0) || (buf == NULL && cap > 0))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: NULL argument", who);
    size_t at = 0;
    bool fits = true;
    for (size_t i = 0; i < len; i++) {
        if (ids[i] == 0)
            continue; /* padding */
        int index = ids[i] > t->n_index || ids[i] < 0 ? 0 : ids[i];
        index = keep_index(t, index);
        if (index == 0)
            continue;
        const char *word = sn_tokenizer_word(t, index);
        size_t n = strlen(word) + (at > 0);
        if (fits && at + n < cap) {
            if (at > 0)
                buf[at] = ' ';
            memcpy(buf + at + (at > 0), word, n - (at > 0));
            buf[at + n] = '\0';
        } else {
            fits = false;
        }
        at += n;
    }
    if (needed != NULL)
        *needed = at;
    if (cap > 0 && at == 0)
        buf[0] = '\0';
    if (!fits || cap == 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: %zu bytes and the NUL do not "
                       "fit in %zu", who, at, cap);
    return SN_OK;
}

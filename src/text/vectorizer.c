/*
 * vectorizer.c - sn_vectorizer_t, Keras TextVectorization: options,
 * adapt, vocabulary access, transforms and decoding (docs/TEXT.md).  Its
 * file form is vectorizer_io.c; the copy a model keeps,
 * vectorizer_model.c.
 */
#include <math.h>
#include <string.h>

#include "text/text_impl.h"

/* ------------------------------------------------------------ creation */

sn_status sn_vectorizer_check_opts(const sn_vectorizer_opts *o,
                                   const char *who)
{
    if (o->max_tokens < 0 || o->max_tokens == 1)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: max_tokens must be 0 "
                       "(unlimited) or >= 2 (it counts \"\" and [UNK]), got "
                       "%d", who, o->max_tokens);
    if (o->ngrams < 1 || o->ngrams > SN_VECTORIZER_MAX_NGRAMS)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: ngrams must be 1 .. %d, got "
                       "%d", who, SN_VECTORIZER_MAX_NGRAMS, o->ngrams);
    if ((int)o->output_mode < SN_OUTPUT_INT ||
        (int)o->output_mode > SN_OUTPUT_TF_IDF)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: unknown output_mode %d", who,
                       (int)o->output_mode);
    if (o->output_sequence_length < 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: output_sequence_length must "
                       "be >= 0, got %d", who, o->output_sequence_length);
    if (o->output_sequence_length > 0 && o->output_mode != SN_OUTPUT_INT)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: output_sequence_length is "
                       "only valid with SN_OUTPUT_INT (as in Keras)", who);
    if ((o->padding != SN_SIDE_POST && o->padding != SN_SIDE_PRE) ||
        (o->truncation != SN_SIDE_POST && o->truncation != SN_SIDE_PRE))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: padding and truncation must "
                       "be SN_SIDE_POST or SN_SIDE_PRE", who);
    if (o->standardize < 0 || o->standardize > SN_STANDARDIZE_DEFAULT)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: unknown standardize flags "
                       "0x%x", who, (unsigned)o->standardize);
    return SN_OK;
}

/* Idf of "" and [UNK]: Keras pads the front with the mean learned idf. */
static void set_special_idf(float *idf, size_t n)
{
    double sum = 0.0;
    for (size_t i = 2; i < n; i++)
        sum += idf[i];
    float mean = n > 2 ? (float)(sum / (double)(n - 2)) : 0.0f;
    idf[0] = mean;
    idf[1] = mean;
}

sn_vectorizer_t *sn_vectorizer_create(const sn_mem *mem,
                                      const sn_vectorizer_opts *opts)
{
    sn_vectorizer_t *v = sn_mem_calloc(mem, 1, sizeof *v);
    if (v == NULL)
        return NULL;
    v->mem = *mem;
    v->opts = *opts;
    sn_strtab_init(&v->counts, mem, true);
    if (sn_vocab_start(&v->vocab, mem) != SN_OK) {
        sn_mem_free(mem, v);
        return NULL;
    }
    if (opts->output_mode == SN_OUTPUT_TF_IDF) {
        v->idf = sn_mem_calloc(mem, 2, sizeof *v->idf);
        if (v->idf == NULL) {
            sn_vectorizer_free(v);
            return NULL;
        }
    }
    return v;
}

SN_API sn_vectorizer_t *sn_vectorizer_new(const sn_vectorizer_opts *opts)
{
    sn_vectorizer_opts o = SN_VECTORIZER_OPTS_INIT;
    if (sn_opts_merge(&o, sizeof o, opts, "sn_vectorizer_new") != SN_OK ||
        sn_vectorizer_check_opts(&o, "sn_vectorizer_new") != SN_OK)
        return NULL;
    sn_mem mem = sn_mem_current();
    return sn_vectorizer_create(&mem, &o);
}

SN_API void sn_vectorizer_free(sn_vectorizer_t *v)
{
    if (v == NULL)
        return;
    sn_mem mem = v->mem;
    sn_strtab_free(&v->vocab);
    sn_strtab_free(&v->counts);
    sn_mem_free(&mem, v->idf);
    sn_mem_free(&mem, v);
}

SN_API sn_status sn_vectorizer_options(const sn_vectorizer_t *v,
                                       sn_vectorizer_opts *opts)
{
    if (v == NULL || opts == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_vectorizer_options: %s is "
                       "NULL", v == NULL ? "v" : "opts");
    size_t size = opts->size;
    if (size < sizeof(size_t) || size > sizeof v->opts)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_vectorizer_options: opts->size "
                       "is %zu, expected %zu", size, sizeof v->opts);
    memcpy(opts, &v->opts, size);
    opts->size = size;
    return SN_OK;
}

void sn_vectorizer_install(sn_vectorizer_t *v, sn_strtab *vocab, float *idf)
{
    sn_strtab_free(&v->vocab);
    v->vocab = *vocab;
    sn_mem_free(&v->mem, v->idf);
    v->idf = idf;
}

/* ---------------------------------------------------------------- adapt */

static sn_status check_texts(const char *const *texts, size_t n,
                             const char *who)
{
    if (texts == NULL && n > 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: texts is NULL", who);
    for (size_t i = 0; i < n; i++)
        if (texts[i] == NULL)
            return sn_fail(SN_ERR_INVALID_ARG, "%s: texts[%zu] is NULL", who,
                           i);
    return SN_OK;
}

SN_API sn_status sn_vectorizer_adapt_begin(sn_vectorizer_t *v)
{
    if (v == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_vectorizer_adapt_begin: v is "
                       "NULL");
    sn_strtab_free(&v->counts);
    v->adapting = true;
    v->n_docs = 0;
    return SN_OK;
}

SN_API sn_status sn_vectorizer_adapt_add(sn_vectorizer_t *v,
                                         const char *const *texts, size_t n)
{
    static const char who[] = "sn_vectorizer_adapt_add";
    if (v == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: v is NULL", who);
    if (!v->adapting)
        return sn_fail(SN_ERR_STATE, "%s: call sn_vectorizer_adapt_begin "
                       "first", who);
    sn_status st = check_texts(texts, n, who);
    sn_text_work w;
    sn_text_work_init(&w, &v->mem, v->opts.standardize, v->opts.ngrams);
    for (size_t i = 0; i < n && st == SN_OK; i++) {
        st = sn_text_prepare(&w, texts[i]);
        size_t k = st == SN_OK ? sn_text_count(&w) : 0;
        for (size_t j = 0; j < k && st == SN_OK; j++) {
            const char *tok;
            size_t len;
            sn_text_gram(&w, j, &tok, &len);
            st = sn_strtab_count(&v->counts, tok, len, v->n_docs);
        }
        v->n_docs++;
    }
    sn_text_work_free(&w);
    return st;
}

/* The ranked tokens as a vocabulary (and idf) in fresh memory. */
static sn_status build_from_counts(const sn_vectorizer_t *v,
                                   const int32_t *ids, size_t k,
                                   sn_strtab *vocab, float **idf)
{
    *idf = NULL;
    sn_status st = sn_vocab_start(vocab, &v->mem);
    for (size_t i = 0; i < k && st == SN_OK; i++) {
        int32_t id = sn_strtab_add(vocab, sn_strtab_str(&v->counts, ids[i]),
                                   v->counts.len[ids[i]]);
        st = id < 0 ? (sn_status)id : SN_OK;
    }
    if (st == SN_OK && v->opts.output_mode == SN_OUTPUT_TF_IDF) {
        *idf = sn_mem_calloc(&v->mem, k + 2, sizeof **idf);
        if (*idf == NULL)
            st = SN_ERR_NOMEM;
        for (size_t i = 0; i < k && st == SN_OK; i++) {
            double df = (double)v->counts.df[ids[i]];
            (*idf)[i + 2] = (float)log(1.0 + (double)v->n_docs / (1.0 + df));
        }
        if (st == SN_OK)
            set_special_idf(*idf, k + 2);
    }
    if (st != SN_OK) {
        sn_strtab_free(vocab);
        sn_mem_free(&v->mem, *idf);
        *idf = NULL;
    }
    return st;
}

SN_API sn_status sn_vectorizer_adapt_finish(sn_vectorizer_t *v)
{
    if (v == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_vectorizer_adapt_finish: v is "
                       "NULL");
    if (!v->adapting)
        return sn_fail(SN_ERR_STATE, "sn_vectorizer_adapt_finish: call "
                       "sn_vectorizer_adapt_begin first");
    size_t limit = v->opts.max_tokens > 0 ? (size_t)v->opts.max_tokens - 2
                                          : 0;
    int32_t *ids = NULL;
    size_t k = 0;
    sn_status st = sn_strtab_rank(&v->counts, limit, &ids, &k);
    if (st == SN_OK && v->opts.max_tokens == 2)
        k = 0; /* rank's limit 0 means "all"; max_tokens 2 means none */
    sn_strtab vocab;
    float *idf = NULL;
    if (st == SN_OK)
        st = build_from_counts(v, ids, k, &vocab, &idf);
    sn_mem_free(&v->mem, ids);
    if (st != SN_OK)
        return st;
    sn_vectorizer_install(v, &vocab, idf);
    sn_strtab_free(&v->counts);
    v->adapting = false;
    return SN_OK;
}

SN_API sn_status sn_vectorizer_adapt(sn_vectorizer_t *v,
                                     const char *const *texts, size_t n)
{
    sn_status st = sn_vectorizer_adapt_begin(v);
    if (st == SN_OK)
        st = sn_vectorizer_adapt_add(v, texts, n);
    if (st == SN_OK)
        st = sn_vectorizer_adapt_finish(v);
    if (st != SN_OK && v != NULL) {
        sn_strtab_free(&v->counts);
        v->adapting = false;
    }
    return st;
}

/* ------------------------------------------------------ set vocabulary */

static bool has_specials(const char *const *tokens, size_t n)
{
    return n >= 2 && tokens[0] != NULL && tokens[1] != NULL &&
           tokens[0][0] == '\0' && strcmp(tokens[1], SN_OOV_TOKEN) == 0;
}

static bool is_split_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
           c == '\r';
}

/* A token the transform can produce: valid UTF-8 (the standardizer turns
 * invalid bytes into U+FFFD) without the whitespace the text is split on,
 * except, with n-grams, up to ngrams - 1 single spaces between words.
 * Anything else could never match and is a mistake in the caller's list. */
static sn_status check_token(const char *tok, size_t i, int ngrams,
                             const char *who)
{
    size_t len = strlen(tok);
    if (!sn_text_valid_utf8(tok, len))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: token %zu is not valid "
                       "UTF-8 (it could never match)", who, i);
    size_t spaces = 0;
    for (size_t k = 0; k < len; k++) {
        if (!is_split_space(tok[k]))
            continue;
        bool joint = ngrams > 1 && tok[k] == ' ' && k > 0 && k + 1 < len &&
                     !is_split_space(tok[k - 1]) &&
                     !is_split_space(tok[k + 1]);
        if (!joint || ++spaces > (size_t)ngrams - 1)
            return sn_fail(SN_ERR_INVALID_ARG, "%s: token %zu ('%.40s') "
                           "holds whitespace the text is split on (it "
                           "could never match%s)", who, i, tok,
                           ngrams > 1 ? "; an n-gram is up to ngrams words "
                           "joined by single spaces" : "");
    }
    return SN_OK;
}

static sn_status check_vocab_args(const sn_vectorizer_t *v,
                                  const char *const *tokens, size_t n,
                                  const float *idf, const char *who)
{
    if (v == NULL || (tokens == NULL && n > 0))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: %s is NULL", who,
                       v == NULL ? "v" : "tokens");
    bool tf_idf = v->opts.output_mode == SN_OUTPUT_TF_IDF;
    if (tf_idf && idf == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: idf weights are required in "
                       "SN_OUTPUT_TF_IDF mode", who);
    if (!tf_idf && idf != NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: idf weights are only valid "
                       "in SN_OUTPUT_TF_IDF mode", who);
    size_t total = has_specials(tokens, n) ? n : n + 2;
    if (v->opts.max_tokens > 0 && total > (size_t)v->opts.max_tokens)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: %zu ids (with \"\" and "
                       "[UNK]) exceed max_tokens %d", who, total,
                       v->opts.max_tokens);
    if (total > SN_TEXT_MAX_IDS)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: too many tokens", who);
    for (size_t i = 0; i < n; i++) {
        if (tokens[i] == NULL)
            return sn_fail(SN_ERR_INVALID_ARG, "%s: tokens[%zu] is NULL",
                           who, i);
        sn_status st = check_token(tokens[i], i, v->opts.ngrams, who);
        if (st != SN_OK)
            return st;
    }
    for (size_t i = 0; idf != NULL && i < n; i++)
        if (!isfinite(idf[i]))
            return sn_fail(SN_ERR_INVALID_ARG, "%s: idf[%zu] is not finite",
                           who, i);
    return SN_OK;
}

SN_API sn_status sn_vectorizer_set_vocabulary(sn_vectorizer_t *v,
                                              const char *const *tokens,
                                              size_t n, const float *idf)
{
    static const char who[] = "sn_vectorizer_set_vocabulary";
    sn_status st = check_vocab_args(v, tokens, n, idf, who);
    if (st != SN_OK)
        return st;
    size_t skip = has_specials(tokens, n) ? 2 : 0;
    sn_strtab vocab;
    st = sn_vocab_start(&vocab, &v->mem);
    for (size_t i = skip; i < n && st == SN_OK; i++)
        st = sn_vocab_push(&vocab, tokens[i], strlen(tokens[i]), who, i);
    float *w = NULL;
    if (st == SN_OK && idf != NULL) {
        w = sn_mem_calloc(&v->mem, vocab.n, sizeof *w);
        if (w == NULL)
            st = SN_ERR_NOMEM;
        else if (skip == 2)
            memcpy(w, idf, n * sizeof *w);
        else {
            memcpy(w + 2, idf, n * sizeof *w);
            set_special_idf(w, vocab.n);
        }
    }
    if (st != SN_OK) {
        sn_strtab_free(&vocab); /* safe after a failed sn_vocab_start */
        return st;
    }
    sn_vectorizer_install(v, &vocab, w);
    return SN_OK;
}

/* ------------------------------------------------------------ lookups */

SN_API int sn_vectorizer_vocab_size(const sn_vectorizer_t *v)
{
    if (v == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_vectorizer_vocab_size: v is "
                       "NULL");
    return (int)v->vocab.n;
}

SN_API const char *sn_vectorizer_token(const sn_vectorizer_t *v, int id)
{
    if (v == NULL) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_vectorizer_token: v is NULL");
        return NULL;
    }
    if (id < 0 || (size_t)id >= v->vocab.n) {
        sn_fail(SN_ERR_NOT_FOUND, "sn_vectorizer_token: id %d is outside the "
                "vocabulary [0, %zu)", id, v->vocab.n);
        return NULL;
    }
    return sn_strtab_str(&v->vocab, (size_t)id);
}

SN_API int sn_vectorizer_lookup(const sn_vectorizer_t *v, const char *token)
{
    if (v == NULL || token == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_vectorizer_lookup: %s is NULL",
                       v == NULL ? "v" : "token");
    int32_t id = sn_strtab_find(&v->vocab, token, strlen(token));
    return id < 0 ? 1 : id;
}

SN_API const float *sn_vectorizer_idf(const sn_vectorizer_t *v)
{
    return v != NULL ? v->idf : NULL;
}

/* ----------------------------------------------------------- transforms */

static int32_t lookup_gram(const sn_vectorizer_t *v, sn_text_work *w,
                           size_t j)
{
    const char *tok;
    size_t len;
    sn_text_gram(w, j, &tok, &len);
    int32_t id = sn_strtab_find(&v->vocab, tok, len);
    return id < 0 ? 1 : id;
}

/* The longest n-gram count of the texts (Keras None: pad to the longest). */
static sn_status longest(const sn_vectorizer_t *v, const char *const *texts,
                         size_t n, size_t *out)
{
    sn_text_work w;
    sn_text_work_init(&w, &v->mem, v->opts.standardize, v->opts.ngrams);
    sn_status st = SN_OK;
    size_t best = 0;
    for (size_t i = 0; i < n && st == SN_OK; i++) {
        st = sn_text_prepare(&w, texts[i]);
        if (st == SN_OK && sn_text_count(&w) > best)
            best = sn_text_count(&w);
    }
    sn_text_work_free(&w);
    *out = best;
    return st;
}

static sn_status width_of(const sn_vectorizer_t *v, const char *const *texts,
                          size_t n, size_t *width, const char *who)
{
    if (v == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: v is NULL", who);
    sn_status st = check_texts(texts, n, who);
    if (st != SN_OK)
        return st;
    if (v->opts.output_mode != SN_OUTPUT_INT) {
        *width = v->vocab.n;
        return SN_OK;
    }
    if (v->opts.output_sequence_length > 0) {
        *width = (size_t)v->opts.output_sequence_length;
        return SN_OK;
    }
    st = longest(v, texts, n, width);
    if (st == SN_OK && *width > INT32_MAX)
        st = sn_fail(SN_ERR_INVALID_ARG, "%s: a text gives %zu tokens, more "
                     "than an int holds", who, *width);
    return st;
}

SN_API int sn_vectorizer_output_width(const sn_vectorizer_t *v,
                                      const char *const *texts, size_t n)
{
    size_t width = 0;
    sn_status st = width_of(v, texts, n, &width,
                            "sn_vectorizer_output_width");
    return st != SN_OK ? st : (int)width;
}

/* One row of ids: the kept window of the n-gram sequence, padded. */
static void int_row(const sn_vectorizer_t *v, sn_text_work *w, size_t width,
                    int32_t *row)
{
    size_t total = sn_text_count(w);
    size_t keep = total < width ? total : width;
    size_t first = 0;
    if (total > width && v->opts.truncation == SN_SIDE_PRE)
        first = total - width; /* keep the last width n-grams */
    size_t pad = width - keep;
    int32_t *dst = row;
    if (v->opts.padding == SN_SIDE_PRE) {
        memset(row, 0, pad * sizeof *row);
        dst = row + pad;
    } else {
        memset(row + keep, 0, pad * sizeof *row);
    }
    for (size_t j = 0; j < keep; j++)
        dst[j] = lookup_gram(v, w, first + j);
}

SN_API sn_status sn_vectorizer_transform(const sn_vectorizer_t *v,
                                         const char *const *texts, size_t n,
                                         int32_t *out)
{
    static const char who[] = "sn_vectorizer_transform";
    size_t width = 0;
    sn_status st = width_of(v, texts, n, &width, who);
    if (st != SN_OK)
        return st;
    if (v->opts.output_mode != SN_OUTPUT_INT)
        return sn_fail(SN_ERR_STATE, "%s: the output mode is not "
                       "SN_OUTPUT_INT; use sn_vectorizer_transform_dense",
                       who);
    if (out == NULL && n > 0 && width > 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: out is NULL", who);
    sn_text_work w;
    sn_text_work_init(&w, &v->mem, v->opts.standardize, v->opts.ngrams);
    for (size_t i = 0; i < n && st == SN_OK; i++) {
        st = sn_text_prepare(&w, texts[i]);
        if (st == SN_OK)
            int_row(v, &w, width, out + i * width);
    }
    sn_text_work_free(&w);
    return st;
}

/* One bag-of-n-grams row of vocab.n columns. */
static void dense_row(const sn_vectorizer_t *v, sn_text_work *w, float *row)
{
    size_t cols = v->vocab.n;
    memset(row, 0, cols * sizeof *row);
    size_t total = sn_text_count(w);
    for (size_t j = 0; j < total; j++) {
        int32_t id = lookup_gram(v, w, j);
        if (v->opts.output_mode == SN_OUTPUT_MULTI_HOT)
            row[id] = 1.0f;
        else
            row[id] += 1.0f;
    }
    if (v->opts.output_mode == SN_OUTPUT_TF_IDF)
        for (size_t c = 0; c < cols; c++)
            row[c] *= v->idf[c];
}

SN_API sn_status sn_vectorizer_transform_dense(const sn_vectorizer_t *v,
                                               const char *const *texts,
                                               size_t n, float *out)
{
    static const char who[] = "sn_vectorizer_transform_dense";
    size_t width = 0;
    sn_status st = width_of(v, texts, n, &width, who);
    if (st != SN_OK)
        return st;
    if (v->opts.output_mode == SN_OUTPUT_INT)
        return sn_fail(SN_ERR_STATE, "%s: the output mode is SN_OUTPUT_INT; "
                       "use sn_vectorizer_transform", who);
    if (out == NULL && n > 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: out is NULL", who);
    sn_text_work w;
    sn_text_work_init(&w, &v->mem, v->opts.standardize, v->opts.ngrams);
    for (size_t i = 0; i < n && st == SN_OK; i++) {
        st = sn_text_prepare(&w, texts[i]);
        if (st == SN_OK)
            dense_row(v, &w, out + i * width);
    }
    sn_text_work_free(&w);
    return st;
}

/* ---------------------------------------------------------------- decode */

SN_API sn_status sn_vectorizer_decode(const sn_vectorizer_t *v,
                                      const int32_t *ids, size_t len,
                                      char *buf, size_t cap, size_t *needed)
{
    static const char who[] = "sn_vectorizer_decode";
    if (needed != NULL)
        *needed = 0;
    if (v == NULL || buf == NULL || cap == 0 || (ids == NULL && len > 0))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: %s", who,
                       v == NULL ? "v is NULL"
                       : buf == NULL || cap == 0 ? "buf is NULL or cap is 0"
                                                 : "ids is NULL");
    size_t total = 0, written = 0;
    bool fits = true;
    for (size_t i = 0; i < len; i++) {
        if (ids[i] < 0 || (size_t)ids[i] >= v->vocab.n) {
            buf[written] = '\0';
            return sn_fail(SN_ERR_INVALID_ARG, "%s: ids[%zu] = %ld is outside "
                           "the vocabulary [0, %zu)", who, i, (long)ids[i],
                           v->vocab.n);
        }
        if (ids[i] == 0)
            continue; /* padding */
        size_t tl = v->vocab.len[ids[i]];
        size_t sep = total > 0 ? 1 : 0;
        total += sep + tl;
        if (fits && written + sep + tl < cap) {
            if (sep)
                buf[written++] = ' ';
            memcpy(buf + written, sn_strtab_str(&v->vocab, (size_t)ids[i]),
                   tl);
            written += tl;
        } else {
            fits = false; /* whole tokens only */
        }
    }
    buf[written] = '\0';
    if (needed != NULL)
        *needed = total;
    if (!fits)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: the text needs %zu bytes and "
                       "a NUL, buf holds %zu", who, total, cap);
    return SN_OK;
}

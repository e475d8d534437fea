/*
 * wordvec.c - nearest-neighbour and analogy queries over word vectors.
 *
 * The index keeps the rows scaled to unit length, U [V, D], so that the
 * cosine similarity of a query q with every word is one matrix-vector
 * product s = U q / |q| (CBLAS sgemv), O(V D).  The k best are kept in a
 * size-k min-heap while s is scanned, O(V log k): no sort of V scores.
 * Rows that were all zeros (no vector) stay zero and are skipped by a
 * flag, as are the excluded ids.
 *
 * Analogy a - b + c follows gensim's most_similar(positive=[a, c],
 * negative=[b]) (3CosAdd): the mean of u_a - u_b + u_c, then the nearest
 * words to it with a, b and c left out (Mikolov et al. 2013).
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "internal.h"
#include "text/text_impl.h"

struct sn_wordvec {
    sn_mem mem;
    int n, dim;
    float *unit;             /* [n, dim]                                  */
    uint8_t *has;            /* row had a vector                          */
    sn_strtab words;         /* id of a word; ids == rows when vocab given */
    int32_t *row_of_word;    /* word id -> row                            */
    int32_t *word_of_row;    /* row -> word id                            */
    bool named;
};

SN_API void sn_wordvec_free(sn_wordvec_t *wv)
{
    if (wv == NULL)
        return;
    sn_mem mem = wv->mem;
    sn_mem_free(&mem, wv->unit);
    sn_mem_free(&mem, wv->has);
    sn_mem_free(&mem, wv->row_of_word);
    sn_mem_free(&mem, wv->word_of_row);
    sn_strtab_free(&wv->words);
    sn_mem_free(&mem, wv);
}

/* Copies row i scaled to unit length; false if a value is not finite. */
static bool unit_row(const float *v, int dim, float *out, uint8_t *has)
{
    double ss = 0.0;
    for (int j = 0; j < dim; j++) {
        if (!isfinite(v[j]))
            return false;
        ss += (double)v[j] * v[j];
    }
    *has = ss > 0.0;
    float scale = ss > 0.0 ? (float)(1.0 / sqrt(ss)) : 0.0f;
    for (int j = 0; j < dim; j++)
        out[j] = v[j] * scale;
    return true;
}

static sn_status add_words(sn_wordvec_t *wv, const char *const *vocab)
{
    wv->row_of_word = sn_mem_calloc(&wv->mem, (size_t)wv->n + 1,
                                    sizeof *wv->row_of_word);
    wv->word_of_row = sn_mem_calloc(&wv->mem, (size_t)wv->n,
                                    sizeof *wv->word_of_row);
    if (wv->row_of_word == NULL || wv->word_of_row == NULL)
        return SN_ERR_NOMEM;
    for (int i = 0; i < wv->n; i++) {
        const char *s = vocab[i] != NULL ? vocab[i] : "";
        size_t before = wv->words.n;
        int32_t id = sn_strtab_add(&wv->words, s, strlen(s));
        if (id < 0)
            return SN_ERR_NOMEM;
        if (wv->words.n > before)
            wv->row_of_word[id] = i;   /* the first row of a word wins */
        wv->word_of_row[i] = id;
    }
    wv->named = true;
    return SN_OK;
}

SN_API sn_status sn_wordvec_new(const float *vectors, int vocab_size,
                                int dim, const char *const *vocab,
                                sn_wordvec_t **out)
{
    const char *who = "sn_wordvec_new";
    if (out != NULL)
        *out = NULL;
    if (vectors == NULL || out == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: NULL argument", who);
    if (vocab_size < 1 || dim < 1)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: vocab_size %d and dim %d "
                       "must be positive", who, vocab_size, dim);
    sn_mem mem = sn_mem_current();
    sn_wordvec_t *wv = sn_mem_calloc(&mem, 1, sizeof *wv);
    if (wv == NULL)
        return sn_fail(SN_ERR_NOMEM, "%s: out of memory", who);
    wv->mem = mem;
    wv->n = vocab_size;
    wv->dim = dim;
    sn_strtab_init(&wv->words, &mem, false);
    wv->unit = sn_mem_calloc(&mem, (size_t)vocab_size * (size_t)dim,
                             sizeof *wv->unit);
    wv->has = sn_mem_calloc(&mem, (size_t)vocab_size, 1);
    sn_status st = wv->unit != NULL && wv->has != NULL ? SN_OK
                                                       : SN_ERR_NOMEM;
    for (int i = 0; i < vocab_size && st == SN_OK; i++)
        if (!unit_row(vectors + (size_t)i * dim, dim,
                      wv->unit + (size_t)i * dim, wv->has + i))
            st = sn_fail(SN_ERR_NUMERIC, "%s: row %d holds a non-finite "
                         "value", who, i);
    if (st == SN_OK && vocab != NULL)
        st = add_words(wv, vocab);
    if (st != SN_OK) {
        sn_wordvec_free(wv);
        return st == SN_ERR_NOMEM ? sn_fail(st, "%s: out of memory", who)
                                  : st;
    }
    *out = wv;
    return SN_OK;
}

SN_API int sn_wordvec_lookup(const sn_wordvec_t *wv, const char *word)
{
    if (wv == NULL || word == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_wordvec_lookup: NULL "
                       "argument");
    int32_t id = wv->named && word[0] != '\0'
                 ? sn_strtab_find(&wv->words, word, strlen(word)) : -1;
    if (id < 0)
        return sn_fail(SN_ERR_NOT_FOUND, "sn_wordvec_lookup: '%.64s' is not "
                       "in the vocabulary", word);
    return wv->row_of_word[id];
}

SN_API const char *sn_wordvec_word(const sn_wordvec_t *wv, int id)
{
    if (wv == NULL || id < 0 || id >= wv->n) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_wordvec_word: id out of range");
        return NULL;
    }
    return wv->named ? sn_strtab_str(&wv->words,
                                     (size_t)wv->word_of_row[id]) : "";
}

/* ---------------------------------------------------------------- top-k */

typedef struct scored {
    float score;
    int id;
} scored;

/* worse: lower score, ties the larger id (so results are deterministic) */
static bool worse(scored a, scored b)
{
    return a.score != b.score ? a.score < b.score : a.id > b.id;
}

static void sift_down(scored *h, int n, int i)
{
    for (;;) {
        int c = 2 * i + 1;
        if (c >= n)
            return;
        if (c + 1 < n && worse(h[c + 1], h[c]))
            c++;
        if (!worse(h[c], h[i]))
            return;
        scored t = h[c];
        h[c] = h[i];
        h[i] = t;
        i = c;
    }
}

/* The k best of s[0 .. n) with skip[i] == 0, best first, into h. */
static int top_k(const float *s, const uint8_t *skip, int n, int k,
                 scored *h)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (skip[i])
            continue;
        scored x = { s[i], i };
        if (m < k) {
            /* sift up */
            int j = m++;
            h[j] = x;
            while (j > 0 && worse(h[j], h[(j - 1) / 2])) {
                scored t = h[j];
                h[j] = h[(j - 1) / 2];
                h[(j - 1) / 2] = t;
                j = (j - 1) / 2;
            }
        } else if (worse(h[0], x)) {
            h[0] = x;
            sift_down(h, m, 0);
        }
    }
    /* pop the worst to the back: h ends best first */
    for (int end = m - 1; end > 0; end--) {
        scored t = h[0];
        h[0] = h[end];
        h[end] = t;
        sift_down(h, end, 0);
    }
    return m;
}

SN_API sn_status sn_wordvec_nearest(const sn_wordvec_t *wv,
                                    const float *query, int k,
                                    const int *exclude, int n_exclude,
                                    int *ids, float *scores, int *found)
{
    const char *who = "sn_wordvec_nearest";
    if (found != NULL)
        *found = 0;
    if (wv == NULL || query == NULL || ids == NULL ||
        (exclude == NULL && n_exclude > 0) || n_exclude < 0 || k < 1)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: NULL argument or k < 1",
                       who);
    double ss = 0.0;
    for (int j = 0; j < wv->dim; j++)
        ss += (double)query[j] * query[j];
    if (!(ss > 0.0) || !isfinite(ss))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: the query is zero or not "
                       "finite", who);
    float *s = sn_mem_alloc(&wv->mem, (size_t)wv->n * sizeof *s);
    uint8_t *skip = sn_mem_alloc(&wv->mem, (size_t)wv->n);
    scored *h = sn_mem_alloc(&wv->mem, (size_t)(k < wv->n ? k : wv->n) *
                                       sizeof *h);
    if (s == NULL || skip == NULL || h == NULL) {
        sn_mem_free(&wv->mem, s);
        sn_mem_free(&wv->mem, skip);
        sn_mem_free(&wv->mem, h);
        return sn_fail(SN_ERR_NOMEM, "%s: out of memory", who);
    }
    cblas_sgemv(CblasRowMajor, CblasNoTrans, wv->n, wv->dim,
                (float)(1.0 / sqrt(ss)), wv->unit, wv->dim, query, 1, 0.0f,
                s, 1);
    for (int i = 0; i < wv->n; i++)
        skip[i] = !wv->has[i];
    for (int e = 0; e < n_exclude; e++)
        if (exclude[e] >= 0 && exclude[e] < wv->n)
            skip[exclude[e]] = 1;
    int m = top_k(s, skip, wv->n, k < wv->n ? k : wv->n, h);
    for (int i = 0; i < m; i++) {
        ids[i] = h[i].id;
        if (scores != NULL)
            scores[i] = h[i].score;
    }
    if (found != NULL)
        *found = m;
    sn_mem_free(&wv->mem, s);
    sn_mem_free(&wv->mem, skip);
    sn_mem_free(&wv->mem, h);
    return SN_OK;
}

static sn_status check_id(const sn_wordvec_t *wv, int id, const char *who)
{
    if (wv == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: wv is NULL", who);
    if (id < 0 || id >= wv->n)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: id %d is outside 0 .. %d",
                       who, id, wv->n - 1);
    if (!wv->has[id])
        return sn_fail(SN_ERR_INVALID_ARG, "%s: id %d has no vector (all "
                       "zeros)", who, id);
    return SN_OK;
}

SN_API sn_status sn_wordvec_neighbours(const sn_wordvec_t *wv, int id, int k,
                                       int *ids, float *scores, int *found)
{
    sn_status st = check_id(wv, id, "sn_wordvec_neighbours");
    if (st != SN_OK)
        return st;
    return sn_wordvec_nearest(wv, wv->unit + (size_t)id * wv->dim, k, &id, 1,
                              ids, scores, found);
}

SN_API sn_status sn_wordvec_analogy(const sn_wordvec_t *wv, int a, int b,
                                    int c, int k, int *ids, float *scores,
                                    int *found)
{
    const char *who = "sn_wordvec_analogy";
    sn_status st = check_id(wv, a, who);
    if (st == SN_OK)
        st = check_id(wv, b, who);
    if (st == SN_OK)
        st = check_id(wv, c, who);
    if (st != SN_OK)
        return st;
    float *q = sn_mem_alloc(&wv->mem, (size_t)wv->dim * sizeof *q);
    if (q == NULL)
        return sn_fail(SN_ERR_NOMEM, "%s: out of memory", who);
    const float *ua = wv->unit + (size_t)a * wv->dim;
    const float *ub = wv->unit + (size_t)b * wv->dim;
    const float *uc = wv->unit + (size_t)c * wv->dim;
    for (int j = 0; j < wv->dim; j++)
        q[j] = (ua[j] - ub[j] + uc[j]) / 3.0f;
    int ex[3] = { a, b, c };
    double ss = 0.0;
    for (int j = 0; j < wv->dim; j++)
        ss += (double)q[j] * q[j];
    st = ss > 0.0 ? sn_wordvec_nearest(wv, q, k, ex, 3, ids, scores, found)
                  : sn_fail(SN_ERR_INVALID_ARG, "%s: a - b + c is the zero "
                            "vector", who);
    sn_mem_free(&wv->mem, q);
    return st;
}

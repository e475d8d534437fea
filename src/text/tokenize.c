/*
 * tokenize.c - splitting a standardized text on ASCII whitespace (as
 * tf.strings.split: runs of whitespace are one separator, none at the
 * ends) and walking its n-grams: all unigrams, then all bigrams, then all
 * trigrams ... up to w->ngrams words, the order of tf.strings.ngrams with
 * widths (1, ..., ngrams).
 */
#include <string.h>

#include "text/text_impl.h"

void sn_text_work_init(sn_text_work *w, const sn_mem *mem, int flags,
                       int ngrams)
{
    memset(w, 0, sizeof *w);
    w->mem = *mem;
    w->flags = flags;
    w->ngrams = ngrams;
}

void sn_text_work_free(sn_text_work *w)
{
    sn_mem_free(&w->mem, w->text);
    sn_mem_free(&w->mem, w->spans);
    sn_mem_free(&w->mem, w->gram);
    memset(w, 0, sizeof *w);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
           c == '\r';
}

/* Splits w->text[0 .. n) into w->spans (room for n / 2 + 1). */
static size_t split(sn_text_work *w, size_t n)
{
    const char *s = w->text;
    size_t k = 0, i = 0;
    while (i < n) {
        while (i < n && is_space(s[i]))
            i++;
        size_t start = i;
        while (i < n && !is_space(s[i]))
            i++;
        if (i > start) {
            w->spans[k].off = start;
            w->spans[k].len = i - start;
            k++;
        }
    }
    return k;
}

sn_status sn_text_prepare(sn_text_work *w, const char *text)
{
    size_t n = strlen(text);
    size_t cap = sn_text_standardized_cap(n);
    if (cap == 0)
        return sn_fail(SN_ERR_NOMEM, "text of %zu bytes is too long", n);
    sn_status st = sn_mem_reserve(&w->mem, (void **)&w->text, &w->text_cap,
                                  cap);
    if (st != SN_OK)
        return st;
    size_t len = sn_text_standardize(text, n, w->flags, w->text);
    size_t spans_bytes = 0;
    if (len / 2 + 1 > SIZE_MAX / sizeof(sn_span))
        return sn_fail(SN_ERR_NOMEM, "text of %zu bytes is too long", n);
    spans_bytes = (len / 2 + 1) * sizeof(sn_span);
    size_t spans_cap_bytes = w->spans_cap * sizeof(sn_span);
    st = sn_mem_reserve(&w->mem, (void **)&w->spans, &spans_cap_bytes,
                        spans_bytes);
    if (st != SN_OK)
        return st;
    w->spans_cap = spans_cap_bytes / sizeof(sn_span);
    /* an n-gram is n tokens and the n - 1 spaces between them, never
     * longer than the text it comes from */
    if (w->ngrams > 1) {
        st = sn_mem_reserve(&w->mem, (void **)&w->gram, &w->gram_cap,
                            len + 1);
        if (st != SN_OK)
            return st;
    }
    w->n_tokens = split(w, len);
    return SN_OK;
}

/* How many n-grams of n words a text of k words has. */
static size_t grams_of_width(size_t k, int n)
{
    return k >= (size_t)n ? k - (size_t)n + 1 : 0;
}

size_t sn_text_count(const sn_text_work *w)
{
    size_t total = 0;
    for (int n = 1; n <= w->ngrams; n++)
        total += grams_of_width(w->n_tokens, n);
    return total;
}

/* Joins the n words from span first with single spaces into w->gram. */
static size_t join_words(sn_text_work *w, size_t first, int n)
{
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        const sn_span *s = &w->spans[first + (size_t)i];
        if (i > 0)
            w->gram[len++] = ' ';
        memcpy(w->gram + len, w->text + s->off, s->len);
        len += s->len;
    }
    return len;
}

void sn_text_gram(sn_text_work *w, size_t j, const char **tok, size_t *len)
{
    if (j < w->n_tokens) {   /* a word: no copy */
        *tok = w->text + w->spans[j].off;
        *len = w->spans[j].len;
        return;
    }
    j -= w->n_tokens;
    int n = 2;
    while (j >= grams_of_width(w->n_tokens, n))
        j -= grams_of_width(w->n_tokens, n++);
    *len = join_words(w, j, n);
    *tok = w->gram;
}

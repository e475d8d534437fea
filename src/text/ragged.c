/*
 * ragged.c - ragged id lists (flat ids + offsets, include/seqnet.h) and
 * Keras pad_sequences over them.  The tokenizers (tokenizer.c, bpe.c)
 * build their results here, one id and one row at a time.
 */
#include <limits.h>
#include <string.h>

#include "text/text_impl.h"

/* ------------------------------------------------------------- growing */

sn_status sn_text_grow(const sn_mem *mem, void **p, size_t *cap, size_t need,
                       size_t elem)
{
    if (need <= *cap)
        return SN_OK;
    size_t n = *cap < 16 ? 16 : *cap;
    while (n < need) {
        if (n > SIZE_MAX / 2 / elem)
            return sn_fail(SN_ERR_NOMEM, "array of %zu entries is too big",
                           need);
        n *= 2;
    }
    void *q = sn_mem_alloc(mem, n * elem);
    if (q == NULL)
        return SN_ERR_NOMEM;
    if (*cap > 0)
        memcpy(q, *p, *cap * elem);
    sn_mem_free(mem, *p);
    *p = q;
    *cap = n;
    return SN_OK;
}

/* ------------------------------------------------------------- builder */

sn_ragged *sn_ragged_create(const sn_mem *mem, size_t rows)
{
    sn_ragged *r = sn_mem_calloc(mem, 1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->mem = *mem;
    r->offsets = sn_mem_calloc(mem, rows + 1, sizeof *r->offsets);
    if (r->offsets == NULL || rows == SIZE_MAX) {
        sn_ragged_free(r);
        return NULL;
    }
    r->rows_cap = rows;
    return r;
}

sn_status sn_ragged_push(sn_ragged *r, const int32_t *ids, size_t n)
{
    if (n > SIZE_MAX - r->n_ids)
        return sn_fail(SN_ERR_NOMEM, "too many ids");
    sn_status st = sn_text_grow(&r->mem, (void **)&r->ids, &r->ids_cap,
                                r->n_ids + n, sizeof *r->ids);
    if (st != SN_OK)
        return st;
    if (n > 0)
        memcpy(r->ids + r->n_ids, ids, n * sizeof *ids);
    r->n_ids += n;
    return SN_OK;
}

void sn_ragged_end_row(sn_ragged *r)
{
    /* rows_cap rows were promised at creation */
    if (r->n < r->rows_cap)
        r->offsets[++r->n] = r->n_ids;
}

/* ---------------------------------------------------------- accessors */

SN_API size_t sn_ragged_count(const sn_ragged_t *r)
{
    return r != NULL ? r->n : 0;
}

SN_API const int32_t *sn_ragged_ids(const sn_ragged_t *r)
{
    static const int32_t none[1] = {0};
    if (r == NULL)
        return NULL;
    return r->ids != NULL ? r->ids : none;
}

SN_API const size_t *sn_ragged_offsets(const sn_ragged_t *r)
{
    return r != NULL ? r->offsets : NULL;
}

SN_API const int32_t *sn_ragged_row(const sn_ragged_t *r, size_t i,
                                    size_t *len)
{
    if (len != NULL)
        *len = 0;
    if (r == NULL || i >= r->n) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_ragged_row: row %zu of %zu", i,
                r != NULL ? r->n : (size_t)0);
        return NULL;
    }
    if (len != NULL)
        *len = r->offsets[i + 1] - r->offsets[i];
    return sn_ragged_ids(r) + r->offsets[i];
}

SN_API void sn_ragged_free(sn_ragged_t *r)
{
    if (r == NULL)
        return;
    sn_mem mem = r->mem;
    sn_mem_free(&mem, r->ids);
    sn_mem_free(&mem, r->offsets);
    sn_mem_free(&mem, r);
}

/* ------------------------------------------------------ pad_sequences */

static sn_status pad_options(const sn_pad_opts *in, sn_pad_opts *o,
                             const char *who)
{
    sn_pad_opts d = SN_PAD_OPTS_INIT;
    *o = d;
    if (in != NULL) {
        sn_status st = sn_opts_merge(o, sizeof *o, in, who);
        if (st != SN_OK)
            return st;
    }
    if (o->maxlen < 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: maxlen %d is negative", who,
                       o->maxlen);
    if ((o->padding != SN_SIDE_PRE && o->padding != SN_SIDE_POST) ||
        (o->truncating != SN_SIDE_PRE && o->truncating != SN_SIDE_POST))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: padding and truncating must "
                       "be SN_SIDE_PRE or SN_SIDE_POST", who);
    return SN_OK;
}

/* The longest sequence, after checking the offsets. */
static sn_status longest(const size_t *offsets, size_t n, size_t *max,
                         const char *who)
{
    if (offsets == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: offsets is NULL", who);
    if (offsets[0] != 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: offsets[0] is %zu, not 0",
                       who, offsets[0]);
    *max = 0;
    for (size_t i = 0; i < n; i++) {
        if (offsets[i + 1] < offsets[i])
            return sn_fail(SN_ERR_INVALID_ARG, "%s: offsets[%zu] < "
                           "offsets[%zu] (a negative length)", who, i + 1, i);
        size_t len = offsets[i + 1] - offsets[i];
        if (len > *max)
            *max = len;
    }
    return SN_OK;
}

static int width_of(const size_t *offsets, size_t n, const sn_pad_opts *o,
                    const char *who)
{
    size_t max = 0;
    sn_status st = longest(offsets, n, &max, who);
    if (st != SN_OK)
        return st;
    if (o->maxlen > 0)
        return o->maxlen;
    if (max > INT_MAX)
        return sn_fail(SN_ERR_SHAPE, "%s: the longest sequence (%zu ids) is "
                       "wider than INT_MAX", who, max);
    return (int)max;
}

SN_API int sn_pad_width(const size_t *offsets, size_t n,
                        const sn_pad_opts *opts)
{
    sn_pad_opts o;
    sn_status st = pad_options(opts, &o, "sn_pad_width");
    if (st != SN_OK)
        return st;
    return width_of(offsets, n, &o, "sn_pad_width");
}

/* One row: the kept window of seq[0 .. len) placed at the padding side. */
static void pad_row(const int32_t *seq, size_t len, size_t width,
                    const sn_pad_opts *o, int32_t *row)
{
    size_t keep = len < width ? len : width;
    const int32_t *from = o->truncating == SN_SIDE_PRE ? seq + (len - keep)
                                                       : seq;
    size_t at = o->padding == SN_SIDE_PRE ? width - keep : 0;
    for (size_t j = 0; j < width; j++)
        row[j] = o->value;
    if (keep > 0)
        memcpy(row + at, from, keep * sizeof *row);
}

SN_API sn_status sn_pad_sequences(const int32_t *ids, const size_t *offsets,
                                  size_t n, const sn_pad_opts *opts,
                                  int32_t *out, size_t out_cap)
{
    const char *who = "sn_pad_sequences";
    sn_pad_opts o;
    sn_status st = pad_options(opts, &o, who);
    if (st != SN_OK)
        return st;
    int width = width_of(offsets, n, &o, who);
    if (width < 0)
        return (sn_status)width;
    if (ids == NULL && offsets[n] > 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: ids is NULL", who);
    if (n > 0 && width > 0 && (out == NULL || out_cap / (size_t)width < n))
        return sn_fail(SN_ERR_SHAPE, "%s: out holds %zu ids, %zu x %d are "
                       "needed", who, out == NULL ? (size_t)0 : out_cap, n,
                       width);
    for (size_t i = 0; i < n; i++)
        pad_row(ids + offsets[i], offsets[i + 1] - offsets[i], (size_t)width,
                &o, out + i * (size_t)width);
    return SN_OK;
}

/*
 * bpe_encode.c - text to BPE ids and back.
 *
 * A text is cut into pieces (sn_bpe_piece_end); a piece starts as its byte
 * tokens and the adjacent pair of lowest merge rank is merged (every
 * occurrence, left to right) until no pair has a rank - the order the
 * merges were learned in, so a training word encodes as training left it.
 * Texts repeat words, so a call keeps a cache piece -> ids (an open-
 * addressing table over an arena of piece bytes and ids), cleared when it
 * gets big; it lives in the call, so the tokenizer stays read only.
 */
#include <string.h>

#include "text/text_impl.h"

enum { CACHE_MAX_ENTRIES = 1 << 18 };

typedef struct cache_entry {
    uint32_t hash;
    uint32_t len;            /* piece bytes                               */
    size_t bytes;            /* piece bytes' offset in cache->text        */
    size_t ids;              /* ids' offset in cache->idbuf               */
    uint32_t n_ids;
} cache_entry;

typedef struct encoder {
    const sn_bpe *b;
    sn_mem mem;
    int32_t *work;           /* the piece being merged [SN_BPE_MAX_PIECE] */
    cache_entry *slots;      /* n_slots, hash 0 = empty (hashes are | 1)  */
    size_t n_slots, n_used;
    char *text;
    size_t text_len, text_cap;
    int32_t *idbuf;
    size_t id_len, id_cap;
    char *std;               /* standardized text                         */
    size_t std_cap;
} encoder;

static sn_status encoder_init(encoder *e, const sn_bpe *b)
{
    memset(e, 0, sizeof *e);
    e->b = b;
    e->mem = sn_mem_current();
    e->n_slots = 1024;
    e->work = sn_mem_alloc(&e->mem, SN_BPE_MAX_PIECE * sizeof *e->work);
    e->slots = sn_mem_calloc(&e->mem, e->n_slots, sizeof *e->slots);
    return e->work != NULL && e->slots != NULL ? SN_OK : SN_ERR_NOMEM;
}

static void encoder_free(encoder *e)
{
    sn_mem_free(&e->mem, e->work);
    sn_mem_free(&e->mem, e->slots);
    sn_mem_free(&e->mem, e->text);
    sn_mem_free(&e->mem, e->idbuf);
    sn_mem_free(&e->mem, e->std);
}

/* --------------------------------------------------------- one piece */

/* Merges the piece s[0 .. n) (n <= SN_BPE_MAX_PIECE) in e->work; returns
 * the number of ids left there. */
static size_t merge_piece(const encoder *e, const unsigned char *s, size_t n)
{
    int32_t *w = e->work;
    for (size_t i = 0; i < n; i++)
        w[i] = SN_BPE_N_SPECIAL + s[i];
    while (n > 1) {
        int32_t best = -1;
        for (size_t i = 0; i + 1 < n; i++) {
            int32_t r = sn_bpe_rank(e->b, w[i], w[i + 1]);
            if (r >= 0 && (best < 0 || r < best))
                best = r;
        }
        if (best < 0)
            break;
        int32_t a = e->b->merges[2 * best], c = e->b->merges[2 * best + 1];
        size_t out = 0;
        for (size_t i = 0; i < n; i++) {
            if (i + 1 < n && w[i] == a && w[i + 1] == c) {
                w[out++] = SN_BPE_BASE + best;
                i++;
            } else {
                w[out++] = w[i];
            }
        }
        n = out;
    }
    return n;
}

/* ------------------------------------------------------------- cache */

static void cache_clear(encoder *e)
{
    memset(e->slots, 0, e->n_slots * sizeof *e->slots);
    e->n_used = e->text_len = e->id_len = 0;
}

static sn_status cache_grow(encoder *e)
{
    size_t n = 2 * e->n_slots;
    cache_entry *s = sn_mem_calloc(&e->mem, n, sizeof *s);
    if (s == NULL)
        return SN_ERR_NOMEM;
    for (size_t i = 0; i < e->n_slots; i++) {
        if (e->slots[i].hash == 0)
            continue;
        size_t j = e->slots[i].hash & (n - 1);
        while (s[j].hash != 0)
            j = (j + 1) & (n - 1);
        s[j] = e->slots[i];
    }
    sn_mem_free(&e->mem, e->slots);
    e->slots = s;
    e->n_slots = n;
    return SN_OK;
}

/* The ids of piece s[0 .. n): *ids points into the cache (valid until the
 * next call). */
static sn_status piece_ids(encoder *e, const char *s, size_t n,
                           const int32_t **ids, size_t *n_ids)
{
    uint32_t h = sn_strtab_hash(s, n) | 1u;
    size_t i = h & (e->n_slots - 1);
    for (; e->slots[i].hash != 0; i = (i + 1) & (e->n_slots - 1)) {
        cache_entry *c = &e->slots[i];
        if (c->hash == h && c->len == n &&
            memcmp(e->text + c->bytes, s, n) == 0) {
            *ids = e->idbuf + c->ids;
            *n_ids = c->n_ids;
            return SN_OK;
        }
    }
    size_t m = merge_piece(e, (const unsigned char *)s, n);
    if (e->n_used >= CACHE_MAX_ENTRIES) {
        cache_clear(e);
        i = h & (e->n_slots - 1);
    }
    sn_status st = sn_text_grow(&e->mem, (void **)&e->text, &e->text_cap,
                                e->text_len + n, 1);
    if (st == SN_OK)
        st = sn_text_grow(&e->mem, (void **)&e->idbuf, &e->id_cap,
                          e->id_len + m, sizeof *e->idbuf);
    if (st != SN_OK)
        return st;
    memcpy(e->text + e->text_len, s, n);
    memcpy(e->idbuf + e->id_len, e->work, m * sizeof *e->work);
    e->slots[i] = (cache_entry){ h, (uint32_t)n, e->text_len, e->id_len,
                                 (uint32_t)m };
    e->text_len += n;
    e->id_len += m;
    *ids = e->idbuf + e->id_len - m;
    *n_ids = m;
    if (2 * ++e->n_used > e->n_slots)
        return cache_grow(e);
    return SN_OK;
}

/* ------------------------------------------------------------- texts */

/* Calls emit for the ids of text[0 .. len), specials by flags. */
typedef sn_status (*emit_fn)(void *ctx, const int32_t *ids, size_t n);

static sn_status encode_text(encoder *e, const char *text, size_t len,
                             int flags, emit_fn emit, void *ctx)
{
    static const int32_t bos = SN_BPE_BOS, eos = SN_BPE_EOS;
    sn_status st = SN_OK;
    if (e->b->opts.standardize != SN_STANDARDIZE_NONE) {
        size_t need = sn_text_standardized_cap(len);
        st = need == 0 ? sn_fail(SN_ERR_NOMEM, "text is too long")
                       : sn_mem_reserve(&e->mem, (void **)&e->std,
                                        &e->std_cap, need);
        if (st != SN_OK)
            return st;
        len = sn_text_standardize(text, len, e->b->opts.standardize, e->std);
        text = e->std;
    }
    if (flags & SN_BPE_ADD_BOS)
        st = emit(ctx, &bos, 1);
    for (size_t i = 0; i < len && st == SN_OK;) {
        size_t j = sn_bpe_piece_end(text, len, i);
        const int32_t *ids = NULL;
        size_t n = 0;
        st = piece_ids(e, text + i, j - i, &ids, &n);
        if (st == SN_OK)
            st = emit(ctx, ids, n);
        i = j;
    }
    if (st == SN_OK && (flags & SN_BPE_ADD_EOS))
        st = emit(ctx, &eos, 1);
    return st;
}

typedef struct span_out {
    int32_t *ids;
    size_t cap, n;
} span_out;

static sn_status emit_span(void *ctx, const int32_t *ids, size_t n)
{
    span_out *o = ctx;
    if (o->n < o->cap) {
        size_t k = o->cap - o->n < n ? o->cap - o->n : n;
        memcpy(o->ids + o->n, ids, k * sizeof *ids);
    }
    o->n += n;
    return SN_OK;
}

static sn_status emit_ragged(void *ctx, const int32_t *ids, size_t n)
{
    return sn_ragged_push(ctx, ids, n);
}

static sn_status check_flags(const sn_bpe *b, int flags, const char *who)
{
    if (b == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: bpe is NULL", who);
    if (flags & ~(SN_BPE_ADD_BOS | SN_BPE_ADD_EOS))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: unknown flags 0x%x", who,
                       (unsigned)flags);
    return SN_OK;
}

SN_API sn_status sn_bpe_encode(const sn_bpe_t *b, const char *text,
                               size_t len, int flags, int32_t *ids,
                               size_t cap, size_t *n_ids)
{
    const char *who = "sn_bpe_encode";
    if (n_ids != NULL)
        *n_ids = 0;
    sn_status st = check_flags(b, flags, who);
    if (st != SN_OK)
        return st;
    if ((text == NULL && len > 0) || n_ids == NULL || (ids == NULL && cap))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: NULL argument", who);
    encoder e;
    st = encoder_init(&e, b);
    span_out o = { ids, cap, 0 };
    if (st == SN_OK)
        st = encode_text(&e, text, len, flags, emit_span, &o);
    encoder_free(&e);
    if (st != SN_OK)
        return st == SN_ERR_NOMEM ? sn_fail(st, "%s: out of memory", who)
                                  : st;
    *n_ids = o.n;
    if (o.n > cap)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: %zu ids do not fit in %zu",
                       who, o.n, cap);
    return SN_OK;
}

SN_API sn_status sn_bpe_encode_batch(const sn_bpe_t *b,
                                     const char *const *texts, size_t n,
                                     int flags, sn_ragged_t **out)
{
    const char *who = "sn_bpe_encode_batch";
    if (out != NULL)
        *out = NULL;
    sn_status st = check_flags(b, flags, who);
    if (st != SN_OK)
        return st;
    if (out == NULL || (texts == NULL && n > 0))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: NULL argument", who);
    for (size_t i = 0; i < n; i++)
        if (texts[i] == NULL)
            return sn_fail(SN_ERR_INVALID_ARG, "%s: texts[%zu] is NULL", who,
                           i);
    encoder e;
    st = encoder_init(&e, b);
    sn_ragged *r = st == SN_OK ? sn_ragged_create(&e.mem, n) : NULL;
    if (r == NULL)
        st = SN_ERR_NOMEM;
    for (size_t i = 0; i < n && st == SN_OK; i++) {
        st = encode_text(&e, texts[i], strlen(texts[i]), flags, emit_ragged,
                         r);
        sn_ragged_end_row(r);
    }
    encoder_free(&e);
    if (st != SN_OK) {
        sn_ragged_free(r);
        return st == SN_ERR_NOMEM ? sn_fail(st, "%s: out of memory", who)
                                  : st;
    }
    *out = r;
    return SN_OK;
}

SN_API sn_status sn_bpe_decode(const sn_bpe_t *b, const int32_t *ids,
                               size_t len, char *buf, size_t cap,
                               size_t *needed)
{
    const char *who = "sn_bpe_decode";
    if (needed != NULL)
        *needed = 0;
    if (b == NULL || (ids == NULL && len > 0) || (buf == NULL && cap > 0))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: NULL argument", who);
    size_t at = 0;
    bool fits = true;
    for (size_t i = 0; i < len; i++) {
        if (ids[i] < 0 || ids[i] >= b->n_tokens)
            return sn_fail(SN_ERR_INVALID_ARG, "%s: id %d at %zu is outside "
                           "0 .. %d", who, (int)ids[i], i, b->n_tokens - 1);
        if (ids[i] < SN_BPE_N_SPECIAL)
            continue;
        size_t n = b->tok_len[ids[i]];
        if (fits && at + n < cap)
            memcpy(buf + at, b->bytes + b->tok_off[ids[i]], n);
        else
            fits = false;
        at += n;
    }
    if (needed != NULL)
        *needed = at;
    if (cap > 0)
        buf[fits ? at : 0] = '\0';
    if (!fits || cap == 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: %zu bytes and the NUL do not "
                       "fit in %zu", who, at, cap);
    return SN_OK;
}

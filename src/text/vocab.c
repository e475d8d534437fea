/*
 * vocab.c - the string table behind vocabularies and adapt's counts, and
 * the ranking adapt uses (Keras: count descending, ties broken by the
 * token in descending order).
 */
#include <stdlib.h>
#include <string.h>

#include "text/text_impl.h"

void sn_strtab_init(sn_strtab *t, const sn_mem *mem, bool counting)
{
    memset(t, 0, sizeof *t);
    t->mem = *mem;
    t->counting = counting;
}

void sn_strtab_free(sn_strtab *t)
{
    const sn_mem *m = &t->mem;
    sn_mem_free(m, t->arena);
    sn_mem_free(m, t->off);
    sn_mem_free(m, t->len);
    sn_mem_free(m, t->hash);
    sn_mem_free(m, t->count);
    sn_mem_free(m, t->df);
    sn_mem_free(m, t->last_doc);
    sn_mem_free(m, t->slots);
    sn_mem mem = t->mem;
    bool counting = t->counting;
    sn_strtab_init(t, &mem, counting);
}

/* FNV-1a: short, good enough spread for words, and no setup. */
uint32_t sn_strtab_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static int32_t probe(const sn_strtab *t, const char *s, size_t len,
                     uint32_t h, size_t *slot)
{
    size_t mask = t->n_slots - 1;
    size_t i = h & mask;
    for (;;) {
        int32_t id = t->slots[i];
        if (id < 0) {
            *slot = i;
            return -1;
        }
        if (t->hash[id] == h && t->len[id] == len &&
            memcmp(t->arena + t->off[id], s, len) == 0) {
            *slot = i;
            return id;
        }
        i = (i + 1) & mask;
    }
}

int32_t sn_strtab_find(const sn_strtab *t, const char *s, size_t len)
{
    if (t->n_slots == 0)
        return -1;
    size_t slot;
    return probe(t, s, len, sn_strtab_hash(s, len), &slot);
}

/* Copies old_n elements of *p into a new block of new_n. */
static bool grow(const sn_mem *mem, void **p, size_t old_n, size_t new_n,
                 size_t el)
{
    void *fresh = sn_mem_calloc(mem, new_n, el);
    if (fresh == NULL)
        return false;
    if (old_n > 0)
        memcpy(fresh, *p, old_n * el);
    sn_mem_free(mem, *p);
    *p = fresh;
    return true;
}

static sn_status grow_ids(sn_strtab *t)
{
    size_t cap = t->cap > 0 ? t->cap * 2 : 64;
    const sn_mem *m = &t->mem;
    bool ok = grow(m, (void **)&t->off, t->n, cap, sizeof *t->off) &&
              grow(m, (void **)&t->len, t->n, cap, sizeof *t->len) &&
              grow(m, (void **)&t->hash, t->n, cap, sizeof *t->hash);
    if (ok && t->counting)
        ok = grow(m, (void **)&t->count, t->n, cap, sizeof *t->count) &&
             grow(m, (void **)&t->df, t->n, cap, sizeof *t->df) &&
             grow(m, (void **)&t->last_doc, t->n, cap, sizeof *t->last_doc);
    if (!ok)
        return SN_ERR_NOMEM; /* the arrays grown so far stay valid */
    t->cap = cap;
    return SN_OK;
}

/* Rebuilds the slots at twice the size (or 128 to start). */
static sn_status rehash(sn_strtab *t)
{
    size_t n_slots = t->n_slots > 0 ? t->n_slots * 2 : 128;
    int32_t *slots = sn_mem_alloc(&t->mem, n_slots * sizeof *slots);
    if (slots == NULL)
        return SN_ERR_NOMEM;
    memset(slots, 0xff, n_slots * sizeof *slots); /* all -1 */
    for (size_t id = 0; id < t->n; id++) {
        size_t i = t->hash[id] & (n_slots - 1);
        while (slots[i] >= 0)
            i = (i + 1) & (n_slots - 1);
        slots[i] = (int32_t)id;
    }
    sn_mem_free(&t->mem, t->slots);
    t->slots = slots;
    t->n_slots = n_slots;
    return SN_OK;
}

static sn_status arena_room(sn_strtab *t, size_t n)
{
    if (t->arena_cap - t->arena_len >= n)
        return SN_OK;
    size_t cap = t->arena_cap > 0 ? t->arena_cap : 4096;
    while (cap - t->arena_len < n) {
        if (cap > SIZE_MAX / 2)
            return sn_fail(SN_ERR_NOMEM, "vocabulary too large");
        cap *= 2;
    }
    if (!grow(&t->mem, (void **)&t->arena, t->arena_len, cap, 1))
        return SN_ERR_NOMEM;
    t->arena_cap = cap;
    return SN_OK;
}

static int32_t insert(sn_strtab *t, const char *s, size_t len, uint32_t h)
{
    if (t->n >= SN_TEXT_MAX_IDS)
        return sn_fail(SN_ERR_NOMEM, "vocabulary has too many tokens");
    sn_status st = SN_OK;
    if (t->n == t->cap)
        st = grow_ids(t);
    if (st == SN_OK && (t->n + 1) * 2 > t->n_slots)
        st = rehash(t);
    if (st == SN_OK)
        st = arena_room(t, len + 1);
    if (st != SN_OK)
        return st;
    size_t id = t->n++;
    t->off[id] = t->arena_len;
    t->len[id] = (uint32_t)len;
    t->hash[id] = h;
    memcpy(t->arena + t->arena_len, s, len);
    t->arena[t->arena_len + len] = '\0';
    t->arena_len += len + 1;
    if (t->counting) {
        t->count[id] = 0;
        t->df[id] = 0;
        t->last_doc[id] = -1;
    }
    size_t slot;
    probe(t, s, len, h, &slot); /* the free slot after a rehash */
    t->slots[slot] = (int32_t)id;
    return (int32_t)id;
}

int32_t sn_strtab_add(sn_strtab *t, const char *s, size_t len)
{
    if (len >= UINT32_MAX)
        return sn_fail(SN_ERR_INVALID_ARG, "token of %zu bytes is too long",
                       len);
    uint32_t h = sn_strtab_hash(s, len);
    if (t->n_slots > 0) {
        size_t slot;
        int32_t id = probe(t, s, len, h, &slot);
        if (id >= 0)
            return id;
    }
    return insert(t, s, len, h);
}

sn_status sn_strtab_count(sn_strtab *t, const char *s, size_t len,
                          int64_t doc)
{
    int32_t id = sn_strtab_add(t, s, len);
    if (id < 0)
        return (sn_status)id;
    t->count[id]++;
    if (t->last_doc[id] != doc) {
        t->last_doc[id] = doc;
        t->df[id]++;
    }
    return SN_OK;
}

/* ---------------------------------------------------------------- rank */

typedef struct ranked {
    int64_t count;
    const char *s;
    uint32_t len;
    int32_t id;
} ranked;

/* Count descending, then bytes descending (a proper prefix ranks after
 * the longer token, as in a reversed lexicographic sort). */
static int cmp_ranked(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->s, b->s, n);
    if (c != 0)
        return c > 0 ? -1 : 1;
    if (a->len != b->len)
        return a->len > b->len ? -1 : 1;
    return 0;
}

static bool is_special(const char *s, size_t len)
{
    return len == 0 || (len == 5 && memcmp(s, SN_OOV_TOKEN, 5) == 0);
}

sn_status sn_strtab_rank(const sn_strtab *t, size_t limit, int32_t **ids,
                         size_t *n)
{
    *ids = NULL;
    *n = 0;
    ranked *r = sn_mem_calloc(&t->mem, t->n > 0 ? t->n : 1, sizeof *r);
    if (r == NULL)
        return SN_ERR_NOMEM;
    size_t k = 0;
    for (size_t id = 0; id < t->n; id++) {
        const char *s = sn_strtab_str(t, id);
        if (is_special(s, t->len[id]))
            continue; /* Keras drops the mask and OOV tokens from counts */
        r[k++] = (ranked){ t->count[id], s, t->len[id], (int32_t)id };
    }
    qsort(r, k, sizeof *r, cmp_ranked);
    if (limit > 0 && k > limit)
        k = limit;
    int32_t *out = sn_mem_calloc(&t->mem, k > 0 ? k : 1, sizeof *out);
    if (out != NULL)
        for (size_t i = 0; i < k; i++)
            out[i] = r[i].id;
    sn_mem_free(&t->mem, r);
    if (out == NULL)
        return SN_ERR_NOMEM;
    *ids = out;
    *n = k;
    return SN_OK;
}

/* ---------------------------------------------------- building a vocab */

sn_status sn_vocab_start(sn_strtab *t, const sn_mem *mem)
{
    sn_strtab_init(t, mem, false);
    int32_t a = sn_strtab_add(t, "", 0);
    int32_t b = a < 0 ? a : sn_strtab_add(t, SN_OOV_TOKEN, 5);
    if (b < 0) {
        sn_strtab_free(t);
        return (sn_status)b;
    }
    return SN_OK;
}

sn_status sn_vocab_push(sn_strtab *t, const char *s, size_t len,
                        const char *who, size_t index)
{
    if (len == 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: token %zu is empty (\"\" is "
                       "reserved for padding, id 0)", who, index);
    if (memchr(s, '\0', len) != NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: token %zu holds a NUL byte",
                       who, index);
    size_t before = t->n;
    int32_t id = sn_strtab_add(t, s, len);
    if (id < 0)
        return (sn_status)id;
    if (t->n == before)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: token %zu ('%.*s') %s", who,
                       index, (int)(len > 64 ? 64 : len), s,
                       id == 1 ? "is the OOV token, reserved for id 1"
                               : "occurs twice");
    return SN_OK;
}

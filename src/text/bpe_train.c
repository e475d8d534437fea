/*
 * bpe_train.c - learning BPE merges (Sennrich et al. 2016) from a corpus.
 *
 * The corpus is cut into pieces (sn_bpe_piece_end) and each distinct piece
 * ("word") is counted once, in a counting string table (vocab.c).  Every
 * word becomes its byte tokens.  Then, merge after merge:
 *   - the most frequent adjacent pair (a, b) is taken from a max-heap of
 *     (count, pair) entries, ties to the smaller (a, b);
 *   - only the words that hold it are visited (each pair keeps the list of
 *     words it was ever seen in), and in each the occurrences are replaced
 *     left to right by the new token;
 *   - the counts of the pairs around them are updated in place: old pairs
 *     touching a or b are removed and the word's pairs touching a, b or
 *     the new token added back, so unchanged pairs cancel out.
 * Old pairs only ever lose count, so their heap entries may be too high:
 * an entry whose count is stale is pushed again with the true count when
 * it reaches the top (lazy deletion), which keeps the order exact.  New
 * pairs (with the new token) are pushed once, after the merge.  The cost
 * per merge is the size of the words holding the pair, not the corpus.
 */
#include <string.h>

#include "text/text_impl.h"

typedef struct pair {
    int32_t a, b;
    int64_t count;
    int32_t *where;          /* words that held the pair (maybe stale)   */
    uint32_t n_where, cap_where;
    int32_t last_word;       /* the word appended last (no repeats)       */
    uint32_t pushed;         /* merge number it was last pushed after     */
} pair;

typedef struct heap_entry {
    int64_t count;
    int32_t pair;
} heap_entry;

typedef struct trainer {
    sn_mem mem;
    /* words */
    size_t n_words;
    int64_t *wcount;
    size_t *wstart;          /* into sym                                 */
    uint32_t *wlen;          /* current symbols                          */
    uint32_t *wstamp;        /* merge number that last visited it        */
    int32_t *sym;
    /* pairs: index by (a, b) through an open-addressing table */
    pair *pairs;
    size_t n_pairs, cap_pairs;
    uint64_t *keys;
    int32_t *slot_pair;
    size_t n_slots;
    /* the heap */
    heap_entry *heap;
    size_t n_heap, cap_heap;
    /* new pairs of the current merge */
    int32_t *fresh;
    size_t n_fresh, cap_fresh;
    /* the merges learned */
    int32_t *merges;
    size_t n_merges, cap_merges;
} trainer;

/* ------------------------------------------------------------ pairs */

static uint64_t key_of(int32_t a, int32_t b)
{
    return (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
}

static size_t slot_of(uint64_t key, size_t n_slots)
{
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32 ^ h) & (n_slots - 1);
}

static sn_status rehash(trainer *t)
{
    size_t n = t->n_slots ? 2 * t->n_slots : 1024;
    uint64_t *keys = sn_mem_calloc(&t->mem, n, sizeof *keys);
    int32_t *sp = sn_mem_alloc(&t->mem, n * sizeof *sp);
    if (keys == NULL || sp == NULL) {
        sn_mem_free(&t->mem, keys);
        sn_mem_free(&t->mem, sp);
        return SN_ERR_NOMEM;
    }
    for (size_t p = 0; p < t->n_pairs; p++) {
        uint64_t k = key_of(t->pairs[p].a, t->pairs[p].b);
        size_t i = slot_of(k, n);
        while (keys[i] != 0)
            i = (i + 1) & (n - 1);
        keys[i] = k;
        sp[i] = (int32_t)p;
    }
    sn_mem_free(&t->mem, t->keys);
    sn_mem_free(&t->mem, t->slot_pair);
    t->keys = keys;
    t->slot_pair = sp;
    t->n_slots = n;
    return SN_OK;
}

/* The index of pair (a, b), created with count 0 if new; -1 on failure. */
static int32_t pair_index(trainer *t, int32_t a, int32_t b)
{
    uint64_t k = key_of(a, b);
    size_t i = slot_of(k, t->n_slots);
    while (t->keys[i] != 0) {
        if (t->keys[i] == k)
            return t->slot_pair[i];
        i = (i + 1) & (t->n_slots - 1);
    }
    if (t->n_pairs >= (size_t)INT32_MAX - 1) {
        sn_fail(SN_ERR_NOMEM, "sn_bpe_train: too many distinct pairs");
        return -1;
    }
    if (sn_text_grow(&t->mem, (void **)&t->pairs, &t->cap_pairs,
                     t->n_pairs + 1, sizeof *t->pairs) != SN_OK)
        return -1;
    int32_t p = (int32_t)t->n_pairs++;
    t->pairs[p] = (pair){ .a = a, .b = b, .last_word = -1 };
    t->keys[i] = k;
    t->slot_pair[i] = p;
    if (2 * t->n_pairs > t->n_slots && rehash(t) != SN_OK)
        return -1;
    return p;
}

/* Adds delta occurrences of (a, b) in word w; new pairs record w. */
static sn_status add_pair(trainer *t, int32_t a, int32_t b, size_t w,
                          int64_t delta, bool record)
{
    int32_t p = pair_index(t, a, b);
    if (p < 0)
        return SN_ERR_NOMEM;
    pair *q = &t->pairs[p];
    q->count += delta;
    if (!record || q->last_word == (int32_t)w)
        return SN_OK;
    size_t cap = q->cap_where;
    sn_status st = sn_text_grow(&t->mem, (void **)&q->where, &cap,
                                (size_t)q->n_where + 1, sizeof *q->where);
    if (st != SN_OK)
        return st;
    q->cap_where = (uint32_t)cap;
    q->where[q->n_where++] = (int32_t)w;
    q->last_word = (int32_t)w;
    return SN_OK;
}

/* ------------------------------------------------------------- heap */

/* a before b: higher count, then smaller (a, b) */
static bool before(const trainer *t, heap_entry x, heap_entry y)
{
    if (x.count != y.count)
        return x.count > y.count;
    const pair *p = &t->pairs[x.pair], *q = &t->pairs[y.pair];
    return p->a != q->a ? p->a < q->a : p->b < q->b;
}

static sn_status heap_push(trainer *t, int64_t count, int32_t p)
{
    sn_status st = sn_text_grow(&t->mem, (void **)&t->heap, &t->cap_heap,
                                t->n_heap + 1, sizeof *t->heap);
    if (st != SN_OK)
        return st;
    heap_entry e = { count, p };
    size_t i = t->n_heap++;
    while (i > 0 && before(t, e, t->heap[(i - 1) / 2])) {
        t->heap[i] = t->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    t->heap[i] = e;
    return SN_OK;
}

static heap_entry heap_pop(trainer *t)
{
    heap_entry top = t->heap[0], last = t->heap[--t->n_heap];
    size_t i = 0, n = t->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(t, t->heap[c + 1], t->heap[c]))
            c++;
        if (!before(t, t->heap[c], last))
            break;
        t->heap[i] = t->heap[c];
        i = c;
    }
    if (n > 0)
        t->heap[i] = last;
    return top;
}

/* ------------------------------------------------------------ words */

/* Counts the pieces of every text in a counting string table. */
static sn_status count_words(const char *const *texts, size_t n, int flags,
                             sn_strtab *words, const sn_mem *mem)
{
    char *buf = NULL;
    size_t cap = 0;
    sn_status st = SN_OK;
    for (size_t d = 0; d < n && st == SN_OK; d++) {
        const char *s = texts[d];
        size_t len = strlen(s);
        if (flags != SN_STANDARDIZE_NONE) {
            size_t need = sn_text_standardized_cap(len);
            st = need == 0 ? sn_fail(SN_ERR_NOMEM, "text %zu is too long", d)
                           : sn_mem_reserve(mem, (void **)&buf, &cap, need);
            if (st != SN_OK)
                break;
            len = sn_text_standardize(s, len, flags, buf);
            s = buf;
        }
        for (size_t i = 0; i < len && st == SN_OK;) {
            size_t j = sn_bpe_piece_end(s, len, i);
            st = sn_strtab_count(words, s + i, j - i, (int64_t)d);
            i = j;
        }
    }
    sn_mem_free(mem, buf);
    return st;
}

/* Every word as its byte tokens, and the initial pair counts. */
static sn_status init_words(trainer *t, const sn_strtab *words)
{
    t->n_words = words->n;
    size_t total = 0;
    for (size_t w = 0; w < words->n; w++)
        total += words->len[w];
    t->wcount = sn_mem_alloc(&t->mem, (t->n_words + 1) * sizeof *t->wcount);
    t->wstart = sn_mem_alloc(&t->mem, (t->n_words + 1) * sizeof *t->wstart);
    t->wlen = sn_mem_alloc(&t->mem, (t->n_words + 1) * sizeof *t->wlen);
    t->wstamp = sn_mem_calloc(&t->mem, t->n_words + 1, sizeof *t->wstamp);
    t->sym = sn_mem_alloc(&t->mem, (total + 1) * sizeof *t->sym);
    if (t->wcount == NULL || t->wstart == NULL || t->wlen == NULL ||
        t->wstamp == NULL || t->sym == NULL || rehash(t) != SN_OK)
        return SN_ERR_NOMEM;
    size_t at = 0;
    for (size_t w = 0; w < t->n_words; w++) {
        const unsigned char *s =
            (const unsigned char *)sn_strtab_str(words, w);
        t->wcount[w] = words->count[w];
        t->wstart[w] = at;
        t->wlen[w] = words->len[w];
        for (uint32_t i = 0; i < words->len[w]; i++)
            t->sym[at + i] = SN_BPE_N_SPECIAL + s[i];
        for (uint32_t i = 0; i + 1 < words->len[w]; i++) {
            sn_status st = add_pair(t, t->sym[at + i], t->sym[at + i + 1], w,
                                    t->wcount[w], true);
            if (st != SN_OK)
                return st;
        }
        at += words->len[w];
    }
    for (size_t p = 0; p < t->n_pairs; p++) {
        sn_status st = heap_push(t, t->pairs[p].count, (int32_t)p);
        if (st != SN_OK)
            return st;
    }
    return SN_OK;
}

/* Records pair p as new in this merge (pushed once afterwards). */
static sn_status note_fresh(trainer *t, int32_t a, int32_t b, uint32_t stamp)
{
    int32_t p = pair_index(t, a, b);
    if (p < 0)
        return SN_ERR_NOMEM;
    if (t->pairs[p].pushed == stamp)
        return SN_OK;
    t->pairs[p].pushed = stamp;
    sn_status st = sn_text_grow(&t->mem, (void **)&t->fresh, &t->cap_fresh,
                                t->n_fresh + 1, sizeof *t->fresh);
    if (st == SN_OK)
        t->fresh[t->n_fresh++] = p;
    return st;
}

/* Adds sign * count for every adjacent pair of word w that touches one of
 * x, y, z; with record, pairs holding z (the new token) note w. */
static sn_status count_touching(trainer *t, size_t w, int32_t x, int32_t y,
                                int32_t z, int64_t delta, uint32_t stamp)
{
    const int32_t *s = t->sym + t->wstart[w];
    for (uint32_t i = 0; i + 1 < t->wlen[w]; i++) {
        int32_t l = s[i], r = s[i + 1];
        if (l != x && l != y && l != z && r != x && r != y && r != z)
            continue;
        bool is_new = delta > 0 && (l == z || r == z);
        sn_status st = add_pair(t, l, r, w, delta, is_new);
        if (st == SN_OK && is_new)
            st = note_fresh(t, l, r, stamp);
        if (st != SN_OK)
            return st;
    }
    return SN_OK;
}

/* Replaces (a, b) by z in word w, left to right, updating pair counts. */
static sn_status merge_word(trainer *t, size_t w, int32_t a, int32_t b,
                            int32_t z, uint32_t stamp)
{
    int32_t *s = t->sym + t->wstart[w];
    uint32_t n = t->wlen[w];
    bool found = false;
    for (uint32_t i = 0; i + 1 < n && !found; i++)
        found = s[i] == a && s[i + 1] == b;
    if (!found)
        return SN_OK; /* a stale entry of the pair's word list */
    sn_status st = count_touching(t, w, a, b, -1, -t->wcount[w], stamp);
    if (st != SN_OK)
        return st;
    uint32_t out = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i + 1 < n && s[i] == a && s[i + 1] == b) {
            s[out++] = z;
            i++;
        } else {
            s[out++] = s[i];
        }
    }
    t->wlen[w] = out;
    return count_touching(t, w, a, b, z, t->wcount[w], stamp);
}

/* Merges pair p into token z. */
static sn_status apply_merge(trainer *t, int32_t p, int32_t z, uint32_t stamp)
{
    int32_t a = t->pairs[p].a, b = t->pairs[p].b;
    int32_t *where = t->pairs[p].where;
    uint32_t n_where = t->pairs[p].n_where;
    t->pairs[p].where = NULL;      /* the list is consumed here */
    t->pairs[p].n_where = t->pairs[p].cap_where = 0;
    t->n_fresh = 0;
    sn_status st = SN_OK;
    for (uint32_t k = 0; k < n_where && st == SN_OK; k++) {
        int32_t w = where[k];
        if (t->wstamp[w] == stamp)
            continue;
        t->wstamp[w] = stamp;
        st = merge_word(t, (size_t)w, a, b, z, stamp);
    }
    sn_mem_free(&t->mem, where);
    for (size_t k = 0; k < t->n_fresh && st == SN_OK; k++)
        st = heap_push(t, t->pairs[t->fresh[k]].count, t->fresh[k]);
    return st;
}

/* The merge loop. */
static sn_status learn(trainer *t, const sn_bpe_opts *o)
{
    size_t want = (size_t)(o->vocab_size - SN_BPE_BASE);
    while (t->n_merges < want && t->n_heap > 0) {
        heap_entry e = heap_pop(t);
        int64_t now = t->pairs[e.pair].count;
        if (now != e.count) {
            sn_status st = now > 0 ? heap_push(t, now, e.pair) : SN_OK;
            if (st != SN_OK)
                return st;
            continue;
        }
        if (now < o->min_frequency)
            break;
        sn_status st = sn_text_grow(&t->mem, (void **)&t->merges,
                                    &t->cap_merges, 2 * t->n_merges + 2,
                                    sizeof *t->merges);
        if (st != SN_OK)
            return st;
        t->merges[2 * t->n_merges] = t->pairs[e.pair].a;
        t->merges[2 * t->n_merges + 1] = t->pairs[e.pair].b;
        int32_t z = SN_BPE_BASE + (int32_t)t->n_merges++;
        st = apply_merge(t, e.pair, z, (uint32_t)t->n_merges);
        if (st != SN_OK)
            return st;
    }
    return SN_OK;
}

static void trainer_free(trainer *t)
{
    for (size_t p = 0; p < t->n_pairs; p++)
        sn_mem_free(&t->mem, t->pairs[p].where);
    void *all[] = { t->wcount, t->wstart, t->wlen, t->wstamp, t->sym,
                    t->pairs, t->keys, t->slot_pair, t->heap, t->fresh,
                    t->merges };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        sn_mem_free(&t->mem, all[i]);
}

SN_API sn_status sn_bpe_train(const char *const *texts, size_t n,
                              const sn_bpe_opts *opts, sn_bpe_t **out)
{
    const char *who = "sn_bpe_train";
    if (out != NULL)
        *out = NULL;
    if (out == NULL || (texts == NULL && n > 0))
        return sn_fail(SN_ERR_INVALID_ARG, "%s: %s is NULL", who,
                       out == NULL ? "out" : "texts");
    for (size_t i = 0; i < n; i++)
        if (texts[i] == NULL)
            return sn_fail(SN_ERR_INVALID_ARG, "%s: texts[%zu] is NULL", who,
                           i);
    sn_bpe_opts o = SN_BPE_OPTS_INIT;
    sn_status st = opts != NULL ? sn_opts_merge(&o, sizeof o, opts, who)
                                : SN_OK;
    if (st == SN_OK)
        st = sn_bpe_check_opts(&o, who);
    if (st != SN_OK)
        return st;
    trainer t;
    memset(&t, 0, sizeof t);
    t.mem = sn_mem_current();
    sn_strtab words;
    sn_strtab_init(&words, &t.mem, true);
    st = count_words(texts, n, o.standardize, &words, &t.mem);
    if (st == SN_OK)
        st = init_words(&t, &words);
    sn_strtab_free(&words);
    if (st == SN_OK)
        st = learn(&t, &o);
    if (st == SN_OK) {
        sn_bpe *b = sn_bpe_build(&t.mem, &o, t.merges, t.n_merges, who);
        if (b == NULL)
            st = sn_last_status() != SN_OK ? sn_last_status() : SN_ERR_NOMEM;
        *out = b;
    }
    trainer_free(&t);
    if (st == SN_ERR_NOMEM)
        sn_fail(SN_ERR_NOMEM, "%s: out of memory", who);
    return st;
}

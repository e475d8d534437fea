/*
 * glove_train.c - GloVe word vectors (Pennington, Socher, Manning 2014)
 * trained on tokenised documents, following the reference implementation
 * (stanfordnlp/GloVe: cooccur.c, shuffle.c, glove.c) in one process.
 *
 * 1. Words are ranked by frequency (rank 0 = most frequent); words rarer
 *    than min_count and ids below skip_ids get no rank.
 * 2. Co-occurrences X_ab (a <= b: X is symmetric, so only the upper
 *    triangle is kept) are summed, 1/distance per pair, into a dense
 *    triangle for the most frequent words (most pairs by far: Zipf) and an
 *    open-addressing hash table for the rest, both inside max_memory_mb.
 *    When the table is full, the least frequent quarter of the ranked words
 *    is dropped with its pairs (the pairs of the words kept stay exact,
 *    because positions, not ranks, define the window).
 * 3. The nonzero entries are shuffled once and trained with AdaGrad, each
 *    entry giving the two updates (a, b) and (b, a) (one for a == b, with
 *    X_aa counted from both sides as the reference does).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define WHO "sn_glove_train"
#define EMPTY_KEY UINT64_MAX
/* Table load that triggers growth (or, at the memory bound, dropping). */
#define MAX_LOAD 0.70
/* Load a drop must bring the full table down to. */
#define AFTER_DROP_LOAD 0.50

/* ----------------------------------------------------------- vocabulary */

typedef struct glove_vocab {
    int32_t *rank;   /* per id: frequency rank, or -1                    */
    int32_t *id;     /* per rank: id                                     */
    int n;           /* ranked words                                     */
} glove_vocab;

typedef struct id_count {
    int64_t count;
    int32_t id;
} id_count;

static int by_count_desc(const void *pa, const void *pb)
{
    const id_count *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

static sn_status count_words(const int32_t *const *docs, const int *lengths,
                             int n_docs, int vocab_size, id_count *c)
{
    for (int i = 0; i < vocab_size; i++)
        c[i] = (id_count){0, i};
    for (int d = 0; d < n_docs; d++) {
        if (lengths[d] < 0 || (lengths[d] > 0 && docs[d] == NULL))
            return sn_fail(SN_ERR_INVALID_ARG, WHO ": document %d: length %d"
                           " with %s tokens", d, lengths[d],
                           docs[d] ? "its" : "NULL");
        for (int p = 0; p < lengths[d]; p++) {
            int32_t t = docs[d][p];
            if (t < 0 || t >= vocab_size)
                return sn_fail(SN_ERR_INVALID_ARG, WHO ": document %d, "
                               "position %d: id %d outside [0, %d)", d, p,
                               (int)t, vocab_size);
            c[t].count++;
        }
    }
    return SN_OK;
}

static sn_status vocab_build(glove_vocab *v, const sn_mem *mem,
                             const int32_t *const *docs, const int *lengths,
                             int n_docs, int vocab_size,
                             const sn_glove_train_opts *o)
{
    id_count *c = sn_mem_alloc(mem, (size_t)vocab_size * sizeof *c);
    v->rank = sn_mem_alloc(mem, (size_t)vocab_size * sizeof *v->rank);
    v->id = sn_mem_alloc(mem, (size_t)vocab_size * sizeof *v->id);
    if (c == NULL || v->rank == NULL || v->id == NULL) {
        sn_mem_free(mem, c);
        return SN_ERR_NOMEM;
    }
    sn_status st = count_words(docs, lengths, n_docs, vocab_size, c);
    if (st == SN_OK) {
        for (int i = 0; i < o->skip_ids && i < vocab_size; i++)
            c[i].count = 0;
        qsort(c, (size_t)vocab_size, sizeof *c, by_count_desc);
        v->n = 0;
        for (int i = 0; i < vocab_size; i++)
            v->rank[i] = -1;
        for (int i = 0; i < vocab_size && c[i].count >= o->min_count &&
                        c[i].count > 0; i++) {
            v->rank[c[i].id] = v->n;
            v->id[v->n++] = c[i].id;
        }
    }
    sn_mem_free(mem, c);
    return st;
}

/* ------------------------------------------------------ co-occurrences */

typedef struct cooc {
    const sn_mem *mem;
    /* dense upper triangle over ranks < dense_n: cell b*(b+1)/2 + a */
    float *dense;
    int dense_n;
    /* hash table: key (a << 32 | b), a <= b; EMPTY_KEY marks a free slot */
    uint64_t *key;
    float *val;
    size_t cap, count, max_cap;
    int kept;        /* ranks >= kept have been dropped                  */
} cooc;

static size_t slot_of(uint64_t key, size_t cap)
{
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
    /* map the high bits to [0, cap) without a division */
    return (size_t)(((h >> 32) * (uint64_t)cap) >> 32);
}

static void table_put(uint64_t *key, float *val, size_t cap, uint64_t k,
                      float x, size_t *count)
{
    size_t i = slot_of(k, cap);
    while (key[i] != EMPTY_KEY && key[i] != k)
        if (++i == cap)
            i = 0;
    if (key[i] == EMPTY_KEY) {
        key[i] = k;
        val[i] = x;
        (*count)++;
    } else {
        val[i] += x;
    }
}

static sn_status table_alloc(const sn_mem *mem, size_t cap, uint64_t **key,
                             float **val)
{
    *key = sn_mem_alloc(mem, cap * sizeof **key);
    *val = sn_mem_alloc(mem, cap * sizeof **val);
    if (*key == NULL || *val == NULL) {
        sn_mem_free(mem, *key);
        sn_mem_free(mem, *val);
        return SN_ERR_NOMEM;
    }
    memset(*key, 0xff, cap * sizeof **key);
    return SN_OK;
}

static sn_status table_grow(cooc *c)
{
    size_t cap = c->cap * 2 < c->max_cap ? c->cap * 2 : c->max_cap;
    uint64_t *key;
    float *val;
    if (table_alloc(c->mem, cap, &key, &val) != SN_OK)
        return SN_ERR_NOMEM;
    size_t count = 0;
    for (size_t i = 0; i < c->cap; i++)
        if (c->key[i] != EMPTY_KEY)
            table_put(key, val, cap, c->key[i], c->val[i], &count);
    sn_mem_free(c->mem, c->key);
    sn_mem_free(c->mem, c->val);
    c->key = key;
    c->val = val;
    c->cap = cap;
    return SN_OK;
}

/* Deletes slot i by shifting the rest of its cluster back (Knuth's
 * Algorithm R), so that linear probing needs no tombstones. */
static void table_delete(cooc *c, size_t i)
{
    size_t j = i;
    for (;;) {
        c->key[i] = EMPTY_KEY;
        size_t home;
        do {
            if (++j == c->cap)
                j = 0;
            if (c->key[j] == EMPTY_KEY)
                return;
            home = slot_of(c->key[j], c->cap);
            /* j's entry may stay unless its home lies cyclically in (i, j] */
        } while (i <= j ? (i < home && home <= j) : (i < home || home <= j));
        c->key[i] = c->key[j];
        c->val[i] = c->val[j];
        i = j;
    }
}

/* Drops the least frequent quarter of the ranked words (again, until the
 * table is at most AFTER_DROP_LOAD full). */
static sn_status table_drop(cooc *c)
{
    size_t start = 0;
    while (c->key[start] != EMPTY_KEY)
        start++;  /* a free slot exists: the load is below 1 */
    while ((double)c->count > AFTER_DROP_LOAD * (double)c->cap) {
        c->kept -= c->kept / 4 > 0 ? c->kept / 4 : 1;
        if (c->kept < 2)
            return sn_fail(SN_ERR_NOMEM, WHO ": max_memory_mb is too small "
                           "for the co-occurrences of even 2 words");
        /* from a free slot on, entries only shift back into slots not yet
         * passed, so one cyclic pass sees every entry */
        for (size_t n = 0, i = start; n < c->cap; n++) {
            while (c->key[i] != EMPTY_KEY &&
                   (int)(c->key[i] & 0xffffffffu) >= c->kept) {
                table_delete(c, i);
                c->count--;
            }
            if (++i == c->cap)
                i = 0;
        }
    }
    return SN_OK;
}

static sn_status cooc_add(cooc *c, int a, int b, float x)
{
    if (a > b) {
        int t = a;
        a = b;
        b = t;
    }
    if (b < c->dense_n) {
        c->dense[(size_t)b * (b + 1) / 2 + a] += x;
        return SN_OK;
    }
    if ((double)(c->count + 1) > MAX_LOAD * (double)c->cap) {
        sn_status st = c->cap < c->max_cap ? table_grow(c) : table_drop(c);
        if (st != SN_OK)
            return st;
        if (b >= c->kept)
            return SN_OK;
    }
    table_put(c->key, c->val, c->cap, (uint64_t)a << 32 | (uint64_t)b, x,
              &c->count);
    return SN_OK;
}

/* Splits the memory bound: an eighth for the dense triangle (at most the
 * ranked words), the rest for the table, whose largest size must fit
 * together with the half-size table it grows from. */
static sn_status cooc_init(cooc *c, const sn_mem *mem, int n_ranked,
                           size_t max_mb)
{
    double bytes = (double)max_mb * 1048576.0;
    double cells = bytes / 8.0 / sizeof(float);
    double n = floor((sqrt(8.0 * cells + 1.0) - 1.0) / 2.0);
    c->mem = mem;
    c->dense_n = n < n_ranked ? (int)n : n_ranked;
    c->kept = n_ranked;
    size_t dense_cells = (size_t)c->dense_n * (c->dense_n + 1) / 2;
    double left = bytes - (double)dense_cells * sizeof(float);
    double slot = sizeof(uint64_t) + sizeof(float);
    c->max_cap = (size_t)(left / (1.5 * slot));
    if (c->max_cap < 64)
        return sn_fail(SN_ERR_NOMEM, WHO ": max_memory_mb %zu is too small",
                       max_mb);
    c->cap = c->max_cap < 4096 ? c->max_cap : 4096;
    c->dense = sn_mem_calloc(mem, dense_cells ? dense_cells : 1,
                             sizeof *c->dense);
    if (c->dense == NULL)
        return SN_ERR_NOMEM;
    return table_alloc(mem, c->cap, &c->key, &c->val);
}

static void cooc_free(cooc *c)
{
    sn_mem_free(c->mem, c->dense);
    sn_mem_free(c->mem, c->key);
    sn_mem_free(c->mem, c->val);
}

static sn_status count_pairs(cooc *c, const glove_vocab *v,
                             const int32_t *const *docs, const int *lengths,
                             int n_docs, int window)
{
    float inv[256];
    for (int d = 1; d <= window && d < 256; d++)
        inv[d] = 1.0f / (float)d;
    for (int d = 0; d < n_docs; d++) {
        const int32_t *t = docs[d];
        int len = lengths[d];
        for (int p = 0; p < len; p++) {
            int a = v->rank[t[p]];
            if (a < 0 || a >= c->kept)
                continue;
            int end = p + window < len ? p + window : len - 1;
            for (int q = p + 1; q <= end; q++) {
                int b = v->rank[t[q]];
                if (b < 0 || b >= c->kept)
                    continue;
                int dist = q - p;
                float x = dist < 256 ? inv[dist] : 1.0f / (float)dist;
                sn_status st = cooc_add(c, a, b, x);
                if (st != SN_OK)
                    return st;
            }
        }
    }
    return SN_OK;
}

/* Moves the dense cells into the table (dropping words if they do not
 * fit), frees the triangle, and packs the entries at the table's start. */
static sn_status cooc_finish(cooc *c)
{
    int dense_n = c->dense_n;
    c->dense_n = 0;  /* from now on cooc_add goes to the table */
    for (int b = 0; b < dense_n; b++)
        for (int a = 0; a <= b; a++) {
            float x = c->dense[(size_t)b * (b + 1) / 2 + a];
            if (x == 0.0f || b >= c->kept)
                continue;
            sn_status st = cooc_add(c, a, b, x);
            if (st != SN_OK)
                return st;
        }
    sn_mem_free(c->mem, c->dense);
    c->dense = NULL;
    size_t n = 0;
    for (size_t i = 0; i < c->cap; i++)
        if (c->key[i] != EMPTY_KEY &&
            (int)(c->key[i] & 0xffffffffu) < c->kept) {
            c->key[n] = c->key[i];
            c->val[n++] = c->val[i];
        }
    c->count = n;
    if (n == 0)
        return sn_fail(SN_ERR_STATE, WHO ": no co-occurrences (documents "
                       "too short or every word below min_count)");
    return SN_OK;
}

static void shuffle_entries(cooc *c, uint64_t seed)
{
    sn_rng rng;
    sn_rng_seed(&rng, sn_rng_derive(seed, 2));
    for (size_t i = c->count; i > 1; i--) {
        size_t j = (size_t)sn_rng_below(&rng, i);
        uint64_t k = c->key[i - 1];
        float x = c->val[i - 1];
        c->key[i - 1] = c->key[j];
        c->val[i - 1] = c->val[j];
        c->key[j] = k;
        c->val[j] = x;
    }
}

/* ------------------------------------------------------------ training */

/* Parameters as the reference lays them out: word rows then context rows,
 * each dim weights followed by the bias. */
typedef struct glove_model {
    float *w;        /* [2 * n, dim + 1]                                  */
    float *gradsq;   /* same shape, AdaGrad sums, starting at 1           */
    int n, dim;
    float x_max, alpha, eta;
} glove_model;

typedef struct train_job {
    glove_model *m;
    const uint64_t *key;
    const float *val;
    size_t begin, end;
    double cost;
    size_t updates;
    bool bad;        /* a non-finite value was met                        */
} train_job;

/* One AdaGrad step on f(x) (w_a . c_b + b_a + c~_b - log x)^2 / 2. */
static double glove_step(glove_model *m, int a, int b, float x,
                         float *restrict upd)
{
    int dim = m->dim;
    /* word row a and context row b never overlap: restrict lets the
     * compiler vectorise the loops */
    float *restrict wa = m->w + (size_t)a * (dim + 1);
    float *restrict wb = m->w + ((size_t)m->n + b) * (dim + 1);
    float *restrict ga = m->gradsq + (size_t)a * (dim + 1);
    float *restrict gb = m->gradsq + ((size_t)m->n + b) * (dim + 1);
    float diff = wa[dim] + wb[dim] - logf(x);
    for (int k = 0; k < dim; k++)
        diff += wa[k] * wb[k];
    float fdiff = x > m->x_max ? diff : powf(x / m->x_max, m->alpha) * diff;
    double cost = 0.5 * (double)fdiff * diff;
    fdiff *= m->eta;  /* the reference folds the rate into the sums too */
    for (int k = 0; k < dim; k++) {
        float t1 = fdiff * wb[k], t2 = fdiff * wa[k];
        upd[k] = t1 / sqrtf(ga[k]);
        upd[dim + k] = t2 / sqrtf(gb[k]);
        ga[k] += t1 * t1;
        gb[k] += t2 * t2;
    }
    for (int k = 0; k < dim; k++) {
        wa[k] -= upd[k];
        wb[k] -= upd[dim + k];
    }
    wa[dim] -= fdiff / sqrtf(ga[dim]);
    wb[dim] -= fdiff / sqrtf(gb[dim]);
    ga[dim] += fdiff * fdiff;
    gb[dim] += fdiff * fdiff;
    return cost;
}

static void *train_range(void *arg)
{
    train_job *j = arg;
    float upd[2 * 1024];
    j->cost = 0.0;
    j->updates = 0;
    for (size_t e = j->begin; e < j->end; e++) {
        int a = (int)(j->key[e] >> 32), b = (int)(j->key[e] & 0xffffffffu);
        float x = j->val[e];
        if (a == b) {
            j->cost += glove_step(j->m, a, a, 2.0f * x, upd);
            j->updates++;
        } else {
            j->cost += glove_step(j->m, a, b, x, upd);
            j->cost += glove_step(j->m, b, a, x, upd);
            j->updates += 2;
        }
    }
    j->bad = !isfinite(j->cost);
    return NULL;
}

/* One epoch over the entries, split into contiguous ranges per thread
 * (Hogwild: the threads share the parameters without locks). */
static sn_status train_epoch(glove_model *m, const cooc *c, int threads,
                             double *cost)
{
    train_job jobs[64];
    pthread_t tid[64];
    int started = 0;
    for (int t = 0; t < threads; t++)
        jobs[t] = (train_job){m, c->key, c->val, c->count * t / threads,
                              c->count * (t + 1) / threads, 0.0, 0, false};
    for (int t = 1; t < threads; t++, started++)
        if (pthread_create(&tid[t], NULL, train_range, &jobs[t]) != 0)
            break;
    train_range(&jobs[0]);
    for (int t = started + 1; t < threads; t++)
        train_range(&jobs[t]);  /* could not start a thread: run here */
    for (int t = 1; t <= started; t++)
        pthread_join(tid[t], NULL);
    double total = 0.0;
    size_t updates = 0;
    for (int t = 0; t < threads; t++) {
        if (jobs[t].bad)
            return sn_fail(SN_ERR_NUMERIC, WHO ": training diverged (non-"
                           "finite cost); lower learning_rate");
        total += jobs[t].cost;
        updates += jobs[t].updates;
    }
    *cost = total / (double)(updates ? updates : 1);
    return SN_OK;
}

static sn_status model_init(glove_model *m, const sn_mem *mem, int n,
                            const sn_glove_train_opts *o)
{
    size_t count = 2 * (size_t)n * (o->dim + 1);
    m->n = n;
    m->dim = o->dim;
    m->x_max = o->x_max;
    m->alpha = o->alpha;
    m->eta = o->learning_rate;
    m->w = sn_mem_alloc(mem, count * sizeof *m->w);
    m->gradsq = sn_mem_alloc(mem, count * sizeof *m->gradsq);
    if (m->w == NULL || m->gradsq == NULL)
        return SN_ERR_NOMEM;
    sn_rng rng;
    sn_rng_seed(&rng, sn_rng_derive(o->seed, 1));
    for (size_t i = 0; i < count; i++) {
        m->w[i] = (float)((sn_rng_uniform(&rng) - 0.5) / o->dim);
        m->gradsq[i] = 1.0f;
    }
    return SN_OK;
}

/* ------------------------------------------------------------ entry */

static sn_status check_opts(const sn_glove_train_opts *o)
{
    if (o->dim < 1 || o->dim > 1024)
        return sn_fail(SN_ERR_INVALID_ARG, WHO ": dim must be in [1, 1024], "
                       "got %d", o->dim);
    if (o->window < 1 || o->epochs < 1 || o->min_count < 0 ||
        o->skip_ids < 0 || o->threads < 0 || o->threads > 64)
        return sn_fail(SN_ERR_INVALID_ARG, WHO ": window and epochs must be "
                       ">= 1, min_count and skip_ids >= 0, threads in "
                       "[0, 64]");
    if (!(o->x_max > 0.0f) || !(o->alpha > 0.0f) ||
        !(o->learning_rate > 0.0f) || !isfinite(o->x_max) ||
        !isfinite(o->alpha) || !isfinite(o->learning_rate))
        return sn_fail(SN_ERR_INVALID_ARG, WHO ": x_max, alpha and "
                       "learning_rate must be finite and > 0");
    if (o->max_memory_mb < 1)
        return sn_fail(SN_ERR_INVALID_ARG, WHO ": max_memory_mb must be "
                       ">= 1");
    return SN_OK;
}

static int thread_count(int requested)
{
    if (requested > 0)
        return requested;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

/* vectors[id] = w + w~ of the id's rank; zeros for unranked words. */
static void write_vectors(const glove_model *m, const glove_vocab *v,
                          int kept, int vocab_size, float *vectors)
{
    int dim = m->dim;
    memset(vectors, 0, (size_t)vocab_size * dim * sizeof *vectors);
    for (int r = 0; r < kept; r++) {
        const float *w = m->w + (size_t)r * (dim + 1);
        const float *c = m->w + ((size_t)m->n + r) * (dim + 1);
        float *out = vectors + (size_t)v->id[r] * dim;
        for (int k = 0; k < dim; k++)
            out[k] = w[k] + c[k];
    }
}

static sn_status train(cooc *c, const glove_vocab *v, const sn_mem *mem,
                       const sn_glove_train_opts *o, int vocab_size,
                       float *vectors, double *final_cost)
{
    glove_model m = {0};
    sn_status st = model_init(&m, mem, c->kept, o);
    int threads = thread_count(o->threads);
    double cost = 0.0;
    for (int e = 0; e < o->epochs && st == SN_OK; e++)
        st = train_epoch(&m, c, threads, &cost);
    if (st == SN_OK) {
        write_vectors(&m, v, c->kept, vocab_size, vectors);
        if (final_cost != NULL)
            *final_cost = cost;
    }
    sn_mem_free(mem, m.w);
    sn_mem_free(mem, m.gradsq);
    return st;
}

SN_API sn_status sn_glove_train(const int32_t *const *docs,
                                const int *lengths, int n_docs,
                                int vocab_size,
                                const sn_glove_train_opts *opts,
                                float *vectors, double *final_cost)
{
    sn_glove_train_opts o = SN_GLOVE_TRAIN_OPTS_INIT;
    if (opts != NULL) {
        sn_status st = sn_opts_merge(&o, sizeof o, opts, WHO);
        if (st != SN_OK)
            return st;
    }
    if ((docs == NULL && n_docs > 0) || (lengths == NULL && n_docs > 0) ||
        vectors == NULL || n_docs < 0 || vocab_size < 1)
        return sn_fail(SN_ERR_INVALID_ARG, WHO ": NULL argument, n_docs < 0 "
                       "or vocab_size < 1");
    sn_status st = check_opts(&o);
    if (st != SN_OK)
        return st;
    sn_mem mem = sn_mem_current();
    glove_vocab v = {0};
    cooc c = {0};
    st = vocab_build(&v, &mem, docs, lengths, n_docs, vocab_size, &o);
    if (st == SN_OK)
        st = cooc_init(&c, &mem, v.n, o.max_memory_mb);
    if (st == SN_OK)
        st = count_pairs(&c, &v, docs, lengths, n_docs, o.window);
    if (st == SN_OK)
        st = cooc_finish(&c);
    if (st == SN_OK) {
        shuffle_entries(&c, o.seed);
        st = train(&c, &v, &mem, &o, vocab_size, vectors, final_cost);
    }
    cooc_free(&c);
    sn_mem_free(&mem, v.rank);
    sn_mem_free(&mem, v.id);
    return st;
}

/* ------------------------------------------------------------ saving */

static bool has_space(const char *s)
{
    for (; *s; s++)
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
            return true;
    return false;
}

static bool all_zero(const float *v, int dim)
{
    for (int k = 0; k < dim; k++)
        if (v[k] != 0.0f)
            return false;
    return true;
}

static sn_status check_rows(const char *const *vocab, int vocab_size,
                            const float *vectors, int dim)
{
    for (int id = 0; id < vocab_size; id++) {
        if (vocab[id] == NULL)
            continue;
        if (has_space(vocab[id]))
            return sn_fail(SN_ERR_INVALID_ARG, "sn_glove_save_text: word %d "
                           "('%.40s') contains whitespace", id, vocab[id]);
        for (int k = 0; k < dim; k++)
            if (!isfinite(vectors[(size_t)id * dim + k]))
                return sn_fail(SN_ERR_NUMERIC, "sn_glove_save_text: vector "
                               "%d ('%.40s') is not finite", id, vocab[id]);
    }
    return SN_OK;
}

/* Rows through a 64 KiB buffer into the temporary file, numbers printed in
 * the C locale ("0.500000", never "0,500000"). */
static sn_status write_rows(sn_atomic_file *a, char *buf, size_t cap,
                            const char *const *vocab, int vocab_size,
                            const float *vectors, int dim)
{
    sn_status st = SN_OK;
    size_t len = 0;
    locale_t saved = sn_c_locale_enter();
    for (int id = 0; id < vocab_size && st == SN_OK; id++) {
        const float *v = vectors + (size_t)id * dim;
        if (vocab[id] == NULL || vocab[id][0] == '\0' || all_zero(v, dim))
            continue;
        const char *w = vocab[id];
        size_t wl = strlen(w);
        while (st == SN_OK && wl > 0) { /* a word may exceed the buffer */
            size_t k = wl < cap - len ? wl : cap - len;
            memcpy(buf + len, w, k);
            len += k;
            w += k;
            wl -= k;
            if (len == cap) {
                st = sn_atomic_write(a, buf, len);
                len = 0;
            }
        }
        for (int k = 0; k <= dim && st == SN_OK; k++) {
            if (cap - len < 64) {
                st = sn_atomic_write(a, buf, len);
                len = 0;
            }
            if (k == dim)
                buf[len++] = '\n';
            else  /* the reference's format */
                len += (size_t)snprintf(buf + len, cap - len, " %.6f",
                                        (double)v[k]);
        }
    }
    sn_c_locale_leave(saved);
    if (st == SN_OK && len > 0)
        st = sn_atomic_write(a, buf, len);
    return st;
}

SN_API sn_status sn_glove_save_text(const char *path,
                                    const char *const *vocab, int vocab_size,
                                    const float *vectors, int dim)
{
    if (path == NULL || vocab == NULL || vectors == NULL || vocab_size < 0 ||
        dim < 1)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_glove_save_text: NULL "
                       "argument, vocab_size < 0 or dim < 1");
    sn_status st = check_rows(vocab, vocab_size, vectors, dim);
    if (st != SN_OK)
        return st;
    sn_mem mem = sn_mem_current();
    enum { CAP = 1 << 16 };
    char *buf = sn_mem_alloc(&mem, CAP);
    if (buf == NULL)
        return SN_ERR_NOMEM;
    sn_atomic_file a;
    st = sn_atomic_begin(&a, &mem, path, "sn_glove_save_text");
    if (st == SN_OK) {
        st = write_rows(&a, buf, CAP, vocab, vocab_size, vectors, dim);
        if (st == SN_OK)
            st = sn_atomic_commit(&a);
        else
            sn_atomic_abort(&a);
    }
    sn_mem_free(&mem, buf);
    return st;
}

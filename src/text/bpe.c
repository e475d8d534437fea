/*
 * bpe.c - the byte-pair-encoding tokenizer object (include/seqnet.h):
 * its vocabulary built from the merge list (ids 0-3 special, 4-259 the
 * bytes, then one token per merge), the pair -> rank table the encoder
 * looks merges up in, the accessors, and the pre-tokenizer that cuts a
 * text into the pieces merges never cross.  Training is bpe_train.c,
 * encoding bpe_encode.c, files bpe_io.c.
 */
#include <string.h>

#include "text/text_impl.h"

static const char *const special_names[SN_BPE_N_SPECIAL] = {
    "<pad>", "<unk>", "<s>", "</s>"
};

/* ------------------------------------------------------- pre-tokenizer */

enum { C_SPACE, C_LETTER, C_DIGIT, C_OTHER };

static int byte_class(unsigned char c)
{
    if (c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
        c == '\r')
        return C_SPACE;
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
        return C_LETTER;
    if (c >= 0x80)
        return C_LETTER;   /* UTF-8 lead and continuation bytes */
    if (c >= '0' && c <= '9')
        return C_DIGIT;
    return C_OTHER;
}

/* The end of the run of class cls from j, at most SN_BPE_MAX_PIECE bytes
 * after start; a cut never falls before a UTF-8 continuation byte unless
 * the piece would otherwise exceed the limit by 3 more bytes. */
static size_t run_end(const unsigned char *s, size_t n, size_t start,
                      size_t j, int cls)
{
    size_t limit = start + SN_BPE_MAX_PIECE;
    while (j < n && j < limit && byte_class(s[j]) == cls)
        j++;
    if (j == limit && j < n) {
        size_t back = j;
        while (back > start + 1 && back > limit - 3 &&
               (s[back] & 0xC0) == 0x80)
            back--;
        if ((s[back] & 0xC0) != 0x80)
            j = back;
    }
    return j;
}

size_t sn_bpe_piece_end(const char *text, size_t n, size_t i)
{
    const unsigned char *s = (const unsigned char *)text;
    int cls = byte_class(s[i]);
    if (s[i] == ' ' && i + 1 < n && byte_class(s[i + 1]) != C_SPACE)
        return run_end(s, n, i, i + 1, byte_class(s[i + 1]));
    if (cls != C_SPACE)
        return run_end(s, n, i, i, cls);
    size_t j = run_end(s, n, i, i, C_SPACE);
    /* a space right before a word goes with the word (GPT-2's rule) */
    if (j < n && j - i > 1 && s[j - 1] == ' ' &&
        byte_class(s[j]) != C_SPACE)
        j--;
    return j;
}

/* -------------------------------------------------------- rank table */

static uint64_t pair_key(int32_t left, int32_t right)
{
    return (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
}

static size_t key_slot(uint64_t key, size_t n_slots)
{
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32 ^ h) & (n_slots - 1);
}

int32_t sn_bpe_rank(const sn_bpe *b, int32_t left, int32_t right)
{
    uint64_t key = pair_key(left, right);
    for (size_t i = key_slot(key, b->n_slots);; i = (i + 1) &
                                                   (b->n_slots - 1)) {
        if (b->keys[i] == key)
            return b->ranks[i];
        if (b->keys[i] == 0)
            return -1;
    }
}

/* Inserts (false if the pair is already there). */
static bool rank_insert(sn_bpe *b, int32_t left, int32_t right, int32_t rank)
{
    uint64_t key = pair_key(left, right);
    size_t i = key_slot(key, b->n_slots);
    while (b->keys[i] != 0) {
        if (b->keys[i] == key)
            return false;
        i = (i + 1) & (b->n_slots - 1);
    }
    b->keys[i] = key;
    b->ranks[i] = rank;
    return true;
}

/* ----------------------------------------------------------- building */

sn_status sn_bpe_check_opts(const sn_bpe_opts *o, const char *who)
{
    if (o->vocab_size < SN_BPE_BASE || o->vocab_size > SN_BPE_MAX_VOCAB)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: vocab_size %d is outside "
                       "%d .. %d (4 special tokens and 256 bytes come "
                       "first)", who, o->vocab_size, SN_BPE_BASE,
                       SN_BPE_MAX_VOCAB);
    if (o->min_frequency < 1)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: min_frequency %d is below 1",
                       who, o->min_frequency);
    if (o->standardize & ~SN_STANDARDIZE_DEFAULT)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: unknown standardize flags "
                       "0x%x", who, (unsigned)o->standardize);
    return SN_OK;
}

static bool alloc_tables(sn_bpe *b, size_t n_merges)
{
    size_t n = (size_t)b->n_tokens;
    b->merges = sn_mem_calloc(&b->mem, 2 * n_merges + 1, sizeof(int32_t));
    b->tok_off = sn_mem_calloc(&b->mem, n, sizeof *b->tok_off);
    b->tok_len = sn_mem_calloc(&b->mem, n, sizeof *b->tok_len);
    b->n_slots = 16;
    while (b->n_slots < 2 * n_merges + 2)
        b->n_slots *= 2;
    b->keys = sn_mem_calloc(&b->mem, b->n_slots, sizeof *b->keys);
    b->ranks = sn_mem_calloc(&b->mem, b->n_slots, sizeof *b->ranks);
    return b->merges != NULL && b->tok_off != NULL && b->tok_len != NULL &&
           b->keys != NULL && b->ranks != NULL;
}

/* Checks the merges and sizes the arena; SN_ERR_FORMAT names who. */
static sn_status check_merges(sn_bpe *b, const int32_t *merges, size_t n,
                              size_t *arena)
{
    size_t total = 0;
    for (int id = 0; id < SN_BPE_BASE; id++) {
        b->tok_len[id] = id < SN_BPE_N_SPECIAL
                         ? (uint32_t)strlen(special_names[id]) : 1;
        total += b->tok_len[id];
    }
    for (size_t k = 0; k < n; k++) {
        int32_t l = merges[2 * k], r = merges[2 * k + 1];
        int32_t id = SN_BPE_BASE + (int32_t)k;
        if (l < SN_BPE_N_SPECIAL || l >= id || r < SN_BPE_N_SPECIAL ||
            r >= id)
            return sn_fail(SN_ERR_FORMAT, "merge %zu joins ids %d and %d: "
                           "each must be a byte or an earlier merge (4 .. "
                           "%d)", k, (int)l, (int)r, (int)id - 1);
        uint32_t len = b->tok_len[l] + b->tok_len[r];
        if (len > SN_BPE_MAX_TOKEN)
            return sn_fail(SN_ERR_FORMAT, "merge %zu makes a token of %u "
                           "bytes (at most %d)", k, (unsigned)len,
                           SN_BPE_MAX_TOKEN);
        if (!rank_insert(b, l, r, (int32_t)k))
            return sn_fail(SN_ERR_FORMAT, "merge %zu repeats the pair (%d, "
                           "%d)", k, (int)l, (int)r);
        b->tok_len[id] = len;
        total += len;
    }
    *arena = total;
    return SN_OK;
}

/* Writes every token's bytes: specials, bytes, then left + right. */
static void fill_arena(sn_bpe *b)
{
    size_t at = 0;
    for (int id = 0; id < b->n_tokens; id++) {
        b->tok_off[id] = at;
        char *dst = b->bytes + at;
        if (id < SN_BPE_N_SPECIAL) {
            memcpy(dst, special_names[id], b->tok_len[id]);
        } else if (id < SN_BPE_BASE) {
            *dst = (char)(unsigned char)(id - SN_BPE_N_SPECIAL);
        } else {
            int32_t l = b->merges[2 * (id - SN_BPE_BASE)];
            int32_t r = b->merges[2 * (id - SN_BPE_BASE) + 1];
            memcpy(dst, b->bytes + b->tok_off[l], b->tok_len[l]);
            memcpy(dst + b->tok_len[l], b->bytes + b->tok_off[r],
                   b->tok_len[r]);
        }
        at += b->tok_len[id];
    }
}

sn_bpe *sn_bpe_build(const sn_mem *mem, const sn_bpe_opts *opts,
                     const int32_t *merges, size_t n_merges,
                     const char *who)
{
    if (n_merges > (size_t)(SN_BPE_MAX_VOCAB - SN_BPE_BASE)) {
        sn_fail(SN_ERR_FORMAT, "%s: %zu merges (at most %d)", who, n_merges,
                SN_BPE_MAX_VOCAB - SN_BPE_BASE);
        return NULL;
    }
    sn_bpe *b = sn_mem_calloc(mem, 1, sizeof *b);
    if (b == NULL)
        return NULL;
    b->mem = *mem;
    b->opts = *opts;
    b->n_tokens = SN_BPE_BASE + (int)n_merges;
    size_t arena = 0;
    if (!alloc_tables(b, n_merges) ||
        check_merges(b, merges, n_merges, &arena) != SN_OK ||
        (b->bytes = sn_mem_alloc(mem, arena)) == NULL) {
        sn_bpe_free(b);
        return NULL;
    }
    if (n_merges > 0)
        memcpy(b->merges, merges, 2 * n_merges * sizeof *merges);
    fill_arena(b);
    return b;
}

/* ---------------------------------------------------------- accessors */

SN_API void sn_bpe_free(sn_bpe_t *b)
{
    if (b == NULL)
        return;
    sn_mem mem = b->mem;
    sn_mem_free(&mem, b->merges);
    sn_mem_free(&mem, b->bytes);
    sn_mem_free(&mem, b->tok_off);
    sn_mem_free(&mem, b->tok_len);
    sn_mem_free(&mem, b->keys);
    sn_mem_free(&mem, b->ranks);
    sn_mem_free(&mem, b);
}

SN_API sn_status sn_bpe_options(const sn_bpe_t *b, sn_bpe_opts *opts)
{
    if (b == NULL || opts == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_bpe_options: NULL argument");
    if (opts->size < sizeof opts->size || opts->size > sizeof *opts)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_bpe_options: opts->size %zu "
                       "is not a size this library knows", opts->size);
    size_t size = opts->size;
    memcpy(opts, &b->opts, size);
    opts->size = size;
    return SN_OK;
}

SN_API int sn_bpe_vocab_size(const sn_bpe_t *b)
{
    if (b == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_bpe_vocab_size: bpe is NULL");
    return b->n_tokens;
}

SN_API const char *sn_bpe_token(const sn_bpe_t *b, int id, size_t *len)
{
    if (len != NULL)
        *len = 0;
    if (b == NULL || id < 0 || id >= b->n_tokens) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_bpe_token: %s", b == NULL
                ? "bpe is NULL" : "id out of range");
        return NULL;
    }
    if (len != NULL)
        *len = b->tok_len[id];
    return b->bytes + b->tok_off[id];
}

SN_API sn_status sn_bpe_merge(const sn_bpe_t *b, int k, int *left,
                              int *right)
{
    if (b == NULL || left == NULL || right == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_bpe_merge: NULL argument");
    if (k < 0 || k >= b->n_tokens - SN_BPE_BASE)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_bpe_merge: merge %d of %d", k,
                       b->n_tokens - SN_BPE_BASE);
    *left = b->merges[2 * k];
    *right = b->merges[2 * k + 1];
    return SN_OK;
}

/*
 * text_impl.h - the text vectorizer's internals, shared by the files of
 * src/text/ (standardize.c, tokenize.c, vocab.c, vectorizer.c,
 * vectorizer_io.c, vectorizer_model.c), and with io/model_io.c for the
 * model file's vectorizer section.  Nothing here is exported.
 */
#ifndef SN_TEXT_IMPL_H
#define SN_TEXT_IMPL_H

#include "internal.h"

/* ------------------------------------------------------------ standardize */

/* Writes the standardized form of text[0 .. n) (flags: SN_STANDARDIZE_*)
 * to out and NUL-terminates it; returns its length.  out must hold
 * sn_text_standardized_cap(n) bytes: an invalid byte grows to the three
 * bytes of U+FFFD, nothing else grows. */
size_t sn_text_standardize(const char *text, size_t n, int flags, char *out);
/* Whether text[0 .. n) is valid UTF-8 (RFC 3629). */
bool sn_text_valid_utf8(const char *text, size_t n);
/* 3 * n + 1, or 0 if that overflows. */
size_t sn_text_standardized_cap(size_t n);

/* ---------------------------------------------------------------- tokens */

/* One token of a standardized text: bytes [off, off + len). */
typedef struct sn_span {
    size_t off, len;
} sn_span;

/* A text prepared for lookups: standardized, split, with room to build
 * bigrams.  Buffers grow as needed and are reused from text to text. */
typedef struct sn_text_work {
    sn_mem mem;
    int flags;
    int ngrams;
    char *text;  size_t text_cap;   /* standardized text                 */
    sn_span *spans; size_t spans_cap;
    char *gram;  size_t gram_cap;   /* the bigram being looked at        */
    size_t n_tokens;                /* unigrams of the current text       */
} sn_text_work;

void sn_text_work_init(sn_text_work *w, const sn_mem *mem, int flags,
                       int ngrams);
void sn_text_work_free(sn_text_work *w);
/* Standardizes and splits text; SN_ERR_NOMEM on failure. */
sn_status sn_text_prepare(sn_text_work *w, const char *text);
/* N-grams of the prepared text: unigrams, then (ngrams 2) bigrams. */
size_t sn_text_count(const sn_text_work *w);
/* The j-th n-gram (j < sn_text_count): *tok points into w's buffers and
 * stays valid until the next call. */
void sn_text_gram(sn_text_work *w, size_t j, const char **tok, size_t *len);

/* ---------------------------------------------------------- string table */

/* Interned strings with dense ids 0, 1, ... in insertion order, found by
 * an open-addressing hash table (linear probing, load <= 1/2).  Strings
 * live NUL-terminated in one arena, addressed by offset so that the arena
 * can move when it grows.  With counting, each id also has a count and a
 * document frequency. */
typedef struct sn_strtab {
    sn_mem mem;
    char *arena;
    size_t arena_len, arena_cap;
    size_t *off;
    uint32_t *len;
    uint32_t *hash;
    int64_t *count;      /* counting only                                 */
    int64_t *df;
    int64_t *last_doc;   /* the document that last raised df              */
    size_t n, cap;
    int32_t *slots;      /* -1 = empty, else an id; n_slots a power of 2  */
    size_t n_slots;
    bool counting;
} sn_strtab;

enum { SN_TEXT_MAX_IDS = INT32_MAX - 1 };

void sn_strtab_init(sn_strtab *t, const sn_mem *mem, bool counting);
void sn_strtab_free(sn_strtab *t);
uint32_t sn_strtab_hash(const char *s, size_t len);
/* The id of s, or -1. */
int32_t sn_strtab_find(const sn_strtab *t, const char *s, size_t len);
/* The id of s, added if new; SN_ERR_NOMEM (negative) on failure. */
int32_t sn_strtab_add(sn_strtab *t, const char *s, size_t len);
static inline const char *sn_strtab_str(const sn_strtab *t, size_t id)
{
    return t->arena + t->off[id];
}
/* Counting tables: adds one occurrence of s in document doc. */
sn_status sn_strtab_count(sn_strtab *t, const char *s, size_t len,
                          int64_t doc);
/* The ids of a counting table ranked by count descending, ties by bytes
 * descending, leaving out the special tokens; at most limit of them (0 =
 * all).  *ids is allocated with t's allocator. */
sn_status sn_strtab_rank(const sn_strtab *t, size_t limit, int32_t **ids,
                         size_t *n);

/* ------------------------------------------------------------ vectorizer */

struct sn_vectorizer {
    sn_mem mem;
    sn_vectorizer_opts opts;
    sn_strtab vocab;     /* id 0 "", id 1 "[UNK]", then learned tokens     */
    float *idf;          /* [vocab.n] in TF_IDF mode, else NULL           */
    sn_strtab counts;    /* adapt in progress                             */
    bool adapting;
    int64_t n_docs;
};

#define SN_OOV_TOKEN "[UNK]"

/* Validates options as sn_vectorizer_new does (message names who). */
sn_status sn_vectorizer_check_opts(const sn_vectorizer_opts *o,
                                   const char *who);
/* A vectorizer with opts (already valid) and the two special tokens,
 * allocated with mem; NULL on failure. */
sn_vectorizer_t *sn_vectorizer_create(const sn_mem *mem,
                                      const sn_vectorizer_opts *opts);

/* Building a vocabulary: a fresh table holding "" and "[UNK]", then one
 * token at a time (checked: non-empty, no NUL, unique, not "[UNK]"). */
sn_status sn_vocab_start(sn_strtab *t, const sn_mem *mem);
sn_status sn_vocab_push(sn_strtab *t, const char *s, size_t len,
                        const char *who, size_t index);
/* Installs a built table and idf array (taking both) in v, freeing the
 * old ones. */
void sn_vectorizer_install(sn_vectorizer_t *v, sn_strtab *vocab,
                           float *idf);

/* The payload shared by the vectorizer file and the model's "vocb"
 * section (docs/TEXT.md). */
void sn_vectorizer_write(const sn_vectorizer_t *v, sn_writer *w);
/* Reads a payload into a new vectorizer allocated with mem; validates
 * everything.  NULL with the reader failed or sn_fail called. */
sn_vectorizer_t *sn_vectorizer_read(sn_reader *r, const sn_mem *mem);

/* ------------------------------------------------------------ the model */

/* The model's text vectorizer (vectorizer_model.c): freed with the model
 * (SN_PART_VECTORIZER), written to and read from the optional "vocb"
 * section (io/model_io.c). */
void sn_model_save_vectorizer(const sn_model *m, sn_writer *w);
sn_status sn_model_load_vectorizer(sn_model *m, sn_reader *r);

#endif /* SN_TEXT_IMPL_H */

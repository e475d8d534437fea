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
 * n-grams.  Buffers grow as needed and are reused from text to text. */
typedef struct sn_text_work {
    sn_mem mem;
    int flags;
    int ngrams;
    char *text;  size_t text_cap;   /* standardized text                 */
    sn_span *spans; size_t spans_cap;
    char *gram;  size_t gram_cap;   /* the n-gram being looked at        */
    size_t n_tokens;                /* unigrams of the current text       */
} sn_text_work;

void sn_text_work_init(sn_text_work *w, const sn_mem *mem, int flags,
                       int ngrams);
void sn_text_work_free(sn_text_work *w);
/* Standardizes and splits text; SN_ERR_NOMEM on failure. */
sn_status sn_text_prepare(sn_text_work *w, const char *text);
/* N-grams of the prepared text: unigrams, then bigrams, ... up to
 * w->ngrams words. */
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

/* ---------------------------------------------------------------- ragged */

/* Grows *p (of *cap elements of elem bytes) to hold need, keeping its
 * contents (capacity doubles).  SN_ERR_NOMEM on failure, *p unchanged. */
sn_status sn_text_grow(const sn_mem *mem, void **p, size_t *cap, size_t need,
                       size_t elem);

struct sn_ragged {
    sn_mem mem;
    int32_t *ids;
    size_t n_ids, ids_cap;
    size_t *offsets;     /* [rows_cap + 1]                                */
    size_t n, rows_cap;  /* rows finished, rows promised                  */
};
typedef struct sn_ragged sn_ragged;

/* An empty list with room for rows rows; NULL on failure. */
sn_ragged *sn_ragged_create(const sn_mem *mem, size_t rows);
/* Appends ids to the current row. */
sn_status sn_ragged_push(sn_ragged *r, const int32_t *ids, size_t n);
/* Finishes the current row. */
void sn_ragged_end_row(sn_ragged *r);

/* ------------------------------------------------------------------- bpe */

enum {
    SN_BPE_N_SPECIAL = 4,
    SN_BPE_BASE = SN_BPE_N_SPECIAL + 256,  /* first merged token            */
    SN_BPE_MAX_PIECE = 256,       /* longest piece (bytes); runs are cut    */
    SN_BPE_MAX_TOKEN = 1 << 16,   /* longest token a file may define        */
    SN_BPE_MAX_VOCAB = 1 << 22
};

struct sn_bpe {
    sn_mem mem;
    sn_bpe_opts opts;
    int n_tokens;            /* SN_BPE_BASE + n_merges                     */
    int32_t *merges;         /* [2 * n_merges]: left, right                */
    char *bytes;             /* every token's bytes, one arena              */
    size_t *tok_off;         /* [n_tokens]                                 */
    uint32_t *tok_len;
    uint64_t *keys;          /* pair -> merge rank: open addressing,       */
    int32_t *ranks;          /* keys[i] == 0 is empty (no pair has 0)      */
    size_t n_slots;          /* a power of 2, load <= 1/2                  */
};
typedef struct sn_bpe sn_bpe;

/* The end of the piece of s[0 .. n) starting at i < n (see seqnet.h). */
size_t sn_bpe_piece_end(const char *s, size_t n, size_t i);
/* A tokenizer from merges[2 * n_merges] (copied), checked as a file's:
 * every id a byte or an earlier merge, no pair twice, no token longer
 * than SN_BPE_MAX_TOKEN (SN_ERR_FORMAT naming who).  NULL on failure. */
sn_bpe *sn_bpe_build(const sn_mem *mem, const sn_bpe_opts *opts,
                     const int32_t *merges, size_t n_merges,
                     const char *who);
/* The rank of merge (left, right), or -1. */
int32_t sn_bpe_rank(const sn_bpe *b, int32_t left, int32_t right);
/* Validates training options (message names who). */
sn_status sn_bpe_check_opts(const sn_bpe_opts *o, const char *who);

/* The payload of the BPE file and of the model's "bpev" section. */
void sn_bpe_write(const sn_bpe *b, sn_writer *w);
sn_bpe *sn_bpe_read(sn_reader *r, const sn_mem *mem);
void sn_model_save_bpe(const sn_model *m, sn_writer *w);
sn_status sn_model_load_bpe(sn_model *m, sn_reader *r);

/* ------------------------------------------------------------ text files */

/* A text object's own file (text_file.c) into a new writer w (after the
 * user-buffer header): magic, payload length, write(obj), CRC-32. */
sn_status sn_text_file_serialise(const uint8_t magic[8],
                                 void (*write)(const void *, sn_writer *),
                                 const void *obj, sn_writer *w);
/* Checks magic, length and CRC of such a file and points payload at its
 * payload; SN_ERR_FORMAT (message names what) otherwise. */
sn_status sn_text_file_open(const uint8_t magic[8], const char *what,
                            const void *data, size_t len, sn_reader *payload);
/* The status and message after a payload reader returned NULL. */
sn_status sn_text_read_failed(const sn_reader *r, const char *what);

/* ------------------------------------------------------------- tokenizer */

struct sn_tokenizer {
    sn_mem mem;
    sn_tokenizer_opts opts;  /* opts.oov_token == oov                    */
    char *oov;
    sn_strtab words;         /* counting; ids in order of first sight     */
    int64_t n_docs;
    int32_t *by_index;       /* [1 .. n_index]: word id (-1: unseen oov)   */
    int32_t *index_of;       /* word id -> index                           */
    size_t n_ranked;         /* words index_of covers                      */
    int n_index;
};
typedef struct sn_tokenizer sn_tokenizer;

sn_status sn_tokenizer_check_opts(const sn_tokenizer_opts *o,
                                  const char *who);
/* An empty tokenizer with valid opts (oov_token copied); NULL on failure. */
sn_tokenizer *sn_tokenizer_create(const sn_mem *mem,
                                  const sn_tokenizer_opts *o);
/* Rebuilds word_index from the counts. */
sn_status sn_tokenizer_rank(sn_tokenizer *t);
void sn_model_save_tokenizer(const sn_model *m, sn_writer *w);
sn_status sn_model_load_tokenizer(sn_model *m, sn_reader *r);

#endif /* SN_TEXT_IMPL_H */

/*
 * glove_load.c - word vectors in the GloVe / word2vec text format, plain or
 * gzip-compressed, into the rows of an Embedding layer's table.
 *
 * The file is parsed into a scratch copy of the table and copied over the
 * weight only when the whole file was valid, so that a malformed file
 * leaves the model as it was.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "internal.h"

#define WHO "sn_embedding_load_vectors"

/* ------------------------------------------------------------ line reader */

/* Reads lines from a FILE * or a gzFile through one block buffer, so that
 * NUL bytes (binary data) are seen instead of silently ending a line. */
typedef struct line_reader {
    const sn_mem *mem;
    const char *path;
    FILE *f;
    gzFile gz;
    unsigned char block[1 << 16];
    size_t pos, len;
    bool eof;
    char *line;          /* the current line, NUL-terminated, no '\n'     */
    size_t line_len, line_cap;
    bool had_newline;    /* whether the current line ended with '\n'       */
    long number;         /* 1-based number of the current line             */
} line_reader;

static sn_status reader_open(line_reader *r, const char *path)
{
    int fd;
    sn_status st = sn_file_open_regular(path, WHO, &fd);
    if (st != SN_OK)
        return st;
    unsigned char magic[2] = {0, 0};
    ssize_t n;
    do
        n = read(fd, magic, 2);
    while (n < 0 && errno == EINTR);
    if (n < 0 || lseek(fd, 0, SEEK_SET) != 0) {
        char text[128];
        st = sn_fail(SN_ERR_IO, WHO ": cannot read %s: %s", path,
                     sn_errno_text(errno, text, sizeof text));
        close(fd);
        return st;
    }
    if (n == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        /* gzip: zlib reads the descriptor (and closes it) */
        r->gz = gzdopen(fd, "rb");
        if (r->gz == NULL) {
            close(fd);
            return sn_fail(SN_ERR_NOMEM, WHO ": cannot open %s (zlib)", path);
        }
        gzbuffer(r->gz, 1 << 17);
    } else {
        r->f = fdopen(fd, "rb");
        if (r->f == NULL) {
            char text[128];
            st = sn_fail(SN_ERR_IO, WHO ": cannot open %s: %s", path,
                         sn_errno_text(errno, text, sizeof text));
            close(fd);
            return st;
        }
    }
    return SN_OK;
}

static void reader_close(line_reader *r)
{
    if (r->f != NULL)
        fclose(r->f);
    if (r->gz != NULL)
        gzclose(r->gz);
    sn_mem_free(r->mem, r->line);
}

static sn_status fill_block(line_reader *r)
{
    r->pos = 0;
    if (r->f != NULL) {
        r->len = fread(r->block, 1, sizeof r->block, r->f);
        if (r->len == 0 && ferror(r->f))
            return sn_fail(SN_ERR_IO, WHO ": cannot read %s", r->path);
    } else {
        int n = gzread(r->gz, r->block, (unsigned)sizeof r->block);
        if (n < 0) {
            int code;
            const char *msg = gzerror(r->gz, &code);
            return sn_fail(code == Z_ERRNO ? SN_ERR_IO : SN_ERR_FORMAT,
                           WHO ": %s: corrupt gzip data after line %ld: %s",
                           r->path, r->number, msg);
        }
        r->len = (size_t)n;
        if (n == 0) {
            /* zlib reports a stream cut short only as a sticky error */
            int code;
            const char *msg = gzerror(r->gz, &code);
            if (code != Z_OK)
                return sn_fail(SN_ERR_FORMAT, WHO ": %s: truncated or corrupt"
                               " gzip data after line %ld: %s", r->path,
                               r->number, msg);
        }
    }
    r->eof = r->len == 0;
    return SN_OK;
}

static sn_status append(line_reader *r, const unsigned char *p, size_t n)
{
    if (r->line_len + n + 1 > r->line_cap) {
        size_t cap = r->line_cap ? r->line_cap : 256;
        while (cap < r->line_len + n + 1)
            cap *= 2;
        char *bigger = sn_mem_alloc(r->mem, cap);
        if (bigger == NULL)
            return SN_ERR_NOMEM;
        if (r->line_len > 0)
            memcpy(bigger, r->line, r->line_len);
        sn_mem_free(r->mem, r->line);
        r->line = bigger;
        r->line_cap = cap;
    }
    memcpy(r->line + r->line_len, p, n);
    r->line_len += n;
    r->line[r->line_len] = '\0';
    return SN_OK;
}

/* Next line into r->line: 1 if there is one, 0 at the end, or an error. */
static int next_line(line_reader *r)
{
    r->line_len = 0;
    r->had_newline = false;
    bool any = false;
    for (;;) {
        if (r->pos == r->len) {
            sn_status st = fill_block(r);
            if (st != SN_OK)
                return st;
            if (r->eof)
                break;
        }
        const unsigned char *p = r->block + r->pos;
        size_t avail = r->len - r->pos;
        const unsigned char *nl = memchr(p, '\n', avail);
        size_t take = nl != NULL ? (size_t)(nl - p) : avail;
        sn_status st = append(r, p, take);
        if (st != SN_OK)
            return st;
        any = true;
        r->pos += take + (nl != NULL);
        if (nl != NULL) {
            r->had_newline = true;
            break;
        }
    }
    if (!any)
        return 0;
    r->number++;
    if (memchr(r->line, '\0', r->line_len) != NULL)
        return sn_fail(SN_ERR_FORMAT, WHO ": %s:%ld: NUL byte: binary data, "
                       "not a GloVe/word2vec text file", r->path, r->number);
    if (r->line_len > 0 && r->line[r->line_len - 1] == '\r')
        r->line[--r->line_len] = '\0';  /* CRLF files */
    return 1;
}

/* -------------------------------------------------------- vocabulary hash */

/* Open addressing over the vocabulary: slot -> id + 1 (0 = empty). */
typedef struct vocab_hash {
    int *slot;
    size_t mask;
} vocab_hash;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;  /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static sn_status hash_build(vocab_hash *h, const sn_mem *mem,
                            const char *const *vocab, int n, int skip)
{
    size_t cap = 16;
    while (cap < (size_t)n * 2)
        cap *= 2;
    h->slot = sn_mem_calloc(mem, cap, sizeof *h->slot);
    if (h->slot == NULL)
        return SN_ERR_NOMEM;
    h->mask = cap - 1;
    for (int id = skip; id < n; id++) {
        if (vocab[id] == NULL || vocab[id][0] == '\0')
            continue;
        size_t i = hash_str(vocab[id]) & h->mask;
        while (h->slot[i] != 0 && strcmp(vocab[h->slot[i] - 1], vocab[id]))
            i = (i + 1) & h->mask;
        if (h->slot[i] == 0)  /* a repeated word keeps its first id */
            h->slot[i] = id + 1;
    }
    return SN_OK;
}

static int hash_find(const vocab_hash *h, const char *const *vocab,
                     const char *word)
{
    size_t i = hash_str(word) & h->mask;
    while (h->slot[i] != 0) {
        if (strcmp(vocab[h->slot[i] - 1], word) == 0)
            return h->slot[i] - 1;
        i = (i + 1) & h->mask;
    }
    return -1;
}

/* ------------------------------------------------------------ parsing */

typedef struct load_state {
    line_reader *r;
    const vocab_hash *hash;
    const char *const *vocab;
    int dim;
    float *rows;          /* scratch table [vocab_size, dim]               */
    unsigned char *seen;  /* per id: found already                         */
    int found;
} load_state;

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Whether the line is a word2vec header "count dim". */
static bool parse_header(const char *line, long *count, long *dim)
{
    char *end;
    errno = 0;
    *count = strtol(line, &end, 10);
    if (end == line || !is_space(*end) || errno)
        return false;
    const char *p = end;
    *dim = strtol(p, &end, 10);
    if (end == p || errno)
        return false;
    while (is_space(*end))
        end++;
    return *end == '\0';
}

static sn_status line_error(const load_state *s, const char *what)
{
    const line_reader *r = s->r;
    return sn_fail(SN_ERR_FORMAT, WHO ": %s:%ld: %s%s", r->path, r->number,
                   what, r->had_newline ? "" :
                   " (the last line has no newline: truncated file?)");
}

/* Parses "word v1 .. vdim" into out (dim floats); returns the word. */
static sn_status parse_vector(load_state *s, char **word, float *out)
{
    char *p = s->r->line;
    while (is_space(*p))
        p++;
    if (*p == '\0')
        return line_error(s, "empty line");
    *word = p;
    while (*p && !is_space(*p))
        p++;
    if (*p)
        *p++ = '\0';
    int k = 0;
    char msg[160];
    for (;;) {
        while (is_space(*p))
            p++;
        if (*p == '\0')
            break;
        /* the one number grammar (numbers.c): no hex, nan or inf */
        char *end = p;
        while (*end && !is_space(*end))
            end++;
        float v = 0.0f;
        int ok = sn_number_parse_f(p, (size_t)(end - p), &v);
        if (ok == 0) {
            snprintf(msg, sizeof msg, "value %d of '%.40s' is not a number: "
                     "'%.*s'", k + 1, *word, (int)(end - p > 40 ? 40 :
                                                   end - p), p);
            return line_error(s, msg);
        }
        if (ok < 0 || !isfinite(v)) {
            snprintf(msg, sizeof msg, "value %d of '%.40s' is not finite "
                     "(out of a float's range)", k + 1, *word);
            return line_error(s, msg);
        }
        if (k < s->dim)
            out[k] = v;
        k++;
        p = end;
    }
    if (k != s->dim) {
        snprintf(msg, sizeof msg, "'%.40s' has %d values, the embedding's "
                 "output_dim is %d", *word, k, s->dim);
        return line_error(s, msg);
    }
    return SN_OK;
}

static sn_status parse_file(load_state *s, float *tmp)
{
    line_reader *r = s->r;
    long vectors = 0;
    int got;
    while ((got = next_line(r)) == 1) {
        long count, hdim;
        if (r->number == 1 && parse_header(r->line, &count, &hdim)) {
            if (hdim != s->dim)
                return sn_fail(SN_ERR_FORMAT, WHO ": %s:1: word2vec header "
                               "says %ld dimensions, the embedding's "
                               "output_dim is %d", r->path, hdim, s->dim);
            continue;
        }
        char *word = NULL;
        sn_status st = parse_vector(s, &word, tmp);
        if (st != SN_OK)
            return st;
        vectors++;
        int id = hash_find(s->hash, s->vocab, word);
        if (id >= 0 && !s->seen[id]) {
            s->seen[id] = 1;
            s->found++;
            memcpy(s->rows + (size_t)id * s->dim, tmp,
                   (size_t)s->dim * sizeof *tmp);
        }
    }
    if (got < 0)
        return got;
    if (vectors == 0)
        return sn_fail(SN_ERR_FORMAT, WHO ": %s: empty file (no vectors)",
                       r->path);
    return SN_OK;
}

/* ------------------------------------------------------------ entry */

/* The embedding table of layer: index and [rows, cols]. */
static sn_status embedding_table(sn_model_t *model, sn_layer_t *layer,
                                 int *index, int *rows, int *cols)
{
    if (strcmp(layer->ops->type, "Embedding") != 0)
        return sn_fail(SN_ERR_INVALID_ARG, WHO ": layer '%s' is a %s, not an "
                       "Embedding", sn_layer_label(layer), layer->ops->type);
    if (layer->owner != model)
        return sn_fail(SN_ERR_INVALID_ARG, WHO ": layer '%s' does not belong "
                       "to this model", sn_layer_label(layer));
    sn_status st = sn_model_build(model);
    if (st != SN_OK)
        return st;
    int dims[SN_MAX_RANK];
    *index = layer->first_weight;
    int rank = sn_model_weight_info(model, *index, NULL, dims, SN_MAX_RANK, NULL);
    if (rank != 2)
        return rank < 0 ? rank : sn_fail(SN_ERR_STATE, WHO ": unexpected "
                                         "embedding weight rank %d", rank);
    *rows = dims[0];
    *cols = dims[1];
    return SN_OK;
}

static sn_status check_args(const sn_model_t *model, const sn_layer_t *layer,
                            const char *path, const char *const *vocab,
                            int vocab_size)
{
    if (model == NULL || layer == NULL || path == NULL || vocab == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, WHO ": NULL argument");
    if (vocab_size < 0)
        return sn_fail(SN_ERR_INVALID_ARG, WHO ": vocab_size must be >= 0, "
                       "got %d", vocab_size);
    return SN_OK;
}

static sn_status load_into(load_state *s, const sn_mem *mem, int vocab_size,
                           int skip, const char *path)
{
    vocab_hash hash = {NULL, 0};
    float *tmp = sn_mem_alloc(mem, (size_t)s->dim * sizeof *tmp);
    line_reader *r = sn_mem_calloc(mem, 1, sizeof *r);
    sn_status st = tmp != NULL && r != NULL ? SN_OK : SN_ERR_NOMEM;
    if (st == SN_OK)
        st = hash_build(&hash, mem, s->vocab, vocab_size, skip);
    if (st == SN_OK) {
        r->mem = mem;
        r->path = path;
        s->r = r;
        s->hash = &hash;
        st = reader_open(r, path);
        if (st == SN_OK)
            st = parse_file(s, tmp);
        reader_close(r);
    }
    sn_mem_free(mem, r);
    sn_mem_free(mem, tmp);
    sn_mem_free(mem, hash.slot);
    return st;
}

SN_API sn_status sn_embedding_load_vectors(sn_model_t *model,
                                           sn_layer_t *embedding,
                                           const char *path,
                                           const char *const *vocab,
                                           int vocab_size,
                                           const sn_glove_opts *opts,
                                           int *found)
{
    sn_glove_opts o = SN_GLOVE_OPTS_INIT;
    sn_status st = check_args(model, embedding, path, vocab, vocab_size);
    if (st == SN_OK && opts != NULL)
        st = sn_opts_merge(&o, sizeof o, opts, WHO);
    if (st != SN_OK)
        return st;
    if (o.skip_ids < 0)
        return sn_fail(SN_ERR_INVALID_ARG, WHO ": skip_ids must be >= 0");
    int index = 0, rows = 0, cols = 0;
    if ((st = embedding_table(model, embedding, &index, &rows, &cols)) !=
        SN_OK)
        return st;
    if (vocab_size > rows)
        return sn_fail(SN_ERR_SHAPE, WHO ": vocab_size %d exceeds the "
                       "embedding's input_dim %d", vocab_size, rows);
    float *table = sn_model_weight_data(model, index, NULL);
    if (table == NULL)
        return sn_last_status();
    sn_mem mem = sn_mem_current();
    load_state s = {.vocab = vocab, .dim = cols};
    s.rows = sn_mem_alloc(&mem, (size_t)vocab_size * cols * sizeof *s.rows);
    s.seen = sn_mem_calloc(&mem, (size_t)vocab_size + 1, 1);
    st = s.rows != NULL && s.seen != NULL ? SN_OK : SN_ERR_NOMEM;
    if (st == SN_OK)
        st = load_into(&s, &mem, vocab_size, o.skip_ids, path);
    if (st == SN_OK) {
        for (int id = 0; id < vocab_size; id++)
            if (s.seen[id])
                memcpy(table + (size_t)id * cols, s.rows + (size_t)id * cols,
                       (size_t)cols * sizeof *table);
        sn_layer_set_trainable(embedding, o.trainable);
        if (found != NULL)
            *found = s.found;
    }
    sn_mem_free(&mem, s.rows);
    sn_mem_free(&mem, s.seen);
    return st;
}

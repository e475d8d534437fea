/*
 * imdb.c - the Large Movie Review Dataset (aclImdb v1) read straight from
 * its original directory layout: <split>/{neg,pos}/<id>_<rating>.txt and
 * train/unsup/<id>_0.txt.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

typedef struct imdb_review {
    char *text;
    int label, rating, id;
} imdb_review;

struct sn_imdb {
    sn_mem mem;
    imdb_review *reviews;
    int count, cap;
    const char **texts;   /* reviews[i].text, rebuilt after every reorder */
};

/* "<id>_<rating>.txt" with id a decimal number and rating 0..10. */
static bool parse_name(const char *name, int *id, int *rating)
{
    const char *p = name;
    long v = 0;
    if (*p < '0' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (*p - '0');
        if (v > INT_MAX)
            return false;
    }
    *id = (int)v;
    if (*p++ != '_' || *p < '0' || *p > '9')
        return false;
    v = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        if ((v = v * 10 + (*p - '0')) > 10)
            return false;
    *rating = (int)v;
    return strcmp(p, ".txt") == 0;
}

/* Reads a whole file into a NUL-terminated string (the allocator's). */
static sn_status read_text(const sn_mem *mem, const char *path, char **out)
{
    *out = NULL;
    /* a regular file only: a FIFO would block, /dev/zero never end */
    int fd;
    sn_status ost = sn_file_open_regular(path, "sn_imdb_load", &fd);
    if (ost != SN_OK)
        return ost;
    FILE *f = fdopen(fd, "rb");
    if (f == NULL) {
        char text[128];
        close(fd);
        return sn_fail(SN_ERR_IO, "sn_imdb_load: cannot open %s: %s", path,
                       sn_errno_text(errno, text, sizeof text));
    }
    size_t cap = 4096, len = 0;
    char *buf = sn_mem_alloc(mem, cap);
    sn_status st = SN_OK;
    while (buf != NULL) {
        len += fread(buf + len, 1, cap - 1 - len, f);
        if (len < cap - 1)
            break;
        /* full: grow (the allocator has no realloc) */
        char *bigger = sn_mem_alloc(mem, cap * 2);
        if (bigger != NULL)
            memcpy(bigger, buf, len);
        sn_mem_free(mem, buf);
        buf = bigger;
        cap *= 2;
    }
    if (buf == NULL)
        st = SN_ERR_NOMEM;
    else if (ferror(f))
        st = sn_fail(SN_ERR_IO, "sn_imdb_load: cannot read %s", path);
    else if (memchr(buf, '\0', len) != NULL)
        st = sn_fail(SN_ERR_FORMAT, "sn_imdb_load: %s holds a NUL byte "
                     "(not a text file)", path);
    fclose(f);
    if (st != SN_OK) {
        sn_mem_free(mem, buf);
        return st;
    }
    buf[len] = '\0';
    *out = buf;
    return SN_OK;
}

static sn_status push_review(sn_imdb_t *d, char *text, int label, int rating,
                             int id)
{
    if (d->count == d->cap) {
        int cap = d->cap ? d->cap * 2 : 1024;
        imdb_review *r = sn_mem_calloc(&d->mem, (size_t)cap, sizeof *r);
        if (r == NULL)
            return SN_ERR_NOMEM;
        if (d->count > 0)
            memcpy(r, d->reviews, (size_t)d->count * sizeof *r);
        sn_mem_free(&d->mem, d->reviews);
        d->reviews = r;
        d->cap = cap;
    }
    d->reviews[d->count++] = (imdb_review){text, label, rating, id};
    return SN_OK;
}

/* Reads every review of one folder. */
static sn_status read_folder(sn_imdb_t *d, const char *dir, int label)
{
    DIR *dp = opendir(dir);
    if (dp == NULL) {
        char text[128];
        return sn_fail(SN_ERR_IO, "sn_imdb_load: cannot open folder %s: %s",
                       dir, sn_errno_text(errno, text, sizeof text));
    }
    sn_status st = SN_OK;
    size_t dlen = strlen(dir);
    char *path = NULL;
    const struct dirent *e;
    while (st == SN_OK && (e = readdir(dp)) != NULL) {
        if (e->d_name[0] == '.')
            continue;  /* ".", "..", and hidden files such as .DS_Store */
        int id, rating;
        if (!parse_name(e->d_name, &id, &rating)) {
            st = sn_fail(SN_ERR_FORMAT, "sn_imdb_load: %s/%s: file name is "
                         "not <id>_<rating>.txt (rating 0..10)", dir,
                         e->d_name);
            break;
        }
        if (label >= 0 && rating == 0) {
            st = sn_fail(SN_ERR_FORMAT, "sn_imdb_load: %s/%s: a labelled "
                         "review needs a rating 1..10", dir, e->d_name);
            break;
        }
        path = sn_mem_alloc(&d->mem, dlen + strlen(e->d_name) + 2);
        if (path == NULL) {
            st = SN_ERR_NOMEM;
            break;
        }
        sprintf(path, "%s/%s", dir, e->d_name);
        char *text = NULL;
        st = read_text(&d->mem, path, &text);
        sn_mem_free(&d->mem, path);
        if (st == SN_OK && (st = push_review(d, text, label, rating, id)) !=
                               SN_OK)
            sn_mem_free(&d->mem, text);
    }
    closedir(dp);
    return st;
}

static int by_label_id(const void *pa, const void *pb)
{
    const imdb_review *a = pa, *b = pb;
    if (a->label != b->label)
        return a->label < b->label ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

static sn_status rebuild_texts(sn_imdb_t *d)
{
    if (d->texts == NULL) {
        d->texts = sn_mem_calloc(&d->mem, (size_t)d->count + 1,
                                 sizeof *d->texts);
        if (d->texts == NULL)
            return SN_ERR_NOMEM;
    }
    for (int i = 0; i < d->count; i++)
        d->texts[i] = d->reviews[i].text;
    return SN_OK;
}

/* After sorting, equal (label, id) neighbours are duplicates. */
static sn_status check_unique(const sn_imdb_t *d, const char *root,
                              const char *split)
{
    for (int i = 1; i < d->count; i++) {
        const imdb_review *r = &d->reviews[i];
        if (by_label_id(r - 1, r) != 0)
            continue;
        return sn_fail(SN_ERR_FORMAT, "sn_imdb_load: %s/%s/%s: id %d occurs "
                       "twice", root, r->label < 0 ? "train" : split,
                       r->label < 0 ? "unsup" : r->label ? "pos" : "neg",
                       r->id);
    }
    return SN_OK;
}

static sn_status load_split(sn_imdb_t *d, const char *root, const char *split)
{
    static const char *const names[] = {"neg", "pos"};
    size_t n = strlen(root) + strlen(split) + 16;
    char *dir = sn_mem_alloc(&d->mem, n);
    if (dir == NULL)
        return SN_ERR_NOMEM;
    sn_status st = SN_OK;
    if (strcmp(split, "unsup") == 0) {
        snprintf(dir, n, "%s/train/unsup", root);
        st = read_folder(d, dir, -1);
    } else {
        for (int label = 0; label < 2 && st == SN_OK; label++) {
            snprintf(dir, n, "%s/%s/%s", root, split, names[label]);
            st = read_folder(d, dir, label);
        }
    }
    if (st == SN_OK && d->count > 0) { /* (qsort(NULL, 0, ...) is UB) */
        qsort(d->reviews, (size_t)d->count, sizeof *d->reviews, by_label_id);
        st = check_unique(d, root, split);
    }
    sn_mem_free(&d->mem, dir);
    return st == SN_OK ? rebuild_texts(d) : st;
}

SN_API sn_status sn_imdb_load(const char *aclimdb_dir, const char *split,
                              sn_imdb_t **out)
{
    if (out == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_imdb_load: out is NULL");
    *out = NULL;
    if (aclimdb_dir == NULL || split == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_imdb_load: NULL argument");
    if (strcmp(split, "train") != 0 && strcmp(split, "test") != 0 &&
        strcmp(split, "unsup") != 0)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_imdb_load: split must be "
                       "\"train\", \"test\" or \"unsup\", got \"%s\"", split);
    sn_mem mem = sn_mem_current();
    sn_imdb_t *d = sn_mem_calloc(&mem, 1, sizeof *d);
    if (d == NULL)
        return SN_ERR_NOMEM;
    d->mem = mem;
    sn_status st = load_split(d, aclimdb_dir, split);
    if (st != SN_OK) {
        sn_imdb_free(d);
        return st;
    }
    *out = d;
    return SN_OK;
}

static const imdb_review *review_at(const sn_imdb_t *d, int i)
{
    return d != NULL && i >= 0 && i < d->count ? &d->reviews[i] : NULL;
}

SN_API int sn_imdb_count(const sn_imdb_t *d)
{
    return d != NULL ? d->count : 0;
}

SN_API const char *sn_imdb_text(const sn_imdb_t *d, int i)
{
    const imdb_review *r = review_at(d, i);
    return r != NULL ? r->text : NULL;
}

SN_API int sn_imdb_label(const sn_imdb_t *d, int i)
{
    const imdb_review *r = review_at(d, i);
    return r != NULL ? r->label : SN_ERR_NOT_FOUND;
}

SN_API int sn_imdb_rating(const sn_imdb_t *d, int i)
{
    const imdb_review *r = review_at(d, i);
    return r != NULL ? r->rating : SN_ERR_NOT_FOUND;
}

SN_API int sn_imdb_id(const sn_imdb_t *d, int i)
{
    const imdb_review *r = review_at(d, i);
    return r != NULL ? r->id : SN_ERR_NOT_FOUND;
}

SN_API const char *const *sn_imdb_texts(const sn_imdb_t *d)
{
    return d != NULL ? d->texts : NULL;
}

SN_API sn_status sn_imdb_shuffle(sn_imdb_t *d, uint64_t seed)
{
    if (d == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_imdb_shuffle: imdb is NULL");
    sn_rng rng;
    sn_rng_seed(&rng, seed);
    for (int i = d->count - 1; i > 0; i--) {
        int j = (int)sn_rng_below(&rng, (uint64_t)i + 1);
        imdb_review t = d->reviews[i];
        d->reviews[i] = d->reviews[j];
        d->reviews[j] = t;
    }
    return rebuild_texts(d);
}

SN_API void sn_imdb_free(sn_imdb_t *d)
{
    if (d == NULL)
        return;
    sn_mem mem = d->mem;
    for (int i = 0; i < d->count; i++)
        sn_mem_free(&mem, d->reviews[i].text);
    sn_mem_free(&mem, d->reviews);
    sn_mem_free(&mem, d->texts);
    sn_mem_free(&mem, d);
}

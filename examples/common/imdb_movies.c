/*
 * imdb_movies.c - review -> movie from the IMDB urls files, and the
 * validation split by movie (imdb_movies.h).
 */
#include "imdb_movies.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The number after "/tt" in an IMDb title URL, or -1. */
static int title_number(const char *line)
{
    const char *tt = strstr(line, "/tt");
    if (tt == NULL)
        return -1;
    long v = strtol(tt + 3, NULL, 10);
    return v > 0 && v < 1000000000L ? (int)v : -1;
}

/* Reads the movie of every line of path into a malloc'ed array; *n gets
 * the line count.  NULL if the file cannot be read. */
static int *read_urls(const char *path, int *n)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    int cap = 1024, k = 0;
    int *movie = malloc((size_t)cap * sizeof *movie);
    char line[512];
    while (movie != NULL && fgets(line, sizeof line, f) != NULL) {
        if (k == cap) {
            int *bigger = realloc(movie, (size_t)(cap *= 2) * sizeof *movie);
            if (bigger == NULL) {
                free(movie);
                movie = NULL;
                break;
            }
            movie = bigger;
        }
        movie[k++] = title_number(line);
    }
    fclose(f);
    *n = k;
    return movie;
}

int *ex_imdb_movies(const char *dir, const char *split,
                    const sn_imdb_t *imdb)
{
    char path[2][1024];
    int *urls[2], n_urls[2] = { 0, 0 };
    for (int label = 0; label < 2; label++) {
        snprintf(path[label], sizeof path[label], "%s/%s/urls_%s.txt", dir,
                 split, label ? "pos" : "neg");
        urls[label] = read_urls(path[label], &n_urls[label]);
    }
    int n = sn_imdb_count(imdb);
    int *movie = urls[0] && urls[1] ? malloc((size_t)n * sizeof *movie)
                                    : NULL;
    for (int i = 0; movie != NULL && i < n; i++) {
        int label = sn_imdb_label(imdb, i) > 0, id = sn_imdb_id(imdb, i);
        if (id < 0 || id >= n_urls[label] || urls[label][id] < 0) {
            free(movie);   /* the files do not describe these reviews */
            movie = NULL;
        } else {
            movie[i] = urls[label][id];
        }
    }
    free(urls[0]);
    free(urls[1]);
    return movie;
}

/* A movie's reviews: how many, and whether the tail takes them. */
typedef struct group {
    int movie, size, first, in_tail;
} group;

static int by_movie(const void *a, const void *b)
{
    const group *x = a, *y = b;
    return (x->movie > y->movie) - (x->movie < y->movie);
}

static int by_first(const void *a, const void *b)
{
    const group *x = a, *y = b;
    return (x->first > y->first) - (x->first < y->first);
}

/* The index of movie in the sorted groups g[0 .. n). */
static int find_group(const group *g, int n, int movie)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (g[mid].movie < movie)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int ex_split_by_movie(const int *movie, int n, int n_tail, int *order,
                      int *n_movies)
{
    group *g = calloc((size_t)(n > 0 ? n : 1), sizeof *g);
    if (g == NULL)
        return -1;
    /* one group per distinct movie, with its first row */
    for (int i = 0; i < n; i++)
        g[i] = (group){ movie[i], 1, i, 0 };
    qsort(g, (size_t)n, sizeof *g, by_movie);
    int n_g = 0;
    for (int i = 0; i < n; i++) {
        if (n_g > 0 && g[n_g - 1].movie == g[i].movie) {
            g[n_g - 1].size++;
            if (g[i].first < g[n_g - 1].first)
                g[n_g - 1].first = g[i].first;
        } else {
            g[n_g++] = g[i];
        }
    }
    /* whole movies, in the order the rows first show them, while they fit */
    qsort(g, (size_t)n_g, sizeof *g, by_first);
    int taken = 0, movies = 0;
    for (int k = 0; k < n_g && taken < n_tail; k++)
        if (taken + g[k].size <= n_tail) {
            g[k].in_tail = 1;
            taken += g[k].size;
            movies++;
        }
    if (n_movies != NULL)
        *n_movies = movies;
    qsort(g, (size_t)n_g, sizeof *g, by_movie);
    int head = 0, tail = n - taken;
    for (int i = 0; i < n; i++) {
        if (g[find_group(g, n_g, movie[i])].in_tail)
            order[tail++] = i;
        else
            order[head++] = i;
    }
    free(g);
    return taken;
}

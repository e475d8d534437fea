/*
 * imdb_movies.h - which movie each IMDB review is about, and a validation
 * split by movie.
 *
 * The dataset's test reviews are about other movies than its training
 * reviews (Maas et al. 2011).  A validation split taken at random from the
 * training reviews shares movies with the rows the model is fitted on, so
 * a model that memorises names and titles looks better on it than on the
 * test set.  Validating on whole movies that the fit rows never see makes
 * the validation rows a test set in miniature.
 */
#ifndef EX_IMDB_MOVIES_H
#define EX_IMDB_MOVIES_H

#include <stdint.h>

#include <seqnet.h>

/* The movie of every review of imdb (in its current order), read from
 * <dir>/<split>/urls_neg.txt and urls_pos.txt (line k: the IMDb page of
 * the review with id k, ".../title/tt0453418/usercomments" -> 453418).
 * Returns a malloc'ed array of sn_imdb_count(imdb) ids, or NULL when the
 * files are missing or do not match the reviews. */
int *ex_imdb_movies(const char *dir, const char *split,
                    const sn_imdb_t *imdb);

/* Orders rows 0 .. n-1 so that the last n_tail are whole movies: movies
 * are taken in the order their first review appears (a random order when
 * the rows are shuffled) whenever all their reviews still fit in the tail.
 * order[0 .. n) receives the rows: the others first, then the tail, each
 * in their previous order; *n_movies (may be NULL) the number of movies in
 * the tail.  Returns how many rows the tail holds (n_tail unless no set of
 * whole movies adds up to it), -1 when out of memory. */
int ex_split_by_movie(const int *movie, int n, int n_tail, int *order,
                      int *n_movies);

#endif

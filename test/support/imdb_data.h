/* test/support/imdb_data.h - where the tests that read the real IMDB
 * reviews find them.
 *
 * In order: $SN_IMDB_DIR, data/aclImdb (make data), or the train split
 * extracted from the shared tarball ../shared/data/imdb/aclImdb_v1.tar.gz
 * into a fresh temporary folder. A fresh clone in CI has only the tarball,
 * so a test that looked only for data/aclImdb would skip there. */
#ifndef SN_TEST_IMDB_DATA_H
#define SN_TEST_IMDB_DATA_H

#include <stdbool.h>
#include <stddef.h>

/* Where the reviews are; tk_imdb_release removes what tk_imdb_find
 * extracted. */
typedef struct {
    char root[4096];   /* the aclImdb folder (root/train/pos, ...) */
    char tmp[64];      /* the temporary folder extracted into, or "" */
} tk_imdb_dir;

/* Fills d and returns true when the train split can be read; false (the
 * caller then skips with tk_imdb_skip_reason()) when no copy exists. */
bool tk_imdb_find(tk_imdb_dir *d);

/* Removes the temporary extraction, if any. */
void tk_imdb_release(tk_imdb_dir *d);

/* The sentence a skipping test prints. */
const char *tk_imdb_skip_reason(void);

#endif

/* test/support/imdb_data.c - finds (or extracts) the IMDB train split for
 * the tests that read the real reviews; see imdb_data.h. */
#include "imdb_data.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char shared_tarball[] = "../shared/data/imdb/aclImdb_v1.tar.gz";

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool has_train_split(const char *root)
{
    char pos[4200];
    snprintf(pos, sizeof pos, "%s/train/pos", root);
    return is_dir(pos);
}

/* Extracts only train/pos and train/neg: the unsup and test folders are
 * not read by any test and would double the time. */
static void extract_train_split(tk_imdb_dir *d)
{
    snprintf(d->tmp, sizeof d->tmp, "/tmp/sn_imdb_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(d->tmp));
    char cmd[512];
    snprintf(cmd, sizeof cmd, "tar -xzf %s -C %s aclImdb/train/pos "
             "aclImdb/train/neg", shared_tarball, d->tmp);
    ck_assert_msg(system(cmd) == 0, "extracting %s failed", shared_tarball);
    snprintf(d->root, sizeof d->root, "%s/aclImdb", d->tmp);
}

bool tk_imdb_find(tk_imdb_dir *d)
{
    d->tmp[0] = '\0';
    const char *env = getenv("SN_IMDB_DIR");
    if (env != NULL && has_train_split(env)) {
        snprintf(d->root, sizeof d->root, "%s", env);
        return true;
    }
    if (has_train_split("data/aclImdb")) {
        snprintf(d->root, sizeof d->root, "data/aclImdb");
        return true;
    }
    if (access(shared_tarball, R_OK) != 0)
        return false;
    extract_train_split(d);
    return true;
}

void tk_imdb_release(tk_imdb_dir *d)
{
    if (d->tmp[0] == '\0')
        return;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->tmp);
    ck_assert_int_eq(system(cmd), 0);
    d->tmp[0] = '\0';
}

const char *tk_imdb_skip_reason(void)
{
    return "no $SN_IMDB_DIR, no data/aclImdb and no "
           "../shared/data/imdb/aclImdb_v1.tar.gz";
}

/* fuzz_imdb.c - the IMDB folder loader (docs/DATA.md) on a folder built
 * from the input.  Byte 0 picks the split; the rest is records separated
 * by NUL bytes: a kind byte (bits 0-1: train/pos, train/neg, test/pos,
 * train/unsup; the kind 'F' makes a FIFO, 'L' a link to /dev/zero), then
 * a file name up to '\n' ('/' becomes '_'), then the contents. */
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

static const char *const folders[4] = { "train/pos", "train/neg", "test/pos",
                                        "train/unsup" };

static void rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rm_tree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char *const splits[4] = { "train", "test", "unsup",
                                           "train" };
    const char *root = fuzz_scratch(".imdb");
    rm_tree(root);
    FUZZ_CHECK(mkdir(root, 0755) == 0);
    char p[1024];
    static const char *const dirs[5] = { "train", "test", "train/pos",
                                         "train/neg", "test/pos" };
    for (int i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "%s/%s", root, dirs[i]);
        mkdir(p, 0755);
    }
    if (!(data[0] & 4)) {  /* sometimes a split lacks folders */
        snprintf(p, sizeof p, "%s/test/neg", root);
        mkdir(p, 0755);
        snprintf(p, sizeof p, "%s/train/unsup", root);
        mkdir(p, 0755);
    }
    const uint8_t *q = data + 1, *end = data + size;
    for (int files = 0; q < end && files < 64; files++) {
        const uint8_t *rec_end = memchr(q, 0, (size_t)(end - q));
        if (rec_end == NULL)
            rec_end = end;
        uint8_t kind = *q++;
        char name[128];
        size_t k = 0;
        while (q < rec_end && *q != '\n' && k + 1 < sizeof name) {
            name[k++] = *q == '/' ? '_' : (char)*q;
            q++;
        }
        name[k] = '\0';
        if (q < rec_end && *q == '\n')
            q++;
        if (k > 0 && strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
            snprintf(p, sizeof p, "%s/%s/%s", root, folders[kind & 3], name);
            if (kind == 'F') {
                mkfifo(p, 0644);
            } else if (kind == 'L') {
                (void)symlink("/dev/zero", p);
            } else {
                FILE *f = fopen(p, "wb");
                if (f != NULL) {
                    fwrite(q, 1, (size_t)(rec_end - q), f);
                    fclose(f);
                }
            }
        }
        q = rec_end < end ? rec_end + 1 : end;
    }
    sn_imdb_t *d = (sn_imdb_t *)1;
    sn_status st = sn_imdb_load(root, splits[data[0] & 3], &d);
    if (st != SN_OK) {
        fuzz_check_failure(st);
        FUZZ_CHECK(d == NULL);
    } else {
        int n = sn_imdb_count(d);
        FUZZ_CHECK(n >= 0);
        for (int i = 0; i < n; i++) {
            FUZZ_CHECK(sn_imdb_text(d, i) != NULL);
            int label = sn_imdb_label(d, i);
            FUZZ_CHECK(label >= -1 && label <= 1);
        }
        FUZZ_CHECK(sn_imdb_shuffle(d, 7) == SN_OK);
        FUZZ_CHECK(sn_imdb_texts(d)[n] == NULL);
        sn_imdb_free(d);
    }
    rm_tree(root);
    return 0;
}

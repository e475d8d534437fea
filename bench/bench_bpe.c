/*
 * bench_bpe.c - BPE training and encoding speed on the 25,000 IMDB
 * training reviews, read with the library's IMDB reader (sn_imdb_load)
 * from an aclImdb folder (`make data` unpacks aclImdb_v1.tar.gz into
 * data/aclImdb).  Prints wall-clock seconds of training (vocab_size merges
 * target), of encoding every review, and checks that every review decodes
 * back byte for byte.  One thread: training and encoding are serial.
 *
 *   build/bench/bench_bpe [aclImdb dir] [vocab_size] [--save file]
 */
#define _POSIX_C_SOURCE 200809L
#include <seqnet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int fail(const char *what)
{
    fprintf(stderr, "bench_bpe: %s: %s\n", what, sn_last_error());
    return 1;
}

/* Decodes every review and compares it with the original. */
static int check_round_trip(const sn_bpe_t *bpe, const sn_ragged_t *r,
                            const char *const *texts, int n)
{
    size_t cap = 1 << 16;
    char *buf = malloc(cap);
    int bad = 0;
    for (int i = 0; i < n && buf != NULL; i++) {
        size_t len = 0, need = 0;
        const int32_t *ids = sn_ragged_row(r, (size_t)i, &len);
        if (sn_bpe_decode(bpe, ids, len, buf, cap, &need) != SN_OK &&
            need + 1 > cap) {
            free(buf);
            cap = need + 1;
            buf = malloc(cap);
            if (buf == NULL ||
                sn_bpe_decode(bpe, ids, len, buf, cap, &need) != SN_OK)
                break;
        }
        bad += strcmp(buf, texts[i]) != 0;
    }
    free(buf);
    return bad;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "data/aclImdb";
    int vocab = argc > 2 ? atoi(argv[2]) : 8000;
    const char *save = argc > 4 && strcmp(argv[3], "--save") == 0 ? argv[4]
                                                                  : NULL;
    sn_imdb_t *imdb = NULL;
    double t0 = now();
    if (sn_imdb_load(dir, "train", &imdb) != SN_OK)
        return fail("sn_imdb_load");
    int n = sn_imdb_count(imdb);
    const char *const *texts = sn_imdb_texts(imdb);
    size_t bytes = 0;
    for (int i = 0; i < n; i++)
        bytes += strlen(texts[i]);
    double t1 = now(), c1 = cpu();
    sn_bpe_opts o = SN_BPE_OPTS_INIT;
    o.vocab_size = vocab;
    sn_bpe_t *bpe = NULL;
    if (sn_bpe_train(texts, (size_t)n, &o, &bpe) != SN_OK)
        return fail("sn_bpe_train");
    double t2 = now(), c2 = cpu();
    sn_ragged_t *r = NULL;
    if (sn_bpe_encode_batch(bpe, texts, (size_t)n, 0, &r) != SN_OK)
        return fail("sn_bpe_encode_batch");
    double t3 = now(), c3 = cpu();
    size_t ids = sn_ragged_offsets(r)[n];
    int bad = check_round_trip(bpe, r, texts, n);
    printf("reviews %d, %.1f MB; read %.2f s\n", n, (double)bytes / 1e6,
           t1 - t0);
    printf("train: vocab %d (asked %d) in %.2f s wall, %.2f s CPU\n",
           sn_bpe_vocab_size(bpe), vocab, t2 - t1, c2 - c1);
    printf("encode: %zu ids (%.1f per review, %.2f bytes per id) in %.2f "
           "s wall, %.2f s CPU\n", ids, (double)ids / n,
           (double)bytes / (double)ids, t3 - t2, c3 - c2);
    printf("round trip: %d of %d reviews differ\n", bad, n);
    if (save != NULL && sn_bpe_save(bpe, save) != SN_OK)
        return fail("sn_bpe_save");
    sn_ragged_free(r);
    sn_bpe_free(bpe);
    sn_imdb_free(imdb);
    return bad != 0;
}

/* fuzz_glove.c - GloVe / word2vec text vectors, plain or gzip (docs/DATA.md):
 * sn_embedding_load_vectors from a scratch file.  Byte 0: bit 0 gzips the
 * rest, bits 1-2 pick the embedding width 1..4.  A failed load must leave
 * the weights unchanged. */
#include <zlib.h>

#include "fuzz.h"

enum { V = 8 };
static const char *const vocab[V] = { "", "[UNK]", "the", "a", "of",
                                      "caf\xc3\xa9", "film", "x" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *path = fuzz_scratch(".vec");
    int dim = 1 + ((data[0] >> 1) & 3);
    if (data[0] & 1) {
        gzFile gz = gzopen(path, "wb");
        FUZZ_CHECK(gz != NULL);
        if (size > 1)
            gzwrite(gz, data + 1, (unsigned)(size - 1));
        gzclose(gz);
    } else {
        FILE *f = fopen(path, "wb");
        FUZZ_CHECK(f != NULL);
        fwrite(data + 1, 1, size - 1, f);
        fclose(f);
    }
    sn_model_opts mo = SN_MODEL_OPTS_INIT;
    sn_model_t *m = sn_model_new(&mo);
    FUZZ_CHECK(m != NULL);
    sn_layer_t *emb = sn_embedding(V, dim, NULL);
    FUZZ_CHECK(sn_input_tokens(m, 2) >= 0);
    FUZZ_CHECK(sn_model_add(m, emb) == SN_OK);
    FUZZ_CHECK(sn_model_build(m) == SN_OK);
    size_t n = 0;
    float *w = sn_model_weight_data(m, 0, &n);
    FUZZ_CHECK(w != NULL && n == (size_t)(V * dim));
    float before[V * 4];
    memcpy(before, w, n * sizeof *w);
    int found = -1;
    sn_status st = sn_embedding_load_vectors(m, emb, path, vocab, V, NULL,
                                             &found);
    if (st != SN_OK) {
        fuzz_check_failure(st);
        FUZZ_CHECK(memcmp(before, w, n * sizeof *w) == 0);
    } else {
        FUZZ_CHECK(found >= 0 && found <= V);
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(w[i] == w[i] && w[i] - w[i] == 0.0f);  /* finite */
    }
    sn_model_free(m);
    remove(path);
    return 0;
}

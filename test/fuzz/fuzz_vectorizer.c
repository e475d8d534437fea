/* fuzz_vectorizer.c - vectorizer files (docs/TEXT.md):
 * sn_vectorizer_load_buffer; one that loads must transform, save and load
 * again with the same vocabulary size. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sn_vectorizer_t *v = NULL;
    sn_status st = sn_vectorizer_load_buffer(data, size, &v);
    if (st != SN_OK) {
        fuzz_check_failure(st);
        FUZZ_CHECK(v == NULL);
        return 0;
    }
    static const char *const texts[2] = { "The film was GREAT, great!",
                                          "caf\xc3\xa9 \xff <br /> a b" };
    sn_vectorizer_opts o = SN_VECTORIZER_OPTS_INIT;
    FUZZ_CHECK(sn_vectorizer_options(v, &o) == SN_OK);
    int width = sn_vectorizer_output_width(v, texts, 2);
    if (width >= 0 && width < 100000) {
        size_t cells = 2 * (size_t)(width > 0 ? width : 1);
        if (o.output_mode == SN_OUTPUT_INT) {
            int32_t *ids = calloc(cells, sizeof *ids);
            st = sn_vectorizer_transform(v, texts, 2, ids);
            if (st != SN_OK)
                fuzz_check_failure(st);
            free(ids);
        } else {
            float *x = calloc(cells, sizeof *x);
            st = sn_vectorizer_transform_dense(v, texts, 2, x);
            if (st != SN_OK)
                fuzz_check_failure(st);
            free(x);
        }
    }
    void *buf = NULL;
    size_t len = 0;
    FUZZ_CHECK(sn_vectorizer_save_buffer(v, &buf, &len) == SN_OK);
    sn_vectorizer_t *again = NULL;
    FUZZ_CHECK(sn_vectorizer_load_buffer(buf, len, &again) == SN_OK);
    FUZZ_CHECK(sn_vectorizer_vocab_size(again) == sn_vectorizer_vocab_size(v));
    sn_free(buf);
    sn_vectorizer_free(again);
    sn_vectorizer_free(v);
    return 0;
}

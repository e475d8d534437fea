/* fuzz_tokenizer.c - Keras Tokenizer files (docs/TEXT.md):
 * sn_tokenizer_load_buffer; one that loads must convert texts to
 * sequences and back, and save and load again with the same words. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sn_tokenizer_t *t = NULL;
    sn_status st = sn_tokenizer_load_buffer(data, size, &t);
    if (st != SN_OK) {
        fuzz_check_failure(st);
        FUZZ_CHECK(t == NULL);
        return 0;
    }
    static const char *const texts[2] = { "The film was GREAT, great!",
                                          "caf\xc3\xa9 \xff <br /> a b" };
    sn_ragged_t *r = NULL;
    FUZZ_CHECK(sn_tokenizer_texts_to_sequences(t, texts, 2, &r) == SN_OK);
    size_t len = 0;
    const int32_t *row = sn_ragged_row(r, 0, &len);
    char buf[512];
    st = sn_tokenizer_sequence_to_text(t, row, len, buf, sizeof buf, NULL);
    if (st != SN_OK)
        fuzz_check_failure(st);
    sn_ragged_free(r);
    int n = sn_tokenizer_word_count(t);
    for (int i = 1; i <= n; i++)
        FUZZ_CHECK(sn_tokenizer_word(t, i) != NULL);
    void *out = NULL;
    size_t out_len = 0;
    FUZZ_CHECK(sn_tokenizer_save_buffer(t, &out, &out_len) == SN_OK);
    sn_tokenizer_t *again = NULL;
    FUZZ_CHECK(sn_tokenizer_load_buffer(out, out_len, &again) == SN_OK);
    FUZZ_CHECK(sn_tokenizer_word_count(again) == n);
    sn_free(out);
    sn_tokenizer_free(again);
    sn_tokenizer_free(t);
    return 0;
}

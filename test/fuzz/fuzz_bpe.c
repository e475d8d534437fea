/* fuzz_bpe.c - BPE tokenizer files (docs/TEXT.md): sn_bpe_load_buffer;
 * one that loads must encode texts (valid and invalid UTF-8) that decode
 * back byte for byte, and save and load again with the same vocabulary. */
#include <stdbool.h>

#include "fuzz.h"

/* Without standardization decode(encode(x)) == x. */
static void round_trip(const sn_bpe_t *b, const char *text, size_t len,
                       bool exact)
{
    int32_t ids[256];
    size_t n = 0;
    FUZZ_CHECK(sn_bpe_encode(b, text, len, SN_BPE_ADD_BOS | SN_BPE_ADD_EOS,
                             ids, 256, &n) == SN_OK);
    FUZZ_CHECK(n >= 2 && n <= len + 2);
    char back[256];
    size_t need = 0;
    FUZZ_CHECK(sn_bpe_decode(b, ids, n, back, sizeof back, &need) == SN_OK);
    FUZZ_CHECK(!exact || (need == len && memcmp(back, text, len) == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sn_bpe_t *b = NULL;
    sn_status st = sn_bpe_load_buffer(data, size, &b);
    if (st != SN_OK) {
        fuzz_check_failure(st);
        FUZZ_CHECK(b == NULL);
        return 0;
    }
    static const char t1[] = "The film was GREAT, great! 1234 <br />";
    static const char t2[] = "caf\xc3\xa9 \xff\x80 na\xc3\xafve \0 x";
    sn_bpe_opts o = SN_BPE_OPTS_INIT;
    FUZZ_CHECK(sn_bpe_options(b, &o) == SN_OK);
    bool exact = o.standardize == SN_STANDARDIZE_NONE;
    round_trip(b, t1, sizeof t1 - 1, exact);
    round_trip(b, t2, sizeof t2 - 1, exact);
    int n = sn_bpe_vocab_size(b);
    for (int id = 0; id < n; id++) {
        size_t len = 0;
        FUZZ_CHECK(sn_bpe_token(b, id, &len) != NULL);
    }
    void *buf = NULL;
    size_t len = 0;
    FUZZ_CHECK(sn_bpe_save_buffer(b, &buf, &len) == SN_OK);
    sn_bpe_t *again = NULL;
    FUZZ_CHECK(sn_bpe_load_buffer(buf, len, &again) == SN_OK);
    FUZZ_CHECK(sn_bpe_vocab_size(again) == n);
    sn_free(buf);
    sn_bpe_free(again);
    sn_bpe_free(b);
    return 0;
}

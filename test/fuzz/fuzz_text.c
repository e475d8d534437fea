/* fuzz_text.c - the text standardizer and tokenizer (docs/TEXT.md) on
 * arbitrary bytes, invalid UTF-8 included.  Byte 0 picks ngrams, output
 * mode, standardize flags and max_tokens; the rest, split at '\n', is
 * adapted on, transformed and decoded. */
#include "fuzz.h"

enum { MAX_TEXTS = 64 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    sn_vectorizer_opts o = SN_VECTORIZER_OPTS_INIT;
    /* bits 0 and 7: ngrams 1 .. 4 (bit 7 clear keeps the older seeds'
     * meaning) */
    o.ngrams = 1 + (data[0] & 1) + 2 * ((data[0] >> 7) & 1);
    o.output_mode = (sn_output_mode)((data[0] >> 1) & 3);
    o.standardize = (data[0] >> 3) & 7;
    o.max_tokens = (data[0] & 0x40) ? 12 : 0;
    sn_vectorizer_t *v = sn_vectorizer_new(&o);
    if (v == NULL) {  /* an option combination it refuses */
        FUZZ_CHECK(sn_last_error()[0] != '\0');
        return 0;
    }
    char *all = fuzz_cstr(data + 1, size - 1);
    const char *texts[MAX_TEXTS];
    size_t n = 0;
    for (char *p = all; n < MAX_TEXTS;) {
        texts[n++] = p;
        char *nl = memchr(p, '\n', (size_t)(all + size - 1 - p));
        if (nl == NULL)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    /* (an embedded NUL only shortens a text) */
    sn_status st = sn_vectorizer_adapt(v, texts, n);
    if (st != SN_OK) {
        fuzz_check_failure(st);
    } else {
        int width = sn_vectorizer_output_width(v, texts, n);
        FUZZ_CHECK(width >= 0);
        size_t cells = n * (size_t)(width > 0 ? width : 1);
        if (o.output_mode == SN_OUTPUT_INT) {
            int32_t *ids = calloc(cells, sizeof *ids);
            FUZZ_CHECK(sn_vectorizer_transform(v, texts, n, ids) == SN_OK);
            int vs = sn_vectorizer_vocab_size(v);
            for (size_t i = 0; i < cells; i++)
                FUZZ_CHECK(ids[i] >= 0 && ids[i] < vs);
            size_t need = 0;
            char buf[256];
            st = sn_vectorizer_decode(v, ids, (size_t)width, buf, sizeof buf,
                                      &need);
            FUZZ_CHECK(st == SN_OK || st == SN_ERR_INVALID_ARG);
            if (st == SN_OK)
                FUZZ_CHECK(strlen(buf) == need);
            free(ids);
        } else {
            float *x = calloc(cells, sizeof *x);
            FUZZ_CHECK(sn_vectorizer_transform_dense(v, texts, n, x) ==
                       SN_OK);
            for (size_t i = 0; i < cells; i++)
                FUZZ_CHECK(x[i] == x[i]);
            free(x);
        }
        /* every learned token must be accepted back */
        int vs = sn_vectorizer_vocab_size(v);
        const char **toks = calloc((size_t)vs, sizeof *toks);
        for (int i = 0; i < vs; i++)
            toks[i] = sn_vectorizer_token(v, i);
        const float *idf = sn_vectorizer_idf(v);
        float *idf_copy = NULL;
        if (idf != NULL) {
            idf_copy = malloc((size_t)vs * sizeof *idf_copy);
            memcpy(idf_copy, idf, (size_t)vs * sizeof *idf_copy);
        }
        sn_vectorizer_t *w = sn_vectorizer_new(&o);
        FUZZ_CHECK(w != NULL);
        st = sn_vectorizer_set_vocabulary(w, toks, (size_t)vs, idf_copy);
        FUZZ_CHECK(st == SN_OK);
        FUZZ_CHECK(sn_vectorizer_vocab_size(w) == vs);
        sn_vectorizer_free(w);
        free(idf_copy);
        free(toks);
    }
    free(all);
    sn_vectorizer_free(v);
    return 0;
}

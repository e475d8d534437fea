/* fuzz_model.c - model files (docs/FORMAT.md): sn_model_load_buffer; a
 * model that loads must save, load again and predict on zeros. */
#include "fuzz.h"

static void predict_zeros(sn_model_t *m)
{
    int n_in = sn_model_num_inputs(m);
    if (n_in < 1 || n_in > 8 || sn_model_num_outputs(m) != 1)
        return;
    void *in[8] = { NULL };
    const void *cin[8];
    size_t out_n = 1;
    int ok = 1;
    for (int k = 0; k < n_in && ok; k++) {
        int dims[SN_MAX_RANK];
        sn_dtype dt;
        int r = sn_model_tensor_shape(m, sn_model_input_id(m, k), dims, SN_MAX_RANK, &dt);
        size_t n = 1;
        for (int i = 0; i < r; i++)
            n *= (size_t)(dims[i] < 0 ? 2 : dims[i]);
        if (r < 0 || n > 4096) {
            ok = 0;
            break;
        }
        in[k] = calloc(n, 4);  /* zeros: int32 0 or float 0.0f */
        cin[k] = in[k];
    }
    int dims[SN_MAX_RANK];
    int r = ok ? sn_model_tensor_shape(m, sn_model_output_id(m, 0), dims, SN_MAX_RANK,
                                       NULL) : -1;
    for (int i = 0; i < r; i++)
        out_n *= (size_t)(dims[i] < 0 ? 2 : dims[i]);
    if (r >= 0 && out_n <= 65536) {
        float *out = calloc(out_n, sizeof *out);
        float *outs[1] = { out };
        int steps[8] = { 2, 2, 2, 2, 2, 2, 2, 2 };
        sn_status st = sn_model_predict(m, 1, cin, steps, outs);
        if (st != SN_OK)
            fuzz_check_failure(st);
        free(out);
    }
    for (int k = 0; k < n_in; k++)
        free(in[k]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sn_model_t *m = (sn_model_t *)1;
    sn_status st = sn_model_load_buffer(data, size, &m);
    if (st != SN_OK) {
        fuzz_check_failure(st);
        FUZZ_CHECK(m == NULL);
        return 0;
    }
    FUZZ_CHECK(m != NULL);
    void *buf = NULL;
    size_t len = 0;
    FUZZ_CHECK(sn_model_save_buffer(m, 1, &buf, &len) == SN_OK);
    sn_model_t *again = NULL;
    FUZZ_CHECK(sn_model_load_buffer(buf, len, &again) == SN_OK);
    sn_free(buf);
    sn_model_free(again);
    predict_zeros(m);
    sn_model_free(m);
    return 0;
}

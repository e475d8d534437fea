/* fuzz_csv.c - CSV (docs/SERIES.md): sn_csv_read_buffer; the first byte
 * picks delimiter, header mode and missing-value policy. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char delims[4] = { ',', ';', '\t', '|' };
    sn_csv_opts o = SN_CSV_OPTS_INIT;
    o.delimiter = delims[data[0] & 3];
    o.header = ((data[0] >> 2) % 3) - 1;
    o.missing = (data[0] >> 4) & 1 ? SN_MISSING_DROP_ROW : SN_MISSING_ERROR;
    o.require_increasing_dates = (data[0] >> 5) & 1;
    sn_table_t *t = (sn_table_t *)1;
    sn_status st = sn_csv_read_buffer((const char *)data + 1, size - 1, &o,
                                      &t);
    if (st != SN_OK) {
        fuzz_check_failure(st);
        FUZZ_CHECK(t == NULL);
        return 0;
    }
    int rows = sn_table_rows(t), cols = sn_table_cols(t);
    FUZZ_CHECK(rows >= 0 && cols >= 0);
    for (int j = 0; j < cols; j++) {
        FUZZ_CHECK(sn_table_column_name(t, j) != NULL);
        const double *c = sn_table_column(t, j);
        FUZZ_CHECK(c != NULL);
        for (int i = 0; i < rows; i++)
            FUZZ_CHECK(c[i] == c[i]);  /* never NaN */
    }
    sn_table_free(t);
    return 0;
}

/*
 * check_series.c - the CSV reader, windowing, temporal split, scalers and
 * the synthetic generator through the public API: small fixtures written
 * here (well-formed and malformed: every error must name the problem and
 * the line), the real stock files of ../shared when present, and a leakage
 * test showing that the scaler never sees test rows.
 */
#include <check.h>
#include <math.h>
#include <seqnet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/testkit.h"

/* ------------------------------------------------------------ helpers */

#define ASSERT_NEAR(a, b, tol) ck_assert_double_eq_tol((a), (b), (tol))

static sn_table_t *read_ok(const char *csv, const sn_csv_opts *o)
{
    sn_table_t *t = NULL;
    sn_status st = sn_csv_read_buffer(csv, strlen(csv), o, &t);
    ck_assert_msg(st == SN_OK, "read failed: %s", sn_last_error());
    ck_assert_ptr_nonnull(t);
    return t;
}

/* Reading csv (len bytes) must fail with st and a message holding both
 * needles (the problem and the line). */
static void expect_error_n(const char *csv, size_t len, const sn_csv_opts *o,
                           sn_status want, const char *needle1,
                           const char *needle2)
{
    sn_table_t *t = (sn_table_t *)&t; /* must be reset to NULL */
    sn_status st = sn_csv_read_buffer(csv, len, o, &t);
    ck_assert_msg(st == want, "status %d, want %d (%s)", (int)st, (int)want,
                  sn_last_error());
    ck_assert_ptr_null(t);
    ck_assert_msg(tk_contains(sn_last_error(), needle1),
                  "message '%s' lacks '%s'", sn_last_error(), needle1);
    if (needle2 != NULL)
        ck_assert_msg(tk_contains(sn_last_error(), needle2),
                      "message '%s' lacks '%s'", sn_last_error(), needle2);
}

static void expect_error(const char *csv, const sn_csv_opts *o,
                         sn_status want, const char *needle1,
                         const char *needle2)
{
    expect_error_n(csv, strlen(csv), o, want, needle1, needle2);
}

static void date_is(const sn_table_t *t, int i, const char *want)
{
    char buf[11];
    ck_assert_int_eq(sn_table_date_string(t, i, buf), SN_OK);
    ck_assert_str_eq(buf, want);
}

static const char yahoo[] =
    "Date,Open,High,Low,Close,Adj Close,Volume\n"
    "2020-12-07,122.309998,124.570000,122.250000,123.750000,123.5,86712000\n"
    "2020-12-08,124.370003,124.980003,123.089996,124.379997,124.1,82225500\n"
    "2020-12-09,null,null,null,null,null,null\n"
    "2020-12-10,120.500000,123.870003,120.150002,123.239998,123.0,81312200\n";

/* ------------------------------------------------------- CSV: good input */

START_TEST(test_yahoo_drop_null_row)
{
    sn_csv_opts o = SN_CSV_OPTS_INIT;
    o.missing = SN_MISSING_DROP_ROW;
    sn_table_t *t = read_ok(yahoo, &o);
    ck_assert_int_eq(sn_table_rows(t), 3);
    ck_assert_int_eq(sn_table_cols(t), 6);
    ck_assert_int_eq(sn_table_dropped_rows(t), 1);
    ck_assert_int_eq(sn_table_first_dropped_line(t), 4);
    ck_assert_int_eq(sn_table_has_dates(t), 1);
    ck_assert_str_eq(sn_table_column_name(t, 0), "Open");
    ck_assert_str_eq(sn_table_column_name(t, 4), "Adj Close");
    ck_assert_ptr_null(sn_table_column_name(t, 6));
    ck_assert_int_eq(sn_table_find_column(t, "Volume"), 5);
    ck_assert_int_eq(sn_table_find_column(t, "Date"), SN_ERR_NOT_FOUND);
    date_is(t, 0, "2020-12-07");
    date_is(t, 2, "2020-12-10");
    /* 2020-12-07 is 18603 days after 1970-01-01 */
    int32_t days = 0;
    ck_assert_int_eq(sn_table_date(t, 0, &days), SN_OK);
    ck_assert_int_eq(days, 18603);
    ck_assert_int_eq(sn_table_date(t, 3, &days), SN_ERR_INVALID_ARG);
    const double *open = sn_table_column(t, 0);
    ck_assert_double_eq(open[0], 122.309998);
    ck_assert_double_eq(open[2], 120.5);
    ck_assert_double_eq(sn_table_column(t, 5)[1], 82225500.0);
    sn_table_free(t);
}
END_TEST

START_TEST(test_yahoo_null_row_error_policy)
{
    expect_error(yahoo, NULL, SN_ERR_FORMAT, "line 4", "missing value");
    ck_assert(tk_contains(sn_last_error(), "'Open'"));
}
END_TEST

START_TEST(test_empty_field_is_missing)
{
    const char csv[] = "Date,A,B\n2020-01-01,1,2\n2020-01-02,,3\n"
                       "2020-01-03,4,5\n";
    expect_error(csv, NULL, SN_ERR_FORMAT, "line 3", "column 'A'");
    sn_csv_opts o = SN_CSV_OPTS_INIT;
    o.missing = SN_MISSING_DROP_ROW;
    sn_table_t *t = read_ok(csv, &o);
    ck_assert_int_eq(sn_table_rows(t), 2);
    ck_assert_int_eq(sn_table_first_dropped_line(t), 3);
    ck_assert_double_eq(sn_table_column(t, 0)[1], 4.0);
    sn_table_free(t);
    /* a missing value only in a column not read does not count */
    const char *cols[] = { "B" };
    o.missing = SN_MISSING_ERROR;
    o.columns = cols;
    o.n_columns = 1;
    t = read_ok(csv, &o);
    ck_assert_int_eq(sn_table_rows(t), 3);
    ck_assert_int_eq(sn_table_dropped_rows(t), 0);
    sn_table_free(t);
}
END_TEST

START_TEST(test_quoted_fields)
{
    const char csv[] =
        "Date,\"Price \"\"adj\"\", usd\",Note,Vol\n"
        "2020-01-01,\"1,5\",plain,3\n";
    /* "1,5" is not a number (a decimal comma): the quote keeps it whole */
    expect_error(csv, NULL, SN_ERR_FORMAT, "line 2", "'1,5' is not a number");
    const char csv2[] =
        "Date,\"Price \"\"adj\"\", usd\",Note,Vol\n"
        "2020-01-01,\"1.5\",\"two\nlines, \"\"quoted\"\"\",3\n"
        "2020-01-02, 2.5 ,x,4\n";
    const char *cols[] = { "Price \"adj\", usd", "Vol" };
    sn_csv_opts o = SN_CSV_OPTS_INIT;
    o.columns = cols;
    o.n_columns = 2;
    sn_table_t *t = read_ok(csv2, &o);
    ck_assert_int_eq(sn_table_rows(t), 2);
    ck_assert_int_eq(sn_table_cols(t), 2);
    ck_assert_str_eq(sn_table_column_name(t, 0), "Price \"adj\", usd");
    ck_assert_double_eq(sn_table_column(t, 0)[0], 1.5);
    ck_assert_double_eq(sn_table_column(t, 0)[1], 2.5);
    ck_assert_double_eq(sn_table_column(t, 1)[1], 4.0);
    sn_table_free(t);
    /* the record after a quoted newline is on line 4: errors say so */
    const char csv3[] = "A,B\n\"x\ny\",1\n1,zz\n";
    const char *colb[] = { "B" };
    o.columns = colb;
    o.n_columns = 1;
    expect_error(csv3, &o, SN_ERR_FORMAT, "line 4", "'zz'");
}
END_TEST

START_TEST(test_crlf_bom_no_final_newline)
{
    const char csv[] = "\xEF\xBB\xBF" "Date,Close\r\n2020-02-28,1.25\r\n"
                       "\r\n2020-02-29,2.5\r\n2020-03-01,-3e2";
    sn_table_t *t = read_ok(csv, NULL);
    ck_assert_int_eq(sn_table_rows(t), 3);
    ck_assert_str_eq(sn_table_column_name(t, 0), "Close");
    date_is(t, 1, "2020-02-29");
    ck_assert_double_eq(sn_table_column(t, 0)[2], -300.0);
    sn_table_free(t);
}
END_TEST

START_TEST(test_header_detection_and_no_dates)
{
    /* numbers only: no header, columns "0", "1" */
    sn_table_t *t = read_ok("1,2\n3,4\n", NULL);
    ck_assert_int_eq(sn_table_rows(t), 2);
    ck_assert_str_eq(sn_table_column_name(t, 1), "1");
    ck_assert_int_eq(sn_table_has_dates(t), 0);
    int32_t days;
    ck_assert_int_eq(sn_table_date(t, 0, &days), SN_ERR_NOT_FOUND);
    sn_table_free(t);
    /* dates and numbers only: no header, column 0 holds the dates */
    t = read_ok("2001-01-01,5\n2001-01-02,6\n", NULL);
    ck_assert_int_eq(sn_table_rows(t), 2);
    ck_assert_int_eq(sn_table_cols(t), 1);
    date_is(t, 1, "2001-01-02");
    sn_table_free(t);
    /* forced header on numeric names; date_column "" turns dates off */
    sn_csv_opts o = SN_CSV_OPTS_INIT;
    o.header = 1;
    t = read_ok("1,2\n3,4\n", &o);
    ck_assert_int_eq(sn_table_rows(t), 1);
    ck_assert_str_eq(sn_table_column_name(t, 0), "1");
    sn_table_free(t);
    o.header = -1;
    o.date_column = "";
    expect_error("Date,A\n2020-01-01,1\n", &o, SN_ERR_FORMAT, "line 2",
                 "'2020-01-01' is not a number");
    o.date_column = "When";
    expect_error("Date,A\n2020-01-01,1\n", &o, SN_ERR_NOT_FOUND, "When",
                 "Date, A");
    /* a semicolon file, header with an empty name */
    o.date_column = NULL;
    o.delimiter = ';';
    t = read_ok(";x\n1;2.5\n", &o);
    ck_assert_str_eq(sn_table_column_name(t, 0), "Unnamed: 0");
    ck_assert_double_eq(sn_table_column(t, 1)[0], 2.5);
    sn_table_free(t);
}
END_TEST

START_TEST(test_column_selection_and_select)
{
    const char *cols[] = { "Close", "Open" };
    sn_csv_opts o = SN_CSV_OPTS_INIT;
    o.missing = SN_MISSING_DROP_ROW;
    o.columns = cols;
    o.n_columns = 2;
    sn_table_t *t = read_ok(yahoo, &o);
    ck_assert_int_eq(sn_table_cols(t), 2);
    ck_assert_str_eq(sn_table_column_name(t, 0), "Close");
    float out[6];
    const char *pick[] = { "Open", "Close" };
    ck_assert_int_eq(sn_table_select(t, pick, 2, out), SN_OK);
    ck_assert_float_eq(out[0], 122.309998f);
    ck_assert_float_eq(out[1], 123.75f);
    ck_assert_float_eq(out[5], 123.239998f);
    const char *bad[] = { "Volume" };
    ck_assert_int_eq(sn_table_select(t, bad, 1, out), SN_ERR_NOT_FOUND);
    ck_assert(tk_contains(sn_last_error(), "'Volume'"));
    sn_table_free(t);

    const char *missing[] = { "Open", "Price" };
    o.columns = missing;
    expect_error(yahoo, &o, SN_ERR_NOT_FOUND, "'Price'", "Adj Close");
    const char *date[] = { "Date" };
    o.columns = date;
    o.n_columns = 1;
    expect_error(yahoo, &o, SN_ERR_INVALID_ARG, "date column", NULL);
}
END_TEST

/* --------------------------------------------------- CSV: malformed input */

START_TEST(test_wrong_field_count)
{
    expect_error("Date,A,B\n2020-01-01,1,2\n2020-01-02,3\n", NULL,
                 SN_ERR_FORMAT, "line 3", "expected 3 fields");
    ck_assert(tk_contains(sn_last_error(), "found 2"));
    expect_error("Date,A,B\n2020-01-01,1,2,7\n", NULL, SN_ERR_FORMAT,
                 "line 2", "found 4");
}
END_TEST

START_TEST(test_bad_numbers)
{
    expect_error("Date,A\n2020-01-01,1\n2020-01-02,12.3x\n", NULL,
                 SN_ERR_FORMAT, "line 3", "'12.3x' is not a number");
    ck_assert(tk_contains(sn_last_error(), "column 'A'"));
    const char *bad[] = { "nan", "inf", "-Infinity", "0x10", "1e", ".", "+",
                          "1.2.3", "1 2", "--1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char csv[64];
        snprintf(csv, sizeof csv, "A,B\n1,%s\n", bad[i]);
        expect_error(csv, NULL, SN_ERR_FORMAT, "line 2", "is not a number");
    }
    expect_error("A\n1e999\n", NULL, SN_ERR_FORMAT, "line 2", "out of range");
    sn_table_t *t = read_ok("A\n.5\n-2.\n+1e-3\n", NULL);
    ck_assert_double_eq(sn_table_column(t, 0)[0], 0.5);
    ck_assert_double_eq(sn_table_column(t, 0)[1], -2.0);
    ck_assert_double_eq(sn_table_column(t, 0)[2], 0.001);
    sn_table_free(t);
}
END_TEST

START_TEST(test_dates_increasing)
{
    const char csv[] = "Date,A\n2020-01-02,1\n2020-01-03,2\n2020-01-01,3\n";
    expect_error(csv, NULL, SN_ERR_FORMAT, "line 4", "not after 2020-01-03");
    expect_error("Date,A\n2020-01-02,1\n2020-01-02,2\n", NULL, SN_ERR_FORMAT,
                 "line 3", "dates must increase");
    sn_csv_opts o = SN_CSV_OPTS_INIT;
    o.require_increasing_dates = 0;
    sn_table_t *t = read_ok(csv, &o);
    ck_assert_int_eq(sn_table_rows(t), 3);
    sn_table_free(t);
}
END_TEST

START_TEST(test_invalid_dates)
{
    expect_error("Date,A\n2021-02-29,1\n", NULL, SN_ERR_FORMAT, "line 2",
                 "not a leap year");
    expect_error("Date,A\n2020-13-01,1\n", NULL, SN_ERR_FORMAT, "line 2",
                 "month");
    expect_error("Date,A\n2020-01-01,1\n2020-04-31,1\n", NULL, SN_ERR_FORMAT,
                 "line 3", "'2020-04-31' is not a valid date");
    expect_error("Date,A\n2020/01/01,1\n", NULL, SN_ERR_FORMAT, "line 2",
                 "not a YYYY-MM-DD date");
    /* leap days that exist */
    sn_csv_opts o = SN_CSV_OPTS_INIT;
    o.require_increasing_dates = 0;
    sn_table_t *t = read_ok("Date,A\n1900-02-28,1\n2000-02-29,2\n"
                            "2024-02-29,3\n1969-12-31,4\n", &o);
    int32_t days = 0;
    ck_assert_int_eq(sn_table_date(t, 3, &days), SN_OK);
    ck_assert_int_eq(days, -1);  /* 1969-12-31: why dates are not returned */
    date_is(t, 0, "1900-02-28");
    date_is(t, 2, "2024-02-29");
    sn_table_free(t);
}
END_TEST

START_TEST(test_truncated_file)
{
    const char full[] = "Date,Open,High\n2020-01-01,1.5,2.5\n"
                        "2020-01-02,1.25,2.75\n";
    /* cut in the middle of the last line */
    size_t cut = strlen(full) - 8;
    expect_error_n(full, cut, NULL, SN_ERR_FORMAT, "line 3",
                   "truncated file?");
    /* cut inside a quoted field */
    const char quoted[] = "A,B\n1,\"2";
    expect_error(quoted, NULL, SN_ERR_FORMAT, "line 2", "unterminated");
    /* empty input */
    expect_error_n("", 0, NULL, SN_ERR_FORMAT, "empty", NULL);
}
END_TEST

START_TEST(test_binary_garbage)
{
    const char nul[] = "Date,A\n2020-01-01,1\n\x7f" "ELF\x02\x01\x00\x00,1\n";
    expect_error_n(nul, sizeof nul - 1, NULL, SN_ERR_FORMAT, "line 3",
                   "NUL byte");
    const char bad_utf8[] = "Date,A\n2020-01-01,\xff\xfe\x80\n";
    expect_error(bad_utf8, NULL, SN_ERR_FORMAT, "line 2", "\\xFF\\xFE");
    const char header[] = "\xc3\x28\x9f,abc\n1,2\n";
    expect_error(header, NULL, SN_ERR_FORMAT, "line 1", "not valid UTF-8");
    /* pseudo-random bytes: whatever they are, an error, never a crash */
    char junk[4096];
    uint64_t s = 12345;
    for (size_t i = 0; i < sizeof junk; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        junk[i] = (char)(s >> 56);
    }
    sn_table_t *t = NULL;
    ck_assert_int_eq(sn_csv_read_buffer(junk, sizeof junk, NULL, &t),
                     SN_ERR_FORMAT);
    ck_assert_ptr_null(t);
    ck_assert(tk_contains(sn_last_error(), "line "));
}
END_TEST

START_TEST(test_files_and_arguments)
{
    char dir[] = "/tmp/check_series_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/prices.csv", dir);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(yahoo, f);
    fclose(f);
    sn_csv_opts o = SN_CSV_OPTS_INIT;
    o.missing = SN_MISSING_DROP_ROW;
    sn_table_t *t = NULL;
    ck_assert_int_eq(sn_csv_read(path, &o, &t), SN_OK);
    ck_assert_int_eq(sn_table_rows(t), 3);
    sn_table_free(t);
    /* the file name appears in format errors */
    ck_assert_int_eq(sn_csv_read(path, NULL, &t), SN_ERR_FORMAT);
    ck_assert(tk_contains(sn_last_error(), "prices.csv line 4"));
    unlink(path);
    ck_assert_int_eq(sn_csv_read(path, NULL, &t), SN_ERR_IO);
    ck_assert(tk_contains(sn_last_error(), path));
    ck_assert_ptr_null(t);
    rmdir(dir);

    ck_assert_int_eq(sn_csv_read(NULL, NULL, &t), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_csv_read_buffer("A\n1\n", 4, NULL, NULL),
                     SN_ERR_INVALID_ARG);
    o.delimiter = '"';
    ck_assert_int_eq(sn_csv_read_buffer("A\n1\n", 4, &o, &t),
                     SN_ERR_INVALID_ARG);
    o = (sn_csv_opts)SN_CSV_OPTS_INIT;
    o.size = 3;
    ck_assert_int_eq(sn_csv_read_buffer("A\n1\n", 4, &o, &t),
                     SN_ERR_INVALID_ARG);
    sn_table_free(NULL);
    ck_assert_int_eq(sn_table_rows(NULL), 0);
}
END_TEST

/* ------------------------------------------------------- real stock files */

static int shared_file(const char *name, char *path, size_t cap)
{
    snprintf(path, cap, "../shared/data/stocks/%s", name);
    if (access(path, R_OK) == 0)
        return 1;
    tk_skip(name, "%s not found (run from the repository root with "
            "../shared/data present)", path);
    return 0;
}

START_TEST(test_real_aapl)
{
    char path[256];
    if (!shared_file("AAPL.csv", path, sizeof path))
        return;
    sn_table_t *t = NULL;
    ck_assert_int_eq(sn_csv_read(path, NULL, &t), SN_ERR_FORMAT);
    ck_assert(tk_contains(sn_last_error(), "line 167"));
    sn_csv_opts o = SN_CSV_OPTS_INIT;
    o.missing = SN_MISSING_DROP_ROW;
    ck_assert_msg(sn_csv_read(path, &o, &t) == SN_OK, "%s", sn_last_error());
    ck_assert_int_eq(sn_table_rows(t), 10086);
    ck_assert_int_eq(sn_table_cols(t), 6);
    ck_assert_int_eq(sn_table_dropped_rows(t), 1);
    ck_assert_int_eq(sn_table_first_dropped_line(t), 167);
    date_is(t, 0, "1980-12-12");
    date_is(t, 10085, "2020-12-11");
    ck_assert_double_eq(sn_table_column(t, 0)[0], 0.128348);
    ck_assert_double_eq(sn_table_column(t, 5)[0], 469033600.0);
    sn_table_free(t);
}
END_TEST

START_TEST(test_real_eustockmarkets)
{
    char path[256];
    if (!shared_file("EuStockMarkets.csv", path, sizeof path))
        return;
    sn_table_t *t = NULL;
    ck_assert_msg(sn_csv_read(path, NULL, &t) == SN_OK, "%s",
                  sn_last_error());
    ck_assert_int_eq(sn_table_rows(t), 1860);
    ck_assert_int_eq(sn_table_cols(t), 5);
    ck_assert_int_eq(sn_table_has_dates(t), 0);
    ck_assert_str_eq(sn_table_column_name(t, 0), "rownames");
    ck_assert_double_eq(sn_table_column(t, 1)[0], 1628.75);
    float *prices = malloc(1860 * 4 * sizeof(float));
    const char *names[] = { "DAX", "SMI", "CAC", "FTSE" };
    ck_assert_int_eq(sn_table_select(t, names, 4, prices), SN_OK);
    ck_assert_float_eq(prices[3], 2443.6f);
    free(prices);
    sn_table_free(t);
}
END_TEST

/* ------------------------------------------------------------ windowing */

START_TEST(test_sequences_tiny)
{
    /* 6 rows x 2 features: series[r, f] = 10 r + f */
    float s[12];
    for (int r = 0; r < 6; r++)
        for (int f = 0; f < 2; f++)
            s[r * 2 + f] = (float)(10 * r + f);
    ck_assert_int_eq(sn_sequences_count(6, 3, 2), 2);
    ck_assert_int_eq(sn_sequences_count(4, 3, 2), 0);
    ck_assert_int_eq(sn_sequences_count(6, 0, 2), SN_ERR_INVALID_ARG);
    float x[2 * 3 * 2], y[2 * 2 * 2];
    int n = -1;
    const int t0[] = { 0 };
    ck_assert_int_eq(sn_create_sequences(s, 6, 2, 3, 2, t0, 1, x, y, &n),
                     SN_OK);
    ck_assert_int_eq(n, 2);
    for (int w = 0; w < 2; w++)
        for (int t = 0; t < 3; t++)
            for (int f = 0; f < 2; f++)
                ck_assert_float_eq(x[(w * 3 + t) * 2 + f],
                                   (float)(10 * (w + t) + f));
    /* window 0 -> rows 3, 4 of feature 0; window 1 -> rows 4, 5 */
    ck_assert_float_eq(y[0], 30.0f);
    ck_assert_float_eq(y[1], 40.0f);
    ck_assert_float_eq(y[2], 40.0f);
    ck_assert_float_eq(y[3], 50.0f);
    /* two targets, step-major: y[w, s*2 + k] */
    const int t10[] = { 1, 0 };
    ck_assert_int_eq(sn_create_sequences(s, 6, 2, 3, 2, t10, 2, x, y, &n),
                     SN_OK);
    const float want[8] = { 31, 30, 41, 40, 41, 40, 51, 50 };
    for (int i = 0; i < 8; i++)
        ck_assert_float_eq(y[i], want[i]);
    /* errors */
    ck_assert_int_eq(sn_create_sequences(s, 4, 2, 3, 2, t0, 1, x, y, &n),
                     SN_ERR_SHAPE);
    ck_assert(tk_contains(sn_last_error(), "4 rows"));
    const int t2[] = { 2 };
    ck_assert_int_eq(sn_create_sequences(s, 6, 2, 3, 2, t2, 1, x, y, &n),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_create_sequences(s, 6, 2, 3, 2, t0, 1, NULL, y, &n),
                     SN_ERR_INVALID_ARG);
}
END_TEST

START_TEST(test_temporal_split)
{
    int tr = -1, va = -1;
    ck_assert_int_eq(sn_temporal_split(100, 0.7f, 0.15f, &tr, &va), SN_OK);
    ck_assert_int_eq(tr, 70);
    ck_assert_int_eq(va, 85);
    ck_assert_int_eq(sn_temporal_split(10, 0.8f, 0.2f, &tr, &va), SN_OK);
    ck_assert_int_eq(tr, 8);
    ck_assert_int_eq(va, 10);
    ck_assert_int_eq(sn_temporal_split(10086, 0.8f, 0.0f, &tr, &va), SN_OK);
    ck_assert_int_eq(tr, 8068);
    ck_assert_int_eq(va, 8068);
    ck_assert_int_eq(sn_temporal_split(10, 0.05f, 0.1f, &tr, &va),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_temporal_split(10, 0.8f, 0.3f, &tr, &va),
                     SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_temporal_split(10, NAN, 0.1f, &tr, &va),
                     SN_ERR_INVALID_ARG);
}
END_TEST

/* ------------------------------------------------------------ scalers */

START_TEST(test_minmax_by_hand)
{
    const float data[] = { 1, 10, 3, 20, 5, 40 };
    sn_scaler_t *s = sn_scaler_new(SN_SCALER_MINMAX, 2, 0.0f, 1.0f);
    ck_assert_ptr_nonnull(s);
    float v[6];
    memcpy(v, data, sizeof v);
    ck_assert_int_eq(sn_scaler_transform(s, v, 3), SN_ERR_STATE);
    ck_assert_int_eq(sn_scaler_fit(s, data, 3), SN_OK);
    ck_assert_int_eq(sn_scaler_transform(s, v, 3), SN_OK);
    const float want[] = { 0, 0, 0.5f, 1.0f / 3, 1, 1 };
    for (int i = 0; i < 6; i++)
        ASSERT_NEAR(v[i], want[i], 1e-7);
    double mn[2], mx[2];
    ck_assert_int_eq(sn_scaler_statistics(s, mn, mx), SN_OK);
    ck_assert_double_eq(mn[1], 10.0);
    ck_assert_double_eq(mx[0], 5.0);
    ck_assert_int_eq(sn_scaler_inverse(s, v, 3), SN_OK);
    for (int i = 0; i < 6; i++)
        ASSERT_NEAR(v[i], data[i], 1e-6);
    /* inverse of one column: scaled predictions of feature 1 */
    float pred[] = { 0.0f, 0.25f, 1.5f };
    ck_assert_int_eq(sn_scaler_inverse_column(s, 1, pred, 3), SN_OK);
    ASSERT_NEAR(pred[0], 10.0, 1e-6);
    ASSERT_NEAR(pred[1], 17.5, 1e-6);
    ASSERT_NEAR(pred[2], 55.0, 1e-5);
    ck_assert_int_eq(sn_scaler_inverse_column(s, 2, pred, 3),
                     SN_ERR_INVALID_ARG);
    sn_scaler_free(s);

    /* range (-1, 1) and a constant feature (maps to range min) */
    const float c[] = { 2, 7, 4, 7 };
    s = sn_scaler_new(SN_SCALER_MINMAX, 2, -1.0f, 1.0f);
    ck_assert_int_eq(sn_scaler_fit(s, c, 2), SN_OK);
    float w[] = { 2, 7, 3, 8 };
    ck_assert_int_eq(sn_scaler_transform(s, w, 2), SN_OK);
    ASSERT_NEAR(w[0], -1.0, 1e-7);
    ASSERT_NEAR(w[1], -1.0, 1e-7);
    ASSERT_NEAR(w[2], 0.0, 1e-7);
    ASSERT_NEAR(w[3], 1.0, 1e-7);  /* 8 - 7 = 1 range unit, times 2 */
    sn_scaler_free(s);
    ck_assert_ptr_null(sn_scaler_new(SN_SCALER_MINMAX, 2, 1.0f, 1.0f));
    ck_assert_ptr_null(sn_scaler_new(SN_SCALER_STANDARD, 0, 0.0f, 1.0f));
}
END_TEST

START_TEST(test_standard_by_hand)
{
    const float data[] = { 1, 5, 3, 5, 5, 5 };
    sn_scaler_t *s = sn_scaler_new(SN_SCALER_STANDARD, 2, 0.0f, 0.0f);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(sn_scaler_fit(s, data, 3), SN_OK);
    double mean[2], sd[2];
    ck_assert_int_eq(sn_scaler_statistics(s, mean, sd), SN_OK);
    ASSERT_NEAR(mean[0], 3.0, 1e-12);
    ASSERT_NEAR(sd[0], sqrt(8.0 / 3.0), 1e-12);  /* divisor n, as sklearn */
    ASSERT_NEAR(sd[1], 0.0, 1e-12);
    float v[6];
    memcpy(v, data, sizeof v);
    ck_assert_int_eq(sn_scaler_transform(s, v, 3), SN_OK);
    ASSERT_NEAR(v[0], -2.0 / sqrt(8.0 / 3.0), 1e-6);
    ASSERT_NEAR(v[2], 0.0, 1e-7);
    ASSERT_NEAR(v[1], 0.0, 1e-7);  /* constant feature: x - mean */
    ck_assert_int_eq(sn_scaler_inverse(s, v, 3), SN_OK);
    for (int i = 0; i < 6; i++)
        ASSERT_NEAR(v[i], data[i], 1e-6);
    const float bad[] = { 1, NAN };
    ck_assert_int_eq(sn_scaler_fit(s, bad, 1), SN_ERR_NUMERIC);
    sn_scaler_free(s);
    sn_scaler_free(NULL);
}
END_TEST

START_TEST(test_scaler_round_trip)
{
    enum { R = 200, F = 3 };
    static float data[R * F], v[R * F];
    uint64_t st = 7;
    for (int i = 0; i < R * F; i++) {
        st = st * 6364136223846793005ULL + 1442695040888963407ULL;
        data[i] = (float)((double)(st >> 11) / 9007199254740992.0) * 4.0f -
                  2.0f + (float)(i % F);
    }
    for (int k = 0; k < 2; k++) {
        sn_scaler_t *s = sn_scaler_new((sn_scaler_kind)k, F, 0.0f, 1.0f);
        ck_assert_int_eq(sn_scaler_fit(s, data, R / 2), SN_OK);
        memcpy(v, data, sizeof v);
        ck_assert_int_eq(sn_scaler_transform(s, v, R), SN_OK);
        ck_assert_int_eq(sn_scaler_inverse(s, v, R), SN_OK);
        for (int i = 0; i < R * F; i++)
            ASSERT_NEAR(v[i], data[i], 1e-6);
        sn_scaler_free(s);
    }
}
END_TEST

/* Fits a scaler on the training part of a split of data [rows, 2]. */
static void fit_on_train(const float *data, int rows, sn_scaler_kind kind,
                         double *first, double *second, float *train_scaled)
{
    int tr, va;
    ck_assert_int_eq(sn_temporal_split(rows, 0.7f, 0.15f, &tr, &va), SN_OK);
    sn_scaler_t *s = sn_scaler_new(kind, 2, 0.0f, 1.0f);
    ck_assert_int_eq(sn_scaler_fit(s, data, tr), SN_OK);
    ck_assert_int_eq(sn_scaler_statistics(s, first, second), SN_OK);
    memcpy(train_scaled, data, (size_t)tr * 2 * sizeof(float));
    ck_assert_int_eq(sn_scaler_transform(s, train_scaled, tr), SN_OK);
    sn_scaler_free(s);
}

START_TEST(test_no_leakage)
{
    enum { R = 100 };
    static float data[R * 2], train_a[R * 2], train_b[R * 2];
    for (int i = 0; i < R; i++) {
        data[2 * i] = (float)i;
        data[2 * i + 1] = (float)sin(i * 0.3);
    }
    for (int k = 0; k < 2; k++) {
        double f1[2], s1[2], f2[2], s2[2];
        fit_on_train(data, R, (sn_scaler_kind)k, f1, s1, train_a);
        /* change every test row (rows 85..99) wildly */
        float saved[R * 2];
        memcpy(saved, data, sizeof saved);
        for (int i = 85 * 2; i < R * 2; i++)
            data[i] = data[i] * 1000.0f + 1e6f;
        fit_on_train(data, R, (sn_scaler_kind)k, f2, s2, train_b);
        for (int j = 0; j < 2; j++) {
            ck_assert_double_eq(f1[j], f2[j]);
            ck_assert_double_eq(s1[j], s2[j]);
        }
        ck_assert_int_eq(memcmp(train_a, train_b, 70 * 2 * sizeof(float)),
                         0);
        memcpy(data, saved, sizeof saved);
        if (k == 0) { /* the training max is row 69, not the series max */
            ck_assert_double_eq(s1[0], 69.0);
        }
    }
}
END_TEST

/* ------------------------------------------------------------ synthetic */

static double autocorr(const float *x, size_t stride, int n, int lag)
{
    double mean = 0.0, var = 0.0, cov = 0.0;
    for (int t = 0; t < n; t++)
        mean += x[(size_t)t * stride];
    mean /= n;
    for (int t = 0; t < n; t++) {
        const double d = x[(size_t)t * stride] - mean;
        var += d * d;
        if (t + lag < n)
            cov += d * (x[(size_t)(t + lag) * stride] - mean);
    }
    return cov / var;
}

START_TEST(test_synthetic)
{
    enum { N = 1000, W = 3 };
    static float a[N * W], b[N * W], c[N * W], d[N * 2];
    sn_synth_opts o = SN_SYNTH_OPTS_INIT;
    o.trend = 0.0f;
    ck_assert_int_eq(sn_synthetic_series(&o, a), SN_OK);
    ck_assert_int_eq(sn_synthetic_series(&o, b), SN_OK);
    ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
    o.seed = 43;
    ck_assert_int_eq(sn_synthetic_series(&o, c), SN_OK);
    ck_assert_int_ne(memcmp(a, c, sizeof a), 0);
    for (int i = 0; i < N * W; i++)
        ck_assert(isfinite(a[i]));
    /* season visible: period 50 lag correlates, half-period lag does not */
    const double at_p = autocorr(a, W, N, 50), at_half = autocorr(a, W, N, 25);
    ck_assert_msg(at_p > at_half + 0.3, "acf(50) %g, acf(25) %g", at_p,
                  at_half);
    /* one covariate fewer: covariate 0 identical (its own stream) */
    o.seed = 42;
    o.n_covariates = 1;
    ck_assert_int_eq(sn_synthetic_series(&o, d), SN_OK);
    for (int t = 0; t < N; t++)
        ck_assert_float_eq(d[t * 2 + 1], a[t * W + 1]);
    /* without noise and covariates the formula is exact */
    o.n_covariates = 0;
    o.noise_std = 0.0f;
    o.trend = 0.5f;
    o.n_rows = 100;
    ck_assert_int_eq(sn_synthetic_series(&o, d), SN_OK);
    for (int t = 0; t < 100; t++)
        ASSERT_NEAR(d[t], 10.0 + 0.5 * t + sin(6.283185307179586 * t / 50.0),
                    1e-4);
    o.season_period = 0.0f;
    ck_assert_int_eq(sn_synthetic_series(&o, d), SN_ERR_INVALID_ARG);
    ck_assert_int_eq(sn_synthetic_series(NULL, NULL), SN_ERR_INVALID_ARG);
}
END_TEST

/* ------------------------------------------------------------ main */

static Suite *series_suite(void)
{
    Suite *s = suite_create("series");
    TCase *csv = tcase_create("csv");
    tcase_add_test(csv, test_yahoo_drop_null_row);
    tcase_add_test(csv, test_yahoo_null_row_error_policy);
    tcase_add_test(csv, test_empty_field_is_missing);
    tcase_add_test(csv, test_quoted_fields);
    tcase_add_test(csv, test_crlf_bom_no_final_newline);
    tcase_add_test(csv, test_header_detection_and_no_dates);
    tcase_add_test(csv, test_column_selection_and_select);
    tcase_add_test(csv, test_wrong_field_count);
    tcase_add_test(csv, test_bad_numbers);
    tcase_add_test(csv, test_dates_increasing);
    tcase_add_test(csv, test_invalid_dates);
    tcase_add_test(csv, test_truncated_file);
    tcase_add_test(csv, test_binary_garbage);
    tcase_add_test(csv, test_files_and_arguments);
    suite_add_tcase(s, csv);
    TCase *real = tcase_create("real_files");
    tcase_add_test(real, test_real_aapl);
    tcase_add_test(real, test_real_eustockmarkets);
    suite_add_tcase(s, real);
    TCase *ts = tcase_create("time_series");
    tcase_add_test(ts, test_sequences_tiny);
    tcase_add_test(ts, test_temporal_split);
    tcase_add_test(ts, test_minmax_by_hand);
    tcase_add_test(ts, test_standard_by_hand);
    tcase_add_test(ts, test_scaler_round_trip);
    tcase_add_test(ts, test_no_leakage);
    tcase_add_test(ts, test_synthetic);
    suite_add_tcase(s, ts);
    return s;
}

int main(void)
{
    return tk_run_suite(series_suite());
}

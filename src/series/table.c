/*
 * table.c - the numeric table read from CSV: accessors, column selection,
 * and the calendar arithmetic behind its dates.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "series/series_impl.h"

/* ------------------------------------------------------------ dates */

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31 };
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil: exact, no tables, no loops). */
static int32_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const int yoe = y - era * 400;
    const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + doe - 719468);
}

static void civil_from_days(int32_t z, int *y, int *m, int *d)
{
    z += 719468;
    const int era = (z >= 0 ? z : z - 146096) / 146097;
    const int doe = z - era * 146097;
    const int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int sn_date_parse(const char *s, size_t len, int32_t *days, const char **why)
{
    if (len != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    const int y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);
    if (y < 0 || m < 0 || d < 0)
        return 0;
    *why = NULL;
    if (y < 1)
        *why = "year 0000 does not exist";
    else if (m < 1 || m > 12)
        *why = "month out of range 01..12";
    else if (d < 1 || d > days_in_month(y, m))
        *why = m == 2 && d == 29 ? "not a leap year" : "day out of range";
    if (*why != NULL)
        return -1;
    *days = days_from_civil(y, m, d);
    return 1;
}

void sn_date_format(int32_t days, char buf[11])
{
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    /* y is 1..9999 for any date sn_date_parse accepted */
    buf[0] = (char)('0' + y / 1000 % 10);
    buf[1] = (char)('0' + y / 100 % 10);
    buf[2] = (char)('0' + y / 10 % 10);
    buf[3] = (char)('0' + y % 10);
    buf[4] = '-';
    buf[5] = (char)('0' + m / 10);
    buf[6] = (char)('0' + m % 10);
    buf[7] = '-';
    buf[8] = (char)('0' + d / 10);
    buf[9] = (char)('0' + d % 10);
    buf[10] = '\0';
}

/* ------------------------------------------------------------ accessors */

SN_API void sn_table_free(sn_table_t *t)
{
    if (t == NULL)
        return;
    const sn_mem mem = t->mem;
    if (t->names != NULL)
        for (int j = 0; j < t->cols; j++)
            sn_mem_free(&mem, t->names[j]);
    sn_mem_free(&mem, t->names);
    sn_mem_free(&mem, t->data);
    sn_mem_free(&mem, t->dates);
    sn_mem_free(&mem, t);
}

SN_API int sn_table_rows(const sn_table_t *t)
{
    return t == NULL ? 0 : t->rows;
}

SN_API int sn_table_cols(const sn_table_t *t)
{
    return t == NULL ? 0 : t->cols;
}

SN_API const char *sn_table_column_name(const sn_table_t *t, int j)
{
    if (t == NULL || j < 0 || j >= t->cols)
        return NULL;
    return t->names[j];
}

SN_API int sn_table_find_column(const sn_table_t *t, const char *name)
{
    if (t == NULL || name == NULL)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "sn_table_find_column: table and name must not be "
                       "NULL");
    for (int j = 0; j < t->cols; j++)
        if (strcmp(t->names[j], name) == 0)
            return j;
    return sn_fail(SN_ERR_NOT_FOUND,
                   "sn_table_find_column: no column named '%s'", name);
}

SN_API const double *sn_table_column(const sn_table_t *t, int j)
{
    if (t == NULL || j < 0 || j >= t->cols) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_table_column: column %d out of "
                "range 0..%d", j, t == NULL ? -1 : t->cols - 1);
        return NULL;
    }
    return t->data + (size_t)j * (size_t)t->rows;
}

SN_API int sn_table_has_dates(const sn_table_t *t)
{
    return t != NULL && t->dates != NULL;
}

SN_API sn_status sn_table_date(const sn_table_t *t, int i,
                               int32_t *days)
{
    if (days == NULL)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "sn_table_date: days must not be NULL");
    if (t == NULL || t->dates == NULL)
        return sn_fail(SN_ERR_NOT_FOUND, "sn_table_date: the table has no "
                       "date column");
    if (i < 0 || i >= t->rows)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_table_date: row %d out of "
                       "range 0..%d", i, t->rows - 1);
    *days = t->dates[i];
    return SN_OK;
}

SN_API sn_status sn_table_date_string(const sn_table_t *t, int i,
                                      char buf[11])
{
    if (buf == NULL)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "sn_table_date_string: buf must not be NULL");
    buf[0] = '\0';
    if (t == NULL || t->dates == NULL)
        return sn_fail(SN_ERR_NOT_FOUND, "sn_table_date_string: the table "
                       "has no date column");
    if (i < 0 || i >= t->rows)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_table_date_string: row %d out "
                       "of range 0..%d", i, t->rows - 1);
    sn_date_format(t->dates[i], buf);
    return SN_OK;
}

SN_API int sn_table_dropped_rows(const sn_table_t *t)
{
    return t == NULL ? 0 : t->dropped;
}

SN_API int sn_table_first_dropped_line(const sn_table_t *t)
{
    return t == NULL ? 0 : t->first_dropped_line;
}

/* ------------------------------------------------------------ selection */

static sn_status copy_column(const sn_table_t *t, int src, int dst, int n,
                             float *out)
{
    const double *col = t->data + (size_t)src * (size_t)t->rows;
    for (int i = 0; i < t->rows; i++) {
        /* a volume of 1e40 would silently become inf in a float */
        if (fabs(col[i]) > FLT_MAX)
            return sn_fail(SN_ERR_NUMERIC, "sn_table_select: column '%s' row "
                           "%d: %g does not fit a float", t->names[src], i,
                           col[i]);
        out[(size_t)i * (size_t)n + (size_t)dst] = (float)col[i];
    }
    return SN_OK;
}

SN_API sn_status sn_table_select(const sn_table_t *t,
                                 const char *const *names, int n, float *out)
{
    if (t == NULL || names == NULL || out == NULL || n < 1)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_table_select: table, names "
                       "and out must not be NULL and n must be >= 1");
    for (int k = 0; k < n; k++) {
        if (names[k] == NULL)
            return sn_fail(SN_ERR_INVALID_ARG,
                           "sn_table_select: names[%d] is NULL", k);
        int j = -1;
        for (int c = 0; c < t->cols && j < 0; c++)
            if (strcmp(t->names[c], names[k]) == 0)
                j = c;
        if (j < 0)
            return sn_fail(SN_ERR_NOT_FOUND, "sn_table_select: no column "
                           "named '%s'", names[k]);
        sn_status st = copy_column(t, j, k, n, out);
        if (st != SN_OK)
            return st;
    }
    return SN_OK;
}

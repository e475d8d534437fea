/*
 * csv.c - reads numeric CSV (Yahoo Finance daily prices, R/pandas exports)
 * into an sn_table.
 *
 * One pass over the text: a small lexer cuts records (RFC 4180 quoting),
 * the builder checks each record against the header and appends the
 * selected values row-major; at the end the values are transposed into the
 * table's column-major layout.  Every error names the source and the line
 * where the offending record starts, because the user's next step is to
 * open the file at that line.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "series/series_impl.h"

enum { MSG_MAX = 400, SHOW_MAX = 40 };

/* ------------------------------------------------------------ growth */

/* Grows *buf to hold need elements of elem bytes, keeping its contents
 * (sn_mem_reserve does not keep them). */
static sn_status grow(const sn_mem *mem, void **buf, size_t *cap, size_t need,
                      size_t elem)
{
    if (need <= *cap)
        return SN_OK;
    size_t n = *cap > 0 ? *cap : 64;
    while (n < need) {
        if (n > SIZE_MAX / 4 / elem)
            return sn_fail(SN_ERR_NOMEM, "sn_csv_read: input too large");
        n *= 2;
    }
    void *p = sn_mem_alloc(mem, n * elem);
    if (p == NULL)
        return SN_ERR_NOMEM;
    if (*cap > 0)
        memcpy(p, *buf, *cap * elem);
    sn_mem_free(mem, *buf);
    *buf = p;
    *cap = n;
    return SN_OK;
}

/* ------------------------------------------------------------ lexer */

typedef struct field {
    size_t off, len;     /* text at lexer.buf + off, NUL-terminated */
} field;

typedef struct lexer {
    sn_mem mem;
    const char *p, *end;
    char delim;
    int line;            /* current physical line, 1-based            */
    int record_line;     /* line where the last record started        */
    char *buf;           /* unescaped field text of the record        */
    size_t buf_len, buf_cap;
    field *fields;
    size_t n_fields, fields_cap;
    const char *source;  /* path or "buffer", for messages           */
} lexer;

/* Fails with "sn_csv_read: <source> line N: <message>". */
static sn_status fail_at(const lexer *lx, sn_status st, int line,
                         const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static sn_status fail_at(const lexer *lx, sn_status st, int line,
                         const char *fmt, ...)
{
    char msg[MSG_MAX];
    va_list args;
    va_start(args, fmt);
    vsnprintf(msg, sizeof msg, fmt, args);
    va_end(args);
    return sn_fail(st, "sn_csv_read: %s line %d: %s", lx->source, line, msg);
}

static sn_status append(lexer *lx, const char *s, size_t n)
{
    sn_status st = grow(&lx->mem, (void **)&lx->buf, &lx->buf_cap,
                        lx->buf_len + n + 1, 1);
    if (st != SN_OK)
        return st;
    memcpy(lx->buf + lx->buf_len, s, n);
    lx->buf_len += n;
    return SN_OK;
}

static int at_line_end(const lexer *lx)
{
    return lx->p < lx->end && (*lx->p == '\n' || *lx->p == '\r');
}

/* Consumes one LF, CRLF or lone CR. */
static void eat_newline(lexer *lx)
{
    if (*lx->p == '\r' && lx->p + 1 < lx->end && lx->p[1] == '\n')
        lx->p++;
    lx->p++;
    lx->line++;
}

static sn_status nul_byte(const lexer *lx)
{
    return fail_at(lx, SN_ERR_FORMAT, lx->line,
                   "NUL byte (binary data, not a text CSV file)");
}

static sn_status read_quoted(lexer *lx)
{
    const int start = lx->line;
    lx->p++;
    for (;;) {
        const char *q = lx->p;
        while (q < lx->end && *q != '"' && *q != '\n' && *q != '\r' &&
               *q != '\0')
            q++;
        sn_status st = append(lx, lx->p, (size_t)(q - lx->p));
        if (st != SN_OK)
            return st;
        lx->p = q;
        if (q == lx->end)
            return fail_at(lx, SN_ERR_FORMAT, start, "unterminated quoted "
                           "field (the input ends inside quotes: truncated "
                           "file?)");
        if (*q == '\0')
            return nul_byte(lx);
        if (*q == '"' && q + 1 < lx->end && q[1] == '"') {
            st = append(lx, "\"", 1);
            lx->p += 2;
        } else if (*q == '"') {
            lx->p++;
            break;
        } else { /* a newline inside quotes belongs to the field */
            const char *nl = q;
            eat_newline(lx);
            st = append(lx, nl, (size_t)(lx->p - nl));
        }
        if (st != SN_OK)
            return st;
    }
    while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t') &&
           *lx->p != lx->delim)
        lx->p++;
    if (lx->p < lx->end && *lx->p != lx->delim && !at_line_end(lx))
        return fail_at(lx, SN_ERR_FORMAT, lx->line, "text after the closing "
                       "quote of field %zu", lx->n_fields + 1);
    return SN_OK;
}

static sn_status read_plain(lexer *lx)
{
    const char *q = lx->p;
    while (q < lx->end && *q != lx->delim && *q != '\n' && *q != '\r') {
        if (*q == '\0') {
            lx->p = q;
            return nul_byte(lx);
        }
        q++;
    }
    sn_status st = append(lx, lx->p, (size_t)(q - lx->p));
    lx->p = q;
    return st;
}

static sn_status read_field(lexer *lx)
{
    sn_status st = grow(&lx->mem, (void **)&lx->fields, &lx->fields_cap,
                        lx->n_fields + 1, sizeof(field));
    if (st != SN_OK)
        return st;
    const size_t off = lx->buf_len;
    st = lx->p < lx->end && *lx->p == '"' ? read_quoted(lx) : read_plain(lx);
    if (st == SN_OK)
        st = append(lx, "", 1);  /* the NUL terminator (counted below) */
    if (st != SN_OK)
        return st;
    lx->fields[lx->n_fields].off = off;
    lx->fields[lx->n_fields].len = lx->buf_len - off - 1;
    lx->n_fields++;
    return SN_OK;
}

/* Reads the next record into lx->fields: 1 if one was read, 0 at the end of
 * the input, a negative status on error.  Blank lines are skipped. */
static int read_record(lexer *lx)
{
    while (at_line_end(lx))
        eat_newline(lx);
    if (lx->p >= lx->end)
        return 0;
    lx->record_line = lx->line;
    lx->n_fields = 0;
    lx->buf_len = 0;
    for (;;) {
        sn_status st = read_field(lx);
        if (st != SN_OK)
            return st;
        if (lx->p >= lx->end)
            return 1;
        if (*lx->p != lx->delim) {
            eat_newline(lx);
            return 1;
        }
        lx->p++;
    }
}

/* ------------------------------------------------------------ fields */

typedef struct text {
    const char *s;
    size_t len;
} text;

/* Field k of the current record without surrounding spaces and tabs. */
static text field_text(const lexer *lx, size_t k)
{
    text t = { lx->buf + lx->fields[k].off, lx->fields[k].len };
    while (t.len > 0 && (t.s[0] == ' ' || t.s[0] == '\t')) {
        t.s++;
        t.len--;
    }
    while (t.len > 0 && (t.s[t.len - 1] == ' ' || t.s[t.len - 1] == '\t'))
        t.len--;
    return t;
}

static int ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int equals_ignore_case(text t, const char *word)
{
    size_t n = strlen(word);
    if (t.len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (ascii_lower((unsigned char)t.s[i]) != word[i])
            return 0;
    return 1;
}

static int is_missing(text t)
{
    return t.len == 0 || equals_ignore_case(t, "null");
}

/* 1 on success, 0 if not a number, -1 if out of double's range (the one
 * number grammar of numbers.c; "nan", "inf", hex floats and blanks are not
 * numbers).  The field is NUL-terminated right after its trailing blanks. */
static int parse_number(text t, double *v)
{
    return sn_number_parse(t.s, t.len, v);
}

/* Copies t for a message: printable ASCII as is, other bytes as \xNN,
 * shortened with "..." (the field may be kilobytes of binary garbage). */
static void show(text t, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < t.len; i++) {
        unsigned char c = (unsigned char)t.s[i];
        if (o + 8 >= cap || i >= SHOW_MAX) {
            memcpy(out + o, "...", 4);
            return;
        }
        if (c >= 0x20 && c < 0x7f)
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02X", c);
    }
    out[o] = '\0';
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    size_t len = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4
               : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 && s[0] <= 0xDF ? 2 : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    /* overlong 3/4-byte forms, surrogates, and code points past U+10FFFF */
    if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0) ||
        (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90))
        return 0;
    return len;
}

static int valid_utf8(text t)
{
    const unsigned char *s = (const unsigned char *)t.s;
    for (size_t i = 0; i < t.len;) {
        size_t n = utf8_char(s + i, t.len - i);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}

/* ------------------------------------------------------------ builder */

typedef struct builder {
    lexer lx;
    sn_csv_opts o;
    int has_header;
    int n_header;        /* fields every record must have             */
    char **names;        /* n_header column names                      */
    int date_col;        /* field index of the dates, -1 if none       */
    int *sel;            /* field index of each numeric column         */
    int n_sel;
    double *vals;        /* row-major [rows, n_sel] while reading      */
    size_t vals_cap;
    int32_t *dates;
    size_t dates_cap;
    int rows;
    int last_line;       /* line of the last kept row                  */
    int dropped, first_dropped_line;
} builder;

static void builder_free(builder *b)
{
    const sn_mem *mem = &b->lx.mem;
    if (b->names != NULL)
        for (int j = 0; j < b->n_header; j++)
            sn_mem_free(mem, b->names[j]);
    sn_mem_free(mem, b->names);
    sn_mem_free(mem, b->sel);
    sn_mem_free(mem, b->vals);
    sn_mem_free(mem, b->dates);
    sn_mem_free(mem, b->lx.buf);
    sn_mem_free(mem, b->lx.fields);
}

/* Auto-detection: a header has a field that is neither a number, a date
 * nor a missing value. */
static int looks_like_header(const lexer *lx)
{
    for (size_t k = 0; k < lx->n_fields; k++) {
        text t = field_text(lx, k);
        double v;
        int32_t d;
        const char *why;
        if (!is_missing(t) && parse_number(t, &v) == 0 &&
            sn_date_parse(t.s, t.len, &d, &why) == 0)
            return 1;
    }
    return 0;
}

static sn_status set_name(builder *b, int j, const char *s, size_t len)
{
    char *name = sn_mem_alloc(&b->lx.mem, len + 1);
    if (name == NULL)
        return SN_ERR_NOMEM;
    memcpy(name, s, len);
    name[len] = '\0';
    b->names[j] = name;
    return SN_OK;
}

static int by_name(const void *pa, const void *pb)
{
    return strcmp(*(char *const *)pa, *(char *const *)pb);
}

/* Duplicate names, found by sorting a copy of the list: O(n log n), as a
 * header of many thousands of columns must not take quadratic time. */
static sn_status check_unique_names(builder *b)
{
    const lexer *lx = &b->lx;
    size_t n = (size_t)b->n_header;
    if (n < 2)
        return SN_OK;
    char **sorted = sn_mem_calloc(&b->lx.mem, n, sizeof *sorted);
    if (sorted == NULL)
        return SN_ERR_NOMEM;
    memcpy(sorted, b->names, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, by_name);
    const char *dup = NULL;
    for (size_t i = 1; i < n && dup == NULL; i++)
        if (strcmp(sorted[i - 1], sorted[i]) == 0)
            dup = sorted[i];
    sn_mem_free(&b->lx.mem, sorted);
    if (dup != NULL)
        return fail_at(lx, SN_ERR_FORMAT, lx->record_line,
                       "duplicate column name '%s'", dup);
    return SN_OK;
}

/* Header names (trimmed; an empty one becomes "Unnamed: j" as in pandas),
 * or "0", "1", ... without a header. */
static sn_status take_names(builder *b)
{
    const lexer *lx = &b->lx;
    b->n_header = (int)lx->n_fields;
    b->names = sn_mem_calloc(&b->lx.mem, lx->n_fields, sizeof(char *));
    if (b->names == NULL)
        return SN_ERR_NOMEM;
    for (int j = 0; j < b->n_header; j++) {
        char tmp[32];
        text t = field_text(lx, (size_t)j);
        if (b->has_header && !valid_utf8(t)) {
            char shown[SHOW_MAX * 4 + 8];
            show(t, shown, sizeof shown);
            return fail_at(lx, SN_ERR_FORMAT, lx->record_line, "column name "
                           "%d is not valid UTF-8: '%s' (binary data?)",
                           j + 1, shown);
        }
        if (!b->has_header || t.len == 0) {
            snprintf(tmp, sizeof tmp, b->has_header ? "Unnamed: %d" : "%d",
                     j);
            t.s = tmp;
            t.len = strlen(tmp);
        }
        sn_status st = set_name(b, j, t.s, t.len);
        if (st != SN_OK)
            return st;
    }
    return check_unique_names(b);
}

static int find_name(const builder *b, const char *name)
{
    for (int j = 0; j < b->n_header; j++)
        if (strcmp(b->names[j], name) == 0)
            return j;
    return -1;
}

/* The header's names joined for a "no such column" message. */
static void list_names(const builder *b, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (int j = 0; j < b->n_header && o + 1 < cap; j++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s", j ? ", " : "",
                              b->names[j]);
}

static sn_status not_found(const builder *b, const char *what,
                           const char *name)
{
    char list[MSG_MAX / 2];
    list_names(b, list, sizeof list);
    return sn_fail(SN_ERR_NOT_FOUND, "sn_csv_read: %s: no %scolumn named "
                   "'%s' (columns: %s)", b->lx.source, what, name, list);
}

static sn_status find_date_column(builder *b)
{
    const char *want = b->o.date_column;
    b->date_col = -1;
    if (want != NULL && want[0] == '\0')
        return SN_OK;
    if (want != NULL) {
        b->date_col = find_name(b, want);
        return b->date_col < 0 ? not_found(b, "date ", want) : SN_OK;
    }
    if (b->has_header) {
        for (int j = 0; j < b->n_header && b->date_col < 0; j++) {
            text t = { b->names[j], strlen(b->names[j]) };
            if (equals_ignore_case(t, "date"))
                b->date_col = j;
        }
        return SN_OK;
    }
    /* no header: column 0 if the first record's value has a date's shape */
    text t = field_text(&b->lx, 0);
    int32_t d;
    const char *why;
    if (sn_date_parse(t.s, t.len, &d, &why) != 0)
        b->date_col = 0;
    return SN_OK;
}

static sn_status select_columns(builder *b)
{
    const int asked = b->o.columns != NULL;
    const int n = asked ? b->o.n_columns : b->n_header;
    b->sel = sn_mem_calloc(&b->lx.mem, (size_t)(n > 0 ? n : 1), sizeof(int));
    if (b->sel == NULL)
        return SN_ERR_NOMEM;
    for (int k = 0; k < n; k++) {
        int j = k;
        if (asked) {
            const char *name = b->o.columns[k];
            if (name == NULL)
                return sn_fail(SN_ERR_INVALID_ARG, "sn_csv_read: "
                               "opts.columns[%d] is NULL", k);
            j = find_name(b, name);
            if (j < 0)
                return not_found(b, "", name);
            if (j == b->date_col)
                return sn_fail(SN_ERR_INVALID_ARG, "sn_csv_read: column "
                               "'%s' is the date column, not a numeric one",
                               name);
            for (int i = 0; i < b->n_sel; i++)
                if (b->sel[i] == j)
                    return sn_fail(SN_ERR_INVALID_ARG, "sn_csv_read: column "
                                   "'%s' is asked for twice", name);
        } else if (j == b->date_col) {
            continue;
        }
        b->sel[b->n_sel++] = j;
    }
    return SN_OK;
}

/* ------------------------------------------------------------ records */

static sn_status check_field_count(const builder *b)
{
    const lexer *lx = &b->lx;
    if ((int)lx->n_fields == b->n_header)
        return SN_OK;
    /* a short last record without a final newline is a file cut short */
    const int cut = lx->p >= lx->end && lx->end[-1] != '\n' &&
                    lx->end[-1] != '\r' && (int)lx->n_fields < b->n_header;
    return fail_at(lx, SN_ERR_FORMAT, lx->record_line, "expected %d fields "
                   "(as %s), found %zu%s", b->n_header,
                   b->has_header ? "the header" : "the first line",
                   lx->n_fields, cut ? " (truncated file?)" : "");
}

static sn_status bad_value(const builder *b, int j, text t, const char *what)
{
    char shown[SHOW_MAX * 4 + 8];
    show(t, shown, sizeof shown);
    return fail_at(&b->lx, SN_ERR_FORMAT, b->lx.record_line, "column '%s': "
                   "'%s' %s", b->names[j], shown, what);
}

/* Parses the record's date into *d; *missing names the column if empty. */
static sn_status read_date(const builder *b, int32_t *d, int *missing)
{
    text t = field_text(&b->lx, (size_t)b->date_col);
    if (is_missing(t)) {
        *missing = b->date_col;
        return SN_OK;
    }
    const char *why = NULL;
    int r = sn_date_parse(t.s, t.len, d, &why);
    if (r == 0)
        return bad_value(b, b->date_col, t, "is not a YYYY-MM-DD date");
    if (r < 0) {
        char what[80];
        snprintf(what, sizeof what, "is not a valid date (%s)", why);
        return bad_value(b, b->date_col, t, what);
    }
    return SN_OK;
}

static sn_status read_values(const builder *b, double *row, int *missing)
{
    for (int k = 0; k < b->n_sel; k++) {
        const int j = b->sel[k];
        text t = field_text(&b->lx, (size_t)j);
        if (is_missing(t)) {
            if (*missing < 0)
                *missing = j;
            continue;
        }
        int r = parse_number(t, &row[k]);
        if (r == 0)
            return bad_value(b, j, t, "is not a number");
        if (r < 0)
            return bad_value(b, j, t, "is out of range for a double");
    }
    return SN_OK;
}

static sn_status check_order(const builder *b, int32_t d)
{
    if (!b->o.require_increasing_dates || b->rows == 0 ||
        d > b->dates[b->rows - 1])
        return SN_OK;
    char now[11], before[11];
    sn_date_format(d, now);
    sn_date_format(b->dates[b->rows - 1], before);
    return fail_at(&b->lx, SN_ERR_FORMAT, b->lx.record_line, "date %s is "
                   "not after %s on line %d (dates must increase)", now,
                   before, b->last_line);
}

static sn_status add_record(builder *b)
{
    sn_status st = check_field_count(b);
    if (st != SN_OK)
        return st;
    if (b->rows == 2147483646)
        return fail_at(&b->lx, SN_ERR_FORMAT, b->lx.record_line,
                       "too many rows");
    const size_t w = (size_t)b->n_sel, r = (size_t)b->rows;
    st = grow(&b->lx.mem, (void **)&b->vals, &b->vals_cap, (r + 1) * w + 1,
              sizeof(double));
    if (st == SN_OK && b->date_col >= 0)
        st = grow(&b->lx.mem, (void **)&b->dates, &b->dates_cap, r + 1,
                  sizeof(int32_t));
    if (st != SN_OK)
        return st;
    int missing = -1;
    int32_t d = 0;
    if (b->date_col >= 0)
        st = read_date(b, &d, &missing);
    if (st == SN_OK)
        st = read_values(b, b->vals + r * w, &missing);
    if (st != SN_OK)
        return st;
    if (missing >= 0) {
        if (b->o.missing == SN_MISSING_ERROR)
            return fail_at(&b->lx, SN_ERR_FORMAT, b->lx.record_line,
                           "column '%s': missing value (empty or null; "
                           "SN_MISSING_DROP_ROW skips such rows)",
                           b->names[missing]);
        if (b->dropped++ == 0)
            b->first_dropped_line = b->lx.record_line;
        return SN_OK;
    }
    if (b->date_col >= 0) {
        st = check_order(b, d);
        if (st != SN_OK)
            return st;
        b->dates[r] = d;
    }
    b->last_line = b->lx.record_line;
    b->rows++;
    return SN_OK;
}

/* ------------------------------------------------------------ table */

static sn_status finish(builder *b, sn_table_t **out)
{
    const sn_mem *mem = &b->lx.mem;
    sn_table_t *t = sn_mem_calloc(mem, 1, sizeof *t);
    if (t == NULL)
        return SN_ERR_NOMEM;
    t->mem = *mem;
    t->rows = b->rows;
    t->cols = b->n_sel;
    t->dropped = b->dropped;
    t->first_dropped_line = b->first_dropped_line;
    t->names = sn_mem_calloc(mem, (size_t)(b->n_sel > 0 ? b->n_sel : 1),
                             sizeof(char *));
    t->data = sn_mem_calloc(mem, (size_t)b->rows * (size_t)b->n_sel + 1,
                            sizeof(double));
    if (t->names == NULL || t->data == NULL) {
        sn_table_free(t);
        return SN_ERR_NOMEM;
    }
    for (int k = 0; k < b->n_sel; k++) {
        /* the builder's names move into the table */
        t->names[k] = b->names[b->sel[k]];
        b->names[b->sel[k]] = NULL;
        for (int i = 0; i < b->rows; i++)
            t->data[(size_t)k * (size_t)b->rows + (size_t)i] =
                b->vals[(size_t)i * (size_t)b->n_sel + (size_t)k];
    }
    if (b->date_col >= 0) {
        t->dates = b->dates;  /* already [rows] in order */
        b->dates = NULL;
        if (t->dates == NULL)  /* no data rows: still a dated table */
            t->dates = sn_mem_alloc(mem, sizeof(int32_t));
        if (t->dates == NULL) {
            sn_table_free(t);
            return SN_ERR_NOMEM;
        }
    }
    *out = t;
    return SN_OK;
}

static sn_status check_opts(const sn_csv_opts *o)
{
    const char d = o->delimiter;
    if (d == '"' || d == '\r' || d == '\n' || d == '\0')
        return sn_fail(SN_ERR_INVALID_ARG, "sn_csv_read: delimiter must not "
                       "be a quote, a newline or NUL");
    if (o->header < -1 || o->header > 1)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_csv_read: header must be -1, "
                       "0 or 1, got %d", o->header);
    if (o->missing != SN_MISSING_ERROR && o->missing != SN_MISSING_DROP_ROW)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_csv_read: unknown missing "
                       "policy %d", (int)o->missing);
    if (o->columns != NULL && o->n_columns < 1)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_csv_read: n_columns must be "
                       ">= 1 when columns is given, got %d", o->n_columns);
    return SN_OK;
}

/* Header, column choice, then every data record. */
static sn_status parse(builder *b, sn_table_t **out)
{
    int r = read_record(&b->lx);
    if (r < 0)
        return (sn_status)r;
    if (r == 0)
        return fail_at(&b->lx, SN_ERR_FORMAT, b->lx.line, "no header and "
                       "no data: the input is empty");
    b->has_header = b->o.header == 1 ||
                    (b->o.header == -1 && looks_like_header(&b->lx));
    sn_status st = take_names(b);
    if (st == SN_OK)
        st = find_date_column(b);
    if (st == SN_OK)
        st = select_columns(b);
    if (st == SN_OK && !b->has_header)
        st = add_record(b);
    while (st == SN_OK && (r = read_record(&b->lx)) > 0)
        st = add_record(b);
    if (st == SN_OK && r < 0)
        st = (sn_status)r;
    return st == SN_OK ? finish(b, out) : st;
}

static sn_status read_text(const char *text_, size_t len,
                           const sn_csv_opts *opts, const char *source,
                           sn_table_t **out)
{
    builder b;
    memset(&b, 0, sizeof b);
    const sn_csv_opts defaults = SN_CSV_OPTS_INIT;
    b.o = defaults;
    sn_status st = sn_opts_merge(&b.o, sizeof b.o, opts, "sn_csv_read");
    if (st == SN_OK)
        st = check_opts(&b.o);
    if (st != SN_OK)
        return st;
    b.lx.mem = sn_mem_current();
    b.lx.p = text_;
    b.lx.end = text_ + len;
    b.lx.delim = b.o.delimiter;
    b.lx.line = 1;
    b.lx.source = source;
    if (len >= 3 && memcmp(text_, "\xEF\xBB\xBF", 3) == 0)
        b.lx.p += 3;
    st = parse(&b, out);
    builder_free(&b);
    return st;
}

/* ------------------------------------------------------------ API */

SN_API sn_status sn_csv_read_buffer(const char *text_, size_t len,
                                    const sn_csv_opts *opts, sn_table_t **out)
{
    if (out == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_csv_read_buffer: out must "
                       "not be NULL");
    *out = NULL;
    if (text_ == NULL && len > 0)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_csv_read_buffer: text is "
                       "NULL");
    return read_text(text_ == NULL ? "" : text_, len, opts, "buffer", out);
}

/* Reads the whole file into memory allocated with mem (a regular file
 * only: a FIFO or device could block or never end). */
static sn_status slurp(const char *path, const sn_mem *mem, char **data,
                       size_t *len)
{
    int fd;
    *data = NULL;
    *len = 0;
    sn_status st = sn_file_open_regular(path, "sn_csv_read", &fd);
    if (st != SN_OK)
        return st;
    size_t cap = 0;
    for (;;) {
        st = grow(mem, (void **)data, &cap, *len + 65536, 1);
        if (st != SN_OK)
            break;
        ssize_t n = read(fd, *data + *len, cap - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            char why[128];
            st = sn_fail(SN_ERR_IO, "sn_csv_read: error reading '%s': %s",
                         path, sn_errno_text(errno, why, sizeof why));
            break;
        }
        if (n == 0)
            break;
        *len += (size_t)n;
    }
    close(fd);
    return st;
}

SN_API sn_status sn_csv_read(const char *path, const sn_csv_opts *opts,
                             sn_table_t **out)
{
    if (out == NULL || path == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_csv_read: path and out must "
                       "not be NULL");
    *out = NULL;
    const sn_mem mem = sn_mem_current();
    char *data = NULL;
    size_t len = 0;
    sn_status st = slurp(path, &mem, &data, &len);
    if (st == SN_OK)
        st = read_text(data, len, opts, path, out);
    sn_mem_free(&mem, data);
    return st;
}

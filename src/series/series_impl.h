/*
 * series_impl.h - what the files of src/series/ share: the table's layout
 * and the date helpers.  Private to the library.
 */
#ifndef SN_SERIES_IMPL_H
#define SN_SERIES_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

struct sn_table {
    sn_mem mem;
    int rows, cols;
    char **names;            /* cols names                                 */
    double *data;            /* column-major: column j at data + j * rows  */
    int32_t *dates;          /* rows days since 1970-01-01, or NULL         */
    int dropped;             /* rows the missing policy dropped            */
    int first_dropped_line;  /* 1-based, 0 if none                         */
};

/* Parses exactly "YYYY-MM-DD" (len bytes, year 0001..9999) into days since
 * 1970-01-01.  Returns 1 on success; 0 if the text does not have the shape
 * of a date; -1 if it has the shape but names no calendar day (month 13,
 * February 30, 2021-02-29), with *why set to a short reason. */
int sn_date_parse(const char *s, size_t len, int32_t *days, const char **why);

/* Writes days since 1970-01-01 as "YYYY-MM-DD" into buf[11]. */
void sn_date_format(int32_t days, char buf[11]);

#endif /* SN_SERIES_IMPL_H */

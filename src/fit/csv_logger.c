/*
 * csv_logger.c - Keras CSVLogger for sn_model_fit: a header, then one line
 * per epoch with the epoch (0-based) and the history keys in sorted order.
 *
 * Durability: the header of a fresh file goes through the atomic file
 * (temporary + rename); each epoch's line is appended with a single
 * write() on an O_APPEND descriptor and fsync'ed, so the file always
 * holds whole lines.  Errors are SN_ERR_IO statuses; nothing is printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fit.h"

static const char who[] = "sn_model_fit (csv_logger)";

static sn_status io_fail(const char *what, const char *path, int err)
{
    char buf[128];
    return sn_fail(SN_ERR_IO, "%s: %s '%s': %s", who, what, path,
                   sn_errno_text(err, buf, sizeof buf));
}

/* Sorts key indices by name (insertion sort: a few hundred at most). */
static void sort_keys(sn_csv_logger *c, char *const *keys)
{
    for (int i = 0; i < c->n_keys; i++)
        c->order[i] = i;
    for (int i = 1; i < c->n_keys; i++) {
        int v = c->order[i], j = i - 1;
        while (j >= 0 && strcmp(keys[c->order[j]], keys[v]) > 0) {
            c->order[j + 1] = c->order[j];
            j--;
        }
        c->order[j + 1] = v;
    }
}

/* Whether path names a non-empty regular file (1), is missing or empty
 * (0), or is something else (a status). */
static int has_content(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return errno == ENOENT ? 0 : io_fail("cannot stat", path, errno);
    if (!S_ISREG(st.st_mode))
        return sn_fail(SN_ERR_IO, "%s: '%s' is not a regular file", who,
                       path);
    return st.st_size > 0;
}

sn_status sn_csv_logger_begin(sn_csv_logger *c, const sn_csv_logger_opts *opts,
                              char *const *keys, int n_keys, const sn_mem *mem)
{
    memset(c, 0, sizeof *c);
    if (opts == NULL)
        return SN_OK;
    sn_csv_logger_opts o = SN_CSV_LOGGER_OPTS_INIT;
    sn_status st = sn_opts_merge(&o, sizeof o, opts, who);
    if (st != SN_OK)
        return st;
    if (o.path == NULL || o.path[0] == '\0')
        return sn_fail(SN_ERR_INVALID_ARG, "%s: path is empty", who);
    if (o.separator == '\0' || o.separator == '\n' || o.separator == '\r' ||
        o.separator == '"')
        return sn_fail(SN_ERR_INVALID_ARG, "%s: separator %d cannot separate "
                       "fields", who, (int)o.separator);
    if (n_keys > SN_CSV_MAX_KEYS)
        return sn_fail(SN_ERR_UNSUPPORTED, "%s: at most %d keys", who,
                       SN_CSV_MAX_KEYS);
    c->o = o;
    c->mem = *mem;
    c->keys = keys;
    c->n_keys = n_keys;
    sort_keys(c, keys);
    int exists = o.append ? has_content(o.path) : 0;
    if (exists < 0)
        return (sn_status)exists;
    c->on = true;
    if (exists)
        return SN_OK;
    sn_writer w;
    sn_writer_init(&w, mem);
    sn_write_bytes(&w, "epoch", 5);
    for (int i = 0; i < n_keys; i++) {
        sn_write_bytes(&w, &o.separator, 1);
        sn_write_bytes(&w, keys[c->order[i]], strlen(keys[c->order[i]]));
    }
    sn_write_bytes(&w, "\n", 1);
    st = w.status != SN_OK ? w.status
                           : sn_file_write_atomic(mem, o.path, w.data, w.len,
                                                  who);
    sn_writer_free(&w);
    if (st != SN_OK)
        c->on = false;
    return st;
}

/* The whole line in one write(); a short write is an error. */
static sn_status append_line(const char *path, const uint8_t *data,
                             size_t len)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
                            O_NONBLOCK, 0644);
    if (fd < 0)
        return io_fail("cannot open", path, errno);
    struct stat st;
    sn_status status = SN_OK;
    if (fstat(fd, &st) != 0)
        status = io_fail("cannot stat", path, errno);
    else if (!S_ISREG(st.st_mode))
        status = sn_fail(SN_ERR_IO, "%s: '%s' is not a regular file", who,
                         path);
    if (status == SN_OK) {
        ssize_t n = write(fd, data, len);
        if (n < 0)
            status = io_fail("cannot write", path, errno);
        else if ((size_t)n != len)
            status = sn_fail(SN_ERR_IO, "%s: short write to '%s' (%zd of "
                             "%zu bytes)", who, path, n, len);
        else if (fsync(fd) != 0)
            status = io_fail("cannot sync", path, errno);
    }
    if (close(fd) != 0 && status == SN_OK)
        status = io_fail("cannot close", path, errno);
    return status;
}

sn_status sn_csv_logger_row(sn_csv_logger *c, int epoch, const double *row)
{
    if (!c->on)
        return SN_OK;
    sn_writer w;
    sn_writer_init(&w, &c->mem);
    char num[64];
    locale_t saved = sn_c_locale_enter();
    int len = snprintf(num, sizeof num, "%d", epoch);
    sn_write_bytes(&w, num, (size_t)len);
    for (int i = 0; i < c->n_keys; i++) {
        len = snprintf(num, sizeof num, "%.17g", row[c->order[i]]);
        sn_write_bytes(&w, &c->o.separator, 1);
        sn_write_bytes(&w, num, (size_t)len);
    }
    sn_c_locale_leave(saved);
    sn_write_bytes(&w, "\n", 1);
    sn_status st = w.status != SN_OK ? w.status
                                     : append_line(c->o.path, w.data, w.len);
    sn_writer_free(&w);
    return st;
}

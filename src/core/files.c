/*
 * files.c - whole-file I/O shared by everything the library saves and
 * loads (models, vectorizers), and the buffers it hands to callers.
 *
 * Saves are atomic: the bytes go to a temporary file beside the target,
 * are flushed to disk and renamed over it, so a reader sees the old file
 * or the new one and an interrupted save never destroys the old file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

_Static_assert(sizeof(sn_mem) <= SN_USER_BUFFER_HEADER,
               "the allocator fits in front of a user buffer");

/* SN_ERR_IO with the errno text (thread-safe strerror_r). */
static sn_status io_fail(const char *who, const char *what, const char *path,
                         int err)
{
    char text[128];
    if (strerror_r(err, text, sizeof text) != 0)
        snprintf(text, sizeof text, "error %d", err);
    return sn_fail(SN_ERR_IO, "%s: %s '%s': %s", who, what, path, text);
}

static sn_status write_all(int fd, const uint8_t *p, size_t n,
                           const char *path, const char *who)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return io_fail(who, "cannot write", path, k < 0 ? errno : EIO);
        p += k;
        n -= (size_t)k;
    }
    return SN_OK;
}

/* Makes the rename durable; best effort, as some file systems refuse
 * fsync on directories. */
static void sync_parent_dir(const sn_mem *mem, const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = NULL;
    if (slash == NULL) {
        dir = sn_mem_strdup(mem, ".");
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        dir = sn_mem_alloc(mem, n + 1);
        if (dir != NULL) {
            memcpy(dir, path, n);
            dir[n] = '\0';
        }
    }
    if (dir == NULL) {
        sn_clear_error(); /* the save itself succeeded */
        return;
    }
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    sn_mem_free(mem, dir);
}

/* A new file gets mode 0644; an existing one keeps its mode. */
static void set_mode(int fd, const char *path)
{
    struct stat old;
    mode_t mode = 0644;
    if (stat(path, &old) == 0)
        mode = old.st_mode & 07777;
    (void)fchmod(fd, mode);
}

sn_status sn_file_write_atomic(const sn_mem *mem, const char *path,
                               const void *data, size_t len, const char *who)
{
    static const char suffix[] = ".tmp.XXXXXX";
    size_t n = strlen(path);
    char *tmp = sn_mem_alloc(mem, n + sizeof suffix);
    if (tmp == NULL)
        return SN_ERR_NOMEM;
    memcpy(tmp, path, n);
    memcpy(tmp + n, suffix, sizeof suffix);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        sn_status st = io_fail(who, "cannot create a temporary file for",
                               path, errno);
        sn_mem_free(mem, tmp);
        return st;
    }
    set_mode(fd, path);
    sn_status st = write_all(fd, data, len, path, who);
    if (st == SN_OK && fsync(fd) != 0)
        st = io_fail(who, "cannot flush", path, errno);
    if (close(fd) != 0 && st == SN_OK)
        st = io_fail(who, "cannot close", path, errno);
    if (st == SN_OK && rename(tmp, path) != 0)
        st = io_fail(who, "cannot rename the temporary file to", path, errno);
    if (st != SN_OK)
        unlink(tmp);
    sn_mem_free(mem, tmp);
    if (st == SN_OK)
        sync_parent_dir(mem, path);
    return st;
}

static sn_status read_fd(int fd, const char *path, const sn_mem *mem,
                         uint64_t max_bytes, uint8_t **data, size_t *len,
                         const char *who)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return io_fail(who, "cannot stat", path, errno);
    if (!S_ISREG(st.st_mode))
        return sn_fail(SN_ERR_IO, "%s: '%s' is not a regular file", who,
                       path);
    if (st.st_size < 0 || (uint64_t)st.st_size > max_bytes)
        return sn_fail(SN_ERR_IO, "%s: '%s' is larger than the %llu-byte "
                       "limit", who, path, (unsigned long long)max_bytes);
    size_t n = (size_t)st.st_size;
    uint8_t *buf = sn_mem_alloc(mem, n);
    if (buf == NULL)
        return SN_ERR_NOMEM;
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, buf + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            sn_status s = k < 0 ? io_fail(who, "cannot read", path, errno)
                                : sn_fail(SN_ERR_IO, "%s: '%s' shrank while "
                                          "being read", who, path);
            sn_mem_free(mem, buf);
            return s;
        }
        got += (size_t)k;
    }
    *data = buf;
    *len = n;
    return SN_OK;
}

sn_status sn_file_read_all(const sn_mem *mem, const char *path,
                           uint64_t max_bytes, uint8_t **data, size_t *len,
                           const char *who)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return io_fail(who, "cannot open", path, errno);
    sn_status st = read_fd(fd, path, mem, max_bytes, data, len, who);
    close(fd);
    return st;
}

void sn_user_buffer_begin(sn_writer *w)
{
    static const uint8_t spare[SN_USER_BUFFER_HEADER];
    sn_write_bytes(w, spare, sizeof spare);
}

void sn_user_buffer_finish(sn_writer *w, void **data, size_t *len)
{
    memcpy(w->data, &w->mem, sizeof w->mem);
    *data = w->data + SN_USER_BUFFER_HEADER;
    *len = w->len - SN_USER_BUFFER_HEADER;
}

SN_API void sn_free(void *ptr)
{
    if (ptr == NULL)
        return;
    uint8_t *base = (uint8_t *)ptr - SN_USER_BUFFER_HEADER;
    sn_mem mem;
    memcpy(&mem, base, sizeof mem);
    sn_mem_free(&mem, base);
}

/*
 * files.c - whole-file I/O shared by everything the library saves and
 * loads (models, vectorizers), and the buffers it hands to callers.
 *
 * Saves are atomic: the bytes go to a temporary file beside the target,
 * are flushed to disk and renamed over it, so a reader sees the old file
 * or the new one and an interrupted save never destroys the old file.
 * The temporary file is named <target>.sntmp-XXXXXX (SN_TEMP_SUFFIX); a
 * save that returns removes it, one killed mid-way leaves it behind.
 * Only a regular file (or a symbolic link, which is then replaced by the
 * new file) is ever replaced: a device, FIFO, socket or directory at the
 * target is refused.  Every file read is opened without blocking and
 * refused unless it is a regular file.
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

const char *sn_errno_text(int err, char *buf, size_t cap)
{
    if (strerror_r(err, buf, cap) != 0)
        snprintf(buf, cap, "error %d", err);
    return buf;
}

/* SN_ERR_IO with the errno text (thread-safe strerror_r). */
static sn_status io_fail(const char *who, const char *what, const char *path,
                         int err)
{
    char text[128];
    return sn_fail(SN_ERR_IO, "%s: %s '%s': %s", who, what, path,
                   sn_errno_text(err, text, sizeof text));
}

static const char *kind_of(mode_t mode)
{
    return S_ISDIR(mode) ? "a directory" : S_ISFIFO(mode) ? "a FIFO"
         : S_ISSOCK(mode) ? "a socket" : S_ISCHR(mode) ? "a character device"
         : S_ISBLK(mode) ? "a block device" : "not a regular file";
}

sn_status sn_file_open_regular(const char *path, const char *who, int *fd)
{
    *fd = -1;
    /* O_NONBLOCK: opening a FIFO for reading must not wait for a writer */
    int f = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (f < 0)
        return io_fail(who, "cannot open", path, errno);
    struct stat st;
    if (fstat(f, &st) != 0) {
        sn_status s = io_fail(who, "cannot stat", path, errno);
        close(f);
        return s;
    }
    if (!S_ISREG(st.st_mode)) {
        close(f);
        return sn_fail(SN_ERR_IO, "%s: '%s' is %s, not a regular file", who,
                       path, kind_of(st.st_mode));
    }
    int flags = fcntl(f, F_GETFL);
    if (flags < 0 || fcntl(f, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        sn_status s = io_fail(who, "cannot configure", path, errno);
        close(f);
        return s;
    }
    *fd = f;
    return SN_OK;
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

/* The directory holding path ("." for a bare name), allocated with mem. */
static char *parent_dir(const sn_mem *mem, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return sn_mem_strdup(mem, ".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *dir = sn_mem_alloc(mem, n + 1);
    if (dir != NULL) {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    return dir;
}

/* A target that exists must be a regular file (or a symbolic link to one:
 * rename then replaces the link itself, not the file it points to). */
static sn_status check_target(const char *path, const char *who)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return errno == ENOENT ? SN_OK
                               : io_fail(who, "cannot stat", path, errno);
    if (!S_ISREG(st.st_mode))
        return sn_fail(SN_ERR_IO, "%s: '%s' is %s; only a regular file is "
                       "replaced", who, path, kind_of(st.st_mode));
    return SN_OK;
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

sn_status sn_atomic_begin(sn_atomic_file *a, const sn_mem *mem,
                          const char *path, const char *who)
{
    memset(a, 0, sizeof *a);
    a->fd = -1;
    a->dir_fd = -1;
    a->mem = mem;
    a->path = path;
    a->who = who;
    sn_status st = check_target(path, who);
    if (st != SN_OK)
        return st;
    size_t n = strlen(path);
    a->tmp = sn_mem_alloc(mem, n + sizeof SN_TEMP_SUFFIX);
    char *dir = parent_dir(mem, path);
    if (a->tmp == NULL || dir == NULL) {
        sn_mem_free(mem, dir);
        sn_mem_free(mem, a->tmp);
        a->tmp = NULL;
        return SN_ERR_NOMEM;
    }
    /* The directory is opened now so that syncing it after the rename
     * cannot fail for want of memory or descriptors. */
    a->dir_fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (a->dir_fd < 0) {
        st = io_fail(who, "cannot open the directory of", path, errno);
        sn_mem_free(mem, dir);
        sn_mem_free(mem, a->tmp);
        a->tmp = NULL;
        return st;
    }
    sn_mem_free(mem, dir);
    memcpy(a->tmp, path, n);
    memcpy(a->tmp + n, SN_TEMP_SUFFIX, sizeof SN_TEMP_SUFFIX);
    a->fd = mkstemp(a->tmp);
    if (a->fd < 0) {
        st = io_fail(who, "cannot create a temporary file for", path, errno);
        sn_atomic_abort(a);
        return st;
    }
    set_mode(a->fd, path);
    return SN_OK;
}

sn_status sn_atomic_write(sn_atomic_file *a, const void *data, size_t len)
{
    return write_all(a->fd, data, len, a->path, a->who);
}

void sn_atomic_abort(sn_atomic_file *a)
{
    if (a->fd >= 0) {
        close(a->fd);
        unlink(a->tmp);
    }
    if (a->dir_fd >= 0)
        close(a->dir_fd);
    sn_mem_free(a->mem, a->tmp);
    a->fd = a->dir_fd = -1;
    a->tmp = NULL;
}

sn_status sn_atomic_commit(sn_atomic_file *a)
{
    sn_status st = SN_OK;
    if (fsync(a->fd) != 0)
        st = io_fail(a->who, "cannot flush", a->path, errno);
    int fd = a->fd;
    a->fd = -1;
    if (close(fd) != 0 && st == SN_OK)
        st = io_fail(a->who, "cannot close", a->path, errno);
    /* checked again: something else may have appeared meanwhile */
    if (st == SN_OK)
        st = check_target(a->path, a->who);
    if (st == SN_OK && rename(a->tmp, a->path) != 0)
        st = io_fail(a->who, "cannot rename the temporary file to", a->path,
                     errno);
    if (st != SN_OK) {
        unlink(a->tmp);
    } else if (fsync(a->dir_fd) != 0 && errno != EINVAL && errno != ENOTSUP
               && errno != EROFS) {
        /* (some file systems cannot sync a directory: EINVAL) */
        st = io_fail(a->who, "saved, but cannot sync the directory of",
                     a->path, errno);
    }
    sn_atomic_abort(a);
    return st;
}

sn_status sn_file_write_atomic(const sn_mem *mem, const char *path,
                               const void *data, size_t len, const char *who)
{
    sn_atomic_file a;
    sn_status st = sn_atomic_begin(&a, mem, path, who);
    if (st != SN_OK)
        return st;
    st = sn_atomic_write(&a, data, len);
    if (st != SN_OK) {
        sn_atomic_abort(&a);
        return st;
    }
    return sn_atomic_commit(&a);
}

static sn_status read_fd(int fd, const char *path, const sn_mem *mem,
                         uint64_t max_bytes, uint8_t **data, size_t *len,
                         const char *who)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return io_fail(who, "cannot stat", path, errno);
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
    int fd;
    sn_status st = sn_file_open_regular(path, who, &fd);
    if (st != SN_OK)
        return st;
    st = read_fd(fd, path, mem, max_bytes, data, len, who);
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

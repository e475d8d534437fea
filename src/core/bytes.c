/*
 * bytes.c - little-endian byte streams for the model file.
 *
 * Every multi-byte value is assembled from single bytes with shifts, never
 * by copying a native integer, so the file reads the same on any host.
 * Errors are sticky (see internal.h): a failed stream ignores later calls,
 * which keeps save_config / load_config code free of per-field checks.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* ---------------------------------------------------------------- writer */

void sn_writer_init(sn_writer *w, const sn_mem *mem)
{
    w->mem = *mem;
    w->data = NULL;
    w->len = 0;
    w->cap = 0;
    w->status = SN_OK;
}

void sn_writer_free(sn_writer *w)
{
    sn_mem_free(&w->mem, w->data);
    w->data = NULL;
    w->len = 0;
    w->cap = 0;
}

/* Makes room for n more bytes, doubling so that appends stay linear. */
static bool writer_room(sn_writer *w, size_t n)
{
    if (w->status != SN_OK)
        return false;
    if (n > SIZE_MAX - w->len) {
        w->status = sn_fail(SN_ERR_NOMEM, "serialised model is too large");
        return false;
    }
    size_t need = w->len + n;
    if (need <= w->cap)
        return true;
    size_t cap = w->cap > 0 ? w->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *fresh = sn_mem_alloc(&w->mem, cap);
    if (fresh == NULL) {
        w->status = SN_ERR_NOMEM;
        return false;
    }
    if (w->len > 0)
        memcpy(fresh, w->data, w->len);
    sn_mem_free(&w->mem, w->data);
    w->data = fresh;
    w->cap = cap;
    return true;
}

void sn_write_bytes(sn_writer *w, const void *data, size_t n)
{
    if (n == 0 || !writer_room(w, n))
        return;
    memcpy(w->data + w->len, data, n);
    w->len += n;
}

static void put_le(uint8_t *dst, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        dst[i] = (uint8_t)(v >> (8 * i));
}

static void write_le(sn_writer *w, uint64_t v, int n)
{
    if (!writer_room(w, (size_t)n))
        return;
    put_le(w->data + w->len, v, n);
    w->len += (size_t)n;
}

void sn_write_u8(sn_writer *w, uint8_t v) { write_le(w, v, 1); }
void sn_write_u32(sn_writer *w, uint32_t v) { write_le(w, v, 4); }
void sn_write_u64(sn_writer *w, uint64_t v) { write_le(w, v, 8); }
/* Two's complement: the conversion to unsigned is defined by C. */
void sn_write_i32(sn_writer *w, int32_t v) { write_le(w, (uint32_t)v, 4); }
void sn_write_i64(sn_writer *w, int64_t v) { write_le(w, (uint64_t)v, 8); }

void sn_write_f32(sn_writer *w, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    write_le(w, bits, 4);
}

void sn_write_f64(sn_writer *w, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    write_le(w, bits, 8);
}

void sn_write_str(sn_writer *w, const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n > UINT32_MAX) {
        if (w->status == SN_OK)
            w->status = sn_fail(SN_ERR_INVALID_ARG, "string too long to save");
        return;
    }
    sn_write_u32(w, (uint32_t)n);
    sn_write_bytes(w, s, n);
}

void sn_write_f32s(sn_writer *w, const float *v, size_t n)
{
    if (n > SIZE_MAX / 4 || !writer_room(w, n * 4))
        return;
    uint8_t *dst = w->data + w->len;
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], sizeof bits);
        put_le(dst + 4 * i, bits, 4);
    }
    w->len += n * 4;
}

static void patch_le(sn_writer *w, size_t offset, uint64_t v, int n)
{
    if (w->status != SN_OK)
        return;
    if (offset > w->len || w->len - offset < (size_t)n) {
        w->status = sn_fail(SN_ERR_STATE, "writer patch at %zu is past the "
                            "end (%zu bytes written)", offset, w->len);
        return;
    }
    put_le(w->data + offset, v, n);
}

void sn_writer_patch_u32(sn_writer *w, size_t offset, uint32_t v)
{
    patch_le(w, offset, v, 4);
}

void sn_writer_patch_u64(sn_writer *w, size_t offset, uint64_t v)
{
    patch_le(w, offset, v, 8);
}

/* ---------------------------------------------------------------- reader */

void sn_reader_init(sn_reader *r, const void *data, size_t len)
{
    /* a NULL buffer becomes an empty one: no arithmetic on NULL later */
    static const uint8_t empty[1];
    r->data = data != NULL ? data : empty;
    r->len = data != NULL ? len : 0;
    r->pos = 0;
    r->status = SN_OK;
}

size_t sn_reader_remaining(const sn_reader *r)
{
    return r->status == SN_OK ? r->len - r->pos : 0;
}

sn_status sn_reader_fail(sn_reader *r, sn_status status, const char *fmt, ...)
{
    if (r->status != SN_OK)
        return r->status; /* keep the first, most specific message */
    char msg[400];
    va_list args;
    va_start(args, fmt);
    vsnprintf(msg, sizeof msg, fmt, args);
    va_end(args);
    r->status = sn_fail(status, "%s", msg);
    return r->status;
}

/* Whether n more bytes are there; fails the reader (truncation) if not. */
static bool reader_has(sn_reader *r, size_t n)
{
    if (r->status != SN_OK)
        return false;
    if (n > r->len - r->pos) {
        sn_reader_fail(r, SN_ERR_FORMAT, "truncated data: %zu bytes needed "
                       "at offset %zu, %zu left", n, r->pos, r->len - r->pos);
        return false;
    }
    return true;
}

const uint8_t *sn_read_view(sn_reader *r, size_t n)
{
    if (!reader_has(r, n))
        return NULL;
    const uint8_t *p = r->data + r->pos;
    r->pos += n;
    return p;
}

void sn_read_bytes(sn_reader *r, void *out, size_t n)
{
    const uint8_t *p = sn_read_view(r, n);
    if (n == 0)
        return;
    if (p != NULL)
        memcpy(out, p, n);
    else
        memset(out, 0, n);
}

static uint64_t read_le(sn_reader *r, int n)
{
    const uint8_t *p = sn_read_view(r, (size_t)n);
    if (p == NULL)
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

uint8_t sn_read_u8(sn_reader *r) { return (uint8_t)read_le(r, 1); }
uint32_t sn_read_u32(sn_reader *r) { return (uint32_t)read_le(r, 4); }
uint64_t sn_read_u64(sn_reader *r) { return read_le(r, 8); }

/* Unsigned to signed without implementation-defined conversions. */
int32_t sn_read_i32(sn_reader *r)
{
    uint32_t u = sn_read_u32(r);
    return u <= INT32_MAX ? (int32_t)u : (int32_t)(u - 0x80000000u) + INT32_MIN;
}

int64_t sn_read_i64(sn_reader *r)
{
    uint64_t u = sn_read_u64(r);
    return u <= INT64_MAX ? (int64_t)u
                          : (int64_t)(u - 0x8000000000000000u) + INT64_MIN;
}

float sn_read_f32(sn_reader *r)
{
    uint32_t bits = sn_read_u32(r);
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

double sn_read_f64(sn_reader *r)
{
    uint64_t bits = sn_read_u64(r);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

int sn_read_int(sn_reader *r, int lo, int hi, const char *what)
{
    int32_t v = sn_read_i32(r);
    if (r->status != SN_OK)
        return lo;
    if (v < lo || v > hi) {
        sn_reader_fail(r, SN_ERR_FORMAT, "%s is %ld, expected %d to %d",
                       what, (long)v, lo, hi);
        return lo;
    }
    return (int)v;
}

char *sn_read_str(sn_reader *r, const sn_mem *mem, size_t max_len)
{
    uint32_t n = sn_read_u32(r);
    if (r->status != SN_OK)
        return NULL;
    /* both checks come before the allocation: n is untrusted */
    if (n > max_len) {
        sn_reader_fail(r, SN_ERR_FORMAT, "string of %lu bytes at offset %zu "
                       "exceeds the limit of %zu", (unsigned long)n,
                       r->pos - 4, max_len);
        return NULL;
    }
    const uint8_t *p = sn_read_view(r, n);
    if (p == NULL)
        return NULL;
    if (n > 0 && memchr(p, '\0', n) != NULL) {
        sn_reader_fail(r, SN_ERR_FORMAT, "string at offset %zu holds a NUL "
                       "byte", r->pos - n);
        return NULL;
    }
    char *s = sn_mem_alloc(mem, (size_t)n + 1);
    if (s == NULL) {
        r->status = SN_ERR_NOMEM;
        return NULL;
    }
    if (n > 0)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

void sn_read_f32s(sn_reader *r, float *out, size_t n)
{
    const uint8_t *p = n <= SIZE_MAX / 4 ? sn_read_view(r, n * 4) : NULL;
    if (p == NULL) {
        if (n <= SIZE_MAX / 4)
            memset(out, 0, n * sizeof *out);
        sn_reader_fail(r, SN_ERR_FORMAT, "float array of %zu too large", n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
                        (uint32_t)p[4 * i + 2] << 16 |
                        (uint32_t)p[4 * i + 3] << 24;
        memcpy(&out[i], &bits, sizeof bits);
    }
}

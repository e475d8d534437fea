/*
 * text_file.c - the small file that carries one text object on its own
 * (the BPE and Tokenizer files; the vectorizer's has the same layout in
 * vectorizer_io.c): an 8-byte magic, the payload length (u64), the
 * payload, and a CRC-32 of everything before it.  Loading treats the bytes
 * as hostile: the length must match and the CRC must agree before the
 * payload is read.
 */
#include <string.h>

#include "text/text_impl.h"

sn_status sn_text_file_serialise(const uint8_t magic[8],
                                 void (*write)(const void *, sn_writer *),
                                 const void *obj, sn_writer *w)
{
    sn_mem mem = sn_mem_current();
    sn_writer_init(w, &mem);
    sn_user_buffer_begin(w);
    sn_write_bytes(w, magic, 8);
    size_t at = w->len;
    sn_write_u64(w, 0); /* payload length, patched below */
    write(obj, w);
    if (w->status == SN_OK)
        sn_writer_patch_u64(w, at, (uint64_t)(w->len - at - 8));
    if (w->status == SN_OK)
        sn_write_u32(w, sn_crc32(w->data + SN_USER_BUFFER_HEADER,
                                 w->len - SN_USER_BUFFER_HEADER));
    sn_status st = w->status;
    if (st != SN_OK)
        sn_writer_free(w);
    return st;
}

sn_status sn_text_file_open(const uint8_t magic[8], const char *what,
                            const void *data, size_t len, sn_reader *payload)
{
    const uint8_t *p = data;
    if (len < 8 || memcmp(p, magic, 8) != 0)
        return sn_fail(SN_ERR_FORMAT, "not a libseqnet %s file (wrong "
                       "magic)", what);
    sn_reader r;
    sn_reader_init(&r, p + 8, len - 8);
    uint64_t n = sn_read_u64(&r);
    if (r.status != SN_OK || sn_reader_remaining(&r) < 4 ||
        n != sn_reader_remaining(&r) - 4)
        return sn_fail(SN_ERR_FORMAT, "%s file: the length field says %llu "
                       "payload bytes, %zu follow (truncated or corrupt)",
                       what, (unsigned long long)n,
                       r.status == SN_OK ? sn_reader_remaining(&r) : 0);
    uint32_t crc = sn_crc32(p, len - 4);
    uint32_t stored = (uint32_t)p[len - 4] | (uint32_t)p[len - 3] << 8 |
                      (uint32_t)p[len - 2] << 16 | (uint32_t)p[len - 1] << 24;
    if (crc != stored)
        return sn_fail(SN_ERR_FORMAT, "%s file is corrupt: CRC-32 0x%08lx, "
                       "stored 0x%08lx", what, (unsigned long)crc,
                       (unsigned long)stored);
    sn_reader_init(payload, p + 16, (size_t)n);
    return SN_OK;
}

sn_status sn_text_read_failed(const sn_reader *r, const char *what)
{
    sn_status st = r->status != SN_OK ? r->status : sn_last_status();
    if (st == SN_OK)
        st = SN_ERR_FORMAT;
    if (st != SN_ERR_NOMEM)
        st = sn_fail(st, "%s: %s", what, sn_last_error());
    return st;
}

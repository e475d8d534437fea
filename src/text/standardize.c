/*
 * standardize.c - Keras "lower_and_strip_punctuation", UTF-8 aware.
 *
 * One pass over the bytes: each character is decoded whole, so a
 * multi-byte sequence is either copied (possibly case-mapped) entire or,
 * if invalid, replaced; no byte of a character is ever split off or
 * dropped on its own.  Case mapping is the simple (1:1) Unicode mapping for
 * the scripts most texts in Latin, Greek and Cyrillic letters need.
 */
#include <string.h>

#include "text/text_impl.h"

size_t sn_text_standardized_cap(size_t n)
{
    if (n > (SIZE_MAX - 1) / 3)
        return 0;
    return 3 * n + 1;
}

/* Python's string.punctuation: the printable ASCII characters that are
 * neither letters, digits nor space. */
static bool is_punct(unsigned c)
{
    return c >= 0x21 && c <= 0x7e && !(c >= '0' && c <= '9') &&
           !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z');
}

/* Latin Extended-A alternates capital/small, with a shift of parity in
 * the middle of the block and a few letters outside the pattern. */
static uint32_t lower_latin_ext_a(uint32_t c)
{
    if (c == 0x130)
        return 0x69;  /* I with dot above -> i (simple mapping) */
    if (c == 0x178)
        return 0xff;  /* Y with diaeresis */
    if (c <= 0x137 || (c >= 0x14a && c <= 0x177))
        return c % 2 == 0 ? c + 1 : c;
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
        return c % 2 == 1 ? c + 1 : c;
    return c;
}

static uint32_t lower_greek(uint32_t c)
{
    if (c >= 0x391 && c <= 0x3ab && c != 0x3a2)
        return c + 0x20;
    if (c == 0x386)
        return 0x3ac;
    if (c >= 0x388 && c <= 0x38a)
        return c + 0x25;
    if (c == 0x38c)
        return 0x3cc;
    if (c == 0x38e || c == 0x38f)
        return c + 0x3f;
    return c;
}

static uint32_t lower_cyrillic(uint32_t c)
{
    if (c <= 0x40f)
        return c + 0x50;
    if (c <= 0x42f)
        return c + 0x20;
    if ((c >= 0x460 && c <= 0x481) || (c >= 0x48a && c <= 0x4bf) ||
        (c >= 0x4d0 && c <= 0x4ff))
        return c % 2 == 0 ? c + 1 : c;
    if (c == 0x4c0)
        return 0x4cf;
    if (c >= 0x4c1 && c <= 0x4ce)
        return c % 2 == 1 ? c + 1 : c;
    return c;
}

static uint32_t lower_cp(uint32_t c)
{
    if (c < 0x80)
        return c >= 'A' && c <= 'Z' ? c + 0x20 : c;
    if (c >= 0xc0 && c <= 0xde && c != 0xd7)
        return c + 0x20;
    if (c >= 0x100 && c <= 0x17f)
        return lower_latin_ext_a(c);
    if (c >= 0x370 && c <= 0x3ff)
        return lower_greek(c);
    if (c >= 0x400 && c <= 0x4ff)
        return lower_cyrillic(c);
    return c;
}

/* Length of the valid UTF-8 sequence at s[0 .. n), 0 if invalid (RFC 3629:
 * no overlongs, no surrogates, nothing above U+10FFFF). */
static size_t utf8_valid(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    size_t len;
    uint32_t lo = 0x80, hi = 0xbf; /* range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    uint32_t v = c & (0xff >> (len + 1));
    for (size_t i = 1; i < len; i++)
        v = (v << 6) | (s[i] & 0x3f);
    *cp = v;
    return len;
}

bool sn_text_valid_utf8(const char *text, size_t n)
{
    const unsigned char *s = (const unsigned char *)text;
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t len = utf8_valid(s + i, n - i, &cp);
        if (len == 0)
            return false;
        i += len;
    }
    return true;
}

static size_t utf8_put(uint32_t cp, char *out)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xc0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 0x20) : c;
}

/* Length of an HTML line break "<br", optional spaces, optional "/",
 * optional spaces, ">" at s, any case; 0 if there is none. */
static size_t html_break(const char *s, size_t n)
{
    if (n < 4 || s[0] != '<' || ascii_lower(s[1]) != 'b' ||
        ascii_lower(s[2]) != 'r')
        return 0;
    size_t i = 3;
    while (i < n && s[i] == ' ')
        i++;
    if (i < n && s[i] == '/')
        i++;
    while (i < n && s[i] == ' ')
        i++;
    return i < n && s[i] == '>' ? i + 1 : 0;
}

size_t sn_text_standardize(const char *text, size_t n, int flags, char *out)
{
    const unsigned char *s = (const unsigned char *)text;
    bool lower = (flags & SN_STANDARDIZE_LOWER) != 0;
    bool strip = (flags & SN_STANDARDIZE_PUNCTUATION) != 0;
    bool breaks = (flags & SN_STANDARDIZE_HTML_BREAKS) != 0;
    size_t o = 0, i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            size_t br = c == '<' && breaks ? html_break(text + i, n - i) : 0;
            if (br > 0) {
                out[o++] = ' ';
                i += br;
                continue;
            }
            i++;
            if (strip && is_punct(c))
                continue;
            out[o++] = (char)(lower && c >= 'A' && c <= 'Z' ? c + 0x20 : c);
            continue;
        }
        uint32_t cp = 0;
        size_t len = utf8_valid(s + i, n - i, &cp);
        if (len == 0) {
            o += utf8_put(0xfffd, out + o); /* one per invalid byte */
            i++;
            continue;
        }
        uint32_t low = lower ? lower_cp(cp) : cp;
        if (low == cp)
            memcpy(out + o, s + i, len), o += len;
        else
            o += utf8_put(low, out + o);
        i += len;
    }
    out[o] = '\0';
    return o;
}

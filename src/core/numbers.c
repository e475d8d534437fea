/*
 * numbers.c - the one grammar for numbers in text files (CSV values, GloVe
 * and word2vec vectors), parsed and printed the same under every locale.
 *
 * A host program may call setlocale(LC_ALL, "") in a locale with a decimal
 * comma; strtod and printf would then read and write "1,5".  The library
 * switches the calling thread to the C locale (uselocale, POSIX 2008) for
 * the few calls that convert numbers and switches back afterwards, so the
 * host's locale is left as it was and other threads are not affected.
 */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>

#include "internal.h"

locale_t sn_c_locale_enter(void)
{
    /* glibc returns its static C locale object here: nothing to free */
    static locale_t c_locale = (locale_t)0;
    locale_t c = __atomic_load_n(&c_locale, __ATOMIC_ACQUIRE);
    if (c == (locale_t)0) {
        c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
        if (c == (locale_t)0)
            return (locale_t)0;
        locale_t expected = (locale_t)0;
        if (!__atomic_compare_exchange_n(&c_locale, &expected, c, false,
                                         __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            freelocale(c);
            c = expected;
        }
    }
    return uselocale(c);
}

void sn_c_locale_leave(locale_t saved)
{
    if (saved != (locale_t)0)
        uselocale(saved);
}

size_t sn_number_shape(const char *s, size_t len)
{
    size_t i = 0, mantissa = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
        mantissa++;
    if (i < len && s[i] == '.')
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            mantissa++;
    if (mantissa == 0)
        return 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t exp_digits = 0;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            exp_digits++;
        if (exp_digits == 0)
            return 0;
    }
    return i;
}

int sn_number_parse(const char *s, size_t len, double *v)
{
    if (sn_number_shape(s, len) != len || len == 0)
        return 0;
    char *end = NULL;
    locale_t saved = sn_c_locale_enter();
    errno = 0;
    *v = strtod(s, &end);
    int err = errno;
    sn_c_locale_leave(saved);
    if (end != s + len)
        return 0;
    if (err == ERANGE && isinf(*v))
        return -1;
    return 1;
}

int sn_number_parse_f(const char *s, size_t len, float *v)
{
    if (sn_number_shape(s, len) != len || len == 0)
        return 0;
    char *end = NULL;
    locale_t saved = sn_c_locale_enter();
    errno = 0;
    *v = strtof(s, &end);
    int err = errno;
    sn_c_locale_leave(saved);
    if (end != s + len)
        return 0;
    if (err == ERANGE && isinf(*v))
        return -1;
    return 1;
}

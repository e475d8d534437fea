/*
 * error.c - status names and the per-thread "what went wrong" message.
 *
 * The message lives in thread-local storage so that concurrent callers on
 * different handles never see each other's errors (no mutable globals).
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

enum { SN_ERROR_MESSAGE_MAX = 512 };

static _Thread_local char last_error_message[SN_ERROR_MESSAGE_MAX];
static _Thread_local sn_status last_error_status;

SN_API const char *sn_strerror(int status)
{
    switch (status) {
    case SN_OK: return "ok";
    case SN_ERR_INVALID_ARG: return "invalid argument";
    case SN_ERR_SHAPE: return "shape mismatch";
    case SN_ERR_NOMEM: return "out of memory";
    case SN_ERR_IO: return "input/output error";
    case SN_ERR_FORMAT: return "malformed data";
    case SN_ERR_VERSION: return "unsupported format version";
    case SN_ERR_STATE: return "invalid state for this call";
    case SN_ERR_NOT_FOUND: return "not found";
    case SN_ERR_NUMERIC: return "non-finite number";
    case SN_ERR_UNSUPPORTED: return "unsupported";
    }
    return "unknown status";
}

SN_API const char *sn_last_error(void)
{
    return last_error_message;
}

SN_API void sn_clear_error(void)
{
    last_error_message[0] = '\0';
    last_error_status = SN_OK;
}

sn_status sn_last_status(void)
{
    return last_error_status;
}

sn_status sn_fail(sn_status status, const char *fmt, ...)
{
    /* format into a local buffer first: fmt's arguments may point into
     * last_error_message itself (when wrapping an earlier message) */
    char message[SN_ERROR_MESSAGE_MAX];
    va_list args;
    locale_t saved = sn_c_locale_enter(); /* "%g" prints 0.5, not 0,5 */
    va_start(args, fmt);
    vsnprintf(message, sizeof message, fmt, args);
    va_end(args);
    sn_c_locale_leave(saved);
    memcpy(last_error_message, message, sizeof message);
    last_error_status = status;
    return status;
}

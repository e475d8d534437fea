/* version.c - the version of the library actually linked. */
#include "internal.h"

SN_API const char *sn_version(void)
{
    return SN_VERSION_STRING;
}

SN_API int sn_version_number(void)
{
    return SN_VERSION_NUMBER;
}

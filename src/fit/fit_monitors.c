/*
 * fit_monitors.c - the quantity EarlyStopping, ReduceLROnPlateau and
 * ModelCheckpoint watch, with Keras' notion of improvement:
 *   minimise: value < best - min_delta      maximise: value > best + min_delta
 * "auto" maximises names that measure accuracy and minimises the rest.
 */
#include <math.h>
#include <string.h>

#include "fit.h"

sn_status sn_monitor_init(sn_monitor *mon, const char *monitor,
                          sn_monitor_mode mode, double min_delta,
                          char *const *keys, int n_keys, const char *who)
{
    if (monitor == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: monitor is NULL", who);
    if (mode < SN_MODE_AUTO || mode > SN_MODE_MAX)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: unknown mode %d", who,
                       (int)mode);
    if (!isfinite(min_delta) || min_delta < 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: min_delta must be >= 0", who);
    mon->index = -1;
    for (int i = 0; i < n_keys; i++)
        if (strcmp(keys[i], monitor) == 0)
            mon->index = i;
    if (mon->index < 0)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: monitor '%s' is not "
                       "reported (give validation data to watch val_*, or "
                       "watch e.g. 'loss')", who, monitor);
    mon->maximise = mode == SN_MODE_MAX ||
                    (mode == SN_MODE_AUTO && strstr(monitor, "acc") != NULL);
    mon->min_delta = min_delta;
    mon->best = mon->maximise ? -INFINITY : INFINITY;
    return SN_OK;
}

bool sn_monitor_improved(const sn_monitor *mon, double value)
{
    if (mon->maximise)
        return value > mon->best + mon->min_delta;
    return value < mon->best - mon->min_delta;
}

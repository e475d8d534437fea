/*
 * layer_checks.c - shape checks shared by layers' infer functions.  The
 * messages name the layer and show the offending shape Keras-style, e.g.
 *   "dense: expected input of rank 2 ([time, features]), got (None, 5)".
 */
#include "internal.h"

/* What each rank means, so the message tells the user what to feed. */
static const char *rank_hint(int rank)
{
    switch (rank) {
    case 1: return "[features]";
    case 2: return "[time, features]";
    case 3: return "[time, rows, features]";
    default: return "per-sample";
    }
}

sn_status sn_expect_rank(const sn_layer *l, const sn_shape *in, int rank)
{
    if (in->rank == rank)
        return SN_OK;
    char buf[96];
    sn_shape_format(in, buf, sizeof buf);
    return sn_fail(SN_ERR_SHAPE, "%s: expected input of rank %d (%s), got %s",
                   sn_layer_label(l), rank, rank_hint(rank), buf);
}

sn_status sn_expect_float(const sn_layer *l, const sn_shape *in)
{
    if (in->dtype == SN_FLOAT32)
        return SN_OK;
    char buf[96];
    sn_shape_format(in, buf, sizeof buf);
    return sn_fail(SN_ERR_SHAPE,
                   "%s: expected float32 input, got int32 %s (token ids go "
                   "through an Embedding first)",
                   sn_layer_label(l), buf);
}

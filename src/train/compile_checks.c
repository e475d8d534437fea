/*
 * compile_checks.c - what a compile accepts: valid loss options, metric
 * kinds and their names, and whether a metric reads the targets its loss
 * reads.  Shared by the single-loss compile (model_compile.c), the
 * per-output one (output_losses.c) and the training state's loader.
 */
#include <math.h>

#include "train.h"

const char *sn_metric_kind_name(sn_metric_kind kind)
{
    switch (kind) {
    case SN_METRIC_ACCURACY: return "accuracy";
    case SN_METRIC_BINARY_ACCURACY: return "binary_accuracy";
    case SN_METRIC_CATEGORICAL_ACCURACY: return "categorical_accuracy";
    case SN_METRIC_SPARSE_CATEGORICAL_ACCURACY:
        return "sparse_categorical_accuracy";
    case SN_METRIC_MAE: return "mae";
    case SN_METRIC_MSE: return "mse";
    case SN_METRIC_AUC: return "auc";
    case SN_METRIC_PRECISION: return "precision";
    case SN_METRIC_RECALL: return "recall";
    }
    return NULL;
}

bool sn_metric_valid(int kind)
{
    return kind >= SN_METRIC_ACCURACY && kind <= SN_METRIC_RECALL;
}

/* A sparse loss has [rows] class-id targets; every other loss has
 * targets shaped like the predictions.  A metric must read the same. */
sn_status sn_metric_check(sn_metric_kind kind, const sn_loss_opts *loss)
{
    if (!sn_metric_valid((int)kind))
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_compile: unknown "
                       "metric %d", (int)kind);
    bool sparse_loss = loss->kind == SN_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
    bool sparse_metric = kind == SN_METRIC_SPARSE_CATEGORICAL_ACCURACY;
    if (kind != SN_METRIC_ACCURACY && sparse_loss != sparse_metric)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_compile: metric '%s' "
                       "needs %s targets but the loss takes %s ones",
                       sn_metric_kind_name(kind),
                       sparse_metric ? "class-id" : "dense",
                       sparse_loss ? "class-id" : "dense");
    return SN_OK;
}

bool sn_loss_valid(const sn_loss_opts *l)
{
    return l->kind >= SN_LOSS_BINARY_CROSSENTROPY &&
           l->kind <= SN_LOSS_HUBER && isfinite(l->delta) && l->delta > 0;
}

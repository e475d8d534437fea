/*
 * fit_distributed.c - what sn_model_fit does differently when the model
 * is one replica of a data-parallel group (sn_model_set_collectives):
 * which rows of each global batch this process trains on, the epoch's
 * loss and metric sums and the validation added up over the group, and
 * agreement on stopping.  Alone (world 1) each function is the plain
 * single-process computation.
 *
 * Every process holds the same data set and shuffles it identically (the
 * permutation depends only on the model seed and the epoch), so a global
 * step is a slice of that permutation: batch_size rows per process, W *
 * batch_size in all, the last one shorter.  Each process takes an even
 * share of the slice, so one epoch sees every sample once over the group.
 */
#include "fit.h"

enum { MAX_SUMS = 2 * 256 + 2 };

int sn_fit_steps(const sn_model *m, int n, int batch)
{
    long global = (long)batch * sn_collectives_world(m);
    return (int)(((long)n + global - 1) / global);
}

void sn_fit_shard(const sn_model *m, int n, int batch, int step, int *first,
                  int *count)
{
    long world = sn_collectives_world(m), rank = sn_collectives_rank(m);
    long start = (long)step * batch * world;
    long size = (long)n - start < (long)batch * world ? (long)n - start
                                                      : (long)batch * world;
    /* rows [size * r / W, size * (r + 1) / W) of the slice */
    long lo = size * rank / world, hi = size * (rank + 1) / world;
    *first = (int)(start + lo);
    *count = (int)(hi - lo);
}

sn_status sn_fit_check_same_data(sn_model *m, int n_train, int n_val)
{
    if (!sn_collectives_on(m))
        return SN_OK;
    double v[4] = { n_train, n_val, (double)n_train * n_train,
                    (double)n_val * n_val };
    sn_status st = sn_collectives_sum(m, v, 4, "sn_model_fit");
    double w = sn_collectives_world(m);
    if (st == SN_OK && (v[0] * v[0] != w * v[2] || v[1] * v[1] != w * v[3]))
        st = sn_fail(SN_ERR_INVALID_ARG, "sn_model_fit: the processes hold "
                     "data sets of different sizes (every process passes "
                     "the whole data set; fit picks its rows)");
    return st;
}

sn_status sn_fit_reduce_logs(sn_model *m, double *sums, int n_logs,
                             int *seen, sn_status st)
{
    st = sn_collectives_agree(m, st, "sn_model_fit");
    if (st != SN_OK || !sn_collectives_on(m))
        return st;
    double v[MAX_SUMS];
    for (int i = 0; i < n_logs; i++)
        v[i] = sums[i];
    v[n_logs] = *seen;
    st = sn_collectives_sum(m, v, (size_t)n_logs + 1, "sn_model_fit");
    for (int i = 0; st == SN_OK && i < n_logs; i++)
        sums[i] = v[i];
    if (st == SN_OK)
        *seen = (int)v[n_logs];
    return st;
}

sn_status sn_fit_evaluate(sn_model *m, const sn_dataset *d, int first, int n,
                          int batch_size, double *results)
{
    if (!sn_collectives_on(m))
        return sn_evaluate_range(m, d, first, n, batch_size, results);
    int n_results = m->n_metric_names, lo = 0, count = 0;
    sn_fit_shard(m, n, n, 0, &lo, &count);   /* one even split of n */
    sn_status st = count > 0 ? sn_evaluate_range(m, d, first + lo, count,
                                                 batch_size, results)
                             : SN_OK;
    st = sn_collectives_agree(m, st, "sn_model_fit (validation)");
    if (st != SN_OK)
        return st;
    double v[MAX_SUMS];
    for (int i = 0; i < n_results; i++)
        v[i] = count > 0 ? results[i] * count : 0.0;
    v[n_results] = count;
    st = sn_collectives_sum(m, v, (size_t)n_results + 1,
                            "sn_model_fit (validation)");
    for (int i = 0; st == SN_OK && i < n_results; i++)
        results[i] = v[i] / v[n_results];
    return st;
}

bool sn_fit_agree_stop(sn_model *m, bool stop, sn_status *st)
{
    if (!sn_collectives_on(m) || *st != SN_OK)
        return stop;
    double v = stop ? 1.0 : 0.0;
    *st = sn_collectives_sum(m, &v, 1, "sn_model_fit (stop)");
    return v > 0.0;
}

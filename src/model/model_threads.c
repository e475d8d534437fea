/*
 * model_threads.c - how many threads a model's calls are split over.
 *
 * Each model owns a persistent pool (kernels/threadpool.c), started by
 * sn_model_build with the requested count or the default (SN_NUM_THREADS,
 * else the CPUs the process may run on) and stopped by sn_model_free.  No
 * memory for it fails the build (SN_ERR_NOMEM); workers the system will
 * not start leave the model with fewer threads: slower, never wrong.
 */
#include "internal.h"
#include "kernels/threadpool.h"
#include "model.h"

static int wanted_threads(const sn_model *m)
{
    return m->n_threads > 0 ? m->n_threads : sn_pool_default_threads();
}

sn_status sn_model_start_threads(sn_model *m)
{
    int n = wanted_threads(m);
    if (m->threads != NULL || n <= 1)
        return SN_OK;
    return sn_pool_create(&m->mem, n, &m->threads);
}

void sn_model_stop_threads(sn_model *m)
{
    sn_pool_free(m->threads);
    m->threads = NULL;
}

SN_API sn_status sn_model_set_num_threads(sn_model_t *m, int threads)
{
    if (m == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_set_num_threads: model is "
                                       "NULL");
    if (threads < 0)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_model_set_num_threads: threads "
                                       "must be >= 0 (0 = default), got %d",
                       threads);
    m->n_threads = threads > SN_POOL_MAX_THREADS ? SN_POOL_MAX_THREADS
                                                 : threads;
    sn_model_stop_threads(m);
    if (m->built)
        return sn_model_start_threads(m);
    return SN_OK;
}

SN_API int sn_model_num_threads(const sn_model_t *m)
{
    if (m == NULL) {
        sn_fail(SN_ERR_INVALID_ARG, "sn_model_num_threads: model is NULL");
        return 0;
    }
    /* both are at most SN_POOL_MAX_THREADS: the setter and the default
     * clamp */
    return m->built ? sn_pool_threads(m->threads) : wanted_threads(m);
}

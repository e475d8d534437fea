/*
 * seqnet_mpi.c - libseqnet-mpi: the collective hooks of libseqnet
 * (sn_collectives in seqnet.h) over an MPI communicator.  One in-place
 * MPI_Allreduce per hook call: the gradient, which the model keeps in one
 * contiguous float array, is reduced in a single call per training step
 * (plus a 4-double allreduce before it that agrees on batch sizes and
 * failures; docs/DISTRIBUTED.md).  Uses only libseqnet's public API.
 */
#include <limits.h>
#include <stdlib.h>

#include <mpi.h>

#include "seqnet_mpi.h"

struct sn_mpi {
    MPI_Comm comm;
    int rank, size;
    int finalize;          /* sn_mpi_init_world initialised MPI */
    sn_mpi_stats stats;
};

/* MPI counts are ints: larger arrays go in slices. */
enum { SLICE = INT_MAX / 8 };

static sn_status allreduce(sn_mpi_t *c, void *data, size_t n,
                           MPI_Datatype type, size_t elem)
{
    for (size_t at = 0; at < n; at += SLICE) {
        size_t k = n - at < SLICE ? n - at : SLICE;
        if (MPI_Allreduce(MPI_IN_PLACE, (char *)data + at * elem, (int)k,
                          type, MPI_SUM, c->comm) != MPI_SUCCESS)
            return SN_ERR_IO;
    }
    return SN_OK;
}

static sn_status sum_f64(void *user, double *values, size_t n)
{
    sn_mpi_t *c = user;
    double t0 = MPI_Wtime();
    sn_status st = allreduce(c, values, n, MPI_DOUBLE, sizeof *values);
    c->stats.other_calls++;
    c->stats.other_seconds += MPI_Wtime() - t0;
    return st;
}

static sn_status sum_f32(void *user, float *values, size_t n)
{
    sn_mpi_t *c = user;
    double t0 = MPI_Wtime();
    sn_status st = allreduce(c, values, n, MPI_FLOAT, sizeof *values);
    c->stats.gradient_calls++;
    c->stats.gradient_bytes += (int64_t)(n * sizeof *values);
    c->stats.gradient_seconds += MPI_Wtime() - t0;
    return st;
}

static sn_status broadcast(void *user, void *data, size_t bytes)
{
    sn_mpi_t *c = user;
    double t0 = MPI_Wtime();
    sn_status st = SN_OK;
    for (size_t at = 0; st == SN_OK && at < bytes; at += SLICE) {
        size_t k = bytes - at < SLICE ? bytes - at : SLICE;
        if (MPI_Bcast((char *)data + at, (int)k, MPI_BYTE, 0, c->comm) !=
            MPI_SUCCESS)
            st = SN_ERR_IO;
    }
    c->stats.other_calls++;
    c->stats.other_seconds += MPI_Wtime() - t0;
    return st;
}

SN_API sn_status sn_mpi_new(MPI_Comm comm, sn_mpi_t **out)
{
    if (out == NULL)
        return SN_ERR_INVALID_ARG;
    *out = NULL;
    int ready = 0;
    if (MPI_Initialized(&ready) != MPI_SUCCESS || !ready)
        return SN_ERR_STATE;
    sn_mpi_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return SN_ERR_NOMEM;
    c->stats = (sn_mpi_stats)SN_MPI_STATS_INIT;
    if (MPI_Comm_dup(comm, &c->comm) != MPI_SUCCESS) {
        free(c);
        return SN_ERR_IO;
    }
    /* errors come back as statuses, so that the library can report them */
    MPI_Comm_set_errhandler(c->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(c->comm, &c->rank);
    MPI_Comm_size(c->comm, &c->size);
    *out = c;
    return SN_OK;
}

SN_API sn_status sn_mpi_init_world(sn_mpi_t **out)
{
    if (out == NULL)
        return SN_ERR_INVALID_ARG;
    *out = NULL;
    int ready = 0, provided = 0;
    MPI_Initialized(&ready);
    if (!ready && MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED,
                                  &provided) != MPI_SUCCESS)
        return SN_ERR_IO;
    sn_status st = sn_mpi_new(MPI_COMM_WORLD, out);
    if (st == SN_OK)
        (*out)->finalize = !ready;
    else if (!ready)
        MPI_Finalize();
    return st;
}

SN_API void sn_mpi_free(sn_mpi_t *c)
{
    if (c == NULL)
        return;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) {
        MPI_Comm_free(&c->comm);
        if (c->finalize)
            MPI_Finalize();
    }
    free(c);
}

SN_API int sn_mpi_rank(const sn_mpi_t *c)
{
    return c != NULL ? c->rank : 0;
}

SN_API int sn_mpi_size(const sn_mpi_t *c)
{
    return c != NULL ? c->size : 1;
}

SN_API sn_status sn_mpi_attach(sn_mpi_t *c, sn_model_t *model)
{
    if (c == NULL || model == NULL)
        return SN_ERR_INVALID_ARG;
    sn_collectives hooks = SN_COLLECTIVES_INIT;
    hooks.rank = c->rank;
    hooks.world = c->size;
    hooks.user = c;
    hooks.sum_f64 = sum_f64;
    hooks.sum_f32 = sum_f32;
    hooks.broadcast = broadcast;
    return sn_model_set_collectives(model, &hooks);
}

SN_API sn_status sn_mpi_get_stats(const sn_mpi_t *c, sn_mpi_stats *out)
{
    if (c == NULL || out == NULL || out->size < sizeof *out)
        return SN_ERR_INVALID_ARG;
    *out = c->stats;
    return SN_OK;
}

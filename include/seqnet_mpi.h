/*
 * seqnet_mpi.h - libseqnet-mpi: data-parallel training of a libseqnet
 * model over MPI (docs/DISTRIBUTED.md).  Every process of a communicator
 * builds the same model, calls sn_mpi_attach, and then trains with
 * sn_model_fit (or sn_model_train_on_batch) as one process would; the
 * gradient is averaged over the processes before each optimizer step.
 *
 * Build and link: `make mpi`, then `pkg-config --cflags --libs seqnet-mpi`
 * (it brings libseqnet and Open MPI's flags).  sn_mpi_new is declared
 * when mpi.h is included before this header; the other functions take no
 * MPI types, so a program can also load libseqnet-mpi with dlopen (see
 * examples/common/distributed.c).
 */
#ifndef SEQNET_MPI_H
#define SEQNET_MPI_H

#include <stddef.h>
#include <stdint.h>

#include "seqnet.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A communicator the library trains over (opaque): a duplicate of the one
 * given, with errors returned instead of aborting. */
typedef struct sn_mpi sn_mpi_t;

#ifdef MPI_VERSION /* mpi.h was included before this header */
/* Wraps comm (MPI must be initialised); a collective call.  *out receives
 * a new context the caller frees with sn_mpi_free. */
SN_API sn_status sn_mpi_new(MPI_Comm comm, sn_mpi_t **out);
#endif

/* Initialises MPI (MPI_Init_thread, funneled) unless it already is, and
 * wraps MPI_COMM_WORLD; sn_mpi_free then finalises MPI.  For programs
 * that do no MPI of their own. */
SN_API sn_status sn_mpi_init_world(sn_mpi_t **out);

/* Frees the context (finalising MPI if sn_mpi_init_world initialised it);
 * detach it from models first (sn_model_set_collectives(model, NULL)) or
 * free them first.  NULL is ignored. */
SN_API void sn_mpi_free(sn_mpi_t *mpi);

/* This process's rank and the number of processes. */
SN_API int sn_mpi_rank(const sn_mpi_t *mpi);
SN_API int sn_mpi_size(const sn_mpi_t *mpi);

/* Makes model (built, compiled or not) one replica trained over mpi: a
 * collective call on every process, which copies process 0's weights and
 * optimizer state to all (sn_model_set_collectives).  The context must
 * outlive the model's training. */
SN_API sn_status sn_mpi_attach(sn_mpi_t *mpi, sn_model_t *model);

/* Counters of the collective calls made through a context. */
typedef struct sn_mpi_stats {
    size_t size;               /* sizeof(sn_mpi_stats)                      */
    int64_t gradient_calls;    /* float allreduces (one per training step)  */
    int64_t gradient_bytes;    /* bytes they reduced                        */
    double gradient_seconds;   /* wall time in them                         */
    int64_t other_calls;       /* double allreduces and broadcasts          */
    double other_seconds;
} sn_mpi_stats;
#define SN_MPI_STATS_INIT { sizeof(sn_mpi_stats), 0, 0, 0.0, 0, 0.0 }

/* Copies the counters into *out (out->size set by SN_MPI_STATS_INIT). */
SN_API sn_status sn_mpi_get_stats(const sn_mpi_t *mpi, sn_mpi_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* SEQNET_MPI_H */

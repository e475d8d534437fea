/*
 * distributed.c - data-parallel training for the examples, loaded at run
 * time: the example binaries stay free of MPI, build without it, and
 * train over MPI only when mpirun starts them and libseqnet-mpi exists
 * (see distributed.h).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "distributed.h"

typedef struct sn_mpi sn_mpi_t;   /* seqnet_mpi.h's opaque context */

static void *g_lib;
static sn_mpi_t *g_mpi;
static sn_status (*g_attach)(sn_mpi_t *, sn_model_t *);
static void (*g_free)(sn_mpi_t *);

/* Open MPI's, MPICH's and Slurm's process counts. */
static int launched_size(void)
{
    const char *vars[] = { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE",
                           "SLURM_NTASKS" };
    for (int i = 0; i < 3; i++)
        if (getenv(vars[i]) != NULL)
            return atoi(getenv(vars[i]));
    return 1;
}

static void finish(void)
{
    if (g_free != NULL)
        g_free(g_mpi);   /* MPI_Finalize, which mpirun expects */
}

int ex_distributed_init(ex_args *a)
{
    if (launched_size() <= 1)
        return 0;
    char name[64];
    snprintf(name, sizeof name, "libseqnet-mpi.so.%d", SN_VERSION_MAJOR);
    /* global: Open MPI's plugins look up libmpi's symbols */
    g_lib = dlopen(name, RTLD_NOW | RTLD_GLOBAL);
    sn_status (*init)(sn_mpi_t **) = NULL;
    int (*rank_of)(const sn_mpi_t *) = NULL;
    if (g_lib != NULL) {
        *(void **)&init = dlsym(g_lib, "sn_mpi_init_world");
        *(void **)&rank_of = dlsym(g_lib, "sn_mpi_rank");
        *(void **)&g_attach = dlsym(g_lib, "sn_mpi_attach");
        *(void **)&g_free = dlsym(g_lib, "sn_mpi_free");
    }
    if (init == NULL || rank_of == NULL || g_attach == NULL ||
        g_free == NULL || init(&g_mpi) != SN_OK) {
        fprintf(stderr, "started by mpirun, but %s cannot be used (%s; "
                "`make mpi` builds it): every process trains alone\n", name,
                g_lib == NULL ? dlerror() : "missing symbol or MPI failed");
        g_attach = NULL;
        g_free = NULL;
        return 0;
    }
    atexit(finish);
    int rank = rank_of(g_mpi);
    if (rank != 0) {
        static char out[600];
        snprintf(out, sizeof out, "%s/rank-%d", a->out_dir, rank);
        a->out_dir = out;
        if (freopen("/dev/null", "w", stdout) == NULL)
            perror("stdout");
    }
    return rank;
}

void ex_distributed_attach(sn_model_t *model)
{
    if (g_attach != NULL)
        ex_check(g_attach(g_mpi, model), "sn_mpi_attach");
}

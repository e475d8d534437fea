/*
 * distributed.h - lets an example train data-parallel when it is started
 * by mpirun (docs/DISTRIBUTED.md).  The examples never link MPI: when the
 * environment says mpirun started more than one process, libseqnet-mpi
 * (built by `make mpi`) is loaded with dlopen; otherwise, or when it is not
 * built, every call here does nothing and the example runs alone.
 */
#ifndef EX_DISTRIBUTED_H
#define EX_DISTRIBUTED_H

#include "example.h"

/* Call after ex_parse_args.  Under mpirun with libseqnet-mpi: initialises
 * MPI and, on every process but 0, silences stdout and moves the output
 * folder to <out>/rank-N, so that process 0 alone writes the report.
 * Returns this process's rank (0 when alone). */
int ex_distributed_init(ex_args *a);

/* Call on every process before sn_model_fit: makes the compiled model a
 * replica trained data-parallel (process 0's weights are copied to all).
 * Does nothing when the example runs alone. */
void ex_distributed_attach(sn_model_t *model);

#endif /* EX_DISTRIBUTED_H */

/*
 * threadpool.h - a persistent pool of worker threads (threadpool.c).
 *
 * A model owns one pool; the recurrent time loop and the large matrix
 * products run their parts on it instead of starting threads per call.
 * Workers sleep on a condition variable while idle (no spinning), so an
 * idle model costs no CPU.  A pool serves one caller at a time: a second
 * caller that finds it busy (two threads predicting on one model) runs
 * its parts itself, one after another, rather than wait.
 */
#ifndef SN_KERNELS_THREADPOOL_H
#define SN_KERNELS_THREADPOOL_H

#include <stdbool.h>

#include "internal.h"

/* The most threads one call is split over (workspaces are sized for it). */
enum { SN_POOL_MAX_THREADS = 8 };

typedef struct sn_pool sn_pool;

/* Creates a pool of threads - 1 workers (the caller is the first thread;
 * threads is clamped to 1..SN_POOL_MAX_THREADS).  SN_ERR_NOMEM when its
 * memory or locks cannot be had; workers the system refuses to start are
 * left out (the pool then has fewer threads). */
sn_status sn_pool_create(const sn_mem *mem, int threads, sn_pool **out);
void sn_pool_free(sn_pool *pool);

/* Threads a call may use: the pool's size, 1 for NULL. */
int sn_pool_threads(const sn_pool *pool);

/* Runs job(ctx, i) for i = 0..n-1, each exactly once, on the calling
 * thread and the workers, and returns when all are done.  Parts are taken
 * in order by whichever thread is free, so a thread slowed by another
 * process takes fewer.  pool NULL or busy: all on the caller. */
typedef void (*sn_pool_job)(void *ctx, int i);
void sn_pool_run(sn_pool *pool, int n, sn_pool_job job, void *ctx);

/* The default thread count: SN_NUM_THREADS when it is a number >= 1, else
 * the CPUs this process may run on (sched_getaffinity), at most
 * SN_POOL_MAX_THREADS. */
int sn_pool_default_threads(void);

#endif /* SN_KERNELS_THREADPOOL_H */

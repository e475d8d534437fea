/*
 * threadpool.c - persistent workers for the parallel parts of one call.
 *
 * One batch of work at a time: sn_pool_run publishes (job, ctx, n) under
 * the lock with a new generation number and wakes the workers; every
 * thread, the caller included, takes the next undone part with an atomic
 * counter until none is left; the caller then waits until no worker is
 * inside the batch any more.  A worker that wakes late, after its batch
 * was finished by others, finds no part left; the next batch starts only
 * once such a worker is out, so no worker ever takes a part of one batch
 * with the job of another.  Workers go back to
 * sleeping on the condition variable: an idle pool uses no CPU.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"
#include "kernels/threadpool.h"

struct sn_pool {
    sn_mem mem;
    int threads;                 /* workers + the caller                  */
    pthread_t workers[SN_POOL_MAX_THREADS];
    int n_workers;
    pthread_mutex_t busy;        /* held by the caller of sn_pool_run     */
    pthread_mutex_t lock;        /* guards everything below               */
    pthread_cond_t wake;         /* a new batch, or stop                  */
    pthread_cond_t done;         /* the last part of a batch finished     */
    unsigned long generation;
    bool stop;
    sn_pool_job job;
    void *ctx;
    int n;
    atomic_int next;             /* the next part to take                 */
    int finished;                /* parts finished in this batch          */
    int active;                  /* workers inside this batch             */
};

/* Takes and runs parts until none is left; returns how many it ran. */
static int take_parts(sn_pool *p, sn_pool_job job, void *ctx, int n)
{
    int ran = 0;
    for (;;) {
        int i = atomic_fetch_add(&p->next, 1);
        if (i >= n)
            return ran;
        job(ctx, i);
        ran++;
    }
}

/* A worker leaves the batch, having finished ran parts. */
static void leave_batch(sn_pool *p, int ran)
{
    pthread_mutex_lock(&p->lock);
    p->finished += ran;
    p->active--;
    if (p->active == 0)
        pthread_cond_signal(&p->done);
    pthread_mutex_unlock(&p->lock);
}

static void *worker_main(void *arg)
{
    sn_pool *p = arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->stop)
            break;
        seen = p->generation;
        sn_pool_job job = p->job;
        void *ctx = p->ctx;
        int n = p->n;
        p->active++;
        pthread_mutex_unlock(&p->lock);
        leave_batch(p, take_parts(p, job, ctx, n));
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static void stop_workers(sn_pool *p)
{
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int w = 0; w < p->n_workers; w++)
        pthread_join(p->workers[w], NULL);
}

static void destroy_sync(sn_pool *p)
{
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->busy);
}

sn_status sn_pool_create(const sn_mem *mem, int threads, sn_pool **out)
{
    *out = NULL;
    if (threads < 1)
        threads = 1;
    if (threads > SN_POOL_MAX_THREADS)
        threads = SN_POOL_MAX_THREADS;
    sn_pool *p = sn_mem_alloc(mem, sizeof *p);
    if (p == NULL)
        return SN_ERR_NOMEM;
    *p = (sn_pool){ .mem = *mem };
    atomic_init(&p->next, 0);
    if (pthread_mutex_init(&p->busy, NULL) != 0) {
        sn_mem_free(mem, p);
        return sn_fail(SN_ERR_NOMEM, "cannot create a thread pool's mutex");
    }
    if (pthread_mutex_init(&p->lock, NULL) != 0 ||
        pthread_cond_init(&p->wake, NULL) != 0 ||
        pthread_cond_init(&p->done, NULL) != 0) {
        pthread_mutex_destroy(&p->busy);
        sn_mem_free(mem, p);
        return sn_fail(SN_ERR_NOMEM, "cannot create a thread pool's "
                                     "condition variables");
    }
    /* a worker the system refuses (thread limit) is simply not there:
     * the pool works with the ones it has */
    for (int w = 0; w < threads - 1; w++) {
        if (pthread_create(&p->workers[w], NULL, worker_main, p) != 0)
            break;
        p->n_workers++;
    }
    p->threads = p->n_workers + 1;
    *out = p;
    return SN_OK;
}

void sn_pool_free(sn_pool *pool)
{
    if (pool == NULL)
        return;
    stop_workers(pool);
    destroy_sync(pool);
    sn_mem mem = pool->mem;
    sn_mem_free(&mem, pool);
}

int sn_pool_threads(const sn_pool *pool)
{
    return pool != NULL ? pool->threads : 1;
}

static void run_serially(int n, sn_pool_job job, void *ctx)
{
    for (int i = 0; i < n; i++)
        job(ctx, i);
}

void sn_pool_run(sn_pool *pool, int n, sn_pool_job job, void *ctx)
{
    if (n <= 0)
        return;
    if (pool == NULL || pool->n_workers == 0 || n == 1 ||
        pthread_mutex_trylock(&pool->busy) != 0) {
        run_serially(n, job, ctx);
        return;
    }
    pthread_mutex_lock(&pool->lock);
    /* a worker that woke for an earlier batch after its caller returned
     * has found no part left; wait until it is out before the counter is
     * reset under it */
    while (pool->active > 0)
        pthread_cond_wait(&pool->done, &pool->lock);
    pool->job = job;
    pool->ctx = ctx;
    pool->n = n;
    pool->finished = 0;
    atomic_store(&pool->next, 0);
    pool->generation++;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);

    int ran = take_parts(pool, job, ctx, n);

    pthread_mutex_lock(&pool->lock);
    pool->finished += ran;
    while (pool->finished < n || pool->active > 0)
        pthread_cond_wait(&pool->done, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
    pthread_mutex_unlock(&pool->busy);
}

/* SN_NUM_THREADS as a whole number >= 1, or 0. */
static int threads_from_env(void)
{
    const char *s = getenv("SN_NUM_THREADS");
    if (s == NULL || *s == '\0')
        return 0;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < 1)
        return 0;
    return v > SN_POOL_MAX_THREADS ? SN_POOL_MAX_THREADS : (int)v;
}

static int allowed_cpus(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n >= 1)
            return n;
    }
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online >= 1 ? (int)(online < 1024 ? online : 1024) : 1;
}

int sn_pool_default_threads(void)
{
    int n = threads_from_env();
    if (n == 0)
        n = allowed_cpus();
    return n > SN_POOL_MAX_THREADS ? SN_POOL_MAX_THREADS : n;
}

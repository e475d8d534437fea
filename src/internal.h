/*
 * internal.h - declarations shared by the library's source files.  Nothing
 * here is exported: the build uses -fvisibility=hidden and a version script,
 * and only functions marked SN_API in seqnet.h leave the shared object.
 */
#ifndef SN_INTERNAL_H
#define SN_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seqnet.h"

/* ---------------------------------------------------------------- errors */

/* Records a formatted message for sn_last_error() and returns status, so
 * that call sites read `return sn_fail(SN_ERR_SHAPE, "...", ...);`. */
sn_status sn_fail(sn_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The status of the calling thread's last sn_fail (SN_OK after clear). */
sn_status sn_last_status(void);

/* ---------------------------------------------------------------- memory */

/* The allocator an object was created with (copied at creation). */
typedef struct sn_mem {
    sn_allocator a;
} sn_mem;

/* The calling thread's current allocator. */
sn_mem sn_mem_current(void);
/* Allocates bytes (0 is treated as 1); records SN_ERR_NOMEM on failure. */
void *sn_mem_alloc(const sn_mem *mem, size_t bytes);
/* As sn_mem_alloc, zero-filled; checks count * size for overflow. */
void *sn_mem_calloc(const sn_mem *mem, size_t count, size_t size);
void sn_mem_free(const sn_mem *mem, void *ptr);
/* Copies a NUL-terminated string with the allocator. */
char *sn_mem_strdup(const sn_mem *mem, const char *s);
/* Makes *buf hold at least bytes; keeps no old contents. Tracks capacity. */
sn_status sn_mem_reserve(const sn_mem *mem, void **buf, size_t *capacity,
                         size_t bytes);

/* Copies a caller's size-prefixed options struct over defaults, reading
 * only the bytes the caller's struct has.  Fails if size is too small to
 * hold even the size field or larger than the library knows. */
sn_status sn_opts_merge(void *dst, size_t dst_size, const void *src,
                        const char *who);

/* ------------------------------------------------------------------- rng */

/* xoshiro256** seeded by splitmix64: small, fast, explicit state. */
typedef struct sn_rng {
    uint64_t s[4];
} sn_rng;

void sn_rng_seed(sn_rng *rng, uint64_t seed);
/* A seed for an independent stream, derived from (seed, stream). */
uint64_t sn_rng_derive(uint64_t seed, uint64_t stream);
uint64_t sn_rng_next(sn_rng *rng);
/* Uniform in [0, 1). */
double sn_rng_uniform(sn_rng *rng);
/* Standard normal (Box-Muller). */
double sn_rng_normal(sn_rng *rng);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t sn_rng_below(sn_rng *rng, uint64_t n);

/* ------------------------------------------------------------ initialisers */

/* Fills a weight of rows*cols with initialiser init from rng.  For rank-3
 * kernels pass rows = product of all but the last dim (fan computation is
 * the caller's: fan_in and fan_out). */
sn_status sn_init_fill(sn_initializer init, sn_rng *rng, int fan_in,
                       int fan_out, int rows, int cols, float *out,
                       const sn_mem *mem);

/* ---------------------------------------------------------------- shapes */

/* Per-sample shape; dims may be -1 (length given at call time). */
typedef struct sn_shape {
    sn_dtype dtype;
    int rank;
    int dim[SN_MAX_RANK];
} sn_shape;

sn_shape sn_shape_1(sn_dtype dtype, int d0);
sn_shape sn_shape_2(sn_dtype dtype, int d0, int d1);
/* Elements per sample; 0 if any dim is unknown. */
size_t sn_shape_count(const sn_shape *s);
bool sn_shape_equal(const sn_shape *a, const sn_shape *b);
/* "(None, 20, 64)" into buf. */
void sn_shape_format(const sn_shape *s, char *buf, size_t len);

/* ----------------------------------------------------------- activations */

/* In-place activation over rows of n (softmax normalises each row). */
void sn_act_forward(sn_activation act, float *x, size_t rows, size_t n);
/* dx += dy * act'(.) given the activation's OUTPUT y (all five can be
 * differentiated from their output). */
void sn_act_backward(sn_activation act, const float *y, const float *dy,
                     float *dx, size_t rows, size_t n);
const char *sn_act_name(sn_activation act);
bool sn_act_valid(int act);

/* -------------------------------------------------------- execution state */

/* One tensor's value in a forward pass over a concrete batch. */
typedef struct sn_value {
    sn_shape shape;       /* concrete per-sample shape                     */
    size_t count;         /* elements per sample                            */
    float *data;          /* [batch, ...] for SN_FLOAT32                    */
    int32_t *ids;         /* [batch, ...] for SN_INT32                      */
    const uint8_t *mask;  /* [batch, time] or NULL; 1 = real step           */
    float *grad;          /* dLoss/d(data), same size; NULL if not needed   */
} sn_value;

typedef struct sn_model sn_model;
typedef struct sn_layer sn_layer;
typedef struct sn_exec sn_exec;

/* What a layer's forward or backward sees. */
typedef struct sn_call {
    sn_exec *exec;
    sn_layer *layer;
    int batch;
    bool training;        /* forward's mode, in backward too               */
    sn_value **in;        /* n_in inputs                                    */
    int n_in;
    sn_value **out;       /* n_out outputs, buffers allocated by the caller */
    int n_out;
    sn_rng *rng;          /* per-call stream for dropout                    */
} sn_call;

/* The layer's k-th weight (in registration order) and its gradient. */
float *sn_call_weight(const sn_call *c, int k);
float *sn_call_weight_grad(const sn_call *c, int k);
/* Whether weight gradients should be computed (layer trainable). */
bool sn_call_wants_weight_grad(const sn_call *c);
/* Per-node scratch memory kept from forward to backward, at least bytes
 * large; contents survive between forward and backward of one pass, and a
 * request for the same or fewer bytes returns the same buffer with its
 * contents kept. */
void *sn_call_scratch(sn_call *c, size_t bytes);
/* A writable mask buffer [batch, time] for output k. */
uint8_t *sn_call_out_mask(sn_call *c, int k, int time);

/* Registers a weight during build; returns its index within the layer or a
 * negative status.  dims has rank entries; fan_in/fan_out feed the
 * initialiser (Keras compute_fans). */
typedef struct sn_build sn_build;
int sn_build_weight(sn_build *b, const char *name, int rank, const int *dims,
                    sn_initializer init, int fan_in, int fan_out);

/* -------------------------------------------------------------- layers */

/* The internal interface every layer implements (built-ins and, later,
 * user-written layers).  Shape inference sees per-sample shapes that may
 * hold -1; forward sees concrete ones. */
typedef struct sn_layer_ops {
    const char *type;        /* Keras class name, e.g. "Dense"            */
    const char *base_name;   /* default name stem, e.g. "dense"           */
    int min_inputs, max_inputs;
    /* Output shapes from input shapes; returns number of outputs or a
     * negative status (with a message naming the layer). */
    int (*infer)(sn_layer *l, const sn_shape *in, int n_in, sn_shape *out,
                 int max_out);
    /* Registers weights (may be NULL). */
    sn_status (*build)(sn_layer *l, sn_build *b, const sn_shape *in,
                       int n_in);
    sn_status (*forward)(sn_call *c);
    /* Adds dLoss/dinput into c->in[i]->grad (when not NULL) and weight
     * gradients into sn_call_weight_grad (when wanted). */
    sn_status (*backward)(sn_call *c);
    /* Releases the layer's private state (may be NULL). */
    void (*destroy)(sn_layer *l);
} sn_layer_ops;

struct sn_layer {
    const sn_layer_ops *ops;
    sn_mem mem;
    char *name;           /* NULL until named or applied                  */
    bool trainable;
    sn_model *owner;      /* NULL until applied                           */
    int node;             /* index of its node in the owner               */
    int first_weight;     /* index of its first weight in the model       */
    int n_weights;
    void *priv;           /* the layer type's own configuration           */
};

/* Allocates a layer with priv_size bytes of zeroed private state. */
sn_layer *sn_layer_create(const sn_layer_ops *ops, size_t priv_size);
/* The layer's name for messages: its own once named, else its stem. */
const char *sn_layer_label(const sn_layer *l);

/* --------------------------------------------------------- layer helpers */

/* Fails with SN_ERR_SHAPE unless in has the given rank (message names the
 * layer). */
sn_status sn_expect_rank(const sn_layer *l, const sn_shape *in, int rank);
sn_status sn_expect_float(const sn_layer *l, const sn_shape *in);

#endif /* SN_INTERNAL_H */

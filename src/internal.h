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

/* --------------------------------------------------------------- numbers */

/* Numbers in text files (numbers.c): one grammar, [+-] digits [. digits]
 * [(e|E) [+-] digits] or [+-] . digits [...]; no blanks, hex, nan or inf.
 * Length of the number at s[0 .. len) (0 if none starts there). */
size_t sn_number_shape(const char *s, size_t len);
/* s[0 .. len) must be exactly one number and be followed by a byte that
 * cannot continue it (NUL, blank, delimiter).  1 on success, 0 if it is not
 * a number, -1 if out of range; independent of the host's locale. */
int sn_number_parse(const char *s, size_t len, double *v);
int sn_number_parse_f(const char *s, size_t len, float *v);
/* Switches the calling thread to the C locale for number conversions
 * (strtod, printf %g); returns what to pass to sn_c_locale_leave. */
#include <locale.h>
locale_t sn_c_locale_enter(void);
void sn_c_locale_leave(locale_t saved);

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

/* Or'ed into an initialiser: after filling, set the second quarter of
 * the columns to one (Keras LSTM unit_forget_bias, gate order i,f,c,o). */
enum { SN_INIT_FORGET_ONES = 0x100 };

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

/* Public out-buffers of dimensions come with a capacity (dims_cap).  The
 * check accepts dims == NULL only with dims_cap == 0 (a rank query) and
 * records a message naming who otherwise; the copy writes the first
 * min(rank, dims_cap) entries of src. */
sn_status sn_dims_out_check(const int *dims, int dims_cap, const char *who);
void sn_dims_out_copy(int *dims, int dims_cap, const int *src, int rank);

/* ------------------------------------------------------------ fast math */

/* In-place, vectorised, accurate to a few ulp (kernels/vecmath.h), at the
 * vector width of the instruction-set path in use (kernels/cpu.h). */
void sn_vec_exp(float *x, size_t n);
void sn_vec_sigmoid(float *x, size_t n);
void sn_vec_tanh(float *x, size_t n);

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
/* Whether a backward pass may follow this forward (the model's training
 * workspace): if not, layers can skip keeping what backward needs. */
bool sn_call_can_backward(const sn_call *c);
/* Whether weight gradients should be computed (layer trainable). */
bool sn_call_wants_weight_grad(const sn_call *c);
/* Per-node scratch memory kept from forward to backward, at least bytes
 * large; contents survive between forward and backward of one pass, and a
 * request for the same or fewer bytes returns the same buffer with its
 * contents kept. */
void *sn_call_scratch(sn_call *c, size_t bytes);
/* The model's thread pool for splitting this call's work (NULL: run on
 * the calling thread only). */
typedef struct sn_pool sn_pool;
sn_pool *sn_call_pool(const sn_call *c);
/* A writable mask buffer [batch, time] for output k. */
uint8_t *sn_call_out_mask(sn_call *c, int k, int time);

/* Registers a weight during build; returns its index within the layer or a
 * negative status.  dims has rank entries; fan_in/fan_out feed the
 * initialiser (Keras compute_fans). */
typedef struct sn_build sn_build;
int sn_build_weight(sn_build *b, const char *name, int rank, const int *dims,
                    sn_initializer init, int fan_in, int fan_out);

/* ---------------------------------------------------------- byte streams */

/* Little-endian serialisation for the model file (bytes.c).  Both streams
 * have sticky errors: after the first failure every further call does
 * nothing (reads return 0 / NULL) and status keeps the first error, so a
 * caller writes or reads a whole record and checks status once. */
typedef struct sn_writer {
    sn_mem mem;
    uint8_t *data;
    size_t len, cap;
    sn_status status;     /* SN_OK or the first error (SN_ERR_NOMEM)       */
} sn_writer;

void sn_writer_init(sn_writer *w, const sn_mem *mem);
/* Frees the buffer; the writer can be initialised again. */
void sn_writer_free(sn_writer *w);
void sn_write_bytes(sn_writer *w, const void *data, size_t n);
void sn_write_u8(sn_writer *w, uint8_t v);
void sn_write_u32(sn_writer *w, uint32_t v);
void sn_write_u64(sn_writer *w, uint64_t v);
void sn_write_i32(sn_writer *w, int32_t v);
void sn_write_i64(sn_writer *w, int64_t v);
void sn_write_f32(sn_writer *w, float v);   /* IEEE-754 bits             */
void sn_write_f64(sn_writer *w, double v);
/* u32 byte length, then the bytes (no NUL); NULL writes length 0. */
void sn_write_str(sn_writer *w, const char *s);
void sn_write_f32s(sn_writer *w, const float *v, size_t n);
/* Patches 4 / 8 bytes already written at offset (for lengths and CRCs
 * known only later); fails the writer if they are not all written. */
void sn_writer_patch_u32(sn_writer *w, size_t offset, uint32_t v);
void sn_writer_patch_u64(sn_writer *w, size_t offset, uint64_t v);

typedef struct sn_reader {
    const uint8_t *data;
    size_t len, pos;
    sn_status status;     /* SN_OK or the first error                      */
} sn_reader;

void sn_reader_init(sn_reader *r, const void *data, size_t len);
size_t sn_reader_remaining(const sn_reader *r);
/* Fails the reader (if not failed yet) with status and a message; returns
 * the reader's status.  Load code uses it for invalid values. */
sn_status sn_reader_fail(sn_reader *r, sn_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Copies n bytes to out (zeros on failure). */
void sn_read_bytes(sn_reader *r, void *out, size_t n);
/* A pointer to the next n bytes, consumed, or NULL if fewer are left. */
const uint8_t *sn_read_view(sn_reader *r, size_t n);
uint8_t sn_read_u8(sn_reader *r);
uint32_t sn_read_u32(sn_reader *r);
uint64_t sn_read_u64(sn_reader *r);
int32_t sn_read_i32(sn_reader *r);
int64_t sn_read_i64(sn_reader *r);
float sn_read_f32(sn_reader *r);
double sn_read_f64(sn_reader *r);
/* An i32 that must lie in [lo, hi]; otherwise fails with SN_ERR_FORMAT
 * naming what and returns lo. */
int sn_read_int(sn_reader *r, int lo, int hi, const char *what);
/* A string written by sn_write_str, NUL-terminated, allocated with mem;
 * refuses (SN_ERR_FORMAT) a length above max_len or past the end, and an
 * embedded NUL.  NULL on failure.  The caller frees it with mem. */
char *sn_read_str(sn_reader *r, const sn_mem *mem, size_t max_len);
void sn_read_f32s(sn_reader *r, float *out, size_t n);

/* CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, as zlib and PNG).
 * sn_crc32_update continues a running CRC: start from 0. */
uint32_t sn_crc32_update(uint32_t crc, const void *data, size_t n);
uint32_t sn_crc32(const void *data, size_t n);

/* ----------------------------------------------------------------- files */

/* Writes len bytes to path atomically (temporary file beside it, fsync,
 * rename); errors are SN_ERR_IO messages starting with who. */
sn_status sn_file_write_atomic(const sn_mem *mem, const char *path,
                               const void *data, size_t len, const char *who);
/* A file written in pieces, atomically: sn_atomic_begin creates the
 * temporary file <path>SN_TEMP_SUFFIX (after refusing a target that is
 * not a regular file), sn_atomic_write appends, and either
 * sn_atomic_commit (fsync, rename, sync of the directory) or
 * sn_atomic_abort (removes the temporary file) ends it; after a failed
 * begin or commit nothing is left to end. */
#define SN_TEMP_SUFFIX ".sntmp-XXXXXX"
typedef struct sn_atomic_file {
    const sn_mem *mem;
    const char *path, *who;
    char *tmp;
    int fd, dir_fd;
} sn_atomic_file;
sn_status sn_atomic_begin(sn_atomic_file *a, const sn_mem *mem,
                          const char *path, const char *who);
sn_status sn_atomic_write(sn_atomic_file *a, const void *data, size_t len);
sn_status sn_atomic_commit(sn_atomic_file *a);
void sn_atomic_abort(sn_atomic_file *a);
/* Opens path for reading without blocking (a FIFO does not wait for a
 * writer) and refuses anything but a regular file (SN_ERR_IO naming what
 * it is); on success *fd is a blocking descriptor the caller closes. */
sn_status sn_file_open_regular(const char *path, const char *who, int *fd);
/* The text of errno value err in buf (thread-safe strerror_r). */
const char *sn_errno_text(int err, char *buf, size_t cap);
/* Reads a whole regular file of at most max_bytes into *data (allocated
 * with mem, freed by the caller). */
sn_status sn_file_read_all(const sn_mem *mem, const char *path,
                           uint64_t max_bytes, uint8_t **data, size_t *len,
                           const char *who);

/* Buffers handed to the caller (freed with sn_free) carry the allocator
 * in a header in front of the bytes: a serialiser starts its writer with
 * sn_user_buffer_begin and ends with sn_user_buffer_finish. */
enum { SN_USER_BUFFER_HEADER = 32 };
void sn_user_buffer_begin(sn_writer *w);
void sn_user_buffer_finish(sn_writer *w, void **data, size_t *len);

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
    /* Writes the constructor arguments (not name, trainable or weights,
     * which the model saves) so that load_config can rebuild the layer. */
    void (*save_config)(const sn_layer *l, sn_writer *w);
    /* Creates a fresh, unapplied layer from what save_config wrote;
     * validates every value (the bytes may be corrupt): NULL on failure
     * with the reader failed or sn_fail called. */
    sn_layer *(*load_config)(sn_reader *r);
} sn_layer_ops;

/* The built-in layer types by Keras class name, for loading (NULL if
 * unknown).  layer_registry.c lists them. */
const sn_layer_ops *sn_builtin_layer_ops(const char *type);

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

/*
 * seqnet.h - the public interface of libseqnet, an embeddable C library for
 * recurrent neural networks.
 *
 * This header is the whole published API: if a function, type or constant is
 * not declared here, it is not part of the contract and may change.
 *
 * Conventions
 * -----------
 * - Every exported name starts with sn_ (functions, types) or SN_ (macros).
 * - Fallible functions return sn_status (SN_OK == 0, errors < 0) or a pointer
 *   that is NULL on failure.  Functions that return a tensor id (an int >= 0)
 *   return a negative sn_status on failure.  After any failure,
 *   sn_last_error() holds a message that says what was wrong.
 * - The library never aborts, exits or prints on bad input.  Printing happens
 *   only into a FILE * that the caller hands in (sn_model_summary).
 * - Data crosses the ABI as plain row-major float32 or int32 buffers, batch
 *   first: [batch, features] or [batch, time, features].
 * - Option structs carry their own size in their first field.  Initialise them
 *   with the matching SN_*_OPTS_INIT macro (Keras defaults) and change fields
 *   by name; a binary built against an older, shorter struct keeps working.
 *   Passing NULL for an options pointer means "all defaults".
 *
 * Ownership
 * ---------
 * Written beside each declaration.  In short: a layer handed to sn_apply,
 * sn_apply_n or sn_model_add belongs to the model from then on, even when the
 * call fails; sn_model_free frees everything the model owns; freeing NULL is a
 * no-op; strings returned by the library are owned by the library.
 *
 * Thread safety
 * -------------
 * libseqnet has no mutable global state.  sn_last_error() and the allocator
 * set by sn_set_allocator() are per thread.  Distinct handles may be used
 * from distinct threads freely.  Building, training (sn_model_forward,
 * sn_model_backward, weight writes) and sn_model_free on one model must come
 * from one thread at a time.  Once a model is built (sn_model_build),
 * sn_model_predict() does not modify it and may run on that model from
 * several threads at once, each call using its own workspace.
 */
#ifndef SEQNET_H
#define SEQNET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Export macro                                                              */
/* ------------------------------------------------------------------------ */
#if defined(SN_BUILDING_LIBRARY) && defined(__GNUC__)
#define SN_API __attribute__((visibility("default")))
#else
#define SN_API
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                   */
/* ------------------------------------------------------------------------ */
#define SN_VERSION_MAJOR 0
#define SN_VERSION_MINOR 1
#define SN_VERSION_PATCH 0
#define SN_VERSION_NUMBER \
    (SN_VERSION_MAJOR * 10000 + SN_VERSION_MINOR * 100 + SN_VERSION_PATCH)
#define SN_VERSION_STRING "0.1.0"

/* The version of the library actually linked, as "MAJOR.MINOR.PATCH".
 * Compare with SN_VERSION_STRING to catch a header/library mismatch.
 * Returns a static string owned by the library. */
SN_API const char *sn_version(void);

/* The same as a number, MAJOR*10000 + MINOR*100 + PATCH. */
SN_API int sn_version_number(void);

/* ------------------------------------------------------------------------ */
/* Status codes and errors                                                   */
/* ------------------------------------------------------------------------ */
/* Values are pinned and only ever appended to. */
typedef enum sn_status {
    SN_OK = 0,
    SN_ERR_INVALID_ARG = -1,  /* NULL pointer or value out of range        */
    SN_ERR_SHAPE = -2,        /* tensor shapes do not fit together          */
    SN_ERR_NOMEM = -3,        /* the allocator returned NULL                */
    SN_ERR_IO = -4,           /* a file could not be read or written        */
    SN_ERR_FORMAT = -5,       /* corrupt or malformed input data or file    */
    SN_ERR_VERSION = -6,      /* file written by a newer format version     */
    SN_ERR_STATE = -7,        /* call not valid in the object's state       */
    SN_ERR_NOT_FOUND = -8,    /* no such name, index or entry               */
    SN_ERR_NUMERIC = -9,      /* NaN or infinity met                        */
    SN_ERR_UNSUPPORTED = -10  /* valid request this build cannot do         */
} sn_status;

/* A short constant name for a status ("invalid argument").  Unknown values
 * give "unknown status".  Never NULL; owned by the library. */
SN_API const char *sn_strerror(sn_status status);

/* The message of the most recent failure in the calling thread, e.g.
 * "sn_dense: units must be > 0, got 0".  Empty string if none.  Owned by
 * the library; overwritten by the next failing call in the same thread. */
SN_API const char *sn_last_error(void);

/* Clears the calling thread's last error message. */
SN_API void sn_clear_error(void);

/* ------------------------------------------------------------------------ */
/* Memory                                                                    */
/* ------------------------------------------------------------------------ */
/* A caller-supplied allocator.  alloc must return memory aligned for any
 * type (as malloc does) or NULL; free must accept NULL. */
typedef struct sn_allocator {
    void *(*alloc)(void *user, size_t bytes);
    void (*free)(void *user, void *ptr);
    void *user;
} sn_allocator;

/* Sets the allocator the calling thread uses for objects it creates from now
 * on; NULL restores malloc/free.  Each object remembers the allocator it was
 * created with and releases its memory through it, whichever thread frees
 * it.  The allocator must outlive every object created with it.  This is
 * also the hook for out-of-memory fault-injection tests. */
SN_API sn_status sn_set_allocator(const sn_allocator *allocator);

/* ------------------------------------------------------------------------ */
/* Enumerations                                                              */
/* ------------------------------------------------------------------------ */
typedef enum sn_dtype { SN_FLOAT32 = 0, SN_INT32 = 1 } sn_dtype;

/* Activation functions; softmax acts over the last axis. */
typedef enum sn_activation {
    SN_LINEAR = 0,
    SN_RELU = 1,
    SN_TANH = 2,
    SN_SIGMOID = 3,
    SN_SOFTMAX = 4
} sn_activation;

/* Weight initialisers with Keras semantics (see docs/LAYERS.md).
 * SN_INIT_DEFAULT means "the Keras default of that argument". */
typedef enum sn_initializer {
    SN_INIT_DEFAULT = 0,
    SN_INIT_ZEROS = 1,
    SN_INIT_ONES = 2,
    SN_INIT_GLOROT_UNIFORM = 3, /* U(+-sqrt(6/(fan_in+fan_out)))            */
    SN_INIT_GLOROT_NORMAL = 4,  /* truncated N, std sqrt(2/(fan_in+fan_out)) */
    SN_INIT_HE_UNIFORM = 5,     /* U(+-sqrt(6/fan_in))                       */
    SN_INIT_HE_NORMAL = 6,      /* truncated N, std sqrt(2/fan_in)           */
    SN_INIT_LECUN_UNIFORM = 7,  /* U(+-sqrt(3/fan_in))                       */
    SN_INIT_LECUN_NORMAL = 8,   /* truncated N, std sqrt(1/fan_in)           */
    SN_INIT_ORTHOGONAL = 9,     /* orthogonal rows or columns, gain 1        */
    SN_INIT_RANDOM_UNIFORM = 10,/* Keras "uniform": U(-0.05, 0.05)           */
    SN_INIT_RANDOM_NORMAL = 11  /* Keras "normal": N(0, 0.05)                */
} sn_initializer;

/* Fills out[rows*cols] as initialiser init would fill a [rows, cols] weight
 * (fan_in = rows, fan_out = cols), using a generator seeded with seed.
 * Deterministic for a given seed.  SN_INIT_DEFAULT is rejected. */
SN_API sn_status sn_initializer_fill(sn_initializer init, uint64_t seed,
                                     int rows, int cols, float *out);

/* Largest per-sample rank of a tensor ([time, features] is rank 2). */
#define SN_MAX_RANK 3

/* ------------------------------------------------------------------------ */
/* Layers                                                                    */
/* ------------------------------------------------------------------------ */
typedef struct sn_layer sn_layer_t;

/* Dense: y = activation(x . kernel + bias), kernel [in, units].  On a
 * [time, features] input it applies to the last axis at every step. */
typedef struct sn_dense_opts {
    size_t size;                        /* sizeof(sn_dense_opts)          */
    int use_bias;                       /* default 1                      */
    sn_initializer kernel_initializer;  /* default glorot_uniform         */
    sn_initializer bias_initializer;    /* default zeros                  */
} sn_dense_opts;
#define SN_DENSE_OPTS_INIT \
    { sizeof(sn_dense_opts), 1, SN_INIT_GLOROT_UNIFORM, SN_INIT_ZEROS }

/* Returns a new layer owned by the caller until applied, or NULL. */
SN_API sn_layer_t *sn_dense(int units, sn_activation activation,
                            const sn_dense_opts *opts);

/* Embedding: int32 ids [time] -> vectors [time, output_dim].  input_dim is
 * the largest id + 1.  With mask_zero, id 0 marks padding: the layer emits a
 * mask that downstream layers honour. */
typedef struct sn_embedding_opts {
    size_t size;                            /* sizeof(sn_embedding_opts)   */
    int mask_zero;                          /* default 0                   */
    sn_initializer embeddings_initializer;  /* default uniform(-.05, .05)  */
} sn_embedding_opts;
#define SN_EMBEDDING_OPTS_INIT \
    { sizeof(sn_embedding_opts), 0, SN_INIT_RANDOM_UNIFORM }

/* Returns a new layer owned by the caller until applied, or NULL. */
SN_API sn_layer_t *sn_embedding(int input_dim, int output_dim,
                                const sn_embedding_opts *opts);

/* Dropout: inverted dropout, active only in training.  Each element is kept
 * with probability 1 - rate and scaled by 1/(1 - rate).  0 <= rate < 1.
 * Masks come from the model's seeded generator. */
SN_API sn_layer_t *sn_dropout(float rate);

/* Activation as a layer of its own (Keras Activation). */
SN_API sn_layer_t *sn_activation_layer(sn_activation activation);

/* Add: element-wise sum of two or more inputs of one shape. */
SN_API sn_layer_t *sn_add(void);

/* Concatenate along axis: -1 (the last, default in Keras) or a per-sample
 * axis numbered as in Keras, 1 .. rank (axis 0 is the batch). */
SN_API sn_layer_t *sn_concatenate(int axis);

/* GlobalAveragePooling1D / GlobalMaxPooling1D: [time, features] ->
 * [features].  Both honour a mask: padded steps are left out of the mean and
 * of the maximum (a fully padded sequence gives zeros). */
SN_API sn_layer_t *sn_global_average_pooling1d(void);
SN_API sn_layer_t *sn_global_max_pooling1d(void);

/* Names the layer (it then names its weights "<name>/kernel", ...).  Must
 * be unique in a model; default names follow Keras ("dense", "dense_1"). */
SN_API sn_status sn_layer_set_name(sn_layer_t *layer, const char *name);

/* A frozen layer (trainable = 0) still computes input gradients but its
 * weights get none and optimisers leave them alone. */
SN_API sn_status sn_layer_set_trainable(sn_layer_t *layer, int trainable);

/* The layer's name and Keras type name ("Dense"); owned by the layer. */
SN_API const char *sn_layer_name(const sn_layer_t *layer);
SN_API const char *sn_layer_type(const sn_layer_t *layer);

/* Frees a layer that was never applied to a model.  A layer that belongs to
 * a model is left alone (and an error is recorded); NULL is a no-op. */
SN_API void sn_layer_free(sn_layer_t *layer);

/* ------------------------------------------------------------------------ */
/* Models                                                                    */
/* ------------------------------------------------------------------------ */
typedef struct sn_model sn_model_t;

typedef struct sn_model_opts {
    size_t size;       /* sizeof(sn_model_opts)                              */
    uint64_t seed;     /* seeds initialisation, dropout and shuffling; 0 ok  */
    const char *name;  /* shown by sn_model_summary; NULL = "model"; copied  */
} sn_model_opts;
#define SN_MODEL_OPTS_INIT { sizeof(sn_model_opts), 0, NULL }

/* Creates an empty model; the caller owns it and frees it with
 * sn_model_free.  NULL opts = defaults.  Returns NULL on failure. */
SN_API sn_model_t *sn_model_new(const sn_model_opts *opts);

/* Frees the model with every layer, weight and buffer it owns.  NULL ok. */
SN_API void sn_model_free(sn_model_t *model);

/* Inputs.  Each returns the new tensor's id (>= 0) or a negative status.
 * timesteps > 0 gives a sequence input [timesteps, features]; timesteps ==
 * SN_ANY_TIME (-1) a sequence input whose length is given at each call;
 * timesteps == SN_NO_TIME (0) a flat input [features]. */
#define SN_NO_TIME 0
#define SN_ANY_TIME (-1)
SN_API int sn_input(sn_model_t *model, int timesteps, int features);
/* int32 token ids [timesteps] (for Embedding); timesteps > 0 or ANY_TIME. */
SN_API int sn_input_tokens(sn_model_t *model, int timesteps);

/* Applies layer to tensor input and returns the id of its (first) output,
 * or a negative status.  The model takes ownership of layer in every case,
 * so chains such as sn_apply(m, sn_dense(..), sn_apply(m, ..)) never leak:
 * a negative input is passed through unchanged and the layer is freed. */
SN_API int sn_apply(sn_model_t *model, sn_layer_t *layer, int input);

/* Applies layer to n_inputs tensors (Add, Concatenate, attention...).
 * Writes up to max_outputs output ids and returns how many outputs the layer
 * has, or a negative status.  Takes ownership of layer in every case. */
SN_API int sn_apply_n(sn_model_t *model, sn_layer_t *layer,
                      const int *inputs, int n_inputs,
                      int *outputs, int max_outputs);

/* Sequential building: applies layer to the most recently created tensor.
 * Takes ownership of layer in every case. */
SN_API sn_status sn_model_add(sn_model_t *model, sn_layer_t *layer);

/* Declares the model's outputs (default: the last tensor created). */
SN_API sn_status sn_model_set_outputs(sn_model_t *model, const int *outputs,
                                      int n_outputs);

/* Freezes the graph, allocates the weights and initialises them from the
 * model seed.  Called implicitly by the first call that needs it; call it
 * yourself before sharing the model between threads.  After it, no layer
 * may be added. */
SN_API sn_status sn_model_build(sn_model_t *model);

/* Writes a Keras-style summary table (layer, output shape, parameter count,
 * connections, totals) to out.  Builds the model if needed. */
SN_API sn_status sn_model_summary(sn_model_t *model, FILE *out);

/* Counts. */
SN_API int sn_model_num_inputs(const sn_model_t *model);
SN_API int sn_model_num_outputs(const sn_model_t *model);
SN_API int sn_model_num_layers(const sn_model_t *model);
/* Total scalar parameters; *trainable (if not NULL) gets the trainable
 * share.  The model must be built (0 otherwise). */
SN_API size_t sn_model_count_params(const sn_model_t *model,
                                    size_t *trainable);

/* The i-th layer in creation order (inputs included), owned by the model,
 * or NULL.  sn_model_find_layer looks up a layer by name. */
SN_API sn_layer_t *sn_model_layer(const sn_model_t *model, int index);
SN_API sn_layer_t *sn_model_find_layer(const sn_model_t *model,
                                       const char *name);

/* Per-sample shape of tensor id: writes rank dims to dims[SN_MAX_RANK]
 * (-1 for a length given at call time) and returns the rank, or a negative
 * status.  *dtype may be NULL. */
SN_API int sn_model_tensor_shape(const sn_model_t *model, int tensor,
                                 int *dims, sn_dtype *dtype);
/* Tensor ids of the k-th input / output. */
SN_API int sn_model_input_id(const sn_model_t *model, int k);
SN_API int sn_model_output_id(const sn_model_t *model, int k);

/* ------------------------------------------------------------------------ */
/* Running a model                                                           */
/* ------------------------------------------------------------------------ */
/* Forward pass on a batch, keeping what backward needs.  inputs[k] points
 * to the k-th input's data (float * or int32_t * per its dtype),
 * row-major [batch, ...].  timesteps[k] is the length of the k-th input when
 * it was declared SN_ANY_TIME (otherwise ignored); timesteps may be NULL if
 * no input needs it.  training != 0 turns dropout on.  Results stay valid
 * until the next forward on this model. */
SN_API sn_status sn_model_forward(sn_model_t *model, int batch,
                                  const void *const *inputs,
                                  const int *timesteps, int training);

/* The k-th output of the last sn_model_forward, owned by the model.  If
 * dims is not NULL it receives the full shape, batch first
 * (SN_MAX_RANK + 1 ints), and *rank (if not NULL) its length.  NULL on
 * error (no forward yet, k out of range). */
SN_API const float *sn_model_output(const sn_model_t *model, int k,
                                   int *dims, int *rank);

/* Backward pass through the last forward.  output_grads[k] is dLoss/dy for
 * output k, shaped like that output; NULL entries count as zero.  Weight
 * gradients are ADDED to what they hold (call sn_model_zero_grad between
 * steps); frozen layers get none. */
SN_API sn_status sn_model_backward(sn_model_t *model,
                                   const float *const *output_grads);

/* dLoss/dinput for the k-th input after sn_model_backward, owned by the
 * model, shaped like that input; NULL for int32 inputs or before backward. */
SN_API const float *sn_model_input_grad(const sn_model_t *model, int k);

/* Sets every weight gradient to zero. */
SN_API sn_status sn_model_zero_grad(sn_model_t *model);

/* Inference into caller buffers: outputs[k] must hold the k-th output for
 * this batch.  Does not modify a built model, so it may run concurrently
 * with other sn_model_predict calls on it (see Thread safety). */
SN_API sn_status sn_model_predict(sn_model_t *model, int batch,
                                  const void *const *inputs,
                                  const int *timesteps,
                                  float *const *outputs);

/* ------------------------------------------------------------------------ */
/* Weights                                                                   */
/* ------------------------------------------------------------------------ */
/* The model keeps all weights in one array and their gradients in another;
 * these functions view them tensor by tensor.  The model must be built. */

/* Number of weight tensors (e.g. 2 for one Dense layer with bias). */
SN_API int sn_model_num_weights(const sn_model_t *model);

/* Describes weight tensor i: name ("dense/kernel", owned by the model),
 * shape (dims[SN_MAX_RANK], returned rank) and trainable flag.  Any output
 * pointer may be NULL.  Returns the rank or a negative status. */
SN_API int sn_model_weight_info(const sn_model_t *model, int i,
                                const char **name, int *dims,
                                int *trainable);

/* Index of the weight tensor with this name, or SN_ERR_NOT_FOUND. */
SN_API int sn_model_find_weight(const sn_model_t *model, const char *name);

/* Writable views of weight tensor i and of its gradient, owned by the
 * model; *count (if not NULL) gets the number of floats.  NULL on error. */
SN_API float *sn_model_weight_data(sn_model_t *model, int i, size_t *count);
SN_API float *sn_model_weight_grad(sn_model_t *model, int i, size_t *count);

#ifdef __cplusplus
}
#endif

#endif /* SEQNET_H */

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
/* Marks the exported functions: default visibility when the library itself
 * is built (SN_BUILDING_LIBRARY), empty for callers. */
#if defined(SN_BUILDING_LIBRARY) && defined(__GNUC__)
#define SN_API __attribute__((visibility("default")))
#else
#define SN_API
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                   */
/* ------------------------------------------------------------------------ */
#define SN_VERSION_MAJOR 1  /* bumped by incompatible ABI changes (SONAME) */
#define SN_VERSION_MINOR 0  /* bumped when functions are added            */
#define SN_VERSION_PATCH 0  /* bumped by fixes that change no declaration */
/* The header's version as one number, MAJOR*10000 + MINOR*100 + PATCH. */
#define SN_VERSION_NUMBER \
    (SN_VERSION_MAJOR * 10000 + SN_VERSION_MINOR * 100 + SN_VERSION_PATCH)
/* The header's version as "MAJOR.MINOR.PATCH". */
#define SN_VERSION_STRING "1.0.0"

/* The version of the library actually linked, as "MAJOR.MINOR.PATCH".
 * Compare with SN_VERSION_STRING to catch a header/library mismatch.
 * Returns a static string owned by the library. */
SN_API const char *sn_version(void);

/* The same as a number, MAJOR*10000 + MINOR*100 + PATCH. */
SN_API int sn_version_number(void);

/* The instruction-set path of the library's kernels in this process:
 * "avx512" (x86-64-v4), "avx2" (x86-64-v3: AVX2 + FMA), "neon" (aarch64:
 * the recurrent products through the CBLAS, whose ARM kernels use NEON or
 * SVE, the element-wise kernels vectorised with NEON) or "generic" (the
 * library's portable kernels: baseline x86-64, any other CPU, or aarch64
 * with SN_CPU=generic).  The best path the CPU and OS support, capped by
 * the environment variable SN_CPU = avx512 | avx2 | neon | generic when
 * set (a value the CPU cannot run, or an unknown one, gives the best it
 * can).  Chosen once, at the first call that needs a kernel,
 * and fixed for the life of the process.  Results agree between paths to
 * float rounding.  Never NULL; owned by the library. */
SN_API const char *sn_cpu_isa(void);

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
 * give "unknown status".  Never NULL; owned by the library.  Takes an int
 * so that a negative tensor id or any status converts without a cast, in C
 * and in C++. */
SN_API const char *sn_strerror(int status);

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
 * type (as malloc does) or NULL; free must accept NULL.  Start from
 * SN_ALLOCATOR_INIT: size lets later versions append fields (a realloc,
 * an aligned alloc) and still accept this layout. */
typedef struct sn_allocator {
    size_t size;                              /* sizeof(sn_allocator)      */
    void *(*alloc)(void *user, size_t bytes); /* NULL when out of memory   */
    void (*free)(void *user, void *ptr);      /* ptr from alloc, or NULL   */
    void *user;                               /* passed to both            */
} sn_allocator;
#define SN_ALLOCATOR_INIT { sizeof(sn_allocator), NULL, NULL, NULL }

/* Sets the allocator the calling thread uses for objects it creates from now
 * on; NULL restores malloc/free.  Each object remembers the allocator it was
 * created with and releases its memory through it, whichever thread frees
 * it.  The allocator must outlive every object created with it.  This is
 * also the hook for out-of-memory fault-injection tests. */
SN_API sn_status sn_set_allocator(const sn_allocator *allocator);

/* ------------------------------------------------------------------------ */
/* Enumerations                                                              */
/* ------------------------------------------------------------------------ */
/* Element type of a tensor: float (float32) or int32_t (token ids). */
typedef enum sn_dtype { SN_FLOAT32 = 0, SN_INT32 = 1 } sn_dtype;

/* Activation functions; softmax acts over the last axis.  Values are
 * pinned and only appended to.  From SN_GELU on (docs/LAYERS.md has the
 * equations), as keras.activations with their default arguments:
 *   gelu        exact erf form, 0.5 x (1 + erf(x / sqrt 2))  (approximate=False)
 *   elu         x > 0 ? x : e^x - 1                           (alpha 1)
 *   selu        scale * (x > 0 ? x : alpha (e^x - 1)), scale 1.0507009873554805,
 *               alpha 1.6732632423543772
 *   leaky_relu  x > 0 ? x : 0.2 x     (the activation's negative_slope 0.2;
 *               the Keras LeakyReLU LAYER defaults to 0.3: use sn_leaky_relu)
 *   swish/silu  x sigmoid(x)          (one function, two Keras names)
 *   softplus    log(1 + e^x)
 * Dense, Conv1D and the Activation layer take every value; the recurrent
 * layers take linear, relu, tanh and sigmoid. */
typedef enum sn_activation {
    SN_LINEAR = 0,
    SN_RELU = 1,
    SN_TANH = 2,
    SN_SIGMOID = 3,
    SN_SOFTMAX = 4,
    SN_GELU = 5,
    SN_ELU = 6,
    SN_SELU = 7,
    SN_LEAKY_RELU = 8,
    SN_SWISH = 9,
    SN_SILU = 9,       /* the same function as SN_SWISH (Keras alias)     */
    SN_SOFTPLUS = 10
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
/* A layer (opaque).  Owned by the caller until handed to a model. */
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

/* Average: element-wise mean of two or more inputs of one shape (Keras
 * Average; e.g. the probabilities of several models in one).  Masks are
 * AND-ed, as Add. */
SN_API sn_layer_t *sn_average(void);

/* Concatenate along axis: -1 (the last, default in Keras) or a per-sample
 * axis numbered as in Keras, 1 .. rank (axis 0 is the batch). */
SN_API sn_layer_t *sn_concatenate(int axis);

/* GlobalAveragePooling1D / GlobalMaxPooling1D: [time, features] ->
 * [features].  Both honour a mask: padded steps are left out of the mean and
 * of the maximum (a fully padded sequence gives zeros). */
SN_API sn_layer_t *sn_global_average_pooling1d(void);
SN_API sn_layer_t *sn_global_max_pooling1d(void);

/* ---- Reshaping, merging and wrapper layers (issue 15 item 6) ----------
 * Each returns a new layer owned by the caller until applied, or NULL
 * (sn_last_error says why).  Per-sample shapes and axes as in Keras
 * (axis 0 is the batch); docs/LAYERS.md has the equations. */

/* Flatten: any per-sample shape of known size -> [product].  A mask is
 * dropped (as Keras). */
SN_API sn_layer_t *sn_flatten(void);

/* Reshape: per-sample shape -> target_shape[0 .. rank) (rank 1 ..
 * SN_MAX_RANK); one entry may be -1 (inferred from the size).  The sizes
 * must agree; a mask is dropped. */
SN_API sn_layer_t *sn_reshape(const int *target_shape, int rank);

/* RepeatVector: [features] -> [n, features], the input repeated n times. */
SN_API sn_layer_t *sn_repeat_vector(int n);

/* Multiply: element-wise product of two or more inputs of one shape;
 * masks are AND-ed (as Add). */
SN_API sn_layer_t *sn_multiply(void);

/* Dot(axes=(axis_a, axis_b), normalize): per-sample dot products of two
 * inputs of rank 1 or 2 along axis_a of the first and axis_b of the second
 * (1 .. rank, or -1 for the last); the output holds the remaining axes of
 * the first, then of the second ([1] when none remain).  With normalize,
 * each input is first L2-normalised along its dot axis (x / sqrt(max(sum
 * x^2, 1e-12))), which gives cosine similarities. */
SN_API sn_layer_t *sn_dot(int axis_a, int axis_b, int normalize);

/* SpatialDropout1D: on [time, channels], in training, drops whole channels
 * (the same ones at every step) with probability rate and scales the kept
 * ones by 1/(1 - rate); identity in inference.  0 <= rate < 1. */
SN_API sn_layer_t *sn_spatial_dropout1d(float rate);

/* LeakyReLU as a layer: y = x > 0 ? x : negative_slope * x, with
 * negative_slope >= 0 (Keras' layer default is 0.3; the activation
 * SN_LEAKY_RELU uses the function's default 0.2). */
SN_API sn_layer_t *sn_leaky_relu(float negative_slope);

/* TimeDistributed(layer): applies layer to every step of a [time, ...]
 * input (each step is one sample for it), with one set of weights, named
 * "<name>/kernel", ... after the wrapper.  The layer must be an unapplied
 * built-in single-input, single-output layer (Dense, Conv1D, an RNN on a
 * rank-3 input, Dropout, ...; not a custom layer, whose file form the
 * wrapper cannot name).  Takes ownership of layer in every case.  The
 * input's mask passes through. */
SN_API sn_layer_t *sn_time_distributed(sn_layer_t *layer);

/* Weight regularizers and constraints (Keras kernel_regularizer,
 * bias_regularizer, kernel_constraint, ...), for one weight of a layer.
 * The regularizer adds l1 * sum|w| + l2 * sum w^2 to the loss of
 * sn_model_train_on_batch, sn_model_fit and sn_model_evaluate (Keras
 * L1L2; L1(l) is {l, 0}, L2(l) is {0, l}) and its gradient
 * l1 sign(w) + 2 l2 w to the weight's.  The constraints apply after every
 * optimizer step (sn_optimizer_step): max_norm (Keras MaxNorm(max_value,
 * axis=0): each slice w[:, j...] along the first axis is scaled by
 * min(norm, max_norm) / (1e-7 + norm)), then non_neg (w = max(w, 0)).
 * Only trainable layers are regularized and constrained. */
typedef struct sn_weight_rules {
    size_t size;       /* sizeof(sn_weight_rules)                           */
    float l1;          /* >= 0; default 0                                   */
    float l2;          /* >= 0; default 0                                   */
    float max_norm;    /* > 0 turns MaxNorm on; default 0 (off)             */
    int non_neg;       /* 1 turns NonNeg on; default 0                      */
} sn_weight_rules;
#define SN_WEIGHT_RULES_INIT { sizeof(sn_weight_rules), 0.0f, 0.0f, 0.0f, 0 }

/* Sets the rules of the layer's weight called weight ("kernel", "bias",
 * "recurrent_kernel", "embeddings", "forward_lstm/kernel" in a
 * Bidirectional: the weight's name without the layer's).  NULL rules
 * removes them; setting again replaces them.  May be called before or
 * after the layer is applied; a name the built layer lacks fails the next
 * training step with SN_ERR_NOT_FOUND.  Saved in the model file. */
SN_API sn_status sn_layer_set_weight_rules(sn_layer_t *layer,
                                           const char *weight,
                                           const sn_weight_rules *rules);

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
/* A model: a graph of layers with its weights (opaque). */
typedef struct sn_model sn_model_t;

/* Options of sn_model_new. */
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
 * a negative input is passed through unchanged and the layer is freed.
 * When the apply fails the model keeps the layer, unapplied, and frees it
 * with itself (with a NULL model the layer is freed at once), so the
 * handle stays valid for sn_layer_name and for a later apply, which then
 * fails cleanly.  Applying a layer this model already holds again shares
 * it (same weights, gradients summed over the uses; docs/SHARED_LAYERS.md):
 * the inputs must have the shapes of its first application, and a stateful
 * recurrent layer cannot be shared; a refused reuse leaves the layer in the
 * model. */
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

/* Threads a model's calls are split over (the recurrent time loop and its
 * large matrix products).  Each model owns a pool of threads - 1 workers,
 * started by sn_model_build; idle workers sleep.  threads = 0 selects the
 * default: the environment variable SN_NUM_THREADS when it is a whole
 * number >= 1, else the CPUs this process may run on (its affinity mask,
 * sched_getaffinity), at most 8; larger values are clamped to 8.  Calls
 * it on a built model restart the pool: not while another thread is
 * using the model.  A pool that cannot be started leaves the model on the
 * calling thread (slower, same results).  Two threads predicting on one
 * model at once share the pool: the second runs its call on its own
 * thread alone. */
SN_API sn_status sn_model_set_num_threads(sn_model_t *model, int threads);
/* The thread count the model uses (or will use once built); 0 for NULL. */
SN_API int sn_model_num_threads(const sn_model_t *model);

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
 * or NULL.  sn_model_find_layer looks up a layer by name.  A shared layer
 * counts once, at its first application. */
SN_API sn_layer_t *sn_model_layer(const sn_model_t *model, int index);
SN_API sn_layer_t *sn_model_find_layer(const sn_model_t *model,
                                       const char *name);

/* Per-sample shape of tensor id: returns its rank (or a negative status)
 * and writes the first min(rank, dims_cap) dimensions to dims (-1 for a
 * length given at call time), so a caller can size dims from the return
 * value; dims may be NULL when dims_cap is 0.  *dtype may be NULL. */
SN_API int sn_model_tensor_shape(const sn_model_t *model, int tensor,
                                 int *dims, int dims_cap, sn_dtype *dtype);
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

/* The k-th output of the last sn_model_forward, owned by the model.  Its
 * full shape, batch first, has rank (SN_MAX_RANK + 1 at most) entries:
 * *rank (if not NULL) receives that length and dims its first
 * min(rank, dims_cap) entries (dims may be NULL when dims_cap is 0).  NULL
 * on error (model not built, no forward yet, k out of range, dims NULL
 * with dims_cap > 0). */
SN_API const float *sn_model_output(const sn_model_t *model, int k,
                                   int *dims, int dims_cap, int *rank);

/* Backward pass through the last forward.  output_grads[k] is dLoss/dy for
 * output k, shaped like that output; NULL entries count as zero.  Weight
 * gradients are ADDED to what they hold (call sn_model_zero_grad between
 * steps); frozen layers get none. */
SN_API sn_status sn_model_backward(sn_model_t *model,
                                   const float *const *output_grads);

/* dLoss/dinput for the k-th input after sn_model_backward, owned by the
 * model, shaped like that input; NULL for int32 inputs, before backward,
 * or after sn_model_train_on_batch / sn_model_fit (a training step does
 * not compute the input gradients: nothing could read them in time). */
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
 * shape (the first min(rank, dims_cap) dimensions to dims) and trainable
 * flag.  name and trainable may be NULL, dims when dims_cap is 0.  Returns
 * the rank or a negative status. */
SN_API int sn_model_weight_info(const sn_model_t *model, int i,
                                const char **name, int *dims, int dims_cap,
                                int *trainable);

/* Index of the weight tensor with this name, or SN_ERR_NOT_FOUND. */
SN_API int sn_model_find_weight(const sn_model_t *model, const char *name);
/* Index in its model of the layer's weight called name relative to the
 * layer ("kernel", "forward_lstm/bias": the names sn_rnn_weight_info
 * gives in Keras layout), or a negative status.  The model must be built. */
SN_API int sn_layer_find_weight(const sn_layer_t *layer, const char *name);

/* Writable views of weight tensor i and of its gradient, owned by the
 * model; *count (if not NULL) gets the number of floats.  NULL on error. */
SN_API float *sn_model_weight_data(sn_model_t *model, int i, size_t *count);
SN_API float *sn_model_weight_grad(sn_model_t *model, int i, size_t *count);


/* ------------------------------------------------------------------------ */
/* Recurrent layers                                                          */
/* ------------------------------------------------------------------------ */
/* SimpleRNN, LSTM and GRU with Keras' arguments, defaults and equations
 * (docs/RECURRENT.md).  Input [time, features] float; output [units] (last
 * step) or [time, units] with return_sequences.  With return_state the
 * layer has more outputs: h_T, and c_T for an LSTM (sn_apply_n).  Extra
 * inputs after the sequence are initial states (h0, and c0 for an LSTM),
 * each [units].  A mask from upstream (Embedding mask_zero) makes padded
 * steps carry the state unchanged and receive no gradient. */
typedef struct sn_rnn_opts {
    size_t size;                           /* sizeof(sn_rnn_opts)          */
    sn_activation activation;              /* tanh                         */
    sn_activation recurrent_activation;    /* sigmoid (LSTM, GRU gates)    */
    int use_bias;                          /* 1                            */
    sn_initializer kernel_initializer;     /* glorot_uniform               */
    sn_initializer recurrent_initializer;  /* orthogonal                   */
    sn_initializer bias_initializer;       /* zeros                        */
    int unit_forget_bias;                  /* LSTM: 1                      */
    int reset_after;                       /* GRU: 1 (Keras 2+/cuDNN form) */
    float dropout;                         /* on inputs, 0                 */
    float recurrent_dropout;               /* on the recurrent state, 0    */
    int return_sequences;                  /* 0                            */
    int return_state;                      /* 0                            */
    int go_backwards;                      /* 0                            */
    int stateful;                          /* 0                            */
    int truncate_steps;                    /* truncated BPTT: k > 0; 0 = full */
    /* What masked steps output with return_sequences (an sn_padded_output,
     * below): SN_PADDED_CARRY_LAST repeats the last real output (Keras,
     * the default), SN_PADDED_ZEROS outputs zeros (PyTorch
     * pack_padded_sequence).  Bidirectional always outputs zeros. */
    int padded_output;                     /* SN_PADDED_CARRY_LAST         */
} sn_rnn_opts;
#define SN_RNN_OPTS_INIT \
    { sizeof(sn_rnn_opts), SN_TANH, SN_SIGMOID, 1, SN_INIT_GLOROT_UNIFORM, \
      SN_INIT_ORTHOGONAL, SN_INIT_ZEROS, 1, 1, 0.0f, 0.0f, 0, 0, 0, 0, 0, 0 }

/* sn_rnn_opts.padded_output: what a masked (padded) step outputs. */
typedef enum sn_padded_output {
    SN_PADDED_CARRY_LAST = 0,  /* the last real step's output (Keras)     */
    SN_PADDED_ZEROS = 1        /* zeros (PyTorch packed sequences)        */
} sn_padded_output;

/* Each returns a new layer owned by the caller until applied, or NULL. */
SN_API sn_layer_t *sn_simple_rnn(int units, const sn_rnn_opts *opts);
SN_API sn_layer_t *sn_lstm(int units, const sn_rnn_opts *opts);
SN_API sn_layer_t *sn_gru(int units, const sn_rnn_opts *opts);

/* How sn_bidirectional combines the forward and backward outputs. */
typedef enum sn_merge_mode {
    SN_MERGE_CONCAT = 0,
    SN_MERGE_SUM = 1,
    SN_MERGE_MUL = 2,
    SN_MERGE_AVE = 3,
    SN_MERGE_NONE = 4     /* two outputs: forward, backward               */
} sn_merge_mode;

/* Bidirectional(layer, merge_mode): runs a copy of the recurrent layer
 * over the reversed sequence (fresh weights) and merges.  Takes ownership
 * of layer in every case (it must be an unapplied SimpleRNN, LSTM or GRU).
 * Outputs: the merged output (or forward, backward with SN_MERGE_NONE),
 * then with return_state the forward states and the backward states.
 * Extra inputs: initial states, forward ones first.  Weights are named
 * "<name>/forward_<cell>/kernel", "<name>/backward_<cell>/kernel", ... */
SN_API sn_layer_t *sn_bidirectional(sn_layer_t *layer, sn_merge_mode mode);

/* Zeroes the carried state of a stateful layer (every layer of the
 * model for sn_model_reset_states).  Stateful layers carry the final
 * state of batch row i into row i of the next forward pass (training or
 * predict), which needs the same batch size every call; a model with a
 * stateful layer is therefore not safe for concurrent predict. */
SN_API sn_status sn_layer_reset_states(sn_layer_t *layer);
SN_API sn_status sn_model_reset_states(sn_model_t *model);

/* Introspection for teaching, from the model's last sn_model_forward /
 * sn_model_backward (not from sn_model_predict). */
typedef enum sn_step_grad {
    SN_STEP_GRAD_HIDDEN = 0,  /* ||dLoss/dh_t||, t in input order          */
    SN_STEP_GRAD_INPUT = 1    /* ||dLoss/dx_t||                            */
} sn_step_grad;

/* Writes the L2 norm over batch and features of the gradient at every
 * time step to norms[0 .. T-1] (T <= max_steps) and returns T, or a
 * negative status.  For a Bidirectional layer, the sum over both
 * directions.  The norms include the gradient of every later step, so
 * they show how far gradient travels back in time.  SN_STEP_GRAD_INPUT
 * needs a backward that computed dLoss/dx: sn_model_backward always does;
 * a training step (sn_model_train_on_batch, sn_model_fit) skips it for a
 * layer fed straight by a model input, and the call then fails with
 * SN_ERR_STATE. */
SN_API int sn_rnn_step_grad_norms(const sn_layer_t *layer, sn_step_grad which,
                                  float *norms, int max_steps);

/* Copies the gate activations of the last forward pass into out, laid out
 * [batch, time, gates * units] in Keras gate order (LSTM i,f,c,o with c
 * the candidate act(z); GRU z,r,h; SimpleRNN h), and writes the first
 * min(3, dims_cap) of {batch, time, gates * units} to dims (NULL when
 * dims_cap is 0); for a Bidirectional layer, the forward direction's.
 * Returns the number of floats, or a negative status (SN_ERR_INVALID_ARG
 * if max_floats is too small). */
SN_API long sn_rnn_gate_activations(const sn_layer_t *layer, float *out,
                                    size_t max_floats, int *dims,
                                    int dims_cap);

/* Recurrent weights in Keras or PyTorch layout (docs/RECURRENT.md).
 * Keras: "kernel" [in, G*units], "recurrent_kernel" [units, G*units],
 * "bias" [G*units] ([2, 3*units] for a GRU with reset_after).
 * PyTorch: "weight_ih_l0" [G*units, in], "weight_hh_l0" [G*units, units],
 * "bias_ih_l0", "bias_hh_l0" [G*units], gate orders i,f,g,o (LSTM) and
 * r,z,n (GRU, reset_after only), "_reverse" suffixed names for the backward
 * half of a Bidirectional layer (Keras: "forward_lstm/kernel", ...).  The
 * layer must belong to a built model. */
typedef enum sn_weight_layout {
    SN_LAYOUT_KERAS = 0,
    SN_LAYOUT_PYTORCH = 1
} sn_weight_layout;

/* Number of weight tensors the layer has in that layout. */
SN_API int sn_rnn_num_weights(const sn_layer_t *layer,
                              sn_weight_layout layout);
/* Name (owned by the library) and shape (the first min(rank, dims_cap)
 * dimensions; dims may be NULL when dims_cap is 0) of the i-th; returns
 * the rank or a negative status. */
SN_API int sn_rnn_weight_info(const sn_layer_t *layer,
                              sn_weight_layout layout, int i,
                              const char **name, int *dims, int dims_cap);
/* Reads or writes one weight tensor; count must equal its size. */
SN_API sn_status sn_rnn_get_weight(const sn_layer_t *layer,
                                   sn_weight_layout layout, const char *name,
                                   float *out, size_t count);
SN_API sn_status sn_rnn_set_weight(sn_layer_t *layer, sn_weight_layout layout,
                                   const char *name, const float *data,
                                   size_t count);

/* --- PyTorch import and export (docs/RECURRENT.md, "PyTorch") ----------- */
/* An LSTM or SimpleRNN has one bias for PyTorch's two: it computes with
 * bias_ih + bias_hh and remembers the pair last set, so that export gives
 * it back exactly while the summed bias is unchanged (after training, a
 * Keras-layout write or a load: bias_ih = the bias, bias_hh = 0).  Setting
 * bias_ih keeps the remembered bias_hh and vice versa, so the setters
 * work in any order and repeating one changes nothing. */

/* Reads dLoss/d(tensor name) of the last backward pass in either layout
 * (PyTorch: transposed and gate-permuted like the weight; an LSTM's or
 * SimpleRNN's bias_ih and bias_hh both get dLoss/dbias, as in PyTorch).
 * count must equal the tensor's size. */
SN_API sn_status sn_rnn_get_grad(const sn_layer_t *layer,
                                 sn_weight_layout layout, const char *name,
                                 float *out, size_t count);

/* A whole PyTorch nn.RNN / nn.LSTM / nn.GRU module at once.  A module
 * with num_layers = L maps to L recurrent layers of the model: first and
 * the next L - 1 SimpleRNN, LSTM, GRU or Bidirectional layers after it in
 * model order (other layers in between, e.g. Dropout, are skipped); names
 * "weight_ih_l<k>", "weight_hh_l<k>", "bias_ih_l<k>", "bias_hh_l<k>" (and
 * "..._reverse" for a Bidirectional layer) belong to the k-th of them.
 * Names are the module's own, without a parent module's "rnn." prefix. */
SN_API int sn_rnn_torch_num_tensors(const sn_layer_t *first, int num_layers);
/* Writes the name of tensor i (PyTorch state-dict order: layer by layer,
 * forward before _reverse, weight_ih, weight_hh, bias_ih, bias_hh) into
 * name[name_cap] and up to dims_cap dimensions into dims; returns the
 * rank or a negative status (a name longer than name_cap - 1 fails).
 * name and dims may be NULL when their capacity is 0. */
SN_API int sn_rnn_torch_tensor_info(const sn_layer_t *first, int num_layers,
                                    int i, char *name, size_t name_cap,
                                    int *dims, int dims_cap);
/* Imports a state dict given as n entries (names[e], data[e] holding
 * counts[e] floats) in any order.  It must hold every tensor of the
 * stack exactly once; names, sizes and values (finite) are all checked
 * before anything is written, so a failed import changes nothing. */
SN_API sn_status sn_rnn_torch_import(sn_layer_t *first, int num_layers,
                                     const char *const *names,
                                     const float *const *data,
                                     const size_t *counts, int n);
/* What sn_rnn_torch_export reads. */
typedef enum sn_weight_view {
    SN_VIEW_VALUES = 0,   /* the weights                                   */
    SN_VIEW_GRADS = 1     /* their gradients from the last backward pass   */
} sn_weight_view;
/* Exports the n named tensors (any subset, any order) of the stack into
 * out[e] (counts[e] floats each, which must equal the tensor's size).  On
 * a failure (a bad name or size) the entries before it are written. */
SN_API sn_status sn_rnn_torch_export(const sn_layer_t *first, int num_layers,
                                     sn_weight_view view,
                                     const char *const *names,
                                     float *const *out, const size_t *counts,
                                     int n);

/* ------------------------------------------------------------------------ */
/* Convolution and pooling over time                                        */
/* ------------------------------------------------------------------------ */
/* Padding of the time axis (Keras "valid", "same", "causal").  With T input
 * steps, stride s, dilation d and window k:
 *   VALID   no padding:            T_out = floor((T - d(k-1) - 1)/s) + 1,
 *           which must be >= 1 (else SN_ERR_SHAPE at sn_apply, or at the
 *           forward pass for SN_ANY_TIME inputs);
 *   SAME    zeros around the input: T_out = ceil(T/s); the padding
 *           max((T_out-1)s + d(k-1) + 1 - T, 0) is split as in TensorFlow,
 *           the smaller half (rounded down) on the left;
 *   CAUSAL  d(k-1) zeros on the left only, so output step t sees input
 *           steps <= t*s; T_out = ceil(T/s).  Conv1D only. */
typedef enum sn_padding {
    SN_PAD_VALID = 0,
    SN_PAD_SAME = 1,
    SN_PAD_CAUSAL = 2
} sn_padding;

/* Conv1D options (Keras defaults). */
typedef struct sn_conv1d_opts {
    size_t size;                        /* sizeof(sn_conv1d_opts)         */
    int strides;                        /* default 1                      */
    sn_padding padding;                 /* default valid                  */
    int dilation_rate;                  /* default 1                      */
    sn_activation activation;           /* default linear                 */
    int use_bias;                       /* default 1                      */
    sn_initializer kernel_initializer;  /* default glorot_uniform         */
    sn_initializer bias_initializer;    /* default zeros                  */
} sn_conv1d_opts;
#define SN_CONV1D_OPTS_INIT \
    { sizeof(sn_conv1d_opts), 1, SN_PAD_VALID, 1, SN_LINEAR, 1, \
      SN_INIT_GLOROT_UNIFORM, SN_INIT_ZEROS }

/* Conv1D: float [time, in] -> [T_out, filters] (channels last), a
 * cross-correlation (the kernel is not flipped), as Keras:
 *   y[t, f] = act(bias[f] + sum_{j, c} xpad[t*s + j*d, c] kernel[j, c, f]).
 * Weights "kernel" [kernel_size, in, filters] and "bias" [filters]; glorot
 * fans are fan_in = kernel_size*in, fan_out = kernel_size*filters.  filters,
 * kernel_size, strides and dilation_rate must be >= 1 and strides > 1 may
 * not be combined with dilation_rate > 1.  The time axis may be SN_ANY_TIME.
 * Masks: the layer does not use a mask (padded steps are convolved like any
 * other); when T_out == T (same or causal padding with stride 1) it passes
 * the input mask on unchanged, otherwise its output has no mask.
 * Returns a new layer owned by the caller until applied, or NULL (with a
 * message) on bad arguments. */
SN_API sn_layer_t *sn_conv1d(int filters, int kernel_size,
                             const sn_conv1d_opts *opts);

/* MaxPooling1D / AveragePooling1D: float [time, features] ->
 * [T_out, features], a window of pool_size steps moved by strides steps
 * (strides 0 means pool_size, the Keras default of None).  padding is
 * SN_PAD_VALID or SN_PAD_SAME (SN_PAD_CAUSAL is refused); T_out follows the
 * table above with d = 1, k = pool_size.  With SN_PAD_SAME the padded
 * positions take no part: the maximum is over the real steps of the window
 * and the average divides by their number, as Keras does.  Ties in the
 * maximum send the gradient to the first (earliest) step.  No weights.
 * Masks are passed on only when T_out == T, as for Conv1D.  Returns a new
 * layer owned by the caller until applied, or NULL on bad arguments. */
SN_API sn_layer_t *sn_max_pooling1d(int pool_size, int strides,
                                    sn_padding padding);
SN_API sn_layer_t *sn_average_pooling1d(int pool_size, int strides,
                                        sn_padding padding);

/* ------------------------------------------------------------------------ */
/* Attention and layer normalisation                                        */
/* ------------------------------------------------------------------------ */
/* How a query q is scored against each key k_j. */
typedef enum sn_attention_score {
    SN_SCORE_ADDITIVE = 0,   /* Bahdanau: v . tanh(k_j W1 + q W2 + b)        */
    SN_SCORE_DOT = 1,        /* Luong dot: q . k_j (needs Dq == Dk)          */
    SN_SCORE_GENERAL = 2,    /* Luong general: q W k_j^T, W [Dq, Dk]         */
    SN_SCORE_SCALED_DOT = 3  /* Transformer: q . k_j / sqrt(Dk) (Dq == Dk)   */
} sn_attention_score;

/* Options of sn_attention. */
typedef struct sn_attention_opts {
    size_t size;                        /* sizeof(sn_attention_opts)       */
    int units;             /* additive: width of W1/W2/v; 0 = key width Dk */
    int use_bias;          /* additive with a query input: bias [units]; 1 */
    int return_attention_scores; /* second output: the weights; 0          */
    int use_causal_mask;   /* sequence query, Tq == Tk: mask keys j > i; 0 */
    float dropout;         /* on the weights, training only; 0 <= p < 1    */
    sn_initializer kernel_initializer; /* every non-bias weight; glorot_u  */
} sn_attention_opts;
#define SN_ATTENTION_OPTS_INIT \
    { sizeof(sn_attention_opts), 0, 1, 0, 0, 0.0f, SN_INIT_GLOROT_UNIFORM }

/*
 * Attention over a sequence of keys/values, applied with sn_apply (one
 * input) or sn_apply_n (two or three):
 *
 *   (values)               attention pooling with a learned query
 *   (query, values)        keys = values
 *   (query, values, keys)
 *
 * values [Tk, Dv], keys [Tk, Dk] (same Tk).  The query is either a
 * sequence [Tq, Dq] (output [Tq, Dv], weights [Tq, Tk]) or one vector [Dq],
 * e.g. an LSTM's h_T from return_state (output [Dv], weights [Tk]).
 * Pooling behaves as a vector query: output [Dv], weights [Tk].
 *
 * Scores s_ij, then a_i = softmax_j(s_ij) over the real keys, then
 * y_i = sum_j a_ij v_j:
 *   additive     v . tanh(k_j W1 + q_i W2 + bias)   W1 [Dk, units],
 *                W2 [Dq, units], v [units], bias [units] (use_bias)
 *   dot          q_i . k_j                          (Dq == Dk)
 *   general      q_i W k_j^T                        W [Dq, Dk]
 *   scaled dot   q_i . k_j / sqrt(Dk)               (Dq == Dk)
 * Weights are named "<layer>/W1", "/W2", "/v", "/bias", "/W", "/query".
 *
 * Pooling (one input) learns the query as weight "query":
 *   additive     query [units]: s_j = v . tanh(k_j W1 + query); no W2 and
 *                no bias (query already is the constant term)
 *   dot, general query [Dk]: s_j = query . k_j (general's W would only
 *                multiply a learned vector by a learned matrix, so it is
 *                left out: general pooling is dot pooling)
 *   scaled dot   query [Dk]: s_j = query . k_j / sqrt(Dk)
 *
 * Masks: a key j that the values' (or the keys') mask marks as padding
 * gets weight exactly 0; a query whose every key is masked gets all-zero
 * weights and a zero output.  With use_causal_mask (sequence query and
 * Tq == Tk only, SN_ERR_SHAPE otherwise) key j > i is masked for query i.
 * For a sequence query, padded query steps get zero weights and a zero
 * context (Keras zeroes the context only) and the query's mask is the
 * mask of both outputs; vector queries give outputs without a mask.
 *
 * Dropout (training only, inverted) drops single weights a_ij after the
 * softmax, as Keras does; the weights output is the weights after dropout.
 *
 * Outputs: the context, then with return_attention_scores the weights.
 * Keras differences: Keras' Attention has no 1/sqrt(d) (that is
 * SN_SCORE_DOT) and an optional learned scalar scale instead of
 * SN_SCORE_SCALED_DOT's fixed one; Keras' AdditiveAttention has no W1/W2
 * projections (a learned vector scale instead of v).  The layer type is
 * "AdditiveAttention" for SN_SCORE_ADDITIVE and "Attention" otherwise.
 *
 * Returns a new layer owned by the caller until applied, or NULL (unknown
 * score, units < 0, dropout outside [0, 1), unknown initializer).
 */
SN_API sn_layer_t *sn_attention(sn_attention_score score,
                                const sn_attention_opts *opts);

/* ------------------------------------------------------------------------ */
/* Layer normalisation                                                       */
/* ------------------------------------------------------------------------ */
/* Options of sn_layer_normalization. */
typedef struct sn_layer_norm_opts {
    size_t size;     /* sizeof(sn_layer_norm_opts)                          */
    float epsilon;   /* added to the variance; 1e-3 (Keras; PyTorch 1e-5)   */
    int center;      /* add beta [features] (init zeros); 1                 */
    int scale;       /* multiply by gamma [features] (init ones); 1         */
} sn_layer_norm_opts;
#define SN_LAYER_NORM_OPTS_INIT { sizeof(sn_layer_norm_opts), 1e-3f, 1, 1 }

/* LayerNormalization over the last axis, as Keras:
 * y = (x - mean) / sqrt(var + epsilon) * gamma + beta with the biased
 * variance, per sample and time step.  Weights "gamma" then "beta".  The
 * input's mask passes through (padded steps are normalised too).
 * Returns a new layer owned by the caller until applied, or NULL
 * (epsilon not finite and > 0). */
SN_API sn_layer_t *sn_layer_normalization(const sn_layer_norm_opts *opts);

/* ------------------------------------------------------------------------ */
/* Multi-head attention                                                     */
/* ------------------------------------------------------------------------ */
/* MultiHeadAttention (Keras): per-head projections of query, key and value,
 * scaled dot-product attention over the key steps, output projection.
 *   Q = query . Wq + bq   Wq [Dq, heads, key_dim],   bq [heads, key_dim]
 *   K = key   . Wk + bk   Wk [Dk, heads, key_dim],   bk [heads, key_dim]
 *   V = value . Wv + bv   Wv [Dv, heads, value_dim], bv [heads, value_dim]
 *   P_h = softmax(Q_h K_h^T / sqrt(key_dim))   over the key steps, masked
 *   y = concat_h(dropout(P_h) V_h) . Wo + bo     Wo [heads, value_dim, out]
 * Weights "<name>/query/kernel", "query/bias", "key/...", "value/...",
 * "attention_output/kernel", "attention_output/bias" (biases only with
 * use_bias).
 * Inputs (sn_apply_n): (query, value) or (query, value, key), each
 * [time, features] float; key defaults to value, and key and value must
 * have the same number of steps.  Self-attention: pass one tensor twice.
 * Outputs: [Tq, out_dim] (out_dim = the query's features unless
 * output_shape), then with return_attention_scores the softmax weights
 * before dropout, [heads, Tq, Tk] per sample.
 * Masks: a padded key step (mask of value or key) gets weight exactly 0; a
 * padded query step, or one with no step it may attend to, gets all-zero
 * weights (its output is the output bias).  The output carries the query's
 * mask.  use_causal_mask lets query step i attend to key steps j <= i. */
typedef struct sn_mha_opts {
    size_t size;                        /* sizeof(sn_mha_opts)            */
    int value_dim;                      /* 0 = key_dim                    */
    float dropout;                      /* on the weights, [0, 1); 0      */
    int use_bias;                       /* 1                              */
    int output_shape;                   /* output features; 0 = query's   */
    int use_causal_mask;                /* 0                              */
    int return_attention_scores;        /* 0: one output                  */
    sn_initializer kernel_initializer;  /* glorot_uniform                 */
    sn_initializer bias_initializer;    /* zeros                          */
} sn_mha_opts;
#define SN_MHA_OPTS_INIT \
    { sizeof(sn_mha_opts), 0, 0.0f, 1, 0, 0, 0, SN_INIT_GLOROT_UNIFORM, \
      SN_INIT_ZEROS }

/* Returns a new layer owned by the caller until applied, or NULL
 * (num_heads and key_dim must be > 0, dropout in [0, 1)). */
SN_API sn_layer_t *sn_multi_head_attention(int num_heads, int key_dim,
                                           const sn_mha_opts *opts);

/* ------------------------------------------------------------------------ */
/* Custom layers                                                             */
/* ------------------------------------------------------------------------ */
/* A custom layer is a table of callbacks (sn_custom_layer_ops) plus a state
 * pointer the user owns the meaning of.  It is built, run, trained, saved
 * and loaded exactly like a built-in layer: the built-in layers implement
 * the same table internally.
 *
 * Shapes are per sample (no batch axis), as everywhere in seqnet.h.
 * Callbacks return SN_OK or a negative sn_status; they may record a message
 * with sn_custom_fail (otherwise the library writes a generic one).  Every
 * message is prefixed with the layer's name and type.
 *
 * Threads: infer, forward and backward receive the state as const: several
 * sn_model_predict calls may run them at once on one model (each with its
 * own sn_custom_call_t, outputs and scratch memory), so they must not
 * modify the state or anything it points to.  build, save_config,
 * load_config and destroy run on the one thread that builds, saves, loads
 * or frees the model. */

/* A per-sample shape.  dims[i] is -1 where the length is given only at
 * call time (SN_ANY_TIME); entries at and past rank are ignored.
 *
 * size is sizeof(sn_tensor_shape) of the header the code was compiled
 * with, so that a later version can append fields (more dimensions):
 * - shapes the library hands to callbacks (infer's in and out arrays,
 *   build's in array) come with size set, in the layout of the header the
 *   layer was compiled against (identified by its ops->size), so callbacks
 *   index the arrays as plain C arrays; infer must not change out[k].size;
 * - a shape the caller passes to be filled (sn_custom_input_shape,
 *   sn_custom_output_shape) must have size set: start from
 *   SN_TENSOR_SHAPE_INIT. */
typedef struct sn_tensor_shape {
    size_t size;               /* sizeof(sn_tensor_shape)                */
    sn_dtype dtype;            /* element type                           */
    int rank;                  /* 1 .. SN_MAX_RANK                       */
    int dims[SN_MAX_RANK];     /* the first rank entries count           */
} sn_tensor_shape;
#define SN_TENSOR_SHAPE_INIT \
    { sizeof(sn_tensor_shape), SN_FLOAT32, 0, { 0 } }

/* What forward and backward see: valid only during that callback. */
typedef struct sn_custom_call sn_custom_call_t;
/* What build sees: valid only during build. */
typedef struct sn_custom_build sn_custom_build_t;
/* Where save_config writes: valid only during save_config. */
typedef struct sn_custom_writer sn_custom_writer_t;

/* The callback table.  Start from a zeroed struct and set size to
 * sizeof(sn_custom_layer_ops) (later versions append fields and accept
 * the sizes of older ones). */
typedef struct sn_custom_layer_ops {
    size_t size;              /* sizeof(sn_custom_layer_ops)              */
    /* Type name saved in model files and looked up on loading: 1-64
     * characters from [A-Za-z0-9_.], starting with a letter, and not a
     * built-in type ("Dense", ...).  A namespace such as "myapp.Bahdanau"
     * keeps it clear of built-ins added later.  Copied. */
    const char *type;
    int min_inputs;           /* 1 .. 64                                   */
    int max_inputs;           /* min_inputs .. 64                          */

    /* Required.  Writes the output shapes for input shapes in[0..n_in-1]
     * to out[0..max_out-1] and returns the number of outputs (1..max_out)
     * or a negative status.  Called when the layer is applied (lengths may
     * be -1) and before every forward pass (concrete lengths).  Outputs
     * must be SN_FLOAT32; inputs may be SN_INT32 (token ids). */
    int (*infer)(const void *state, const sn_tensor_shape *in, int n_in,
                 sn_tensor_shape *out, int max_out);

    /* Optional (NULL: no weights).  Registers the weights with
     * sn_custom_add_weight, once, when the model is built.  The input
     * shapes are those of apply time. */
    sn_status (*build)(void *state, sn_custom_build_t *b,
                       const sn_tensor_shape *in, int n_in);

    /* Required.  Computes every output element from the inputs and
     * weights (output buffers hold stale data on entry), and sets output
     * masks if the layer has any (by default outputs carry no mask). */
    sn_status (*forward)(const void *state, sn_custom_call_t *c);

    /* Optional (NULL: the layer cannot be trained through).  ADDS
     * dLoss/dinput into each non-NULL sn_custom_input_grad and, when
     * sn_custom_weight_grad is not NULL, dLoss/dweight into it; both hold
     * other contributions already.  Called once after each forward of a
     * training pass, with the same inputs, outputs and scratch. */
    sn_status (*backward)(const void *state, sn_custom_call_t *c);

    /* Optional (NULL: models holding the layer cannot be saved).  Writes
     * the layer's configuration (what load_config needs to recreate the
     * state; not the weights, which the model saves) with
     * sn_custom_write, at most 1 MiB.  Use a byte order you can read
     * back on every machine (little-endian fixed-width fields). */
    sn_status (*save_config)(const void *state, sn_custom_writer_t *w);

    /* Needed for loading (sn_registry_add refuses ops without it).  Makes
     * a new state from the len bytes save_config wrote (which may be
     * corrupt: validate them) and stores it in *state (NULL is a valid
     * state); the loaded layer then owns it.  user is the field below. */
    sn_status (*load_config)(const void *config, size_t len, void *user,
                             void **state);

    /* Optional.  Releases a state: called exactly once per state handed
     * to sn_custom_layer (or made by load_config), when the layer is freed
     * (sn_layer_free, sn_model_free) or a call that took it fails. */
    void (*destroy)(void *state);

    void *user;               /* handed to load_config; not owned        */
} sn_custom_layer_ops;

/* Creates a custom layer, owned by the caller until applied (as sn_dense).
 * ops is copied (type included); the functions and ops->user must stay
 * valid while the layer exists.  The layer takes ownership of state in
 * every case: on failure ops->destroy(state) is called before NULL is
 * returned - except when ops is NULL or ops->size is too small to read
 * destroy, where nothing can release it and the caller keeps it.  Fails
 * (NULL, message) on a NULL infer or forward, a bad type name or input
 * counts, or ops->size out of range. */
SN_API sn_layer_t *sn_custom_layer(const sn_custom_layer_ops *ops,
                                   void *state);

/* The state a custom layer was created with (or load_config made), for
 * inspecting a loaded model; NULL for other layers (with a message).  The
 * layer keeps ownership. */
SN_API void *sn_custom_layer_state(const sn_layer_t *layer);

/* Records a message for sn_last_error() (printf format) and returns status,
 * so that a callback can write `return sn_custom_fail(SN_ERR_SHAPE, ...)`.
 * The library prefixes the layer's name and type. */
SN_API sn_status sn_custom_fail(int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- build ------------------------------------------------------------- */

/* Registers the layer's next weight: name (1-200 characters, no '/'; the
 * model calls it "<layer>/<name>"), shape dims[0..rank-1] (all > 0, rank
 * 1..SN_MAX_RANK), initialiser (SN_INIT_DEFAULT: zeros for rank 1,
 * glorot_uniform otherwise) and the fans it uses (0 for Keras'
 * compute_fans of the shape).  Returns the weight's index within the layer
 * (0, 1, ... in call order; sn_custom_weight takes it) or a negative
 * status. */
SN_API int sn_custom_add_weight(sn_custom_build_t *b, const char *name,
                                int rank, const int *dims,
                                sn_initializer init, int fan_in,
                                int fan_out);

/* ---- forward and backward ----------------------------------------------- */
/* Arrays are row-major, batch first: input i is [batch, dims...] of its
 * shape.  Index arguments out of range give NULL / a negative status. */

SN_API int sn_custom_batch(const sn_custom_call_t *c);
/* Nonzero in a training pass (dropout on); the forward's flag in backward. */
SN_API int sn_custom_training(const sn_custom_call_t *c);
/* Nonzero when a backward pass may follow this forward, i.e. what backward
 * needs must be kept (in scratch memory); zero in sn_model_predict. */
SN_API int sn_custom_can_backward(const sn_custom_call_t *c);
SN_API int sn_custom_num_inputs(const sn_custom_call_t *c);
SN_API int sn_custom_num_outputs(const sn_custom_call_t *c);
/* Concrete shapes (no -1) of this call; return the rank.  shape->size
 * must be set (SN_TENSOR_SHAPE_INIT); SN_ERR_INVALID_ARG otherwise. */
SN_API int sn_custom_input_shape(const sn_custom_call_t *c, int i,
                                 sn_tensor_shape *shape);
SN_API int sn_custom_output_shape(const sn_custom_call_t *c, int k,
                                  sn_tensor_shape *shape);

/* Input i's values: floats (NULL for an int32 input) or ids (NULL for a
 * float input).  Read only. */
SN_API const float *sn_custom_input(const sn_custom_call_t *c, int i);
SN_API const int32_t *sn_custom_input_ids(const sn_custom_call_t *c, int i);
/* Input i's mask [batch, time] (1 = real step), or NULL when unmasked. */
SN_API const uint8_t *sn_custom_input_mask(const sn_custom_call_t *c, int i);

/* Output k: written by forward, read by backward. */
SN_API float *sn_custom_output(sn_custom_call_t *c, int k);
/* Forward only.  Gives output k input i's mask (NULL clears it): for
 * layers that keep the time axis. */
SN_API sn_status sn_custom_pass_mask(sn_custom_call_t *c, int k, int i);
/* Forward only.  A new mask buffer [batch, time] for output k (its shape
 * must have rank >= 2; time is dims[0]), to be filled by the layer.  NULL
 * on failure. */
SN_API uint8_t *sn_custom_output_mask(sn_custom_call_t *c, int k);

/* Backward only.  dLoss/d(output k), shaped like the output. */
SN_API const float *sn_custom_output_grad(const sn_custom_call_t *c, int k);
/* Backward only.  Where dLoss/d(input i) is ADDED; NULL when input i
 * needs no gradient (int32 ids). */
SN_API float *sn_custom_input_grad(sn_custom_call_t *c, int i);

/* The layer's weights, in sn_custom_add_weight order.  Values are read
 * only in forward and backward (the optimizer changes them). */
SN_API int sn_custom_num_weights(const sn_custom_call_t *c);
SN_API const float *sn_custom_weight(const sn_custom_call_t *c, int k);
/* Backward only.  Where dLoss/d(weight k) is ADDED; NULL when the layer is
 * frozen (sn_layer_set_trainable) or no weight gradients are wanted. */
SN_API float *sn_custom_weight_grad(sn_custom_call_t *c, int k);

/* Memory kept from forward to the backward of the same pass, at least
 * bytes large, aligned for any type, owned by the model.  Backward must
 * ask for no more bytes than forward did to find forward's contents;
 * contents are unspecified in forward.  NULL on failure (SN_ERR_NOMEM). */
SN_API void *sn_custom_scratch(sn_custom_call_t *c, size_t bytes);

/* Forward only.  A uniform number in [0, 1) from the model's seeded
 * stream for this layer and pass (dropout masks: keep them in scratch
 * for backward).  -1.0 outside forward. */
SN_API double sn_custom_uniform(sn_custom_call_t *c);

/* ---- saving ------------------------------------------------------------- */

/* Appends n bytes to the layer's config.  Returns SN_OK or the error
 * (SN_ERR_NOMEM, SN_ERR_INVALID_ARG past 1 MiB); save_config should return
 * it. */
SN_API sn_status sn_custom_write(sn_custom_writer_t *w, const void *data,
                                 size_t n);

/* ------------------------------------------------------------------------ */
/* Layer registry                                                            */
/* ------------------------------------------------------------------------ */
/* The custom layer types a load may meet, by type name.  A registry is an
 * object the caller owns (there is no global registry): create one, add
 * the types, hand it to sn_model_load_ex.  Loaded models do not refer to
 * it, so it may be freed as soon as the load returns.  Adding is not
 * thread-safe; once filled, a registry may serve concurrent loads. */
typedef struct sn_registry sn_registry_t;

/* A new, empty registry owned by the caller, or NULL. */
SN_API sn_registry_t *sn_registry_new(void);
/* Frees the registry (not the layers loaded with it).  NULL is a no-op. */
SN_API void sn_registry_free(sn_registry_t *registry);

/* Adds a custom type.  ops is copied (type included); its functions and
 * user pointer must stay valid while models loaded with it exist.  Fails
 * (SN_ERR_INVALID_ARG) on a NULL argument, the checks of sn_custom_layer,
 * a NULL load_config, a built-in type name, or a type already present. */
SN_API sn_status sn_registry_add(sn_registry_t *registry,
                                 const sn_custom_layer_ops *ops);

/* sn_model_load / sn_model_load_buffer that also know registry's types
 * (built-in types take precedence; registry may be NULL).  A layer type
 * that is neither built in nor registered gives SN_ERR_UNSUPPORTED with a
 * message naming the layer and its type.  A load_config failure gives
 * SN_ERR_FORMAT (SN_ERR_NOMEM if it said so). */
SN_API sn_status sn_model_load_ex(const char *path,
                                  const sn_registry_t *registry,
                                  sn_model_t **model);
SN_API sn_status sn_model_load_buffer_ex(const void *data, size_t len,
                                         const sn_registry_t *registry,
                                         sn_model_t **model);

/* ------------------------------------------------------------------------ */
/* Text vectorization                                                       */
/* ------------------------------------------------------------------------ */
/* Turns raw UTF-8 texts into token ids (for an Embedding) or into bag-of-
 * n-grams rows, with Keras TextVectorization semantics: standardize, split
 * on ASCII whitespace, optional bigrams, look up in a vocabulary learned by
 * adapt or set by the caller.  Id 0 is padding (token ""), id 1 is the
 * out-of-vocabulary token "[UNK]", learned tokens start at 2.
 *
 * A vectorizer is created with the calling thread's allocator.  Transforms,
 * lookups and decoding do not modify it and may run from several threads at
 * once; adapt, set_vocabulary and free need exclusive access. */
typedef struct sn_vectorizer sn_vectorizer_t;

/* What sn_vectorizer_transform and friends produce. */
typedef enum sn_output_mode {
    SN_OUTPUT_INT = 0,       /* ids [n, width] (sn_vectorizer_transform)   */
    SN_OUTPUT_MULTI_HOT = 1, /* 1 where the token occurs [n, vocab_size]    */
    SN_OUTPUT_COUNT = 2,     /* occurrences [n, vocab_size]                 */
    SN_OUTPUT_TF_IDF = 3     /* occurrences * idf [n, vocab_size]           */
} sn_output_mode;

/* Which end of a sequence padding goes to, or truncation cuts from. */
typedef enum sn_seq_side {
    SN_SIDE_POST = 0,        /* the end                                     */
    SN_SIDE_PRE = 1          /* the start                                   */
} sn_seq_side;

/* Standardization steps, or'ed together.  Every input is first made valid
 * UTF-8 (each byte that does not begin a valid sequence becomes U+FFFD),
 * whatever the flags. */
enum {
    SN_STANDARDIZE_NONE = 0,
    SN_STANDARDIZE_LOWER = 1,        /* ASCII, Latin-1, Latin Extended-A,
                                      * Greek and Cyrillic capitals          */
    SN_STANDARDIZE_PUNCTUATION = 2,  /* delete the 32 ASCII punctuation
                                      * characters ("don't" -> "dont")      */
    SN_STANDARDIZE_HTML_BREAKS = 4,  /* "<br />", "<br/>", "<br>" (any case)
                                      * -> one space, before the above      */
    SN_STANDARDIZE_DEFAULT = 7       /* all three                           */
};

/* The longest n-grams a vectorizer makes. */
#define SN_VECTORIZER_MAX_NGRAMS 5

/* Options of sn_vectorizer_new (Keras TextVectorization's arguments). */
typedef struct sn_vectorizer_opts {
    size_t size;                 /* sizeof(sn_vectorizer_opts)              */
    int max_tokens;              /* 0 = unlimited (default); else >= 2, and
                                  * counts "" and "[UNK]" as Keras does, so
                                  * adapt keeps max_tokens - 2 tokens       */
    int ngrams;                  /* 1 (default) .. SN_VECTORIZER_MAX_NGRAMS:
                                  * unigrams, then the bigrams "a b" of
                                  * adjacent tokens, then trigrams "a b c",
                                  * ... up to ngrams words (Keras' ngrams=N,
                                  * the order of tf.strings.ngrams)        */
    sn_output_mode output_mode;  /* SN_OUTPUT_INT                           */
    int output_sequence_length;  /* INT only: > 0 pads / truncates every
                                  * row to this width; 0 (default, Keras
                                  * None) pads to the longest in the batch
                                  * (see sn_vectorizer_output_width)        */
    sn_seq_side padding;         /* SN_SIDE_POST (Keras TextVectorization;
                                  * pad_sequences uses PRE)                 */
    sn_seq_side truncation;      /* SN_SIDE_POST: keep the first tokens
                                  * (Keras TextVectorization; PRE keeps the
                                  * last, as pad_sequences)                 */
    int standardize;             /* SN_STANDARDIZE_* flags, default all     */
} sn_vectorizer_opts;
#define SN_VECTORIZER_OPTS_INIT \
    { sizeof(sn_vectorizer_opts), 0, 1, SN_OUTPUT_INT, 0, SN_SIDE_POST, \
      SN_SIDE_POST, SN_STANDARDIZE_DEFAULT }

/* Creates a vectorizer with only "" and "[UNK]" in its vocabulary.  The
 * caller owns it and frees it with sn_vectorizer_free.  NULL opts =
 * defaults.  Returns NULL on invalid options (output_sequence_length set
 * with a non-INT mode is refused, as in Keras). */
SN_API sn_vectorizer_t *sn_vectorizer_new(const sn_vectorizer_opts *opts);
/* NULL is a no-op. */
SN_API void sn_vectorizer_free(sn_vectorizer_t *v);
/* Copies the options into *opts, reading opts->size as the caller's size. */
SN_API sn_status sn_vectorizer_options(const sn_vectorizer_t *v,
                                       sn_vectorizer_opts *opts);

/* Learns the vocabulary from texts[0 .. n-1] (training texts only),
 * replacing the old one: tokens by count, descending, ties broken by the
 * token's bytes in descending order (as Keras); max_tokens - 2 of them if
 * max_tokens is set.  In TF_IDF mode it also learns idf = log(1 + N / (1 +
 * df)), N the number of texts, df the number of texts holding the token;
 * "" and "[UNK]" get the mean idf of the learned tokens.  texts and every
 * entry must not be NULL.  On failure the old vocabulary stays. */
SN_API sn_status sn_vectorizer_adapt(sn_vectorizer_t *v,
                                     const char *const *texts, size_t n);
/* The same over a corpus given in parts: begin, add any number of
 * batches, finish (which installs the vocabulary).  begin discards the
 * counts of an unfinished adapt; add or finish without begin fail with
 * SN_ERR_STATE.  Until finish, transforms use the old vocabulary. */
SN_API sn_status sn_vectorizer_adapt_begin(sn_vectorizer_t *v);
SN_API sn_status sn_vectorizer_adapt_add(sn_vectorizer_t *v,
                                         const char *const *texts, size_t n);
SN_API sn_status sn_vectorizer_adapt_finish(sn_vectorizer_t *v);

/* Replaces the vocabulary with tokens[0 .. n-1] as ids 2 .. n+1 (or, if
 * tokens[0] is "" and tokens[1] is "[UNK]", as ids 0 .. n-1: the output of
 * sn_vectorizer_token round-trips).  Tokens must be non-empty, unique,
 * without "[UNK]" past position 1, and fit max_tokens; a token that could
 * never match is refused (invalid UTF-8, or whitespace other than the one
 * space between the two words of a bigram).  idf: n weights, one
 * per entry of tokens, required in TF_IDF mode and refused otherwise (as
 * Keras); without the special tokens, "" and "[UNK]" get their mean.
 * Copies everything.  On failure the old vocabulary stays. */
SN_API sn_status sn_vectorizer_set_vocabulary(sn_vectorizer_t *v,
                                              const char *const *tokens,
                                              size_t n, const float *idf);

/* Ids in use: 2 + learned tokens.  Negative status if v is NULL. */
SN_API int sn_vectorizer_vocab_size(const sn_vectorizer_t *v);
/* The token of id ("" for 0, "[UNK]" for 1), owned by v and valid until
 * its vocabulary changes; NULL (and an error) if id is out of range. */
SN_API const char *sn_vectorizer_token(const sn_vectorizer_t *v, int id);
/* The id of an exact token (not standardized): "" gives 0, an unknown
 * token 1.  Negative status if v or token is NULL. */
SN_API int sn_vectorizer_lookup(const sn_vectorizer_t *v, const char *token);
/* The idf weights [vocab_size] in TF_IDF mode, owned by v; NULL in the
 * other modes. */
SN_API const float *sn_vectorizer_idf(const sn_vectorizer_t *v);

/* The row width the next transform of texts[0 .. n-1] writes: INT mode
 * output_sequence_length, or if that is 0 the most ids any of the texts
 * gives; other modes vocab_size.  Negative status on failure. */
SN_API int sn_vectorizer_output_width(const sn_vectorizer_t *v,
                                      const char *const *texts, size_t n);
/* INT mode: writes ids [n, width] to out (width as above).  Rows longer
 * than width are truncated at the truncation side, shorter ones padded
 * with 0 at the padding side (pad_sequences semantics). */
SN_API sn_status sn_vectorizer_transform(const sn_vectorizer_t *v,
                                         const char *const *texts, size_t n,
                                         int32_t *out);
/* MULTI_HOT, COUNT, TF_IDF modes: writes [n, vocab_size] to out.  Column 0
 * (padding) is always 0; column 1 counts out-of-vocabulary n-grams. */
SN_API sn_status sn_vectorizer_transform_dense(const sn_vectorizer_t *v,
                                               const char *const *texts,
                                               size_t n, float *out);

/* Ids back to text for error analysis: the tokens of ids[0 .. len-1]
 * joined by single spaces, padding (0) skipped, written NUL-terminated to
 * buf[cap].  *needed (if not NULL) gets the length without the NUL.  If cap
 * is too small, writes the whole tokens that fit and returns
 * SN_ERR_INVALID_ARG; an id outside the vocabulary also fails. */
SN_API sn_status sn_vectorizer_decode(const sn_vectorizer_t *v,
                                      const int32_t *ids, size_t len,
                                      char *buf, size_t cap, size_t *needed);

/* Saves options, vocabulary and idf weights in their own small file
 * (docs/TEXT.md): magic, version, CRC-32.  Atomic like sn_model_save. */
SN_API sn_status sn_vectorizer_save(const sn_vectorizer_t *v,
                                    const char *path);
/* The same into a new buffer *data of *len bytes; free it with sn_free. */
SN_API sn_status sn_vectorizer_save_buffer(const sn_vectorizer_t *v,
                                           void **data, size_t *len);
/* Loads what sn_vectorizer_save wrote; *v receives a new vectorizer the
 * caller owns (NULL on failure).  Truncated, corrupt or foreign files give
 * SN_ERR_FORMAT, newer ones SN_ERR_VERSION, unreadable ones SN_ERR_IO. */
SN_API sn_status sn_vectorizer_load(const char *path, sn_vectorizer_t **v);
SN_API sn_status sn_vectorizer_load_buffer(const void *data, size_t len,
                                           sn_vectorizer_t **v);

/* Attaches a copy of v to the model (NULL removes it); the copy belongs to
 * the model, is saved with it (an optional "vocb" section, docs/FORMAT.md)
 * and comes back with sn_model_load.  v stays the caller's. */
SN_API sn_status sn_model_set_vectorizer(sn_model_t *model,
                                         const sn_vectorizer_t *v);
/* The model's vectorizer, owned by the model, or NULL if it has none. */
SN_API const sn_vectorizer_t *sn_model_vectorizer(const sn_model_t *model);

/* ------------------------------------------------------------------------ */
/* Ragged id lists and pad_sequences (Keras semantics)                      */
/* ------------------------------------------------------------------------ */
/* A list of n sequences of int32 ids of different lengths is passed around
 * flat: ids holds the sequences one after the other and offsets[0 .. n]
 * where they start, sequence i being ids[offsets[i] .. offsets[i+1]),
 * offsets[0] == 0 and offsets non-decreasing.  A caller holding its own id
 * lists builds the two arrays; the tokenizers below return them in an
 * sn_ragged_t, whose arrays can be passed on as they are. */
typedef struct sn_ragged sn_ragged_t;

/* Number of sequences (0 for NULL). */
SN_API size_t sn_ragged_count(const sn_ragged_t *r);
/* The flat ids, sn_ragged_offsets(r)[count] of them; owned by r. */
SN_API const int32_t *sn_ragged_ids(const sn_ragged_t *r);
/* The count + 1 offsets; owned by r.  NULL for NULL. */
SN_API const size_t *sn_ragged_offsets(const sn_ragged_t *r);
/* Sequence i and its length in *len; NULL (and *len 0) if i is out of
 * range. */
SN_API const int32_t *sn_ragged_row(const sn_ragged_t *r, size_t i,
                                    size_t *len);
/* Frees r; NULL is a no-op. */
SN_API void sn_ragged_free(sn_ragged_t *r);

/* Options of sn_pad_sequences (keras.utils.pad_sequences' arguments; the
 * defaults are Keras' defaults). */
typedef struct sn_pad_opts {
    size_t size;             /* sizeof(sn_pad_opts)                         */
    int maxlen;              /* row width; 0 (default, Keras None) = the
                              * longest sequence                            */
    sn_seq_side padding;     /* SN_SIDE_PRE (default): zeros before         */
    sn_seq_side truncating;  /* SN_SIDE_PRE (default): longer sequences
                              * lose their first ids, keeping the last      */
    int32_t value;           /* the padding id, default 0                   */
} sn_pad_opts;
#define SN_PAD_OPTS_INIT \
    { sizeof(sn_pad_opts), 0, SN_SIDE_PRE, SN_SIDE_PRE, 0 }

/* The width sn_pad_sequences writes: maxlen, or if it is 0 the longest
 * sequence (0 for n == 0).  Negative status on bad arguments (offsets
 * NULL, not starting at 0 or decreasing, a width above INT_MAX). */
SN_API int sn_pad_width(const size_t *offsets, size_t n,
                        const sn_pad_opts *opts);
/* Keras pad_sequences: writes out [n, width] (width = sn_pad_width), row i
 * holding sequence i: a longer one cut at the truncating side, a shorter
 * one filled with value at the padding side.  out_cap is out's capacity in
 * ids (SN_ERR_SHAPE if below n * width).  NULL opts = defaults. */
SN_API sn_status sn_pad_sequences(const int32_t *ids, const size_t *offsets,
                                  size_t n, const sn_pad_opts *opts,
                                  int32_t *out, size_t out_cap);

/* ------------------------------------------------------------------------ */
/* Keras Tokenizer                                                          */
/* ------------------------------------------------------------------------ */
/* keras.preprocessing.text.Tokenizer on the vectorizer's tokenization core
 * (standardize, split on whitespace): fit_on_texts counts words and the
 * documents holding them; word_index ranks every word by count, descending,
 * ties in order of first appearance, from 1 (0 is reserved for padding),
 * the oov_token (if any) taking index 1.  texts_to_sequences keeps the
 * words whose index is below num_words (all if num_words is 0); the others
 * become the oov_token's index, or are dropped without one.  Read only
 * after fitting: conversions may run from several threads at once. */
typedef struct sn_tokenizer sn_tokenizer_t;

/* Options of sn_tokenizer_new. */
typedef struct sn_tokenizer_opts {
    size_t size;              /* sizeof(sn_tokenizer_opts)                  */
    int num_words;            /* 0 (default, Keras None) = every word; else
                               * keep indices 1 .. num_words - 1           */
    const char *oov_token;    /* NULL (default) = none; copied             */
    int standardize;          /* SN_STANDARDIZE_* flags; default
                               * SN_STANDARDIZE_DEFAULT (Keras' filters and
                               * lower=True, see docs/TEXT.md)              */
} sn_tokenizer_opts;
#define SN_TOKENIZER_OPTS_INIT \
    { sizeof(sn_tokenizer_opts), 0, NULL, SN_STANDARDIZE_DEFAULT }

/* A tokenizer that has seen no text; NULL opts = defaults.  NULL on bad
 * options (num_words < 0, an oov_token that is empty, holds whitespace or
 * is invalid UTF-8) or no memory. */
SN_API sn_tokenizer_t *sn_tokenizer_new(const sn_tokenizer_opts *opts);
/* NULL is a no-op. */
SN_API void sn_tokenizer_free(sn_tokenizer_t *t);
/* Counts the words of texts[0 .. n-1] (Keras fit_on_texts: may be called
 * again, the counts add up) and re-ranks word_index. */
SN_API sn_status sn_tokenizer_fit(sn_tokenizer_t *t,
                                  const char *const *texts, size_t n);
/* Words in word_index, oov_token included (len(word_index)). */
SN_API int sn_tokenizer_word_count(const sn_tokenizer_t *t);
/* The word of index (1 .. sn_tokenizer_word_count), owned by t; NULL if
 * out of range. */
SN_API const char *sn_tokenizer_word(const sn_tokenizer_t *t, int index);
/* word_index[word] (exact match), or 0 if absent (or bad arguments). */
SN_API int sn_tokenizer_index(const sn_tokenizer_t *t, const char *word);
/* word_counts[word] and word_docs[word] of the word of index; the
 * oov_token has 0 unless the texts held it.  -1 if out of range. */
SN_API int64_t sn_tokenizer_counts(const sn_tokenizer_t *t, int index);
SN_API int64_t sn_tokenizer_docs(const sn_tokenizer_t *t, int index);
/* document_count: texts fitted so far. */
SN_API int64_t sn_tokenizer_document_count(const sn_tokenizer_t *t);
/* texts_to_sequences: one sequence per text into a new *out (caller's,
 * sn_ragged_free); *out is NULL on failure. */
SN_API sn_status sn_tokenizer_texts_to_sequences(const sn_tokenizer_t *t,
                                                 const char *const *texts,
                                                 size_t n,
                                                 sn_ragged_t **out);
/* sequences_to_texts for one sequence: the words of ids[0 .. len-1] joined
 * by single spaces; as Keras, indices at or above num_words and unknown
 * indices become the oov_token, or are skipped without one; 0 (padding)
 * is always skipped (Keras would write the oov_token for it),
 * NUL-terminated into buf[cap]; *needed (may be NULL) gets the length.
 * SN_ERR_INVALID_ARG if cap is too small (buf then holds what fits). */
SN_API sn_status sn_tokenizer_sequence_to_text(const sn_tokenizer_t *t,
                                               const int32_t *ids,
                                               size_t len, char *buf,
                                               size_t cap, size_t *needed);
/* Saves / loads options, words and counts (docs/TEXT.md: magic, version,
 * CRC-32), as sn_vectorizer_save / sn_vectorizer_load. */
SN_API sn_status sn_tokenizer_save_buffer(const sn_tokenizer_t *t,
                                          void **data, size_t *len);
SN_API sn_status sn_tokenizer_load_buffer(const void *data, size_t len,
                                          sn_tokenizer_t **t);
/* Attaches a copy of t to the model (NULL removes it), saved in its
 * optional "tokn" section and back with sn_model_load. */
SN_API sn_status sn_model_set_tokenizer(sn_model_t *model,
                                        const sn_tokenizer_t *t);
/* The model's tokenizer, owned by the model, or NULL. */
SN_API const sn_tokenizer_t *sn_model_tokenizer(const sn_model_t *model);

/* ------------------------------------------------------------------------ */
/* Byte-pair encoding (sub-word tokens)                                     */
/* ------------------------------------------------------------------------ */
/* A byte-level BPE tokenizer (Sennrich et al. 2016; GPT-2's byte fallback):
 * the vocabulary is 4 special tokens, the 256 single bytes, then one token
 * per learned merge, so every byte string encodes and decoding gives back
 * exactly the bytes encoded.  Texts are first cut into pieces, never
 * merged across: a run of letters (ASCII letters and every byte >= 0x80,
 * so a multi-byte UTF-8 character is never split from its word), of digits,
 * or of other non-space characters, each taking one preceding space; and
 * runs of whitespace.  Invalid UTF-8 needs no special case: its bytes
 * encode as their byte tokens (docs/TEXT.md).  Read only once trained:
 * encoding and decoding may run from several threads at once. */
typedef struct sn_bpe sn_bpe_t;

/* The special tokens' ids. */
enum {
    SN_BPE_PAD = 0,   /* padding (sn_pad_sequences' default value)         */
    SN_BPE_UNK = 1,   /* never produced by encoding; for foreign ids        */
    SN_BPE_BOS = 2,   /* begin of sequence (SN_BPE_ADD_BOS)                 */
    SN_BPE_EOS = 3,   /* end of sequence (SN_BPE_ADD_EOS)                   */
    SN_BPE_FIRST_BYTE = 4 /* byte b is token SN_BPE_FIRST_BYTE + b          */
};
/* Flags of the encoders. */
enum { SN_BPE_ADD_BOS = 1, SN_BPE_ADD_EOS = 2 };

/* Options of sn_bpe_train. */
typedef struct sn_bpe_opts {
    size_t size;          /* sizeof(sn_bpe_opts)                            */
    int vocab_size;       /* target size, specials and bytes included;
                           * default 8000, at least 260                     */
    int min_frequency;    /* a pair seen fewer times is not merged; def. 2  */
    int standardize;      /* SN_STANDARDIZE_* applied to training texts and
                           * to texts before encoding; default NONE (then
                           * decode(encode(x)) == x byte for byte)          */
} sn_bpe_opts;
#define SN_BPE_OPTS_INIT { sizeof(sn_bpe_opts), 8000, 2, SN_STANDARDIZE_NONE }

/* Learns merges from texts[0 .. n-1]: words are counted once, then the
 * most frequent adjacent pair (ties: the pair of smaller ids) is merged
 * into a new token, until vocab_size tokens or no pair is seen
 * min_frequency times.  Pair counts are updated incrementally (only the
 * words holding the merged pair are visited).  *out is the caller's
 * (sn_bpe_free); NULL on failure. */
SN_API sn_status sn_bpe_train(const char *const *texts, size_t n,
                              const sn_bpe_opts *opts, sn_bpe_t **out);
/* NULL is a no-op. */
SN_API void sn_bpe_free(sn_bpe_t *bpe);
/* Copies the training options into *opts, reading opts->size as the
 * caller's size. */
SN_API sn_status sn_bpe_options(const sn_bpe_t *bpe, sn_bpe_opts *opts);
/* Tokens in the vocabulary (4 + 256 + merges). */
SN_API int sn_bpe_vocab_size(const sn_bpe_t *bpe);
/* The bytes of token id in *len bytes, owned by bpe (not NUL-terminated
 * for the byte tokens; may be invalid UTF-8 alone); the special tokens
 * give "<pad>", "<unk>", "<s>", "</s>".  NULL if id is out of range. */
SN_API const char *sn_bpe_token(const sn_bpe_t *bpe, int id, size_t *len);
/* Merge k (0-based, in learning order): the two token ids it joined. */
SN_API sn_status sn_bpe_merge(const sn_bpe_t *bpe, int k, int *left,
                              int *right);
/* Encodes the len bytes of text (any bytes), with flags SN_BPE_ADD_*,
 * into ids[cap]; *n_ids gets the number of ids.  SN_ERR_INVALID_ARG if
 * cap is too small (nothing useful written; *n_ids holds the need). */
SN_API sn_status sn_bpe_encode(const sn_bpe_t *bpe, const char *text,
                               size_t len, int flags, int32_t *ids,
                               size_t cap, size_t *n_ids);
/* Encodes NUL-terminated texts[0 .. n-1] into a new *out (caller's). */
SN_API sn_status sn_bpe_encode_batch(const sn_bpe_t *bpe,
                                     const char *const *texts, size_t n,
                                     int flags, sn_ragged_t **out);
/* The bytes of ids[0 .. len-1] concatenated, special tokens skipped, into
 * buf[cap] and NUL-terminated; *needed (may be NULL) gets the byte count.
 * SN_ERR_INVALID_ARG for an id out of range or cap too small. */
SN_API sn_status sn_bpe_decode(const sn_bpe_t *bpe, const int32_t *ids,
                               size_t len, char *buf, size_t cap,
                               size_t *needed);
/* Saves / loads the options and merges (docs/TEXT.md: magic, version,
 * CRC-32); corrupt or truncated data gives SN_ERR_FORMAT, a newer version
 * SN_ERR_VERSION.  save_buffer's *data is freed with sn_free. */
SN_API sn_status sn_bpe_save_buffer(const sn_bpe_t *bpe, void **data,
                                    size_t *len);
SN_API sn_status sn_bpe_load_buffer(const void *data, size_t len,
                                    sn_bpe_t **bpe);
SN_API sn_status sn_bpe_save(const sn_bpe_t *bpe, const char *path);
SN_API sn_status sn_bpe_load(const char *path, sn_bpe_t **bpe);
/* Attaches a copy of bpe to the model (NULL removes it), saved in its
 * optional "bpev" section and back with sn_model_load. */
SN_API sn_status sn_model_set_bpe(sn_model_t *model, const sn_bpe_t *bpe);
/* The model's BPE tokenizer, owned by the model, or NULL. */
SN_API const sn_bpe_t *sn_model_bpe(const sn_model_t *model);

/* ------------------------------------------------------------------------ */
/* IMDB reviews and word vectors                                            */
/* ------------------------------------------------------------------------ */
/* A split of the IMDB reviews in memory: texts and labels (opaque). */
typedef struct sn_imdb sn_imdb_t;

/* Reads one split of the original aclImdb layout straight from the
 * directory: split "train" or "test" reads <dir>/<split>/neg/ (label 0) and
 * <dir>/<split>/pos/ (label 1); "unsup" reads <dir>/train/unsup/ (label -1).
 * Every entry of those folders must be a file named <id>_<rating>.txt (id a
 * decimal number, rating 0..10; names starting with '.' are skipped); its
 * whole content is the review text (UTF-8, kept byte for byte).  The
 * reviews are sorted by (label, id): negatives by id, then positives by id,
 * so the order does not depend on the file system.
 * Errors: SN_ERR_IO if a folder or file cannot be read (message names it),
 * SN_ERR_FORMAT for a file name that does not fit the pattern, a duplicate
 * id, or a NUL byte in a review (message names the file), SN_ERR_INVALID_ARG
 * for NULL arguments or an unknown split.  On success the caller owns *out
 * (free with sn_imdb_free); on failure *out is NULL. */
SN_API sn_status sn_imdb_load(const char *aclimdb_dir, const char *split,
                              sn_imdb_t **out);

/* Number of reviews (0 for NULL). */
SN_API int sn_imdb_count(const sn_imdb_t *imdb);
/* Review i's text, owned by imdb; NULL if i is out of range. */
SN_API const char *sn_imdb_text(const sn_imdb_t *imdb, int i);
/* Review i's label: 1 positive, 0 negative, -1 unlabelled (unsup);
 * SN_ERR_NOT_FOUND (-8) if i is out of range or imdb is NULL. */
SN_API int sn_imdb_label(const sn_imdb_t *imdb, int i);
/* The star rating from the file name: 1..10 (0 in unsup);
 * SN_ERR_NOT_FOUND (-8) if i is out of range. */
SN_API int sn_imdb_rating(const sn_imdb_t *imdb, int i);
/* The id from the file name (unique within its folder);
 * SN_ERR_NOT_FOUND (-8) if i is out of range. */
SN_API int sn_imdb_id(const sn_imdb_t *imdb, int i);
/* All texts in the current order, sn_imdb_count() entries, for a
 * vectorizer; owned by imdb, valid until the next sn_imdb_shuffle or
 * sn_imdb_free.  NULL for NULL. */
SN_API const char *const *sn_imdb_texts(const sn_imdb_t *imdb);
/* Reorders the reviews (texts, labels, ratings, ids together) by a
 * Fisher-Yates shuffle from a generator seeded with seed: the same seed on
 * the same data always gives the same order. */
SN_API sn_status sn_imdb_shuffle(sn_imdb_t *imdb, uint64_t seed);
/* Frees everything; NULL is a no-op. */
SN_API void sn_imdb_free(sn_imdb_t *imdb);

/* ------------------------------------------------------------------------ */
/* Pre-trained word vectors into an Embedding                                */
/* ------------------------------------------------------------------------ */
/* Options of sn_embedding_load_vectors and sn_embedding_load_vectors_for. */
typedef struct sn_glove_opts {
    size_t size;     /* sizeof(sn_glove_opts)                                */
    int trainable;   /* default 1; 0 = freeze the layer after loading        */
    int skip_ids;    /* default 2: ids below it (0 pad, 1 OOV, as a          */
                     /* vectorizer numbers them) are never written           */
} sn_glove_opts;
#define SN_GLOVE_OPTS_INIT { sizeof(sn_glove_opts), 1, 2 }

/* Reads word vectors in the GloVe text format ("word v1 v2 ... vD" per
 * line) or the word2vec text format (the same after a "count dim" header
 * line, detected), plain or gzip-compressed (detected by the magic bytes,
 * not the name), and writes row id of the embedding's weight for every
 * vocabulary word vocab[id] (id >= skip_ids) found in the file; other rows
 * keep their values.  Words match exactly (byte for byte, case-sensitive);
 * the first occurrence of a word in the file wins.  D must equal the
 * layer's output_dim and vocab_size must not exceed its input_dim.
 * embedding must be an Embedding layer of model; the model is built if it
 * is not yet.  *found (may be NULL) gets the number of vocabulary words
 * found (coverage).  Then the layer's trainable flag is set from opts.
 * Errors: SN_ERR_FORMAT for a malformed file, the message naming the file
 * and line: a wrong number of values, a non-numeric or non-finite value, a
 * truncated last line, binary data (a NUL byte), an empty file or a
 * corrupt/truncated gzip stream; SN_ERR_IO if it cannot be opened or read;
 * SN_ERR_INVALID_ARG / SN_ERR_SHAPE for bad arguments.  On any error the
 * weights and the trainable flag are unchanged. */
SN_API sn_status sn_embedding_load_vectors(sn_model_t *model,
                                           sn_layer_t *embedding,
                                           const char *path,
                                           const char *const *vocab,
                                           int vocab_size,
                                           const sn_glove_opts *opts,
                                           int *found);

/* The same for a vectorizer's vocabulary (token of id = vocab[id]): the
 * usual way to initialise the Embedding that follows a TextVectorization
 * from GloVe vectors.  The vectorizer must have a vocabulary. */
SN_API sn_status sn_embedding_load_vectors_for(sn_model_t *model,
                                               sn_layer_t *embedding,
                                               const char *path,
                                               const sn_vectorizer_t *v,
                                               const sn_glove_opts *opts,
                                               int *found);

/* ------------------------------------------------------------------------ */
/* Training GloVe vectors (Pennington, Socher, Manning 2014)                 */
/* ------------------------------------------------------------------------ */
/* Options of sn_glove_train. */
typedef struct sn_glove_train_opts {
    size_t size;          /* sizeof(sn_glove_train_opts)                     */
    int dim;              /* vector size, default 50                         */
    int window;           /* symmetric context window, default 10            */
    int epochs;           /* default 20                                      */
    float x_max;          /* weighting cut-off, default 100                  */
    float alpha;          /* weighting exponent, default 0.75                */
    float learning_rate;  /* AdaGrad initial rate, default 0.05              */
    uint64_t seed;        /* initialisation and shuffling, default 0         */
    int threads;          /* default 0 = online cores; 1 is deterministic    */
    size_t max_memory_mb; /* bound for the co-occurrence counts, def. 1024   */
    int min_count;        /* words seen fewer times get no vector, def. 5    */
    int skip_ids;         /* default 2: ids below it (pad, OOV) hold a       */
                          /* position in the window but are not counted      */
} sn_glove_train_opts;
#define SN_GLOVE_TRAIN_OPTS_INIT                                           \
    { sizeof(sn_glove_train_opts), 50, 10, 20, 100.0f, 0.75f, 0.05f, 0, 0, \
      1024, 5, 2 }

/* Trains GloVe vectors on n_docs tokenised documents: docs[k] holds
 * lengths[k] token ids in [0, vocab_size).  Co-occurrences are counted in a
 * symmetric window, a pair at distance d adding 1/d, without crossing
 * documents.  They are held within max_memory_mb: if they do not fit, the
 * least frequent words are dropped (a quarter of the remaining vocabulary
 * at a time, with their counts) until they do, so the most frequent words
 * keep exact counts.  Then the weighted least-squares objective
 *   J = sum_ij f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2 / 2,
 *   f(x) = min(1, (x / x_max)^alpha)
 * is minimised by AdaGrad over the shuffled nonzero entries, as the
 * reference implementation does (Hogwild threads sharing the parameters
 * when threads > 1, so only threads == 1 is bit-reproducible).
 * vectors [vocab_size, dim] (caller's buffer) gets w + w~ per word; words
 * without a vector (ids below skip_ids, rarer than min_count, dropped for
 * memory) get zeros.  *final_cost (may be NULL) gets the mean of
 * f(X)(...)^2 / 2 over the nonzero entries in the last epoch.
 * Errors: SN_ERR_INVALID_ARG (bad argument or option, an id out of range:
 * message names document and position), SN_ERR_NOMEM (allocation failed,
 * or max_memory_mb too small for even two words), SN_ERR_NUMERIC
 * (training diverged), SN_ERR_STATE (no co-occurrences at all). */
SN_API sn_status sn_glove_train(const int32_t *const *docs,
                                const int *lengths, int n_docs,
                                int vocab_size,
                                const sn_glove_train_opts *opts,
                                float *vectors, double *final_cost);

/* Writes vectors [vocab_size, dim] in the GloVe text format, one line
 * "word v1 ... vdim" per id, skipping ids whose word is NULL or empty and
 * rows that are all zeros (words without a vector).  Words must not contain
 * whitespace (SN_ERR_INVALID_ARG naming the id).  The file is written to a
 * temporary name beside path and renamed over it, so path is either the old
 * file or the complete new one.  SN_ERR_IO on a write failure,
 * SN_ERR_NUMERIC on a non-finite value. */
SN_API sn_status sn_glove_save_text(const char *path,
                                    const char *const *vocab, int vocab_size,
                                    const float *vectors, int dim);

/* ------------------------------------------------------------------------ */
/* Word-vector queries: nearest neighbours and analogies                    */
/* ------------------------------------------------------------------------ */
/* An index over word vectors [vocab_size, dim] (from sn_glove_train, a
 * GloVe file loaded into an Embedding, or any trained Embedding layer's
 * weight): the rows are copied and scaled to unit length, so that one
 * matrix-vector product (CBLAS sgemv) gives the cosine similarity of a
 * query with every word, and the k best are picked with a size-k heap
 * (O(V log k), no full sort).  Rows that are all zeros (words without a
 * vector, padding) are never returned.  Read only: queries may run from
 * several threads at once. */
typedef struct sn_wordvec sn_wordvec_t;

/* Builds the index; vocab (may be NULL) names the rows, vocab[id] copied
 * (NULL or "" for rows without a word).  SN_ERR_NUMERIC for a non-finite
 * value.  *out is the caller's (sn_wordvec_free). */
SN_API sn_status sn_wordvec_new(const float *vectors, int vocab_size,
                                int dim, const char *const *vocab,
                                sn_wordvec_t **out);
/* NULL is a no-op. */
SN_API void sn_wordvec_free(sn_wordvec_t *wv);
/* The id of word (exact match), or SN_ERR_NOT_FOUND. */
SN_API int sn_wordvec_lookup(const sn_wordvec_t *wv, const char *word);
/* The word of id, owned by wv ("" if it has none); NULL if out of range. */
SN_API const char *sn_wordvec_word(const sn_wordvec_t *wv, int id);
/* The k ids most similar by cosine to query [dim] (any length, not zero),
 * best first, leaving out the ids exclude[0 .. n_exclude-1], into ids[k]
 * and scores[k] (may be NULL); *found (may be NULL) gets how many were
 * written (fewer than k when the vocabulary is small). */
SN_API sn_status sn_wordvec_nearest(const sn_wordvec_t *wv,
                                    const float *query, int k,
                                    const int *exclude, int n_exclude,
                                    int *ids, float *scores, int *found);
/* The k nearest neighbours of word id (the word itself left out). */
SN_API sn_status sn_wordvec_neighbours(const sn_wordvec_t *wv, int id, int k,
                                       int *ids, float *scores, int *found);
/* Analogy a - b + c ("king" - "man" + "woman" ~ "queen"), as gensim's
 * most_similar(positive=[a, c], negative=[b]): the unit vectors combined,
 * the mean, then its k nearest words, a, b and c left out. */
SN_API sn_status sn_wordvec_analogy(const sn_wordvec_t *wv, int a, int b,
                                    int c, int k, int *ids, float *scores,
                                    int *found);

/* ------------------------------------------------------------------------ */
/* CSV files and time series                                                */
/* ------------------------------------------------------------------------ */
/* A table read from CSV: rows x named numeric columns (float64), plus an
 * optional date column kept apart as days since 1970-01-01.  Immutable once
 * read; the caller owns it and frees it with sn_table_free. */
typedef struct sn_table sn_table_t;

/* What to do with a row in which a value to be read is missing (an empty
 * field or the word null, in any case) in a selected or date column. */
typedef enum sn_missing_policy {
    SN_MISSING_ERROR = 0,     /* fail with SN_ERR_FORMAT naming the line   */
    SN_MISSING_DROP_ROW = 1   /* skip the row; sn_table_dropped_rows counts */
} sn_missing_policy;

/* Options of sn_csv_read. */
typedef struct sn_csv_opts {
    size_t size;                  /* sizeof(sn_csv_opts)                    */
    char delimiter;               /* default ','; not '"', '\r', '\n', NUL  */
    int header;                   /* -1 auto-detect (default), 0 none, 1 yes.
                                   * Auto: the first line is a header if one
                                   * of its fields is neither a number, a
                                   * YYYY-MM-DD date nor a missing value.
                                   * Without a header columns are named
                                   * "0", "1", ... (as pandas' header=None). */
    const char *date_column;      /* NULL (default): auto, the column named
                                   * "Date" (any case) if there is one, and
                                   * without a header column 0 if its first
                                   * value is a date; "": no date column;
                                   * a name: that column, SN_ERR_NOT_FOUND
                                   * if absent.  Dates are YYYY-MM-DD.      */
    int require_increasing_dates; /* default 1: each date must be later than
                                   * the one of the previous kept row        */
    sn_missing_policy missing;    /* default SN_MISSING_ERROR               */
    const char *const *columns;   /* names of the columns to read, in the
                                   * table's order; NULL (default) = every
                                   * column except the date column.  Columns
                                   * not read are not parsed (may be text).  */
    int n_columns;                /* entries in columns (ignored if NULL)   */
} sn_csv_opts;
#define SN_CSV_OPTS_INIT \
    { sizeof(sn_csv_opts), ',', -1, NULL, 1, SN_MISSING_ERROR, NULL, 0 }

/* Reads a CSV file (RFC 4180: quoted fields may hold the delimiter, doubled
 * quotes and newlines; LF or CRLF line ends; the final newline and a UTF-8
 * BOM are optional; blank lines are skipped).  Numbers must fill the whole
 * field (surrounding spaces aside); nan, inf and hex floats are rejected.
 * On success *out is a new table owned by the caller.  Errors:
 * SN_ERR_IO (cannot open/read), SN_ERR_FORMAT (message names the line and
 * the problem: wrong field count, bad number, bad or non-increasing date,
 * missing value, unterminated quote, NUL byte, invalid UTF-8 in the
 * header), SN_ERR_NOT_FOUND (a requested column is absent),
 * SN_ERR_INVALID_ARG, SN_ERR_NOMEM.  *out is NULL on failure. */
SN_API sn_status sn_csv_read(const char *path, const sn_csv_opts *opts,
                             sn_table_t **out);

/* The same on len bytes of text in memory (need not be NUL-terminated;
 * not kept after the call). */
SN_API sn_status sn_csv_read_buffer(const char *text, size_t len,
                                    const sn_csv_opts *opts,
                                    sn_table_t **out);

/* Frees the table; NULL is a no-op. */
SN_API void sn_table_free(sn_table_t *table);

/* Number of rows kept and of numeric columns (the date column excluded).
 * 0 for a NULL table. */
SN_API int sn_table_rows(const sn_table_t *table);
SN_API int sn_table_cols(const sn_table_t *table);

/* Name of numeric column j (0 <= j < cols), owned by the table; NULL if j
 * is out of range. */
SN_API const char *sn_table_column_name(const sn_table_t *table, int j);

/* Index of the numeric column named name (exact match), or
 * SN_ERR_NOT_FOUND. */
SN_API int sn_table_find_column(const sn_table_t *table, const char *name);

/* Column j's rows values as float64 (prices keep their 6 decimals, volumes
 * their integers), owned by the table; NULL if j is out of range. */
SN_API const double *sn_table_column(const sn_table_t *table, int j);

/* 1 if the table has a date column, else 0. */
SN_API int sn_table_has_dates(const sn_table_t *table);

/* Row i's date as days since 1970-01-01 (negative before) into *days.
 * SN_ERR_NOT_FOUND if the table has no dates, SN_ERR_INVALID_ARG if i is
 * out of range. */
SN_API sn_status sn_table_date(const sn_table_t *table, int i,
                               int32_t *days);

/* Writes row i's date as "YYYY-MM-DD" into buf (at least 11 bytes). */
SN_API sn_status sn_table_date_string(const sn_table_t *table, int i,
                                      char buf[11]);

/* How many rows the missing policy dropped, and the 1-based line number of
 * the first of them (0 if none). */
SN_API int sn_table_dropped_rows(const sn_table_t *table);
SN_API int sn_table_first_dropped_line(const sn_table_t *table);

/* Copies the named columns into out [rows, n] row-major as float32 (the
 * layout the model takes).  SN_ERR_NOT_FOUND names an unknown column;
 * SN_ERR_NUMERIC if a value does not fit a float. */
SN_API sn_status sn_table_select(const sn_table_t *table,
                                 const char *const *names, int n,
                                 float *out);

/* ------------------------------------------------------------------------ */
/* Time series                                                               */
/* ------------------------------------------------------------------------ */
/* Number of windows sn_create_sequences makes from n_rows rows:
 * n_rows - n_steps_in - n_steps_out + 1, or 0 if that is below 1.
 * SN_ERR_INVALID_ARG if n_rows < 0, n_steps_in < 1 or n_steps_out < 1. */
SN_API int sn_sequences_count(int n_rows, int n_steps_in, int n_steps_out);

/* Cuts series [n_rows, n_features] (row-major, oldest row first) into
 * supervised windows for direct multi-step forecasting.  Window w (0 <= w <
 * count) takes rows w .. w+n_steps_in-1, all features, as input:
 *     x[w, t, f] = series[w + t, f]
 * and rows w+n_steps_in .. w+n_steps_in+n_steps_out-1 of the target columns
 * as output, step-major then target:
 *     y[w, s * n_targets + k] = series[w + n_steps_in + s, target_cols[k]]
 * x must hold count * n_steps_in * n_features floats and y count *
 * n_steps_out * n_targets, count = sn_sequences_count(...); *n_windows gets
 * count.  SN_ERR_SHAPE if the series is too short for one window. */
SN_API sn_status sn_create_sequences(const float *series, int n_rows,
                                     int n_features, int n_steps_in,
                                     int n_steps_out, const int *target_cols,
                                     int n_targets, float *x, float *y,
                                     int *n_windows);

/* Splits n_rows rows in time order, never shuffled: train = [0, train_end),
 * validation = [train_end, val_end), test = [val_end, n_rows), with
 * train_end = floor(n_rows * train_frac) and val_end = train_end +
 * floor(n_rows * val_frac).  0 < train_frac, 0 <= val_frac, train_frac +
 * val_frac <= 1; the training part must not be empty. */
SN_API sn_status sn_temporal_split(int n_rows, float train_frac,
                                   float val_frac, int *train_end,
                                   int *val_end);

/* Per-feature scalers with scikit-learn semantics.  Fit them on the
 * training rows only (pass just those rows), then transform every split
 * with the training statistics: statistics taken over validation or test
 * rows would leak the future into training. */
typedef struct sn_scaler sn_scaler_t;

/* The scalers of sn_scaler_new. */
typedef enum sn_scaler_kind {
    SN_SCALER_MINMAX = 0,   /* x' = lo + (x - min) * (hi - lo) / (max - min);
                             * a constant feature (max == min) uses a
                             * divisor of 1, so it maps to lo            */
    SN_SCALER_STANDARD = 1  /* x' = (x - mean) / std, std with divisor n;
                             * a constant feature (std == 0) uses 1       */
} sn_scaler_kind;

/* A new unfitted scaler for rows of n_features values.  range_min <
 * range_max is MinMax's feature_range (Keras/sklearn default 0, 1); the
 * standard scaler ignores both.  Owned by the caller; NULL on failure. */
SN_API sn_scaler_t *sn_scaler_new(sn_scaler_kind kind, int n_features,
                                  float range_min, float range_max);

/* Frees the scaler; NULL is a no-op. */
SN_API void sn_scaler_free(sn_scaler_t *scaler);

/* Fits on data [rows, n_features], rows >= 1, replacing any earlier fit.
 * SN_ERR_NUMERIC if a value is NaN or infinite. */
SN_API sn_status sn_scaler_fit(sn_scaler_t *scaler, const float *data,
                               int rows);

/* Scales data [rows, n_features] in place with the fitted statistics;
 * SN_ERR_STATE before a fit.  Values outside the training range are not
 * clipped. */
SN_API sn_status sn_scaler_transform(const sn_scaler_t *scaler, float *data,
                                     int rows);

/* Undoes sn_scaler_transform in place. */
SN_API sn_status sn_scaler_inverse(const sn_scaler_t *scaler, float *data,
                                   int rows);

/* Undoes the scaling of one feature on n values in place (contiguous), e.g.
 * a model's predictions of one target column. */
SN_API sn_status sn_scaler_inverse_column(const sn_scaler_t *scaler,
                                          int feature, float *values, int n);

/* The fitted statistics, n_features values each: MinMax gives the data
 * minimum in first and maximum in second, Standard the mean and the
 * standard deviation (0 for a constant feature).  Either pointer may be
 * NULL.  SN_ERR_STATE before a fit. */
SN_API sn_status sn_scaler_statistics(const sn_scaler_t *scaler,
                                      double *first, double *second);

/* ------------------------------------------------------------------------ */
/* Synthetic multivariate series                                             */
/* ------------------------------------------------------------------------ */
/* target(t) = level + trend*t + season_amplitude*sin(2*pi*t/season_period)
 *             + covariate_weight * sum_k c_k(t) + noise_std * e(t)
 * with e(t) ~ N(0,1) and covariates c_k: even k a random walk with N(0,
 * 0.1^2) steps from 0, odd k sin(2*pi*t/(season_period*(k+3)/2) + phase_k)
 * with phase_k uniform in [0, 2*pi).  Each covariate and the noise draw from
 * their own stream derived from seed, so adding a covariate leaves the
 * others and the noise unchanged.  Deterministic for a given seed. */
typedef struct sn_synth_opts {
    size_t size;             /* sizeof(sn_synth_opts)                       */
    int n_rows;              /* default 1000                                */
    int n_covariates;        /* default 2, >= 0                             */
    float level;             /* default 10                                  */
    float trend;             /* slope per step, default 0.01                */
    float season_period;     /* steps, default 50, > 0                      */
    float season_amplitude;  /* default 1                                   */
    float covariate_weight;  /* default 0.5                                 */
    float noise_std;         /* default 0.1, >= 0                           */
    uint64_t seed;           /* default 42                                  */
} sn_synth_opts;
#define SN_SYNTH_OPTS_INIT \
    { sizeof(sn_synth_opts), 1000, 2, 10.0f, 0.01f, 50.0f, 1.0f, 0.5f, \
      0.1f, 42 }

/* Fills out [n_rows, 1 + n_covariates] row-major: column 0 the target,
 * columns 1.. the covariates.  NULL opts = defaults. */
SN_API sn_status sn_synthetic_series(const sn_synth_opts *opts, float *out);

/* ------------------------------------------------------------------------ */
/* Evaluation metrics                                                       */
/* ------------------------------------------------------------------------ */
/*
 * Common rules for the binary functions below:
 * - scores[n] are any finite floats where larger means "more positive"
 *   (probabilities or logits); a non-finite score fails with SN_ERR_NUMERIC
 *   naming its index.
 * - labels[n] must be exactly 0.0f or 1.0f; anything else fails with
 *   SN_ERR_INVALID_ARG naming its index.
 * - A sample is predicted positive when score >= threshold (the direction
 *   of scikit-learn's curves, so a threshold taken from a curve or from
 *   sn_best_threshold reproduces that point).  Note that the training
 *   metric sn_metric_compute follows Keras and uses score > threshold.
 * - A ratio whose denominator is zero is 0 (scikit-learn's
 *   zero_division=0), never NaN.
 * - n == 0 or a NULL array fails with SN_ERR_INVALID_ARG.
 * Nothing is kept: every call works on the caller's buffers and frees any
 * scratch memory (taken from the thread's allocator) before it returns.
 */

/* Counts and ratios of one binary classification at one threshold.  Set
 * size (SN_BINARY_REPORT_INIT does) before the call; the library fills the
 * fields that fit in size bytes. */
typedef struct sn_binary_report {
    size_t size;          /* sizeof(sn_binary_report)                      */
    double accuracy;      /* (tp + tn) / n                                 */
    double precision;     /* tp / (tp + fp), 0 when nothing predicted pos. */
    double recall;        /* tp / (tp + fn), 0 when no positive label      */
    double f1;            /* 2 tp / (2 tp + fp + fn), 0 when tp = 0        */
    long tp;              /* true positives                                */
    long fp;              /* false positives                               */
    long tn;              /* true negatives                                */
    long fn;              /* false negatives                               */
} sn_binary_report;
#define SN_BINARY_REPORT_INIT \
    { sizeof(sn_binary_report), 0.0, 0.0, 0.0, 0.0, 0, 0, 0, 0 }

/* Fills *out for predictions score >= threshold against labels.  A single
 * class in labels is allowed here.  Fails with SN_ERR_INVALID_ARG when
 * out->size is smaller than a size_t or larger than this library knows. */
SN_API sn_status sn_eval_binary(const float *scores, const float *labels,
                                size_t n, float threshold,
                                sn_binary_report *out);

/* Multi-class confusion matrix: matrix[t * n_classes + p] counts samples
 * with true class t predicted as p (rows = true, as scikit-learn).  Classes
 * are 0 .. n_classes - 1; an id outside fails with SN_ERR_INVALID_ARG
 * naming its index.  matrix [n_classes * n_classes] is overwritten. */
SN_API sn_status sn_confusion_matrix(const int *y_true, const int *y_pred,
                                     size_t n, int n_classes, long *matrix);

/* Averages over the classes of a confusion matrix.  Macro averages are
 * unweighted means over the classes that occur in y_true or y_pred (a row
 * or column sum > 0), as scikit-learn with labels=None; weighted averages
 * weight each class by its support (row sum).  Set size before the call
 * (SN_CLASS_AVERAGES_INIT does). */
typedef struct sn_class_averages {
    size_t size;                 /* sizeof(sn_class_averages)               */
    double accuracy;             /* trace / total                           */
    double macro_precision;      /* unweighted mean over the classes        */
    double macro_recall;         /* unweighted mean over the classes        */
    double macro_f1;             /* unweighted mean over the classes        */
    double weighted_precision;   /* weighted by support                     */
    double weighted_recall;      /* weighted by support                     */
    double weighted_f1;          /* weighted by support                     */
} sn_class_averages;
#define SN_CLASS_AVERAGES_INIT \
    { sizeof(sn_class_averages), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0 }

/* Per-class precision, recall and F1 from matrix [n_classes, n_classes]
 * (as sn_confusion_matrix writes it; counts must be >= 0 and the total
 * > 0).  Each of precision, recall, f1 [n_classes] and avg may be NULL
 * when not wanted.  0/0 ratios are 0. */
SN_API sn_status sn_class_metrics(const long *matrix, int n_classes,
                                  double *precision, double *recall,
                                  double *f1, sn_class_averages *avg);

/* ROC curve with scikit-learn's roc_curve(drop_intermediate=False)
 * semantics: one point per distinct score, thresholds in decreasing order,
 * all samples with tied scores entering in one step; point 0 is (0, 0) with
 * threshold +INFINITY.  fpr[k] = fp_k / negatives and tpr[k] = tp_k /
 * positives, counting score >= thresholds[k] as positive.
 * *n_points: in, the capacity of fpr, tpr and thresholds (n + 1 always
 * suffices); out, the number of points written (distinct scores + 1).  When
 * the capacity is too small the call fails with SN_ERR_INVALID_ARG and sets
 * *n_points to the capacity needed.  Both classes must be present
 * (SN_ERR_INVALID_ARG otherwise).  O(n log n). */
SN_API sn_status sn_roc_curve(const float *scores, const float *labels,
                              size_t n, float *fpr, float *tpr,
                              float *thresholds, size_t *n_points);

/* Area under the ROC curve by the trapezoidal rule, which equals the
 * Mann-Whitney U statistic / (positives * negatives) with a tied
 * (positive, negative) pair counted 1/2.  Both classes must be present. */
SN_API sn_status sn_roc_auc(const float *scores, const float *labels,
                            size_t n, double *auc);

/* Precision-recall curve with scikit-learn's precision_recall_curve
 * semantics (drop_intermediate=False): thresholds are the distinct scores
 * in increasing order; precision[k] and recall[k] count score >=
 * thresholds[k] as positive; a last point (precision 1, recall 0) with no
 * threshold ends the curve.  *n_points: in, the capacity of precision and
 * recall (thresholds needs one less; n + 1 always suffices); out, points
 * written (distinct scores + 1); too small fails as sn_roc_curve does.
 * At least one positive label is needed (recall is undefined without);
 * negatives may be absent. */
SN_API sn_status sn_pr_curve(const float *scores, const float *labels,
                             size_t n, float *precision, float *recall,
                             float *thresholds, size_t *n_points);

/* Average precision, scikit-learn's average_precision_score:
 * AP = sum_k (R_k - R_{k-1}) P_k over decreasing thresholds (a step
 * function, no interpolation).  At least one positive label is needed. */
SN_API sn_status sn_average_precision(const float *scores,
                                      const float *labels, size_t n,
                                      double *ap);

/* What sn_best_threshold maximises. */
typedef enum sn_sweep_metric {
    SN_SWEEP_F1 = 0,                 /* 2 tp / (2 tp + fp + fn)             */
    SN_SWEEP_ACCURACY = 1,           /* (tp + tn) / n                       */
    SN_SWEEP_BALANCED_ACCURACY = 2,  /* (tpr + tnr) / 2 (Youden's J + 1)/2  */
    SN_SWEEP_MCC = 3                 /* Matthews correlation; 0 if 0/0      */
} sn_sweep_metric;

/* Tries every distinct score as the threshold (score >= t positive) and
 * returns in *threshold the one that maximises metric and in *value that
 * maximum.  Ties in value go to the threshold closest to 0.5, then to the
 * larger one.  "Predict nothing positive" is not a candidate (its threshold
 * would lie above every score).  Both classes must be present.  Either
 * output may be NULL.  O(n log n). */
SN_API sn_status sn_best_threshold(const float *scores, const float *labels,
                                   size_t n, sn_sweep_metric metric,
                                   float *threshold, double *value);

/* Regression errors of pred[n] against truth[n], in double:
 * MAE = mean |p - t|, RMSE = sqrt(mean (p - t)^2),
 * MAPE = 100 / m * sum |p - t| / |t| over the m samples with t != 0, in
 * percent.  Samples with t == 0 are skipped for MAPE only; their count goes
 * to *mape_skipped, and when all are skipped *mape is NAN.  Any output may
 * be NULL.  A non-finite value in pred or truth fails with SN_ERR_NUMERIC
 * naming its index. */
SN_API sn_status sn_eval_regression(const float *pred, const float *truth,
                                    size_t n, double *mae, double *rmse,
                                    double *mape, size_t *mape_skipped);

/* Naive forecast of series[n] made at position origin (the last value it
 * may see) for the horizon values after it, into out[horizon]:
 * season 0 or 1: out[h-1] = series[origin]            (last value);
 * season m > 1:  out[h-1] = series[origin + h - m * (floor((h-1)/m) + 1)]
 *                (the value one season before, repeating the last season).
 * Needs origin < n, horizon > 0 and, for m > 1, origin + 1 >= m
 * (SN_ERR_INVALID_ARG otherwise); a non-finite value read fails with
 * SN_ERR_NUMERIC.  The forecast may run past the end of the series. */
SN_API sn_status sn_naive_forecast(const float *series, size_t n,
                                   size_t horizon, size_t season,
                                   size_t origin, float *out);

/* Scores the naive forecast on every window sn_create_sequences makes of
 * series[n] (one target column) with n_steps_in inputs and n_steps_out
 * targets, stride 1: window i
 * (i = 0 .. n - n_steps_in - n_steps_out) sees series[i .. i+n_steps_in-1]
 * and forecasts series[i+n_steps_in .. i+n_steps_in+n_steps_out-1] from
 * origin i + n_steps_in - 1.  *mae and *rmse are over all windows and steps
 * (an overlapping target counts once per window, as when evaluating a model
 * on those windows).  Needs n_steps_in, n_steps_out > 0 and season <=
 * n_steps_in (SN_ERR_INVALID_ARG), n >= n_steps_in + n_steps_out
 * (SN_ERR_SHAPE, as sn_create_sequences); a non-finite value fails with
 * SN_ERR_NUMERIC.  Either output may be NULL. */
SN_API sn_status sn_naive_backtest(const float *series, size_t n,
                                   size_t n_steps_in, size_t n_steps_out,
                                   size_t season, double *mae, double *rmse);

/* ------------------------------------------------------------------------ */
/* Losses                                                                    */
/* ------------------------------------------------------------------------ */
/* Keras losses.  Reduction is Keras' "sum_over_batch_size": the loss of
 * each row (mean over the last axis for binary crossentropy, MSE, MAE and
 * Huber; the sum over classes for the categorical ones) times its sample
 * weight, summed, divided by the number of rows. */
typedef enum sn_loss_kind {
    SN_LOSS_BINARY_CROSSENTROPY = 1,
    SN_LOSS_CATEGORICAL_CROSSENTROPY = 2,
    SN_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY = 3,
    SN_LOSS_MSE = 4,
    SN_LOSS_MAE = 5,
    SN_LOSS_HUBER = 6
} sn_loss_kind;

/* A loss and its arguments (sn_loss_compute, sn_compile_opts.loss). */
typedef struct sn_loss_opts {
    size_t size;        /* sizeof(sn_loss_opts)                             */
    sn_loss_kind kind;  /* default SN_LOSS_MSE                              */
    int from_logits;    /* crossentropies: predictions are logits (0)       */
    float delta;        /* Huber: where quadratic turns linear (1.0)        */
} sn_loss_opts;
#define SN_LOSS_OPTS_INIT { sizeof(sn_loss_opts), SN_LOSS_MSE, 0, 1.0f }

/* Loss of predictions pred[rows, cols] against target (same shape, or
 * [rows] class ids for the sparse loss) with optional weights[rows].
 * loss must not be NULL (it names the loss; start from SN_LOSS_OPTS_INIT).
 * Writes the reduced loss to *value and, if grad is not NULL, its gradient
 * d(value)/d(pred) to grad[rows, cols].  Predictions or targets that are not
 * finite give SN_ERR_NUMERIC; a class id out of [0, cols) SN_ERR_INVALID_ARG. */
SN_API sn_status sn_loss_compute(const sn_loss_opts *loss, int rows, int cols,
                                 const float *pred, const float *target,
                                 const float *weights, double *value,
                                 float *grad);

/* ------------------------------------------------------------------------ */
/* Metrics                                                                   */
/* ------------------------------------------------------------------------ */
/* The built-in metrics (Keras' names). */
typedef enum sn_metric_kind {
    SN_METRIC_ACCURACY = 1,   /* chosen from the loss, as Keras does         */
    SN_METRIC_BINARY_ACCURACY = 2,
    SN_METRIC_CATEGORICAL_ACCURACY = 3,
    SN_METRIC_SPARSE_CATEGORICAL_ACCURACY = 4,
    SN_METRIC_MAE = 5,
    SN_METRIC_MSE = 6,
    /* Keras AUC(), Precision(), Recall() with their defaults, over every
     * element as a binary decision (label != 0 is positive).  In fit and
     * evaluate they accumulate over the epoch (Keras' stateful metrics:
     * the value is that of all batches so far, not a mean of batch
     * values).  AUC: ROC curve, 200 thresholds (0 - 1e-7, i/199 for
     * i = 1..198, 1 + 1e-7), interpolated (trapezoid) sum.  Precision and
     * recall count pred > threshold (0.5) as positive.  With a
     * from_logits binary crossentropy the predictions pass through a
     * sigmoid first (Keras' from_logits=True), and sn_metric_compute's
     * threshold is that of precision and recall. */
    SN_METRIC_AUC = 7,
    SN_METRIC_PRECISION = 8,
    SN_METRIC_RECALL = 9
} sn_metric_kind;

/* Mean of a metric over rows (pred [rows, cols]; target as for losses).
 * Binary accuracy counts pred > threshold (0.5 for probabilities, 0 for
 * logits) as class 1.  SN_METRIC_ACCURACY means binary accuracy when
 * cols == 1 and categorical otherwise. */
SN_API sn_status sn_metric_compute(sn_metric_kind kind, int rows, int cols,
                                   const float *pred, const float *target,
                                   float threshold, double *value);

/* A user metric: returns the batch's mean value; fit averages batches
 * weighted by their row counts. */
typedef double (*sn_metric_fn)(void *user, int rows, int cols,
                               const float *pred, const float *target);

/* ------------------------------------------------------------------------ */
/* Optimizers and learning-rate schedules                                    */
/* ------------------------------------------------------------------------ */
/* An optimizer with its state (opaque). */
typedef struct sn_optimizer sn_optimizer_t;

/* The optimizers. */
typedef enum sn_optimizer_kind {
    SN_SGD = 1,
    SN_ADAM = 2,
    SN_ADAMW = 3,
    SN_RMSPROP = 4,
    SN_ADAGRAD = 5,
    SN_NADAM = 6,     /* Keras Nadam (momentum schedule 0.96^t, not torch's) */
    SN_ADAMAX = 7     /* Keras Adamax (infinity-norm Adam)                  */
} sn_optimizer_kind;

/* Keras optimizer arguments; fields a kind does not use are ignored.
 * Fill with sn_optimizer_defaults() to get that kind's Keras defaults. */
/* Options of sn_optimizer_new; sn_optimizer_defaults fills them. */
typedef struct sn_optimizer_opts {
    size_t size;                 /* sizeof(sn_optimizer_opts)               */
    sn_optimizer_kind kind;      /* which optimizer                         */
    float learning_rate;         /* SGD 0.01, every other kind 1e-3         */
    float momentum;              /* SGD, RMSprop: 0                         */
    int nesterov;                /* SGD: 0                                  */
    float beta_1;                /* Adam(W), Nadam, Adamax: 0.9             */
    float beta_2;                /* Adam(W), Nadam, Adamax: 0.999           */
    float epsilon;               /* 1e-7                                    */
    int amsgrad;                 /* Adam(W): 0                              */
    float weight_decay;          /* decoupled; AdamW 0.004, others 0        */
    float rho;                   /* RMSprop: 0.9                            */
    int centered;                /* RMSprop: 0                              */
    float initial_accumulator_value; /* Adagrad: 0.1                        */
    float clipnorm;              /* per weight tensor; 0 = off              */
    float clipvalue;             /* element-wise; 0 = off                   */
    float global_clipnorm;       /* over all weights; 0 = off               */
} sn_optimizer_opts;

/* Fills *opts with the Keras defaults of kind (and sets size and kind). */
SN_API sn_status sn_optimizer_defaults(sn_optimizer_kind kind,
                                       sn_optimizer_opts *opts);

/* Creates an optimizer; the caller owns it until sn_model_compile takes
 * it.  At most one of clipnorm, clipvalue, global_clipnorm may be set, as
 * in Keras.  Returns NULL on bad options. */
SN_API sn_optimizer_t *sn_optimizer_new(const sn_optimizer_opts *opts);
SN_API void sn_optimizer_free(sn_optimizer_t *opt);

/* The learning-rate schedules. */
typedef enum sn_lr_schedule_kind {
    SN_LR_CONSTANT = 0,
    SN_LR_STEP = 1,        /* lr0 * rate^floor(step / decay_steps)         */
    SN_LR_EXPONENTIAL = 2, /* lr0 * rate^(step / decay_steps)              */
    SN_LR_COSINE = 3       /* lr0 * ((1-alpha)(1+cos(pi*min(step,ds)/ds))/2 + alpha) */
} sn_lr_schedule_kind;

/* A learning-rate schedule (sn_optimizer_set_schedule). */
typedef struct sn_lr_schedule {
    size_t size;               /* sizeof(sn_lr_schedule)                     */
    sn_lr_schedule_kind kind;  /* which schedule                             */
    float initial_learning_rate; /* lr0                                      */
    int decay_steps;           /* optimizer steps (batches)                  */
    float decay_rate;          /* STEP, EXPONENTIAL                          */
    float alpha;               /* COSINE: floor as a fraction of lr0         */
} sn_lr_schedule;
#define SN_LR_SCHEDULE_INIT \
    { sizeof(sn_lr_schedule), SN_LR_CONSTANT, 0.001f, 1000, 0.96f, 0.0f }

/* Drives the learning rate from the step count; NULL goes back to a
 * constant rate. */
SN_API sn_status sn_optimizer_set_schedule(sn_optimizer_t *opt,
                                           const sn_lr_schedule *schedule);
/* The rate the next step will use. */
SN_API double sn_optimizer_learning_rate(const sn_optimizer_t *opt);
/* Sets the (base) learning rate: the constant rate, or a schedule's
 * initial rate (ReduceLROnPlateau uses this). */
SN_API sn_status sn_optimizer_set_learning_rate(sn_optimizer_t *opt,
                                                double learning_rate);
/* Steps taken so far. */
SN_API int64_t sn_optimizer_iterations(const sn_optimizer_t *opt);

/* One update of model's trainable weights from their gradients, after the
 * optimizer's clipping.  If any gradient is NaN or infinite, returns
 * SN_ERR_NUMERIC and changes nothing.  The first step binds the optimizer
 * to the model; a model of another size is refused. */
SN_API sn_status sn_optimizer_step(sn_optimizer_t *opt, sn_model_t *model);

/* Scales all trainable gradients so that their global L2 norm is at most
 * max_norm; *norm_before (if not NULL) gets the norm before clipping. */
SN_API sn_status sn_clip_grad_norm(sn_model_t *model, double max_norm,
                                   double *norm_before);
/* Clips every trainable gradient element to [-clip_value, clip_value]. */
SN_API sn_status sn_clip_grad_value(sn_model_t *model, double clip_value);

/* ------------------------------------------------------------------------ */
/* Compiling and training                                                    */
/* ------------------------------------------------------------------------ */
/* What one output is trained with (sn_compile_opts.outputs).  An output
 * with neither loss nor metrics needs no targets (targets[k] may be NULL);
 * one with metrics but no loss is only measured.  The overall loss is the
 * sum of loss_weight * loss over the outputs that have a loss; the
 * history and sn_model_metric_name list, with several outputs, "loss",
 * then "<output layer>_loss" for each output with a loss (unweighted),
 * then "<output layer>_<metric>" per output, as Keras does. */
typedef struct sn_output_opts {
    size_t size;                   /* sizeof(sn_output_opts)                */
    const sn_loss_opts *loss;      /* copied; NULL = no loss on this output */
    float loss_weight;             /* 1.0; finite and >= 0                  */
    const sn_metric_kind *metrics; /* copied; may be NULL                   */
    int n_metrics;                 /* entries in metrics                    */
} sn_output_opts;
#define SN_OUTPUT_OPTS_INIT { sizeof(sn_output_opts), NULL, 1.0f, NULL, 0 }

/* Options of sn_model_compile: optimizer, loss, metrics. */
typedef struct sn_compile_opts {
    size_t size;                   /* sizeof(sn_compile_opts)               */
    sn_optimizer_t *optimizer;     /* taken by the model; NULL = RMSprop    */
    const sn_loss_opts *loss;      /* copied; NULL = MSE                    */
    const sn_metric_kind *metrics; /* copied; may be NULL                   */
    int n_metrics;                 /* entries in metrics                    */
    /* Per-output losses, weights and metrics (Keras' loss, loss_weights
     * and metrics given per output): NULL, or one pointer per model
     * output (n_outputs == sn_model_num_outputs), each copied; loss and
     * metrics above must then be NULL / 0.  See sn_output_opts. */
    const sn_output_opts *const *outputs;
    int n_outputs;                 /* entries in outputs                    */
} sn_compile_opts;
#define SN_COMPILE_OPTS_INIT \
    { sizeof(sn_compile_opts), NULL, NULL, NULL, 0, NULL, 0 }


/* Sets the optimizer, loss and metrics used by train_on_batch, fit and
 * evaluate (opts->loss applies to every output; opts->outputs gives each
 * output its own).  The model takes ownership
 * of opts->optimizer in every case; compiling again replaces it. */
SN_API sn_status sn_model_compile(sn_model_t *model,
                                  const sn_compile_opts *opts);
/* Adds a user metric reported under name; fn and user must outlive the
 * model's training calls. */
SN_API sn_status sn_model_add_metric(sn_model_t *model, const char *name,
                                     sn_metric_fn fn, void *user);
/* The compiled optimizer (owned by the model) or NULL. */
SN_API sn_optimizer_t *sn_model_optimizer(const sn_model_t *model);
/* Names of what evaluate and the history report, in order: "loss", then
 * each metric ("accuracy", "mae", user names).  NULL past the end. */
SN_API int sn_model_num_metrics(const sn_model_t *model);
SN_API const char *sn_model_metric_name(const sn_model_t *model, int i);

/* A data set held in memory by the caller. */
typedef struct sn_dataset {
    size_t size;                   /* sizeof(sn_dataset)                    */
    int n_samples;                 /* rows in every array                   */
    const void *const *inputs;     /* one per model input, [n, ...]         */
    const int *timesteps;          /* per input, for SN_ANY_TIME inputs     */
    const float *const *targets;   /* one per model output, [n, ...]        */
    const float *sample_weights;   /* [n] or NULL                           */
    /* Per input, NULL or [n] per-row lengths of a float sequence input:
     * steps t >= length are padding (masked).  NULL = none. */
    const int *const *lengths;
} sn_dataset;
#define SN_DATASET_INIT { sizeof(sn_dataset), 0, NULL, NULL, NULL, NULL, NULL }

/* One optimisation step on one batch (Keras train_on_batch): forward in
 * training mode, loss, backward, clipping, optimizer step.  Writes the
 * batch loss to *loss (may be NULL).  A non-finite loss or gradient
 * returns SN_ERR_NUMERIC with the weights unchanged. */
SN_API sn_status sn_model_train_on_batch(sn_model_t *model, int batch,
                                         const void *const *inputs,
                                         const int *timesteps,
                                         const float *const *targets,
                                         const float *sample_weights,
                                         double *loss);

/* The per-epoch values recorded by sn_model_fit (opaque). */
typedef struct sn_history sn_history_t;

/* Called after each batch with the running means of loss and metrics
 * (in sn_model_metric_name order); return nonzero to stop training. */
typedef int (*sn_batch_callback)(void *user, int epoch, int batch,
                                 const double *logs, int n_logs);
/* Called after each epoch; the history already holds that epoch.  Return
 * nonzero to stop training. */
typedef int (*sn_epoch_callback)(void *user, int epoch,
                                 const sn_history_t *history);

/* Whether a monitored value should go down (min) or up (max). */
typedef enum sn_monitor_mode {
    SN_MODE_AUTO = 0, /* max for accuracy-like names, min otherwise      */
    SN_MODE_MIN = 1,
    SN_MODE_MAX = 2
} sn_monitor_mode;

/* EarlyStopping for sn_fit_opts.early_stopping (Keras' arguments). */
typedef struct sn_early_stopping_opts {
    size_t size;                  /* sizeof(sn_early_stopping_opts)        */
    const char *monitor;          /* "val_loss"                            */
    float min_delta;              /* 0                                     */
    int patience;                 /* 0                                     */
    sn_monitor_mode mode;         /* auto                                  */
    int restore_best_weights;     /* 0                                     */
    int start_from_epoch;         /* 0                                     */
} sn_early_stopping_opts;
#define SN_EARLY_STOPPING_OPTS_INIT \
    { sizeof(sn_early_stopping_opts), "val_loss", 0.0f, 0, SN_MODE_AUTO, 0, 0 }

/* ReduceLROnPlateau for sn_fit_opts.reduce_lr (Keras' arguments). */
typedef struct sn_reduce_lr_opts {
    size_t size;                  /* sizeof(sn_reduce_lr_opts)             */
    const char *monitor;          /* "val_loss"                            */
    float factor;                 /* 0.1                                   */
    int patience;                 /* 10                                    */
    sn_monitor_mode mode;         /* auto                                  */
    float min_delta;              /* 1e-4                                  */
    int cooldown;                 /* 0                                     */
    float min_lr;                 /* 0                                     */
} sn_reduce_lr_opts;
#define SN_REDUCE_LR_OPTS_INIT \
    { sizeof(sn_reduce_lr_opts), "val_loss", 0.1f, 10, SN_MODE_AUTO, 1e-4f, 0, 0.0f }

/* ModelCheckpoint for sn_fit_opts.checkpoint (Keras' arguments). */
typedef struct sn_checkpoint_opts {
    size_t size;                  /* sizeof(sn_checkpoint_opts)            */
    const char *path;             /* file written after epochs (atomic)    */
    const char *monitor;          /* "val_loss"                            */
    sn_monitor_mode mode;         /* auto                                  */
    int save_best_only;           /* 0                                     */
    int include_optimizer;        /* 1                                     */
} sn_checkpoint_opts;
#define SN_CHECKPOINT_OPTS_INIT \
    { sizeof(sn_checkpoint_opts), NULL, "val_loss", SN_MODE_AUTO, 0, 1 }

/* Keras CSVLogger: after every epoch, one line "epoch,<key>,..." with the
 * epoch (0-based) and every history key in sorted order (Keras sorts
 * them), values as %.17g in the C locale; a header line first.  Each line
 * is appended with one write() and fsync'ed, so a crash leaves whole
 * lines.  append = 0 replaces the file (the header is written atomically:
 * temporary file and rename); append = 1 adds to it, with a header only
 * when the file is new or empty.  A failure to write stops fit with
 * SN_ERR_IO; nothing is printed. */
typedef struct sn_csv_logger_opts {
    size_t size;          /* sizeof(sn_csv_logger_opts)                    */
    const char *path;     /* required                                      */
    int append;           /* 0                                             */
    char separator;       /* ','                                           */
} sn_csv_logger_opts;
#define SN_CSV_LOGGER_OPTS_INIT \
    { sizeof(sn_csv_logger_opts), NULL, 0, ',' }

/* Options of sn_model_fit (Keras fit's arguments). */
typedef struct sn_fit_opts {
    size_t size;                  /* sizeof(sn_fit_opts)                   */
    int epochs;                   /* 1                                     */
    int batch_size;               /* 32                                    */
    int shuffle;                  /* 1: reshuffled every epoch (seeded)    */
    float validation_split;       /* 0: last fraction, taken before shuffle */
    const sn_dataset *validation_data; /* overrides validation_split       */
    const float *class_weight;    /* weight per class id, or NULL          */
    int n_class_weight;           /* entries in class_weight               */
    int initial_epoch;            /* 0: resume numbering / schedules       */
    FILE *progress;               /* Keras progress bar; NULL = silent     */
    sn_batch_callback on_batch_end; /* NULL = none                         */
    sn_epoch_callback on_epoch_end; /* NULL = none; may stop training      */
    void *user;                   /* handed to both callbacks              */
    const sn_early_stopping_opts *early_stopping; /* NULL = off            */
    const sn_reduce_lr_opts *reduce_lr;           /* NULL = off            */
    const sn_checkpoint_opts *checkpoint;         /* NULL = off            */
    const sn_csv_logger_opts *csv_logger;         /* NULL = off            */
} sn_fit_opts;
#define SN_FIT_OPTS_INIT \
    { sizeof(sn_fit_opts), 1, 32, 1, 0.0f, NULL, NULL, 0, 0, NULL, NULL, \
      NULL, NULL, NULL, NULL, NULL, NULL }

/* Trains a compiled model (Keras fit).  If history is not NULL it receives
 * a new history the caller frees with sn_history_free (also on failure,
 * holding the epochs completed).  Stopping by callback or early stopping
 * is a success. */
SN_API sn_status sn_model_fit(sn_model_t *model, const sn_dataset *train,
                              const sn_fit_opts *opts,
                              sn_history_t **history);

/* ---- fit from a batch-producing callback (issue 15 item 6) -------------
 * For data that does not fit in memory or is made on the fly (Keras
 * fit(generator, steps_per_epoch, validation_data=generator,
 * validation_steps)).  The producer fills *out with one batch: batch (the
 * rows, >= 1) and pointers to inputs[k] (one per model input, [batch,
 * ...]), targets[k] (one per output) and optionally sample_weights
 * [batch] and timesteps (for SN_ANY_TIME inputs).  The pointers must stay
 * valid until the producer is called again (or fit returns).  Return 1
 * for a batch, 0 at the end of the data (the epoch, or the validation,
 * ends there), or a negative sn_status to stop fit with that status. */
typedef struct sn_batch {
    size_t size;                   /* sizeof(sn_batch), set by the library  */
    int batch;                     /* rows in this batch                    */
    const void *const *inputs;     /* one per model input                   */
    const float *const *targets;   /* one per model output                  */
    const float *sample_weights;   /* [batch] or NULL                       */
    const int *timesteps;          /* per input, for SN_ANY_TIME, or NULL   */
} sn_batch;
/* The batch producer: fills *out for batch `step` (0-based, restarting
 * every epoch) of `epoch`; returns 1, 0 at the end of the data, or a
 * negative sn_status. */
typedef int (*sn_batch_fn)(void *user, int epoch, int step, sn_batch *out);

/* Where the batches come from. */
typedef struct sn_generator_opts {
    size_t size;                   /* sizeof(sn_generator_opts)             */
    sn_batch_fn next;              /* required: the training batches        */
    void *user;                    /* handed to next                        */
    int steps_per_epoch;           /* > 0: batches per epoch; 0: until next
                                      returns 0 (each epoch)                */
    sn_batch_fn validation_next;   /* NULL = no generated validation        */
    void *validation_user;         /* handed to validation_next             */
    int validation_steps;          /* > 0: batches; 0: until it returns 0   */
} sn_generator_opts;
#define SN_GENERATOR_OPTS_INIT \
    { sizeof(sn_generator_opts), NULL, NULL, 0, NULL, NULL, 0 }

/* sn_model_fit with the training batches from gen->next: the same
 * progress bar, history, callbacks, early stopping, learning-rate
 * reduction, checkpoints and CSV log.  Validation comes from
 * gen->validation_next or from opts->validation_data (not both);
 * validation_split, shuffle and class_weight do not apply to generated
 * data (validation_split and class_weight are refused; shuffle is the
 * producer's business).  An epoch that gets no batch at all is an error
 * (SN_ERR_INVALID_ARG), as is a batch with rows < 1 or a NULL pointer. */
SN_API sn_status sn_model_fit_generator(sn_model_t *model,
                                        const sn_generator_opts *gen,
                                        const sn_fit_opts *opts,
                                        sn_history_t **history);

/* Loss and metrics over a data set in batches (inference mode), written to
 * results[0 .. max_results-1] in sn_model_metric_name order. */
SN_API sn_status sn_model_evaluate(sn_model_t *model, const sn_dataset *data,
                                   int batch_size, double *results,
                                   int max_results);

/* sn_model_predict over n samples, batch_size at a time. */
SN_API sn_status sn_model_predict_batches(sn_model_t *model, int n,
                                          const void *const *inputs,
                                          const int *timesteps,
                                          float *const *outputs,
                                          int batch_size);

/* History: per-epoch values of "loss", metrics, "val_loss", "val_<metric>"
 * and "lr".  All strings and arrays are owned by the history. */
SN_API void sn_history_free(sn_history_t *history);
SN_API int sn_history_epochs(const sn_history_t *history);
SN_API int sn_history_num_keys(const sn_history_t *history);
SN_API const char *sn_history_key(const sn_history_t *history, int i);
/* The values of key, one per epoch, or NULL if there is no such key. */
SN_API const double *sn_history_values(const sn_history_t *history,
                                       const char *key);
/* The epoch (0-based, counted from initial_epoch) training stopped at
 * early, or -1 if it ran all epochs. */
SN_API int sn_history_stopped_epoch(const sn_history_t *history);

/* ------------------------------------------------------------------------ */
/* Data-parallel training: collective operations                            */
/* ------------------------------------------------------------------------ */
/* Several processes, each with a replica of the same model, train it
 * together: every process runs the same calls, each on its share of the
 * data, and these three hooks combine their numbers.  The library names no
 * transport; libseqnet-mpi (seqnet_mpi.h) fills them in over MPI, and
 * docs/DISTRIBUTED.md describes the protocol.  The hooks are collectives:
 * every process calls them in the same order with the same n.  A hook
 * returns SN_OK or an error status (the transport failed; the library
 * passes it on and stops). */
typedef struct sn_collectives {
    size_t size;   /* sizeof(sn_collectives)                              */
    int rank;      /* this process, 0 .. world - 1                        */
    int world;     /* processes in the group (>= 1)                       */
    void *user;    /* handed to the hooks                                 */
    /* values[0 .. n) := their element-wise sum over every process */
    sn_status (*sum_f64)(void *user, double *values, size_t n);
    /* the same for floats: the gradient, one call over all of it */
    sn_status (*sum_f32)(void *user, float *values, size_t n);
    /* data[0 .. bytes) := process 0's data */
    sn_status (*broadcast)(void *user, void *data, size_t bytes);
} sn_collectives;
#define SN_COLLECTIVES_INIT { sizeof(sn_collectives), 0, 1, NULL, NULL, NULL, NULL }

/* Makes model (built here if it is not yet) a replica trained
 * data-parallel; a collective call on every process of the group.
 * Process 0's weights, seed (it orders fit's shuffles), dropout pass
 * counter and, when it has any (a resumed run), optimizer state are
 * copied to every process (that process's sn_model_optimizer pointer then
 * changes); processes whose models differ in their weight count all fail
 * with SN_ERR_INVALID_ARG.  From then on sn_model_train_on_batch averages
 * the gradient over the processes (weighted by their batch sizes) before
 * the optimizer step, and a failure in one process's step fails the step
 * on all; sn_model_fit (every process passes the whole data set and the
 * same options; batch_size is per process) splits each epoch's batches
 * and its validation over the processes, reports the combined loss and
 * metrics on all of them, and prints and saves checkpoints only on
 * process 0.  c is copied; NULL (or world 1) detaches.  Dropout masks
 * differ per process (a stream derived from the rank), so a run is
 * reproducible for a given number of processes. */
SN_API sn_status sn_model_set_collectives(sn_model_t *model,
                                          const sn_collectives *c);

/* ------------------------------------------------------------------------ */
/* Saving and loading                                                        */
/* ------------------------------------------------------------------------ */
/* Saves the model (config, graph, weights and, with include_optimizer, the
 * compiled loss, metrics and optimizer state) in the format of
 * docs/FORMAT.md.  Atomic: writes a temporary file in the same folder,
 * flushes it to disk and renames it over path, so an interrupted save
 * never destroys an earlier file. */
SN_API sn_status sn_model_save(sn_model_t *model, const char *path,
                               int include_optimizer);
/* The same into a new buffer *data of *len bytes; free it with sn_free. */
SN_API sn_status sn_model_save_buffer(sn_model_t *model,
                                      int include_optimizer, void **data,
                                      size_t *len);
/* Loads a model saved by sn_model_save; *model receives a new model the
 * caller owns (NULL on failure).  Truncated, corrupt, foreign or newer
 * files give SN_ERR_FORMAT / SN_ERR_VERSION / SN_ERR_IO with a message. */
SN_API sn_status sn_model_load(const char *path, sn_model_t **model);
SN_API sn_status sn_model_load_buffer(const void *data, size_t len,
                                      sn_model_t **model);
/* Frees memory the library handed to the caller (sn_model_save_buffer). */
SN_API void sn_free(void *ptr);

/* ------------------------------------------------------------------------ */
/* Masks for float sequences (docs/LAYERS.md, "Masking")                     */
/* ------------------------------------------------------------------------ */
/* Masking (Keras): input [time, features] float.  A step is padding when
 * ALL its features equal mask_value; padded steps output zeros and the
 * layer emits a mask that the layers downstream honour like Embedding's
 * mask_zero (recurrent layers skip padded steps, pooling and attention
 * leave them out).  mask_value must be finite.  Returns a new layer owned
 * by the caller until applied, or NULL. */
SN_API sn_layer_t *sn_masking(float mask_value);

/* sn_model_forward with per-row lengths: lengths[k] (NULL entries allowed;
 * lengths itself may be NULL) holds batch lengths for input k, which must
 * be a float sequence; steps t >= lengths[k][b] are padding, exactly as if
 * a Masking layer had masked them, but the input values are passed on
 * unchanged.  Each length lies in [0, time]. */
SN_API sn_status sn_model_forward_lengths(sn_model_t *model, int batch,
                                          const void *const *inputs,
                                          const int *timesteps,
                                          const int *const *lengths,
                                          int training);
/* sn_model_predict with per-row lengths (as sn_model_forward_lengths). */
SN_API sn_status sn_model_predict_lengths(sn_model_t *model, int batch,
                                          const void *const *inputs,
                                          const int *timesteps,
                                          const int *const *lengths,
                                          float *const *outputs);

/* ------------------------------------------------------------------------ */
/* Intermediate tensors                                                      */
/* ------------------------------------------------------------------------ */
/* The value of any float tensor (an id from sn_input / sn_apply /
 * sn_apply_n) in the last sn_model_forward (or training step: fit and
 * train_on_batch run one), owned by the model and valid until the next
 * forward.  dims (capacity dims_cap; NULL when dims_cap is 0) receives
 * the shape, batch first, at most dims_cap entries; *rank (may be NULL)
 * the full rank.  NULL with a message for an unknown id, an int32 tensor
 * (token ids), or before any forward. */
SN_API const float *sn_model_tensor_value(const sn_model_t *model,
                                          int tensor, int *dims,
                                          int dims_cap, int *rank);

#ifdef __cplusplus
}
#endif

#endif /* SEQNET_H */

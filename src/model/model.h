/*
 * model.h - the model's internal layout, shared by the files that build,
 * run, describe and expose it (model_graph.c, exec.c, model_weights.c,
 * summary.c).  Layers never see it: they go through sn_call and sn_build.
 */
#ifndef SN_MODEL_H
#define SN_MODEL_H

#include <pthread.h>

#include "internal.h"

/* A graph edge: one output of one node. */
typedef struct sn_tensor {
    sn_shape shape;  /* per-sample shape, -1 where given at call time */
    int node;        /* producing node                                */
    int slot;        /* which output of that node                     */
} sn_tensor;

/* One application of a layer. */
typedef struct sn_node {
    sn_layer *layer;
    int *in;         /* tensor ids                                     */
    int n_in;
    int first_out;   /* outputs are the tensor ids first_out ..        */
    int n_out;       /* .. first_out + n_out - 1                       */
} sn_node;

/* One weight tensor, a slice of the model's flat arrays. */
typedef struct sn_weight {
    char *name;      /* "<layer>/<weight>"                             */
    int rank;
    int dim[SN_MAX_RANK];
    size_t offset;   /* into values[] and grads[]                      */
    size_t count;
    sn_initializer init;
    int fan_in, fan_out;
    int node;        /* owning node                                    */
} sn_weight;

/* What other files hang on a model: the model frees each through the
 * function it was given (sn_model_attach), so the graph calls none of them
 * by name and the arrows run one way (training, text -> model).  Freed in
 * this order. */
typedef enum sn_model_part {
    SN_PART_WORKSPACES,  /* executors of forward/backward and predict   */
    SN_PART_TRAINING,    /* compile state: loss, metrics, optimizer     */
    SN_PART_VECTORIZER,  /* a text vectorizer                           */
    SN_PART_TOKENIZER,   /* a Keras Tokenizer (text/tokenizer_io.c)      */
    SN_PART_BPE,         /* a BPE tokenizer (text/bpe_io.c)              */
    SN_MODEL_PARTS
} sn_model_part;
typedef void (*sn_model_part_free)(sn_model *m);

/* A metric the user registered with sn_model_add_metric. */
typedef struct sn_user_metric {
    char *name;
    sn_metric_fn fn;
    void *user;
} sn_user_metric;

struct sn_model {
    sn_mem mem;
    char *name;
    uint64_t seed;

    sn_node *nodes;
    int n_nodes, cap_nodes;
    sn_tensor *tensors;
    int n_tensors, cap_tensors;
    int *inputs;     /* tensor ids of the Input nodes, in order        */
    int n_inputs, cap_inputs;
    int *outputs;
    int n_outputs;

    bool built;
    sn_weight *weights;
    int n_weights, cap_weights;
    float *values;   /* every weight, one array                        */
    float *grads;    /* their gradients, same layout                   */
    size_t n_values;

    sn_exec *train_exec;    /* workspace of sn_model_forward/backward */
    /* Workspaces of finished predicts, reused so that a steady stream of
     * predicts allocates nothing; the lock makes concurrent predicts safe. */
    pthread_mutex_t pool_lock;
    sn_exec *pool[4];
    int n_pool;
    uint64_t forward_calls; /* numbers the dropout streams           */
    /* The threads a call is split over (model_threads.c): requested
     * count (0 = default) and the pool, started by sn_model_build. */
    int n_threads;
    struct sn_pool *threads;

    /* set by sn_model_compile (model_compile.c) */
    bool compiled;
    sn_optimizer_t *optimizer;
    sn_loss_opts loss;
    sn_metric_kind *metrics;        /* as resolved: never SN_METRIC_ACCURACY */
    int n_metrics;
    sn_user_metric *user_metrics;
    int n_user_metrics;
    char **metric_names;            /* "loss", metrics..., user metrics     */
    int n_metric_names;
    float *loss_grad;               /* dLoss/dy for each output, one array  */
    size_t loss_grad_cap;

    /* set by sn_model_set_vectorizer (text/vectorizer_model.c) or NULL */
    struct sn_vectorizer *vectorizer;
    /* set by sn_model_set_tokenizer / sn_model_set_bpe (text/) or NULL */
    struct sn_tokenizer *tokenizer;
    struct sn_bpe *bpe;

    /* set by sn_model_set_collectives (train/collectives.c); world 0 when
     * the model trains alone */
    sn_collectives collectives;

    /* how to free each part, given by the file that attached it */
    sn_model_part_free part_free[SN_MODEL_PARTS];
};

/* Makes sn_model_free call free_fn(m) for part (the last call wins; the
 * same function may be given again). */
void sn_model_attach(sn_model *m, sn_model_part part,
                     sn_model_part_free free_fn);

/* The model's thread pool (model_threads.c): started when the model is
 * built (SN_ERR_NOMEM fails the build), stopped when it is freed. */
sn_status sn_model_start_threads(sn_model *m);
void sn_model_stop_threads(sn_model *m);

/* Input nodes are layers of this type. */
extern const sn_layer_ops sn_input_layer_ops;
bool sn_node_is_input(const sn_model *m, int node);

/* Layer lifetime (layer.c). */
void sn_layer_destroy(sn_layer *l);

/* The executor (exec.c): buffers for one concrete batch. */
sn_exec *sn_exec_new(const sn_model *m, float *weight_grads);
void sn_exec_free(sn_exec *e);
sn_status sn_exec_forward(sn_exec *e, int batch, const void *const *inputs,
                          const int *timesteps, bool training,
                          uint64_t dropout_seed);
/* input_grads: also fill the model inputs' gradients (sn_model_backward);
 * a training step leaves them out. */
sn_status sn_exec_backward(sn_exec *e, const float *const *output_grads,
                           bool input_grads);
/* Elements per sample of every tensor for these input lengths. */
sn_status sn_exec_shapes(sn_exec *e, const int *timesteps, size_t *counts);
/* The value of tensor id after a forward, or NULL. */
const sn_value *sn_exec_value(const sn_exec *e, int tensor);
int sn_exec_batch(const sn_exec *e);
/* A node's scratch memory after a forward (NULL before), for layers'
 * introspection calls. */
void *sn_exec_node_scratch(const sn_exec *e, int node, size_t *bytes);
bool sn_exec_has_backward(const sn_exec *e);
/* A backward has run and it filled the model inputs' gradients. */
bool sn_exec_has_input_grads(const sn_exec *e);

#endif /* SN_MODEL_H */

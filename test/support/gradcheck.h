/*
 * gradcheck.h - finite-difference gradient checks of a whole model.
 *
 * The loss is L = sum_k sum_i w_k,i * y_k,i over every output y_k of the
 * model, with fixed pseudo-random w_k in [-1, 1), so dL/dy_k = w_k is what
 * sn_model_backward receives.  The analytic gradients of every weight and
 * of every float input are compared with central differences of L.
 */
#ifndef SN_TEST_GRADCHECK_H
#define SN_TEST_GRADCHECK_H

#include <stddef.h>
#include <stdint.h>

#include <seqnet.h>

enum { TK_GRAD_MAX_INPUTS = 8 };

/* A model plus the batch it is checked on. */
typedef struct tk_grad_case {
    sn_model_t *m;   /* built, with the weights the test wants */
    int batch;
    int n_inputs;
    void *inputs[TK_GRAD_MAX_INPUTS];    /* float * or int32_t *           */
    size_t in_count[TK_GRAD_MAX_INPUTS]; /* elements, batch included       */
    int in_float[TK_GRAD_MAX_INPUTS];    /* 1 = float (perturbed), 0 = ids */
    int training;         /* the training flag of every forward           */
    const int *timesteps; /* lengths of SN_ANY_TIME inputs, or NULL       */
} tk_grad_case;

/* How a check perturbs and what it accepts. */
typedef struct tk_grad_opts {
    float eps;          /* the central-difference step                     */
    double rtol, atol;  /* bad when |a - n| > atol + rtol * max(|a|, |n|) */
    uint32_t seed_step; /* w_k is seeded wseed + k * seed_step             */
} tk_grad_opts;

/* eps 1e-3, rtol 1e-2, atol 1e-3, seed_step 1: what most layers pass. */
extern const tk_grad_opts tk_grad_defaults;

typedef struct tk_grad_result {
    int checked, bad;
    double max_abs_grad; /* so a test can insist the gradient is not all 0 */
} tk_grad_result;

/* Runs the forward pass of g (asserting that it succeeds). */
void tk_grad_forward(tk_grad_case *g);

/* A forward pass, then L with w[k] weighting output k (every output must
 * be finite). */
double tk_grad_loss(tk_grad_case *g, float *const *w);

/* Compares every weight and float-input gradient of g->m with central
 * differences; the first few mismatches are printed to stderr. */
tk_grad_result tk_grad_check(tk_grad_case *g, uint32_t wseed,
                             const tk_grad_opts *o);

/* What a masked check adds (tk_grad_check_masked). */
typedef struct tk_grad_mask {
    /* per-row lengths of float sequence inputs, given to
     * sn_model_forward_lengths, or NULL */
    const int *const *lengths;
    /* per input, NULL or one flag per element: 1 = not perturbed (e.g. a
     * padded step that Masking recognises by its exact value, which a
     * perturbation would turn into a real step); the caller checks those
     * gradients itself */
    const unsigned char *frozen[TK_GRAD_MAX_INPUTS];
} tk_grad_mask;

/* tk_grad_check with every forward given mk->lengths and the elements
 * mk->frozen marks left alone. */
tk_grad_result tk_grad_check_masked(tk_grad_case *g, const tk_grad_mask *mk,
                                    uint32_t wseed, const tk_grad_opts *o);

/* Something was checked, nothing differed, and not every gradient was 0. */
void tk_expect_good_grads(tk_grad_result r, const char *what);

#endif

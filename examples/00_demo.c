/*
 * examples/00_demo.c - a first look at libseqnet: learning XOR.
 *
 * The smallest example (`make demo` runs example 03 instead; this one is
 * built by `make examples`).  The course examples 01..04 use the high-level
 * API; this one only shows the moving parts of the low-level API on a
 * problem small enough to read in one sitting:
 *
 *   1. build a model:       input(2) -> Dense(8, tanh) -> Dense(1, sigmoid)
 *   2. train it by hand:    forward, loss, gradient of the loss, backward,
 *                           and a plain SGD update written out in full
 *   3. use it:              sn_model_predict on the four XOR points
 *
 * There is no optimiser or loss function from the library here on purpose:
 * everything the training loop does is spelled out below, using only the
 * low-level calls declared in seqnet.h.
 *
 * Build and run:   make examples && build/openblas/examples/00_demo
 * Exit status:     0 if the model classifies all four points correctly.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <seqnet.h>

/* Every libseqnet call that can fail returns a status (or a negative id, or
 * NULL) and leaves a message in sn_last_error().  This helper prints both
 * and tells the caller to give up. */
static int failed(const char *what, int status)
{
    if (status >= 0)
        return 0;
    fprintf(stderr, "00_demo: %s failed: %s (%s)\n", what,
            sn_strerror((sn_status)status), sn_last_error());
    return 1;
}

/* The XOR truth table: two inputs, one target. */
enum { N_SAMPLES = 4, N_FEATURES = 2 };
static const float X[N_SAMPLES * N_FEATURES] = {
    0.0f, 0.0f,
    0.0f, 1.0f,
    1.0f, 0.0f,
    1.0f, 1.0f,
};
static const float Y[N_SAMPLES] = { 0.0f, 1.0f, 1.0f, 0.0f };

int main(void)
{
    printf("libseqnet %s - built-in demo: a tiny network learns XOR.\n"
           "(The course examples are 01..04; this one shows the "
           "low-level training API.)\n\n", sn_version());

    /* ---- 1. Build the model ------------------------------------------ */
    /* A fixed seed makes weight initialisation, and so the whole run,
     * deterministic. */
    sn_model_opts opts = SN_MODEL_OPTS_INIT;
    opts.seed = 1234;
    opts.name = "xor";
    sn_model_t *m = sn_model_new(&opts);
    if (!m) {
        failed("sn_model_new", SN_ERR_NOMEM);
        return 1;
    }
    int rc = 1;

    /* A flat input of 2 features (SN_NO_TIME: no time axis).  The layers
     * are handed to the model, which owns them from then on, even if a
     * call fails -- so there is nothing to free here. */
    if (failed("sn_input", sn_input(m, SN_NO_TIME, N_FEATURES)) ||
        failed("sn_model_add(dense 8)",
               sn_model_add(m, sn_dense(8, SN_TANH, NULL))) ||
        failed("sn_model_add(dense 1)",
               sn_model_add(m, sn_dense(1, SN_SIGMOID, NULL))) ||
        failed("sn_model_build", sn_model_build(m)) ||
        failed("sn_model_summary", sn_model_summary(m, stdout)))
        goto out;
    printf("\n");

    /* ---- 2. Train: full-batch gradient descent ------------------------ */
    const float lr = 0.5f;
    const int epochs = 2000;
    const int n_weights = sn_model_num_weights(m);
    if (failed("sn_model_num_weights", n_weights))
        goto out;

    const void *inputs[1] = { X };
    float dy[N_SAMPLES]; /* dLoss/d(output), one per sample */
    const float *output_grads[1] = { dy };
    float loss = 0.0f;

    for (int epoch = 1; epoch <= epochs; epoch++) {
        /* Forward pass over the whole batch of 4, keeping what backward
         * needs (training = 1). */
        if (failed("sn_model_forward",
                   sn_model_forward(m, N_SAMPLES, inputs, NULL, 1)))
            goto out;
        const float *p = sn_model_output(m, 0, NULL, 0, NULL);
        if (!p) {
            failed("sn_model_output", SN_ERR_STATE);
            goto out;
        }

        /* Binary cross-entropy, averaged over the batch:
         *     L = -1/N sum( y log p + (1 - y) log(1 - p) )
         * and its derivative with respect to each prediction p:
         *     dL/dp = (p - y) / (p (1 - p)) / N
         * p is clamped away from 0 and 1 so the logs stay finite. */
        loss = 0.0f;
        for (int i = 0; i < N_SAMPLES; i++) {
            float pi = fminf(fmaxf(p[i], 1e-7f), 1.0f - 1e-7f);
            loss -= Y[i] * logf(pi) + (1.0f - Y[i]) * logf(1.0f - pi);
            dy[i] = (pi - Y[i]) / (pi * (1.0f - pi)) / N_SAMPLES;
        }
        loss /= N_SAMPLES;

        /* Backward adds gradients into the model's gradient buffers, so
         * clear them first. */
        if (failed("sn_model_zero_grad", sn_model_zero_grad(m)) ||
            failed("sn_model_backward", sn_model_backward(m, output_grads)))
            goto out;

        /* SGD: w -= lr * dL/dw for every weight tensor (kernels and
         * biases), read and written in place through the model's views. */
        for (int w = 0; w < n_weights; w++) {
            size_t count = 0, gcount = 0;
            float *data = sn_model_weight_data(m, w, &count);
            const float *grad = sn_model_weight_grad(m, w, &gcount);
            if (!data || !grad || count != gcount) {
                failed("sn_model_weight_data/grad", SN_ERR_STATE);
                goto out;
            }
            for (size_t k = 0; k < count; k++)
                data[k] -= lr * grad[k];
        }

        if (epoch == 1 || epoch % 250 == 0)
            printf("epoch %4d  loss %.5f\n", epoch, (double)loss);
    }

    /* ---- 3. Use it ---------------------------------------------------- */
    /* sn_model_predict writes into our own buffer and does not disturb the
     * training state. */
    float pred[N_SAMPLES];
    float *outputs[1] = { pred };
    if (failed("sn_model_predict",
               sn_model_predict(m, N_SAMPLES, inputs, NULL, outputs)))
        goto out;

    int correct = 0;
    printf("\n  x1  x2  target  prediction\n");
    for (int i = 0; i < N_SAMPLES; i++) {
        int label = pred[i] >= 0.5f;
        correct += label == (int)Y[i];
        printf("  %2.0f  %2.0f  %6.0f  %10.4f  %s\n", (double)X[2 * i],
               (double)X[2 * i + 1], (double)Y[i], (double)pred[i],
               label == (int)Y[i] ? "ok" : "WRONG");
    }
    printf("\n%d of %d correct, final loss %.5f\n", correct, N_SAMPLES,
           (double)loss);
    rc = correct == N_SAMPLES ? 0 : 1;
    if (rc)
        fprintf(stderr, "00_demo: the model did not learn XOR\n");

out:
    sn_model_free(m);
    return rc;
}

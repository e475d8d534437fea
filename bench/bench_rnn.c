/*
 * bench_rnn.c - libseqnet recurrent-layer benchmark (`make bench`, issue 4 item 9).
 *
 * Uses only the public API (include/seqnet.h) and links lib/libseqnet.so.
 * Shapes and models follow ../shared/bench/README.md (B=64, T=256, E=128,
 * vocab 20000, H=128), so the numbers line up with torch_bench.py and
 * onednn_lstm.c run on the same machine by bench/run.sh:
 *
 *   core  float input (64,256,128) -> LSTM(128) last step -> Dense(1),
 *         BCE from logits, Adam(1e-3)            (torch_bench.py's CoreLSTM)
 *   i     tokens (64,256) -> Embedding(20000,128) -> LSTM(128) -> Dense(1, sigmoid), BCE, Adam
 *   ii    the same with GRU(128)  (reset_after, the Keras 2+/cuDNN form)
 *   iii   the same with SimpleRNN(128)
 *   iv    tokens -> Embedding -> Bidirectional(LSTM(64), all steps) ->
 *         additive attention pooling -> Dense(1) logits, BCE, Adam
 *   v     (64,60,5) -> Conv1D(64,3,causal,relu) -> Conv1D(32,3,causal,relu)
 *         -> LSTM(128, seq) -> LSTM(64) -> Dense(64,relu) -> Dense(30), MSE
 *   lat1  model (i), sn_model_predict at batch 1
 *
 * A training step is one sn_model_train_on_batch (forward, loss, backward,
 * optimizer step); inference is one sn_model_predict.  Each measurement runs
 * `--warmup` untimed iterations, then `--steps` timed ones, and reports the
 * median / min / max ms, sequences per second and GFLOP/s, where the FLOPs are
 * those of the recurrent GEMMs only: forward 2*B*T*(E+H)*G*H (G = 4 LSTM,
 * 3 GRU, 1 SimpleRNN), a training step counted as 3x forward -- the same
 * convention as torch_bench.py and onednn_lstm.c.
 *
 * usage: bench_rnn [--steps N] [--warmup N] [--models core,i,ii,iii,iv,v,lat1]
 *                  [--threads N] [--print-isa]
 * --threads N sets SN_NUM_THREADS=N before any model is built, so every
 * model splits its work over N threads (the peers get the same N); without
 * it the library's default applies (the CPUs of the affinity mask).  The
 * kernels' instruction-set path (sn_cpu_isa; force one with SN_CPU) is
 * printed with the results; --print-isa prints only it and exits.
 *
 * Besides the table, every measurement is printed as one machine-readable
 * line, e.g. "RESULT libseqnet core train_ms 123.4" (keys: train_ms,
 * train_seq_s, train_gflops, infer_ms, infer_seq_s, infer_gflops, lat1_ms).
 * Exit status: 0 if every requested (buildable) model ran, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L
#include <seqnet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { B = 64, T = 256, E = 128, V = 20000, H = 128 };

static int g_steps = 25, g_warmup = 3;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Deterministic pseudo-random numbers (xorshift64*), independent of libc. */
static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd_u32(void) {
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return (uint32_t)((g_rng * 0x2545F4914F6CDD1Dull) >> 32);
}
static float rnd_f(void) { return (float)rnd_u32() / 4294967296.0f * 2.0f - 1.0f; }

typedef struct stats {
    double med, min, max;
} stats;

static stats summarize(double *t, int n) {
    stats s;
    qsort(t, (size_t)n, sizeof *t, cmp_d);
    s.med = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
    s.min = t[0];
    s.max = t[n - 1];
    return s;
}

typedef struct bench_model {
    const char *key;      /* core, i, ii, iii, lat1 */
    const char *desc;
    char cell;            /* 'L' LSTM, 'G' GRU, 'R' SimpleRNN */
    int tokens;           /* Embedding input (int32) or float input */
} bench_model;

static const bench_model MODELS[] = {
    {"core", "LSTM(128), float in", 'L', 0},
    {"i", "Emb->LSTM(128)->Dense", 'L', 1},
    {"ii", "Emb->GRU(128)->Dense", 'G', 1},
    {"iii", "Emb->SimpleRNN(128)->Dense", 'R', 1},
};

static int gates_of(char cell) { return cell == 'L' ? 4 : cell == 'G' ? 3 : 1; }

/* forward GEMM GFLOP of the recurrent layer for batch b */
static double fwd_gflop(char cell, int b) {
    return 2.0 * b * T * (double)(E + H) * gates_of(cell) * H / 1e9;
}

static void fail(const char *what) {
    fprintf(stderr, "bench_rnn: %s failed: %s\n", what, sn_last_error());
}

/* Builds and compiles the model; NULL (with a message) on failure. */
static sn_model_t *build(const bench_model *bm) {
    sn_model_opts mo = SN_MODEL_OPTS_INIT;
    mo.seed = 42;
    mo.name = bm->key;
    sn_model_t *m = sn_model_new(&mo);
    if (!m) {
        fail("sn_model_new");
        return NULL;
    }
    int x;
    if (bm->tokens) {
        x = sn_input_tokens(m, T);
        x = sn_apply(m, sn_embedding(V, E, NULL), x);
    } else {
        x = sn_input(m, T, E);
    }
    sn_layer_t *rnn = bm->cell == 'L'   ? sn_lstm(H, NULL)
                      : bm->cell == 'G' ? sn_gru(H, NULL)
                                        : sn_simple_rnn(H, NULL);
    if (!rnn) {
        fail(bm->cell == 'L' ? "sn_lstm" : bm->cell == 'G' ? "sn_gru" : "sn_simple_rnn");
        sn_model_free(m);
        return NULL;
    }
    x = sn_apply(m, rnn, x);
    /* core: logits + BCE from logits (as torch's Linear + BCEWithLogitsLoss);
     * i-iii: Dense(1, sigmoid) + BCE on probabilities (the Keras form). */
    x = sn_apply(m, sn_dense(1, bm->tokens ? SN_SIGMOID : SN_LINEAR, NULL), x);
    if (x < 0 || sn_model_build(m) != SN_OK) {
        fail("building the model");
        sn_model_free(m);
        return NULL;
    }
    sn_optimizer_opts oo;
    sn_optimizer_defaults(SN_ADAM, &oo);
    oo.learning_rate = 1e-3f;
    sn_loss_opts lo = SN_LOSS_OPTS_INIT;
    lo.kind = SN_LOSS_BINARY_CROSSENTROPY;
    lo.from_logits = !bm->tokens;
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.optimizer = sn_optimizer_new(&oo);
    co.loss = &lo;
    if (!co.optimizer || sn_model_compile(m, &co) != SN_OK) {
        fail("sn_model_compile");
        sn_model_free(m);
        return NULL;
    }
    return m;
}

/* Input data for batch b: int32 tokens or floats. */
static void *make_input(const bench_model *bm, int b) {
    size_t n = (size_t)b * T * (bm->tokens ? 1 : E);
    if (bm->tokens) {
        int32_t *p = malloc(n * sizeof *p);
        if (p)
            for (size_t k = 0; k < n; k++) p[k] = (int32_t)(rnd_u32() % V);
        return p;
    }
    float *p = malloc(n * sizeof *p);
    if (p)
        for (size_t k = 0; k < n; k++) p[k] = rnd_f();
    return p;
}

static void result(const char *model, const char *key, double v) {
    printf("RESULT libseqnet %s %s %.3f\n", model, key, v);
}

static void row(const char *model, const char *desc, const char *mode, int batch, stats s, double gflop) {
    printf("%-5s %-28s %-6s %5d %10.2f %10.2f %10.2f %10.1f %9.1f\n", model, desc, mode, batch, s.med, s.min,
           s.max, batch / s.med * 1e3, gflop / s.med * 1e3);
    fflush(stdout);
}

/* Times fn-like loops; returns 0 or -1 (message printed). */
static int time_train(sn_model_t *m, const void *in, const float *tgt, double *t) {
    const void *ins[1] = {in};
    const float *tg[1] = {tgt};
    for (int k = 0; k < g_warmup + g_steps; k++) {
        double t0 = now_ms();
        sn_status st = sn_model_train_on_batch(m, B, ins, NULL, tg, NULL, NULL);
        double t1 = now_ms();
        if (st != SN_OK) {
            fail("sn_model_train_on_batch");
            return -1;
        }
        if (k >= g_warmup) t[k - g_warmup] = t1 - t0;
    }
    return 0;
}

static int time_predict(sn_model_t *m, int batch, const void *in, float *out, double *t) {
    const void *ins[1] = {in};
    float *outs[1] = {out};
    for (int k = 0; k < g_warmup + g_steps; k++) {
        double t0 = now_ms();
        sn_status st = sn_model_predict(m, batch, ins, NULL, outs);
        double t1 = now_ms();
        if (st != SN_OK) {
            fail("sn_model_predict");
            return -1;
        }
        if (k >= g_warmup) t[k - g_warmup] = t1 - t0;
    }
    return 0;
}

/* Runs one of core/i/ii/iii (train + infer at batch 64) or lat1. */
static int run_model(const char *key) {
    int lat1 = strcmp(key, "lat1") == 0;
    const bench_model *bm = NULL;
    for (size_t k = 0; k < sizeof MODELS / sizeof *MODELS; k++)
        if (strcmp(MODELS[k].key, lat1 ? "i" : key) == 0) bm = &MODELS[k];
    if (!bm) {
        fprintf(stderr, "bench_rnn: unknown model '%s'\n", key);
        return -1;
    }
    sn_model_t *m = build(bm);
    if (!m) return -1;
    int rc = -1;
    int batch = lat1 ? 1 : B;
    double *t = malloc((size_t)g_steps * sizeof *t);
    void *in = make_input(bm, batch);
    float *tgt = malloc((size_t)batch * sizeof *tgt);
    float *out = malloc((size_t)batch * sizeof *out);
    if (!t || !in || !tgt || !out) {
        fprintf(stderr, "bench_rnn: out of memory\n");
        goto done;
    }
    for (int k = 0; k < batch; k++) tgt[k] = (float)(rnd_u32() & 1u);
    double gf = fwd_gflop(bm->cell, batch);
    stats s;
    if (!lat1) {
        if (time_train(m, in, tgt, t)) goto done;
        s = summarize(t, g_steps);
        row(key, bm->desc, "train", batch, s, 3 * gf);
        result(key, "train_ms", s.med);
        result(key, "train_seq_s", batch / s.med * 1e3);
        result(key, "train_gflops", 3 * gf / s.med * 1e3);
    }
    if (time_predict(m, batch, in, out, t)) goto done;
    s = summarize(t, g_steps);
    if (lat1) {
        row(key, "model (i) predict, batch 1", "infer", batch, s, gf);
        result(key, "lat1_ms", s.med);
        result(key, "infer_seq_s", batch / s.med * 1e3);
        result(key, "infer_gflops", gf / s.med * 1e3);
    } else {
        row(key, bm->desc, "infer", batch, s, gf);
        result(key, "infer_ms", s.med);
        result(key, "infer_seq_s", batch / s.med * 1e3);
        result(key, "infer_gflops", gf / s.med * 1e3);
    }
    rc = 0;
done:
    free(t);
    free(in);
    free(tgt);
    free(out);
    sn_model_free(m);
    return rc;
}

/* ------------------------------------------------------------------ (iv), (v) */

static sn_status compile_adam(sn_model_t *m, sn_loss_kind loss, int from_logits) {
    sn_optimizer_opts oo;
    sn_optimizer_defaults(SN_ADAM, &oo);
    oo.learning_rate = 1e-3f;
    sn_loss_opts lo = SN_LOSS_OPTS_INIT;
    lo.kind = loss;
    lo.from_logits = from_logits;
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.optimizer = sn_optimizer_new(&oo);
    co.loss = &lo;
    return co.optimizer ? sn_model_compile(m, &co) : SN_ERR_NOMEM;
}

/* (iv) Embedding -> BiLSTM(64, all steps) -> additive attention pooling
 * (score v.tanh(h W + b)) -> Dense(1) logits + BCE, as torch_bench.py. */
static sn_model_t *build_iv(void) {
    sn_model_opts mo = SN_MODEL_OPTS_INIT;
    mo.seed = 42;
    mo.name = "iv";
    sn_model_t *m = sn_model_new(&mo);
    if (!m) return NULL;
    sn_rnn_opts ro = SN_RNN_OPTS_INIT;
    ro.return_sequences = 1;
    sn_attention_opts ao = SN_ATTENTION_OPTS_INIT;
    ao.units = 64;
    int x = sn_apply(m, sn_embedding(V, E, NULL), sn_input_tokens(m, T));
    x = sn_apply(m, sn_bidirectional(sn_lstm(64, &ro), SN_MERGE_CONCAT), x);
    x = sn_apply(m, sn_attention(SN_SCORE_ADDITIVE, &ao), x);
    x = sn_apply(m, sn_dense(1, SN_LINEAR, NULL), x);
    if (x < 0 || compile_adam(m, SN_LOSS_BINARY_CROSSENTROPY, 1) != SN_OK) {
        fail("building model iv");
        sn_model_free(m);
        return NULL;
    }
    return m;
}

enum { TS_T = 60, TS_F = 5, TS_OUT = 30 };

/* (v) (60, 5) -> Conv1D(64, 3, causal, relu) -> Conv1D(32, 3, causal, relu)
 * -> LSTM(128, seq) -> LSTM(64) -> Dense(64, relu) -> Dense(30) + MSE. */
static sn_model_t *build_v(void) {
    sn_model_opts mo = SN_MODEL_OPTS_INIT;
    mo.seed = 42;
    mo.name = "v";
    sn_model_t *m = sn_model_new(&mo);
    if (!m) return NULL;
    sn_conv1d_opts co = SN_CONV1D_OPTS_INIT;
    co.padding = SN_PAD_CAUSAL;
    co.activation = SN_RELU;
    sn_rnn_opts seq = SN_RNN_OPTS_INIT;
    seq.return_sequences = 1;
    int x = sn_input(m, TS_T, TS_F);
    x = sn_apply(m, sn_conv1d(64, 3, &co), x);
    x = sn_apply(m, sn_conv1d(32, 3, &co), x);
    x = sn_apply(m, sn_lstm(128, &seq), x);
    x = sn_apply(m, sn_lstm(64, NULL), x);
    x = sn_apply(m, sn_dense(64, SN_RELU, NULL), x);
    x = sn_apply(m, sn_dense(TS_OUT, SN_LINEAR, NULL), x);
    if (x < 0 || compile_adam(m, SN_LOSS_MSE, 0) != SN_OK) {
        fail("building model v");
        sn_model_free(m);
        return NULL;
    }
    return m;
}

static double lstm_gflop(int b, int t, int e, int h) {
    return 2.0 * b * t * 4.0 * h * (e + h) / 1e9;
}

/* Times training and batch-64 inference of a built model. */
static int run_built(const char *key, const char *desc, sn_model_t *m, const void *in, const float *tgt,
                     size_t out_floats, double gf) {
    int rc = -1;
    double *t = malloc((size_t)g_steps * sizeof *t);
    float *out = malloc(out_floats * sizeof *out);
    if (!t || !out) goto done;
    if (time_train(m, in, tgt, t)) goto done;
    stats s = summarize(t, g_steps);
    row(key, desc, "train", B, s, 3 * gf);
    result(key, "train_ms", s.med);
    result(key, "train_seq_s", B / s.med * 1e3);
    result(key, "train_gflops", 3 * gf / s.med * 1e3);
    if (time_predict(m, B, in, out, t)) goto done;
    s = summarize(t, g_steps);
    row(key, desc, "infer", B, s, gf);
    result(key, "infer_ms", s.med);
    result(key, "infer_seq_s", B / s.med * 1e3);
    result(key, "infer_gflops", gf / s.med * 1e3);
    rc = 0;
done:
    free(t);
    free(out);
    return rc;
}

static int run_iv(void) {
    sn_model_t *m = build_iv();
    int32_t *in = malloc((size_t)B * T * sizeof *in);
    float *tgt = malloc((size_t)B * sizeof *tgt);
    int rc = -1;
    if (m && in && tgt) {
        for (size_t k = 0; k < (size_t)B * T; k++) in[k] = (int32_t)(rnd_u32() % V);
        for (int k = 0; k < B; k++) tgt[k] = (float)(rnd_u32() & 1u);
        double gf = 2 * lstm_gflop(B, T, E, 64) + (2.0 * B * T * 128 * 64 + 2.0 * B * T * 64) / 1e9;
        rc = run_built("iv", "Emb->BiLSTM(64)+attention", m, in, tgt, B, gf);
    }
    free(in);
    free(tgt);
    sn_model_free(m);
    return rc;
}

static int run_v(void) {
    sn_model_t *m = build_v();
    float *in = malloc((size_t)B * TS_T * TS_F * sizeof *in);
    float *tgt = malloc((size_t)B * TS_OUT * sizeof *tgt);
    int rc = -1;
    if (m && in && tgt) {
        for (size_t k = 0; k < (size_t)B * TS_T * TS_F; k++) in[k] = rnd_f();
        for (size_t k = 0; k < (size_t)B * TS_OUT; k++) tgt[k] = rnd_f();
        double gf = (2.0 * B * TS_T * 64 * 15 + 2.0 * B * TS_T * 32 * 192) / 1e9 + lstm_gflop(B, TS_T, 32, 128) +
                    lstm_gflop(B, TS_T, 128, 64) + 2.0 * B * (64 * 64 + 64 * 30) / 1e9;
        rc = run_built("v", "Conv1D x2->LSTM x2->Dense", m, in, tgt, (size_t)B * TS_OUT, gf);
    }
    free(in);
    free(tgt);
    sn_model_free(m);
    return rc;
}

static void usage(FILE *f) {
    fprintf(f, "usage: bench_rnn [--steps N] [--warmup N] [--models core,i,ii,iii,iv,v,lat1] [--threads N] "
               "[--print-isa]\n");
}

int main(int argc, char **argv) {
    const char *models = "core,i,ii,iii,iv,v,lat1";
    for (int k = 1; k < argc; k++) {
        const char *a = argv[k];
        const char *v = k + 1 < argc ? argv[k + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (v && !strcmp(a, "--steps")) {
            g_steps = atoi(v), k++;
        } else if (v && !strcmp(a, "--warmup")) {
            g_warmup = atoi(v), k++;
        } else if (v && !strcmp(a, "--models")) {
            models = v, k++;
        } else if (v && !strcmp(a, "--threads")) {
            k++;
            if (atoi(v) < 1) {
                usage(stderr);
                return 2;
            }
            setenv("SN_NUM_THREADS", v, 1);
        } else if (!strcmp(a, "--print-isa")) {
            puts(sn_cpu_isa());
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (g_steps < 1 || g_warmup < 0) {
        usage(stderr);
        return 2;
    }
    const char *ob = getenv("OPENBLAS_NUM_THREADS"), *omp = getenv("OMP_NUM_THREADS");
    const char *snt = getenv("SN_NUM_THREADS");
    printf("# libseqnet %s  B=%d T=%d E=%d H=%d vocab=%d  steps=%d warmup=%d  isa=%s  SN_NUM_THREADS=%s "
           "(OPENBLAS_NUM_THREADS=%s OMP_NUM_THREADS=%s)\n",
           sn_version(), B, T, E, H, V, g_steps, g_warmup, sn_cpu_isa(), snt ? snt : "unset (affinity)",
           ob ? ob : "unset", omp ? omp : "unset");
    printf("RESULT libseqnet isa %s\n", sn_cpu_isa());
    printf("# GFLOP/s counts the recurrent GEMMs only: forward 2*B*T*(E+H)*G*H, train = 3x forward\n");
    printf("%-5s %-28s %-6s %5s %10s %10s %10s %10s %9s\n", "model", "description", "mode", "batch", "ms_med",
           "ms_min", "ms_max", "seq/s", "GFLOP/s");

    char *list = strdup(models);
    if (!list) return 1;
    int failed = 0;
    for (char *save = NULL, *key = strtok_r(list, ",", &save); key; key = strtok_r(NULL, ",", &save)) {
        int rc = !strcmp(key, "iv") ? run_iv() : !strcmp(key, "v") ? run_v() : run_model(key);
        if (rc != 0) {
            printf("%-5s FAILED (see stderr)\n", key);
            printf("RESULT libseqnet %s failed\n", key);
            failed = 1;
        }
    }
    free(list);
    return failed;
}

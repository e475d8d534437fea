/*
 * check_rnn.c - tests of the recurrent layers (SimpleRNN, LSTM, GRU in both
 * reset_after forms, Bidirectional) through the public API only.
 *
 * - A plain double-precision reference of the Keras equations (and of the
 *   PyTorch ones for the layout tests) lives in this file; the library's
 *   predictions are compared with it.
 * - Gradient checks (test/support/gradcheck.c) use L = sum_k sum_i
 *   w_k,i * y_k,i over every model output with fixed pseudo-random w, and
 *   compare the analytic weight/input gradients with central differences.
 * - Padded sequences (pre and post, mask_zero) must give the result of the
 *   unpadded sequence; stateful halves must give the whole sequence; weight
 *   layouts must map as docs/RECURRENT.md and KERAS-SEMANTICS.md B1 say.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <seqnet.h>

#include "support/gradcheck.h"
#include "support/testkit.h"

/* ------------------------------------------------------------ helpers */

static void *xmalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    ck_assert_ptr_nonnull(p);
    return p;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static float *wdata(sn_model_t *m, const char *name, size_t expect)
{
    size_t n = 0;
    float *p = tk_weight(m, name, &n);
    ck_assert_msg(expect == 0 || n == expect,
                  "%s has %zu floats, expected %zu", name, n, expect);
    return p;
}

/* Fills every weight of a built model with U(-scale, scale). */
static void randomize_weights(sn_model_t *m, uint32_t seed, float scale)
{
    tk_fill_weights(m, seed, 7919u, scale);
}

static void expect_close(const float *got, const double *want, size_t n,
                         double tol, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        ck_assert_msg(d <= tol * (1.0 + fabs(want[i])),
                      "%s[%zu]: got %.7f, expected %.7f", what, i,
                      (double)got[i], want[i]);
    }
}

static void expect_error(int status, const char *what)
{
    ck_assert_msg(status < 0, "%s: expected an error, got %d", what, status);
    ck_assert_msg(sn_last_error()[0] != '\0', "%s: empty error message",
                  what);
}

/* ------------------------------------------------------ reference cells */

enum { C_SIMPLE = 0, C_LSTM = 1, C_GRU = 2, C_GRU0 = 3, N_CELLS = 4 };
static const char *cell_names[N_CELLS] = {"SimpleRNN", "LSTM", "GRU",
                                          "GRU(reset_after=0)"};

#define MAXU 8
#define MAXGU 32

static int ngates(int cell)
{
    return cell == C_SIMPLE ? 1 : cell == C_LSTM ? 4 : 3;
}

static int nstates(int cell)
{
    return cell == C_LSTM ? 2 : 1;
}

static double actf(sn_activation a, double v)
{
    switch (a) {
    case SN_LINEAR: return v;
    case SN_RELU: return v > 0 ? v : 0;
    case SN_TANH: return tanh(v);
    case SN_SIGMOID: return 1.0 / (1.0 + exp(-v));
    default: ck_abort_msg("reference: activation %d", (int)a);
    }
    return 0;
}

typedef struct rcell {
    int cell, in, u;
    sn_activation act, ract;
    double *K; /* [in, G*u]                                     */
    double *R; /* [u, G*u]                                      */
    double *b; /* [G*u], [2, 3u] for C_GRU, NULL without bias   */
} rcell;

static void rcell_free(rcell *c)
{
    free(c->K);
    free(c->R);
    free(c->b);
    memset(c, 0, sizeof *c);
}

static double *to_double(const float *p, size_t n)
{
    double *d = xmalloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = p[i];
    return d;
}

/* Loads "<prefix>/kernel", "<prefix>/recurrent_kernel", "<prefix>/bias". */
static void rcell_load(rcell *rc, sn_model_t *m, const char *prefix,
                       int cell, int in, int u, int use_bias,
                       sn_activation act, sn_activation ract)
{
    char name[256];
    int GU = ngates(cell) * u;
    rc->cell = cell;
    rc->in = in;
    rc->u = u;
    rc->act = act;
    rc->ract = ract;
    snprintf(name, sizeof name, "%s/kernel", prefix);
    rc->K = to_double(wdata(m, name, (size_t)in * GU), (size_t)in * GU);
    snprintf(name, sizeof name, "%s/recurrent_kernel", prefix);
    rc->R = to_double(wdata(m, name, (size_t)u * GU), (size_t)u * GU);
    snprintf(name, sizeof name, "%s/bias", prefix);
    if (use_bias) {
        size_t nb = (size_t)(cell == C_GRU ? 2 : 1) * GU;
        rc->b = to_double(wdata(m, name, nb), nb);
    } else {
        ck_assert_msg(sn_model_find_weight(m, name) < 0,
                      "%s exists with use_bias=0", name);
        rc->b = NULL;
    }
}

/* One step of the Keras cell.  g receives the gate activations in Keras
 * order (LSTM i,f,c,o; GRU z,r,h; SimpleRNN h). */
static void ref_step(const rcell *c, const double *x, const double *h,
                     const double *cs, double *hn, double *cn, double *g)
{
    int u = c->u, GU = ngates(c->cell) * u;
    double zx[MAXGU], zh[MAXGU];
    for (int j = 0; j < GU; j++) {
        double s = 0, r = 0;
        for (int k = 0; k < c->in; k++)
            s += x[k] * c->K[k * GU + j];
        if (c->b)
            s += c->b[j];
        for (int k = 0; k < u; k++)
            r += h[k] * c->R[k * GU + j];
        if (c->cell == C_GRU && c->b)
            r += c->b[GU + j];
        zx[j] = s;
        zh[j] = r;
    }
    switch (c->cell) {
    case C_SIMPLE:
        for (int j = 0; j < u; j++)
            g[j] = hn[j] = actf(c->act, zx[j] + zh[j]);
        break;
    case C_LSTM:
        for (int j = 0; j < u; j++) {
            double i = actf(c->ract, zx[j] + zh[j]);
            double f = actf(c->ract, zx[u + j] + zh[u + j]);
            double gg = actf(c->act, zx[2 * u + j] + zh[2 * u + j]);
            double o = actf(c->ract, zx[3 * u + j] + zh[3 * u + j]);
            cn[j] = f * cs[j] + i * gg;
            hn[j] = o * actf(c->act, cn[j]);
            g[j] = i;
            g[u + j] = f;
            g[2 * u + j] = gg;
            g[3 * u + j] = o;
        }
        break;
    case C_GRU:
        for (int j = 0; j < u; j++) {
            double z = actf(c->ract, zx[j] + zh[j]);
            double r = actf(c->ract, zx[u + j] + zh[u + j]);
            double hh = actf(c->act, zx[2 * u + j] + r * zh[2 * u + j]);
            hn[j] = z * h[j] + (1 - z) * hh;
            g[j] = z;
            g[u + j] = r;
            g[2 * u + j] = hh;
        }
        break;
    case C_GRU0: {
        double z[MAXU], r[MAXU];
        for (int j = 0; j < u; j++) {
            z[j] = actf(c->ract, zx[j] + zh[j]);
            r[j] = actf(c->ract, zx[u + j] + zh[u + j]);
        }
        for (int j = 0; j < u; j++) {
            double s = zx[2 * u + j];
            for (int k = 0; k < u; k++)
                s += r[k] * h[k] * c->R[k * GU + 2 * u + j];
            double hh = actf(c->act, s);
            hn[j] = z[j] * h[j] + (1 - z[j]) * hh;
            g[j] = z[j];
            g[u + j] = r[j];
            g[2 * u + j] = hh;
        }
        break;
    }
    default:
        ck_abort();
    }
}

/*
 * Runs one direction over x[B, T, in].  mask[B, T] (NULL = all on); a
 * masked step carries the state and outputs the previous output (zero
 * with zero_out).  go_backwards processes t = T-1 .. 0 and returns the
 * outputs in processing order.  y: [B, T, u] (rs) or [B, u].  gates (may
 * be NULL): [B, T, G*u] indexed by input time.
 */
static void ref_dir(const rcell *c, int B, int T, const double *x,
                    const int *mask, int gb, int rs, int zero_out,
                    const double *h0, const double *c0, double *y,
                    double *hT, double *cT, double *gates)
{
    int u = c->u, GU = ngates(c->cell) * u;
    for (int b = 0; b < B; b++) {
        double h[MAXU] = {0}, cs[MAXU] = {0}, prev[MAXU] = {0};
        double out[MAXU] = {0};
        if (h0)
            for (int j = 0; j < u; j++)
                h[j] = h0[b * u + j];
        if (c0)
            for (int j = 0; j < u; j++)
                cs[j] = c0[b * u + j];
        for (int k = 0; k < T; k++) {
            int t = gb ? T - 1 - k : k;
            int on = mask ? mask[b * T + t] : 1;
            if (on) {
                double hn[MAXU], cn[MAXU] = {0}, g[MAXGU];
                ref_step(c, x + ((size_t)b * T + t) * c->in, h, cs, hn, cn,
                         g);
                for (int j = 0; j < u; j++) {
                    h[j] = hn[j];
                    cs[j] = cn[j];
                    out[j] = prev[j] = hn[j];
                }
                if (gates)
                    for (int j = 0; j < GU; j++)
                        gates[((size_t)b * T + t) * GU + j] = g[j];
            } else {
                for (int j = 0; j < u; j++)
                    out[j] = zero_out ? 0.0 : prev[j];
            }
            if (rs)
                for (int j = 0; j < u; j++)
                    y[((size_t)b * T + k) * u + j] = out[j];
        }
        if (!rs)
            for (int j = 0; j < u; j++)
                y[b * u + j] = out[j];
        if (hT)
            for (int j = 0; j < u; j++)
                hT[b * u + j] = h[j];
        if (cT)
            for (int j = 0; j < u; j++)
                cT[b * u + j] = cs[j];
    }
}

/* ------------------------------------------------------- model builder */

typedef struct mdesc {
    int cell, units, T, E, V;
    int rs, gb, rstate, masked, init_states, use_bias, trunc;
    int bidi;
    sn_merge_mode merge;
    sn_activation act;
    float dropout, rdropout;
} mdesc;

static mdesc desc(int cell)
{
    mdesc d;
    memset(&d, 0, sizeof d);
    d.cell = cell;
    d.units = 3;
    d.T = 4;
    d.E = 3;
    d.V = 6;
    d.use_bias = 1;
    d.act = SN_TANH;
    d.merge = SN_MERGE_CONCAT;
    return d;
}

static sn_layer_t *make_layer(const mdesc *d)
{
    sn_rnn_opts o = SN_RNN_OPTS_INIT;
    o.activation = d->act;
    o.use_bias = d->use_bias;
    o.reset_after = d->cell != C_GRU0;
    o.dropout = d->dropout;
    o.recurrent_dropout = d->rdropout;
    o.return_sequences = d->rs;
    o.return_state = d->rstate;
    o.go_backwards = d->bidi ? 0 : d->gb;
    o.truncate_steps = d->trunc;
    sn_layer_t *l = NULL;
    switch (d->cell) {
    case C_SIMPLE: l = sn_simple_rnn(d->units, &o); break;
    case C_LSTM: l = sn_lstm(d->units, &o); break;
    default: l = sn_gru(d->units, &o); break;
    }
    ck_assert_msg(l != NULL, "constructor failed: %s", sn_last_error());
    if (d->bidi) {
        l = sn_bidirectional(l, d->merge);
        ck_assert_msg(l != NULL, "sn_bidirectional failed: %s",
                      sn_last_error());
    }
    return l;
}

static int n_state_inputs(const mdesc *d)
{
    return d->init_states ? nstates(d->cell) * (d->bidi ? 2 : 1) : 0;
}

static int n_outputs(const mdesc *d)
{
    int n = (d->bidi && d->merge == SN_MERGE_NONE) ? 2 : 1;
    if (d->rstate)
        n += nstates(d->cell) * (d->bidi ? 2 : 1);
    return n;
}

typedef struct built {
    sn_model_t *m;
    sn_layer_t *l;
} built;

static built build(const mdesc *d, uint64_t seed, uint32_t wseed)
{
    built b;
    b.m = tk_new_model(seed);
    int x;
    if (d->masked) {
        sn_embedding_opts eo = SN_EMBEDDING_OPTS_INIT;
        eo.mask_zero = 1;
        x = sn_apply(b.m, sn_embedding(d->V, d->E, &eo),
                     sn_input_tokens(b.m, d->T));
    } else {
        x = sn_input(b.m, d->T, d->E);
    }
    ck_assert_msg(x >= 0, "input: %s", sn_last_error());
    int ins[8] = {x};
    int nsi = n_state_inputs(d);
    for (int i = 0; i < nsi; i++) {
        ins[1 + i] = sn_input(b.m, SN_NO_TIME, d->units);
        ck_assert_int_ge(ins[1 + i], 0);
    }
    b.l = make_layer(d);
    int outs[8];
    int n = sn_apply_n(b.m, b.l, ins, 1 + nsi, outs, 8);
    ck_assert_msg(n == n_outputs(d), "%s: sn_apply_n gave %d (%s), want %d",
                  cell_names[d->cell], n, sn_last_error(), n_outputs(d));
    ck_assert_int_eq(sn_model_set_outputs(b.m, outs, n), SN_OK);
    ck_assert_msg(sn_model_build(b.m) == SN_OK, "build: %s",
                  sn_last_error());
    if (wseed)
        randomize_weights(b.m, wseed, 0.6f);
    return b;
}

/* Elements of output k of the model of d for batch B. */
static size_t ref_out_size(const mdesc *d, int B, int k)
{
    int u = d->units;
    int n_main = (d->bidi && d->merge == SN_MERGE_NONE) ? 2 : 1;
    if (k < n_main) {
        int w = (d->bidi && d->merge == SN_MERGE_CONCAT) ? 2 * u : u;
        return (size_t)B * (d->rs ? d->T : 1) * w;
    }
    return (size_t)B * u;
}

/* Finds "<lname>/<dir>..../kernel" and writes the prefix before "/kernel". */
static void sub_prefix(sn_model_t *m, const char *lname, const char *dir,
                       char *out, size_t cap)
{
    size_t ll = strlen(lname), dl = strlen(dir);
    int nw = sn_model_num_weights(m);
    for (int i = 0; i < nw; i++) {
        const char *name = NULL;
        sn_model_weight_info(m, i, &name, NULL, 0, NULL);
        if (!name || strncmp(name, lname, ll) != 0 || name[ll] != '/')
            continue;
        if (strncmp(name + ll + 1, dir, dl) != 0 ||
            !ends_with(name, "/kernel"))
            continue;
        size_t n = strlen(name) - strlen("/kernel");
        ck_assert_uint_lt(n, cap);
        memcpy(out, name, n);
        out[n] = '\0';
        return;
    }
    ck_abort_msg("no %s weights under %s", dir, lname);
}

/*
 * Reference of the whole model of d: x is float [B,T,E] or int32 ids.
 * states: one double array per state input (may be NULL if none).
 * outs[k]: room for ref_out_size(d, B, k).  gates (unidirectional only,
 * may be NULL): [B,T,G*u].
 */
static void ref_model(const mdesc *d, built *bm, int B, const void *xin,
                      double *const *states, double **outs, double *gates)
{
    int T = d->T, E = d->E, u = d->units;
    double *x = xmalloc((size_t)B * T * E * sizeof *x);
    int *mask = NULL;
    if (d->masked) {
        const int32_t *ids = xin;
        const float *emb =
            wdata(bm->m, "embedding/embeddings", (size_t)d->V * E);
        mask = xmalloc((size_t)B * T * sizeof *mask);
        for (int i = 0; i < B * T; i++) {
            mask[i] = ids[i] != 0;
            for (int e = 0; e < E; e++)
                x[i * E + e] = emb[ids[i] * E + e];
        }
    } else {
        const float *xf = xin;
        for (int i = 0; i < B * T * E; i++)
            x[i] = xf[i];
    }
    const char *lname = sn_layer_name(bm->l);
    ck_assert_ptr_nonnull(lname);
    int ns = nstates(d->cell);
    if (!d->bidi) {
        rcell c;
        rcell_load(&c, bm->m, lname, d->cell, E, u, d->use_bias, d->act,
                   SN_SIGMOID);
        const double *h0 = d->init_states ? states[0] : NULL;
        const double *c0 = d->init_states && ns == 2 ? states[1] : NULL;
        ref_dir(&c, B, T, x, mask, d->gb, d->rs, 0, h0, c0, outs[0],
                d->rstate ? outs[1] : NULL,
                d->rstate && ns == 2 ? outs[2] : NULL, gates);
        rcell_free(&c);
    } else {
        char pf[256], pb[256];
        sub_prefix(bm->m, lname, "forward_", pf, sizeof pf);
        sub_prefix(bm->m, lname, "backward_", pb, sizeof pb);
        rcell cf, cb;
        rcell_load(&cf, bm->m, pf, d->cell, E, u, d->use_bias, d->act,
                   SN_SIGMOID);
        rcell_load(&cb, bm->m, pb, d->cell, E, u, d->use_bias, d->act,
                   SN_SIGMOID);
        int steps = d->rs ? T : 1;
        size_t n = (size_t)B * steps * u;
        double *yf = xmalloc(n * sizeof *yf), *yb = xmalloc(n * sizeof *yb);
        double *st = xmalloc((size_t)4 * B * u * sizeof *st);
        const double *h0f = NULL, *c0f = NULL, *h0b = NULL, *c0b = NULL;
        if (d->init_states) {
            h0f = states[0];
            c0f = ns == 2 ? states[1] : NULL;
            h0b = states[ns];
            c0b = ns == 2 ? states[ns + 1] : NULL;
        }
        ref_dir(&cf, B, T, x, mask, 0, d->rs, d->rs, h0f, c0f, yf, st,
                st + B * u, NULL);
        ref_dir(&cb, B, T, x, mask, 1, d->rs, d->rs, h0b, c0b, yb,
                st + 2 * B * u, st + 3 * B * u, NULL);
        if (d->rs) { /* flip the backward half back to input time */
            double *tmp = xmalloc(n * sizeof *tmp);
            for (int b = 0; b < B; b++)
                for (int t = 0; t < T; t++)
                    for (int j = 0; j < u; j++)
                        tmp[((size_t)b * T + t) * u + j] =
                            yb[((size_t)b * T + (T - 1 - t)) * u + j];
            memcpy(yb, tmp, n * sizeof *tmp);
            free(tmp);
        }
        int k = 0;
        if (d->merge == SN_MERGE_NONE) {
            memcpy(outs[0], yf, n * sizeof *yf);
            memcpy(outs[1], yb, n * sizeof *yb);
            k = 2;
        } else {
            for (size_t r = 0; r < n / u; r++)
                for (int j = 0; j < u; j++) {
                    double a = yf[r * u + j], c = yb[r * u + j];
                    switch (d->merge) {
                    case SN_MERGE_CONCAT:
                        outs[0][r * 2 * u + j] = a;
                        outs[0][r * 2 * u + u + j] = c;
                        break;
                    case SN_MERGE_SUM: outs[0][r * u + j] = a + c; break;
                    case SN_MERGE_MUL: outs[0][r * u + j] = a * c; break;
                    case SN_MERGE_AVE:
                        outs[0][r * u + j] = 0.5 * (a + c);
                        break;
                    default: ck_abort();
                    }
                }
            k = 1;
        }
        if (d->rstate) {
            /* forward h (c), backward h (c) */
            memcpy(outs[k++], st, (size_t)B * u * sizeof *st);
            if (ns == 2)
                memcpy(outs[k++], st + B * u, (size_t)B * u * sizeof *st);
            memcpy(outs[k++], st + 2 * B * u, (size_t)B * u * sizeof *st);
            if (ns == 2)
                memcpy(outs[k++], st + 3 * B * u,
                       (size_t)B * u * sizeof *st);
        }
        free(yf);
        free(yb);
        free(st);
        rcell_free(&cf);
        rcell_free(&cb);
    }
    free(x);
    free(mask);
}

/* Standard ids with leading, middle and trailing padding (B=2, T=4). */
static const int32_t ids_mixed[8] = {2, 0, 4, 1, 0, 3, 5, 0};

/*
 * Builds the model of d, predicts on a fixed batch of 2 and compares all
 * outputs with the reference.
 */
static void ref_compare(const mdesc *d, uint64_t seed, const char *what)
{
    const int B = 2;
    built bm = build(d, seed, 1000u + (uint32_t)seed);
    int T = d->T, E = d->E, u = d->units;
    float *xf = NULL;
    int32_t *ids = NULL;
    const void *inputs[8];
    if (d->masked) {
        ck_assert_int_eq(T, 4);
        ids = xmalloc(sizeof ids_mixed);
        memcpy(ids, ids_mixed, sizeof ids_mixed);
        inputs[0] = ids;
    } else {
        xf = xmalloc((size_t)B * T * E * sizeof *xf);
        tk_fill(xf, (size_t)B * T * E, 17, -1, 1);
        inputs[0] = xf;
    }
    int nsi = n_state_inputs(d);
    float *sf[8] = {0};
    double *sd[8] = {0};
    for (int i = 0; i < nsi; i++) {
        sf[i] = xmalloc((size_t)B * u * sizeof(float));
        tk_fill(sf[i], (size_t)B * u, 50 + (uint32_t)i, -0.8f, 0.8f);
        sd[i] = to_double(sf[i], (size_t)B * u);
        inputs[1 + i] = sf[i];
    }
    int no = n_outputs(d);
    float *yo[8];
    double *ro[8];
    for (int k = 0; k < no; k++) {
        size_t n = ref_out_size(d, B, k);
        yo[k] = xmalloc(n * sizeof(float));
        ro[k] = xmalloc(n * sizeof(double));
    }
    if (!d->bidi) { /* Keras-layout reads equal the model's weights */
        const char *kn[3] = {"kernel", "recurrent_kernel", "bias"};
        for (int i = 0; i < (d->use_bias ? 3 : 2); i++) {
            char full[128];
            snprintf(full, sizeof full, "%s/%s", sn_layer_name(bm.l), kn[i]);
            size_t cnt;
            const float *w =
                sn_model_weight_data(bm.m, sn_model_find_weight(bm.m, full),
                                     &cnt);
            ck_assert_msg(w != NULL, "no model weight %s", full);
            float *tmp = xmalloc(cnt * sizeof(float));
            ck_assert_msg(sn_rnn_get_weight(bm.l, SN_LAYOUT_KERAS, kn[i], tmp,
                                            cnt) == SN_OK,
                          "sn_rnn_get_weight %s: %s", kn[i], sn_last_error());
            ck_assert_mem_eq(tmp, w, cnt * sizeof(float));
            free(tmp);
        }
    }
    sn_status st = sn_model_predict(bm.m, B, inputs, NULL, yo);
    ck_assert_msg(st == SN_OK, "%s: predict: %s", what, sn_last_error());
    ref_model(d, &bm, B, inputs[0], sd, ro, NULL);
    for (int k = 0; k < no; k++) {
        char w[160];
        snprintf(w, sizeof w, "%s output %d", what, k);
        expect_close(yo[k], ro[k], ref_out_size(d, B, k), 1e-5, w);
        free(yo[k]);
        free(ro[k]);
    }
    /* The forward path must agree with predict. */
    st = sn_model_forward(bm.m, B, inputs, NULL, 0);
    ck_assert_msg(st == SN_OK, "%s: forward: %s", what, sn_last_error());
    for (int k = 0; k < no; k++)
        ck_assert_uint_eq(tk_output_count(bm.m, k), ref_out_size(d, B, k));
    for (int i = 0; i < nsi; i++) {
        free(sf[i]);
        free(sd[i]);
    }
    free(xf);
    free(ids);
    sn_model_free(bm.m);
}

/* --------------------------------------------------- reference tests */

/* _i: cell (4) x return_sequences x go_backwards x masked; each with and
 * without return_state. */
START_TEST(test_ref_forward)
{
    int cell = _i / 8, rs = (_i / 4) % 2, gb = (_i / 2) % 2, mk = _i % 2;
    for (int rstate = 0; rstate < 2; rstate++) {
        mdesc d = desc(cell);
        d.rs = rs;
        d.gb = gb;
        d.masked = mk;
        d.rstate = rstate;
        char what[128];
        snprintf(what, sizeof what, "%s rs=%d gb=%d mask=%d state=%d",
                 cell_names[cell], rs, gb, mk, rstate);
        ref_compare(&d, 3 + (uint64_t)_i, what);
    }
}
END_TEST

/* Initial states as model inputs, with and without a mask. */
START_TEST(test_ref_initial_state)
{
    for (int mk = 0; mk < 2; mk++) {
        mdesc d = desc(_i);
        d.init_states = 1;
        d.rstate = 1;
        d.masked = mk;
        d.rs = mk;
        char what[128];
        snprintf(what, sizeof what, "%s initial state mask=%d",
                 cell_names[_i], mk);
        ref_compare(&d, 40 + (uint64_t)_i, what);
    }
}
END_TEST

/* Other activations, no bias, units 2. */
START_TEST(test_ref_variants)
{
    mdesc d = desc(C_SIMPLE);
    d.act = SN_RELU;
    d.rs = 1;
    ref_compare(&d, 5, "SimpleRNN relu");
    d.act = SN_LINEAR;
    ref_compare(&d, 6, "SimpleRNN linear");
    for (int c = 0; c < N_CELLS; c++) {
        d = desc(c);
        d.use_bias = 0;
        d.units = 2;
        d.rs = 1;
        ref_compare(&d, 7, "no bias");
    }
}
END_TEST

/* _i: merge mode (5) x return_sequences x masked; cells rotate. */
START_TEST(test_ref_bidirectional)
{
    int mode = _i / 4, rs = (_i / 2) % 2, mk = _i % 2;
    for (int c = 0; c < N_CELLS; c++) {
        mdesc d = desc(c);
        d.bidi = 1;
        d.merge = (sn_merge_mode)mode;
        d.rs = rs;
        d.masked = mk;
        d.rstate = (c + _i) % 2;
        char what[128];
        snprintf(what, sizeof what, "Bidirectional(%s) merge=%d rs=%d "
                 "mask=%d state=%d", cell_names[c], mode, rs, mk, d.rstate);
        ref_compare(&d, 60 + (uint64_t)_i, what);
    }
}
END_TEST

START_TEST(test_ref_bidirectional_initial_state)
{
    for (int c = 0; c < N_CELLS; c++) {
        mdesc d = desc(c);
        d.bidi = 1;
        d.init_states = 1;
        d.rstate = 1;
        d.rs = c % 2;
        ref_compare(&d, 90 + (uint64_t)c, "Bidirectional initial state");
    }
}
END_TEST

/* LSTM unit_forget_bias: bias = [0, 1, 0, 0] blocks; zeros when off. */
START_TEST(test_lstm_forget_bias_init)
{
    for (int ufb = 0; ufb < 2; ufb++) {
        sn_rnn_opts o = SN_RNN_OPTS_INIT;
        o.unit_forget_bias = ufb;
        sn_model_t *m = tk_new_model(3);
        sn_layer_t *l = sn_lstm(3, &o);
        ck_assert_int_ge(sn_apply(m, l, sn_input(m, 4, 2)), 0);
        ck_assert_int_eq(sn_model_build(m), SN_OK);
        float *b = wdata(m, "lstm/bias", 12);
        for (int j = 0; j < 12; j++)
            ck_assert_float_eq(b[j], (ufb && j >= 3 && j < 6) ? 1.0f : 0.0f);
        sn_model_free(m);
    }
    /* GRU reset_after bias is [2, 3u], reset_after=0 [3u]. */
    for (int ra = 0; ra < 2; ra++) {
        sn_rnn_opts o = SN_RNN_OPTS_INIT;
        o.reset_after = ra;
        sn_model_t *m = tk_new_model(3);
        ck_assert_int_ge(sn_apply(m, sn_gru(3, &o), sn_input(m, 4, 2)), 0);
        ck_assert_int_eq(sn_model_build(m), SN_OK);
        int dims[SN_MAX_RANK];
        int rank = sn_model_weight_info(m, sn_model_find_weight(m, "gru/bias"),
                                        NULL, dims, SN_MAX_RANK, NULL);
        if (ra) {
            ck_assert_int_eq(rank, 2);
            ck_assert_int_eq(dims[0], 2);
            ck_assert_int_eq(dims[1], 9);
        } else {
            ck_assert_int_eq(rank, 1);
            ck_assert_int_eq(dims[0], 9);
        }
        size_t total = sn_model_count_params(m, NULL);
        ck_assert_uint_eq(total, (size_t)(2 * 9 + 3 * 9 + (ra ? 18 : 9)));
        sn_model_free(m);
    }
}
END_TEST

/* ------------------------------------------------- gradient checking */

/* The central-difference step, tolerances and per-output seeds of the
 * recurrent gradient checks: a larger step and looser tolerances than
 * tk_grad_defaults. */
static const tk_grad_opts rnn_grad_opts = {4e-3f, 2e-2, 2e-3, 31u};

/* Gradient check of the model of d on batch 2 with given ids (masked). */
static void grad_case(const mdesc *d, const int32_t *ids, uint64_t seed,
                      const char *what)
{
    const int B = 2;
    built bm = build(d, seed, 500u + (uint32_t)seed);
    tk_grad_case g;
    memset(&g, 0, sizeof g);
    g.m = bm.m;
    g.batch = B;
    size_t nx = (size_t)B * d->T * (d->masked ? 1 : d->E);
    float *xf = NULL;
    int32_t *xi = NULL;
    if (d->masked) {
        xi = xmalloc(nx * sizeof *xi);
        memcpy(xi, ids, nx * sizeof *xi);
        g.inputs[0] = xi;
        g.in_float[0] = 0;
    } else {
        xf = xmalloc(nx * sizeof *xf);
        tk_fill(xf, nx, 23, -1, 1);
        g.inputs[0] = xf;
        g.in_float[0] = 1;
    }
    g.in_count[0] = nx;
    int nsi = n_state_inputs(d);
    g.n_inputs = 1 + nsi;
    for (int i = 0; i < nsi; i++) {
        size_t n = (size_t)B * d->units;
        float *s = xmalloc(n * sizeof *s);
        tk_fill(s, n, 70 + (uint32_t)i, -0.8f, 0.8f);
        g.inputs[1 + i] = s;
        g.in_count[1 + i] = n;
        g.in_float[1 + i] = 1;
    }
    tk_expect_good_grads(tk_grad_check(&g, 99, &rnn_grad_opts), what);

    if (d->masked) {
        /* Padded steps get no gradient: embedding row 0 stays exactly 0. */
        const float *dE = sn_model_weight_grad(
            bm.m, sn_model_find_weight(bm.m, "embedding/embeddings"), NULL);
        ck_assert_ptr_nonnull(dE);
        ck_assert_int_eq(sn_model_zero_grad(bm.m), SN_OK);
        tk_grad_forward(&g);
        int no = sn_model_num_outputs(bm.m);
        ck_assert_int_le(no, 8);
        float *w[8];
        const float *gr[8];
        for (int k = 0; k < no; k++) {
            size_t n = tk_output_count(bm.m, k);
            w[k] = xmalloc(n * sizeof(float));
            tk_fill(w[k], n, 5, 0.5f, 1.0f);
            gr[k] = w[k];
        }
        ck_assert_int_eq(sn_model_backward(bm.m, gr), SN_OK);
        dE = sn_model_weight_grad(
            bm.m, sn_model_find_weight(bm.m, "embedding/embeddings"), NULL);
        for (int e = 0; e < d->E; e++)
            ck_assert_msg(dE[e] == 0.0f,
                          "%s: padding row got gradient %g", what,
                          (double)dE[e]);
        for (int k = 0; k < no; k++)
            free(w[k]);
    }
    for (int i = 0; i < g.n_inputs; i++)
        if (i > 0 || !d->masked)
            free(g.inputs[i]);
    free(xi);
    sn_model_free(bm.m);
}

static const int32_t ids_post[8] = {2, 5, 0, 0, 1, 4, 3, 0};
static const int32_t ids_pre[8] = {0, 0, 2, 5, 0, 1, 4, 3};

/* _i = cell * 8 + option set. */
START_TEST(test_grad_cell)
{
    int cell = _i / 8, opt = _i % 8;
    mdesc d = desc(cell);
    const int32_t *ids = NULL;
    const char *on = "";
    switch (opt) {
    case 0: on = "last output"; break;
    case 1: d.rs = 1; on = "return_sequences"; break;
    case 2: d.rs = 1; d.gb = 1; on = "go_backwards sequences"; break;
    case 3: d.gb = 1; d.rstate = 1; on = "go_backwards return_state"; break;
    case 4: d.masked = 1; d.rs = 1; ids = ids_post; on = "post-padding"; break;
    case 5:
        d.masked = 1; d.gb = 1; ids = ids_pre; on = "pre-padding backwards";
        break;
    case 6: d.init_states = 1; d.rstate = 1; on = "initial states"; break;
    case 7:
        d.masked = 1; d.init_states = 1; d.rs = 1; d.rstate = 1;
        ids = ids_mixed; on = "mask + initial states";
        break;
    }
    char what[128];
    snprintf(what, sizeof what, "%s %s", cell_names[cell], on);
    grad_case(&d, ids, 11 + (uint64_t)_i, what);
}
END_TEST

/* _i = merge mode * 2 + return_sequences; every cell, with return_state,
 * initial states and pre/post-padding masks spread over the cases. */
START_TEST(test_grad_bidirectional)
{
    int mode = _i / 2, rs = _i % 2;
    for (int c = 0; c < N_CELLS; c++) {
        mdesc d = desc(c);
        d.bidi = 1;
        d.merge = (sn_merge_mode)mode;
        d.rs = rs;
        d.units = 2;
        d.rstate = (c + mode) % 2;
        d.init_states = (c + rs) % 2;
        d.masked = (c + mode + rs) % 3 == 0;
        const int32_t *ids = (c + rs) % 2 ? ids_pre : ids_post;
        char what[128];
        snprintf(what, sizeof what, "Bidirectional(%s) merge=%d rs=%d "
                 "state=%d init=%d mask=%d", cell_names[c], mode, rs,
                 d.rstate, d.init_states, d.masked);
        grad_case(&d, ids, 200 + (uint64_t)(_i * 4 + c), what);
    }
}
END_TEST

/* use_bias = 0 and unit counts other than 3. */
START_TEST(test_grad_no_bias)
{
    mdesc d = desc(_i);
    d.use_bias = 0;
    d.units = 2;
    d.rs = 1;
    grad_case(&d, NULL, 300 + (uint64_t)_i, "no bias");
    d = desc(_i);
    d.units = 5;
    d.E = 2;
    d.rstate = 1;
    grad_case(&d, NULL, 310 + (uint64_t)_i, "units 5");
}
END_TEST

/* LSTM(rs) -> Dropout -> GRU(rs) -> Dropout -> SimpleRNN, inference. */
START_TEST(test_grad_stack)
{
    for (int ra = 0; ra < 2; ra++) {
        sn_model_t *m = tk_new_model(8);
        sn_rnn_opts o = SN_RNN_OPTS_INIT;
        o.return_sequences = 1;
        int x = sn_input(m, 4, 3);
        int h = sn_apply(m, sn_lstm(3, &o), x);
        h = sn_apply(m, sn_dropout(0.3f), h);
        o.reset_after = ra;
        o.go_backwards = 1;
        h = sn_apply(m, sn_gru(2, &o), h);
        h = sn_apply(m, sn_dropout(0.3f), h);
        sn_rnn_opts o2 = SN_RNN_OPTS_INIT;
        h = sn_apply(m, sn_simple_rnn(3, &o2), h);
        ck_assert_msg(h >= 0, "stack: %s", sn_last_error());
        ck_assert_int_eq(sn_model_build(m), SN_OK);
        randomize_weights(m, 33, 0.7f);
        float xin[2 * 4 * 3];
        tk_fill(xin, 24, 9, -1, 1);
        tk_grad_case g;
        memset(&g, 0, sizeof g);
        g.m = m;
        g.batch = 2;
        g.n_inputs = 1;
        g.inputs[0] = xin;
        g.in_count[0] = 24;
        g.in_float[0] = 1;
        tk_expect_good_grads(tk_grad_check(&g, 7, &rnn_grad_opts),
                             ra ? "stack (GRU reset_after=1)"
                                : "stack (GRU reset_after=0)");
        sn_model_free(m);
    }
}
END_TEST

/* Gradient of d (x float) into dx[B*T*E] and the weight grads into wg. */
static void backward_once(sn_model_t *m, int B, const float *x, int training,
                          const float *w, float *y_out, size_t ny,
                          float *dx, size_t nx)
{
    const void *in[1] = {x};
    ck_assert_int_eq(sn_model_zero_grad(m), SN_OK);
    sn_status st = sn_model_forward(m, B, in, NULL, training);
    ck_assert_msg(st == SN_OK, "forward: %s", sn_last_error());
    ck_assert_uint_eq(tk_output_count(m, 0), ny);
    if (y_out)
        memcpy(y_out, sn_model_output(m, 0, NULL, 0, NULL), ny * sizeof(float));
    const float *gr[1] = {w};
    st = sn_model_backward(m, gr);
    ck_assert_msg(st == SN_OK, "backward: %s", sn_last_error());
    const float *g = sn_model_input_grad(m, 0);
    ck_assert_ptr_nonnull(g);
    memcpy(dx, g, nx * sizeof(float));
}

/* Truncated BPTT: dL/dx_t == 0 for t < T-k; k >= T equals full BPTT. */
START_TEST(test_truncated_bptt)
{
    const int B = 2, T = 6, E = 3, k = 2;
    int cell = _i;
    size_t nx = (size_t)B * T * E, ny = (size_t)B * 3;
    float x[2 * 6 * 3], w[6], dx[2 * 6 * 3], dfull[2 * 6 * 3];
    tk_fill(x, nx, 4, -1, 1);
    tk_fill(w, ny, 5, -1, 1);
    int ks[4] = {0, k, T, T + 3};
    float *wg_full = NULL;
    size_t wg_n = 0;
    for (int ki = 0; ki < 4; ki++) {
        mdesc d = desc(cell);
        d.T = T;
        d.trunc = ks[ki];
        built bm = build(&d, 77, 0); /* weights from the seed: identical */
        backward_once(bm.m, B, x, 1, w, NULL, ny, dx, nx);
        /* Collect all weight gradients in one array. */
        size_t tot = 0;
        int nw = sn_model_num_weights(bm.m);
        for (int i = 0; i < nw; i++) {
            size_t c;
            ck_assert_ptr_nonnull(sn_model_weight_grad(bm.m, i, &c));
            tot += c;
        }
        float *wg = xmalloc(tot * sizeof(float));
        size_t off = 0;
        for (int i = 0; i < nw; i++) {
            size_t c;
            const float *p = sn_model_weight_grad(bm.m, i, &c);
            memcpy(wg + off, p, c * sizeof(float));
            off += c;
        }
        if (ks[ki] == 0) {
            memcpy(dfull, dx, sizeof dx);
            wg_full = wg;
            wg_n = tot;
            wg = NULL;
            /* full BPTT reaches the first step */
            double s = 0;
            for (int b = 0; b < B; b++)
                for (int e = 0; e < E; e++)
                    s += fabs(dx[(b * T + 0) * E + e]);
            ck_assert_msg(s > 0, "%s: full BPTT gives dx_0 = 0",
                          cell_names[cell]);
        } else if (ks[ki] == k) {
            for (int b = 0; b < B; b++)
                for (int t = 0; t < T; t++) {
                    double s = 0;
                    for (int e = 0; e < E; e++)
                        s += fabs(dx[(b * T + t) * E + e]);
                    if (t < T - k)
                        ck_assert_msg(s == 0.0,
                                      "%s truncate_steps=%d: dx at step %d "
                                      "is %g, expected 0",
                                      cell_names[cell], k, t, s);
                    else
                        ck_assert_msg(s > 0.0,
                                      "%s truncate_steps=%d: dx at step %d "
                                      "is 0", cell_names[cell], k, t);
                }
            /* The introspection agrees. */
            float norms[6];
            int n = sn_rnn_step_grad_norms(bm.l, SN_STEP_GRAD_INPUT, norms, 6);
            ck_assert_msg(n == T, "step_grad_norms: %d (%s)", n,
                          sn_last_error());
            for (int t = 0; t < T; t++) {
                if (t < T - k)
                    ck_assert_float_eq(norms[t], 0.0f);
                else
                    ck_assert_float_gt(norms[t], 0.0f);
            }
        } else {
            char what[96];
            snprintf(what, sizeof what, "%s truncate_steps=%d dx vs full",
                     cell_names[cell], ks[ki]);
            tk_expect_close(dx, dfull, nx, 1e-6, what);
            ck_assert_uint_eq(tot, wg_n);
            snprintf(what, sizeof what, "%s truncate_steps=%d dW vs full",
                     cell_names[cell], ks[ki]);
            tk_expect_close(wg, wg_full, tot, 1e-6, what);
        }
        free(wg);
        sn_model_free(bm.m);
    }
    free(wg_full);
}
END_TEST

/* Dropout: same seed, same training output; training differs from
 * inference; a second training forward draws new masks. */
START_TEST(test_dropout_reproducible)
{
    const int B = 2;
    int cell = _i;
    for (int which = 0; which < 2; which++) {
        mdesc d = desc(cell);
        d.rs = 1;
        if (which == 0)
            d.dropout = 0.4f;
        else
            d.rdropout = 0.4f;
        built a = build(&d, 123, 0), b = build(&d, 123, 0);
        size_t nx = (size_t)B * d.T * d.E, ny = (size_t)B * d.T * d.units;
        float *x = xmalloc(nx * sizeof *x);
        tk_fill(x, nx, 8, 0.2f, 1.0f);
        const void *in[1] = {x};
        float *y1 = xmalloc(ny * sizeof *y1), *y0 = xmalloc(ny * sizeof *y0);
        ck_assert_int_eq(sn_model_forward(a.m, B, in, NULL, 1), SN_OK);
        memcpy(y1, sn_model_output(a.m, 0, NULL, 0, NULL), ny * sizeof *y1);
        ck_assert_int_eq(sn_model_forward(b.m, B, in, NULL, 1), SN_OK);
        ck_assert_msg(memcmp(y1, sn_model_output(b.m, 0, NULL, 0, NULL),
                             ny * sizeof *y1) == 0,
                      "%s dropout=%d: same seed, different training output",
                      cell_names[cell], which);
        ck_assert_int_eq(sn_model_forward(a.m, B, in, NULL, 0), SN_OK);
        memcpy(y0, sn_model_output(a.m, 0, NULL, 0, NULL), ny * sizeof *y0);
        ck_assert_msg(memcmp(y1, y0, ny * sizeof *y1) != 0,
                      "%s dropout=%d: training output equals inference",
                      cell_names[cell], which);
        ck_assert_int_eq(sn_model_forward(a.m, B, in, NULL, 1), SN_OK);
        ck_assert_msg(memcmp(y1, sn_model_output(a.m, 0, NULL, 0, NULL),
                             ny * sizeof *y1) != 0,
                      "%s dropout=%d: second training forward reused masks",
                      cell_names[cell], which);
        /* backward through recurrent dropout works and is finite */
        float *w = xmalloc(ny * sizeof *w);
        tk_fill(w, ny, 9, -1, 1);
        const float *gr[1] = {w};
        ck_assert_int_eq(sn_model_backward(a.m, gr), SN_OK);
        const float *dx = sn_model_input_grad(a.m, 0);
        ck_assert_ptr_nonnull(dx);
        for (size_t i = 0; i < nx; i++)
            ck_assert(isfinite(dx[i]));
        free(w);
        free(x);
        free(y1);
        free(y0);
        sn_model_free(a.m);
        sn_model_free(b.m);
    }
}
END_TEST

/*
 * Input dropout (recurrent_dropout 0): one mask per (sample, feature),
 * the same at every step.  A dropped feature's dx column is exactly 0, and
 * with s = keep / (1 - rate) the training pass equals the inference pass
 * on x * s: y_train(x) = y_inf(x s), dx_train = s dx_inf(x s), and the
 * weight gradients agree.
 */
START_TEST(test_dropout_input_mask)
{
    const int B = 4, T = 4, E = 6;
    const float rate = 0.6f;
    int cell = _i;
    mdesc d = desc(cell);
    d.T = T;
    d.E = E;
    d.rs = 1;
    d.dropout = rate;
    size_t nx = (size_t)B * T * E, ny = (size_t)B * T * d.units;
    float *x = xmalloc(nx * sizeof *x), *w = xmalloc(ny * sizeof *w);
    tk_fill(x, nx, 12, -1, 1);
    tk_fill(w, ny, 13, -1, 1);
    float *ytr = xmalloc(ny * sizeof *ytr), *yin = xmalloc(ny * sizeof *yin);
    float *dxtr = xmalloc(nx * sizeof *dxtr), *dxin = xmalloc(nx * sizeof *dxin);
    built bm = build(&d, 321, 0);
    backward_once(bm.m, B, x, 1, w, ytr, ny, dxtr, nx);
    int nw = sn_model_num_weights(bm.m);
    float *wg[8];
    size_t wc[8];
    ck_assert_int_le(nw, 8);
    for (int i = 0; i < nw; i++) {
        const float *p = sn_model_weight_grad(bm.m, i, &wc[i]);
        wg[i] = xmalloc(wc[i] * sizeof(float));
        memcpy(wg[i], p, wc[i] * sizeof(float));
    }
    float *xs = xmalloc(nx * sizeof *xs);
    float s[4 * 6];
    int dropped = 0;
    for (int b = 0; b < B; b++)
        for (int e = 0; e < E; e++) {
            int zero = 1;
            for (int t = 0; t < T; t++)
                if (dxtr[(b * T + t) * E + e] != 0.0f)
                    zero = 0;
            dropped += zero;
            s[b * E + e] = zero ? 0.0f : 1.0f / (1.0f - rate);
            for (int t = 0; t < T; t++)
                xs[(b * T + t) * E + e] = x[(b * T + t) * E + e] * s[b * E + e];
        }
    ck_assert_msg(dropped > 0 && dropped < B * E,
                  "%s: %d of %d features dropped", cell_names[cell], dropped,
                  B * E);
    backward_once(bm.m, B, xs, 0, w, yin, ny, dxin, nx);
    tk_expect_close(ytr, yin, ny, 1e-5, "y_train(x) vs y_inf(x*s)");
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int e = 0; e < E; e++)
                dxin[(b * T + t) * E + e] *= s[b * E + e];
    tk_expect_close(dxtr, dxin, nx, 1e-4, "dx_train vs s*dx_inf");
    for (int i = 0; i < nw; i++) {
        const float *p = sn_model_weight_grad(bm.m, i, NULL);
        tk_expect_close(wg[i], p, wc[i], 1e-4, "dW_train vs dW_inf");
        free(wg[i]);
    }
    /* Output does not depend on a dropped feature (forward mask = backward
     * mask): a fresh model of the same seed draws the same first mask. */
    built b2 = build(&d, 321, 0);
    float *x2 = xmalloc(nx * sizeof *x2);
    memcpy(x2, x, nx * sizeof *x2);
    for (int b = 0; b < B; b++)
        for (int e = 0; e < E; e++)
            if (s[b * E + e] == 0.0f)
                for (int t = 0; t < T; t++)
                    x2[(b * T + t) * E + e] += 5.0f;
    const void *in2[1] = {x2};
    ck_assert_int_eq(sn_model_forward(b2.m, B, in2, NULL, 1), SN_OK);
    ck_assert_msg(memcmp(ytr, sn_model_output(b2.m, 0, NULL, 0, NULL),
                         ny * sizeof(float)) == 0,
                  "%s: output depends on a dropped input feature",
                  cell_names[cell]);
    free(x2);
    sn_model_free(b2.m);
    free(xs);
    free(x);
    free(w);
    free(ytr);
    free(yin);
    free(dxtr);
    free(dxin);
    sn_model_free(bm.m);
}
END_TEST

/* ------------------------------------------- padded equals unpadded */

START_TEST(test_padded_equals_unpadded)
{
    /* _i < 4: cell; 4..: Bidirectional over cell _i-4 (concat). */
    const int B = 2, L = 3, TP = 6;
    int cell = _i % N_CELLS, bidi = _i >= N_CELLS;
    mdesc dp = desc(cell), du = desc(cell);
    dp.masked = du.masked = 1;
    dp.V = du.V = 9;
    dp.bidi = du.bidi = bidi;
    dp.rstate = du.rstate = 1;
    dp.T = TP;
    du.T = L;
    built p = build(&dp, 5, 900), u = build(&du, 6, 0);
    int nw = sn_model_num_weights(p.m);
    ck_assert_int_eq(sn_model_num_weights(u.m), nw);
    for (int i = 0; i < nw; i++) {
        const char *n1 = NULL, *n2 = NULL;
        sn_model_weight_info(p.m, i, &n1, NULL, 0, NULL);
        sn_model_weight_info(u.m, i, &n2, NULL, 0, NULL);
        ck_assert_str_eq(n1, n2);
        size_t c1, c2;
        const float *a = sn_model_weight_data(p.m, i, &c1);
        float *b = sn_model_weight_data(u.m, i, &c2);
        ck_assert_uint_eq(c1, c2);
        memcpy(b, a, c1 * sizeof(float));
    }
    const int32_t seq[2][3] = {{3, 7, 1}, {8, 2, 5}};
    int32_t ids_u[6], ids_post6[12], ids_pre6[12];
    for (int b = 0; b < B; b++)
        for (int t = 0; t < TP; t++) {
            ids_post6[b * TP + t] = t < L ? seq[b][t] : 0;
            ids_pre6[b * TP + t] = t >= TP - L ? seq[b][t - (TP - L)] : 0;
            if (t < L)
                ids_u[b * L + t] = seq[b][t];
        }
    int no = n_outputs(&dp);
    float *yu[8], *yp[8];
    for (int k = 0; k < no; k++) {
        size_t n = ref_out_size(&du, B, k);
        yu[k] = xmalloc(n * sizeof(float));
        yp[k] = xmalloc(n * sizeof(float));
    }
    const void *in_u[1] = {ids_u};
    ck_assert_int_eq(sn_model_predict(u.m, B, in_u, NULL, yu), SN_OK);
    for (int pad = 0; pad < 2; pad++) {
        const void *in_p[1] = {pad ? ids_pre6 : ids_post6};
        sn_status st = sn_model_predict(p.m, B, in_p, NULL, yp);
        ck_assert_msg(st == SN_OK, "predict: %s", sn_last_error());
        for (int k = 0; k < no; k++) {
            size_t n = ref_out_size(&du, B, k);
            for (size_t i = 0; i < n; i++)
                ck_assert_msg(fabsf(yp[k][i] - yu[k][i]) <= 1e-6f,
                              "%s%s %s-padding output %d [%zu]: %.7f vs "
                              "unpadded %.7f", bidi ? "Bidirectional " : "",
                              cell_names[cell], pad ? "pre" : "post", k, i,
                              (double)yp[k][i], (double)yu[k][i]);
        }
    }
    for (int k = 0; k < no; k++) {
        free(yu[k]);
        free(yp[k]);
    }
    sn_model_free(p.m);
    sn_model_free(u.m);
}
END_TEST

/* ------------------------------------------------------------ layouts */

/* PyTorch block pb holds Keras block keras_block(cell, pb). */
static int keras_block(int cell, int pb)
{
    if (cell == C_GRU)
        return pb == 0 ? 1 : pb == 1 ? 0 : 2; /* r,z,n <- z,r,h */
    return pb;
}

/* PyTorch-formula reference over x[B,T,in], return_sequences, zero h0. */
static void torch_ref(int cell, int B, int T, int in, int u, const float *Wih,
                      const float *Whh, const float *bih, const float *bhh,
                      const float *x, double *y)
{
    int G = ngates(cell);
    for (int b = 0; b < B; b++) {
        double h[MAXU] = {0}, c[MAXU] = {0};
        for (int t = 0; t < T; t++) {
            const float *xt = x + ((size_t)b * T + t) * in;
            double gi[MAXGU], gh[MAXGU];
            for (int r = 0; r < G * u; r++) {
                double s = bih ? bih[r] : 0, q = bhh ? bhh[r] : 0;
                for (int k = 0; k < in; k++)
                    s += Wih[r * in + k] * xt[k];
                for (int k = 0; k < u; k++)
                    q += Whh[r * u + k] * h[k];
                gi[r] = s;
                gh[r] = q;
            }
            double hn[MAXU];
            for (int j = 0; j < u; j++) {
                if (cell == C_SIMPLE) {
                    hn[j] = tanh(gi[j] + gh[j]);
                } else if (cell == C_LSTM) {
                    double i = actf(SN_SIGMOID, gi[j] + gh[j]);
                    double f = actf(SN_SIGMOID, gi[u + j] + gh[u + j]);
                    double g = tanh(gi[2 * u + j] + gh[2 * u + j]);
                    double o = actf(SN_SIGMOID, gi[3 * u + j] + gh[3 * u + j]);
                    c[j] = f * c[j] + i * g;
                    hn[j] = o * tanh(c[j]);
                } else {
                    double r = actf(SN_SIGMOID, gi[j] + gh[j]);
                    double z = actf(SN_SIGMOID, gi[u + j] + gh[u + j]);
                    double n = tanh(gi[2 * u + j] + r * gh[2 * u + j]);
                    hn[j] = (1 - z) * n + z * h[j];
                }
            }
            for (int j = 0; j < u; j++) {
                h[j] = hn[j];
                y[((size_t)b * T + t) * u + j] = h[j];
            }
        }
    }
}

START_TEST(test_layout_roundtrip)
{
    int cell = _i;
    const int B = 2, T = 4, in = 3, u = 3, G = ngates(cell), GU = G * u;
    mdesc d = desc(cell);
    d.rs = 1;
    built bm = build(&d, 9, 0);
    sn_layer_t *l = bm.l;
    ck_assert_int_eq(sn_rnn_num_weights(l, SN_LAYOUT_KERAS), 3);
    size_t nk = (size_t)in * GU, nr = (size_t)u * GU;
    size_t nb = (size_t)(cell == C_GRU ? 2 : 1) * GU;
    float K[3 * 12], R[3 * 12], bb[24], back[3 * 12];
    tk_fill(K, nk, 1, -0.7f, 0.7f);
    tk_fill(R, nr, 2, -0.7f, 0.7f);
    tk_fill(bb, nb, 3, -0.5f, 0.5f);
    ck_assert_msg(sn_rnn_set_weight(l, SN_LAYOUT_KERAS, "kernel", K, nk) ==
                  SN_OK, "set kernel: %s", sn_last_error());
    ck_assert_int_eq(sn_rnn_set_weight(l, SN_LAYOUT_KERAS, "recurrent_kernel",
                                       R, nr), SN_OK);
    ck_assert_int_eq(sn_rnn_set_weight(l, SN_LAYOUT_KERAS, "bias", bb, nb),
                     SN_OK);
    /* It went into the model's weights, and reads back unchanged. */
    char name[64];
    snprintf(name, sizeof name, "%s/kernel", sn_layer_name(l));
    ck_assert_mem_eq(wdata(bm.m, name, nk), K, nk * sizeof(float));
    ck_assert_int_eq(sn_rnn_get_weight(l, SN_LAYOUT_KERAS, "kernel", back,
                                       nk), SN_OK);
    ck_assert_mem_eq(back, K, nk * sizeof(float));
    ck_assert_int_eq(sn_rnn_get_weight(l, SN_LAYOUT_KERAS, "bias", back, nb),
                     SN_OK);
    ck_assert_mem_eq(back, bb, nb * sizeof(float));
    /* Keras weight info. */
    const char *wn = NULL;
    int dims[SN_MAX_RANK];
    ck_assert_int_eq(sn_rnn_weight_info(l, SN_LAYOUT_KERAS, 0, &wn, dims, SN_MAX_RANK), 2);
    ck_assert_str_eq(wn, "kernel");
    ck_assert_int_eq(dims[0], in);
    ck_assert_int_eq(dims[1], GU);
    ck_assert_int_eq(sn_rnn_weight_info(l, SN_LAYOUT_KERAS, 2, &wn, dims, SN_MAX_RANK),
                     cell == C_GRU ? 2 : 1);
    ck_assert_str_eq(wn, "bias");

    if (cell == C_GRU0) {
        float buf[64];
        sn_clear_error();
        expect_error(sn_rnn_get_weight(l, SN_LAYOUT_PYTORCH, "weight_ih_l0",
                                       buf, nk), "GRU reset_after=0 get torch");
        sn_clear_error();
        expect_error(sn_rnn_set_weight(l, SN_LAYOUT_PYTORCH, "weight_ih_l0",
                                       K, nk), "GRU reset_after=0 set torch");
        ck_assert_int_le(sn_rnn_num_weights(l, SN_LAYOUT_PYTORCH), 0);
        sn_model_free(bm.m);
        return;
    }

    /* Export: transpose, block order, biases. */
    ck_assert_int_eq(sn_rnn_num_weights(l, SN_LAYOUT_PYTORCH), 4);
    const char *tn[4] = {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0",
                         "bias_hh_l0"};
    const int tr[4] = {2, 2, 1, 1};
    const int td0[4] = {GU, GU, GU, GU}, td1[4] = {in, u, 0, 0};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(sn_rnn_weight_info(l, SN_LAYOUT_PYTORCH, i, &wn,
                                            dims, SN_MAX_RANK), tr[i]);
        ck_assert_str_eq(wn, tn[i]);
        ck_assert_int_eq(dims[0], td0[i]);
        if (tr[i] == 2)
            ck_assert_int_eq(dims[1], td1[i]);
    }
    float Wih[36], Whh[36], bih[12], bhh[12];
    ck_assert_int_eq(sn_rnn_get_weight(l, SN_LAYOUT_PYTORCH, "weight_ih_l0",
                                       Wih, nk), SN_OK);
    ck_assert_int_eq(sn_rnn_get_weight(l, SN_LAYOUT_PYTORCH, "weight_hh_l0",
                                       Whh, nr), SN_OK);
    ck_assert_int_eq(sn_rnn_get_weight(l, SN_LAYOUT_PYTORCH, "bias_ih_l0",
                                       bih, GU), SN_OK);
    ck_assert_int_eq(sn_rnn_get_weight(l, SN_LAYOUT_PYTORCH, "bias_hh_l0",
                                       bhh, GU), SN_OK);
    for (int pb = 0; pb < G; pb++) {
        int kb = keras_block(cell, pb);
        for (int j = 0; j < u; j++) {
            int r = pb * u + j, kc = kb * u + j;
            for (int k = 0; k < in; k++)
                ck_assert_float_eq(Wih[r * in + k], K[k * GU + kc]);
            for (int k = 0; k < u; k++)
                ck_assert_float_eq(Whh[r * u + k], R[k * GU + kc]);
            if (cell == C_GRU) {
                ck_assert_float_eq(bih[r], bb[kc]);
                ck_assert_float_eq(bhh[r], bb[GU + kc]);
            } else {
                ck_assert_float_eq(bih[r], bb[kc]);
                ck_assert_float_eq(bhh[r], 0.0f);
            }
        }
    }

    /* Import: random PyTorch weights (nonzero bias_hh). */
    tk_fill(Wih, nk, 11, -0.7f, 0.7f);
    tk_fill(Whh, nr, 12, -0.7f, 0.7f);
    tk_fill(bih, GU, 13, -0.5f, 0.5f);
    tk_fill(bhh, GU, 14, -0.5f, 0.5f);
    ck_assert_int_eq(sn_rnn_set_weight(l, SN_LAYOUT_PYTORCH, "weight_ih_l0",
                                       Wih, nk), SN_OK);
    ck_assert_int_eq(sn_rnn_set_weight(l, SN_LAYOUT_PYTORCH, "weight_hh_l0",
                                       Whh, nr), SN_OK);
    ck_assert_int_eq(sn_rnn_set_weight(l, SN_LAYOUT_PYTORCH, "bias_ih_l0",
                                       bih, GU), SN_OK);
    ck_assert_int_eq(sn_rnn_set_weight(l, SN_LAYOUT_PYTORCH, "bias_hh_l0",
                                       bhh, GU), SN_OK);
    ck_assert_int_eq(sn_rnn_get_weight(l, SN_LAYOUT_KERAS, "kernel", K, nk),
                     SN_OK);
    ck_assert_int_eq(sn_rnn_get_weight(l, SN_LAYOUT_KERAS, "recurrent_kernel",
                                       R, nr), SN_OK);
    ck_assert_int_eq(sn_rnn_get_weight(l, SN_LAYOUT_KERAS, "bias", bb, nb),
                     SN_OK);
    for (int pb = 0; pb < G; pb++) {
        int kb = keras_block(cell, pb);
        for (int j = 0; j < u; j++) {
            int r = pb * u + j, kc = kb * u + j;
            for (int k = 0; k < in; k++)
                ck_assert_float_eq(K[k * GU + kc], Wih[r * in + k]);
            for (int k = 0; k < u; k++)
                ck_assert_float_eq(R[k * GU + kc], Whh[r * u + k]);
            if (cell == C_GRU) {
                ck_assert_float_eq(bb[kc], bih[r]);
                ck_assert_float_eq(bb[GU + kc], bhh[r]);
            } else {
                ck_assert_float_eq_tol(bb[kc], bih[r] + bhh[r], 1e-6f);
            }
        }
    }
    /* Predict equals the PyTorch formulas. */
    float x[2 * 4 * 3], y[2 * 4 * 3];
    double yr[2 * 4 * 3];
    tk_fill(x, (size_t)B * T * in, 15, -1, 1);
    const void *inp[1] = {x};
    float *outp[1] = {y};
    ck_assert_int_eq(sn_model_predict(bm.m, B, inp, NULL, outp), SN_OK);
    torch_ref(cell, B, T, in, u, Wih, Whh, bih, bhh, x, yr);
    expect_close(y, yr, (size_t)B * T * u, 1e-5, "predict vs PyTorch");
    sn_model_free(bm.m);
}
END_TEST

START_TEST(test_layout_no_bias)
{
    mdesc d = desc(C_LSTM);
    d.use_bias = 0;
    built bm = build(&d, 9, 0);
    ck_assert_int_eq(sn_rnn_num_weights(bm.l, SN_LAYOUT_KERAS), 2);
    ck_assert_int_eq(sn_rnn_num_weights(bm.l, SN_LAYOUT_PYTORCH), 2);
    float b[12];
    sn_clear_error();
    expect_error(sn_rnn_get_weight(bm.l, SN_LAYOUT_PYTORCH, "bias_ih_l0", b,
                                   12), "bias of a no-bias layer");
    sn_model_free(bm.m);
}
END_TEST

/* Bidirectional names: Keras forward_/backward_, PyTorch _reverse. */
START_TEST(test_layout_bidirectional)
{
    for (int cell = C_LSTM; cell <= C_GRU; cell++) {
        const int in = 3, u = 3, GU = ngates(cell) * u;
        mdesc d = desc(cell);
        d.bidi = 1;
        d.rs = 1;
        built bm = build(&d, 4, 777);
        sn_layer_t *l = bm.l;
        ck_assert_int_eq(sn_rnn_num_weights(l, SN_LAYOUT_KERAS), 6);
        ck_assert_int_eq(sn_rnn_num_weights(l, SN_LAYOUT_PYTORCH), 8);
        const char *fk = NULL, *bk = NULL;
        for (int i = 0; i < 6; i++) {
            const char *n = NULL;
            int dims[SN_MAX_RANK];
            ck_assert_int_ge(sn_rnn_weight_info(l, SN_LAYOUT_KERAS, i, &n,
                                                dims, SN_MAX_RANK), 1);
            ck_assert_ptr_nonnull(n);
            ck_assert_msg(strncmp(n, "forward_", 8) == 0 ||
                          strncmp(n, "backward_", 9) == 0,
                          "Keras name %s", n);
            if (ends_with(n, "/kernel")) {
                if (n[0] == 'f')
                    fk = n;
                else
                    bk = n;
            }
        }
        ck_assert_ptr_nonnull(fk);
        ck_assert_ptr_nonnull(bk);
        char fkc[128], bkc[128];
        snprintf(fkc, sizeof fkc, "%s", fk);
        snprintf(bkc, sizeof bkc, "%s", bk);
        int seen_rev = 0;
        for (int i = 0; i < 8; i++) {
            const char *n = NULL;
            ck_assert_int_ge(sn_rnn_weight_info(l, SN_LAYOUT_PYTORCH, i, &n,
                                                NULL, 0), 1);
            seen_rev += ends_with(n, "_reverse");
        }
        ck_assert_int_eq(seen_rev, 4);
        float kf[36], kb[36], wf[36], wb[36];
        size_t nk = (size_t)in * GU;
        ck_assert_int_eq(sn_rnn_get_weight(l, SN_LAYOUT_KERAS, fkc, kf, nk),
                         SN_OK);
        ck_assert_int_eq(sn_rnn_get_weight(l, SN_LAYOUT_KERAS, bkc, kb, nk),
                         SN_OK);
        ck_assert_int_ne(memcmp(kf, kb, nk * sizeof(float)), 0);
        ck_assert_int_eq(sn_rnn_get_weight(l, SN_LAYOUT_PYTORCH,
                                           "weight_ih_l0", wf, nk), SN_OK);
        ck_assert_int_eq(sn_rnn_get_weight(l, SN_LAYOUT_PYTORCH,
                                           "weight_ih_l0_reverse", wb, nk),
                         SN_OK);
        for (int pb = 0; pb < ngates(cell); pb++)
            for (int j = 0; j < u; j++)
                for (int k = 0; k < in; k++) {
                    int r = pb * u + j, kc = keras_block(cell, pb) * u + j;
                    ck_assert_float_eq(wf[r * in + k], kf[k * GU + kc]);
                    ck_assert_float_eq(wb[r * in + k], kb[k * GU + kc]);
                }
        /* Writing the reverse half changes only the backward weights. */
        float z[36] = {0};
        ck_assert_int_eq(sn_rnn_set_weight(l, SN_LAYOUT_PYTORCH,
                                           "weight_ih_l0_reverse", z, nk),
                         SN_OK);
        ck_assert_int_eq(sn_rnn_get_weight(l, SN_LAYOUT_KERAS, bkc, kb, nk),
                         SN_OK);
        ck_assert_mem_eq(kb, z, nk * sizeof(float));
        ck_assert_int_eq(sn_rnn_get_weight(l, SN_LAYOUT_KERAS, fkc, wf, nk),
                         SN_OK);
        ck_assert_mem_eq(wf, kf, nk * sizeof(float));
        sn_model_free(bm.m);
    }
}
END_TEST

START_TEST(test_layout_errors)
{
    mdesc d = desc(C_LSTM);
    built bm = build(&d, 4, 0);
    sn_layer_t *l = bm.l;
    float buf[64] = {0};
    sn_clear_error();
    expect_error(sn_rnn_get_weight(l, SN_LAYOUT_KERAS, "kernel", buf, 35),
                 "kernel count 35");
    sn_clear_error();
    expect_error(sn_rnn_set_weight(l, SN_LAYOUT_KERAS, "kernel", buf, 37),
                 "set kernel count 37");
    sn_clear_error();
    expect_error(sn_rnn_get_weight(l, SN_LAYOUT_KERAS, "nope", buf, 36),
                 "unknown name");
    sn_clear_error();
    expect_error(sn_rnn_get_weight(l, SN_LAYOUT_KERAS, "weight_ih_l0", buf,
                                   36), "torch name in keras layout");
    sn_clear_error();
    expect_error(sn_rnn_get_weight(l, SN_LAYOUT_PYTORCH, "kernel", buf, 36),
                 "keras name in torch layout");
    sn_clear_error();
    expect_error(sn_rnn_get_weight(l, SN_LAYOUT_PYTORCH,
                                   "weight_ih_l0_reverse", buf, 36),
                 "_reverse on a unidirectional layer");
    sn_clear_error();
    expect_error(sn_rnn_get_weight(l, (sn_weight_layout)7, "kernel", buf, 36),
                 "bad layout");
    sn_clear_error();
    expect_error(sn_rnn_get_weight(l, SN_LAYOUT_KERAS, "kernel", NULL, 36),
                 "NULL out");
    sn_clear_error();
    expect_error(sn_rnn_weight_info(l, SN_LAYOUT_KERAS, 3, NULL, NULL, 0),
                 "weight_info index 3");
    sn_clear_error();
    expect_error(sn_rnn_weight_info(l, SN_LAYOUT_PYTORCH, -1, NULL, NULL, 0),
                 "weight_info index -1");
    sn_clear_error();
    expect_error(sn_rnn_num_weights(NULL, SN_LAYOUT_KERAS),
                 "num_weights(NULL)");
    /* A layer outside a built model. */
    sn_layer_t *loose = sn_gru(2, NULL);
    ck_assert_ptr_nonnull(loose);
    sn_clear_error();
    expect_error(sn_rnn_get_weight(loose, SN_LAYOUT_KERAS, "kernel", buf, 12),
                 "unbuilt layer");
    sn_layer_free(loose);
    /* A Dense layer is not recurrent. */
    sn_model_t *m = tk_new_model(1);
    sn_layer_t *dense = sn_dense(2, SN_LINEAR, NULL);
    ck_assert_int_ge(sn_apply(m, dense, sn_input(m, 3, 2)), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    sn_clear_error();
    expect_error(sn_rnn_get_weight(dense, SN_LAYOUT_KERAS, "kernel", buf, 4),
                 "dense layer");
    sn_model_free(m);
    /* The failed calls changed nothing. */
    float k[36];
    ck_assert_int_eq(sn_rnn_get_weight(l, SN_LAYOUT_KERAS, "kernel", k, 36),
                     SN_OK);
    ck_assert_mem_eq(k, wdata(bm.m, "lstm/kernel", 36), sizeof k);
    sn_model_free(bm.m);
}
END_TEST

/* ----------------------------------------------------------- stateful */

static sn_model_t *stateful_model(int cell, uint64_t seed, sn_layer_t **l)
{
    sn_model_t *m = tk_new_model(seed);
    sn_rnn_opts o = SN_RNN_OPTS_INIT;
    o.stateful = 1;
    o.reset_after = cell != C_GRU0;
    *l = cell == C_SIMPLE ? sn_simple_rnn(3, &o)
       : cell == C_LSTM ? sn_lstm(3, &o) : sn_gru(3, &o);
    ck_assert_ptr_nonnull(*l);
    ck_assert_int_ge(sn_apply(m, *l, sn_input(m, SN_ANY_TIME, 2)), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    randomize_weights(m, 44, 0.6f);
    return m;
}

START_TEST(test_stateful_halves)
{
    int cell = _i;
    const int B = 2, T = 6, H = 3, E = 2, u = 3;
    float x[2 * 6 * 2], xa[2 * 3 * 2], xb[2 * 3 * 2];
    tk_fill(x, sizeof x / sizeof *x, 3, -1, 1);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < H; t++)
            for (int e = 0; e < E; e++) {
                xa[(b * H + t) * E + e] = x[(b * T + t) * E + e];
                xb[(b * H + t) * E + e] = x[(b * T + H + t) * E + e];
            }
    sn_layer_t *l;
    sn_model_t *m = stateful_model(cell, 7, &l);
    float yfull[6], ya1[6], yb[6], ya2[6], ya3[6], yfresh[6];
    float *out[1];
    const void *in[1];
    int tf = T, th = H;

    in[0] = x; out[0] = yfull;
    ck_assert_msg(sn_model_predict(m, B, in, &tf, out) == SN_OK, "%s",
                  sn_last_error());
    ck_assert_int_eq(sn_model_reset_states(m), SN_OK);
    in[0] = xa; out[0] = ya1;
    ck_assert_int_eq(sn_model_predict(m, B, in, &th, out), SN_OK);
    in[0] = xb; out[0] = yb;
    ck_assert_int_eq(sn_model_predict(m, B, in, &th, out), SN_OK);
    tk_expect_close(yb, yfull, (size_t)B * u, 1e-5, "halves vs whole");
    /* Without a reset the state carries on. */
    in[0] = xa; out[0] = ya2;
    ck_assert_int_eq(sn_model_predict(m, B, in, &th, out), SN_OK);
    ck_assert_msg(memcmp(ya1, ya2, sizeof ya1) != 0,
                  "%s: stateful layer did not carry its state",
                  cell_names[cell]);
    /* A batch-size change is refused. */
    float x3[3 * 3 * 2] = {0}, y3[9];
    in[0] = x3; out[0] = y3;
    sn_clear_error();
    expect_error(sn_model_predict(m, 3, in, &th, out), "batch 3 on stateful");
    /* Resetting the layer restores the fresh behaviour. */
    ck_assert_int_eq(sn_layer_reset_states(l), SN_OK);
    in[0] = xa; out[0] = ya3;
    ck_assert_int_eq(sn_model_predict(m, B, in, &th, out), SN_OK);
    tk_expect_close(ya3, ya1, (size_t)B * u, 1e-6, "after layer reset");
    /* Also the same as a fresh model. */
    sn_layer_t *l2;
    sn_model_t *m2 = stateful_model(cell, 7, &l2);
    out[0] = yfresh;
    ck_assert_int_eq(sn_model_predict(m2, B, in, &th, out), SN_OK);
    tk_expect_close(yfresh, ya1, (size_t)B * u, 1e-6, "fresh model");
    /* The forward (training) path carries state too. */
    ck_assert_int_eq(sn_model_reset_states(m2), SN_OK);
    ck_assert_int_eq(sn_model_forward(m2, B, in, &th, 0), SN_OK);
    in[0] = xb;
    ck_assert_int_eq(sn_model_forward(m2, B, in, &th, 0), SN_OK);
    tk_expect_close(sn_model_output(m2, 0, NULL, 0, NULL), yfull, (size_t)B * u,
                    1e-5, "forward halves vs whole");
    sn_model_free(m2);
    sn_model_free(m);
}
END_TEST

/* A stateful cell of the given kind (3 units). */
static sn_layer_t *stateful_cell(int cell, int go_backwards)
{
    sn_rnn_opts o = SN_RNN_OPTS_INIT;
    o.stateful = 1;
    o.go_backwards = go_backwards;
    o.reset_after = cell != C_GRU0;
    sn_layer_t *l = cell == C_SIMPLE ? sn_simple_rnn(3, &o)
                    : cell == C_LSTM ? sn_lstm(3, &o) : sn_gru(3, &o);
    ck_assert_ptr_nonnull(l);
    return l;
}

/* Stateful Bidirectional (Keras): each direction carries its own final
 * state, exactly like a stateful forward layer beside a stateful
 * go_backwards one with the same weights, call after call. */
START_TEST(test_stateful_bidirectional)
{
    int cell = _i;
    enum { SB = 2, ST = 3, SE = 2, SU = 3 };
    sn_model_t *bm = tk_new_model(3);
    sn_layer_t *bl = sn_bidirectional(stateful_cell(cell, 0), SN_MERGE_NONE);
    ck_assert_msg(bl != NULL, "%s", sn_last_error());
    int x = sn_input(bm, ST, SE), outs[2];
    ck_assert_int_eq(sn_apply_n(bm, bl, &x, 1, outs, 2), 2);
    ck_assert_int_eq(sn_model_set_outputs(bm, outs, 2), SN_OK);
    ck_assert_int_eq(sn_model_build(bm), SN_OK);
    randomize_weights(bm, 12, 0.6f);

    sn_model_t *rm = tk_new_model(3);
    x = sn_input(rm, ST, SE);
    int ro[2] = { sn_apply(rm, stateful_cell(cell, 0), x),
                  sn_apply(rm, stateful_cell(cell, 1), x) };
    ck_assert_int_eq(sn_model_set_outputs(rm, ro, 2), SN_OK);
    ck_assert_int_eq(sn_model_build(rm), SN_OK);
    ck_assert_int_eq(sn_model_num_weights(rm), sn_model_num_weights(bm));
    for (int i = 0; i < sn_model_num_weights(bm); i++) {
        size_t nb, nr;
        float *wb = sn_model_weight_data(bm, i, &nb);
        float *wr = sn_model_weight_data(rm, i, &nr);
        ck_assert_uint_eq(nb, nr);
        memcpy(wr, wb, nb * sizeof *wr);
    }

    float xs[3][SB * ST * SE], yb[2][SB * SU], yr[2][SB * SU];
    for (int k = 0; k < 3; k++)
        tk_fill(xs[k], SB * ST * SE, 40 + (uint32_t)k, -1, 1);
    float first[2][SB * SU];
    for (int call = 0; call < 3; call++) {
        const void *in[1] = { xs[call] };
        float *ob[2] = { yb[0], yb[1] }, *orf[2] = { yr[0], yr[1] };
        ck_assert_msg(sn_model_predict(bm, SB, in, NULL, ob) == SN_OK, "%s",
                      sn_last_error());
        ck_assert_int_eq(sn_model_predict(rm, SB, in, NULL, orf), SN_OK);
        tk_expect_close(yb[0], yr[0], SB * SU, 1e-6, "forward direction");
        tk_expect_close(yb[1], yr[1], SB * SU, 1e-6, "backward direction");
        if (call == 0)
            memcpy(first, yb, sizeof first);
    }
    /* the training path carries state too */
    const void *in0[1] = { xs[0] };
    ck_assert_int_eq(sn_model_forward(bm, SB, in0, NULL, 0), SN_OK);
    ck_assert_int_eq(sn_model_forward(rm, SB, in0, NULL, 0), SN_OK);
    tk_expect_close(sn_model_output(bm, 1, NULL, 0, NULL),
                    sn_model_output(rm, 1, NULL, 0, NULL), SB * SU, 1e-6,
                    "forward pass, backward direction");
    /* a reset gives the fresh result again; a batch change is refused */
    ck_assert_int_eq(sn_layer_reset_states(bl), SN_OK);
    float *ob[2] = { yb[0], yb[1] };
    ck_assert_int_eq(sn_model_predict(bm, SB, in0, NULL, ob), SN_OK);
    tk_expect_close(yb[0], first[0], SB * SU, 1e-6, "after reset, forward");
    tk_expect_close(yb[1], first[1], SB * SU, 1e-6, "after reset, backward");
    ck_assert_msg(memcmp(yb, yr, sizeof yb) != 0, "states were carried");
    float x1[ST * SE] = {0}, y1[2][SU];
    const void *in1[1] = { x1 };
    float *o1[2] = { y1[0], y1[1] };
    sn_clear_error();
    expect_error(sn_model_predict(bm, 1, in1, NULL, o1), "batch 1 on stateful");
    sn_model_free(rm);
    sn_model_free(bm);
}
END_TEST

START_TEST(test_reset_states_stateless)
{
    mdesc d = desc(C_LSTM);
    built bm = build(&d, 1, 0);
    /* Nothing to reset: fine, and predict stays pure. */
    ck_assert_int_eq(sn_model_reset_states(bm.m), SN_OK);
    float x[24], y1[6], y2[6];
    tk_fill(x, 24, 1, -1, 1);
    const void *in[1] = {x};
    float *o1[1] = {y1}, *o2[1] = {y2};
    ck_assert_int_eq(sn_model_predict(bm.m, 2, in, NULL, o1), SN_OK);
    ck_assert_int_eq(sn_model_predict(bm.m, 2, in, NULL, o2), SN_OK);
    ck_assert_mem_eq(y1, y2, sizeof y1);
    /* A batch-size change on a stateless layer is fine. */
    float x3[36] = {0}, y3[9];
    const void *in3[1] = {x3};
    float *o3[1] = {y3};
    ck_assert_int_eq(sn_model_predict(bm.m, 3, in3, NULL, o3), SN_OK);
    sn_clear_error();
    expect_error(sn_layer_reset_states(NULL), "reset NULL");
    sn_model_free(bm.m);
}
END_TEST

/* ------------------------------------------------------ introspection */

START_TEST(test_step_grad_norms_vanishing)
{
    const int B = 2, T = 50, E = 2, u = 4;
    float x[2 * 50 * 2], w[8], norms[50];
    double ratio[2];
    for (int c = 0; c < 2; c++) {
        sn_model_t *m = tk_new_model(5);
        sn_layer_t *l = c == 0 ? sn_simple_rnn(u, NULL) : sn_lstm(u, NULL);
        ck_assert_int_ge(sn_apply(m, l, sn_input(m, T, E)), 0);
        ck_assert_int_eq(sn_model_build(m), SN_OK);
        if (c == 0) {
            tk_fill(wdata(m, "simple_rnn/kernel", (size_t)E * u),
                    (size_t)E * u, 3, -0.5f, 0.5f);
            tk_fill(wdata(m, "simple_rnn/recurrent_kernel", (size_t)u * u),
                    (size_t)u * u, 4, -0.05f, 0.05f);
            tk_fill(x, (size_t)B * T * E, 6, -1, 1);
        } else {
            tk_fill(x, (size_t)B * T * E, 6, -0.3f, 0.3f);
        }
        tk_fill(w, (size_t)B * u, 7, 0.5f, 1);
        const void *in[1] = {x};
        const float *gr[1] = {w};
        sn_clear_error();
        /* Before any forward/backward: an error. */
        expect_error(sn_rnn_step_grad_norms(l, SN_STEP_GRAD_HIDDEN, norms, T),
                     "norms before forward");
        ck_assert_int_eq(sn_model_forward(m, B, in, NULL, 0), SN_OK);
        sn_clear_error();
        expect_error(sn_rnn_step_grad_norms(l, SN_STEP_GRAD_HIDDEN, norms, T),
                     "norms before backward");
        ck_assert_int_eq(sn_model_backward(m, gr), SN_OK);
        sn_clear_error();
        expect_error(sn_rnn_step_grad_norms(l, SN_STEP_GRAD_HIDDEN, norms,
                                            T - 1), "max_steps too small");
        int n = sn_rnn_step_grad_norms(l, SN_STEP_GRAD_HIDDEN, norms, T);
        ck_assert_msg(n == T, "norms: %d (%s)", n, sn_last_error());
        for (int t = 0; t < T; t++)
            ck_assert(isfinite(norms[t]) && norms[t] >= 0.0f);
        ck_assert_float_gt(norms[T - 1], 0.0f);
        ck_assert_msg(norms[10] < norms[40], "%s: norm at 10 %g >= at 40 %g",
                      c ? "LSTM" : "SimpleRNN", (double)norms[10],
                      (double)norms[40]);
        ratio[c] = (double)norms[0] / (double)norms[T - 1];
        n = sn_rnn_step_grad_norms(l, SN_STEP_GRAD_INPUT, norms, T);
        ck_assert_int_eq(n, T);
        ck_assert_float_gt(norms[T - 1], 0.0f);
        sn_model_free(m);
    }
    ck_assert_msg(ratio[0] < 1e-20, "SimpleRNN: early/late norm ratio %g is "
                  "not vanishing", ratio[0]);
    ck_assert_msg(ratio[1] > 1e-12 && ratio[1] > 1e6 * ratio[0],
                  "LSTM early/late ratio %g vs SimpleRNN %g", ratio[1],
                  ratio[0]);
}
END_TEST

START_TEST(test_gate_activations)
{
    int cell = _i;
    const int B = 2;
    mdesc d = desc(cell);
    d.units = 2;
    d.rs = 1;
    int T = d.T, E = d.E, u = d.units, GU = ngates(cell) * u;
    built bm = build(&d, 19, 300);
    float x[2 * 4 * 3];
    tk_fill(x, (size_t)B * T * E, 8, -1, 1);
    const void *in[1] = {x};
    float out[2 * 4 * 8];
    int dims[3] = {0};
    /* predict does not record gates */
    float y[2 * 4 * 2];
    float *yo[1] = {y};
    ck_assert_int_eq(sn_model_predict(bm.m, B, in, NULL, yo), SN_OK);
    sn_clear_error();
    expect_error((int)sn_rnn_gate_activations(bm.l, out, sizeof out /
                                              sizeof *out, dims, 3),
                 "gates before forward");
    ck_assert_int_eq(sn_model_forward(bm.m, B, in, NULL, 0), SN_OK);
    long n = sn_rnn_gate_activations(bm.l, out, sizeof out / sizeof *out,
                                     dims, 3);
    ck_assert_msg(n == (long)B * T * GU, "gates: %ld (%s)", n,
                  sn_last_error());
    ck_assert_int_eq(dims[0], B);
    ck_assert_int_eq(dims[1], T);
    ck_assert_int_eq(dims[2], GU);
    sn_clear_error();
    ck_assert_int_eq(sn_rnn_gate_activations(bm.l, out, (size_t)n - 1, dims, 3),
                     SN_ERR_INVALID_ARG);
    int two[3] = { 0, 0, -9 };
    ck_assert_int_eq(sn_rnn_gate_activations(bm.l, out, (size_t)n, two, 2), n);
    ck_assert_int_eq(two[1], T);
    ck_assert_int_eq(two[2], -9);
    ck_assert_int_eq(sn_rnn_gate_activations(bm.l, out, (size_t)n, NULL, 3),
                     SN_ERR_INVALID_ARG);
    double ref[2 * 4 * 8], ry[2 * 4 * 2];
    double *ro[1] = {ry};
    ref_model(&d, &bm, B, x, NULL, ro, ref);
    expect_close(out, ref, (size_t)n, 1e-5, cell_names[cell]);
    /* sigmoid gates strictly inside (0, 1) */
    for (int i = 0; i < n; i++) {
        int gate = (i % GU) / u;
        int sig = (cell == C_LSTM && gate != 2) ||
                  ((cell == C_GRU || cell == C_GRU0) && gate < 2);
        if (sig)
            ck_assert_msg(out[i] > 0.0f && out[i] < 1.0f, "gate %d = %g",
                          gate, (double)out[i]);
        else
            ck_assert(out[i] > -1.0f && out[i] < 1.0f);
    }
    sn_model_free(bm.m);
}
END_TEST

/* ---------------------------------------------------------- save/load */

START_TEST(test_save_load_all_types)
{
    const int B = 2, T = 4, E = 3;
    sn_model_t *m = tk_new_model(31);
    int x = sn_input(m, T, E);
    sn_embedding_opts eo = SN_EMBEDDING_OPTS_INIT;
    eo.mask_zero = 1;
    int tok = sn_input_tokens(m, T);
    int emb = sn_apply(m, sn_embedding(6, E, &eo), tok);
    int outs[32], no = 0, o[4], r;

    sn_rnn_opts s = SN_RNN_OPTS_INIT;
    s.activation = SN_RELU;
    s.return_sequences = 1;
    s.go_backwards = 1;
    outs[no++] = sn_apply(m, sn_simple_rnn(3, &s), x);

    sn_rnn_opts lo = SN_RNN_OPTS_INIT;
    lo.return_state = 1;
    lo.unit_forget_bias = 0;
    r = sn_apply_n(m, sn_lstm(3, &lo), &x, 1, o, 4);
    ck_assert_int_eq(r, 3);
    for (int i = 0; i < 3; i++)
        outs[no++] = o[i];

    sn_rnn_opts g1 = SN_RNN_OPTS_INIT;
    outs[no++] = sn_apply(m, sn_gru(2, &g1), x);
    sn_rnn_opts g0 = SN_RNN_OPTS_INIT;
    g0.reset_after = 0;
    g0.return_sequences = 1;
    outs[no++] = sn_apply(m, sn_gru(2, &g0), x);
    outs[no++] = sn_apply(m, sn_gru(2, &g1), emb); /* masked */

    sn_rnn_opts rs = SN_RNN_OPTS_INIT;
    rs.return_sequences = 1;
    outs[no++] = sn_apply(m, sn_bidirectional(sn_gru(2, &rs),
                                              SN_MERGE_CONCAT), x);
    outs[no++] = sn_apply(m, sn_bidirectional(sn_simple_rnn(2, NULL),
                                              SN_MERGE_SUM), x);
    outs[no++] = sn_apply(m, sn_bidirectional(sn_lstm(2, &rs), SN_MERGE_MUL),
                          emb);
    outs[no++] = sn_apply(m, sn_bidirectional(sn_gru(2, &g0), SN_MERGE_AVE),
                          x);
    r = sn_apply_n(m, sn_bidirectional(sn_lstm(2, NULL), SN_MERGE_NONE), &x,
                   1, o, 4);
    ck_assert_int_eq(r, 2);
    outs[no++] = o[0];
    outs[no++] = o[1];
    for (int i = 0; i < no; i++)
        ck_assert_msg(outs[i] >= 0, "output %d: %s", i, sn_last_error());
    ck_assert_int_eq(sn_model_set_outputs(m, outs, no), SN_OK);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    randomize_weights(m, 77, 0.6f);

    void *buf = NULL;
    size_t len = 0;
    ck_assert_msg(sn_model_save_buffer(m, 0, &buf, &len) == SN_OK, "save: %s",
                  sn_last_error());
    sn_model_t *m2 = NULL;
    ck_assert_msg(sn_model_load_buffer(buf, len, &m2) == SN_OK, "load: %s",
                  sn_last_error());
    sn_free(buf);
    ck_assert_int_eq(sn_model_num_outputs(m2), no);
    ck_assert_int_eq(sn_model_num_weights(m2), sn_model_num_weights(m));

    float xf[2 * 4 * 3];
    tk_fill(xf, sizeof xf / sizeof *xf, 2, -1, 1);
    int32_t ids[8] = {1, 2, 0, 0, 0, 3, 5, 4};
    const void *in[2] = {xf, ids};
    float *y1[32], *y2[32];
    ck_assert_int_eq(sn_model_forward(m, B, in, NULL, 0), SN_OK);
    size_t sz[32];
    for (int k = 0; k < no; k++) {
        sz[k] = tk_output_count(m, k);
        y1[k] = xmalloc(sz[k] * sizeof(float));
        y2[k] = xmalloc(sz[k] * sizeof(float));
    }
    ck_assert_int_eq(sn_model_predict(m, B, in, NULL, y1), SN_OK);
    ck_assert_msg(sn_model_predict(m2, B, in, NULL, y2) == SN_OK,
                  "predict loaded: %s", sn_last_error());
    for (int k = 0; k < no; k++) {
        ck_assert_msg(memcmp(y1[k], y2[k], sz[k] * sizeof(float)) == 0,
                      "output %d differs after save/load", k);
        free(y1[k]);
        free(y2[k]);
    }
    /* Layer types survive. */
    int bidis = 0, lstms = 0, grus = 0, simples = 0;
    for (int i = 0; i < sn_model_num_layers(m2); i++) {
        const char *t = sn_layer_type(sn_model_layer(m2, i));
        bidis += strcmp(t, "Bidirectional") == 0;
        lstms += strcmp(t, "LSTM") == 0;
        grus += strcmp(t, "GRU") == 0;
        simples += strcmp(t, "SimpleRNN") == 0;
    }
    ck_assert_int_eq(bidis, 5);
    ck_assert_int_eq(lstms, 1);
    ck_assert_int_eq(grus, 3);
    ck_assert_int_eq(simples, 1);
    sn_model_free(m2);
    sn_model_free(m);
}
END_TEST

/* ---------------------------------------------------------- bad input */

static void expect_null(sn_layer_t *l, const char *what)
{
    ck_assert_msg(l == NULL, "%s: expected NULL", what);
    ck_assert_msg(sn_last_error()[0] != '\0', "%s: empty message", what);
}

START_TEST(test_constructor_args)
{
    sn_rnn_opts o;
    sn_clear_error();
    expect_null(sn_simple_rnn(0, NULL), "simple_rnn units 0");
    sn_clear_error();
    expect_null(sn_lstm(-1, NULL), "lstm units -1");
    sn_clear_error();
    expect_null(sn_gru(0, NULL), "gru units 0");
    const float bad_rates[3] = {1.0f, -0.1f, NAN};
    for (int i = 0; i < 3; i++) {
        o = (sn_rnn_opts)SN_RNN_OPTS_INIT;
        o.dropout = bad_rates[i];
        sn_clear_error();
        expect_null(sn_lstm(2, &o), "dropout");
        o = (sn_rnn_opts)SN_RNN_OPTS_INIT;
        o.recurrent_dropout = bad_rates[i];
        sn_clear_error();
        expect_null(sn_gru(2, &o), "recurrent_dropout");
    }
    o = (sn_rnn_opts)SN_RNN_OPTS_INIT;
    o.activation = (sn_activation)42;
    sn_clear_error();
    expect_null(sn_simple_rnn(2, &o), "activation 42");
    o = (sn_rnn_opts)SN_RNN_OPTS_INIT;
    o.recurrent_activation = (sn_activation)-3;
    sn_clear_error();
    expect_null(sn_lstm(2, &o), "recurrent_activation -3");
    o = (sn_rnn_opts)SN_RNN_OPTS_INIT;
    o.kernel_initializer = (sn_initializer)99;
    sn_clear_error();
    expect_null(sn_gru(2, &o), "kernel_initializer 99");
    o = (sn_rnn_opts)SN_RNN_OPTS_INIT;
    o.truncate_steps = -1;
    sn_clear_error();
    expect_null(sn_lstm(2, &o), "truncate_steps -1");
    o = (sn_rnn_opts)SN_RNN_OPTS_INIT;
    o.size = 1;
    sn_clear_error();
    expect_null(sn_lstm(2, &o), "opts size 1");

    sn_clear_error();
    expect_null(sn_bidirectional(NULL, SN_MERGE_CONCAT), "bidirectional NULL");
    sn_clear_error();
    expect_null(sn_bidirectional(sn_dense(2, SN_LINEAR, NULL),
                                 SN_MERGE_CONCAT), "bidirectional(Dense)");
    sn_clear_error();
    expect_null(sn_bidirectional(sn_lstm(2, NULL), (sn_merge_mode)9),
                "merge mode 9");
    sn_clear_error();
    expect_null(sn_bidirectional(sn_bidirectional(sn_gru(2, NULL),
                                                  SN_MERGE_SUM),
                                 SN_MERGE_SUM), "bidirectional(bidirectional)");

    /* Good ones carry Keras type names and default names. */
    const struct {
        sn_layer_t *l;
        const char *type;
    } good[] = {
        {sn_simple_rnn(1, NULL), "SimpleRNN"},
        {sn_lstm(1, NULL), "LSTM"},
        {sn_gru(1, NULL), "GRU"},
        {sn_bidirectional(sn_lstm(1, NULL), SN_MERGE_NONE), "Bidirectional"},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        ck_assert_ptr_nonnull(good[i].l);
        ck_assert_str_eq(sn_layer_type(good[i].l), good[i].type);
        sn_layer_free(good[i].l);
    }
}
END_TEST

static void expect_apply_error(sn_model_t *m, sn_layer_t *l, const int *ins,
                               int n, int want, const char *what)
{
    int out[4];
    sn_clear_error();
    int r = sn_apply_n(m, l, ins, n, out, 4);
    if (want)
        ck_assert_msg(r == want, "%s: got %d, want %d", what, r, want);
    expect_error(r, what);
}

START_TEST(test_shape_errors)
{
    sn_model_t *m = tk_new_model(1);
    int flat = sn_input(m, SN_NO_TIME, 3);
    int x = sn_input(m, 4, 3);
    int tok = sn_input_tokens(m, 4);
    int h3 = sn_input(m, SN_NO_TIME, 3), h4 = sn_input(m, SN_NO_TIME, 4);
    int hseq = sn_input(m, 4, 3);
    expect_apply_error(m, sn_lstm(3, NULL), &flat, 1, SN_ERR_SHAPE,
                       "LSTM on rank 1");
    expect_apply_error(m, sn_gru(3, NULL), &flat, 1, SN_ERR_SHAPE,
                       "GRU on rank 1");
    expect_apply_error(m, sn_bidirectional(sn_simple_rnn(3, NULL),
                                           SN_MERGE_CONCAT),
                       &flat, 1, SN_ERR_SHAPE, "Bidirectional on rank 1");
    expect_apply_error(m, sn_lstm(3, NULL), &tok, 1, 0, "LSTM on int32 ids");
    int one_state[2] = {x, h3};
    expect_apply_error(m, sn_lstm(3, NULL), one_state, 2, 0,
                       "LSTM with h0 only");
    int three_states[4] = {x, h3, h3, h3};
    expect_apply_error(m, sn_lstm(3, NULL), three_states, 4, 0,
                       "LSTM with 3 states");
    int two[3] = {x, h3, h3};
    expect_apply_error(m, sn_gru(3, NULL), two, 3, 0, "GRU with 2 states");
    expect_apply_error(m, sn_simple_rnn(3, NULL), two, 3, 0,
                       "SimpleRNN with 2 states");
    expect_apply_error(m, sn_bidirectional(sn_lstm(3, NULL), SN_MERGE_SUM),
                       three_states, 3, 0, "Bidirectional LSTM 2 states");
    int wrong[2] = {x, h4};
    expect_apply_error(m, sn_gru(3, NULL), wrong, 2, SN_ERR_SHAPE,
                       "h0 of size 4 for 3 units");
    int wrong_c[3] = {x, h3, h4};
    expect_apply_error(m, sn_lstm(3, NULL), wrong_c, 3, SN_ERR_SHAPE,
                       "c0 of size 4 for 3 units");
    int seqstate[2] = {x, hseq};
    expect_apply_error(m, sn_simple_rnn(3, NULL), seqstate, 2, SN_ERR_SHAPE,
                       "sequence as h0");
    /* Still usable after the failures. */
    int ok[3] = {x, h3, h3}, out[3];
    ck_assert_int_eq(sn_apply_n(m, sn_lstm(3, NULL), ok, 3, out, 3), 1);
    ck_assert_int_ge(out[0], 0);
    ck_assert_int_eq(sn_model_set_outputs(m, out, 1), SN_OK);
    ck_assert_msg(sn_model_build(m) == SN_OK, "build: %s", sn_last_error());
    sn_model_free(m);
}
END_TEST

/* A training step skips dLoss/dx for a layer fed by a model input (no one
 * could read it before the next step); the weight gradients are the same
 * as those of an explicit forward + backward, and asking for what was
 * skipped is a clear SN_ERR_STATE. */
START_TEST(test_training_step_skips_input_grads)
{
    enum { TB = 3, TT = 5, TE = 3 };
    sn_model_t *m = tk_new_model(9);
    sn_layer_t *l = sn_lstm(4, NULL);
    int x = sn_apply(m, l, sn_input(m, TT, TE));
    x = sn_apply(m, sn_dense(1, SN_LINEAR, NULL), x);
    ck_assert_int_ge(x, 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    sn_optimizer_opts oo;
    sn_optimizer_defaults(SN_SGD, &oo);
    sn_loss_opts lo = SN_LOSS_OPTS_INIT;
    lo.kind = SN_LOSS_MSE;
    sn_compile_opts co = SN_COMPILE_OPTS_INIT;
    co.optimizer = sn_optimizer_new(&oo);
    co.loss = &lo;
    ck_assert_int_eq(sn_model_compile(m, &co), SN_OK);
    float xs[TB * TT * TE], ys[TB], dy[TB], norms[TT];
    tk_fill(xs, TB * TT * TE, 7, -1, 1);
    tk_fill(ys, TB, 8, -1, 1);
    const void *in[1] = {xs};
    const float *tg[1] = {ys}, *gr[1] = {dy};

    /* explicit pass at the initial weights */
    ck_assert_int_eq(sn_model_forward(m, TB, in, NULL, 1), SN_OK);
    double loss;
    ck_assert_int_eq(sn_loss_compute(&lo, TB, 1, sn_model_output(m, 0, NULL, 0,
                                     NULL), ys, NULL, &loss, dy), SN_OK);
    ck_assert_int_eq(sn_model_zero_grad(m), SN_OK);
    ck_assert_int_eq(sn_model_backward(m, gr), SN_OK);
    ck_assert_ptr_nonnull(sn_model_input_grad(m, 0));
    ck_assert_int_eq(sn_rnn_step_grad_norms(l, SN_STEP_GRAD_INPUT, norms, TT),
                     TT);
    int nw = sn_model_num_weights(m);
    float *g0[8];
    size_t len[8];
    ck_assert_int_le(nw, 8);
    for (int i = 0; i < nw; i++) {
        const float *g = sn_model_weight_grad(m, i, &len[i]);
        g0[i] = malloc(len[i] * sizeof(float));
        memcpy(g0[i], g, len[i] * sizeof(float));
    }

    /* the training step from the same weights */
    ck_assert_int_eq(sn_model_train_on_batch(m, TB, in, NULL, tg, NULL, NULL),
                     SN_OK);
    for (int i = 0; i < nw; i++) {
        size_t n;
        const float *g = sn_model_weight_grad(m, i, &n);
        ck_assert_uint_eq(n, len[i]);
        ck_assert_mem_eq(g, g0[i], n * sizeof(float));
        free(g0[i]);
    }
    sn_clear_error();
    ck_assert_ptr_null(sn_model_input_grad(m, 0));
    ck_assert_ptr_nonnull(strstr(sn_last_error(), "training step"));
    ck_assert_int_eq(sn_rnn_step_grad_norms(l, SN_STEP_GRAD_INPUT, norms, TT),
                     SN_ERR_STATE);
    ck_assert_int_eq(sn_rnn_step_grad_norms(l, SN_STEP_GRAD_HIDDEN, norms,
                                            TT), TT);
    sn_model_free(m);
}
END_TEST

/* Introspection on non-recurrent layers and on Bidirectional. */
START_TEST(test_introspection_misc)
{
    /* sn_rnn_step_grad_norms / gate_activations on a non-recurrent layer. */
    sn_model_t *m = tk_new_model(1);
    sn_layer_t *dense = sn_dense(2, SN_LINEAR, NULL);
    ck_assert_int_ge(sn_apply(m, dense, sn_input(m, 3, 2)), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    float x[12] = {0}, buf[64];
    const void *in[1] = {x};
    ck_assert_int_eq(sn_model_forward(m, 2, in, NULL, 0), SN_OK);
    sn_clear_error();
    expect_error(sn_rnn_step_grad_norms(dense, SN_STEP_GRAD_HIDDEN, buf, 64),
                 "norms of Dense");
    sn_clear_error();
    expect_error((int)sn_rnn_gate_activations(dense, buf, 64, NULL, 0),
                 "gates of Dense");
    sn_clear_error();
    expect_error(sn_rnn_step_grad_norms(NULL, SN_STEP_GRAD_HIDDEN, buf, 64),
                 "norms of NULL");
    sn_model_free(m);

    /* A Bidirectional layer reports T norms (sum of both directions); with
     * return_sequences both the first and the last step get gradient. */
    mdesc d = desc(C_LSTM);
    d.bidi = 1;
    d.T = 5;
    built bm = build(&d, 3, 12);
    float xb[2 * 5 * 3], w[2 * 6];
    tk_fill(xb, 30, 1, -1, 1);
    tk_fill(w, 12, 2, -1, 1);
    const void *inb[1] = {xb};
    const float *gr[1] = {w};
    ck_assert_int_eq(sn_model_forward(bm.m, 2, inb, NULL, 0), SN_OK);
    ck_assert_int_eq(sn_model_backward(bm.m, gr), SN_OK);
    float norms[5];
    ck_assert_int_eq(sn_rnn_step_grad_norms(bm.l, SN_STEP_GRAD_HIDDEN, norms,
                                            5), 5);
    for (int t = 0; t < 5; t++)
        ck_assert_float_gt(norms[t], 0.0f);
    ck_assert_int_eq(sn_rnn_step_grad_norms(bm.l, SN_STEP_GRAD_INPUT, norms,
                                            5), 5);
    /* The sum of the two directions' norms is at least the norm of the
     * summed input gradient (triangle inequality). */
    const float *dx = sn_model_input_grad(bm.m, 0);
    for (int t = 0; t < 5; t++) {
        double s = 0;
        for (int b = 0; b < 2; b++)
            for (int e = 0; e < 3; e++)
                s += (double)dx[(b * 5 + t) * 3 + e] * dx[(b * 5 + t) * 3 + e];
        ck_assert_float_ge(norms[t], (float)sqrt(s) - 1e-5f);
    }
    sn_model_free(bm.m);

    /* Unidirectional: the input norms are exactly those of dL/dx_t. */
    d = desc(C_GRU);
    d.T = 5;
    d.rs = 1;
    bm = build(&d, 3, 12);
    float w2[2 * 5 * 3];
    tk_fill(w2, 30, 4, -1, 1);
    gr[0] = w2;
    ck_assert_int_eq(sn_model_forward(bm.m, 2, inb, NULL, 0), SN_OK);
    ck_assert_int_eq(sn_model_backward(bm.m, gr), SN_OK);
    ck_assert_int_eq(sn_rnn_step_grad_norms(bm.l, SN_STEP_GRAD_INPUT, norms,
                                            5), 5);
    dx = sn_model_input_grad(bm.m, 0);
    for (int t = 0; t < 5; t++) {
        double s = 0;
        for (int b = 0; b < 2; b++)
            for (int e = 0; e < 3; e++)
                s += (double)dx[(b * 5 + t) * 3 + e] * dx[(b * 5 + t) * 3 + e];
        ck_assert_float_eq_tol(norms[t], (float)sqrt(s), 1e-5f);
    }
    sn_model_free(bm.m);
}
END_TEST

/* ---------------------------------------------------------------- main */

static Suite *rnn_suite(void)
{
    Suite *s = suite_create("rnn");
    TCase *tc;

    tc = tcase_create("reference");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_ref_forward, 0, 32);
    tcase_add_loop_test(tc, test_ref_initial_state, 0, N_CELLS);
    tcase_add_test(tc, test_ref_variants);
    tcase_add_loop_test(tc, test_ref_bidirectional, 0, 20);
    tcase_add_test(tc, test_ref_bidirectional_initial_state);
    tcase_add_test(tc, test_lstm_forget_bias_init);
    suite_add_tcase(s, tc);

    tc = tcase_create("gradients");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_grad_cell, 0, 8 * N_CELLS);
    tcase_add_loop_test(tc, test_grad_bidirectional, 0, 10);
    tcase_add_loop_test(tc, test_grad_no_bias, 0, N_CELLS);
    tcase_add_test(tc, test_grad_stack);
    tcase_add_loop_test(tc, test_truncated_bptt, 0, N_CELLS);
    suite_add_tcase(s, tc);

    tc = tcase_create("dropout");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_dropout_reproducible, 0, N_CELLS);
    tcase_add_loop_test(tc, test_dropout_input_mask, 0, N_CELLS);
    suite_add_tcase(s, tc);

    tc = tcase_create("padding");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_padded_equals_unpadded, 0, 2 * N_CELLS);
    suite_add_tcase(s, tc);

    tc = tcase_create("layout");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_layout_roundtrip, 0, N_CELLS);
    tcase_add_test(tc, test_layout_no_bias);
    tcase_add_test(tc, test_layout_bidirectional);
    tcase_add_test(tc, test_layout_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("stateful");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_stateful_halves, 0, N_CELLS);
    tcase_add_loop_test(tc, test_stateful_bidirectional, 0, N_CELLS);
    tcase_add_test(tc, test_reset_states_stateless);
    suite_add_tcase(s, tc);

    tc = tcase_create("introspection");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_step_grad_norms_vanishing);
    tcase_add_test(tc, test_training_step_skips_input_grads);
    tcase_add_loop_test(tc, test_gate_activations, 0, N_CELLS);
    tcase_add_test(tc, test_introspection_misc);
    suite_add_tcase(s, tc);

    tc = tcase_create("save");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_save_load_all_types);
    suite_add_tcase(s, tc);

    tc = tcase_create("validation");
    tcase_add_test(tc, test_constructor_args);
    tcase_add_test(tc, test_shape_errors);
    suite_add_tcase(s, tc);
    return s;
}

/* ------------------------------------------------------------ NaN, Inf */

enum { NT = 5, NE = 3, NH = 4 };

/* Model: (NT, NE) float input -> cell(NH, activation act, all steps). */
static sn_model_t *nan_model(int cell, sn_activation act)
{
    sn_model_t *m = tk_new_model(5);
    sn_rnn_opts o = SN_RNN_OPTS_INIT;
    o.activation = act;
    o.return_sequences = 1;
    sn_layer_t *l = cell == 0 ? sn_simple_rnn(NH, &o)
                    : cell == 1 ? sn_lstm(NH, &o) : sn_gru(NH, &o);
    ck_assert_int_ge(sn_apply(m, l, sn_input(m, NT, NE)), 0);
    ck_assert_int_eq(sn_model_build(m), SN_OK);
    return m;
}

static int row_has_nan(const float *y, int b)
{
    for (int i = 0; i < NT * NH; i++)
        if (isnan(y[(size_t)b * NT * NH + i]))
            return 1;
    return 0;
}

static int row_finite(const float *y, int b)
{
    for (int i = 0; i < NT * NH; i++)
        if (!isfinite(y[(size_t)b * NT * NH + i]))
            return 0;
    return 1;
}

/* NaN and ±Inf in the inputs or the weights are not errors: they flow
 * through the arithmetic like any number (NaN propagates; ReLU maps it to
 * 0, as max(x, 0) does), never into undefined behaviour (UBSan runs this
 * suite), and a row's NaN never leaks into another row.  Every cell and
 * activation, at batch 1 and at a batch that takes the fused step path;
 * `make check` runs it on every instruction-set path. */
START_TEST(test_nan_and_inf_propagate_without_ub)
{
    int cell = _i / 4;
    sn_activation acts[4] = { SN_TANH, SN_SIGMOID, SN_RELU, SN_LINEAR };
    sn_activation act = acts[_i % 4];
    int batches[2] = { 1, 9 };
    for (int bi = 0; bi < 2; bi++) {
        int B = batches[bi];
        sn_model_t *m = nan_model(cell, act);
        float *x = malloc((size_t)B * NT * NE * sizeof *x);
        float *y = malloc((size_t)B * NT * NH * sizeof *y);
        ck_assert(x && y);
        tk_fill(x, (size_t)B * NT * NE, 3, -1.0f, 1.0f);
        const void *in[1] = { x };
        float *out[1] = { y };
        /* NaN in row 0, +Inf in the last row (B > 1): the rest stay finite */
        x[2 * NE + 1] = NAN;
        if (B > 1)
            x[((size_t)(B - 1) * NT + 1) * NE] = INFINITY;
        ck_assert_int_eq(sn_model_predict(m, B, in, NULL, out), SN_OK);
        if (act != SN_RELU)
            ck_assert_msg(row_has_nan(y, 0), "cell %d act %d: NaN input "
                          "did not reach the output", cell, (int)act);
        for (int b = 1; b < B - 1; b++)
            ck_assert_msg(row_finite(y, b), "cell %d act %d batch %d: row "
                          "%d not finite", cell, (int)act, B, b);
        /* NaN in a recurrent weight: every row may turn NaN, no error */
        size_t n;
        float *rec = sn_model_weight_data(m, 1, &n);
        ck_assert(rec != NULL && n > 0);
        rec[0] = NAN;
        x[2 * NE + 1] = 0.5f;
        ck_assert_int_eq(sn_model_predict(m, B, in, NULL, out), SN_OK);
        if (act != SN_RELU)
            ck_assert_msg(row_has_nan(y, 0), "cell %d act %d: NaN weight "
                          "did not reach the output", cell, (int)act);
        rec[0] = -INFINITY;
        ck_assert_int_eq(sn_model_predict(m, B, in, NULL, out), SN_OK);
        free(x);
        free(y);
        sn_model_free(m);
    }
}
END_TEST

int main(void)
{
    Suite *s = rnn_suite();
    TCase *tc = tcase_create("nan");
    tcase_add_loop_test(tc, test_nan_and_inf_propagate_without_ub, 0, 12);
    suite_add_tcase(s, tc);
    return tk_run_suite(s);
}

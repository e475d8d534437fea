/*
 * optimizer_more.c - the update rules of Keras 3's Nadam and Adamax
 * (keras/src/optimizers/nadam.py, adamax.py), with their defaults
 * learning_rate 1e-3, beta_1 0.9, beta_2 0.999, epsilon 1e-7.
 *
 * Nadam (step t = iterations + 1, decay 0.96):
 *   u_t   = beta_1 (1 - 0.5 * 0.96^t),   u_{t+1} likewise
 *   P_t   = u_1 u_2 ... u_t,             P_{t+1} = P_t u_{t+1}
 *   m    += (g - m)(1 - beta_1),         v += (g^2 - v)(1 - beta_2)
 *   m_hat = u_{t+1} m / (1 - P_{t+1}) + (1 - u_t) g / (1 - P_t)
 *   v_hat = v / (1 - beta_2^t)
 *   w    -= lr m_hat / (sqrt(v_hat) + epsilon)
 * PyTorch's NAdam uses 0.96^(t * momentum_decay) with momentum_decay
 * 0.004 instead of 0.96^t, so its steps differ; this follows Keras.
 *
 * Adamax:
 *   m += (g - m)(1 - beta_1),   u = max(beta_2 u, |g|)
 *   w -= lr m / ((1 - beta_1^t)(u + epsilon))
 * (PyTorch's Adamax puts epsilon inside the max: max(beta_2 u, |g| + eps).)
 *
 * Element updates in float, per-step scalars in double, as optimizer.c.
 */
#include <math.h>

#include "optimizer_impl.h"

#define NADAM_DECAY 0.96

double sn_nadam_u(float beta_1, int64_t t)
{
    return (double)beta_1 * (1.0 - 0.5 * pow(NADAM_DECAY, (double)t));
}

/* P_t = beta_1^t * prod_{s=1..t} (1 - 0.5 * 0.96^s), summed in logs; the
 * factors are 1 to double precision after s = 1000 (0.96^1000 < 2e-18),
 * so at most 1000 terms: the same value at every step and after a load
 * (nothing to save), in bounded time for any step count. */
double sn_nadam_u_product(float beta_1, int64_t t)
{
    if (t <= 0)
        return 1.0;
    if (beta_1 <= 0.0f)
        return 0.0;
    double sum = 0.0, d = 1.0;
    for (int64_t s = 1; s <= t && s <= 1000; s++) {
        d *= NADAM_DECAY;
        sum += log1p(-0.5 * d);
    }
    return exp((double)t * log((double)beta_1) + sum);
}

void sn_update_nadam(const sn_optimizer_opts *o, double lr, int64_t t,
                     double u_product_t, float *w, const float *g, float *m,
                     float *v, size_t n)
{
    double u_t = sn_nadam_u(o->beta_1, t), u_t1 = sn_nadam_u(o->beta_1, t + 1);
    double p_t1 = u_product_t * u_t1;
    float cm = (float)(u_t1 / (1.0 - p_t1));       /* on m               */
    float cg = (float)((1.0 - u_t) / (1.0 - u_product_t)); /* on g       */
    float cv = (float)(1.0 / (1.0 - pow((double)o->beta_2, (double)t)));
    float b1c = 1.0f - o->beta_1, b2c = 1.0f - o->beta_2;
    float eps = o->epsilon, lr_f = (float)lr;
    for (size_t j = 0; j < n; j++) {
        m[j] += (g[j] - m[j]) * b1c;
        v[j] += (g[j] * g[j] - v[j]) * b2c;
        float m_hat = cm * m[j] + cg * g[j];
        w[j] -= m_hat * lr_f / (sqrtf(v[j] * cv) + eps);
    }
}

void sn_update_adamax(const sn_optimizer_opts *o, double lr, int64_t t,
                      float *w, const float *g, float *m, float *u, size_t n)
{
    float alpha = (float)(lr / (1.0 - pow((double)o->beta_1, (double)t)));
    float b1c = 1.0f - o->beta_1, b2 = o->beta_2, eps = o->epsilon;
    for (size_t j = 0; j < n; j++) {
        m[j] += (g[j] - m[j]) * b1c;
        float a = fabsf(g[j]), d = b2 * u[j];
        u[j] = d > a ? d : a;
        w[j] -= alpha * m[j] / (u[j] + eps);
    }
}

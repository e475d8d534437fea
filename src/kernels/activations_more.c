/*
 * activations_more.c - the activations appended after softmax: gelu, elu,
 * selu, leaky_relu, swish (silu) and softplus, Keras' functions with their
 * default arguments (keras.activations, Keras 3).
 *
 * Forward is in place.  Backward ACCUMULATES dx += dy * act'(x).  Where the
 * derivative can be written from the output y it is (the layers keep only
 * their output); gelu and swish are not one-to-one, so their derivative
 * needs the pre-activation x (sn_act_needs_input):
 *   gelu        y = x Phi(x)                 y' = Phi(x) + x phi(x)
 *   elu         y = x | e^x - 1              y' = 1 | y + 1
 *   selu        y = s x | s a (e^x - 1)      y' = s | y + s a
 *   leaky_relu  y = x | 0.2 x                y' = 1 | 0.2      (y > 0 iff x > 0)
 *   swish       y = x sig(x)                 y' = sig(x) (1 + x (1 - sig(x)))
 *   softplus    y = log(1 + e^x)             y' = sig(x) = 1 - e^-y
 * (Phi, phi: the standard normal CDF and density; "p | q" = x > 0 ? p : q.)
 * Every formula stays finite for every finite x: exponentials are taken
 * only of non-positive arguments, softplus is max(x, 0) + log1p(e^-|x|).
 */
#include <math.h>

#include "kernels/activations_more.h"

#define SELU_SCALE 1.0507009873554805f
#define SELU_ALPHA 1.6732632423543772f
#define LEAKY_SLOPE 0.2f
#define INV_SQRT2 0.70710678118654752f
#define INV_SQRT_2PI 0.39894228040143268f

/* sigmoid without overflow: e^-|x| never exceeds 1. */
static float stable_sigmoid(float x)
{
    float e = expf(-fabsf(x));
    return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
}

static float gelu(float x)
{
    return 0.5f * x * (1.0f + erff(x * INV_SQRT2));
}

static float gelu_grad(float x)
{
    return 0.5f * (1.0f + erff(x * INV_SQRT2)) +
           x * INV_SQRT_2PI * expf(-0.5f * x * x);
}

static float elu(float x, float scale, float alpha)
{
    return x > 0.0f ? scale * x : scale * alpha * expm1f(x);
}

static float softplus(float x)
{
    return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x)));
}

static float swish_grad(float x)
{
    float s = stable_sigmoid(x);
    return s * (1.0f + x * (1.0f - s));
}

bool sn_act_more(sn_activation act)
{
    return act >= SN_GELU && act <= SN_SOFTPLUS;
}

bool sn_act_needs_input(sn_activation act)
{
    return act == SN_GELU || act == SN_SWISH;
}

void sn_act_more_forward(sn_activation act, float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        switch (act) {
        case SN_GELU: v = gelu(v); break;
        case SN_ELU: v = elu(v, 1.0f, 1.0f); break;
        case SN_SELU: v = elu(v, SELU_SCALE, SELU_ALPHA); break;
        case SN_LEAKY_RELU: v = v > 0.0f ? v : LEAKY_SLOPE * v; break;
        case SN_SWISH: v = v * stable_sigmoid(v); break;
        case SN_SOFTPLUS: v = softplus(v); break;
        default: break;
        }
        x[i] = v;
    }
}

/* The derivative at one element, from y (and x where needed). */
static float more_grad(sn_activation act, float x, float y)
{
    switch (act) {
    case SN_GELU: return gelu_grad(x);
    case SN_ELU: return y > 0.0f ? 1.0f : y + 1.0f;
    case SN_SELU: return y > 0.0f ? SELU_SCALE : y + SELU_SCALE * SELU_ALPHA;
    case SN_LEAKY_RELU: return y > 0.0f ? 1.0f : LEAKY_SLOPE;
    case SN_SWISH: return swish_grad(x);
    case SN_SOFTPLUS: return -expm1f(-y);
    default: return 1.0f;
    }
}

void sn_act_more_backward(sn_activation act, const float *x, const float *y,
                          const float *dy, float *dx, size_t n)
{
    bool need_x = sn_act_needs_input(act);
    for (size_t i = 0; i < n; i++)
        dx[i] += dy[i] * more_grad(act, need_x ? x[i] : 0.0f, y[i]);
}

const char *sn_act_more_name(sn_activation act)
{
    switch (act) {
    case SN_GELU: return "gelu";
    case SN_ELU: return "elu";
    case SN_SELU: return "selu";
    case SN_LEAKY_RELU: return "leaky_relu";
    case SN_SWISH: return "silu";
    case SN_SOFTPLUS: return "softplus";
    default: return "unknown";
    }
}

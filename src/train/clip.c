/*
 * clip.c - gradient clipping with Keras semantics, over the trainable
 * weights of a built model.  Used by the optimizer (clipnorm, clipvalue,
 * global_clipnorm) and exposed as sn_clip_grad_norm / sn_clip_grad_value.
 * Clipping rewrites model->grads in place.
 */
#include <float.h>
#include <math.h>

#include "optimizer_impl.h"

bool sn_opt_weight_trainable(const sn_model *m, int i)
{
    const sn_weight *w = &m->weights[i];
    return m->nodes[w->node].layer->trainable;
}

static double sum_squares(const float *g, size_t n)
{
    double s = 0.0;
    for (size_t j = 0; j < n; j++)
        s += (double)g[j] * (double)g[j];
    return s;
}

double sn_opt_global_grad_norm(const sn_model *m)
{
    double s = 0.0;
    for (int i = 0; i < m->n_weights; i++) {
        if (!sn_opt_weight_trainable(m, i))
            continue;
        const sn_weight *w = &m->weights[i];
        s += sum_squares(m->grads + w->offset, w->count);
    }
    return sqrt(s);
}

void sn_opt_scale_grads(sn_model *m, float factor)
{
    for (int i = 0; i < m->n_weights; i++) {
        if (!sn_opt_weight_trainable(m, i))
            continue;
        const sn_weight *w = &m->weights[i];
        float *g = m->grads + w->offset;
        for (size_t j = 0; j < w->count; j++)
            g[j] *= factor;
    }
}

void sn_opt_clip_norm_per_weight(sn_model *m, float c)
{
    for (int i = 0; i < m->n_weights; i++) {
        if (!sn_opt_weight_trainable(m, i))
            continue;
        const sn_weight *w = &m->weights[i];
        float *g = m->grads + w->offset;
        double norm = sqrt(sum_squares(g, w->count));
        if (norm > (double)c) {
            float f = (float)((double)c / norm);
            for (size_t j = 0; j < w->count; j++)
                g[j] *= f;
        }
    }
}

void sn_opt_clip_value(sn_model *m, float c)
{
    for (int i = 0; i < m->n_weights; i++) {
        if (!sn_opt_weight_trainable(m, i))
            continue;
        const sn_weight *w = &m->weights[i];
        float *g = m->grads + w->offset;
        for (size_t j = 0; j < w->count; j++) {
            if (g[j] > c)
                g[j] = c;
            else if (g[j] < -c)
                g[j] = -c;
        }
    }
}

static sn_status need_built(sn_model *m, const char *who)
{
    if (m == NULL)
        return sn_fail(SN_ERR_INVALID_ARG, "%s: model is NULL", who);
    if (!m->built)
        return sn_fail(SN_ERR_STATE, "%s: the model is not built (call "
                       "sn_model_build first)", who);
    return SN_OK;
}

SN_API sn_status sn_clip_grad_norm(sn_model_t *model, double max_norm,
                                   double *norm_before)
{
    static const char who[] = "sn_clip_grad_norm";
    sn_status st = need_built(model, who);
    if (st != SN_OK)
        return st;
    if (!(isfinite(max_norm) && max_norm > 0.0))
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: max_norm must be > 0 and finite (got %g)", who,
                       max_norm);
    double norm = sn_opt_global_grad_norm(model);
    if (norm_before != NULL)
        *norm_before = norm;
    if (!isfinite(norm))
        return sn_fail(SN_ERR_NUMERIC,
                       "%s: the gradient norm is not finite (%g)", who, norm);
    if (norm > max_norm)
        sn_opt_scale_grads(model, (float)(max_norm / norm));
    return SN_OK;
}

SN_API sn_status sn_clip_grad_value(sn_model_t *model, double clip_value)
{
    static const char who[] = "sn_clip_grad_value";
    sn_status st = need_built(model, who);
    if (st != SN_OK)
        return st;
    if (!(isfinite(clip_value) && clip_value > 0.0 &&
          clip_value <= FLT_MAX))
        return sn_fail(SN_ERR_INVALID_ARG,
                       "%s: clip_value must be > 0 and finite (got %g)", who,
                       clip_value);
    sn_opt_clip_value(model, (float)clip_value);
    return SN_OK;
}

/*
 * synthetic.c - a seeded multivariate series with trend, seasonality,
 * covariates and noise, for experiments where the truth is known.
 */
#include <math.h>

#include "series/series_impl.h"

static const double two_pi = 6.283185307179586476925;

static sn_status check_synth(const sn_synth_opts *o)
{
    if (o->n_rows < 1 || o->n_covariates < 0)
        return sn_fail(SN_ERR_INVALID_ARG, "sn_synthetic_series: need n_rows "
                       ">= 1 and n_covariates >= 0, got %d and %d",
                       o->n_rows, o->n_covariates);
    if (!(o->season_period > 0.0f) || !(o->noise_std >= 0.0f) ||
        !isfinite(o->season_period) || !isfinite(o->noise_std) ||
        !isfinite(o->level) || !isfinite(o->trend) ||
        !isfinite(o->season_amplitude) || !isfinite(o->covariate_weight))
        return sn_fail(SN_ERR_INVALID_ARG, "sn_synthetic_series: need a "
                       "finite season_period > 0, noise_std >= 0 and finite "
                       "level, trend, amplitude and weight");
    return SN_OK;
}

/* Covariate k into column 1 + k: even k a random walk, odd k a slower
 * sinusoid with a random phase; stream k + 1 of the seed. */
static void fill_covariate(const sn_synth_opts *o, int k, float *out,
                           size_t width)
{
    sn_rng rng;
    sn_rng_seed(&rng, sn_rng_derive(o->seed, (uint64_t)k + 1));
    const double period = (double)o->season_period * (k + 3) / 2.0;
    const double phase = two_pi * sn_rng_uniform(&rng);
    double walk = 0.0;
    for (size_t t = 0; t < (size_t)o->n_rows; t++) {
        double c;
        if (k % 2 == 0) {
            c = walk;
            walk += 0.1 * sn_rng_normal(&rng);
        } else {
            c = sin(two_pi * (double)t / period + phase);
        }
        out[t * width + 1 + (size_t)k] = (float)c;
    }
}

SN_API sn_status sn_synthetic_series(const sn_synth_opts *opts, float *out)
{
    sn_synth_opts o = SN_SYNTH_OPTS_INIT;
    sn_status st = sn_opts_merge(&o, sizeof o, opts, "sn_synthetic_series");
    if (st == SN_OK)
        st = check_synth(&o);
    if (st != SN_OK)
        return st;
    if (out == NULL)
        return sn_fail(SN_ERR_INVALID_ARG,
                       "sn_synthetic_series: out must not be NULL");
    const size_t width = 1 + (size_t)o.n_covariates;
    for (int k = 0; k < o.n_covariates; k++)
        fill_covariate(&o, k, out, width);
    sn_rng noise;
    sn_rng_seed(&noise, sn_rng_derive(o.seed, 0));
    for (size_t t = 0; t < (size_t)o.n_rows; t++) {
        double y = o.level + (double)o.trend * (double)t +
                   o.season_amplitude *
                       sin(two_pi * (double)t / o.season_period);
        for (size_t k = 0; k < (size_t)o.n_covariates; k++)
            y += (double)o.covariate_weight * out[t * width + 1 + k];
        y += (double)o.noise_std * sn_rng_normal(&noise);
        out[t * width] = (float)y;
    }
    return SN_OK;
}

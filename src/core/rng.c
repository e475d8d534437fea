/*
 * rng.c - xoshiro256** with splitmix64 seeding (Blackman & Vigna).
 *
 * State is always explicit (a model owns its generator) so that a seed
 * fixes initialisation, dropout and shuffling without any global state.
 */
#include <math.h>

#include "internal.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void sn_rng_seed(sn_rng *rng, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&x);
}

uint64_t sn_rng_derive(uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL);
    splitmix64(&x);
    return splitmix64(&x);
}

uint64_t sn_rng_next(sn_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double sn_rng_uniform(sn_rng *rng)
{
    /* 53 random bits give every double in [0, 1) on a 2^-53 grid */
    return (double)(sn_rng_next(rng) >> 11) * 0x1.0p-53;
}

double sn_rng_normal(sn_rng *rng)
{
    double u1 = sn_rng_uniform(rng);
    double u2 = sn_rng_uniform(rng);
    /* 1 - u1 lies in (0, 1], so the log is finite */
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

uint64_t sn_rng_below(sn_rng *rng, uint64_t n)
{
    /* rejection keeps the result exactly uniform */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t r;
    do {
        r = sn_rng_next(rng);
    } while (r >= limit);
    return r % n;
}

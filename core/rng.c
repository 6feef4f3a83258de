#include "rng.h"

#include <math.h>

static guint64
splitmix64 (guint64 *x)
{
  guint64 z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void
nerve_rng_seed (NerveRng *r, guint64 seed)
{
  guint64 a = splitmix64 (&seed), b = splitmix64 (&seed);
  r->s[0] = (guint32) a;
  r->s[1] = (guint32) (a >> 32);
  r->s[2] = (guint32) b;
  r->s[3] = (guint32) (b >> 32) | 1u; /* never all zero */
}

static inline guint32
rotl (guint32 x, int k)
{
  return (x << k) | (x >> (32 - k));
}

guint32
nerve_rng_u32 (NerveRng *r)
{
  guint32 *s = r->s;
  guint32 result = rotl (s[1] * 5, 7) * 9; /* xoshiro128** */
  guint32 t = s[1] << 9;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl (s[3], 11);
  return result;
}

float
nerve_rng_uniform (NerveRng *r)
{
  return (float) (nerve_rng_u32 (r) >> 8) * (1.0f / 16777216.0f);
}

float
nerve_rng_normal (NerveRng *r)
{
  /* Box-Muller; u1 in (0,1] so log() is finite. */
  float u1 = 1.0f - nerve_rng_uniform (r), u2 = nerve_rng_uniform (r);
  return sqrtf (-2.0f * logf (u1)) * cosf (6.28318530718f * u2);
}

guint32
nerve_rng_below (NerveRng *r, guint32 n)
{
  return (guint32) (((guint64) nerve_rng_u32 (r) * n) >> 32);
}

void
nerve_rng_shuffle (NerveRng *r, int *v, int n)
{
  for (int i = n - 1; i > 0; i--) {
    int j = (int) nerve_rng_below (r, (guint32) i + 1);
    int t = v[i];
    v[i] = v[j];
    v[j] = t;
  }
}

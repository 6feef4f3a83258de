/* Row reductions shared by the softmax-based losses (cross-entropy, CTC). The float
 * build writes them with GCC/clang vector extensions (8 floats with AVX, else 4: SSE,
 * NEON or generic code; wider vectors without AVX would change the call ABI) because the auto-vectoriser
 * will not reorder float sums or if-convert exp's range checks without -ffast-math,
 * and libm's expf is a scalar call. The double build (finite-difference tests only)
 * keeps plain loops over libm's exp. Included by kernel files only (nreal, real.h). */
#pragma once
#include <string.h>

#include "../real.h"

#ifdef NERVE_F64

static inline double
nerve_row_max (const double *x, int n)
{
  double m = -NREAL_MAX;
  for (int i = 0; i < n; i++)
    m = x[i] > m ? x[i] : m;
  return m;
}

/* Σ exp(x[i] - m) */
static inline double
nerve_row_sum_exp (const double *x, double m, int n)
{
  double s = 0;
  for (int i = 0; i < n; i++)
    s += exp (x[i] - m);
  return s;
}

/* d[i] += a · exp(x[i] - m): the softmax part of a fused gradient */
static inline void
nerve_row_add_scaled_exp (double *restrict d, const double *restrict x, double m, double a, int n)
{
  for (int i = 0; i < n; i++)
    d[i] += a * exp (x[i] - m);
}

#else

#if defined(__FMA__) && defined(__AVX__)
#include <immintrin.h>
#endif

#ifdef __AVX__
#define NERVE_V8 8
#else
#define NERVE_V8 4
#endif
/* NERVE_V8 lanes (the name is for the usual AVX width) */
typedef float nerve_v8sf __attribute__ ((vector_size (4 * NERVE_V8)));
typedef gint32 nerve_v8si __attribute__ ((vector_size (4 * NERVE_V8)));

static inline nerve_v8sf
nerve_v8_splat (float a)
{
  return (nerve_v8sf) { 0 } + a;
}

static inline nerve_v8sf
nerve_v8_load (const float *p)
{
  nerve_v8sf v;
  memcpy (&v, p, sizeof v);
  return v;
}

static inline void
nerve_v8_store (float *p, nerve_v8sf v)
{
  memcpy (p, &v, sizeof v);
}

/* mask ? a : b, mask lanes all ones or all zeros */
static inline nerve_v8sf
nerve_v8_select (nerve_v8si mask, nerve_v8sf a, nerve_v8sf b)
{
  return (nerve_v8sf) (((nerve_v8si) a & mask) | ((nerve_v8si) b & ~mask));
}

/* a·b + c, fused where the target has FMA (the ISO C mode the project builds in keeps
 * GCC from contracting a*b + c by itself) */
static inline nerve_v8sf
nerve_v8_fma (nerve_v8sf a, nerve_v8sf b, nerve_v8sf c)
{
#if defined(__FMA__) && defined(__AVX__)
  G_STATIC_ASSERT (NERVE_V8 == 8);
  return (nerve_v8sf) _mm256_fmadd_ps ((__m256) a, (__m256) b, (__m256) c);
#else
  return a * b + c;
#endif
}

/* n floats (n < 8) padded with -inf, whose exp is 0 */
static inline nerve_v8sf
nerve_v8_load_tail (const float *p, int n)
{
  float buf[NERVE_V8];
  for (int k = 0; k < NERVE_V8; k++)
    buf[k] = k < n ? p[k] : -INFINITY;
  return nerve_v8_load (buf);
}

/* exp(x) for the x <= 0 softmax produces (valid up to ~88): Cephes' expf polynomial
 * after reducing by n·ln2, within ~1 ulp of expf. Below -87.3 the result is flushed to 0
 * (expf gives a denormal there); NaN propagates. */
static inline nerve_v8sf
nerve_v8_exp (nerve_v8sf x)
{
  nerve_v8si flush = x < nerve_v8_splat (-87.3f);
  nerve_v8sf xc = nerve_v8_select (flush, nerve_v8_splat (-87.3f), x);
  nerve_v8sf magic = nerve_v8_splat (12582912.0f); /* 1.5·2^23: adding it rounds to an integer */
  nerve_v8sf n = (xc * 1.44269504088896341f + magic) - magic;
  nerve_v8sf r = nerve_v8_fma (n, nerve_v8_splat (-0.693359375f), xc);
  r = nerve_v8_fma (n, nerve_v8_splat (2.12194440e-4f), r);
  nerve_v8sf p = nerve_v8_splat (1.9875691500e-4f);
  p = nerve_v8_fma (p, r, nerve_v8_splat (1.3981999507e-3f));
  p = nerve_v8_fma (p, r, nerve_v8_splat (8.3334519073e-3f));
  p = nerve_v8_fma (p, r, nerve_v8_splat (4.1665795894e-2f));
  p = nerve_v8_fma (p, r, nerve_v8_splat (1.6666665459e-1f));
  p = nerve_v8_fma (p, r, nerve_v8_splat (5.0000001201e-1f));
  p = nerve_v8_fma (p, r * r, r + 1.0f);
  nerve_v8si bits = (__builtin_convertvector (n, nerve_v8si) + 127) << 23; /* 2^n */
  nerve_v8sf y = p * (nerve_v8sf) bits;
  return (nerve_v8sf) ((nerve_v8si) y & ~flush);
}

static inline float
nerve_v8_hsum (nerve_v8sf v)
{
  float s = 0;
  for (int k = 0; k < NERVE_V8; k++)
    s += v[k];
  return s;
}

/* max over x[0..n); -FLT_MAX for n == 0 */
static inline float
nerve_row_max (const float *x, int n)
{
  nerve_v8sf acc = nerve_v8_splat (-NREAL_MAX);
  int i = 0;
  for (; i + NERVE_V8 <= n; i += NERVE_V8) {
    nerve_v8sf v = nerve_v8_load (x + i);
    acc = nerve_v8_select (v > acc, v, acc);
  }
  float m = acc[0];
  for (int k = 1; k < NERVE_V8; k++)
    m = acc[k] > m ? acc[k] : m;
  for (; i < n; i++)
    m = x[i] > m ? x[i] : m;
  return m;
}

/* Σ exp(x[i] - m) */
static inline float
nerve_row_sum_exp (const float *x, float m, int n)
{
  nerve_v8sf mv = nerve_v8_splat (m), a0 = nerve_v8_splat (0), a1 = a0;
  int i = 0;
  for (; i + 2 * NERVE_V8 <= n; i += 2 * NERVE_V8) {
    a0 += nerve_v8_exp (nerve_v8_load (x + i) - mv);
    a1 += nerve_v8_exp (nerve_v8_load (x + i + NERVE_V8) - mv);
  }
  for (; i + NERVE_V8 <= n; i += NERVE_V8)
    a0 += nerve_v8_exp (nerve_v8_load (x + i) - mv);
  if (i < n)
    a1 += nerve_v8_exp (nerve_v8_load_tail (x + i, n - i) - mv);
  return nerve_v8_hsum (a0 + a1);
}

/* d[i] += a · exp(x[i] - m): the softmax part of a fused gradient */
static inline void
nerve_row_add_scaled_exp (float *restrict d, const float *restrict x, float m, float a, int n)
{
  nerve_v8sf mv = nerve_v8_splat (m), av = nerve_v8_splat (a);
  int i = 0;
  for (; i + NERVE_V8 <= n; i += NERVE_V8)
    nerve_v8_store (d + i, nerve_v8_load (d + i) + av * nerve_v8_exp (nerve_v8_load (x + i) - mv));
  if (i < n) {
    nerve_v8sf e = av * nerve_v8_exp (nerve_v8_load_tail (x + i, n - i) - mv);
    for (int k = 0; i + k < n; k++)
      d[i + k] += e[k];
  }
}

#endif

/* log Σ exp(x[i]) computed stably */
static inline nreal
nerve_row_logsumexp (const nreal *x, int n)
{
  nreal m = nerve_row_max (x, n);
  return m + log (nerve_row_sum_exp (x, m, n));
}

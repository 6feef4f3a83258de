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

/* log(e^a + e^b + e^c), -inf when all three are */
static inline double
nerve_log_add3 (double a, double b, double c)
{
  double m = a > b ? a : b;
  m = c > m ? c : m;
  if (m == -(double) INFINITY)
    return m;
  return m + log (exp (a - m) + exp (b - m) + exp (c - m));
}

/* out[i] = log(e^a[i] + e^b[i] + e^(c[i] + cm[i])) + em[i]: one step of a log-space
 * forward or backward recursion (cm masks c with 0 or -inf). n is a multiple of 8;
 * out may not alias the inputs. */
static inline void
nerve_row_log_add3 (double *restrict out, const double *a, const double *b, const double *c,
                    const double *cm, const double *em, int n)
{
  for (int i = 0; i < n; i++)
    out[i] = nerve_log_add3 (a[i], b[i], c[i] + cm[i]) + em[i];
}

/* out[i] = exp(a[i] + b[i] - c[i] + k), for arguments <= ~0 (posteriors) */
static inline void
nerve_row_exp_sum (double *restrict out, const double *a, const double *b, const double *c, double k, int n)
{
  for (int i = 0; i < n; i++)
    out[i] = exp (a[i] + b[i] - c[i] + k);
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
 * after reducing by n·ln2, within ~1 ulp of expf. Below -87.3 (and for -inf) the result
 * is flushed to 0, where expf gives a denormal; NaN propagates. */
static inline nerve_v8sf
nerve_v8_exp (nerve_v8sf x)
{
  nerve_v8si flush = x < nerve_v8_splat (-87.3f), nan = x != x;
  /* NaN lanes are computed on a stand-in (converting NaN to int is undefined) */
  nerve_v8sf xc = nerve_v8_select (flush | nan, nerve_v8_splat (-87.3f), x);
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
  y = (nerve_v8sf) ((nerve_v8si) y & ~flush);
  return nerve_v8_select (nan, x, y);
}

/* log(x) for positive normal x (Cephes' logf polynomial, ~1 ulp); 0 and below give
 * -inf, NaN stays NaN (+inf and denormals are not handled: callers never pass them) */
static inline nerve_v8sf
nerve_v8_log (nerve_v8sf x)
{
  nerve_v8si nonpos = x <= nerve_v8_splat (0);
  nerve_v8si bits = (nerve_v8si) x;
  nerve_v8si e = ((bits >> 23) & 0xff) - 126;
  nerve_v8sf m = (nerve_v8sf) ((bits & 0x007fffff) | 0x3f000000); /* mantissa in [0.5, 1) */
  nerve_v8si small = m < nerve_v8_splat (0.707106781186547524f);
  e = e + small; /* small lanes are -1: m doubles, the exponent drops */
  nerve_v8sf f = m - 1.0f + (nerve_v8sf) ((nerve_v8si) m & small);
  nerve_v8sf fe = __builtin_convertvector (e, nerve_v8sf);
  nerve_v8sf z = f * f;
  nerve_v8sf y = nerve_v8_splat (7.0376836292e-2f);
  y = nerve_v8_fma (y, f, nerve_v8_splat (-1.1514610310e-1f));
  y = nerve_v8_fma (y, f, nerve_v8_splat (1.1676998740e-1f));
  y = nerve_v8_fma (y, f, nerve_v8_splat (-1.2420140846e-1f));
  y = nerve_v8_fma (y, f, nerve_v8_splat (1.4249322787e-1f));
  y = nerve_v8_fma (y, f, nerve_v8_splat (-1.6668057665e-1f));
  y = nerve_v8_fma (y, f, nerve_v8_splat (2.0000714765e-1f));
  y = nerve_v8_fma (y, f, nerve_v8_splat (-2.4999993993e-1f));
  y = nerve_v8_fma (y, f, nerve_v8_splat (3.3333331174e-1f));
  y = y * f * z;
  y = nerve_v8_fma (fe, nerve_v8_splat (-2.12194440e-4f), y);
  y = nerve_v8_fma (z, nerve_v8_splat (-0.5f), y);
  nerve_v8sf r = nerve_v8_fma (fe, nerve_v8_splat (0.693359375f), f + y);
  r = nerve_v8_select (nonpos, nerve_v8_splat (-INFINITY), r);
  return nerve_v8_select (x != x, x, r);
}

static inline nerve_v8sf
nerve_v8_max (nerve_v8sf a, nerve_v8sf b)
{
  return nerve_v8_select (a > b, a, b);
}

/* out[i] = log(e^a[i] + e^b[i] + e^(c[i] + cm[i])) + em[i]: one step of a log-space
 * forward or backward recursion (cm masks c with 0 or -inf). n is a multiple of 8;
 * out may not alias the inputs. */
static inline void
nerve_row_log_add3 (float *restrict out, const float *a, const float *b, const float *c, const float *cm,
                    const float *em, int n)
{
  nerve_v8sf ninf = nerve_v8_splat (-INFINITY), zero = nerve_v8_splat (0);
  for (int i = 0; i < n; i += NERVE_V8) {
    nerve_v8sf va = nerve_v8_load (a + i), vb = nerve_v8_load (b + i);
    nerve_v8sf vc = nerve_v8_load (c + i) + nerve_v8_load (cm + i);
    nerve_v8sf m = nerve_v8_max (va, nerve_v8_max (vb, vc));
    m = nerve_v8_select (m == ninf, zero, m); /* all -inf: the sum below is 0, its log -inf */
    nerve_v8sf sum = nerve_v8_exp (va - m) + nerve_v8_exp (vb - m) + nerve_v8_exp (vc - m);
    nerve_v8_store (out + i, m + nerve_v8_log (sum) + nerve_v8_load (em + i));
  }
}

/* out[i] = exp(a[i] + b[i] - c[i] + k), for arguments <= ~0 (posteriors); n as above */
static inline void
nerve_row_exp_sum (float *restrict out, const float *a, const float *b, const float *c, float k, int n)
{
  for (int i = 0; i < n; i += NERVE_V8)
    nerve_v8_store (out + i, nerve_v8_exp (nerve_v8_load (a + i) + nerve_v8_load (b + i) - nerve_v8_load (c + i) + k));
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

/* Row reductions shared by the softmax-based losses (cross-entropy, CTC), written so
 * GCC vectorises them without -ffast-math: reductions keep LANES independent partial
 * results (no reassociation needed) and the float exp is a branch-free polynomial
 * instead of a libm call. Included by kernel files only (nreal, see real.h). */
#pragma once
#include <string.h>

#include "../real.h"

#define NERVE_ROW_LANES 16

#ifdef NERVE_F64
/* The double build serves the finite-difference tests: libm is exact enough and fast
 * enough there. */
static inline double
nerve_row_exp (double x)
{
  return exp (x);
}
#else
/* exp(x) for the x <= 0 that softmax produces (valid up to ~88): Cephes' expf
 * polynomial after reducing by n·ln2, about 1 ulp from expf. Below -87.3 the result is
 * flushed to 0, where expf would return a denormal or 0. */
static inline float
nerve_row_exp (float x)
{
  float xc = x < -87.3f ? -87.3f : x;
  float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round(x/ln2) */
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  gint32 bits = ((gint32) n + 127) * (1 << 23); /* 2^n as a float's bits */
  float scale;
  memcpy (&scale, &bits, sizeof scale);
  return x < -87.3f ? 0.0f : p * scale;
}
#endif

/* max over x[0..n); -NREAL_MAX for n == 0 */
static inline nreal
nerve_row_max (const nreal *x, int n)
{
  nreal acc[NERVE_ROW_LANES];
  for (int k = 0; k < NERVE_ROW_LANES; k++)
    acc[k] = -(nreal) NREAL_MAX;
  int i = 0;
  for (; i + NERVE_ROW_LANES <= n; i += NERVE_ROW_LANES)
    for (int k = 0; k < NERVE_ROW_LANES; k++)
      acc[k] = x[i + k] > acc[k] ? x[i + k] : acc[k];
  nreal m = acc[0];
  for (int k = 1; k < NERVE_ROW_LANES; k++)
    m = acc[k] > m ? acc[k] : m;
  for (; i < n; i++)
    m = x[i] > m ? x[i] : m;
  return m;
}

/* Σ exp(x[i] - m) */
static inline nreal
nerve_row_sum_exp (const nreal *x, nreal m, int n)
{
  nreal acc[NERVE_ROW_LANES] = { 0 };
  int i = 0;
  for (; i + NERVE_ROW_LANES <= n; i += NERVE_ROW_LANES)
    for (int k = 0; k < NERVE_ROW_LANES; k++)
      acc[k] += nerve_row_exp (x[i + k] - m);
  nreal s = 0;
  for (int k = 0; k < NERVE_ROW_LANES; k++)
    s += acc[k];
  for (; i < n; i++)
    s += nerve_row_exp (x[i] - m);
  return s;
}

/* log Σ exp(x[i]) computed stably */
static inline nreal
nerve_row_logsumexp (const nreal *x, int n)
{
  nreal m = nerve_row_max (x, n);
  return m + log (nerve_row_sum_exp (x, m, n));
}

/* d[i] += a · exp(x[i] - m): the softmax part of a fused gradient */
static inline void
nerve_row_add_scaled_exp (nreal *restrict d, const nreal *restrict x, nreal m, nreal a, int n)
{
  for (int i = 0; i < n; i++)
    d[i] += a * nerve_row_exp (x[i] - m);
}

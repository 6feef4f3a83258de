/* Row reductions for kernels (include after real.h; static, so the float and the
 * double build each get their own). Without -ffast-math the compiler must keep a
 * scalar sum's order and will not vectorise it; 16 partial sums kept in an array are
 * plain element-wise operations it does vectorise, and they also round better. */
#pragma once
#include <glib.h>

#include "../real.h"

#define NERVE_LANES 16

/* Σ x[i] */
static inline nreal
nerve_red_sum (const nreal *x, gsize n)
{
  nreal acc[NERVE_LANES] = { 0 };
  gsize i = 0;
  for (; i + NERVE_LANES <= n; i += NERVE_LANES)
    for (int j = 0; j < NERVE_LANES; j++)
      acc[j] += x[i + j];
  nreal s = 0;
  for (; i < n; i++)
    s += x[i];
  for (int j = 0; j < NERVE_LANES; j++)
    s += acc[j];
  return s;
}

/* Σ (x[i] - m)², the second pass of a two-pass variance (no cancellation) */
static inline nreal
nerve_red_sqdev (const nreal *x, gsize n, nreal m)
{
  nreal acc[NERVE_LANES] = { 0 };
  gsize i = 0;
  for (; i + NERVE_LANES <= n; i += NERVE_LANES)
    for (int j = 0; j < NERVE_LANES; j++) {
      nreal d = x[i + j] - m;
      acc[j] += d * d;
    }
  nreal s = 0;
  for (; i < n; i++)
    s += (x[i] - m) * (x[i] - m);
  for (int j = 0; j < NERVE_LANES; j++)
    s += acc[j];
  return s;
}

/* Σ a[i] b[i] */
static inline nreal
nerve_red_dot (const nreal *a, const nreal *b, gsize n)
{
  nreal acc[NERVE_LANES] = { 0 };
  gsize i = 0;
  for (; i + NERVE_LANES <= n; i += NERVE_LANES)
    for (int j = 0; j < NERVE_LANES; j++)
      acc[j] += a[i + j] * b[i + j];
  nreal s = 0;
  for (; i < n; i++)
    s += a[i] * b[i];
  for (int j = 0; j < NERVE_LANES; j++)
    s += acc[j];
  return s;
}

/* Σ a[i] (x[i] - m) */
static inline nreal
nerve_red_dot_dev (const nreal *a, const nreal *x, gsize n, nreal m)
{
  nreal acc[NERVE_LANES] = { 0 };
  gsize i = 0;
  for (; i + NERVE_LANES <= n; i += NERVE_LANES)
    for (int j = 0; j < NERVE_LANES; j++)
      acc[j] += a[i + j] * (x[i + j] - m);
  nreal s = 0;
  for (; i < n; i++)
    s += a[i] * (x[i] - m);
  for (int j = 0; j < NERVE_LANES; j++)
    s += acc[j];
  return s;
}

/* max x[i] (n >= 1) */
static inline nreal
nerve_red_max (const nreal *x, gsize n)
{
  nreal m = x[0];
  gsize i = 0;
  if (n >= NERVE_LANES) {
    nreal acc[NERVE_LANES];
    for (int j = 0; j < NERVE_LANES; j++)
      acc[j] = x[j];
    for (i = NERVE_LANES; i + NERVE_LANES <= n; i += NERVE_LANES)
      for (int j = 0; j < NERVE_LANES; j++)
        acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
    for (int j = 0; j < NERVE_LANES; j++)
      m = acc[j] > m ? acc[j] : m;
  }
  for (; i < n; i++)
    m = x[i] > m ? x[i] : m;
  return m;
}

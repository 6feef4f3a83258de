/* nvec: one SIMD register of nreal (32 bytes with AVX: 8 floats or 4 doubles; else
 * 16 bytes, so no build passes vectors wider than its ABI has) through GCC/clang
 * vector extensions, for kernels where plain loops get unrolled into scalar code
 * instead of vectorized. Include after real.h. Internal to the kernels. */
#pragma once
#include <string.h>

#ifdef __AVX__
typedef nreal nvec __attribute__ ((vector_size (32)));
#else
typedef nreal nvec __attribute__ ((vector_size (16)));
#endif
#define VL ((int) (sizeof (nvec) / sizeof (nreal)))

static inline nvec
vload (const nreal *p)
{
  nvec v;
  memcpy (&v, p, sizeof v);
  return v;
}

static inline void
vstore (nreal *p, nvec v)
{
  memcpy (p, &v, sizeof v);
}

static inline nvec
vsplat (nreal a)
{
  nvec v = { 0 };
  return v + a;
}

static inline nreal
vsum (nvec v)
{
  nreal s = 0;
  for (int l = 0; l < VL; l++)
    s += v[l];
  return s;
}

/* Lanes l of src[l * s]: stride-s reads. */
static inline nvec
vload_strided (const nreal *src, int s)
{
  if (s == 1)
    return vload (src);
  nvec v;
  for (int l = 0; l < VL; l++)
    v[l] = src[l * s];
  return v;
}


/* The first n lanes (n <= VL) of v to p. */
static inline void
vstore_n (nreal *p, nvec v, int n)
{
  if (n >= VL)
    vstore (p, v);
  else
    for (int l = 0; l < n; l++)
      p[l] = v[l];
}

/* Real FFT: an even length n runs as a complex FFT of n/2 points on the samples read as
 * (even, odd) pairs, then one pass splits the two half spectra (the usual "real from
 * half-length complex" trick); an odd length runs the complex FFT on (x, 0).
 *
 * The complex FFT is a Stockham autosort (no bit reversal): stage with radix r over
 * sub-transforms of length len = r*m, stride s, reads x[q + s*(p + j*m)] and writes
 * y[q + s*(r*p + k)] = w_len^(p*k) * sum_j x[..j..] w_r^(j*k), ping-ponging between two
 * buffers. Radix 4, 2, 3 and 5 have their own butterflies; any other odd factor (7, 127...)
 * goes through one generic butterfly that uses the symmetry of w_r (O(r^2) per butterfly,
 * fine for the small factors of audio sizes; a large prime length is slow but exact).
 * Twiddles are computed once, in double, per plan. Only the forward direction exists:
 * the inverse is conj(forward(conj(.))), folded into the pre- and post-passes. */
#include "fft.h"

#include <math.h>
#include <string.h>

#include "error.h"
#include "tensor.h"

#define MAX_STAGES 40

typedef struct {
  float re, im;
} Cpx;

typedef struct {
  int radix, m;
  const Cpx *tw; /* [m][radix-1]: w_len^(p*k), k = 1..radix-1 */
  const Cpx *rt; /* generic radix: [radix] w_radix^j */
} Stage;

struct _NerveFft {
  int n, nc; /* real length; complex length (n/2 when n is even, else n) */
  int nstages;
  Stage stage[MAX_STAGES];
  Cpx *tw;          /* every stage's twiddles and generic roots */
  Cpx *post;        /* even n: w_n^k, k = 0..nc */
  Cpx *a, *b;       /* ping-pong buffers [nc] */
  Cpx *sum, *diff;  /* generic butterfly scratch [radix/2] */
};

static Cpx
cexp_neg (double num, double den)
{
  double t = -2.0 * G_PI * num / den;
  return (Cpx) { (float) cos (t), (float) sin (t) };
}

static inline Cpx
cmul (Cpx a, Cpx b)
{
  return (Cpx) { a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re };
}

/* ---- butterflies: one Stockham stage each ---- */

static void
pass2 (Cpx *restrict y, const Cpx *restrict x, const Cpx *restrict tw, int s, int m)
{
  for (int p = 0; p < m; p++) {
    Cpx w = tw[p];
    const Cpx *x0 = x + s * p, *x1 = x + s * (p + m);
    Cpx *y0 = y + s * 2 * p, *y1 = y0 + s;
    for (int q = 0; q < s; q++) {
      Cpx a = x0[q], b = x1[q];
      y0[q] = (Cpx) { a.re + b.re, a.im + b.im };
      y1[q] = cmul ((Cpx) { a.re - b.re, a.im - b.im }, w);
    }
  }
}

static void
pass4 (Cpx *restrict y, const Cpx *restrict x, const Cpx *restrict tw, int s, int m)
{
  for (int p = 0; p < m; p++) {
    Cpx w1 = tw[3 * p], w2 = tw[3 * p + 1], w3 = tw[3 * p + 2];
    const Cpx *x0 = x + s * p, *x1 = x0 + s * m, *x2 = x1 + s * m, *x3 = x2 + s * m;
    Cpx *y0 = y + s * 4 * p, *y1 = y0 + s, *y2 = y1 + s, *y3 = y2 + s;
    for (int q = 0; q < s; q++) {
      Cpx a0 = x0[q], a1 = x1[q], a2 = x2[q], a3 = x3[q];
      Cpx t0 = { a0.re + a2.re, a0.im + a2.im }, t1 = { a0.re - a2.re, a0.im - a2.im };
      Cpx t2 = { a1.re + a3.re, a1.im + a3.im };
      Cpx t3 = { a1.im - a3.im, a3.re - a1.re }; /* -i (a1 - a3) */
      y0[q] = (Cpx) { t0.re + t2.re, t0.im + t2.im };
      y1[q] = cmul ((Cpx) { t1.re + t3.re, t1.im + t3.im }, w1);
      y2[q] = cmul ((Cpx) { t0.re - t2.re, t0.im - t2.im }, w2);
      y3[q] = cmul ((Cpx) { t1.re - t3.re, t1.im - t3.im }, w3);
    }
  }
}

static void
pass3 (Cpx *restrict y, const Cpx *restrict x, const Cpx *restrict tw, int s, int m)
{
  const float h = (float) (0.5 * sqrt (3.0)); /* sin(2 pi / 3) */
  for (int p = 0; p < m; p++) {
    Cpx w1 = tw[2 * p], w2 = tw[2 * p + 1];
    const Cpx *x0 = x + s * p, *x1 = x0 + s * m, *x2 = x1 + s * m;
    Cpx *y0 = y + s * 3 * p, *y1 = y0 + s, *y2 = y1 + s;
    for (int q = 0; q < s; q++) {
      Cpx a0 = x0[q], a1 = x1[q], a2 = x2[q];
      Cpx t = { a1.re + a2.re, a1.im + a2.im };
      Cpx c = { a0.re - 0.5f * t.re, a0.im - 0.5f * t.im };
      Cpx d = { h * (a1.im - a2.im), -h * (a1.re - a2.re) }; /* -i sin(2pi/3) (a1 - a2) */
      y0[q] = (Cpx) { a0.re + t.re, a0.im + t.im };
      y1[q] = cmul ((Cpx) { c.re + d.re, c.im + d.im }, w1);
      y2[q] = cmul ((Cpx) { c.re - d.re, c.im - d.im }, w2);
    }
  }
}

static void
pass5 (Cpx *restrict y, const Cpx *restrict x, const Cpx *restrict tw, int s, int m)
{
  const float c1 = (float) cos (2 * G_PI / 5), c2 = (float) cos (4 * G_PI / 5);
  const float s1 = (float) sin (2 * G_PI / 5), s2 = (float) sin (4 * G_PI / 5);
  for (int p = 0; p < m; p++) {
    const Cpx *w = tw + 4 * p;
    const Cpx *x0 = x + s * p, *x1 = x0 + s * m, *x2 = x1 + s * m, *x3 = x2 + s * m, *x4 = x3 + s * m;
    Cpx *y0 = y + s * 5 * p;
    for (int q = 0; q < s; q++) {
      Cpx a0 = x0[q], a1 = x1[q], a2 = x2[q], a3 = x3[q], a4 = x4[q];
      Cpx S1 = { a1.re + a4.re, a1.im + a4.im }, S2 = { a2.re + a3.re, a2.im + a3.im };
      Cpx D1 = { a1.re - a4.re, a1.im - a4.im }, D2 = { a2.re - a3.re, a2.im - a3.im };
      Cpx C1 = { a0.re + c1 * S1.re + c2 * S2.re, a0.im + c1 * S1.im + c2 * S2.im };
      Cpx C2 = { a0.re + c2 * S1.re + c1 * S2.re, a0.im + c2 * S1.im + c1 * S2.im };
      /* -i (s1 D1 + s2 D2) and -i (s2 D1 - s1 D2) */
      Cpx E1 = { s1 * D1.im + s2 * D2.im, -(s1 * D1.re + s2 * D2.re) };
      Cpx E2 = { s2 * D1.im - s1 * D2.im, -(s2 * D1.re - s1 * D2.re) };
      y0[q] = (Cpx) { a0.re + S1.re + S2.re, a0.im + S1.im + S2.im };
      y0[q + s] = cmul ((Cpx) { C1.re + E1.re, C1.im + E1.im }, w[0]);
      y0[q + 2 * s] = cmul ((Cpx) { C2.re + E2.re, C2.im + E2.im }, w[1]);
      y0[q + 3 * s] = cmul ((Cpx) { C2.re - E2.re, C2.im - E2.im }, w[2]);
      y0[q + 4 * s] = cmul ((Cpx) { C1.re - E1.re, C1.im - E1.im }, w[3]);
    }
  }
}

/* Any odd radix r: with s_j = a_j + a_(r-j), d_j = a_j - a_(r-j) (j = 1..r/2),
 * b_k = a_0 + sum s_j cos(2pi jk/r) - i sum d_j sin(2pi jk/r) and b_(r-k) the same with +i. */
static void
pass_odd (Cpx *restrict y, const Cpx *restrict x, const Cpx *restrict tw, const Cpx *restrict rt, int r, int s,
          int m, Cpx *restrict sum, Cpx *restrict diff)
{
  int half = r / 2;
  for (int p = 0; p < m; p++) {
    const Cpx *w = tw + (gsize) (r - 1) * p;
    for (int q = 0; q < s; q++) {
      const Cpx *xin = x + q + s * p;
      Cpx a0 = xin[0], b0 = a0;
      for (int j = 1; j <= half; j++) {
        Cpx u = xin[(gsize) s * m * j], v = xin[(gsize) s * m * (r - j)];
        sum[j - 1] = (Cpx) { u.re + v.re, u.im + v.im };
        diff[j - 1] = (Cpx) { u.re - v.re, u.im - v.im };
        b0.re += sum[j - 1].re, b0.im += sum[j - 1].im;
      }
      Cpx *yout = y + q + (gsize) s * r * p;
      yout[0] = b0;
      for (int k = 1; k <= half; k++) {
        Cpx c = a0, d = { 0, 0 };
        int jk = 0;
        for (int j = 1; j <= half; j++) {
          jk += k;
          if (jk >= r)
            jk -= r;
          /* rt[jk] = cos - i sin */
          c.re += sum[j - 1].re * rt[jk].re, c.im += sum[j - 1].im * rt[jk].re;
          d.re -= diff[j - 1].re * rt[jk].im, d.im -= diff[j - 1].im * rt[jk].im;
        }
        Cpx mid = { d.im, -d.re }; /* -i d */
        yout[(gsize) s * k] = cmul ((Cpx) { c.re + mid.re, c.im + mid.im }, w[k - 1]);
        yout[(gsize) s * (r - k)] = cmul ((Cpx) { c.re - mid.re, c.im - mid.im }, w[r - k - 1]);
      }
    }
  }
}

/* Forward complex FFT of f->nc points from x (may be the caller's input, read only);
 * returns the buffer holding the result (x itself when there are no stages). */
static const Cpx *
cfft (NerveFft *f, const Cpx *x)
{
  const Cpx *src = x;
  Cpx *dst = f->a;
  int s = 1;
  for (int i = 0; i < f->nstages; i++) {
    const Stage *st = &f->stage[i];
    switch (st->radix) {
    case 2: pass2 (dst, src, st->tw, s, st->m); break;
    case 3: pass3 (dst, src, st->tw, s, st->m); break;
    case 4: pass4 (dst, src, st->tw, s, st->m); break;
    case 5: pass5 (dst, src, st->tw, s, st->m); break;
    default: pass_odd (dst, src, st->tw, st->rt, st->radix, s, st->m, f->sum, f->diff); break;
    }
    s *= st->radix;
    src = dst;
    dst = dst == f->a ? f->b : f->a;
  }
  return src;
}

/* ---- plan ---- */

NerveFft *
nerve_fft_new (int n, GError **error)
{
  if (n < 2 || n > (1 << 28)) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "FFT length %d: expected 2 <= n <= %d", n, 1 << 28);
    return NULL;
  }
  NerveFft *f = g_new0 (NerveFft, 1);
  f->n = n;
  f->nc = n % 2 == 0 ? n / 2 : n;

  /* factor nc: 4s first, then 2, 3, then odd factors in increasing order */
  int radix[MAX_STAGES], ns = 0, rest = f->nc, max_odd = 0;
  while (rest % 4 == 0)
    radix[ns++] = 4, rest /= 4;
  while (rest % 2 == 0)
    radix[ns++] = 2, rest /= 2;
  for (int p = 3; rest > 1; p += 2) {
    if ((gint64) p * p > rest)
      p = rest;
    while (rest % p == 0) {
      radix[ns++] = p, rest /= p;
      if (p > 3 && p > max_odd)
        max_odd = p;
    }
  }
  f->nstages = ns;

  /* twiddles: sum over stages of m*(r-1) (< 2 nc) plus r roots for generic stages */
  gsize ntw = 0;
  for (int i = 0, len = f->nc; i < ns; len /= radix[i], i++)
    ntw += (gsize) (len / radix[i]) * (radix[i] - 1) + (radix[i] > 3 ? radix[i] : 0);
  f->tw = g_new (Cpx, ntw + 1);
  Cpx *t = f->tw;
  for (int i = 0, len = f->nc; i < ns; len /= radix[i], i++) {
    int r = radix[i], m = len / r;
    f->stage[i] = (Stage) { .radix = r, .m = m, .tw = t };
    for (int p = 0; p < m; p++)
      for (int k = 1; k < r; k++)
        *t++ = cexp_neg ((double) ((gint64) p * k % len), len);
    if (r > 3) {
      f->stage[i].rt = t;
      for (int j = 0; j < r; j++)
        *t++ = cexp_neg (j, r);
    }
  }
  if (n % 2 == 0) {
    f->post = g_new (Cpx, f->nc + 1);
    for (int k = 0; k <= f->nc; k++)
      f->post[k] = cexp_neg (k, n);
  }
  f->a = (Cpx *) nerve_alloc_floats (2 * (gsize) f->nc);
  f->b = (Cpx *) nerve_alloc_floats (2 * (gsize) f->nc);
  f->sum = g_new (Cpx, max_odd / 2 + 1);
  f->diff = g_new (Cpx, max_odd / 2 + 1);
  return f;
}

void
nerve_fft_free (NerveFft *f)
{
  if (!f)
    return;
  g_free (f->tw);
  g_free (f->post);
  nerve_free_floats ((float *) f->a);
  nerve_free_floats ((float *) f->b);
  g_free (f->sum);
  g_free (f->diff);
  g_free (f);
}

int
nerve_fft_size (const NerveFft *f)
{
  return f->n;
}

int
nerve_fft_bins (const NerveFft *f)
{
  return f->n / 2 + 1;
}

/* ---- real transforms ---- */

void
nerve_fft_forward (NerveFft *f, const float *in, float *out)
{
  g_return_if_fail (f && in && out);
  int M = f->nc;
  Cpx *X = (Cpx *) out;
  if (f->n % 2) {
    for (int i = 0; i < M; i++)
      f->b[i] = (Cpx) { in[i], 0 };
    /* cfft's first stage writes a, so b is free to hold the input */
    const Cpx *Z = cfft (f, f->b);
    memcpy (X, Z, sizeof (Cpx) * (gsize) (f->n / 2 + 1));
    X[0].im = 0;
    return;
  }
  /* z[k] = x[2k] + i x[2k+1] is the input's own memory layout */
  const Cpx *Z = cfft (f, (const Cpx *) in);
  float z0r = Z[0].re, z0i = Z[0].im;
  /* E = (Z[k] + conj Z[M-k]) / 2, O = -i (Z[k] - conj Z[M-k]) / 2, X[k] = E + w^k O;
   * k and M-k together so X may alias nothing but Z is read before written */
  for (int k = 1; k <= M / 2; k++) {
    Cpx A = Z[k], B = Z[M - k];
    Cpx e = { 0.5f * (A.re + B.re), 0.5f * (A.im - B.im) };
    Cpx o = { 0.5f * (A.im + B.im), -0.5f * (A.re - B.re) };
    Cpx wo = cmul (o, f->post[k]);
    X[k] = (Cpx) { e.re + wo.re, e.im + wo.im };
    /* bin M-k: E' = conj(e), O' = conj(o) */
    Cpx wo2 = cmul ((Cpx) { o.re, -o.im }, f->post[M - k]);
    X[M - k] = (Cpx) { e.re + wo2.re, -e.im + wo2.im };
  }
  X[0] = (Cpx) { z0r + z0i, 0 };
  X[M] = (Cpx) { z0r - z0i, 0 };
}

void
nerve_fft_inverse (NerveFft *f, const float *in, float *out)
{
  g_return_if_fail (f && in && out);
  int M = f->nc, n = f->n;
  const Cpx *X = (const Cpx *) in;
  float scale = 1.0f / (float) n;
  if (n % 2) {
    /* full Hermitian spectrum, conjugated: inverse = conj(forward(conj(.))) / n */
    Cpx *c = f->b;
    c[0] = (Cpx) { X[0].re, 0 };
    for (int k = 1; k <= n / 2; k++) {
      c[k] = (Cpx) { X[k].re, -X[k].im };
      c[n - k] = X[k];
    }
    const Cpx *z = cfft (f, c);
    for (int i = 0; i < n; i++)
      out[i] = z[i].re * scale;
    return;
  }
  /* Z[k] = E + i O with E = X[k] + conj X[M-k], O = (X[k] - conj X[M-k]) conj(w^k)
   * (both twice the true value: folded into the 1/n); store conj(Z) in b */
  Cpx *c = f->b;
  {
    float x0 = X[0].re, xm = X[M].re; /* imaginary parts of bins 0 and M ignored */
    c[0] = (Cpx) { x0 + xm, -(x0 - xm) };
  }
  for (int k = 1; k < M; k++) {
    Cpx A = X[k], B = X[M - k];
    Cpx e = { A.re + B.re, A.im - B.im };
    Cpx d = { A.re - B.re, A.im + B.im };
    Cpx w = f->post[k];
    Cpx o = cmul (d, (Cpx) { w.re, -w.im });
    /* Z = e + i o = (e.re - o.im, e.im + o.re); store its conjugate */
    c[k] = (Cpx) { e.re - o.im, -(e.im + o.re) };
  }
  const Cpx *z = cfft (f, c);
  for (int k = 0; k < M; k++) {
    out[2 * k] = z[k].re * scale;
    out[2 * k + 1] = -z[k].im * scale;
  }
}

/* Speech-enhancement metrics: SI-SDR, SNR, STOI (Taal et al. 2011) and delay by
 * cross-correlation. Sums run in double: the samples are float, but sums over minutes
 * of audio would lose the digits the dB values depend on. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "audio-metrics.h"
#include "error.h"
#include "fft.h"

static double
mean (const float *x, gsize n)
{
  double s = 0;
  for (gsize i = 0; i < n; i++)
    s += x[i];
  return s / (double) n;
}

/* 10 log10(num / den) with the limits spelt out, so a perfect estimate gives +inf
 * rather than a division by zero. */
static double
db_ratio (double num, double den)
{
  if (den <= 0)
    return num > 0 ? INFINITY : NAN;
  if (num <= 0)
    return -INFINITY;
  return 10 * log10 (num / den);
}

double
nerve_si_sdr (const float *estimate, const float *reference, gsize n)
{
  g_return_val_if_fail (estimate && reference && n > 0, NAN);
  double ms = mean (reference, n), me = mean (estimate, n);
  double ss = 0, es = 0, ee = 0;
  for (gsize i = 0; i < n; i++) {
    double s = reference[i] - ms, e = estimate[i] - me;
    ss += s * s;
    es += e * s;
    ee += e * e;
  }
  if (ss <= 0)
    return NAN; /* no reference to project on */
  if (ee <= 0)
    return -INFINITY; /* a constant estimate keeps nothing of the reference */
  double a = es / ss, target = 0, resid = 0;
  /* the residual summed directly: ee - es^2/ss cancels badly at high SI-SDR */
  for (gsize i = 0; i < n; i++) {
    double t = a * (reference[i] - ms), r = t - (estimate[i] - me);
    target += t * t;
    resid += r * r;
  }
  return db_ratio (target, resid);
}

double
nerve_snr (const float *estimate, const float *reference, gsize n)
{
  g_return_val_if_fail (estimate && reference && n > 0, NAN);
  double ss = 0, err = 0;
  for (gsize i = 0; i < n; i++) {
    double s = reference[i], r = s - estimate[i];
    ss += s * s;
    err += r * r;
  }
  return db_ratio (ss, err);
}

/* ---- delay ---- */

/* sum_t delayed[t + lag] reference[t] over the overlap */
static double
xcorr_at (const float *delayed, const float *reference, gsize n, int lag)
{
  double s = 0;
  for (gsize t = 0; t + (gsize) lag < n; t++)
    s += (double) delayed[t + (gsize) lag] * reference[t];
  return s;
}

/* Smallest 2^a 3^b 5^c >= n: sizes the FFT plans quickly. */
static gsize
smooth_size (gsize n)
{
  for (gsize m = MAX (n, 2);; m++) {
    gsize r = m;
    while (r % 2 == 0)
      r /= 2;
    while (r % 3 == 0)
      r /= 3;
    while (r % 5 == 0)
      r /= 5;
    if (r == 1)
      return m;
  }
}

/* Below this many multiply-adds the direct double loop is cheap enough. */
#define DELAY_DIRECT_LIMIT 4000000.0

/* All lags at once: IFFT(D conj(R)) with both zero-padded to >= n + max_lag, so the
 * circular correlation never wraps into lags 0..max_lag. Returns -1 when no plan. */
static int
delay_fft (const float *delayed, const float *reference, gsize n, int max_lag)
{
  gsize len = smooth_size (n + (gsize) max_lag);
  if (len > G_MAXINT)
    return -1;
  g_autoptr (NerveFft) f = nerve_fft_new ((int) len, NULL);
  if (!f)
    return -1;
  gsize bins = (gsize) nerve_fft_bins (f);
  float *buf = g_new0 (float, len);
  float *D = g_new (float, 2 * bins), *R = g_new (float, 2 * bins);
  memcpy (buf, delayed, n * sizeof (float));
  nerve_fft_forward (f, buf, D);
  memcpy (buf, reference, n * sizeof (float));
  nerve_fft_forward (f, buf, R);
  for (gsize k = 0; k < bins; k++) {
    float dr = D[2 * k], di = D[2 * k + 1], rr = R[2 * k], ri = R[2 * k + 1];
    D[2 * k] = dr * rr + di * ri;
    D[2 * k + 1] = di * rr - dr * ri;
  }
  nerve_fft_inverse (f, D, buf);
  int best = 0;
  for (int lag = 1; lag <= max_lag; lag++)
    if (buf[lag] > buf[best])
      best = lag;
  g_free (buf);
  g_free (D);
  g_free (R);
  return best;
}

int
nerve_audio_delay (const float *delayed, const float *reference, gsize n, int max_lag)
{
  g_return_val_if_fail (delayed && reference && max_lag >= 0, 0);
  if (n < 2)
    return 0;
  max_lag = (int) MIN ((gsize) max_lag, n - 1);
  int lo = 0, hi = max_lag;
  if ((double) n * (max_lag + 1) > DELAY_DIRECT_LIMIT) {
    int c = delay_fft (delayed, reference, n, max_lag);
    if (c >= 0) {
      /* float FFT sums carry ~1e-7 relative noise: settle near-ties in double */
      lo = MAX (0, c - 2);
      hi = MIN (max_lag, c + 2);
    }
  }
  int best = lo;
  double best_v = -INFINITY;
  for (int lag = lo; lag <= hi; lag++) {
    double v = xcorr_at (delayed, reference, n, lag);
    if (v > best_v)
      best_v = v, best = lag;
  }
  return best;
}

/* ---- STOI ---- */

enum {
  STOI_RATE = 10000,
  STOI_FRAME = 256,
  STOI_HOP = 128,
  STOI_NFFT = 512,
  STOI_BINS = STOI_NFFT / 2 + 1,
  STOI_BANDS = 15,
  STOI_SEG = 30, /* frames per intermediate segment: 384 ms */
};
#define STOI_MIN_FREQ 150.0
#define STOI_BETA (-15.0)   /* lower signal-to-distortion bound of the clipping, dB */
#define STOI_DYN_RANGE 40.0 /* frames this far below the loudest clean frame are silent */

/* Modified Bessel function I0 by its power series (the Kaiser window's shape). */
static double
bessel_i0 (double x)
{
  double term = 1, sum = 1, q = x * x / 4;
  for (int k = 1; k < 500 && term > sum * 1e-17; k++) {
    term *= q / ((double) k * k);
    sum += term;
  }
  return sum;
}

static int
gcd (int a, int b)
{
  while (b) {
    int t = a % b;
    a = b, b = t;
  }
  return a;
}

/* The resampling of the reference implementations (Octave's resample(), as pystoi's
 * resample_oct runs it through scipy's resample_poly): a Kaiser-windowed sinc cut at the
 * lower Nyquist rate, 60 dB rejection, transition 10 % of the cutoff, unit DC gain,
 * applied zero-phase; ceil(n * up / down) samples out. STOI uses this filter rather than
 * nerve_resample because silence removal and the top band see the 4-5 kHz region where
 * resamplers differ: nerve_resample's steeper filter moved STOI by 2e-4 on noisy LJ Speech
 * and 3.6e-3 on a clipped test signal. */
static double *
stoi_resample (const float *x, gsize n, int from, gsize *n_out)
{
  int g = gcd (STOI_RATE, from);
  gint64 up = STOI_RATE / g, down = from / g;
  double fc = 1.0 / (2.0 * (double) MAX (up, down)), rejection = 60;
  gint64 half = (gint64) ceil ((rejection - 8) / (28.714 * fc / 10)), len = 2 * half + 1;
  double beta = 0.1102 * (rejection - 8.7), i0b = bessel_i0 (beta), sum = 0;
  double *h = g_new (double, len);
  for (gint64 k = 0; k < len; k++) {
    double t = (double) (k - half), r = t / (double) half, a = 2 * fc * t;
    h[k] = bessel_i0 (beta * sqrt (MAX (0.0, 1 - r * r))) / i0b * (a == 0 ? 1 : sin (G_PI * a) / (G_PI * a));
    sum += h[k];
  }
  for (gint64 k = 0; k < len; k++)
    h[k] *= (double) up / sum;
  gsize m = (gsize) (((gint64) n * up + down - 1) / down);
  double *y = g_new (double, MAX (m, 1));
  /* y[j] = sum_i x[i] h[half + j down - i up] over the taps that exist */
  for (gsize j = 0; j < m; j++) {
    gint64 c = (gint64) j * down + half;
    gint64 lo = c - (len - 1) <= 0 ? 0 : (c - (len - 1) + up - 1) / up, hi = MIN (c / up, (gint64) n - 1);
    double acc = 0;
    for (gint64 i = lo; i <= hi; i++)
      acc += x[i] * h[c - i * up];
    y[j] = acc;
  }
  g_free (h);
  *n_out = m;
  return y;
}

/* MATLAB's hanning(256): a symmetric 258-point Hann without its two zero end points. */
static void
stoi_window (double *w)
{
  for (int k = 0; k < STOI_FRAME; k++)
    w[k] = 0.5 - 0.5 * cos (2 * G_PI * (k + 1) / (STOI_FRAME + 1));
}

/* Third-octave band i spans FFT bins [lo[i], hi[i]): its edges 150 * 2^((2i -+ 1)/6) Hz
 * rounded to the nearest bin (thirdoct.m). */
static void
stoi_bands (int *lo, int *hi)
{
  for (int i = 0; i < STOI_BANDS; i++) {
    double edge[2] = { STOI_MIN_FREQ * pow (2.0, (2.0 * i - 1) / 6), STOI_MIN_FREQ * pow (2.0, (2.0 * i + 1) / 6) };
    int bin[2] = { 0, 0 };
    for (int e = 0; e < 2; e++) {
      double best = INFINITY;
      for (int k = 0; k < STOI_BINS; k++) {
        double d = (double) k * STOI_RATE / STOI_NFFT - edge[e];
        if (d * d < best)
          best = d * d, bin[e] = k;
      }
    }
    lo[i] = bin[0], hi[i] = bin[1];
  }
}

/* Analysis frames start at 0, hop, ... strictly before n - frame (as the reference
 * does: a signal of exactly k hops + frame has k frames, not k + 1). */
static gsize
stoi_frames (gsize n)
{
  return n > STOI_FRAME ? (n - STOI_FRAME + STOI_HOP - 1) / STOI_HOP : 0;
}

/* Drops the frames of x (and the same frames of y) more than 40 dB below x's loudest,
 * and overlap-adds the windowed frames that remain. Returns the new length. */
static gsize
stoi_remove_silence (const double *x, const double *y, gsize n, const double *w, double *xo, double *yo)
{
  gsize nf = stoi_frames (n);
  if (nf == 0)
    return 0;
  double *energy = g_new (double, nf), top = -INFINITY;
  for (gsize f = 0; f < nf; f++) {
    double s = 0;
    for (int k = 0; k < STOI_FRAME; k++) {
      double v = w[k] * x[f * STOI_HOP + k];
      s += v * v;
    }
    energy[f] = 20 * log10 (sqrt (s) + DBL_EPSILON);
    top = MAX (top, energy[f]);
  }
  gsize kept = 0;
  for (gsize f = 0; f < nf; f++) {
    if (top - STOI_DYN_RANGE - energy[f] >= 0)
      continue;
    if (kept == 0)
      memset (xo, 0, sizeof (double) * STOI_FRAME), memset (yo, 0, sizeof (double) * STOI_FRAME);
    double *xd = xo + kept * STOI_HOP, *yd = yo + kept * STOI_HOP;
    memset (xd + STOI_FRAME - STOI_HOP, 0, sizeof (double) * STOI_HOP);
    memset (yd + STOI_FRAME - STOI_HOP, 0, sizeof (double) * STOI_HOP);
    for (int k = 0; k < STOI_FRAME; k++) {
      xd[k] += w[k] * x[f * STOI_HOP + k];
      yd[k] += w[k] * y[f * STOI_HOP + k];
    }
    kept++;
  }
  g_free (energy);
  return kept ? (kept - 1) * STOI_HOP + STOI_FRAME : 0;
}

/* Third-octave band magnitudes of every frame: tob[band * frames + frame]. */
static void
stoi_tob (NerveFft *fft, const double *x, gsize frames, const double *w, const int *lo, const int *hi,
          double *tob)
{
  float in[STOI_NFFT] = { 0 }, spec[2 * STOI_BINS];
  double power[STOI_BINS];
  for (gsize f = 0; f < frames; f++) {
    for (int k = 0; k < STOI_FRAME; k++)
      in[k] = (float) (w[k] * x[f * STOI_HOP + k]);
    nerve_fft_forward (fft, in, spec);
    for (int k = 0; k < STOI_BINS; k++)
      power[k] = (double) spec[2 * k] * spec[2 * k] + (double) spec[2 * k + 1] * spec[2 * k + 1];
    for (int b = 0; b < STOI_BANDS; b++) {
      double s = 0;
      for (int k = lo[b]; k < hi[b]; k++)
        s += power[k];
      tob[(gsize) b * frames + f] = sqrt (s);
    }
  }
}

/* Correlation of one band's 30-frame clean envelope x with the processed envelope y,
 * after scaling y to x's energy and clipping it at x (1 + 10^(-beta/20)). */
static double
stoi_segment_corr (const double *x, const double *y)
{
  const double clip = 1 + pow (10.0, -STOI_BETA / 20);
  double xx = 0, yy = 0, yp[STOI_SEG], xc[STOI_SEG];
  for (int m = 0; m < STOI_SEG; m++)
    xx += x[m] * x[m], yy += y[m] * y[m];
  double alpha = sqrt (xx) / (sqrt (yy) + DBL_EPSILON), my = 0, mx = 0;
  for (int m = 0; m < STOI_SEG; m++) {
    yp[m] = MIN (alpha * y[m], x[m] * clip);
    my += yp[m], mx += x[m];
  }
  my /= STOI_SEG, mx /= STOI_SEG;
  double ny = 0, nx = 0, dot = 0;
  for (int m = 0; m < STOI_SEG; m++) {
    yp[m] -= my, xc[m] = x[m] - mx;
    ny += yp[m] * yp[m], nx += xc[m] * xc[m];
    dot += yp[m] * xc[m];
  }
  return dot / ((sqrt (ny) + DBL_EPSILON) * (sqrt (nx) + DBL_EPSILON));
}

double
nerve_stoi (const float *clean, const float *processed, gsize n, int rate, GError **error)
{
  g_return_val_if_fail (clean && processed, NAN);
  if (rate < 1000 || rate > 768000) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "STOI: sample rate %d Hz is outside 1000..768000", rate);
    return NAN;
  }
  /* STOI is defined at 10 kHz: everything else is resampled first */
  g_autofree double *x = NULL, *y = NULL;
  gsize m = n;
  if (rate != STOI_RATE) {
    x = stoi_resample (clean, n, rate, &m);
    y = stoi_resample (processed, n, rate, &m);
  } else {
    x = g_new (double, MAX (n, 1)), y = g_new (double, MAX (n, 1));
    for (gsize i = 0; i < n; i++)
      x[i] = clean[i], y[i] = processed[i];
  }
  double w[STOI_FRAME];
  stoi_window (w);
  g_autofree double *xs = g_new (double, MAX (m, STOI_FRAME)), *ys = g_new (double, MAX (m, STOI_FRAME));
  gsize len = stoi_remove_silence (x, y, m, w, xs, ys);
  gsize frames = stoi_frames (len);
  if (frames < STOI_SEG) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
                 "STOI needs at least %d frames (about 0.4 s) of non-silent speech; got %zu from %zu samples "
                 "at %d Hz", STOI_SEG, frames, n, rate);
    return NAN;
  }
  g_autoptr (NerveFft) fft = nerve_fft_new (STOI_NFFT, error);
  if (!fft)
    return NAN;
  int lo[STOI_BANDS], hi[STOI_BANDS];
  stoi_bands (lo, hi);
  g_autofree double *xt = g_new (double, STOI_BANDS * frames), *yt = g_new (double, STOI_BANDS * frames);
  stoi_tob (fft, xs, frames, w, lo, hi, xt);
  stoi_tob (fft, ys, frames, w, lo, hi, yt);
  double sum = 0;
  gsize segments = frames - STOI_SEG + 1;
  for (gsize s = 0; s < segments; s++)
    for (int b = 0; b < STOI_BANDS; b++)
      sum += stoi_segment_corr (xt + (gsize) b * frames + s, yt + (gsize) b * frames + s);
  return sum / ((double) segments * STOI_BANDS);
}

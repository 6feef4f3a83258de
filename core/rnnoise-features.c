/* RNNoise's bands, features, pitch analysis and pitch filter (rnnoise-features.h).
 * Sums run in float, in index order, one accumulator each: the integer pitch decisions
 * then come out as in the reference implementations for the same input. (Built with
 * FMA contraction, e.g. -march=native, the roundings and so rare decisions would
 * differ; the default build has none.) */
#include "rnnoise-features.h"

#include <math.h>
#include <string.h>

/* Band edges in units of 4 bins (200 Hz at 48 kHz / 960 points). */
static const int band_edge[NERVE_RNN_BANDS] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 34, 40, 48, 60, 78, 100 };

#define EDGE(i) (band_edge[i] * 4)

/* Shared by energy and correlation: v(k) is the bin's value. */
#define BAND_SUM(E, v)                                                                                                  \
  do {                                                                                                                 \
    float acc_[NERVE_RNN_BANDS] = { 0 };                                                                               \
    for (int b = 0; b + 1 < NERVE_RNN_BANDS; b++) {                                                                    \
      int width = EDGE (b + 1) - EDGE (b);                                                                             \
      for (int j = 0; j < width; j++) {                                                                                \
        int k = EDGE (b) + j;                                                                                          \
        float w = (float) j / (float) width, p = (v);                                                                  \
        acc_[b] += (1.0f - w) * p;                                                                                     \
        acc_[b + 1] += w * p;                                                                                          \
      }                                                                                                                \
    }                                                                                                                  \
    acc_[0] *= 2;                                                                                                      \
    acc_[NERVE_RNN_BANDS - 1] *= 2;                                                                                    \
    memcpy (E, acc_, sizeof acc_);                                                                                     \
  } while (0)

void
nerve_rnnoise_band_energy (const float *X, float *E)
{
  BAND_SUM (E, X[2 * k] * X[2 * k] + X[2 * k + 1] * X[2 * k + 1]);
}

void
nerve_rnnoise_band_corr (const float *X, const float *P, float *E)
{
  BAND_SUM (E, X[2 * k] * P[2 * k] + X[2 * k + 1] * P[2 * k + 1]);
}

void
nerve_rnnoise_interp_band_gain (const float *band, float *bin)
{
  memset (bin, 0, sizeof (float) * NERVE_RNN_BINS);
  for (int b = 0; b + 1 < NERVE_RNN_BANDS; b++) {
    int width = EDGE (b + 1) - EDGE (b);
    for (int j = 0; j < width; j++) {
      float w = (float) j / (float) width;
      bin[EDGE (b) + j] = (1.0f - w) * band[b] + w * band[b + 1];
    }
  }
}

void
nerve_rnnoise_dct (const float *in, float *out)
{
  static float table[NERVE_RNN_BANDS][NERVE_RNN_BANDS]; /* [coefficient][band] */
  static gsize init = 0;
  if (g_once_init_enter (&init)) {
    for (int c = 0; c < NERVE_RNN_BANDS; c++)
      for (int b = 0; b < NERVE_RNN_BANDS; b++)
        table[c][b] = cosf ((float) ((double) (((float) b + 0.5f) * (float) c) * G_PI / NERVE_RNN_BANDS)) *
                      (c == 0 ? sqrtf (0.5f) : 1.0f);
    g_once_init_leave (&init, 1);
  }
  const float norm = sqrtf (2.0f / NERVE_RNN_BANDS);
  for (int c = 0; c < NERVE_RNN_BANDS; c++) {
    float s = 0;
    for (int b = 0; b < NERVE_RNN_BANDS; b++)
      s += in[b] * table[c][b];
    out[c] = s * norm;
  }
}

/* ---- pitch analysis ---- */

static float
dot (const float *a, const float *b, int n)
{
  float s = 0;
  for (int i = 0; i < n; i++)
    s += a[i] * b[i];
  return s;
}

/* xc[i] = dot (x, y + i, n) for i < lags. Four lags at a time: four independent
 * chains, each still summed in index order, so the results equal dot()'s. */
static void
xcorr (const float *x, const float *y, int n, int lags, float *xc)
{
  int i = 0;
  for (; i + 4 <= lags; i += 4) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    const float *yi = y + i;
    for (int j = 0; j < n; j++) {
      float v = x[j];
      s0 += v * yi[j];
      s1 += v * yi[j + 1];
      s2 += v * yi[j + 2];
      s3 += v * yi[j + 3];
    }
    xc[i] = s0, xc[i + 1] = s1, xc[i + 2] = s2, xc[i + 3] = s3;
  }
  for (; i < lags; i++)
    xc[i] = dot (x, y + i, n);
}

/* Halves the rate with a [1/4 1/2 1/4] filter, then whitens with a 4th-order LPC
 * (lag-windowed, bandwidth-expanded) plus a zero at 0.8, in place. */
static void
downsample_whiten (const float *x, int n, float *lp /* [n/2] */)
{
  const int m = n / 2;
  lp[0] = 0.5f * (0.5f * x[1] + x[0]);
  for (int i = 1; i < m; i++)
    lp[i] = 0.5f * (0.5f * (x[2 * i - 1] + x[2 * i + 1]) + x[2 * i]);
  /* autocorrelation to lag 4: the first m-4 products per lag, then the tail */
  float ac[5];
  xcorr (lp, lp, m - 4, 5, ac);
  for (int k = 0; k <= 4; k++) {
    float tail = 0;
    for (int i = k + m - 4; i < m; i++)
      tail += lp[i] * lp[i - k];
    ac[k] += tail;
  }
  ac[0] *= 1.0001f; /* -40 dB noise floor */
  for (int k = 1; k <= 4; k++)
    ac[k] -= ac[k] * (0.008f * (float) k) * (0.008f * (float) k);
  /* Levinson-Durbin, stopping at 30 dB of prediction gain */
  float lpc[4] = { 0 }, err = ac[0];
  if (ac[0] != 0) {
    for (int i = 0; i < 4; i++) {
      float acc = 0;
      for (int j = 0; j < i; j++)
        acc += lpc[j] * ac[i - j];
      acc += ac[i + 1];
      float rc = -acc / err;
      lpc[i] = rc;
      for (int j = 0; j < (i + 1) >> 1; j++) {
        float a = lpc[j], b = lpc[i - 1 - j];
        lpc[j] = a + rc * b;
        lpc[i - 1 - j] = b + rc * a;
      }
      err = err - rc * rc * err;
      if (err < 0.001f * ac[0])
        break;
    }
  }
  float bw = 1.0f;
  for (int i = 0; i < 4; i++) {
    bw = 0.9f * bw;
    lpc[i] = lpc[i] * bw;
  }
  const float c1 = 0.8f;
  const float f[5] = { lpc[0] + 0.8f, lpc[1] + c1 * lpc[0], lpc[2] + c1 * lpc[1], lpc[3] + c1 * lpc[2], c1 * lpc[3] };
  float mem[5] = { 0 };
  for (int i = 0; i < m; i++) {
    float s = lp[i];
    for (int t = 0; t < 5; t++)
      s += f[t] * mem[t];
    mem[4] = mem[3], mem[3] = mem[2], mem[2] = mem[1], mem[1] = mem[0];
    mem[0] = lp[i];
    lp[i] = s;
  }
}

/* The two lags (of max_lag) with the best normalised correlation xc[i]^2 / energy of
 * y over the window at i; y's energy is tracked incrementally. */
static void
best_two (const float *xc, const float *y, int len, int max_lag, int best[2])
{
  float num[2] = { -1, -1 }, den[2] = { 0, 0 }, syy = 1;
  best[0] = 0, best[1] = 1;
  for (int j = 0; j < len; j++)
    syy += y[j] * y[j];
  for (int i = 0; i < max_lag; i++) {
    if (xc[i] > 0) {
      float c = xc[i] * 1e-12f; /* keeps c*c finite */
      float n = c * c;
      if (n * den[1] > num[1] * syy) {
        if (n * den[0] > num[0] * syy) {
          num[1] = num[0], den[1] = den[0], best[1] = best[0];
          num[0] = n, den[0] = syy, best[0] = i;
        } else {
          num[1] = n, den[1] = syy, best[1] = i;
        }
      }
    }
    syy += y[i + len] * y[i + len] - y[i] * y[i];
    syy = MAX (1.0f, syy);
  }
}

/* Lag (in half-rate samples, from the start of y) best aligning x [len] with y
 * [len + max_lag]: a search at quarter rate, refined at half rate around the two
 * best candidates, then a parabola-like half-step correction. Returns 2*lag - offset. */
static int
search_lag (const float *x, const float *y, int len, int max_lag)
{
  float x4[NERVE_RNN_WINDOW / 4], y4[(NERVE_RNN_WINDOW + NERVE_RNN_PITCH_MAX) / 4], xc[NERVE_RNN_PITCH_MAX / 2];
  int best[2];
  for (int j = 0; j < len / 4; j++)
    x4[j] = x[2 * j];
  for (int j = 0; j < (len + max_lag) / 4; j++)
    y4[j] = y[2 * j];
  xcorr (x4, y4, len / 4, max_lag / 4, xc);
  best_two (xc, y4, len / 4, max_lag / 4, best);
  for (int i = 0; i < max_lag / 2; i++) {
    xc[i] = 0;
    if (abs (i - 2 * best[0]) > 2 && abs (i - 2 * best[1]) > 2)
      continue;
    xc[i] = MAX (-1.0f, dot (x, y + i, len / 2));
  }
  best_two (xc, y, len / 2, max_lag / 2, best);
  int offset = 0;
  if (best[0] > 0 && best[0] < max_lag / 2 - 1) {
    float a = xc[best[0] - 1], b = xc[best[0]], c = xc[best[0] + 1];
    if (c - a > 0.7f * (b - a))
      offset = 1;
    else if (a - c > 0.7f * (b - c))
      offset = -1;
  }
  return 2 * best[0] - offset;
}

static float
pitch_gain (float xy, float xx, float yy)
{
  return xy / sqrtf (1.0f + xx * yy);
}

/* Octave-error check at half rate: tries the period's submultiples T0/k (checking a
 * second multiple of each) and keeps one whose correlation beats a threshold that
 * favours continuity with the previous frame. *T0 in full-rate samples in and out;
 * returns the pitch gain. x is the half-rate buffer [maxp/2 + n/2]. */
static float
octave_check (const float *x, int maxp, int minp, int n, int *T0io, int prev_period, float prev_gain)
{
  static const int second[16] = { 0, 0, 3, 2, 3, 2, 5, 2, 3, 2, 3, 2, 5, 2, 3, 2 };
  const int minp_full = minp;
  maxp /= 2, minp /= 2, n /= 2, prev_period /= 2;
  int T0 = MIN (*T0io / 2, maxp - 1);
  x += maxp;
  float xx = 0, xy = 0;
  for (int i = 0; i < n; i++) {
    xx += x[i] * x[i];
    xy += x[i] * x[i - T0];
  }
  float yy_at[NERVE_RNN_PITCH_MAX / 2 + 1], yy = xx;
  yy_at[0] = xx;
  for (int i = 1; i <= maxp; i++) {
    yy = yy + x[-i] * x[-i] - x[n - i] * x[n - i];
    yy_at[i] = MAX (0.0f, yy);
  }
  float best_xy = xy, best_yy = yy_at[T0];
  const float g0 = pitch_gain (xy, xx, best_yy);
  float g = g0;
  int T = T0;
  for (int k = 2; k <= 15; k++) {
    int T1 = (2 * T0 + k) / (2 * k);
    if (T1 < minp)
      break;
    int T1b = k == 2 ? (T1 + T0 > maxp ? T0 : T0 + T1) : (2 * second[k] * T0 + k) / (2 * k);
    float c1 = 0, c2 = 0;
    for (int i = 0; i < n; i++) {
      c1 += x[i] * x[i - T1];
      c2 += x[i] * x[i - T1b];
    }
    float cxy = 0.5f * (c1 + c2), cyy = 0.5f * (yy_at[T1] + yy_at[T1b]);
    float g1 = pitch_gain (cxy, xx, cyy);
    float cont = 0;
    if (abs (T1 - prev_period) <= 1)
      cont = prev_gain;
    else if (abs (T1 - prev_period) <= 2 && 5 * k * k < T0)
      cont = prev_gain * 0.5f;
    /* short periods need more evidence: short-term correlation mimics them */
    float thresh = T1 < 3 * minp ? MAX (0.4f, 0.85f * g0 - cont) : MAX (0.3f, 0.7f * g0 - cont);
    if (g1 > thresh) {
      best_xy = cxy, best_yy = cyy, T = T1, g = g1;
    }
  }
  best_xy = MAX (0.0f, best_xy);
  float pg = best_yy <= best_xy ? 1.0f : best_xy / (best_yy + 1);
  float c[3];
  for (int k = 0; k < 3; k++)
    c[k] = dot (x, x - (T + k - 1), n);
  int offset = 0;
  if (c[2] - c[0] > 0.7f * (c[1] - c[0]))
    offset = 1;
  else if (c[0] - c[2] > 0.7f * (c[1] - c[2]))
    offset = -1;
  pg = MIN (pg, g);
  *T0io = MAX (2 * T + offset, minp_full);
  return pg;
}

int
nerve_rnnoise_pitch (NerveRnnoiseAnalysis *a, const float *x)
{
  memmove (a->pitch_buf, a->pitch_buf + NERVE_RNN_HOP, sizeof (float) * (NERVE_RNN_PITCH_BUF - NERVE_RNN_HOP));
  memcpy (a->pitch_buf + NERVE_RNN_PITCH_BUF - NERVE_RNN_HOP, x, sizeof (float) * NERVE_RNN_HOP);
  float lp[NERVE_RNN_PITCH_BUF / 2];
  downsample_whiten (a->pitch_buf, NERVE_RNN_PITCH_BUF, lp);
  /* the newest 960 samples against lags up to 768 - 3*60 further back */
  int lag = search_lag (lp + NERVE_RNN_PITCH_MAX / 2, lp, NERVE_RNN_WINDOW,
                        NERVE_RNN_PITCH_MAX - 3 * NERVE_RNN_PITCH_MIN);
  int period = NERVE_RNN_PITCH_MAX - lag;
  a->last_gain = octave_check (lp, NERVE_RNN_PITCH_MAX, NERVE_RNN_PITCH_MIN, NERVE_RNN_WINDOW, &period,
                               a->last_period, a->last_gain);
  a->last_period = period;
  return period;
}

const float *
nerve_rnnoise_pitch_window (const NerveRnnoiseAnalysis *a, int period)
{
  return a->pitch_buf + NERVE_RNN_PITCH_BUF - NERVE_RNN_WINDOW - period;
}

/* ---- features ---- */

gboolean
nerve_rnnoise_features (NerveRnnoiseAnalysis *a, const float *Ex, const float *Exp, int period, float *f)
{
  const int B = NERVE_RNN_BANDS, D = 6;
  float ly[NERVE_RNN_BANDS], c[NERVE_RNN_BANDS], total = 0;
  /* log energies, floored 7 decades under the running max and decaying 1.5 per band
   * from the previous one (masking of quiet bands next to loud ones) */
  float log_max = -2, follow = -2;
  for (int b = 0; b < B; b++) {
    ly[b] = log10f (1e-2f + Ex[b]);
    ly[b] = MAX (log_max - 7, MAX (follow - 1.5f, ly[b]));
    log_max = MAX (log_max, ly[b]);
    follow = MAX (follow - 1.5f, ly[b]);
    total += Ex[b];
  }
  if (total < 0.04f) {
    memset (f, 0, sizeof (float) * NERVE_RNN_FEATURES);
    return FALSE;
  }
  nerve_rnnoise_dct (Exp, c);
  for (int i = 0; i < D; i++)
    f[B + 2 * D + i] = c[i];
  /* the offsets are double constants in the reference code: keep their rounding */
  f[B + 2 * D] = (float) ((double) f[B + 2 * D] - 1.3);
  f[B + 2 * D + 1] = (float) ((double) f[B + 2 * D + 1] - 0.9);
  f[B + 3 * D] = (float) (0.01 * (period - 300));
  nerve_rnnoise_dct (ly, f);
  f[0] -= 12;
  f[1] -= 4;
  const int M = NERVE_RNN_CEPS_MEM, pos = a->ceps_pos;
  float *c0 = a->cepstrum[pos], *c1 = a->cepstrum[(pos + M - 1) % M], *c2 = a->cepstrum[(pos + M - 2) % M];
  memcpy (c0, f, sizeof (float) * B);
  a->ceps_pos = (pos + 1) % M;
  for (int i = 0; i < D; i++) {
    f[i] = c0[i] + c1[i] + c2[i];
    f[B + i] = c0[i] - c2[i];
    f[B + D + i] = c0[i] - 2 * c1[i] + c2[i];
  }
  float variability = 0;
  for (int i = 0; i < M; i++) {
    float nearest = 1e15f;
    for (int j = 0; j < M; j++) {
      if (j == i)
        continue;
      float d = 0;
      for (int k = 0; k < B; k++) {
        float t = a->cepstrum[i][k] - a->cepstrum[j][k];
        d += t * t;
      }
      nearest = MIN (nearest, d);
    }
    variability += nearest;
  }
  f[B + 3 * D + 1] = (float) ((double) (variability / (float) M) - 2.1);
  return TRUE;
}

/* ---- pitch filter ---- */

void
nerve_rnnoise_pitch_filter (float *X, const float *P, const float *Ex, const float *Ep, const float *Exp,
                            const float *g)
{
  float r[NERVE_RNN_BANDS], norm[NERVE_RNN_BANDS], E[NERVE_RNN_BANDS], rf[NERVE_RNN_BINS];
  for (int b = 0; b < NERVE_RNN_BANDS; b++) {
    /* the share of the pitch-delayed signal that makes the band as periodic as the
     * clean speech is expected to be: none when the band is already more periodic
     * than its gain says is left of it */
    float v = 1;
    if (!(Exp[b] > g[b])) {
      float e2 = Exp[b] * Exp[b], g2 = g[b] * g[b];
      v = (float) ((double) (e2 * (1 - g2)) / (0.001 + (double) (g2 * (1 - e2))));
    }
    r[b] = sqrtf (CLAMP (v, 0.0f, 1.0f));
    r[b] *= sqrtf ((float) ((double) Ex[b] / (1e-8 + (double) Ep[b])));
  }
  nerve_rnnoise_interp_band_gain (r, rf);
  for (int k = 0; k < NERVE_RNN_BINS; k++) {
    X[2 * k] += rf[k] * P[2 * k];
    X[2 * k + 1] += rf[k] * P[2 * k + 1];
  }
  nerve_rnnoise_band_energy (X, E);
  for (int b = 0; b < NERVE_RNN_BANDS; b++)
    norm[b] = sqrtf ((float) ((double) Ex[b] / (1e-8 + (double) E[b])));
  nerve_rnnoise_interp_band_gain (norm, rf);
  for (int k = 0; k < NERVE_RNN_BINS; k++) {
    X[2 * k] *= rf[k];
    X[2 * k + 1] *= rf[k];
  }
}

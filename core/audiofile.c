/* Audio files through libsndfile (mono float in, mono WAV out) and a polyphase
 * windowed-sinc resampler.
 *
 * Resampling from `from` to `to` Hz uses the reduced ratio L/M = to/g : from/g
 * (g = gcd). Output sample j sits at input time t = j M / L; it is the input convolved
 * with a Kaiser-windowed sinc centred on t, so the filter is zero-phase and a tone keeps
 * its phase. The sinc's band edge is the lower of the two Nyquist frequencies: pass up to
 * 90 % of it, stop from 100 % of it, 80 dB Kaiser design (ripple ~1e-4). The L phases
 * (t's fractional part takes L values) are tabulated once per call, each row normalised
 * to unit DC gain. */
#include "audiofile.h"

#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "error.h"

#define MAX_CHANNELS 1024
#define MAX_RATE 10000000
#define MAX_DOWN 256 /* largest rate division nerve_resample accepts */
#define MAX_SAMPLES ((gsize) 1 << 31) /* mono samples read: 8 GiB of floats */

/* ---- reading ---- */

float *
nerve_audio_read (const char *path, int *rate, gsize *n, GError **error)
{
  g_return_val_if_fail (path && n, NULL);
  SF_INFO info = { 0 };
  SNDFILE *sf = sf_open (path, SFM_READ, &info);
  if (!sf) {
    int code = sf_error (NULL);
    g_set_error (error, NERVE_ERROR, code == SF_ERR_SYSTEM ? NERVE_ERROR_IO : NERVE_ERROR_FORMAT,
                 "%s: cannot read audio: %s", path, sf_strerror (NULL));
    return NULL;
  }
  if (info.channels < 1 || info.channels > MAX_CHANNELS || info.samplerate < 1 || info.samplerate > MAX_RATE) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT,
                 "%s: %d channels at %d Hz: expected 1 to %d channels at 1 to %d Hz", path, info.channels,
                 info.samplerate, MAX_CHANNELS, MAX_RATE);
    sf_close (sf);
    return NULL;
  }
  /* Grow with what is really read: a corrupt header's frame count never sizes an allocation. */
  const int chunk = 4096, ch = info.channels;
  float *buf = g_new (float, (gsize) chunk * ch);
  GArray *out = g_array_new (FALSE, FALSE, sizeof (float));
  GError *err = NULL;
  sf_count_t got;
  while ((got = sf_readf_float (sf, buf, chunk)) > 0) {
    if (out->len + (gsize) got > MAX_SAMPLES) {
      g_set_error (&err, NERVE_ERROR, NERVE_ERROR_NOMEM, "%s: longer than %" G_GSIZE_FORMAT " samples", path,
                   MAX_SAMPLES);
      break;
    }
    guint at = out->len;
    g_array_set_size (out, at + (guint) got);
    float *y = &g_array_index (out, float, at);
    for (sf_count_t i = 0; i < got; i++) {
      float s = 0;
      for (int c = 0; c < ch; c++)
        s += buf[i * ch + c];
      y[i] = ch == 1 ? s : s / (float) ch;
    }
  }
  g_free (buf);
  if (!err && (got < 0 || sf_error (sf) != SF_ERR_NO_ERROR))
    g_set_error (&err, NERVE_ERROR, NERVE_ERROR_FORMAT, "%s: reading audio failed: %s", path, sf_strerror (sf));
  sf_close (sf);
  if (err) {
    g_propagate_error (error, err);
    g_array_free (out, TRUE);
    return NULL;
  }
  if (rate)
    *rate = info.samplerate;
  *n = out->len;
  if (out->len == 0)
    g_array_set_size (out, 1), g_array_index (out, float, 0) = 0; /* non-NULL for an empty file */
  return (float *) g_array_free (out, FALSE);
}

float *
nerve_audio_read_at (const char *path, int rate, gsize *n, GError **error)
{
  g_return_val_if_fail (path && n, NULL);
  if (rate < 1 || rate > MAX_RATE) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "%s: cannot convert to %d Hz: expected 1 to %d Hz", path,
                 rate, MAX_RATE);
    return NULL;
  }
  int file_rate = 0;
  gsize len = 0;
  float *x = nerve_audio_read (path, &file_rate, &len, error);
  if (!x || file_rate == rate) {
    *n = len;
    return x;
  }
  if (file_rate > MAX_DOWN * rate) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_UNSUPPORTED,
                 "%s: converting %d Hz to %d Hz divides the rate by more than %d", path, file_rate, rate, MAX_DOWN);
    g_free (x);
    return NULL;
  }
  float *y = nerve_resample (x, len, file_rate, rate, n);
  g_free (x);
  return y;
}

/* ---- writing ---- */

gboolean
nerve_audio_write_wav (const char *path, const float *x, gsize n, int rate, gboolean float32, GError **error)
{
  g_return_val_if_fail (path && (x || n == 0), FALSE);
  if (rate < 1 || rate > MAX_RATE) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "%s: sample rate %d Hz: expected 1 to %d Hz", path, rate,
                 MAX_RATE);
    return FALSE;
  }
  /* write next to the target, then rename: readers never see a half-written file */
  g_autofree char *tmp = g_strdup_printf ("%s.XXXXXX", path);
  int fd = g_mkstemp (tmp);
  if (fd < 0) {
    int e = errno;
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_IO, "%s: cannot create a temporary file beside it: %s", path,
                 g_strerror (e));
    return FALSE;
  }
  close (fd);
  g_chmod (tmp, 0644);
  SF_INFO info = { .samplerate = rate, .channels = 1,
                   .format = SF_FORMAT_WAV | (float32 ? SF_FORMAT_FLOAT : SF_FORMAT_PCM_16) };
  SNDFILE *sf = sf_open (tmp, SFM_WRITE, &info);
  if (!sf) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_IO, "%s: cannot write audio: %s", path, sf_strerror (NULL));
    g_unlink (tmp);
    return FALSE;
  }
  gboolean ok = TRUE;
  if (float32) {
    ok = sf_write_float (sf, x, (sf_count_t) n) == (sf_count_t) n;
  } else {
    /* scale by 32768 to match libsndfile's reading (short / 32768), clip to the 16-bit range */
    short buf[4096];
    for (gsize i = 0; ok && i < n; i += G_N_ELEMENTS (buf)) {
      gsize k = MIN (G_N_ELEMENTS (buf), n - i);
      for (gsize j = 0; j < k; j++) {
        float v = x[i + j] * 32768.0f;
        buf[j] = (short) (v >= 32767.0f ? 32767 : v <= -32768.0f ? -32768 : isnan (v) ? 0 : lrintf (v));
      }
      ok = sf_write_short (sf, buf, (sf_count_t) k) == (sf_count_t) k;
    }
  }
  if (!ok)
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_IO, "%s: writing audio failed: %s", path, sf_strerror (sf));
  if (sf_close (sf) != 0 && ok) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_IO, "%s: writing audio failed when closing it", path);
    ok = FALSE;
  }
  if (ok && g_rename (tmp, path) != 0) {
    int e = errno;
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_IO, "%s: cannot rename %s to it: %s", path, tmp, g_strerror (e));
    ok = FALSE;
  }
  if (!ok)
    g_unlink (tmp);
  return ok;
}

/* ---- resampling ---- */

#define STOP_DB 80.0

static guint64
gcd64 (guint64 a, guint64 b)
{
  while (b) {
    guint64 t = a % b;
    a = b, b = t;
  }
  return a;
}

/* modified Bessel function of the first kind, order 0 (series) */
static double
bessel_i0 (double x)
{
  double sum = 1, term = 1, q = x * x / 4;
  for (int k = 1; k < 200 && term > 1e-17 * sum; k++) {
    term *= q / ((double) k * k);
    sum += term;
  }
  return sum;
}

typedef struct {
  double cut;  /* sinc cutoff, cycles per input sample */
  double half; /* window half-width W, input samples */
  double beta, i0beta;
  int taps;    /* 2K: inputs per output, K = ceil(W) */
} Kernel;

/* row for fractional position frac in [0,1): coef[i] multiplies x[base - K + 1 + i] */
static void
kernel_row (const Kernel *k, double frac, float *coef)
{
  int K = k->taps / 2;
  double sum = 0;
  double *tmp = g_new (double, k->taps);
  for (int i = 0; i < k->taps; i++) {
    double tau = (double) (i - K + 1) - frac, r = tau / k->half, v = 0;
    if (fabs (r) < 1) {
      double u = 2 * k->cut * tau;
      double sinc = fabs (u) < 1e-12 ? 1 : sin (G_PI * u) / (G_PI * u);
      v = 2 * k->cut * sinc * bessel_i0 (k->beta * sqrt (1 - r * r)) / k->i0beta;
    }
    tmp[i] = v, sum += v;
  }
  for (int i = 0; i < k->taps; i++)
    coef[i] = (float) (tmp[i] / sum);
  g_free (tmp);
}

static float
dot (const float *restrict a, const float *restrict b, int n)
{
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int i = 0;
  for (; i + 4 <= n; i += 4)
    s0 += a[i] * b[i], s1 += a[i + 1] * b[i + 1], s2 += a[i + 2] * b[i + 2], s3 += a[i + 3] * b[i + 3];
  for (; i < n; i++)
    s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

float *
nerve_resample (const float *x, gsize n, int from, int to, gsize *n_out)
{
  g_return_val_if_fail ((x || n == 0) && n_out && from > 0 && to > 0 && from <= MAX_DOWN * (gint64) to, NULL);
  guint64 g = gcd64 ((guint64) from, (guint64) to), L = (guint64) to / g, M = (guint64) from / g;
  gsize m = (gsize) (((guint64) n * L + M - 1) / M); /* ceil(n to / from) */
  *n_out = m;
  float *y = g_new0 (float, MAX (m, 1));
  if (n == 0)
    return y;
  if (L == 1 && M == 1) {
    memcpy (y, x, sizeof (float) * n);
    return y;
  }
  Kernel k;
  double edge = 0.5 * MIN (1.0, (double) L / (double) M); /* lower Nyquist, cycles per input sample */
  double width = 0.1 * edge;                              /* transition band 90 % .. 100 % */
  k.cut = edge - width / 2;
  k.half = (STOP_DB - 7.95) / (14.36 * width) / 2;
  k.beta = 0.1102 * (STOP_DB - 8.7);
  k.i0beta = bessel_i0 (k.beta);
  int K = (int) ceil (k.half);
  k.taps = 2 * K;

  /* One row per phase p/L. When L is large (co-prime rates such as 44101 -> 16000, or
   * 1 Hz -> 16 kHz), R rows (at most 4096) at p/R instead, plus the one at 1, and linear interpolation
   * between the two nearest: the kernel is smooth at that resolution (error ~
   * (pi 2 cut / R)^2 / 8 < 1e-7). */
  const guint64 budget = (guint64) 1 << 22; /* floats */
  gboolean exact = L <= 4096 && L * (guint64) k.taps <= budget;
  guint64 R = exact ? L : CLAMP (budget / (guint64) k.taps, 64, 4096);
  guint64 rows = exact ? R : R + 1;
  gboolean direct = m <= rows; /* a short output: its own rows are cheaper than the table */
  float *coef = g_new (float, (direct ? 1 : rows) * (guint64) k.taps);
  for (guint64 p = 0; !direct && p < rows; p++)
    kernel_row (&k, (double) p / (double) R, coef + p * k.taps);

  float *pad = g_new (float, k.taps); /* edge outputs read a zero-padded copy of their taps */
  for (gsize j = 0; j < m; j++) {
    guint64 pos = (guint64) j * M, base = pos / L, phase = pos % L;
    gint64 lo = (gint64) base - K + 1;
    const float *in = x + lo;
    if (lo < 0 || lo + k.taps > (gint64) n) {
      for (int i = 0; i < k.taps; i++) {
        gint64 at = lo + i;
        pad[i] = at >= 0 && at < (gint64) n ? x[at] : 0;
      }
      in = pad;
    }
    if (direct) {
      kernel_row (&k, (double) phase / (double) L, coef);
      y[j] = dot (coef, in, k.taps);
    } else if (exact) {
      y[j] = dot (coef + phase * k.taps, in, k.taps);
    } else {
      double u = (double) phase / (double) L * (double) R;
      guint64 r = MIN ((guint64) u, R - 1);
      float a = (float) (u - (double) r);
      y[j] = (1 - a) * dot (coef + r * k.taps, in, k.taps) + a * dot (coef + (r + 1) * k.taps, in, k.taps);
    }
  }
  g_free (pad);
  g_free (coef);
  return y;
}

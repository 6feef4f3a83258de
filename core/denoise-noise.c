/* Synthetic noise for denoise training: the stationary colours, mains hum, babble from
 * the training speech, clicks, band-limited noise with tones, and a slow random
 * amplitude modulation. Every generator draws only from the NerveRng it is given, so
 * a mixture is a function of its seed. */
#include <math.h>
#include <string.h>

#include "denoise-data.h"
#include "error.h"

static const char *const noise_names[NERVE_NOISE_N_TYPES] = {
  "white", "pink", "brown", "hum", "babble", "clicks", "tonal", "engine", "drill", "siren", "wind", "traffic", "crowd",
};

const char *
nerve_noise_type_name (NerveNoiseType t)
{
  return t < NERVE_NOISE_N_TYPES ? noise_names[t] : "unknown";
}

gboolean
nerve_noise_type_from_name (const char *name, NerveNoiseType *t, GError **error)
{
  for (int i = 0; name && i < NERVE_NOISE_N_TYPES; i++)
    if (g_str_equal (name, noise_names[i])) {
      *t = (NerveNoiseType) i;
      return TRUE;
    }
  g_autoptr (GString) all = g_string_new (NULL);
  for (int i = 0; i < NERVE_NOISE_N_TYPES; i++)
    g_string_append_printf (all, "%s%s", i ? ", " : "", noise_names[i]);
  g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "unknown synthetic noise type '%s': expected one of %s",
               name ? name : "(null)", all->str);
  return FALSE;
}

static void
white (NerveRng *r, float *x, gsize n)
{
  for (gsize i = 0; i < n; i++)
    x[i] = nerve_rng_normal (r);
}

/* Paul Kellet's refined pink filter (within 0.05 dB of -3 dB/octave above ~1/2000 of
 * the sample rate); its slowest pole needs ~1000 samples to settle, so it runs ahead. */
static void
pink (NerveRng *r, float *x, gsize n)
{
  float b[7] = { 0 };
  const gsize warm = 4096;
  for (gsize i = 0; i < n + warm; i++) {
    float w = nerve_rng_normal (r);
    b[0] = 0.99886f * b[0] + w * 0.0555179f;
    b[1] = 0.99332f * b[1] + w * 0.0750759f;
    b[2] = 0.96900f * b[2] + w * 0.1538520f;
    b[3] = 0.86650f * b[3] + w * 0.3104856f;
    b[4] = 0.55000f * b[4] + w * 0.5329522f;
    b[5] = -0.7616f * b[5] - w * 0.0168980f;
    float p = b[0] + b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + w * 0.5362f;
    b[6] = w * 0.115926f;
    if (i >= warm)
      x[i - warm] = p;
  }
}

/* Integrated white noise with a leak (corner ~rate/1250 Hz), mean removed. */
static void
brown (NerveRng *r, float *x, gsize n)
{
  float y = 0;
  const gsize warm = 2048;
  double mean = 0;
  for (gsize i = 0; i < n + warm; i++) {
    y = 0.995f * y + nerve_rng_normal (r);
    if (i >= warm) {
      x[i - warm] = y;
      mean += y;
    }
  }
  mean /= (double) MAX (n, 1);
  for (gsize i = 0; i < n; i++)
    x[i] -= (float) mean;
}

/* 50 or 60 Hz (slightly off) with harmonics up to ~4 kHz falling as k^-p; half the
 * time odd harmonics dominate (transformer buzz); a little white noise underneath. */
static void
hum (NerveRng *r, int rate, float *x, gsize n)
{
  double f0 = (nerve_rng_u32 (r) & 1 ? 50.0 : 60.0) + nerve_draw_uniform (r, -0.3f, 0.3f);
  float p = nerve_draw_uniform (r, 0.3f, 2.0f);
  gboolean odd = nerve_rng_u32 (r) & 1;
  int K = (int) (MIN (4000.0, 0.45 * rate) / f0);
  float amp[96], phase[96];
  K = MIN (K, 96);
  for (int k = 1; k <= K; k++) {
    amp[k - 1] = powf ((float) k, -p) * nerve_draw_uniform (r, 0.3f, 1.0f) * (odd && k % 2 == 0 ? 0.2f : 1.0f);
    phase[k - 1] = nerve_draw_uniform (r, 0, 6.2831853f);
  }
  float floor_level = nerve_draw_log_uniform (r, 0.001f, 0.05f);
  memset (x, 0, n * sizeof *x);
  for (int k = 1; k <= K; k++) {
    double w = 2 * G_PI * f0 * k / rate;
    /* the recurrence sin((i+1)w) = 2cos(w) sin(iw) - sin((i-1)w), exact enough here */
    double c2 = 2 * cos (w), s1 = sin (phase[k - 1] - w), s0 = sin (phase[k - 1]);
    for (gsize i = 0; i < n; i++) {
      x[i] += amp[k - 1] * (float) s0;
      double s = c2 * s0 - s1;
      s1 = s0;
      s0 = s;
    }
  }
  nerve_normalize_rms (x, n);
  for (gsize i = 0; i < n; i++)
    x[i] += floor_level * nerve_rng_normal (r);
}

/* 4-8 talkers, each a run of random speech clips from a random point, at levels
 * within +-3 dB of each other. */
static void
babble (NerveRng *r, const NerveClipSet *speech, float *x, gsize n, float *tmp)
{
  memset (x, 0, n * sizeof *x);
  int talkers = 4 + (int) nerve_rng_below (r, 5);
  for (int t = 0; t < talkers; t++) {
    gsize pos = 0;
    gboolean first = TRUE;
    while (pos < n) {
      int c = (int) nerve_rng_below (r, (guint32) speech->n);
      gsize len = speech->len[c], off = first ? nerve_rng_below (r, (guint32) MIN (len, G_MAXUINT32)) : 0;
      gsize take = MIN (len - off, n - pos);
      memcpy (tmp + pos, speech->x[c] + off, take * sizeof *tmp);
      pos += take;
      first = FALSE;
    }
    nerve_normalize_rms (tmp, n);
    float g = powf (10.0f, nerve_draw_uniform (r, -3, 3) / 20);
    for (gsize i = 0; i < n; i++)
      x[i] += g * tmp[i];
  }
}

/* Poisson clicks (1-30 per second): exponentially decaying bursts of noise or of a
 * damped 1-5 kHz ring, 0.3-5 ms time constants, random amplitudes. */
static void
clicks (NerveRng *r, int rate, float *x, gsize n)
{
  memset (x, 0, n * sizeof *x);
  float per_s = nerve_draw_log_uniform (r, 1, 30);
  double t = 0;
  for (;;) {
    t += -log (1.0 - nerve_rng_uniform (r)) / per_s; /* exponential gaps */
    gsize at = (gsize) (t * rate);
    if (at >= n)
      break;
    float a = nerve_draw_uniform (r, 0.2f, 1.0f) * (nerve_rng_u32 (r) & 1 ? 1 : -1);
    float tau = nerve_draw_log_uniform (r, 0.0003f, 0.005f) * rate, decay = expf (-1 / tau);
    gboolean ring = nerve_rng_u32 (r) & 1;
    double w = 2 * G_PI * nerve_draw_uniform (r, 1000, MIN (5000, 0.45f * rate)) / rate;
    gsize len = MIN ((gsize) (6 * tau) + 1, n - at);
    float env = a;
    for (gsize i = 0; i < len; i++, env *= decay)
      x[at + i] += env * (ring ? (float) sin (w * (double) i) : nerve_rng_normal (r));
  }
  if (per_s > 0) {
    /* a faint floor so a segment without clicks is not digital silence */
    for (gsize i = 0; i < n; i++)
      x[i] += 1e-3f * nerve_rng_normal (r);
  }
}

/* White noise through an RBJ band-pass biquad (centre 100 Hz..6 kHz, Q 0.5-8), plus
 * up to three tones drifting slowly by up to 1 % (fans, whine). */
static void
tonal (NerveRng *r, int rate, float *x, gsize n)
{
  double fc = nerve_draw_log_uniform (r, 100, MIN (6000, 0.4f * rate)), q = nerve_draw_log_uniform (r, 0.5f, 8);
  double w0 = 2 * G_PI * fc / rate, alpha = sin (w0) / (2 * q), a0 = 1 + alpha;
  double b0 = alpha / a0, b2 = -alpha / a0, a1 = -2 * cos (w0) / a0, a2 = (1 - alpha) / a0;
  double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
  for (gsize i = 0; i < n + 512; i++) {
    double in = nerve_rng_normal (r), y = b0 * in + b2 * x2 - a1 * y1 - a2 * y2;
    x2 = x1, x1 = in, y2 = y1, y1 = y;
    if (i >= 512)
      x[i - 512] = (float) y;
  }
  nerve_normalize_rms (x, n);
  int tones = (int) nerve_rng_below (r, 4);
  for (int k = 0; k < tones; k++) {
    double f = nerve_draw_log_uniform (r, 150, MIN (4000, 0.4f * rate)), depth = nerve_draw_uniform (r, 0, 0.01f) * f;
    double vib = nerve_draw_log_uniform (r, 0.1f, 1), ph = 0, a = nerve_draw_log_uniform (r, 0.3f, 3) * G_SQRT2;
    double vph = nerve_draw_uniform (r, 0, 6.2831853f);
    for (gsize i = 0; i < n; i++) {
      ph += 2 * G_PI * (f + depth * sin (vph + 2 * G_PI * vib * (double) i / rate)) / rate;
      x[i] += (float) (a * sin (ph));
    }
  }
}

void
nerve_noise_synth (NerveNoiseType t, NerveRng *r, int rate, const NerveClipSet *speech, float *x, gsize n)
{
  nerve_noise_synth_talkers (t, r, rate, speech, NULL, 0, x, n);
}

void
nerve_noise_synth_talkers (NerveNoiseType t, NerveRng *r, int rate, const NerveClipSet *speech, const int *talkers,
                           int n_talkers, float *x, gsize n)
{
  g_return_if_fail (x || !n);
  if (t >= NERVE_NOISE_ENGINE && t < NERVE_NOISE_N_TYPES) {
    nerve_noise_synth_urban (t, r, rate, speech, talkers, n_talkers, x, n);
    return;
  }
  switch (t) {
  case NERVE_NOISE_PINK:
    pink (r, x, n);
    break;
  case NERVE_NOISE_BROWN:
    brown (r, x, n);
    break;
  case NERVE_NOISE_HUM:
    hum (r, rate, x, n);
    break;
  case NERVE_NOISE_BABBLE:
    if (speech && speech->n > 0) {
      float *tmp = g_new (float, MAX (n, 1));
      babble (r, speech, x, n, tmp);
      g_free (tmp);
    } else {
      white (r, x, n);
    }
    break;
  case NERVE_NOISE_CLICKS:
    clicks (r, rate, x, n);
    break;
  case NERVE_NOISE_TONAL:
    tonal (r, rate, x, n);
    break;
  default:
    white (r, x, n);
    break;
  }
  nerve_normalize_rms (x, n);
}

void
nerve_noise_modulate (NerveRng *r, int rate, float depth_db, float *x, gsize n)
{
  double f[3], ph[3], a[3], sum = 0;
  for (int k = 0; k < 3; k++) {
    f[k] = nerve_draw_log_uniform (r, 0.05f, 2) / rate;
    ph[k] = nerve_draw_uniform (r, 0, 6.2831853f);
    a[k] = nerve_draw_uniform (r, 0.2f, 1);
    sum += a[k];
  }
  /* gain in dB = depth/2 * s(t), s in [-1, 1] */
  double scale = depth_db / 2 / sum * G_LN10 / 20;
  for (gsize i = 0; i < n; i++) {
    double s = 0;
    for (int k = 0; k < 3; k++)
      s += a[k] * sin (ph[k] + 2 * G_PI * f[k] * (double) i);
    x[i] *= (float) exp (scale * s);
  }
}

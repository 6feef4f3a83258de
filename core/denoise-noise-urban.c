/* Synthetic urban-like noise and noise-clip augmentation for denoise training. The
 * evaluation's street noise (UrbanSound8K: engines, drills, jackhammers, sirens, air
 * conditioners, traffic, children, dogs, music) is CC BY-NC and never trained on; these
 * generators imitate the *kinds* of sound instead (harmonic rumble with jitter,
 * periodic broadband impulses, swept tones, slowly modulated filtered noise, passing
 * vehicles, crowds), and the augmentations (equaliser, speed/pitch, reversal) widen what
 * the few redistributable noise clips sound like. Like denoise-noise.c, everything draws
 * only from the NerveRng it is given. */
#include <math.h>
#include <string.h>

#include "denoise-data.h"

/* ---- RBJ biquads (Audio EQ Cookbook), run in double ---- */

typedef enum { BQ_LOWPASS, BQ_HIGHPASS, BQ_BANDPASS, BQ_PEAK, BQ_LOWSHELF, BQ_HIGHSHELF } BqType;

typedef struct {
  double b0, b1, b2, a1, a2;
} Biquad;

static Biquad
biquad (BqType type, double f, double q, double gain_db, int rate)
{
  f = CLAMP (f, 10.0, 0.45 * rate);
  double A = pow (10, gain_db / 40), w = 2 * G_PI * f / rate, cw = cos (w), alpha = sin (w) / (2 * q);
  double b0 = 1, b1 = 0, b2 = 0, a0 = 1, a1 = 0, a2 = 0, sa = 2 * sqrt (A) * alpha;
  switch (type) {
  case BQ_LOWPASS:
    b0 = (1 - cw) / 2, b1 = 1 - cw, b2 = (1 - cw) / 2, a0 = 1 + alpha, a1 = -2 * cw, a2 = 1 - alpha;
    break;
  case BQ_HIGHPASS:
    b0 = (1 + cw) / 2, b1 = -(1 + cw), b2 = (1 + cw) / 2, a0 = 1 + alpha, a1 = -2 * cw, a2 = 1 - alpha;
    break;
  case BQ_BANDPASS: /* 0 dB peak gain */
    b0 = alpha, b1 = 0, b2 = -alpha, a0 = 1 + alpha, a1 = -2 * cw, a2 = 1 - alpha;
    break;
  case BQ_PEAK:
    b0 = 1 + alpha * A, b1 = -2 * cw, b2 = 1 - alpha * A, a0 = 1 + alpha / A, a1 = -2 * cw, a2 = 1 - alpha / A;
    break;
  case BQ_LOWSHELF:
    b0 = A * ((A + 1) - (A - 1) * cw + sa), b1 = 2 * A * ((A - 1) - (A + 1) * cw), b2 = A * ((A + 1) - (A - 1) * cw - sa);
    a0 = (A + 1) + (A - 1) * cw + sa, a1 = -2 * ((A - 1) + (A + 1) * cw), a2 = (A + 1) + (A - 1) * cw - sa;
    break;
  case BQ_HIGHSHELF:
    b0 = A * ((A + 1) + (A - 1) * cw + sa), b1 = -2 * A * ((A - 1) + (A + 1) * cw), b2 = A * ((A + 1) + (A - 1) * cw - sa);
    a0 = (A + 1) - (A - 1) * cw + sa, a1 = 2 * ((A - 1) - (A + 1) * cw), a2 = (A + 1) - (A - 1) * cw - sa;
    break;
  }
  return (Biquad) { b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0 };
}

/* In place, from rest; the first `warm` samples (run again afterwards) settle the state
 * so a low, sharp filter does not start with a transient. */
static void
biquad_run (const Biquad *b, float *x, gsize n)
{
  double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
  gsize warm = MIN (n, (gsize) 1024);
  for (gsize i = 0; i < warm; i++) { /* backwards over the start: same spectrum, no onset */
    double in = x[warm - 1 - i], y = b->b0 * in + b->b1 * x1 + b->b2 * x2 - b->a1 * y1 - b->a2 * y2;
    x2 = x1, x1 = in, y2 = y1, y1 = y;
  }
  /* the state now holds the mirrored start: ..., x[1], x[0] | x[0], x[1], ... */
  for (gsize i = 0; i < n; i++) {
    double in = x[i], y = b->b0 * in + b->b1 * x1 + b->b2 * x2 - b->a1 * y1 - b->a2 * y2;
    x2 = x1, x1 = in, y2 = y1, y1 = y;
    x[i] = (float) y;
  }
}

void
nerve_noise_random_eq (NerveRng *r, int rate, float *x, gsize n)
{
  int sections = 1 + (int) nerve_rng_below (r, 3);
  float top = MIN (6000.0f, 0.42f * (float) rate);
  for (int s = 0; s < sections; s++) {
    Biquad b;
    switch (nerve_rng_below (r, 6)) {
    case 0:
      b = biquad (BQ_PEAK, nerve_draw_log_uniform (r, 60, top), nerve_draw_log_uniform (r, 0.5f, 3), nerve_draw_uniform (r, -12, 12), rate);
      break;
    case 1:
      b = biquad (BQ_LOWSHELF, nerve_draw_log_uniform (r, 60, 500), 0.707, nerve_draw_uniform (r, -12, 12), rate);
      break;
    case 2:
      b = biquad (BQ_HIGHSHELF, nerve_draw_log_uniform (r, 1500, top), 0.707, nerve_draw_uniform (r, -12, 12), rate);
      break;
    case 3:
      b = biquad (BQ_LOWPASS, nerve_draw_log_uniform (r, 1000, top), nerve_draw_log_uniform (r, 0.5f, 1.2f), 0, rate);
      break;
    case 4:
      b = biquad (BQ_HIGHPASS, nerve_draw_log_uniform (r, 50, 500), nerve_draw_log_uniform (r, 0.5f, 1.2f), 0, rate);
      break;
    default:
      b = biquad (BQ_BANDPASS, nerve_draw_log_uniform (r, 200, MIN (4000.0f, top)), nerve_draw_log_uniform (r, 0.4f, 1.5f), 0, rate);
      break;
    }
    biquad_run (&b, x, n);
  }
  nerve_normalize_rms (x, n);
}

/* ---- resampled crops ---- */

void
nerve_noise_resample_crop (const float *src, gsize len, double off, double speed, gboolean reverse, float *x, gsize n)
{
  g_return_if_fail (len > 0 && speed > 0);
  for (gsize i = 0; i < n; i++) {
    double p = fmod (off + (double) i * speed, (double) len);
    gsize k = (gsize) p;
    double f = p - (double) k;
    /* Catmull-Rom through the four neighbours (looping) */
    double y0 = src[(k + len - 1) % len], y1 = src[k], y2 = src[(k + 1) % len], y3 = src[(k + 2) % len];
    double v = y1 + 0.5 * f * (y2 - y0 + f * (2 * y0 - 5 * y1 + 4 * y2 - y3 + f * (3 * (y1 - y2) + y3 - y0)));
    x[reverse ? n - 1 - i : i] = (float) v;
  }
}

/* ---- generators ---- */

/* Adds a * h[0..hn) at sample `at` (clipped to n). */
static void
add_at (float *x, gsize n, gssize at, const float *h, gsize hn, float a)
{
  for (gsize i = 0; i < hn; i++) {
    gssize k = at + (gssize) i;
    if (k >= (gssize) n)
      break;
    if (k >= 0)
      x[k] += a * h[i];
  }
}

/* A damped resonance mix plus a noise burst: one "event" of a mechanical source. */
static gsize
resonant_pulse (NerveRng *r, int rate, float *h, gsize cap, int modes, float f_lo, float f_hi, float tau_lo,
                float tau_hi, float burst)
{
  float f[4], tau[4], amp[4], tmax = 0;
  modes = MIN (modes, 4);
  for (int m = 0; m < modes; m++) {
    f[m] = nerve_draw_log_uniform (r, f_lo, MIN (f_hi, 0.45f * (float) rate));
    tau[m] = nerve_draw_log_uniform (r, tau_lo, tau_hi);
    amp[m] = nerve_draw_uniform (r, 0.3f, 1);
    tmax = MAX (tmax, tau[m]);
  }
  float btau = nerve_draw_log_uniform (r, 0.0005f, 0.004f);
  gsize hn = MIN (cap, (gsize) (5 * MAX (tmax, btau) * (float) rate) + 1);
  for (gsize i = 0; i < hn; i++) {
    double t = (double) i / rate, v = burst * exp (-t / btau) * nerve_rng_normal (r);
    for (int m = 0; m < modes; m++)
      v += amp[m] * exp (-t / tau[m]) * sin (2 * G_PI * f[m] * t);
    h[i] = (float) v;
  }
  return hn;
}

/* Idling engine: a firing pulse train (jittered period, per-cylinder strength, slow rpm
 * drift) through a few body resonances, over low rumble. */
static void
engine (NerveRng *r, int rate, float *x, gsize n, float *tmp)
{
  memset (x, 0, n * sizeof *x);
  float f0 = nerve_draw_log_uniform (r, 18, 70), jitter = nerve_draw_uniform (r, 0.005f, 0.04f), drift = nerve_draw_uniform (r, 0, 0.04f);
  float drift_hz = nerve_draw_log_uniform (r, 0.1f, 0.6f), drift_ph = nerve_draw_uniform (r, 0, 6.2831853f);
  int cylinders = 4 + 2 * (int) nerve_rng_below (r, 3);
  float cyl[8];
  for (int c = 0; c < cylinders; c++)
    cyl[c] = nerve_draw_uniform (r, 0.7f, 1.3f);
  gsize cap = (gsize) rate / 8;
  float *h = g_new (float, cap);
  gsize hn = resonant_pulse (r, rate, h, cap, 3, 60, 900, 0.003f, 0.025f, nerve_draw_uniform (r, 0.1f, 0.6f));
  double t = -(double) hn / rate; /* start early so the segment does not open on silence */
  for (int c = 0; t * rate < (double) n; c++) {
    double f = f0 * (1 + drift * sin (drift_ph + 2 * G_PI * drift_hz * t));
    float a = cyl[c % cylinders] * (1 + 0.15f * nerve_rng_normal (r));
    add_at (x, n, (gssize) floor (t * rate), h, hn, a);
    t += (1 + jitter * nerve_rng_normal (r)) / f;
  }
  g_free (h);
  nerve_normalize_rms (x, n);
  /* rumble: low-passed noise 15-5 dB below */
  float g = powf (10, nerve_draw_uniform (r, -15, -5) / 20);
  for (gsize i = 0; i < n; i++)
    tmp[i] = nerve_rng_normal (r);
  Biquad lp = biquad (BQ_LOWPASS, nerve_draw_log_uniform (r, 100, 400), 0.707, 0, rate);
  biquad_run (&lp, tmp, n);
  nerve_normalize_rms (tmp, n);
  for (gsize i = 0; i < n; i++)
    x[i] += g * tmp[i];
}

/* On/off gate: runs of on_lo..on_hi s separated by off_lo..off_hi s, 10 ms ramps. */
static void
gate (NerveRng *r, int rate, float *x, gsize n, float on_lo, float on_hi, float off_lo, float off_hi)
{
  gboolean on = nerve_draw_coin (r, 0.8f);
  gsize pos = 0, ramp = (gsize) (0.01 * rate) + 1;
  while (pos < n) {
    gsize len = (gsize) ((on ? nerve_draw_uniform (r, on_lo, on_hi) : nerve_draw_uniform (r, off_lo, off_hi)) * (float) rate) + 1;
    for (gsize i = 0; i < len && pos + i < n; i++) {
      float e = on ? 1 : 0.02f; /* "off": the far background, not digital silence */
      if (on && i < ramp)
        e = 0.02f + 0.98f * (float) i / (float) ramp;
      else if (on && len - i < ramp)
        e = 0.02f + 0.98f * (float) (len - i) / (float) ramp;
      x[pos + i] *= e;
    }
    pos += len;
    on = !on;
  }
}

/* Jackhammer (periodic broadband impacts with a metallic ring, pneumatic hiss) or drill
 * (motor whine with harmonics over band-limited hiss, modulated by the rotation), both
 * running in bursts. */
static void
drill (NerveRng *r, int rate, float *x, gsize n, float *hiss)
{
  memset (x, 0, n * sizeof *x);
  if (nerve_draw_coin (r, 0.5f)) {
    float rate_hz = nerve_draw_log_uniform (r, 8, 30), jitter = nerve_draw_uniform (r, 0.005f, 0.03f);
    gsize cap = (gsize) rate / 10;
    float *h = g_new (float, cap);
    gsize hn = resonant_pulse (r, rate, h, cap, 3, 800, 6000, 0.005f, 0.04f, nerve_draw_uniform (r, 1, 3));
    for (double t = -(double) hn / rate; t * rate < (double) n; t += (1 + jitter * nerve_rng_normal (r)) / rate_hz)
      add_at (x, n, (gssize) floor (t * rate), h, hn, 1 + 0.2f * nerve_rng_normal (r));
    g_free (h);
    nerve_normalize_rms (x, n);
    float floor_g = powf (10, nerve_draw_uniform (r, -25, -10) / 20);
    for (gsize i = 0; i < n; i++)
      x[i] += floor_g * nerve_rng_normal (r);
  } else {
    double f0 = nerve_draw_log_uniform (r, 150, 1200), ph = 0, rot = f0 / nerve_draw_uniform (r, 2, 8);
    float p = nerve_draw_uniform (r, 0.3f, 1.0f), depth = nerve_draw_uniform (r, 0.2f, 0.8f);
    int K = MIN (40, (int) (0.45 * rate / f0));
    double amp[40];
    for (int k = 1; k <= K; k++)
      amp[k - 1] = pow (k, -p);
    for (gsize i = 0; i < n; i++) {
      ph += 2 * G_PI * f0 / rate;
      double v = 0;
      for (int k = 1; k <= K; k++)
        v += amp[k - 1] * sin (k * ph);
      x[i] = (float) v;
    }
    nerve_normalize_rms (x, n);
    float g = powf (10, nerve_draw_uniform (r, -6, 6) / 20);
    for (gsize i = 0; i < n; i++)
      hiss[i] = nerve_rng_normal (r);
    Biquad bp = biquad (BQ_BANDPASS, nerve_draw_log_uniform (r, 1000, MIN (6000.0f, 0.4f * (float) rate)), 0.7, 0, rate);
    biquad_run (&bp, hiss, n);
    nerve_normalize_rms (hiss, n);
    for (gsize i = 0; i < n; i++)
      x[i] += g * hiss[i] * (float) (1 - depth * 0.5 * (1 + sin (2 * G_PI * rot * (double) i / rate)));
  }
  gate (r, rate, x, n, 0.5f, 3, 0.15f, 1.5f);
}

/* Siren: wail (slow sine sweep), yelp (fast sweep) or hi-lo (two alternating tones)
 * between f_lo and f_hi, odd harmonics, a slow level change (distance), distant noise. */
static void
siren (NerveRng *r, int rate, float *x, gsize n, float *tmp)
{
  int mode = (int) nerve_rng_below (r, 3);
  double lo = nerve_draw_uniform (r, 450, 900), hi = lo * nerve_draw_uniform (r, 1.4f, 2.2f);
  double period = mode == 0 ? nerve_draw_uniform (r, 2, 7) : mode == 1 ? nerve_draw_uniform (r, 0.15f, 0.5f) : nerve_draw_uniform (r, 0.8f, 1.6f);
  double ph0 = nerve_draw_uniform (r, 0, 1), ph = 0, shift = nerve_draw_uniform (r, 0.97f, 1.03f);
  float p = nerve_draw_uniform (r, 1, 2.5f), level = nerve_draw_uniform (r, -6, 6), tilt = nerve_draw_uniform (r, -6, 6);
  int K = 1;
  while ((2 * K + 1) * hi < 0.45 * rate && K < 12)
    K++;
  double amp[12];
  for (int k = 0; k < K; k++)
    amp[k] = pow (2 * k + 1, -p);
  for (gsize i = 0; i < n; i++) {
    double t = (double) i / rate, u = fmod (ph0 + t / period, 1.0), s;
    if (mode == 0)
      s = 0.5 - 0.5 * cos (2 * G_PI * u);
    else if (mode == 1)
      s = u < 0.8 ? u / 0.8 : (1 - u) / 0.2; /* up-sweep, quick return */
    else
      s = u < 0.5 ? 0 : 1;
    double f = (lo + (hi - lo) * s) * (1 + (shift - 1) * t / ((double) n / rate)); /* Doppler-ish drift */
    ph += 2 * G_PI * f / rate;
    double v = 0;
    for (int k = 0; k < K; k++) {
      int h = 2 * k + 1;
      if (h * f < 0.45 * rate)
        v += amp[k] * sin (h * ph);
    }
    x[i] = (float) (v * pow (10, (level + tilt * t / ((double) n / rate)) / 20));
  }
  nerve_normalize_rms (x, n);
  float g = powf (10, nerve_draw_uniform (r, -25, -8) / 20);
  nerve_noise_synth (NERVE_NOISE_PINK, r, rate, NULL, tmp, n);
  for (gsize i = 0; i < n; i++)
    x[i] += g * tmp[i];
}

/* Air conditioner (low-passed noise, compressor hum, faint modulation) or wind
 * (strongly low-passed noise in slow gusts). */
static void
wind (NerveRng *r, int rate, float *x, gsize n, float *tmp)
{
  gboolean ac = nerve_draw_coin (r, 0.5f);
  nerve_noise_synth (ac ? NERVE_NOISE_PINK : NERVE_NOISE_BROWN, r, rate, NULL, x, n);
  Biquad lp = biquad (BQ_LOWPASS, ac ? nerve_draw_log_uniform (r, 400, 4000) : nerve_draw_log_uniform (r, 150, 1200),
                      nerve_draw_log_uniform (r, 0.5f, 1.5f), 0, rate);
  biquad_run (&lp, x, n);
  nerve_normalize_rms (x, n);
  if (ac) {
    double f0 = nerve_draw_uniform (r, 45, 150);
    float g = powf (10, nerve_draw_uniform (r, -20, -6) / 20);
    memset (tmp, 0, n * sizeof *tmp);
    for (int k = 1; k <= 6 && k * f0 < 0.45 * rate; k++) {
      float a = powf ((float) k, -nerve_draw_uniform (r, 0.5f, 2)), ph = nerve_draw_uniform (r, 0, 6.2831853f);
      for (gsize i = 0; i < n; i++)
        tmp[i] += a * (float) sin (ph + 2 * G_PI * k * f0 * (double) i / rate);
    }
    nerve_normalize_rms (tmp, n);
    for (gsize i = 0; i < n; i++)
      x[i] += g * tmp[i];
    nerve_noise_modulate (r, rate, nerve_draw_uniform (r, 0.5f, 3), x, n);
  } else {
    nerve_noise_modulate (r, rate, nerve_draw_uniform (r, 8, 20), x, n);
  }
}

/* Traffic: distant rumble plus passing vehicles, each tyre noise (low-passed) and an
 * engine tone with a Doppler drop under a bell-shaped envelope; sometimes a horn. */
static void
traffic (NerveRng *r, int rate, float *x, gsize n, float *tmp)
{
  nerve_noise_synth (NERVE_NOISE_BROWN, r, rate, NULL, x, n);
  Biquad lp = biquad (BQ_LOWPASS, nerve_draw_log_uniform (r, 200, 800), 0.707, 0, rate);
  biquad_run (&lp, x, n);
  nerve_normalize_rms (x, n);
  double dur = (double) n / rate, per_s = nerve_draw_log_uniform (r, 0.3f, 2);
  for (double t0 = -2 + -log (1 - nerve_rng_uniform (r)) / per_s; t0 < dur + 2;
       t0 += -log (1 - nerve_rng_uniform (r)) / per_s) {
    double w = nerve_draw_uniform (r, 0.4f, 2.5f), f0 = nerve_draw_uniform (r, 40, 120), ph = 0;
    float peak = nerve_draw_log_uniform (r, 1, 8), tone = nerve_draw_uniform (r, 0, 0.5f);
    gssize a = MAX ((gssize) 0, (gssize) ((t0 - 8 * w) * rate)), b = MIN ((gssize) n, (gssize) ((t0 + 8 * w) * rate));
    if (a >= b)
      continue;
    gsize len = (gsize) (b - a);
    for (gsize i = 0; i < len; i++)
      tmp[i] = nerve_rng_normal (r);
    Biquad lp2 = biquad (BQ_LOWPASS, nerve_draw_log_uniform (r, 300, 1200), 0.707, 0, rate);
    biquad_run (&lp2, tmp, len);
    for (gsize i = 0; i < len; i++) {
      double t = (double) (a + (gssize) i) / rate, u = (t - t0) / w, env = 1 / (1 + u * u);
      double f = f0 * (1 - 0.04 * tanh (u));
      ph += 2 * G_PI * f / rate;
      double eng = sin (ph) + 0.5 * sin (2 * ph) + 0.3 * sin (3 * ph);
      x[a + (gssize) i] += (float) (peak * env * (tmp[i] * 3 + tone * eng));
    }
  }
  if (nerve_draw_coin (r, 0.2f)) { /* a horn: two detuned square-ish tones */
    double f1 = nerve_draw_uniform (r, 350, 500), f2 = f1 * nerve_draw_uniform (r, 1.2f, 1.35f), len = nerve_draw_uniform (r, 0.2f, 1);
    gsize at = nerve_rng_below (r, (guint32) n), hn = MIN (n - at, (gsize) (len * rate));
    float a = nerve_draw_log_uniform (r, 1, 4);
    for (gsize i = 0; i < hn; i++) {
      double t = (double) i / rate, v = 0;
      for (int k = 1; k <= 9 && k * f2 < 0.45 * rate; k += 2)
        v += (sin (2 * G_PI * k * f1 * t) + sin (2 * G_PI * k * f2 * t)) / k;
      x[at + i] += (float) (a * v * MIN (1.0, MIN (t, (double) (hn - i) / rate) / 0.01));
    }
  }
}

/* Crowd: 10-30 talkers from the given clips, each a run of clips played at a speed of
 * 0.9-1.4 (higher for children), within +-4 dB of each other. */
static void
crowd (NerveRng *r, const NerveClipSet *speech, const int *talkers, int n_talkers, float *x, gsize n, float *tmp)
{
  memset (x, 0, n * sizeof *x);
  int count = 10 + (int) nerve_rng_below (r, 21);
  for (int t = 0; t < count; t++) {
    double speed = nerve_draw_log_uniform (r, 0.9f, 1.4f);
    gsize pos = 0;
    gboolean first = TRUE;
    while (pos < n) {
      int pick = (int) nerve_rng_below (r, (guint32) (talkers ? n_talkers : speech->n));
      int c = talkers ? talkers[pick] : pick;
      gsize len = speech->len[c];
      double off = first ? (double) nerve_rng_below (r, (guint32) MIN (len, G_MAXUINT32)) : 0;
      gsize avail = (gsize) MAX (0.0, ((double) len - off - 2) / speed), take = MIN (avail, n - pos);
      first = FALSE;
      if (take == 0)
        continue;
      nerve_noise_resample_crop (speech->x[c], len, off, speed, FALSE, tmp + pos, take);
      pos += take;
    }
    nerve_normalize_rms (tmp, n);
    float g = powf (10.0f, nerve_draw_uniform (r, -4, 4) / 20);
    for (gsize i = 0; i < n; i++)
      x[i] += g * tmp[i];
  }
}

void
nerve_noise_synth_urban (NerveNoiseType t, NerveRng *r, int rate, const NerveClipSet *speech, const int *talkers,
                         int n_talkers, float *x, gsize n)
{
  float *tmp = g_new (float, MAX (n, 1));
  switch (t) {
  case NERVE_NOISE_ENGINE:
    engine (r, rate, x, n, tmp);
    break;
  case NERVE_NOISE_DRILL:
    drill (r, rate, x, n, tmp);
    break;
  case NERVE_NOISE_SIREN:
    siren (r, rate, x, n, tmp);
    break;
  case NERVE_NOISE_WIND:
    wind (r, rate, x, n, tmp);
    break;
  case NERVE_NOISE_TRAFFIC:
    traffic (r, rate, x, n, tmp);
    break;
  case NERVE_NOISE_CROWD:
    if (speech && speech->n > 0 && (!talkers || n_talkers > 0))
      crowd (r, speech, talkers, n_talkers, x, n, tmp);
    else
      nerve_noise_synth (NERVE_NOISE_WHITE, r, rate, NULL, x, n);
    break;
  default:
    g_return_if_reached ();
  }
  g_free (tmp);
  nerve_normalize_rms (x, n);
}

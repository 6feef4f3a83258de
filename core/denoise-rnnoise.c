/* The "rnnoise" denoiser front end: RNNoise (Valin 2018) around a network imported by
 * import-rnnoise.c. Per 480-sample hop at 48 kHz: high-pass, 960-point power-
 * complementary (Vorbis) window, FFT, 22 band energies, pitch analysis and the 42
 * features (rnnoise-features.c); the network gives 22 band gains and P(voice); the
 * pitch comb filter, the gains (never falling faster than 0.6x per frame, interpolated
 * to bins) and overlap-add make the output, which trails the input by one hop.
 * Frames with almost no energy pass unchanged and do not run the network.
 *
 * nerve.rnnoise.scaling says at which level the features are computed, which matters
 * because the network sees log energies and the silence gate is absolute:
 *   "rnnoise"  as the models were trained (xiph/rnnoise, rnnoise-nu): samples in
 *              16-bit units (x32768) and a forward FFT scaled by 1/960
 *   "arnndn"   as ffmpeg's arnndn filter runs them: samples as they are (+-1) and an
 *              unscaled FFT; the features then see energies 30.7 dB lower
 * (absent = "rnnoise"). */
#include "denoise-private.h"

#include <math.h>
#include <string.h>

#include "error.h"
#include "fft.h"
#include "import-rnnoise.h"
#include "rnnoise-features.h"
#include "stream.h"

typedef struct {
  NerveFft *fft;
  NerveStream *net;
  float tscale;  /* sample units: input * tscale is what the analysis sees */
  float fscale;  /* spectrum = FFT * fscale */
  float window[NERVE_RNN_WINDOW];
  /* state */
  float hp_mem[2];
  float analysis_mem[NERVE_RNN_HOP];
  float synthesis_mem[NERVE_RNN_HOP];
  float last_g[NERVE_RNN_BANDS];
  NerveRnnoiseAnalysis an;
  /* scratch */
  float buf[NERVE_RNN_WINDOW];
  float X[2 * NERVE_RNN_BINS], P[2 * NERVE_RNN_BINS];
} Rnnoise;

static void
rnnoise_free (gpointer state)
{
  Rnnoise *s = state;
  if (!s)
    return;
  nerve_fft_free (s->fft);
  nerve_stream_free (s->net);
  g_free (s);
}

static void
rnnoise_reset (gpointer state)
{
  Rnnoise *s = state;
  memset (s->hp_mem, 0, sizeof s->hp_mem);
  memset (s->analysis_mem, 0, sizeof s->analysis_mem);
  memset (s->synthesis_mem, 0, sizeof s->synthesis_mem);
  memset (s->last_g, 0, sizeof s->last_g);
  memset (&s->an, 0, sizeof s->an);
  nerve_stream_reset (s->net);
}

static gboolean
rnnoise_init (NerveModel *m, int rate, gpointer *state, int *hop, int *latency, GError **error)
{
  if (rate != 48000) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT,
                 "the model's nerve.audio.rate is %d: RNNoise's bands and pitch range are for 48000 Hz", rate);
    return FALSE;
  }
  const char *scaling = nerve_model_get_meta (m, "nerve.rnnoise.scaling");
  if (scaling && !g_str_equal (scaling, "rnnoise") && !g_str_equal (scaling, "arnndn")) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT,
                 "the model's nerve.rnnoise.scaling is '%s': expected 'rnnoise' or 'arnndn'", scaling);
    return FALSE;
  }
  Rnnoise *s = g_new0 (Rnnoise, 1);
  gboolean ffmpeg = scaling && g_str_equal (scaling, "arnndn");
  s->tscale = ffmpeg ? 1.0f : 32768.0f;
  s->fscale = ffmpeg ? 1.0f : 1.0f / NERVE_RNN_WINDOW;
  for (int i = 0; i < NERVE_RNN_HOP; i++) {
    double w = sin (0.5 * G_PI * (i + 0.5) / NERVE_RNN_HOP);
    s->window[i] = s->window[NERVE_RNN_WINDOW - 1 - i] = (float) sin (0.5 * G_PI * w * w);
  }
  if (!(s->fft = nerve_fft_new (NERVE_RNN_WINDOW, error)) || !(s->net = nerve_stream_new (m, error))) {
    rnnoise_free (s);
    return FALSE;
  }
  if (nerve_stream_in_size (s->net) != NERVE_RNN_FEATURES || nerve_stream_out_size (s->net) != NERVE_RNN_BANDS + 1) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_SHAPE,
                 "the network takes %d and gives %d values per frame; RNNoise needs %d features in and %d band "
                 "gains + 1 voice probability out",
                 nerve_stream_in_size (s->net), nerve_stream_out_size (s->net), NERVE_RNN_FEATURES, NERVE_RNN_BANDS);
    rnnoise_free (s);
    return FALSE;
  }
  *state = s;
  *hop = NERVE_RNN_HOP;
  *latency = NERVE_RNN_HOP;
  return TRUE;
}

/* Second-order high-pass (zeros at DC, poles at 0.998): removes rumble before both
 * the analysis and the output. */
static void
highpass (float *mem, const float *in, float scale, float *out)
{
  static const float b[2] = { -2, 1 }, a[2] = { -1.99599f, 0.99600f };
  for (int i = 0; i < NERVE_RNN_HOP; i++) {
    float x = in[i] * scale, y = x + mem[0];
    mem[0] = mem[1] + (b[0] * x - a[0] * y);
    mem[1] = b[1] * x - a[1] * y;
    out[i] = y;
  }
}

/* Windowed FFT of 960 samples into a spectrum at the front end's scale. */
static void
spectrum (Rnnoise *s, const float *x, float *X)
{
  for (int i = 0; i < NERVE_RNN_WINDOW; i++)
    s->buf[i] = x[i] * s->window[i];
  nerve_fft_forward (s->fft, s->buf, X);
  if (s->fscale != 1.0f)
    for (int k = 0; k < 2 * NERVE_RNN_BINS; k++)
      X[k] *= s->fscale;
}

static void
rnnoise_process (gpointer state, const float *in, float *out, float min_gain, NerveDenoiseFrame *info)
{
  Rnnoise *s = state;
  float x[NERVE_RNN_HOP], frame[NERVE_RNN_WINDOW];
  float Ex[NERVE_RNN_BANDS], Ep[NERVE_RNN_BANDS], Exp[NERVE_RNN_BANDS], feat[NERVE_RNN_FEATURES];
  float g[NERVE_RNN_BANDS], gf[NERVE_RNN_BINS];
  highpass (s->hp_mem, in, s->tscale, x);
  /* analysis: the previous hop and this one */
  memcpy (frame, s->analysis_mem, sizeof s->analysis_mem);
  memcpy (frame + NERVE_RNN_HOP, x, sizeof x);
  memcpy (s->analysis_mem, x, sizeof x);
  spectrum (s, frame, s->X);
  nerve_rnnoise_band_energy (s->X, Ex);
  int period = nerve_rnnoise_pitch (&s->an, x);
  spectrum (s, nerve_rnnoise_pitch_window (&s->an, period), s->P);
  nerve_rnnoise_band_energy (s->P, Ep);
  nerve_rnnoise_band_corr (s->X, s->P, Exp);
  for (int b = 0; b < NERVE_RNN_BANDS; b++)
    Exp[b] = Exp[b] / sqrtf (0.001f + Ex[b] * Ep[b]);
  double total = 0, kept = 0;
  info->vad = 0;
  if (nerve_rnnoise_features (&s->an, Ex, Exp, period, feat)) {
    const float *o = nerve_stream_step (s->net, feat);
    memcpy (g, o, sizeof g);
    info->vad = fminf (fmaxf (o[NERVE_RNN_BANDS], 0.0f), 1.0f);
    nerve_rnnoise_pitch_filter (s->X, s->P, Ex, Ep, Exp, g);
    /* gains may rise at once but fall by at most 0.6x per frame (10 ms) */
    for (int b = 0; b < NERVE_RNN_BANDS; b++) {
      g[b] = MAX (g[b], 0.6f * s->last_g[b]);
      s->last_g[b] = g[b];
    }
    nerve_rnnoise_interp_band_gain (g, gf);
    for (int k = 0; k < NERVE_RNN_BINS; k++) {
      float *c = s->X + 2 * k, gain = MAX (gf[k], min_gain);
      double p = (double) c[0] * (double) c[0] + (double) c[1] * (double) c[1];
      total += p;
      kept += p * (double) (gain * gain);
      c[0] *= gain;
      c[1] *= gain;
    }
  } else { /* silent: passes unchanged */
    for (int k = 0; k < 2 * NERVE_RNN_BINS; k++)
      total += (double) s->X[k] * (double) s->X[k];
    kept = total;
  }
  /* speech estimate = kept energy, noise estimate = what was removed */
  info->snr_db = (float) (10.0 * log10 ((kept + 1e-12) / (total - kept + 1e-12)));
  /* synthesis: inverse FFT back to input units, window, overlap-add */
  nerve_fft_inverse (s->fft, s->X, s->buf);
  const float unscale = 1.0f / (s->fscale * s->tscale);
  for (int i = 0; i < NERVE_RNN_WINDOW; i++)
    s->buf[i] *= s->window[i];
  for (int i = 0; i < NERVE_RNN_HOP; i++)
    out[i] = (s->buf[i] + s->synthesis_mem[i]) * unscale;
  memcpy (s->synthesis_mem, s->buf + NERVE_RNN_HOP, sizeof s->synthesis_mem);
}

const NerveDenoiseFrontend nerve_denoise_rnnoise_frontend = {
  .name = "rnnoise",
  .init = rnnoise_init,
  .reset = rnnoise_reset,
  .process = rnnoise_process,
  .free = rnnoise_free,
};

/* Nerve's own denoiser front end ("mask"): STFT -> log-power features -> network ->
 * per-bin gains on the noisy spectrum -> overlap-add (denoise.h lists the keys). */
#include "denoise-private.h"

#include <math.h>
#include <string.h>

#include "error.h"
#include "stft.h"
#include "stream.h"

typedef struct {
  NerveStft *stft;
  NerveStream *net;
  int bins;
  gboolean vad; /* the network's last output is P(voice) */
  float *spec;  /* [2*bins] */
  float *feat;  /* [bins] */
} Mask;

void
nerve_denoise_mask_features (const float *spec, int bins, float *feat)
{
  for (int k = 0; k < bins; k++)
    feat[k] = log10f (spec[2 * k] * spec[2 * k] + spec[2 * k + 1] * spec[2 * k + 1] + 1e-10f);
}

static void
mask_free (gpointer state)
{
  Mask *s = state;
  if (!s)
    return;
  nerve_stft_free (s->stft);
  nerve_stream_free (s->net);
  g_free (s->spec);
  g_free (s->feat);
  g_free (s);
}

static gboolean
mask_init (NerveModel *m, int rate, gpointer *state, int *hop, int *latency, GError **error)
{
  (void) rate;
  int size, h;
  NerveWindowType window;
  const char *wname = nerve_model_get_meta (m, "nerve.stft.window");
  if (!nerve_denoise_meta_int (m, "nerve.stft.size", 16, 16384, &size, error) ||
      !nerve_denoise_meta_int (m, "nerve.stft.hop", 1, size, &h, error))
    return FALSE;
  if (!wname) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT, "the model has no nerve.stft.window");
    return FALSE;
  }
  if (!nerve_window_from_name (wname, &window, error))
    return FALSE;
  Mask *s = g_new0 (Mask, 1);
  const char *vad = nerve_model_get_meta (m, "nerve.denoise.vad");
  s->vad = vad && g_str_equal (vad, "1");
  if (!(s->stft = nerve_stft_new (size, h, window, window, error)) || !(s->net = nerve_stream_new (m, error))) {
    mask_free (s);
    return FALSE;
  }
  s->bins = nerve_stft_bins (s->stft);
  int want_out = s->bins + (s->vad ? 1 : 0);
  if (nerve_stream_in_size (s->net) != s->bins || nerve_stream_out_size (s->net) != want_out) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_SHAPE,
                 "the network takes %d and gives %d values per frame; a %d-point STFT needs %d in and %d out%s",
                 nerve_stream_in_size (s->net), nerve_stream_out_size (s->net), size, s->bins, want_out,
                 s->vad ? " (gains + voice probability)" : "");
    mask_free (s);
    return FALSE;
  }
  s->spec = g_new0 (float, 2 * s->bins);
  s->feat = g_new0 (float, s->bins);
  *state = s;
  *hop = h;
  *latency = nerve_stft_latency (s->stft);
  return TRUE;
}

static void
mask_reset (gpointer state)
{
  Mask *s = state;
  nerve_stft_reset (s->stft);
  nerve_stream_reset (s->net);
}

static void
mask_process (gpointer state, const float *in, float *out, float min_gain, NerveDenoiseFrame *info)
{
  Mask *s = state;
  nerve_stft_analyze (s->stft, in, s->spec);
  nerve_denoise_mask_features (s->spec, s->bins, s->feat);
  const float *g = nerve_stream_step (s->net, s->feat);
  double kept = 0, total = 0, gsum = 0;
  for (int k = 0; k < s->bins; k++) {
    float gain = fminf (fmaxf (g[k], min_gain), 1.0f);
    float *c = s->spec + 2 * k;
    double p = (double) c[0] * (double) c[0] + (double) c[1] * (double) c[1];
    total += p;
    kept += p * (double) (gain * gain);
    gsum += (double) gain;
    c[0] *= gain;
    c[1] *= gain;
  }
  nerve_stft_synthesize (s->stft, s->spec, out);
  /* speech estimate = kept energy, noise estimate = what was removed */
  info->snr_db = (float) (10.0 * log10 ((kept + 1e-12) / (total - kept + 1e-12)));
  info->vad = s->vad ? fminf (fmaxf (g[s->bins], 0.0f), 1.0f) : (float) (gsum / s->bins);
}

const NerveDenoiseFrontend nerve_denoise_mask_frontend = {
  .name = "mask",
  .init = mask_init,
  .reset = mask_reset,
  .process = mask_process,
  .free = mask_free,
};

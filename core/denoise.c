/* The denoiser framework (denoise.h): picks the front end named by the model, and does
 * what every front end shares: input sanitising, the delay-aligned dry path for `mix`,
 * VAD muting, and whole-signal alignment. */
#include "denoise-private.h"

#include <math.h>
#include <string.h>

#include "error.h"

/* Front ends by nerve.denoise.frontend. */
static const NerveDenoiseFrontend *const frontends[] = {
  &nerve_denoise_mask_frontend,
  &nerve_denoise_rnnoise_frontend,
  &nerve_denoise_dtln_frontend,
};

struct _NerveDenoiser {
  NerveModel *model;
  const NerveDenoiseFrontend *fe;
  gpointer state;
  int rate, hop, latency;
  float min_gain;      /* from attenuation-limit; 0 = none */
  float wet;           /* mix */
  float vad_threshold; /* 0 = off */
  float mute;          /* current VAD mute gain, ramped per hop */
  float *in;           /* [hop] sanitised input */
  float *dry;          /* [latency + hop] delay line: dry[0..hop) is aligned with the output */
};

gboolean
nerve_denoise_meta_int (NerveModel *m, const char *key, int min, int max, int *out, GError **error)
{
  const char *v = nerve_model_get_meta (m, key);
  char *end = NULL;
  gint64 x = v ? g_ascii_strtoll (v, &end, 10) : 0;
  if (!v || !*v || *end || x < min || x > max) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT, "the model's %s is '%s': expected an integer in %d..%d",
                 key, v ? v : "(missing)", min, max);
    return FALSE;
  }
  *out = (int) x;
  return TRUE;
}

NerveDenoiser *
nerve_denoiser_new (NerveModel *m, GError **error)
{
  g_return_val_if_fail (m != NULL, NULL);
  const char *task = nerve_model_get_meta (m, "nerve.task");
  if (!task || !g_str_equal (task, "denoise")) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT, "the model's task is '%s', not denoise",
                 task ? task : "(none)");
    return NULL;
  }
  const char *name = nerve_model_get_meta (m, "nerve.denoise.frontend");
  const NerveDenoiseFrontend *fe = NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (frontends); i++)
    if (name && g_str_equal (name, frontends[i]->name))
      fe = frontends[i];
  if (!fe) {
    g_autoptr (GString) known = g_string_new (NULL);
    for (gsize i = 0; i < G_N_ELEMENTS (frontends); i++)
      g_string_append_printf (known, "%s%s", i ? ", " : "", frontends[i]->name);
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_UNSUPPORTED,
                 "the model's nerve.denoise.frontend is '%s': this build knows %s", name ? name : "(missing)",
                 known->str);
    return NULL;
  }
  int rate;
  if (!nerve_denoise_meta_int (m, "nerve.audio.rate", 8000, 192000, &rate, error))
    return NULL;
  g_autoptr (NerveDenoiser) d = g_new0 (NerveDenoiser, 1);
  d->model = nerve_model_ref (m);
  d->rate = rate;
  d->wet = 1.0f;
  d->mute = 1.0f;
  if (!fe->init (m, rate, &d->state, &d->hop, &d->latency, error))
    return NULL;
  d->fe = fe; /* only now: free() calls fe->free on d->state */
  g_assert (d->hop > 0 && d->latency >= 0);
  d->in = g_new0 (float, d->hop);
  d->dry = g_new0 (float, d->latency + d->hop);
  return g_steal_pointer (&d);
}

void
nerve_denoiser_free (NerveDenoiser *d)
{
  if (!d)
    return;
  if (d->fe)
    d->fe->free (d->state);
  g_clear_pointer (&d->model, nerve_model_unref);
  g_free (d->in);
  g_free (d->dry);
  g_free (d);
}

int nerve_denoiser_rate (const NerveDenoiser *d) { return d->rate; }
int nerve_denoiser_hop (const NerveDenoiser *d) { return d->hop; }
int nerve_denoiser_latency (const NerveDenoiser *d) { return d->latency; }
const char *nerve_denoiser_frontend (const NerveDenoiser *d) { return d->fe->name; }
NerveModel *nerve_denoiser_model (const NerveDenoiser *d) { return d->model; }

void
nerve_denoiser_set_attenuation_limit (NerveDenoiser *d, float db)
{
  d->min_gain = (isfinite (db) && db < 1000.0f) ? powf (10.0f, -fmaxf (db, 0.0f) / 20.0f) : 0.0f;
}

void
nerve_denoiser_set_mix (NerveDenoiser *d, float wet)
{
  d->wet = isfinite (wet) ? fminf (fmaxf (wet, 0.0f), 1.0f) : 1.0f;
}

void
nerve_denoiser_set_vad_threshold (NerveDenoiser *d, float threshold)
{
  d->vad_threshold = isfinite (threshold) ? fminf (fmaxf (threshold, 0.0f), 1.0f) : 0.0f;
}

void
nerve_denoiser_reset (NerveDenoiser *d)
{
  d->fe->reset (d->state);
  memset (d->dry, 0, sizeof (float) * (gsize) (d->latency + d->hop));
  d->mute = 1.0f;
}

static double
energy (const float *x, int n)
{
  double e = 0;
  for (int i = 0; i < n; i++)
    e += (double) x[i] * (double) x[i];
  return e;
}

void
nerve_denoiser_process (NerveDenoiser *d, const float *in, float *out, NerveDenoiseFrame *info)
{
  NerveDenoiseFrame local = { 0 };
  if (!info)
    info = &local;
  const int hop = d->hop, lat = d->latency;
  for (int i = 0; i < hop; i++)
    d->in[i] = isfinite (in[i]) ? fminf (fmaxf (in[i], -8.0f), 8.0f) : 0.0f;
  /* dry path: the delay line's head is the input sample aligned with this output */
  memcpy (d->dry + lat, d->in, sizeof (float) * (gsize) hop);
  d->fe->process (d->state, d->in, out, d->min_gain, info);
  for (int i = 0; i < hop; i++)
    if (!isfinite (out[i])) { /* cannot happen with finite input and weights; never pass it on */
      d->fe->reset (d->state);
      memset (out, 0, sizeof (float) * (gsize) hop);
      break;
    }
  const float *dry = d->dry;
  info->gain_db = (float) (10.0 * log10 ((energy (out, hop) + 1e-10) / (energy (dry, hop) + 1e-10)));
  if (d->wet < 1.0f)
    for (int i = 0; i < hop; i++)
      out[i] = d->wet * out[i] + (1.0f - d->wet) * dry[i];
  if (d->vad_threshold > 0.0f || d->mute < 1.0f) {
    /* ramp over one hop to the new target: no clicks, ~10 ms reaction */
    float target = (d->vad_threshold > 0.0f && info->vad < d->vad_threshold) ? 0.0f : 1.0f;
    for (int i = 0; i < hop; i++)
      out[i] *= d->mute + (target - d->mute) * (float) (i + 1) / (float) hop;
    d->mute = target;
  }
  memmove (d->dry, d->dry + hop, sizeof (float) * (gsize) lat);
}

void
nerve_denoise_signal (NerveDenoiser *d, const float *in, gsize n, float *out, NerveDenoiseFrame *frames)
{
  const gsize hop = (gsize) d->hop, lat = (gsize) d->latency;
  nerve_denoiser_reset (d);
  g_autofree float *x = g_new0 (float, hop);
  g_autofree float *y = g_new (float, hop);
  /* produced sample p is the enhanced input sample p - lat */
  for (gsize start = 0, call = 0; start < n + lat; start += hop, call++) {
    gsize k = start < n ? MIN (hop, n - start) : 0;
    memset (x, 0, sizeof (float) * hop);
    if (k)
      memcpy (x, in + start, sizeof (float) * k);
    NerveDenoiseFrame f;
    nerve_denoiser_process (d, x, y, &f);
    if (frames && start < n)
      frames[call] = f;
    for (gsize i = 0; i < hop; i++) {
      gsize p = start + i;
      if (p >= lat && p - lat < n)
        out[p - lat] = y[i];
    }
  }
}

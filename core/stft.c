/* Streaming STFT: analysis shifts hop samples into a size-sample buffer, windows it and
 * transforms; synthesis inverse-transforms, windows, overlap-adds into a size-sample
 * accumulator and hands out its first hop samples, which no later frame touches.
 *
 * Perfect reconstruction needs sum_k wa[i + k hop] ws[i + k hop] = C for every i (the
 * product window overlap-adds to a constant); synthesis then scales by 1/C. The check
 * and C are computed in double from the window formulas, once, in nerve_stft_new. */
#include "stft.h"

#include <math.h>
#include <string.h>

#include "error.h"
#include "tensor.h"

static const char *const window_names[] = {
  [NERVE_WINDOW_RECT] = "rect",
  [NERVE_WINDOW_HANN] = "hann",
  [NERVE_WINDOW_SQRT_HANN] = "sqrt-hann",
  [NERVE_WINDOW_VORBIS] = "vorbis",
};

gboolean
nerve_window_from_name (const char *name, NerveWindowType *type, GError **error)
{
  for (gsize i = 0; name && i < G_N_ELEMENTS (window_names); i++)
    if (strcmp (name, window_names[i]) == 0) {
      if (type)
        *type = (NerveWindowType) i;
      return TRUE;
    }
  g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "unknown window '%s': expected one of rect, hann, sqrt-hann, vorbis",
               name ? name : "(null)");
  return FALSE;
}

const char *
nerve_window_name (NerveWindowType type)
{
  return (guint) type < G_N_ELEMENTS (window_names) ? window_names[type] : "unknown";
}

/* Periodic windows (period n). Vorbis is RNNoise's / Opus's: sin(pi/2 sin^2(pi (i+1/2) / n)),
 * so that w[i]^2 + w[i + n/2]^2 = 1. */
static double
window_at (NerveWindowType type, int i, int n)
{
  switch (type) {
  case NERVE_WINDOW_RECT: return 1.0;
  case NERVE_WINDOW_HANN: return 0.5 - 0.5 * cos (2.0 * G_PI * i / n);
  case NERVE_WINDOW_SQRT_HANN: return sin (G_PI * i / n); /* sqrt(0.5 - 0.5 cos(2 pi i / n)) */
  case NERVE_WINDOW_VORBIS: {
    double s = sin (G_PI * (i + 0.5) / n);
    return sin (0.5 * G_PI * s * s);
  }
  }
  return 0.0;
}

void
nerve_window_fill (NerveWindowType type, float *w, int n)
{
  g_return_if_fail ((guint) type < G_N_ELEMENTS (window_names) && (w || n <= 0));
  for (int i = 0; i < n; i++)
    w[i] = (float) window_at (type, i, n);
}

struct _NerveStft {
  int size, hop;
  NerveFft *fft;
  float *wa, *ws; /* analysis window; synthesis window times 1/C */
  float *in;      /* [size] last size samples pushed */
  float *frame;   /* [size] scratch */
  float *ola;     /* [size] overlap-add accumulator */
};

NerveStft *
nerve_stft_new (int size, int hop, NerveWindowType analysis, NerveWindowType synthesis, GError **error)
{
  if (size < 2 || hop < 1 || hop > size) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "STFT size %d, hop %d: expected size >= 2 and 1 <= hop <= size",
                 size, hop);
    return NULL;
  }
  if ((guint) analysis >= G_N_ELEMENTS (window_names) || (guint) synthesis >= G_N_ELEMENTS (window_names)) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "STFT: unknown window type %d/%d", (int) analysis,
                 (int) synthesis);
    return NULL;
  }
  /* overlap-added product window at each phase i of the hop */
  double lo = G_MAXDOUBLE, hi = 0, mean = 0;
  for (int i = 0; i < hop; i++) {
    double s = 0;
    for (int j = i; j < size; j += hop)
      s += window_at (analysis, j, size) * window_at (synthesis, j, size);
    lo = MIN (lo, s), hi = MAX (hi, s), mean += s / hop;
  }
  if (!(hi > 1e-9) || hi - lo > 1e-6 * hi) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
                 "STFT size %d, hop %d: analysis window '%s' times synthesis window '%s' does not overlap-add to a "
                 "constant (the sum over overlapping frames varies from %.4g to %.4g), so the input cannot be "
                 "reconstructed; use e.g. sqrt-hann/sqrt-hann or vorbis/vorbis with hop size/2, hann/rect with hop "
                 "size/2 or size/4, or rect/rect with a hop that divides the size",
                 size, hop, nerve_window_name (analysis), nerve_window_name (synthesis), lo, hi);
    return NULL;
  }
  NerveStft *s = g_new0 (NerveStft, 1);
  s->size = size, s->hop = hop;
  s->fft = nerve_fft_new (size, error);
  if (!s->fft) {
    g_free (s);
    return NULL;
  }
  s->wa = nerve_alloc_floats (size);
  s->ws = nerve_alloc_floats (size);
  s->in = nerve_alloc_floats (size);
  s->frame = nerve_alloc_floats (size);
  s->ola = nerve_alloc_floats (size);
  for (int i = 0; i < size; i++) {
    s->wa[i] = (float) window_at (analysis, i, size);
    s->ws[i] = (float) (window_at (synthesis, i, size) / mean);
  }
  nerve_stft_reset (s);
  return s;
}

void
nerve_stft_free (NerveStft *s)
{
  if (!s)
    return;
  nerve_fft_free (s->fft);
  nerve_free_floats (s->wa);
  nerve_free_floats (s->ws);
  nerve_free_floats (s->in);
  nerve_free_floats (s->frame);
  nerve_free_floats (s->ola);
  g_free (s);
}

void
nerve_stft_reset (NerveStft *s)
{
  g_return_if_fail (s);
  memset (s->in, 0, sizeof (float) * (gsize) s->size);
  memset (s->ola, 0, sizeof (float) * (gsize) s->size);
}

int
nerve_stft_size (const NerveStft *s)
{
  return s->size;
}

int
nerve_stft_hop (const NerveStft *s)
{
  return s->hop;
}

int
nerve_stft_bins (const NerveStft *s)
{
  return s->size / 2 + 1;
}

int
nerve_stft_latency (const NerveStft *s)
{
  return s->size - s->hop;
}

void
nerve_stft_analyze (NerveStft *s, const float *in, float *spec)
{
  g_return_if_fail (s && in && spec);
  int keep = s->size - s->hop;
  memmove (s->in, s->in + s->hop, sizeof (float) * (gsize) keep);
  memcpy (s->in + keep, in, sizeof (float) * (gsize) s->hop);
  for (int i = 0; i < s->size; i++)
    s->frame[i] = s->in[i] * s->wa[i];
  nerve_fft_forward (s->fft, s->frame, spec);
}

void
nerve_stft_synthesize (NerveStft *s, const float *spec, float *out)
{
  g_return_if_fail (s && spec && out);
  int keep = s->size - s->hop;
  nerve_fft_inverse (s->fft, spec, s->frame);
  for (int i = 0; i < s->size; i++)
    s->ola[i] += s->frame[i] * s->ws[i];
  memcpy (out, s->ola, sizeof (float) * (gsize) s->hop);
  memmove (s->ola, s->ola + s->hop, sizeof (float) * (gsize) keep);
  memset (s->ola + keep, 0, sizeof (float) * (gsize) s->hop);
}

/* The "dtln" denoiser front end: DTLN's real-time loop (breizhn/DTLN
 * real_time_processing_onnx.py) on Nerve models made by import-dtln.c.
 *
 * Per hop of 128 samples:
 *   the last N (512) input samples, no window -> rfft -> magnitude
 *   -> stage 1 (NerveStream on the main model) -> mask m1 [bins]
 *   -> rfft * max(m1, min_gain) (the noisy phase is kept) -> irfft -> frame [N]
 *   -> stage 2 (blob "dtln.stage2") -> mask m2 [E] on its "encoder" output
 *   -> decoder [N][E] x (encoder * max(m2, min_gain)) -> overlap-add of the frames
 *   -> the oldest hop of the overlap-add buffer, which no later frame touches.
 * Output sample t is the enhanced input sample t - (N - hop): 384 samples (24 ms) at
 * 16 kHz. DTLN's README counts 32 ms because a real-time caller also waits for a
 * block of 128 samples to fill before it can process it.
 *
 * Per-frame information, from the stage-1 mask m1 (before the attenuation limit) and
 * the magnitudes |X|:
 *   snr_db = 10 log10 (sum m1^2 |X|^2 / sum (1 - m1^2) |X|^2), all bins: the energy the
 *            model keeps over the energy it removes;
 *   vad    = sum m1 |X|^2 / sum |X|^2 over the speech band 94 Hz..4 kHz (bins 3..128 at
 *            16 kHz): the share of speech-band energy the model lets through, 0 for
 *            digital silence. A derived heuristic: DTLN has no voice-activity output.
 * The attenuation limit floors both masks at min_gain; stage 2's mask acts on a learned
 * basis rather than on frequencies, so there the limit is approximate. */
#include "denoise-private.h"

#include <math.h>
#include <string.h>

#include "error.h"
#include "fft.h"
#include "gemm.h"
#include "import-dtln.h"
#include "modelfile.h"
#include "stream.h"

typedef struct {
  int N, hop, bins, E;
  int band_lo, band_hi; /* vad's speech band, bins */
  NerveFft *fft;
  NerveStream *s1, *s2;
  float *dec;    /* [N, E] */
  float *in;     /* [N] the last N input samples */
  float *ola;    /* [N] overlap-add buffer: ola[0..hop) is finished after each hop */
  float *spec;   /* [2*bins] */
  float *mag;    /* [bins] */
  float *frame;  /* [N] stage 1's time frame, then the decoded frame */
  float *est;    /* [E] masked encoding */
} Dtln;

static void
dtln_free (gpointer state)
{
  Dtln *s = state;
  if (!s)
    return;
  nerve_fft_free (s->fft);
  nerve_stream_free (s->s1);
  nerve_stream_free (s->s2);
  float *bufs[] = { s->dec, s->in, s->ola, s->spec, s->mag, s->frame, s->est };
  for (gsize i = 0; i < G_N_ELEMENTS (bufs); i++)
    nerve_free_floats (bufs[i]);
  g_free (s);
}

static gboolean
dtln_fail (Dtln *s, GError **error, int code, const char *fmt, ...) G_GNUC_PRINTF (4, 5);
static gboolean
dtln_fail (Dtln *s, GError **error, int code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, NERVE_ERROR, code, "dtln model: %s", msg);
  dtln_free (s);
  return FALSE;
}

static gboolean
dtln_init (NerveModel *m, int rate, gpointer *state, int *hop, int *latency, GError **error)
{
  int N, h;
  if (!nerve_denoise_meta_int (m, "nerve.stft.size", 4, 16384, &N, error) ||
      !nerve_denoise_meta_int (m, "nerve.stft.hop", 1, N, &h, error))
    return FALSE;
  const char *win = nerve_model_get_meta (m, "nerve.stft.window");
  Dtln *s = g_new0 (Dtln, 1);
  if (win && !g_str_equal (win, "rect"))
    return dtln_fail (s, error, NERVE_ERROR_UNSUPPORTED, "nerve.stft.window is '%s'; DTLN frames are not windowed",
                      win);
  if (N % 2)
    return dtln_fail (s, error, NERVE_ERROR_FORMAT, "nerve.stft.size %d is odd", N);
  s->N = N, s->hop = h, s->bins = N / 2 + 1;
  GBytes *blob = nerve_model_get_blob (m, NERVE_DTLN_STAGE2_BLOB);
  if (!blob)
    return dtln_fail (s, error, NERVE_ERROR_FORMAT, "no blob '%s' (the second stage): import the model again",
                      NERVE_DTLN_STAGE2_BLOB);
  gsize len;
  const guint8 *data = g_bytes_get_data (blob, &len);
  g_autoptr (GHashTable) extras = NULL;
  g_autoptr (NerveModel) m2 = nerve_model_load_from_data_with_extras (data, len, NERVE_DTLN_STAGE2_BLOB, &extras,
                                                                      error);
  if (!m2) {
    dtln_free (s);
    return FALSE;
  }
  if (!(s->fft = nerve_fft_new (N, error)) || !(s->s1 = nerve_stream_new (m, error)) ||
      !(s->s2 = nerve_stream_new (m2, error))) {
    dtln_free (s);
    return FALSE;
  }
  s->E = nerve_stream_out_size (s->s2);
  NerveTensor *dec = extras ? g_hash_table_lookup (extras, NERVE_DTLN_DECODER) : NULL;
  if (nerve_stream_in_size (s->s1) != s->bins || nerve_stream_out_size (s->s1) != s->bins)
    return dtln_fail (s, error, NERVE_ERROR_SHAPE, "stage 1 maps %d values to %d; %d-sample frames need %d to %d",
                      nerve_stream_in_size (s->s1), nerve_stream_out_size (s->s1), N, s->bins, s->bins);
  if (nerve_stream_in_size (s->s2) != N)
    return dtln_fail (s, error, NERVE_ERROR_SHAPE, "stage 2 takes %d values; the frame is %d samples",
                      nerve_stream_in_size (s->s2), N);
  NerveLayer *enc = nerve_model_find_layer (m2, "encoder");
  if (!enc || nerve_shape_numel (&enc->out_shape) != (gsize) s->E)
    return dtln_fail (s, error, NERVE_ERROR_SHAPE, "stage 2 has no layer 'encoder' of %d values (its mask size)",
                      s->E);
  if (!dec || dec->numel != (gsize) N * s->E)
    return dtln_fail (s, error, NERVE_ERROR_SHAPE, "stage 2 has no extra tensor '%s' of %d x %d values",
                      NERVE_DTLN_DECODER, N, s->E);
  s->dec = nerve_alloc_floats (dec->numel);
  memcpy (s->dec, dec->data, sizeof (float) * dec->numel);
  s->in = nerve_alloc_floats (N);
  s->ola = nerve_alloc_floats (N);
  s->spec = nerve_alloc_floats (2 * s->bins);
  s->mag = nerve_alloc_floats (s->bins);
  s->frame = nerve_alloc_floats (N);
  s->est = nerve_alloc_floats (s->E);
  /* speech band for vad: 94 Hz .. 4 kHz at 16 kHz, scaled with the rate */
  s->band_lo = MAX (1, (int) lround (94.0 * N / rate));
  s->band_hi = MIN (s->bins - 1, (int) lround (4000.0 * N / rate));
  *state = s;
  *hop = h;
  *latency = N - h;
  return TRUE;
}

static void
dtln_reset (gpointer state)
{
  Dtln *s = state;
  memset (s->in, 0, sizeof (float) * s->N);
  memset (s->ola, 0, sizeof (float) * s->N);
  nerve_stream_reset (s->s1);
  nerve_stream_reset (s->s2);
}

static void
dtln_process (gpointer state, const float *in, float *out, float min_gain, NerveDenoiseFrame *info)
{
  Dtln *s = state;
  const int N = s->N, hop = s->hop, bins = s->bins, E = s->E;
  memmove (s->in, s->in + hop, sizeof (float) * (N - hop));
  memcpy (s->in + N - hop, in, sizeof (float) * hop);

  /* stage 1: magnitude mask, noisy phase kept */
  nerve_fft_forward (s->fft, s->in, s->spec);
  for (int k = 0; k < bins; k++)
    s->mag[k] = sqrtf (s->spec[2 * k] * s->spec[2 * k] + s->spec[2 * k + 1] * s->spec[2 * k + 1]);
  const float *m1 = nerve_stream_step (s->s1, s->mag);
  double kept = 0, total = 0, band = 0, band_kept = 0;
  for (int k = 0; k < bins; k++) {
    const double p = (double) s->mag[k] * (double) s->mag[k], g = (double) m1[k];
    kept += p * g * g;
    total += p;
    if (k >= s->band_lo && k <= s->band_hi)
      band += p, band_kept += p * g;
    const float gain = fmaxf (m1[k], min_gain);
    s->spec[2 * k] *= gain;
    s->spec[2 * k + 1] *= gain;
  }
  info->snr_db = (float) (10.0 * log10 ((kept + 1e-12) / (total - kept + 1e-12)));
  info->vad = band > 1e-12 ? (float) (band_kept / band) : 0.0f;
  nerve_fft_inverse (s->fft, s->spec, s->frame);

  /* stage 2: mask on the learned basis, decode, overlap-add */
  const float *m2 = nerve_stream_step (s->s2, s->frame);
  const float *enc = nerve_stream_layer_output (s->s2, "encoder");
  for (int e = 0; e < E; e++)
    s->est[e] = enc[e] * fmaxf (m2[e], min_gain);
  nerve_gemm (FALSE, TRUE, 1, N, E, 1.0f, s->est, E, s->dec, E, 0.0f, s->frame, N);
  memmove (s->ola, s->ola + hop, sizeof (float) * (N - hop));
  memset (s->ola + N - hop, 0, sizeof (float) * hop);
  for (int i = 0; i < N; i++)
    s->ola[i] += s->frame[i];
  memcpy (out, s->ola, sizeof (float) * hop);
}

const NerveDenoiseFrontend nerve_denoise_dtln_frontend = {
  .name = "dtln",
  .init = dtln_init,
  .reset = dtln_reset,
  .process = dtln_process,
  .free = dtln_free,
};

/* nerve denoise IN OUT.wav: speech enhancement of one audio file with a denoise model
 * (core/denoise.h), the same processing as the nervedenoise element. The file is
 * converted to the model's rate, enhanced from a reset state with the latency removed
 * (nerve_denoise_signal), and converted back, so OUT has IN's rate and length and
 * out[i] is the enhanced in[i] (nerve_resample keeps times). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* One line per hop of model-rate input: when it starts and ends (seconds), and the
 * frame's voice probability, estimated SNR and applied gain. */
static gboolean
write_frames (const char *path, const NerveDenoiseFrame *f, gsize n, int hop, int rate, GError **error)
{
  g_autoptr (GString) s = g_string_new ("start_s\tend_s\tvad\tsnr_db\tgain_db\n");
  for (gsize j = 0; j < n; j++)
    g_string_append_printf (s, "%.4f\t%.4f\t%.4f\t%.2f\t%.2f\n", (double) j * hop / rate,
                            (double) (j + 1) * hop / rate, (double) f[j].vad, (double) f[j].snr_db,
                            (double) f[j].gain_db);
  return g_file_set_contents (path, s->str, (gssize) s->len, error);
}

int
nerve_cli_denoise (int argc, char **argv)
{
  g_autofree char *model_path = NULL, *frames_path = NULL;
  double limit = INFINITY, mix = 1.0, vad = 0.0;
  gboolean pcm16 = FALSE, quiet = FALSE;
  int threads = 1;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path,
      "Denoise model (default: denoise.nerve in NERVE_MODEL_PATH, else models/denoise/denoise.nerve)", "M" },
    { "attenuation-limit", 0, 0, G_OPTION_ARG_DOUBLE, &limit, "Push noise down by at most DB dB (default: no limit)",
      "DB" },
    { "mix", 0, 0, G_OPTION_ARG_DOUBLE, &mix, "Dry/wet: 1 = enhanced only (default), 0 = the input", "W" },
    { "vad-threshold", 0, 0, G_OPTION_ARG_DOUBLE, &vad, "Mute frames whose voice probability is below T (default 0: off)",
      "T" },
    { "frames", 0, 0, G_OPTION_ARG_FILENAME, &frames_path,
      "Write per-frame voice probability, SNR and gain (TSV, one line per hop at the model's rate)", "FILE" },
    { "pcm16", 0, 0, G_OPTION_ARG_NONE, &pcm16, "Write 16-bit PCM (default: 32-bit float)", NULL },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "BLAS threads (default 1: a frame's products are small)", "N" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Do not print the real-time factor", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("IN OUT.wav - remove noise from speech");
  g_option_context_set_summary (ctx,
    "IN is any file libsndfile reads (multi-channel input is averaged to mono). It is\n"
    "converted to the model's rate, enhanced, and converted back: OUT.wav has IN's rate\n"
    "and length, time-aligned with it (the model's latency is removed, the tail drained).\n"
    "The real-time factor (processing time over audio duration, file I/O excluded) goes\n"
    "to stderr.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  int status;
  if (!nerve_cli_parse (ctx, &argc, &argv, 2, &status))
    return status;
  if (!(mix >= 0.0 && mix <= 1.0) || !(vad >= 0.0 && vad <= 1.0) || isnan (limit) || limit < 0.0) {
    fprintf (stderr, "nerve denoise: --mix and --vad-threshold must be in 0..1, --attenuation-limit >= 0\n");
    return 2;
  }
  nerve_set_threads (MAX (threads, 1));
  g_autoptr (GError) err = NULL;
  /* else the nervedenoise element's order, the source tree in place of the installed model */
  static const char *const source_tree[] = { "models/denoise/denoise.nerve", NULL };
  if (!model_path && !(model_path = nerve_model_find_default ("denoise.nerve", source_tree, &err))) {
    fprintf (stderr, "nerve denoise: no model: give --model (%s)\n", err->message);
    return 1;
  }
  g_autoptr (NerveModel) m = nerve_model_load (model_path, &err);
  if (!m)
    return nerve_cli_fail ("denoise", err);
  g_autoptr (NerveDenoiser) d = nerve_denoiser_new (m, &err);
  if (!d) {
    g_prefix_error (&err, "%s: ", model_path);
    return nerve_cli_fail ("denoise", err);
  }
  nerve_denoiser_set_attenuation_limit (d, isinf (limit) ? G_MAXFLOAT : (float) limit);
  nerve_denoiser_set_mix (d, (float) mix);
  nerve_denoiser_set_vad_threshold (d, (float) vad);

  int in_rate, rate = nerve_denoiser_rate (d), hop = nerve_denoiser_hop (d);
  gsize n;
  g_autofree float *in = nerve_audio_read (argv[1], &in_rate, &n, &err);
  if (!in)
    return nerve_cli_fail ("denoise", err);

  gint64 t0 = g_get_monotonic_time ();
  g_autofree float *x = NULL; /* at the model's rate */
  gsize nx = n;
  if (in_rate != rate)
    x = nerve_resample (in, n, in_rate, rate, &nx);
  g_autofree float *y = g_new (float, MAX (nx, 1));
  gsize n_frames = (nx + (gsize) hop - 1) / (gsize) hop;
  g_autofree NerveDenoiseFrame *frames = frames_path ? g_new0 (NerveDenoiseFrame, MAX (n_frames, 1)) : NULL;
  nerve_denoise_signal (d, x ? x : in, nx, y, frames);
  g_autofree float *out = NULL; /* at the input's rate, n samples */
  if (in_rate != rate) {
    gsize nb;
    out = nerve_resample (y, nx, rate, in_rate, &nb);
    if (nb < n) { /* ceil() both ways gives >= n; pad defensively */
      out = g_renew (float, out, n);
      memset (out + nb, 0, sizeof (float) * (n - nb));
    }
  }
  double secs = (double) (g_get_monotonic_time () - t0) / 1e6;

  if (!nerve_audio_write_wav (argv[2], out ? out : y, n, in_rate, !pcm16, &err))
    return nerve_cli_fail ("denoise", err);
  if (frames && !write_frames (frames_path, frames, n_frames, hop, rate, &err))
    return nerve_cli_fail ("denoise", err);
  if (!quiet) {
    double dur = (double) n / in_rate;
    fprintf (stderr, "nerve denoise: %.2f s of audio (%d Hz; model %s front end at %d Hz, latency %d samples) "
                     "in %.3f s: real-time factor %.4f (%.0fx real time)\n",
             dur, in_rate, nerve_denoiser_frontend (d), rate, nerve_denoiser_latency (d), secs,
             dur > 0 ? secs / dur : 0.0, secs > 0 ? dur / secs : 0.0);
  }
  return 0;
}

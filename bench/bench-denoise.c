/* Speed of speech enhancement on 60 s of 16 kHz audio, one thread, best of 3, beside the
 * usual choices timed in the same run on the same file:
 *   build/bench/bench-denoise [--model M.nerve] [--rnnn F.rnnn] [--seconds S] [--json]
 * Rows:
 *   nerve      nerve_denoise_signal from a reset state (what `nerve denoise` and the
 *              element run), one BLAS thread. The model: --model, else the shipped
 *              models/denoise/denoise.nerve, else a built-in "mask" model of the recipe's
 *              size (architecture models/denoise/mask-gru.json, 512/128 sqrt-Hann STFT,
 *              random weights: the speed does not depend on them).
 *   webrtcdsp  gst-launch-1.0 filesrc ! wavparse ! audioconvert ! webrtcdsp (noise
 *              suppression very-high, echo-cancel/gain-control/high-pass off) ! fakesink,
 *              minus the same pipeline without webrtcdsp (process startup, parsing).
 *   arnndn     ffmpeg -af aresample=48000,arnndn=m=F,aresample=16000 -f null, minus the
 *              same without arnndn (startup, decoding, both resamplers); -threads 1.
 * Wall times decide (the bar is wall time); CPU seconds, with the same subtraction, are
 * printed beside them as a check when the machine is busy.
 * The audio: a seeded synthetic mixture (voiced harmonics with a syllable-rate envelope
 * plus pink-ish noise), written to a temporary WAV for the peers. Run from the source
 * root; bar (issue 4): nerve >= 50x real time. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>
#include <sys/resource.h>
#include <time.h>

#include "nerve.h"

#define RATE 16000
#define REPS 3

static double
now (void)
{
  return (double) g_get_monotonic_time () / 1e6;
}

/* The built-in model: the recipe's architecture with random weights. */
static NerveModel *
builtin_model (const char *arch_path, GError **error)
{
  g_autofree char *json = NULL;
  const int size = 512, hop = 128, bins = size / 2 + 1;
  if (!g_file_get_contents (arch_path, &json, NULL, error))
    return NULL;
  NerveModel *m = nerve_model_new (json, error);
  if (!m)
    return NULL;
  const NerveShape *o = nerve_model_output_shape (m);
  int units = o->dim[o->ndim - 1];
  if (units != bins && units != bins + 1) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_SHAPE, "%s: %d outputs, expected %d gains (+1 VAD)", arch_path,
                 units, bins);
    nerve_model_unref (m);
    return NULL;
  }
  nerve_model_init_params (m, 1);
  char v[16];
  nerve_model_set_meta (m, "nerve.task", "denoise");
  nerve_model_set_meta (m, "nerve.denoise.frontend", "mask");
  nerve_model_set_meta (m, "nerve.audio.rate", "16000");
  g_snprintf (v, sizeof v, "%d", size);
  nerve_model_set_meta (m, "nerve.stft.size", v);
  g_snprintf (v, sizeof v, "%d", hop);
  nerve_model_set_meta (m, "nerve.stft.hop", v);
  nerve_model_set_meta (m, "nerve.stft.window", "sqrt-hann");
  nerve_model_set_meta (m, "nerve.denoise.vad", units == bins + 1 ? "1" : "0");
  return m;
}

/* Speech-like enough to exercise every bin and the VAD: harmonics of a gliding pitch
 * under a 4 Hz syllable envelope, plus noise. */
static float *
synth (gsize n)
{
  float *x = g_new (float, n);
  NerveRng r;
  nerve_rng_seed (&r, 42);
  double phase = 0, lp = 0;
  for (gsize i = 0; i < n; i++) {
    double t = (double) i / RATE, f0 = 120 + 40 * sin (2 * G_PI * 0.3 * t);
    phase += 2 * G_PI * f0 / RATE;
    double env = fmax (0, sin (2 * G_PI * 4 * t)), v = 0;
    for (int h = 1; h <= 20; h++)
      v += sin (h * phase) / h;
    lp = 0.95 * lp + 0.05 * ((double) nerve_rng_uniform (&r) - 0.5);
    x[i] = (float) (0.1 * env * v + 0.3 * lp + 0.01 * ((double) nerve_rng_uniform (&r) - 0.5));
  }
  return x;
}

/* This process's CPU seconds. */
static double
cpu_self (void)
{
  struct timespec t;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

/* User + system seconds of the children waited for so far. */
static double
cpu_children (void)
{
  struct rusage u;
  getrusage (RUSAGE_CHILDREN, &u);
  return (double) (u.ru_utime.tv_sec + u.ru_stime.tv_sec) + (double) (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/* Best wall time (and best CPU time) of REPS runs of a command line; < 0 when it fails. */
static double
time_command (const char *cmd, double *cpu)
{
  double best = INFINITY;
  *cpu = INFINITY;
  for (int i = 0; i < REPS; i++) {
    int status;
    g_autofree char *err = NULL;
    double t0 = now (), c0 = cpu_children ();
    if (!g_spawn_command_line_sync (cmd, NULL, &err, &status, NULL) || !g_spawn_check_wait_status (status, NULL)) {
      fprintf (stderr, "bench-denoise: failed: %s\n%s", cmd, err ? err : "");
      return -1;
    }
    best = fmin (best, now () - t0);
    *cpu = fmin (*cpu, cpu_children () - c0);
  }
  return best;
}

static gboolean
have (const char *program)
{
  g_autofree char *p = g_find_program_in_path (program);
  return p != NULL;
}

typedef struct {
  const char *name;
  double seconds, whole; /* wall: the processing alone; whole = with startup, for the peers */
  double cpu;            /* CPU seconds of the processing alone (a check on a busy machine) */
} Row;

/* A peer: the command with and without the processing step. */
static Row
peer (const char *name, const char *with, const char *without)
{
  Row r = { name, -1, -1, -1 };
  double ca, cb, a = time_command (with, &ca), b = a >= 0 ? time_command (without, &cb) : -1;
  if (a >= 0 && b >= 0) {
    r.whole = a;
    r.seconds = fmax (a - b, 1e-3);
    r.cpu = fmax (ca - cb, 1e-3);
  }
  return r;
}

int
main (int argc, char **argv)
{
  g_autofree char *model_path = NULL, *rnnn = NULL, *arch = NULL;
  double seconds = 60;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, "Denoise model (default: the shipped one, else built-in)", "M" },
    { "arch", 0, 0, G_OPTION_ARG_FILENAME, &arch, "Built-in model's architecture (default models/denoise/mask-gru.json)",
      "JSON" },
    { "rnnn", 0, 0, G_OPTION_ARG_FILENAME, &rnnn, "arnndn model (default ../shared/data/pretrained/rnnoise/cb.rnnn)",
      "F" },
    { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds, "Audio length (default 60)", "S" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Also print one JSON line", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- denoise speed beside webrtcdsp and arnndn");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) err = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &err) || argc != 1 || !(seconds > 0 && seconds < 3600)) {
    fprintf (stderr, "bench-denoise: %s\n", err ? err->message : "bad arguments (see --help)");
    return 2;
  }
  nerve_set_threads (1);
  const char *what;
  g_autoptr (NerveModel) m = NULL;
  if (!model_path && g_file_test ("models/denoise/denoise.nerve", G_FILE_TEST_IS_REGULAR))
    model_path = g_strdup ("models/denoise/denoise.nerve");
  if (model_path) {
    m = nerve_model_load (model_path, &err);
    what = model_path;
  } else {
    if (!arch)
      arch = g_strdup ("models/denoise/mask-gru.json");
    m = builtin_model (arch, &err);
    what = arch;
  }
  g_autoptr (NerveDenoiser) d = m ? nerve_denoiser_new (m, &err) : NULL;
  if (!d) {
    fprintf (stderr, "bench-denoise: %s\n", err->message);
    return 1;
  }
  if (nerve_denoiser_rate (d) != RATE)
    fprintf (stderr, "bench-denoise: note: the model runs at %d Hz; the audio is resampled first (untimed)\n",
             nerve_denoiser_rate (d));

  const gsize n = (gsize) (seconds * RATE);
  g_autofree float *x = synth (n);
  g_autofree char *dir = g_dir_make_tmp ("bench-denoise-XXXXXX", &err);
  g_autofree char *wav = dir ? g_build_filename (dir, "in.wav", NULL) : NULL;
  if (!dir || !nerve_audio_write_wav (wav, x, n, RATE, FALSE, &err)) {
    fprintf (stderr, "bench-denoise: %s\n", err->message);
    return 1;
  }

  /* nerve: in the model's rate, best of REPS after one warm-up */
  gsize nm = n;
  g_autofree float *xm = nerve_denoiser_rate (d) != RATE ? nerve_resample (x, n, RATE, nerve_denoiser_rate (d), &nm) : NULL;
  g_autofree float *y = g_new (float, nm);
  nerve_denoise_signal (d, xm ? xm : x, MIN (nm, (gsize) 16000), y, NULL);
  Row rows[3] = { { "nerve", INFINITY, -1, INFINITY } };
  for (int i = 0; i < REPS; i++) {
    double t0 = now (), c0 = cpu_self ();
    nerve_denoise_signal (d, xm ? xm : x, nm, y, NULL);
    rows[0].seconds = fmin (rows[0].seconds, now () - t0);
    rows[0].cpu = fmin (rows[0].cpu, cpu_self () - c0);
  }
  int nrows = 1;

  g_autofree char *q = g_shell_quote (wav);
  g_autofree char *gst_with = g_strdup_printf (
    "gst-launch-1.0 -q filesrc location=%s ! wavparse ! audioconvert ! webrtcdsp echo-cancel=false "
    "noise-suppression-level=very-high gain-control=false high-pass-filter=false ! fakesink", q);
  g_autofree char *gst_without = g_strdup_printf ("gst-launch-1.0 -q filesrc location=%s ! wavparse ! audioconvert ! "
                                                  "fakesink", q);
  if (have ("gst-launch-1.0"))
    rows[nrows++] = peer ("webrtcdsp", gst_with, gst_without);
  else
    fprintf (stderr, "bench-denoise: no gst-launch-1.0: webrtcdsp not timed\n");
  if (!rnnn)
    rnnn = g_strdup ("../shared/data/pretrained/rnnoise/cb.rnnn");
  if (have ("ffmpeg") && g_file_test (rnnn, G_FILE_TEST_IS_REGULAR)) {
    g_autofree char *qr = g_shell_quote (rnnn);
    const char *ff = "ffmpeg -nostdin -hide_banner -loglevel error -threads 1 -filter_threads 1";
    g_autofree char *ff_with = g_strdup_printf ("%s -i %s -af aresample=48000,arnndn=m=%s,aresample=16000 -f null -",
                                                ff, q, qr);
    g_autofree char *ff_without = g_strdup_printf ("%s -i %s -af aresample=48000,aresample=16000 -f null -", ff, q);
    rows[nrows++] = peer ("arnndn", ff_with, ff_without);
  } else {
    fprintf (stderr, "bench-denoise: no ffmpeg or no %s: arnndn not timed\n", rnnn);
  }
  g_unlink (wav);
  g_rmdir (dir);

  printf ("%.0f s of 16 kHz audio, one thread, best of %d; model %s (%s front end, hop %d, latency %d)\n", seconds,
          REPS, what, nerve_denoiser_frontend (d), nerve_denoiser_hop (d), nerve_denoiser_latency (d));
  printf ("%-10s %10s %12s %14s %10s %18s\n", "", "seconds", "x real time", "nerve speedup", "CPU s", "with startup (s)");
  for (int i = 0; i < nrows; i++) {
    if (rows[i].seconds < 0) {
      printf ("%-10s %10s\n", rows[i].name, "failed");
      continue;
    }
    printf ("%-10s %10.3f %12.1f %13.2fx %10.3f", rows[i].name, rows[i].seconds, seconds / rows[i].seconds,
            rows[i].seconds / rows[0].seconds, rows[i].cpu);
    if (rows[i].whole >= 0)
      printf (" %18.3f", rows[i].whole);
    printf ("\n");
  }
  double xrt = seconds / rows[0].seconds;
  printf ("%s  nerve %.1fx real time >= 50x\n", xrt >= 50 ? "PASS" : "FAIL", xrt);
  if (json) {
    printf ("{\"model\":\"%s\",\"seconds\":%.0f", what, seconds);
    for (int i = 0; i < nrows; i++)
      printf (",\"%s\":%.4f,\"%s_cpu\":%.4f", rows[i].name, rows[i].seconds, rows[i].name, rows[i].cpu);
    printf ("}\n");
  }
  return 0;
}

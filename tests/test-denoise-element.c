/* nervedenoise: length and timestamps for any buffer sizes, S16 and F32, agreement
 * with the C API, the latency query, FLUSH, GAP and DISCONT, NaN/Inf input, model and
 * caps errors, the level meta and element messages, properties in PLAYING, state
 * cycles, file pipelines, the documented launch lines, and (with a trained model) an
 * SI-SDR gain on a committed speech fixture. */
#include <gst/audio/audio.h>
#include <gst/check/gstharness.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "audio-metrics.h"
#include "audiofile.h"
#include "check.h"
#include "denoise-model.h"
#include "denoise.h"
#include "import-dtln.h"
#include "import-rnnoise.h"
#include "nerve.h"

#define RATE 16000
#define STFT_SIZE 512
#define STFT_HOP 128

static char *dir, *model_path, *model48_path;
static char *mute_path, *pass_path; /* every gain and the VAD sigmoid(-30) ~ 0, or sigmoid(30) ~ 1 */
static int gst_warnings; /* GStreamer's own g_warning()s: event misordering and such */

static void
count_gst_warning (const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
  gst_warnings++;
  g_log_default_handler (domain, level, message, data);
}

/* ------------------------------------------------------------------ the test models */

/* A "mask" model (tests/denoise-model.c: log-power STFT features -> GRU -> dense ->
 * sigmoid gains and a voice probability) saved to the test directory. Random weights
 * unless bias is finite (then every gain and the VAD are sigmoid(bias)). */
static char *
write_mask_model (const char *name, int rate, int size, int hop, float bias, guint64 seed)
{
  g_autoptr (GError) err = NULL;
  NerveModel *m = nerve_test_mask_model (size, hop, "sqrt-hann", 16, TRUE, bias, seed, &err);
  if (!m) {
    fprintf (stderr, "test model: %s\n", err->message);
    return NULL;
  }
  g_autofree char *r = g_strdup_printf ("%d", rate);
  nerve_model_set_meta (m, "nerve.audio.rate", r);
  char *path = g_build_filename (dir, name, NULL);
  gboolean ok = nerve_model_save (m, path, &err);
  if (!ok)
    fprintf (stderr, "saving the test model: %s\n", err->message);
  nerve_model_unref (m);
  if (!ok)
    g_clear_pointer (&path, g_free);
  return path;
}

/* The trained model: NERVE_DENOISE_MODEL, else models/denoise/denoise.nerve; NULL
 * (the caller skips) when neither exists. */
static char *
trained_model (void)
{
  const char *env = g_getenv ("NERVE_DENOISE_MODEL");
  if (env && *env)
    return g_file_test (env, G_FILE_TEST_IS_REGULAR) ? g_strdup (env) : NULL;
  char *p = nerve_test_path ("models/denoise/denoise.nerve");
  if (g_file_test (p, G_FILE_TEST_IS_REGULAR))
    return p;
  g_free (p);
  return NULL;
}

/* The C API's whole-signal answer with the same model. */
static float *
capi_denoise (const char *path, const float *x, gsize n, float mix)
{
  g_autoptr (GError) err = NULL;
  NerveModel *m = nerve_model_load (path, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  NerveDenoiser *d = nerve_denoiser_new (m, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (d);
  nerve_denoiser_set_mix (d, mix);
  float *y = g_new (float, n);
  nerve_denoise_signal (d, x, n, y, NULL);
  nerve_denoiser_free (d);
  nerve_model_unref (m);
  return y;
}

/* ------------------------------------------------------------------ helpers */

/* A voiced-speech-like test signal: a 140 Hz pulse train through formant-ish
 * resonances, syllable envelopes, and a little seeded noise. */
static float *
test_signal (gsize n, int rate, guint64 seed)
{
  float *x = g_new (float, n), *noise = g_new (float, n);
  nerve_test_fill_f32 (noise, n, seed, 0.02f);
  for (gsize i = 0; i < n; i++) {
    const double t = (double) i / rate;
    const double env = MAX (0.0, sin (G_PI * 4.0 * t)); /* 4 syllables a second */
    double v = 0;
    for (int k = 1; k <= 20; k++) {
      const double f = 140.0 * k, a = 1.0 / (1.0 + pow ((f - 700.0) / 300.0, 2)) + 0.5 / (1.0 + pow ((f - 1200.0) / 300.0, 2));
      if (f < rate / 2.0)
        v += a * sin (2 * G_PI * f * t + k);
    }
    x[i] = (float) (0.15 * env * v) + noise[i];
  }
  g_free (noise);
  return x;
}

static GstHarness *
harness_full (const char *model, const char *props, const char *format, int rate)
{
  g_autofree char *desc = g_strdup_printf ("nervedenoise name=dn model=\"%s\" %s", model, props ? props : "");
  GstHarness *h = gst_harness_new_parse (desc);
  g_autofree char *caps = g_strdup_printf ("audio/x-raw, format=%s, layout=interleaved, channels=1, rate=%d",
                                           format ? format : "F32LE", rate);
  gst_harness_set_src_caps_str (h, caps);
  return h;
}

static GstHarness *
harness (const char *props)
{
  return harness_full (model_path, props, NULL, RATE);
}

/* Sets a property of the element inside the harness's bin. */
static void
set_prop (GstHarness *h, const char *name, ...)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (h->element), "dn");
  CU_ASSERT_PTR_NOT_NULL_FATAL (e);
  va_list ap;
  va_start (ap, name);
  g_object_set_valist (G_OBJECT (e), name, ap);
  va_end (ap);
  gst_object_unref (e);
}

static GstBus *
harness_bus (GstHarness *h)
{
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  return bus;
}

/* A buffer of x[0..n) at sample position pos from base (timestamp, duration, offsets). */
static GstBuffer *
audio_buffer (const float *x, gsize n, gboolean s16, guint64 pos, GstClockTime base, int rate)
{
  GstBuffer *b = gst_buffer_new_allocate (NULL, n * (s16 ? 2 : 4), NULL);
  GstMapInfo map;
  gst_buffer_map (b, &map, GST_MAP_WRITE);
  for (gsize i = 0; i < n; i++)
    if (s16)
      ((gint16 *) (gpointer) map.data)[i] = (gint16) CLAMP (lrintf (x[i] * 32768.0f), -32768, 32767);
    else
      ((float *) (gpointer) map.data)[i] = x[i];
  gst_buffer_unmap (b, &map);
  GST_BUFFER_PTS (b) = base + gst_util_uint64_scale_int_round (pos, GST_SECOND, rate);
  GST_BUFFER_DURATION (b) = base + gst_util_uint64_scale_int_round (pos + n, GST_SECOND, rate) - GST_BUFFER_PTS (b);
  GST_BUFFER_OFFSET (b) = pos;
  GST_BUFFER_OFFSET_END (b) = pos + n;
  return b;
}

/* Pushes x in buffers of the given sizes (cycled). */
static void
push_signal (GstHarness *h, const float *x, gsize n, const gsize *sizes, int n_sizes, gboolean s16, guint64 pos0,
             GstClockTime base, int rate)
{
  for (gsize at = 0, k = 0; at < n; k++) {
    const gsize c = MIN (sizes[k % (gsize) n_sizes], n - at);
    CU_ASSERT_EQUAL (gst_harness_push (h, audio_buffer (x + at, c, s16, pos0 + at, base, rate)), GST_FLOW_OK);
    at += c;
  }
}

typedef struct {
  float *x; /* every output sample, as float */
  gsize n;
  guint n_buffers, bad_timing, no_meta, bad_level, voiced;
  gboolean first_discont;
} Output;

/* Pulls every buffer so far and checks each one's timing against the sample position
 * (first sample at pos0 from base), and its level meta against its samples. */
static void
pull_output (GstHarness *h, Output *o, gboolean s16, guint64 pos0, GstClockTime base, int rate)
{
  GstBuffer *b;
  while ((b = gst_harness_try_pull (h))) {
    GstMapInfo map;
    gst_buffer_map (b, &map, GST_MAP_READ);
    const gsize n = map.size / (s16 ? 2 : 4);
    o->x = g_renew (float, o->x, o->n + n);
    double ms = 0;
    for (gsize i = 0; i < n; i++) {
      float v = s16 ? ((const gint16 *) (gconstpointer) map.data)[i] / 32768.0f : ((const float *) (gconstpointer) map.data)[i];
      o->x[o->n + i] = v;
      ms += (double) v * v;
    }
    gst_buffer_unmap (b, &map);
    const guint64 pos = pos0 + o->n;
    const GstClockTime pts = base + gst_util_uint64_scale_int_round (pos, GST_SECOND, rate);
    const GstClockTime end = base + gst_util_uint64_scale_int_round (pos + n, GST_SECOND, rate);
    if (GST_BUFFER_PTS (b) != pts || GST_BUFFER_DURATION (b) != end - pts || GST_BUFFER_OFFSET (b) != pos ||
        GST_BUFFER_OFFSET_END (b) != pos + n) {
      if (!o->bad_timing)
        fprintf (stderr, "  buffer %u: pts %" GST_TIME_FORMAT " dur %" GST_TIME_FORMAT " offset %" G_GUINT64_FORMAT
                 "..%" G_GUINT64_FORMAT ", want %" GST_TIME_FORMAT " %" GST_TIME_FORMAT " %" G_GUINT64_FORMAT "\n",
                 o->n_buffers, GST_TIME_ARGS (GST_BUFFER_PTS (b)), GST_TIME_ARGS (GST_BUFFER_DURATION (b)),
                 GST_BUFFER_OFFSET (b), GST_BUFFER_OFFSET_END (b), GST_TIME_ARGS (pts), GST_TIME_ARGS (end - pts), pos);
      o->bad_timing++;
    }
    if (o->n_buffers == 0)
      o->first_discont = GST_BUFFER_IS_DISCONT (b);
    GstAudioLevelMeta *meta = gst_buffer_get_audio_level_meta (b);
    if (!meta) {
      o->no_meta++;
    } else {
      ms /= (double) MAX (n, 1);
      const int want = ms > 0 ? (int) CLAMP (lrint (-10.0 * log10 (ms)), 0, 127) : 127;
      if (abs ((int) meta->level - want) > 1)
        o->bad_level++;
      o->voiced += meta->voice_activity;
    }
    o->n += n;
    o->n_buffers++;
    gst_buffer_unref (b);
  }
}

static void
push_eos (GstHarness *h)
{
  CU_ASSERT_TRUE (gst_harness_push_event (h, gst_event_new_eos ()));
}

static gboolean
all_finite (const float *x, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (!isfinite (x[i]))
      return FALSE;
  return TRUE;
}

static double
max_abs_diff (const float *a, const float *b, gsize n)
{
  double m = 0;
  for (gsize i = 0; i < n; i++)
    m = MAX (m, fabs ((double) a[i] - b[i]));
  return m;
}

/* Runs x through a harness in buffers of the given sizes up to EOS; returns the output. */
static float *
run_model_at (const char *model, const char *props, const float *x, gsize n, const gsize *sizes, int n_sizes,
              gboolean s16, int rate, Output *o)
{
  GstHarness *h = harness_full (model, props, s16 ? "S16LE" : "F32LE", rate);
  push_signal (h, x, n, sizes, n_sizes, s16, 0, 0, rate);
  push_eos (h);
  pull_output (h, o, s16, 0, 0, rate);
  gst_harness_teardown (h);
  return o->x;
}

static float *
run_model (const char *model, const char *props, const float *x, gsize n, const gsize *sizes, int n_sizes,
           gboolean s16, Output *o)
{
  return run_model_at (model, props, x, n, sizes, n_sizes, s16, RATE, o);
}

static float *
run_harness (const char *props, const float *x, gsize n, const gsize *sizes, int n_sizes, gboolean s16, gsize *n_out)
{
  Output o = { 0 };
  run_model (model_path, props, x, n, sizes, n_sizes, s16, &o);
  *n_out = o.n;
  return o.x;
}

/* ------------------------------------------------------------------ tests */

/* Odd buffer sizes, both formats: every input sample comes out once, at its own
 * timestamp and offset; mix=0 gives the input back exactly (so the alignment is
 * exact); mix=1 agrees with the C API's whole-signal answer. */
static void
test_length_and_timestamps (void)
{
  const gsize n = RATE / 2 + 123;
  g_autofree float *x = test_signal (n, RATE, 1);
  g_autofree float *want = capi_denoise (model_path, x, n, 1.0f);
  /* the same for S16 input (the C API sees the quantized samples) */
  g_autofree float *xq = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    xq[i] = (float) CLAMP (lrintf (x[i] * 32768.0f), -32768, 32767) / 32768.0f;
  g_autofree float *want_q = capi_denoise (model_path, xq, n, 1.0f);
  static const gsize sizes[][3] = { { 1, 1, 1 }, { 37, 37, 37 }, { 1000, 1000, 1000 }, { 1, 37, 1000 }, { 8000, 1, 127 } };
  const GstClockTime base = 3 * GST_SECOND + 17 * GST_MSECOND;
  const guint64 pos0 = gst_util_uint64_scale_int_round (base, RATE, GST_SECOND);
  for (int s16 = 0; s16 < 2; s16++)
    for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
      for (int mix = 0; mix < 2; mix++) {
        if (sizes[s][0] == 1 && sizes[s][1] == 1 && mix == 0 && s16) /* the slowest case adds nothing */
          continue;
        GstHarness *h = harness_full (model_path, mix ? NULL : "mix=0", s16 ? "S16LE" : "F32LE", RATE);
        /* timestamps from 3.017 s: offsets count samples from 0 s, so output offsets follow them */
        for (gsize at = 0, k = 0; at < n; k++) {
          const gsize c = MIN (sizes[s][k % 3], n - at);
          CU_ASSERT_EQUAL (gst_harness_push (h, audio_buffer (x + at, c, s16, pos0 + at, 0, RATE)), GST_FLOW_OK);
          at += c;
        }
        push_eos (h);
        Output o = { 0 };
        pull_output (h, &o, s16, pos0, 0, RATE);
        CU_ASSERT_EQUAL (o.n, n);
        CU_ASSERT_EQUAL (o.bad_timing, 0);
        CU_ASSERT_EQUAL (o.no_meta, 0);
        CU_ASSERT_EQUAL (o.bad_level, 0);
        CU_ASSERT_TRUE (o.first_discont);
        CU_ASSERT_TRUE (all_finite (o.x, o.n));
        if (o.n == n) {
          const float *ref = mix ? (s16 ? want_q : want) : (s16 ? xq : x);
          const double d = max_abs_diff (o.x, ref, n), tol = s16 ? 1.01 / 32768 : mix ? 1e-5 : 0;
          if (d > tol)
            fprintf (stderr, "  %s sizes %zu,%zu,%zu mix=%d: max |out - want| = %g\n", s16 ? "S16" : "F32",
                     sizes[s][0], sizes[s][1], sizes[s][2], mix, d);
          CU_ASSERT (d <= tol);
        }
        g_free (o.x);
        gst_harness_teardown (h);
      }
}

/* LATENCY: upstream's plus latency + hop - 1 samples, from the C API's numbers. */
static void
test_latency_query (void)
{
  g_autoptr (GError) err = NULL;
  NerveModel *m = nerve_model_load (model_path, &err);
  NerveDenoiser *d = nerve_denoiser_new (m, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (d);
  const int samples = nerve_denoiser_latency (d) + nerve_denoiser_hop (d) - 1;
  nerve_denoiser_free (d);
  nerve_model_unref (m);
  const GstClockTime ours = gst_util_uint64_scale_int_ceil ((guint64) samples, GST_SECOND, RATE);
  CU_ASSERT_EQUAL (ours, 31937500); /* 511 samples at 16 kHz */

  GstHarness *h = harness (NULL);
  gst_harness_set_upstream_latency (h, 40 * GST_MSECOND);
  CU_ASSERT_EQUAL (gst_harness_query_latency (h), 40 * GST_MSECOND + ours);
  GstQuery *q = gst_query_new_latency ();
  CU_ASSERT_TRUE (gst_pad_peer_query (h->sinkpad, q));
  GstClockTime min, max;
  gboolean live;
  gst_query_parse_latency (q, &live, &min, &max);
  CU_ASSERT_EQUAL (min, 40 * GST_MSECOND + ours);
  CU_ASSERT (max == GST_CLOCK_TIME_NONE || max >= min);
  gst_query_unref (q);

  /* the claim is true: 1-sample buffers, output appears (latency + hop - 1) samples late at most */
  g_autofree float *x = test_signal (4000, RATE, 2);
  guint64 worst = 0, pushed_out = 0;
  for (gsize i = 0; i < 4000; i++) {
    gst_harness_push (h, audio_buffer (x + i, 1, FALSE, i, 0, RATE));
    const guint64 before = pushed_out;
    GstBuffer *b;
    while ((b = gst_harness_try_pull (h))) {
      pushed_out += gst_buffer_get_size (b) / 4;
      gst_buffer_unref (b);
    }
    /* the arrival of sample i released samples before..pushed_out: the oldest waited i - before */
    if (pushed_out > before)
      worst = MAX (worst, i - before);
  }
  CU_ASSERT_EQUAL (worst, (guint64) samples);
  gst_harness_teardown (h);
}

/* FLUSH drops what is held back and resets: after it, a stream gives what it gives
 * from a fresh element. DISCONT drains (no sample lost) and resets too. */
static void
test_flush_and_discont (void)
{
  const gsize n = 6000;
  g_autofree float *a = test_signal (n, RATE, 3), *b = test_signal (n, RATE, 4);
  static const gsize sizes[] = { 333 };
  gsize nf;
  g_autofree float *fresh = run_harness (NULL, b, n, sizes, 1, FALSE, &nf);
  CU_ASSERT_EQUAL_FATAL (nf, n);

  GstHarness *h = harness (NULL);
  push_signal (h, a, n, sizes, 1, FALSE, 0, 0, RATE);
  CU_ASSERT (gst_harness_buffers_in_queue (h) > 0);
  gst_harness_push_event (h, gst_event_new_flush_start ());
  gst_harness_push_event (h, gst_event_new_flush_stop (TRUE));
  GstSegment seg;
  gst_segment_init (&seg, GST_FORMAT_TIME);
  gst_harness_push_event (h, gst_event_new_segment (&seg));
  GstBuffer *drop;
  while ((drop = gst_harness_try_pull (h)))
    gst_buffer_unref (drop);
  push_signal (h, b, n, sizes, 1, FALSE, 0, 0, RATE);
  push_eos (h);
  Output o = { 0 };
  pull_output (h, &o, FALSE, 0, 0, RATE);
  CU_ASSERT_EQUAL_FATAL (o.n, n); /* nothing of a came out after the flush */
  CU_ASSERT_EQUAL (o.bad_timing, 0);
  CU_ASSERT_TRUE (o.first_discont);
  CU_ASSERT_EQUAL (max_abs_diff (o.x, fresh, n), 0);
  g_free (o.x);
  gst_harness_teardown (h);

  /* a then b flagged DISCONT at 10 s: all of a comes out, then b as from fresh, at its own time */
  h = harness (NULL);
  push_signal (h, a, n, sizes, 1, FALSE, 0, 0, RATE);
  GstBuffer *first = audio_buffer (b, 333, FALSE, 0, 10 * GST_SECOND, RATE);
  GST_BUFFER_FLAG_SET (first, GST_BUFFER_FLAG_DISCONT);
  gst_harness_push (h, first);
  Output oa = { 0 };
  pull_output (h, &oa, FALSE, 0, 0, RATE);
  CU_ASSERT_EQUAL (oa.n, n);
  CU_ASSERT_EQUAL (oa.bad_timing, 0);
  push_signal (h, b + 333, n - 333, sizes, 1, FALSE, 333, 10 * GST_SECOND, RATE);
  push_eos (h);
  Output ob = { 0 };
  pull_output (h, &ob, FALSE, 0, 10 * GST_SECOND, RATE);
  CU_ASSERT_EQUAL_FATAL (ob.n, n);
  CU_ASSERT_EQUAL (ob.bad_timing, 0);
  CU_ASSERT_TRUE (ob.first_discont);
  CU_ASSERT_EQUAL (max_abs_diff (ob.x, fresh, n), 0);
  g_free (oa.x);
  g_free (ob.x);

  /* a timestamp jump without the flag counts as a discontinuity too */
  gst_harness_push_event (h, gst_event_new_flush_start ());
  gst_harness_push_event (h, gst_event_new_flush_stop (TRUE));
  gst_harness_push_event (h, gst_event_new_segment (&seg));
  push_signal (h, a, 1000, sizes, 1, FALSE, 0, 0, RATE);
  push_signal (h, b, n, sizes, 1, FALSE, 0, 20 * GST_SECOND, RATE);
  push_eos (h);
  Output oc = { 0 };
  pull_output (h, &oc, FALSE, 0, 0, RATE);
  CU_ASSERT_EQUAL (oc.n, 1000 + n);
  CU_ASSERT (oc.bad_timing >= 1); /* the jump */
  if (oc.n == 1000 + n)
    CU_ASSERT_EQUAL (max_abs_diff (oc.x + 1000, fresh, n), 0);
  g_free (oc.x);
  gst_harness_teardown (h);
}

typedef struct {
  GString *order; /* 'B' per buffer, 'G' per GAP, 'E' for EOS */
  guint64 samples_before_gap;
  guint64 samples;
} Order;

static GstPadProbeReturn
record_order (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Order *o = data;
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    g_string_append_c (o->order, 'B');
    o->samples += gst_buffer_get_size (GST_PAD_PROBE_INFO_BUFFER (info)) / 4;
  } else if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_GAP) {
    g_string_append_c (o->order, 'G');
    o->samples_before_gap = o->samples;
  } else if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_EOS) {
    g_string_append_c (o->order, 'E');
  }
  return GST_PAD_PROBE_OK;
}

/* GAP: everything before it comes out before it, it passes unchanged, and the audio
 * after it keeps its own timestamps. */
static void
test_gap (void)
{
  GstHarness *h = harness (NULL);
  Order o = { g_string_new (NULL), 0, 0 };
  gst_pad_add_probe (h->sinkpad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, record_order, &o,
                     NULL);
  g_autofree float *x = test_signal (3000, RATE, 5);
  static const gsize sizes[] = { 1000 };
  push_signal (h, x, 1000, sizes, 1, FALSE, 0, 0, RATE);
  const GstClockTime t1 = gst_util_uint64_scale_int_round (1000, GST_SECOND, RATE);
  CU_ASSERT_TRUE (gst_harness_push_event (h, gst_event_new_gap (t1, GST_SECOND)));
  push_signal (h, x + 1000, 2000, sizes, 1, FALSE, 0, t1 + GST_SECOND, RATE);
  push_eos (h);
  CU_ASSERT_EQUAL (o.samples_before_gap, 1000);
  CU_ASSERT_EQUAL (o.samples, 3000);
  const char *g = strchr (o.order->str, 'G');
  CU_ASSERT_PTR_NOT_NULL_FATAL (g);
  CU_ASSERT_PTR_EQUAL (strchr (g + 1, 'G'), NULL);
  CU_ASSERT_EQUAL (o.order->str[o.order->len - 1], 'E');
  Output before = { 0 }, after = { 0 };
  /* pull_output checks timing from one base: split the buffers at the gap */
  GstEvent *e;
  GstClockTime gts = 0, gdur = 0;
  while ((e = gst_harness_try_pull_event (h))) {
    if (GST_EVENT_TYPE (e) == GST_EVENT_GAP)
      gst_event_parse_gap (e, &gts, &gdur);
    gst_event_unref (e);
  }
  CU_ASSERT_EQUAL (gts, t1);
  CU_ASSERT_EQUAL (gdur, GST_SECOND);
  guint n_before = (guint) (g - o.order->str);
  GstHarness *tmp = gst_harness_new ("identity"); /* holds the first part's buffers for pull_output */
  gst_harness_set_src_caps_str (tmp, "audio/x-raw, format=F32LE, layout=interleaved, channels=1, rate=16000");
  for (guint i = 0; i < n_before; i++)
    gst_harness_push (tmp, gst_harness_pull (h));
  pull_output (tmp, &before, FALSE, 0, 0, RATE);
  pull_output (h, &after, FALSE, 0, t1 + GST_SECOND, RATE);
  CU_ASSERT_EQUAL (before.n, 1000);
  CU_ASSERT_EQUAL (after.n, 2000);
  CU_ASSERT_EQUAL (before.bad_timing, 0);
  CU_ASSERT_EQUAL (after.bad_timing, 0);
  CU_ASSERT_TRUE (after.first_discont);
  g_free (before.x);
  g_free (after.x);
  gst_harness_teardown (tmp);
  g_string_free (o.order, TRUE);
  gst_harness_teardown (h);
  CU_ASSERT_EQUAL (gst_warnings, 0);

  /* a GAP-flagged buffer is silence in the timeline (whatever its bytes) */
  h = harness (NULL);
  float *junk = g_new (float, 1000), *zeros = g_new0 (float, 3000);
  for (int i = 0; i < 1000; i++)
    junk[i] = NAN;
  memcpy (zeros, x, sizeof (float) * 1000);
  memcpy (zeros + 2000, x + 2000, sizeof (float) * 1000);
  gst_harness_push (h, audio_buffer (x, 1000, FALSE, 0, 0, RATE));
  GstBuffer *gb = audio_buffer (junk, 1000, FALSE, 1000, 0, RATE);
  GST_BUFFER_FLAG_SET (gb, GST_BUFFER_FLAG_GAP);
  gst_harness_push (h, gb);
  gst_harness_push (h, audio_buffer (x + 2000, 1000, FALSE, 2000, 0, RATE));
  push_eos (h);
  Output og = { 0 };
  pull_output (h, &og, FALSE, 0, 0, RATE);
  gst_harness_teardown (h);
  gsize nz;
  g_autofree float *yz = run_harness (NULL, zeros, 3000, sizes, 1, FALSE, &nz);
  CU_ASSERT_EQUAL_FATAL (og.n, 3000);
  CU_ASSERT_EQUAL (og.bad_timing, 0);
  CU_ASSERT_EQUAL (max_abs_diff (og.x, yz, 3000), 0);
  g_free (og.x);
  g_free (junk);
  g_free (zeros);
}

/* NaN/Inf count as silence and huge values as +-8: the output is finite and equals
 * the output for the sanitised input, so the recurrent state was never poisoned. */
static void
test_nonfinite_input (void)
{
  const gsize n = 2 * RATE;
  g_autofree float *x = test_signal (n, RATE, 6);
  g_autofree float *bad = g_memdup2 (x, n * sizeof (float)), *clean = g_memdup2 (x, n * sizeof (float));
  for (gsize i = RATE / 4; i < RATE / 4 + 1600; i++) { /* 100 ms of garbage */
    const float v[] = { NAN, INFINITY, -INFINITY, 1e30f, -3e38f, NAN };
    bad[i] = v[i % 6];
    clean[i] = isfinite (v[i % 6]) ? (v[i % 6] > 0 ? 8.0f : -8.0f) : 0.0f;
  }
  static const gsize sizes[] = { 441 };
  gsize nb, nc;
  g_autofree float *yb = run_harness (NULL, bad, n, sizes, 1, FALSE, &nb);
  g_autofree float *yc = run_harness (NULL, clean, n, sizes, 1, FALSE, &nc);
  CU_ASSERT_EQUAL_FATAL (nb, n);
  CU_ASSERT_EQUAL_FATAL (nc, n);
  CU_ASSERT_TRUE (all_finite (yb, n));
  CU_ASSERT_EQUAL (max_abs_diff (yb, yc, n), 0);
  /* and processing is back to what the undisturbed signal gives within a second */
  gsize nx;
  g_autofree float *yx = run_harness (NULL, x, n, sizes, 1, FALSE, &nx);
  const gsize from = RATE / 4 + 1600 + RATE;
  double e = 0, d = 0;
  for (gsize i = from; i < n; i++) {
    e += (double) yx[i] * yx[i];
    d += ((double) yb[i] - yx[i]) * ((double) yb[i] - yx[i]);
  }
  const double snr = 10 * log10 (e / MAX (d, 1e-30));
  printf ("  1 s after 100 ms of NaN/Inf: output %.1f dB from the undisturbed output's\n", snr);
  CU_ASSERT (snr > 20); /* 30.0 dB with the random test model */
}

/* Sets the state and returns the first error posted, if any. */
static GError *
start_element (GstElement *e, GstStateChangeReturn *ret, char **debug)
{
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (e, bus);
  *ret = gst_element_set_state (e, GST_STATE_READY);
  GError *err = NULL;
  GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  if (m) {
    gst_message_parse_error (m, &err, debug);
    gst_message_unref (m);
  }
  gst_element_set_state (e, GST_STATE_NULL);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  return err;
}

/* The element fails going to READY with an error carrying the loader's message. */
static void
expect_model_error (const char *path, int code, const char *load_message)
{
  GstElement *e = gst_element_factory_make ("nervedenoise", NULL);
  g_object_set (e, "model", path, NULL);
  GstStateChangeReturn ret;
  g_autofree char *debug = NULL;
  g_autoptr (GError) err = start_element (e, &ret, &debug);
  CU_ASSERT_EQUAL (ret, GST_STATE_CHANGE_FAILURE);
  CU_ASSERT_PTR_NOT_NULL_FATAL (err);
  CU_ASSERT_TRUE (g_error_matches (err, GST_RESOURCE_ERROR, code));
  CU_ASSERT_STRING_EQUAL (err->message, "Could not load model");
  CU_ASSERT_PTR_NOT_NULL_FATAL (debug);
  if (!strstr (debug, load_message)) {
    fprintf (stderr, "  '%s' lacks the loader's '%s'\n", debug, load_message);
    CU_FAIL ("error carries the loader's message");
  }
  gst_object_unref (e);
}

static void
expect_load_error (const char *path, int code)
{
  g_autoptr (GError) load_err = NULL;
  NerveModel *nm = nerve_model_load (path, &load_err);
  CU_ASSERT_PTR_NULL_FATAL (nm);
  expect_model_error (path, code, load_err->message);
}

static void
test_model_errors (void)
{
  g_autofree char *missing = g_build_filename (dir, "no-such-model.nerve", NULL);
  expect_load_error (missing, GST_RESOURCE_ERROR_NOT_FOUND);
  g_autofree char *garbage = g_build_filename (dir, "garbage.nerve", NULL);
  g_file_set_contents (garbage, "this is not a model file at all", -1, NULL);
  expect_load_error (garbage, GST_RESOURCE_ERROR_OPEN_READ);
  g_autofree char *bytes = NULL;
  gsize len = 0;
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (model_path, &bytes, &len, NULL));
  g_autofree char *cut = g_build_filename (dir, "cut.nerve", NULL);
  g_file_set_contents (cut, bytes, (gssize) (len / 2), NULL);
  expect_load_error (cut, GST_RESOURCE_ERROR_OPEN_READ);
  /* a good model file that is no denoise model: the denoiser's message */
  g_autoptr (GError) err = NULL;
  NerveModel *m = nerve_model_new ("{\"input\":[4],\"layers\":[{\"type\":\"dense\",\"units\":2}]}", &err);
  nerve_model_init_params (m, 1);
  g_autofree char *other = g_build_filename (dir, "not-denoise.nerve", NULL);
  CU_ASSERT_TRUE_FATAL (nerve_model_save (m, other, NULL));
  NerveDenoiser *d = nerve_denoiser_new (m, &err);
  CU_ASSERT_PTR_NULL_FATAL (d);
  expect_model_error (other, GST_RESOURCE_ERROR_OPEN_READ, err->message);
  nerve_model_unref (m);
}

/* Caps: the model's rate, mono, F32LE/S16LE; anything else is refused. */
static void
test_caps (void)
{
  static const char *const bad[] = {
    "audio/x-raw, format=F32LE, layout=interleaved, channels=2, rate=16000",
    "audio/x-raw, format=F32LE, layout=interleaved, channels=1, rate=44100",
    "audio/x-raw, format=S32LE, layout=interleaved, channels=1, rate=16000",
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autofree char *desc = g_strdup_printf ("nervedenoise model=\"%s\"", model_path);
    GstHarness *h = gst_harness_new_parse (desc);
    gst_harness_set_src_caps_str (h, bad[i]);
    float zeros[64] = { 0 };
    GstBuffer *b = gst_buffer_new_memdup (zeros, sizeof zeros);
    CU_ASSERT_EQUAL (gst_harness_push (h, b), GST_FLOW_NOT_NEGOTIATED);
    gst_harness_teardown (h);
  }
  /* in READY the sink pad answers with the model's rate */
  GstElement *e = gst_element_factory_make ("nervedenoise", NULL);
  g_object_set (e, "model", model48_path, NULL);
  CU_ASSERT_EQUAL (gst_element_set_state (e, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  GstPad *sink = gst_element_get_static_pad (e, "sink");
  GstCaps *c = gst_pad_query_caps (sink, NULL);
  GstCaps *want = gst_caps_from_string ("audio/x-raw, format={F32LE, S16LE}, layout=interleaved, channels=1, rate=48000");
  CU_ASSERT_TRUE (gst_caps_is_equal (c, want));
  gst_caps_unref (c);
  gst_caps_unref (want);
  gst_object_unref (sink);
  gst_element_set_state (e, GST_STATE_NULL);
  gst_object_unref (e);

  /* a pipeline at another rate fails to negotiate; audioresample in front fixes it */
  for (int fix = 0; fix < 2; fix++) {
    g_autofree char *desc = g_strdup_printf (
      "audiotestsrc num-buffers=10 ! audio/x-raw, rate=44100, channels=%d ! %s nervedenoise model=\"%s\" ! fakesink",
      fix ? 2 : 1, fix ? "audioconvert ! audioresample !" : "", model48_path);
    GstElement *p = gst_parse_launch (desc, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL (p);
    GstBus *bus = gst_element_get_bus (p);
    gst_element_set_state (p, GST_STATE_PLAYING);
    GstMessage *m = gst_bus_timed_pop_filtered (bus, 30 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    CU_ASSERT_PTR_NOT_NULL_FATAL (m);
    CU_ASSERT_EQUAL (GST_MESSAGE_TYPE (m), fix ? GST_MESSAGE_EOS : GST_MESSAGE_ERROR);
    if (!fix) {
      GError *err = NULL;
      gst_message_parse_error (m, &err, NULL);
      char *debug = NULL;
      gst_message_parse_error (m, NULL, &debug);
      CU_ASSERT_PTR_NOT_NULL (strstr (debug ? debug : "", "not-negotiated"));
      g_free (debug);
      g_error_free (err);
    }
    gst_message_unref (m);
    gst_element_set_state (p, GST_STATE_NULL);
    gst_object_unref (bus);
    gst_object_unref (p);
  }
}

/* Messages: one per interval of output with consistent times; a shorter one at EOS;
 * none when off; the interval can change while playing. */
static void
test_messages (void)
{
  const gsize n = RATE + RATE / 20; /* 1.05 s */
  g_autofree float *x = test_signal (n, RATE, 7);
  static const gsize sizes[] = { 1000, 7 };
  GstHarness *h = harness (NULL);
  GstBus *bus = harness_bus (h);
  GstSegment seg;
  gst_segment_init (&seg, GST_FORMAT_TIME);
  seg.base = 5 * GST_SECOND; /* running time = 5 s + timestamp */
  gst_harness_push_event (h, gst_event_new_segment (&seg));
  push_signal (h, x, n, sizes, 2, FALSE, 0, 0, RATE);
  push_eos (h);
  GstMessage *m;
  int k = 0;
  double vad_sum = 0;
  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (m);
    CU_ASSERT_TRUE (gst_structure_has_name (s, "nervedenoise"));
    CU_ASSERT_STRING_EQUAL (GST_OBJECT_NAME (GST_MESSAGE_SRC (m)), "dn");
    double vad = -1, snr = NAN, gain = NAN;
    guint64 ts = 0, dur = 0, rt = 0, st = 0;
    CU_ASSERT_TRUE (gst_structure_get_double (s, "voice-probability", &vad));
    CU_ASSERT_TRUE (gst_structure_get_double (s, "snr", &snr));
    CU_ASSERT_TRUE (gst_structure_get_double (s, "gain", &gain));
    CU_ASSERT_TRUE (gst_structure_get_uint64 (s, "timestamp", &ts));
    CU_ASSERT_TRUE (gst_structure_get_uint64 (s, "duration", &dur));
    CU_ASSERT_TRUE (gst_structure_get_uint64 (s, "running-time", &rt));
    CU_ASSERT_TRUE (gst_structure_get_uint64 (s, "stream-time", &st));
    CU_ASSERT (vad >= 0 && vad <= 1);
    CU_ASSERT (isfinite (snr) && isfinite (gain));
    CU_ASSERT_EQUAL (ts, (guint64) k * 100 * GST_MSECOND);
    CU_ASSERT_EQUAL (dur, k < 10 ? 100 * GST_MSECOND : 50 * GST_MSECOND);
    CU_ASSERT_EQUAL (rt, ts + 5 * GST_SECOND);
    CU_ASSERT_EQUAL (st, ts);
    vad_sum += vad;
    gst_message_unref (m);
    k++;
  }
  CU_ASSERT_EQUAL (k, 11);
  CU_ASSERT (vad_sum > 0);

  /* off, then on at 250 ms while playing */
  for (int how = 0; how < 2; how++) {
    if (how)
      set_prop (h, "post-messages", FALSE, "message-interval", (guint64) (100 * GST_MSECOND), NULL);
    else
      set_prop (h, "message-interval", (guint64) 0, NULL);
    gst_harness_push_event (h, gst_event_new_flush_start ());
    gst_harness_push_event (h, gst_event_new_flush_stop (TRUE));
    gst_harness_push_event (h, gst_event_new_segment (&seg));
    push_signal (h, x, n, sizes, 1, FALSE, 0, 0, RATE);
    GstMessage *none = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT);
    if (none)
      fprintf (stderr, "  unexpected %s\n", gst_structure_to_string (gst_message_get_structure (none)));
    CU_ASSERT_PTR_NULL (none);
    g_clear_pointer (&none, gst_message_unref);
  }
  set_prop (h, "post-messages", TRUE, "message-interval", (guint64) (250 * GST_MSECOND), NULL);
  push_signal (h, x, n, sizes, 1, FALSE, n, 0, RATE);
  push_eos (h);
  /* from where output was when it changed: 250 ms intervals, the last one shorter */
  GArray *ts = g_array_new (FALSE, FALSE, sizeof (guint64)), *durs = g_array_new (FALSE, FALSE, sizeof (guint64));
  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    guint64 t = 0, dur = 0;
    gst_structure_get_uint64 (gst_message_get_structure (m), "timestamp", &t);
    gst_structure_get_uint64 (gst_message_get_structure (m), "duration", &dur);
    g_array_append_val (ts, t);
    g_array_append_val (durs, dur);
    gst_message_unref (m);
  }
  CU_ASSERT_EQUAL_FATAL (ts->len, 5);
  const guint64 *t = (const guint64 *) (gpointer) ts->data, *dur = (const guint64 *) (gpointer) durs->data;
  CU_ASSERT (t[0] > gst_util_uint64_scale_int (n - 1024, GST_SECOND, RATE) && t[0] < gst_util_uint64_scale_int (n, GST_SECOND, RATE));
  for (guint i = 0; i < 4; i++) {
    CU_ASSERT_EQUAL (dur[i], 250 * GST_MSECOND);
    CU_ASSERT_EQUAL (t[i + 1], t[i] + dur[i]);
  }
  CU_ASSERT (dur[4] > 0 && dur[4] < 250 * GST_MSECOND);
  CU_ASSERT_EQUAL (t[4] + dur[4], gst_util_uint64_scale_int (2 * n, GST_SECOND, RATE)); /* ends where the input did */
  g_array_unref (ts);
  g_array_unref (durs);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

/* Properties: defaults, ranges, and mix/attenuation-limit taking effect mid-stream. */
static void
test_properties (void)
{
  GstElement *e = gst_element_factory_make ("nervedenoise", NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (e);
  int threads;
  gboolean post;
  float limit, mix, vad;
  guint64 interval;
  char *model;
  g_object_get (e, "threads", &threads, "post-messages", &post, "attenuation-limit", &limit, "mix", &mix,
                "vad-threshold", &vad, "message-interval", &interval, "model", &model, NULL);
  CU_ASSERT_EQUAL (threads, 1);
  CU_ASSERT_TRUE (post);
  CU_ASSERT_EQUAL (limit, G_MAXFLOAT);
  CU_ASSERT_EQUAL (mix, 1.0f);
  CU_ASSERT_EQUAL (vad, 0.0f);
  CU_ASSERT_EQUAL (interval, 100 * GST_MSECOND);
  CU_ASSERT_PTR_NULL (model);
  static const char *const playing[] = { "mix", "attenuation-limit", "vad-threshold", "message-interval", "post-messages" };
  for (guint i = 0; i < G_N_ELEMENTS (playing); i++)
    CU_ASSERT_TRUE (g_object_class_find_property (G_OBJECT_GET_CLASS (e), playing[i])->flags & GST_PARAM_MUTABLE_PLAYING);
  gst_object_unref (e);

  /* mix=0 until 0.5 s, then 1: the first part is the input exactly, the rest is not */
  const gsize n = RATE;
  g_autofree float *x = test_signal (n, RATE, 8);
  static const gsize sizes[] = { 800 };
  GstHarness *h = harness ("mix=0 threads=2");
  push_signal (h, x, n / 2, sizes, 1, FALSE, 0, 0, RATE);
  Output o = { 0 };
  pull_output (h, &o, FALSE, 0, 0, RATE);
  const gsize first = o.n;
  CU_ASSERT (first > 0 && first < n / 2);
  CU_ASSERT_EQUAL (max_abs_diff (o.x, x, first), 0);
  set_prop (h, "mix", 1.0f, NULL);
  push_signal (h, x + n / 2, n - n / 2, sizes, 1, FALSE, n / 2, 0, RATE);
  push_eos (h);
  pull_output (h, &o, FALSE, 0, 0, RATE);
  CU_ASSERT_EQUAL_FATAL (o.n, n);
  CU_ASSERT (max_abs_diff (o.x + n / 2 + 1024, x + n / 2 + 1024, n / 2 - 1024) > 1e-3);
  CU_ASSERT_EQUAL (o.bad_timing, 0);
  g_free (o.x);
  gst_harness_teardown (h);

  /* attenuation-limit=0 allows no reduction; vad-threshold=1 mutes nearly everything */
  gsize n0, n1, n2;
  g_autofree float *y0 = run_harness ("attenuation-limit=0", x, n, sizes, 1, FALSE, &n0);
  g_autofree float *y1 = run_harness (NULL, x, n, sizes, 1, FALSE, &n1);
  g_autofree float *y2 = run_harness ("vad-threshold=1", x, n, sizes, 1, FALSE, &n2);
  CU_ASSERT_EQUAL_FATAL (n0, n);
  CU_ASSERT_EQUAL_FATAL (n2, n);
  double e0 = 0, e1 = 0, e2 = 0, ex = 0;
  for (gsize i = 0; i < n; i++) {
    e0 += (double) y0[i] * y0[i];
    e1 += (double) y1[i] * y1[i];
    e2 += (double) y2[i] * y2[i];
    ex += (double) x[i] * x[i];
  }
  fprintf (stderr, "  energy: input %.1f, limit 0 dB %.1f, default %.1f, vad-threshold=1 %.3f\n", ex, e0, e1, e2);
  CU_ASSERT (e0 >= e1);
  CU_ASSERT (e2 < 0.1 * e1);
}

/* Means of the fields of every 'nervedenoise' message on the bus (count returned). */
static int
message_means (GstBus *bus, double *vad, double *snr, double *gain)
{
  int k = 0;
  *vad = *snr = *gain = 0;
  GstMessage *m;
  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (m);
    double v = 0, sn = 0, g = 0;
    gst_structure_get_double (s, "voice-probability", &v);
    gst_structure_get_double (s, "snr", &sn);
    gst_structure_get_double (s, "gain", &g);
    *vad += v;
    *snr += sn;
    *gain += g;
    gst_message_unref (m);
    k++;
  }
  if (k) {
    *vad /= k;
    *snr /= k;
    *gain /= k;
  }
  return k;
}

/* With models whose gains and VAD are constant (sigmoid(-30) or sigmoid(30)), the
 * attenuation limit, VAD muting, the meta's voice flag and the messages' voice
 * probability and gain have exact expected values. */
static void
test_constant_models (void)
{
  const gsize n = RATE / 2;
  g_autofree float *x = test_signal (n, RATE, 9);
  static const gsize sizes[] = { 500 };
  static const struct {
    const char *props;
    gboolean pass;     /* the pass model, else the mute one */
    double gain_db;    /* output = input * 10^(gain_db/20); NAN: silent */
    gboolean voice;
  } cases[] = {
    { "attenuation-limit=6", FALSE, -6.0, FALSE },
    { "attenuation-limit=20.5", FALSE, -20.5, FALSE },
    { "attenuation-limit=0", FALSE, 0.0, FALSE },
    { NULL, FALSE, NAN, FALSE },                       /* no limit: sigmoid(-30) removes everything */
    { "attenuation-limit=100", FALSE, NAN, FALSE },    /* 100 and up: no limit */
    { "attenuation-limit=0 vad-threshold=0.5", FALSE, NAN, FALSE }, /* VAD ~0: muted */
    { NULL, TRUE, 0.0, TRUE },
    { "vad-threshold=0.9", TRUE, 0.0, TRUE },          /* VAD ~1: never muted */
    { "mix=0.25", FALSE, -2.498774732, FALSE },        /* wet part silent: 3/4 of the input, 20 log10 0.75 dB */
  };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    GstHarness *h = harness_full (cases[c].pass ? pass_path : mute_path, cases[c].props, "F32LE", RATE);
    GstBus *bus = harness_bus (h);
    push_signal (h, x, n, sizes, 1, FALSE, 0, 0, RATE);
    push_eos (h);
    Output o = { 0 };
    pull_output (h, &o, FALSE, 0, 0, RATE);
    CU_ASSERT_EQUAL_FATAL (o.n, n);
    const double g = isnan (cases[c].gain_db) ? 0 : pow (10.0, cases[c].gain_db / 20);
    double worst = 0;
    for (gsize i = STFT_HOP; i < n; i++) /* the VAD fade takes the first hop */
      worst = MAX (worst, fabs (o.x[i] - g * x[i]));
    double vad, snr, gain;
    const int k = message_means (bus, &vad, &snr, &gain);
    if (worst > 1e-4)
      fprintf (stderr, "  %s model, %s: max |out - %.4f in| = %g\n", cases[c].pass ? "pass" : "mute",
               cases[c].props ? cases[c].props : "defaults", g, worst);
    CU_ASSERT (worst <= 1e-4);
    CU_ASSERT_EQUAL (o.voiced, cases[c].voice ? o.n_buffers : 0);
    CU_ASSERT_EQUAL (k, 5);
    CU_ASSERT (cases[c].voice ? vad > 0.999 : vad < 0.001);
    if (!isnan (cases[c].gain_db) && !strstr (cases[c].props ? cases[c].props : "", "mix")) /* gain: before the mix */
      CU_ASSERT_DOUBLE_EQUAL (gain, cases[c].gain_db, 0.05);
    g_free (o.x);
    gst_object_unref (bus);
    gst_harness_teardown (h);
  }
}

/* The level meta: on every buffer (checked by pull_output everywhere), 127 for
 * silence, and it survives copies. */
static void
test_level_meta (void)
{
  GstHarness *h = harness (NULL);
  float zeros[4096] = { 0 };
  gst_harness_push (h, audio_buffer (zeros, 4096, FALSE, 0, 0, RATE));
  GstBuffer *b = gst_harness_pull (h);
  GstAudioLevelMeta *m = gst_buffer_get_audio_level_meta (b);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  CU_ASSERT_EQUAL (m->level, 127);
  GstBuffer *c = gst_buffer_copy (b);
  CU_ASSERT_PTR_NOT_NULL (gst_buffer_get_audio_level_meta (c));
  gst_buffer_unref (b);
  gst_buffer_unref (c);
  gst_harness_teardown (h);
}

static void
test_default_model (void)
{
  g_autofree char *empty = g_build_filename (dir, "empty-models", NULL);
  g_autofree char *models = g_build_filename (dir, "models", "denoise", NULL);
  g_mkdir_with_parents (empty, 0700);
  g_mkdir_with_parents (models, 0700);
  g_setenv ("NERVE_MODEL_PATH", empty, TRUE);
  if (!g_file_test (NERVE_DEFAULT_DENOISE_MODEL, G_FILE_TEST_EXISTS)) {
    GstElement *e = gst_element_factory_make ("nervedenoise", NULL);
    GstStateChangeReturn ret;
    g_autofree char *debug = NULL;
    g_autoptr (GError) err = start_element (e, &ret, &debug);
    CU_ASSERT_EQUAL (ret, GST_STATE_CHANGE_FAILURE);
    CU_ASSERT_TRUE_FATAL (err && g_error_matches (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND));
    CU_ASSERT_PTR_NOT_NULL (strstr (debug, "model="));
    CU_ASSERT_PTR_NOT_NULL (strstr (debug, "NERVE_MODEL_PATH"));
    gst_object_unref (e);
  }
  /* <dir>/denoise/denoise.nerve in a NERVE_MODEL_PATH directory is found */
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_file_get_contents (model48_path, &bytes, &len, NULL);
  g_autofree char *found = g_build_filename (models, "denoise.nerve", NULL);
  g_file_set_contents (found, bytes, (gssize) len, NULL);
  g_autofree char *parent = g_path_get_dirname (models);
  g_autofree char *search = g_strjoin (G_SEARCHPATH_SEPARATOR_S, empty, parent, NULL);
  g_setenv ("NERVE_MODEL_PATH", search, TRUE);
  GstHarness *h = gst_harness_new_parse ("nervedenoise");
  gst_harness_set_src_caps_str (h, "audio/x-raw, format=F32LE, layout=interleaved, channels=1, rate=48000");
  float zeros[1024] = { 0 };
  gst_harness_push (h, audio_buffer (zeros, 1024, FALSE, 0, 0, 48000));
  push_eos (h);
  Output o = { 0 };
  pull_output (h, &o, FALSE, 0, 0, 48000);
  CU_ASSERT_EQUAL (o.n, 1024);
  CU_ASSERT_EQUAL (o.bad_timing, 0);
  g_free (o.x);
  gst_harness_teardown (h);
  g_unsetenv ("NERVE_MODEL_PATH");
}

/* Runs a pipeline to EOS (or error) with a timeout; returns TRUE on EOS. */
static gboolean
run_pipeline (GstElement *p, GError **error)
{
  GstBus *bus = gst_element_get_bus (p);
  gboolean ok = gst_element_set_state (p, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE;
  GstMessage *m = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  ok = ok && m && GST_MESSAGE_TYPE (m) == GST_MESSAGE_EOS;
  if (m && GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR)
    gst_message_parse_error (m, error, NULL);
  if (m)
    gst_message_unref (m);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (bus);
  return ok;
}

static void
test_state_cycles (void)
{
  GstElement *e = gst_element_factory_make ("nervedenoise", NULL);
  g_object_set (e, "model", model_path, NULL);
  for (int i = 0; i < 100; i++) {
    CU_ASSERT_EQUAL (gst_element_set_state (e, GST_STATE_PLAYING), GST_STATE_CHANGE_SUCCESS);
    CU_ASSERT_EQUAL (gst_element_set_state (e, i % 2 ? GST_STATE_NULL : GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  }
  gst_element_set_state (e, GST_STATE_NULL);
  gst_object_unref (e);
  /* and 100 runs with data, stopped at EOS or halfway */
  g_autofree char *desc = g_strdup_printf ("audiotestsrc num-buffers=20 samplesperbuffer=333 wave=pink-noise ! "
                                           "audio/x-raw,rate=16000,channels=1,format=S16LE ! nervedenoise model=\"%s\" "
                                           "! fakesink sync=false",
                                           model_path);
  GstElement *p = gst_parse_launch (desc, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  int eos = 0;
  for (int i = 0; i < 100; i++) {
    if (i % 2) {
      CU_ASSERT_NOT_EQUAL (gst_element_set_state (p, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
      CU_ASSERT_EQUAL (gst_element_set_state (p, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
    } else {
      eos += run_pipeline (p, NULL);
    }
  }
  CU_ASSERT_EQUAL (eos, 50);
  gst_object_unref (p);
}

/* Samples of a 16-bit mono WAV file as float (NULL when it is not one). */
static float *
read_wav16 (const char *path, gsize *n, int *rate)
{
  g_autofree guint8 *d = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, (char **) &d, &len, NULL) || len < 12 || memcmp (d, "RIFF", 4) || memcmp (d + 8, "WAVE", 4))
    return NULL;
  int bits = 0, channels = 0;
  for (gsize at = 12; at + 8 <= len;) {
    const guint32 size = GUINT32_FROM_LE (*(guint32 *) (gpointer) (d + at + 4));
    if (!memcmp (d + at, "fmt ", 4) && size >= 16) {
      channels = GUINT16_FROM_LE (*(guint16 *) (gpointer) (d + at + 10));
      *rate = (int) GUINT32_FROM_LE (*(guint32 *) (gpointer) (d + at + 12));
      bits = GUINT16_FROM_LE (*(guint16 *) (gpointer) (d + at + 22));
    } else if (!memcmp (d + at, "data", 4) && bits == 16 && channels == 1) {
      *n = MIN (size, len - at - 8) / 2;
      float *x = g_new (float, *n);
      for (gsize i = 0; i < *n; i++)
        x[i] = (gint16) GUINT16_FROM_LE (*(guint16 *) (gpointer) (d + at + 8 + 2 * i)) / 32768.0f;
      return x;
    }
    at += 8 + size + (size & 1);
  }
  return NULL;
}

/* The committed fixture (tests/gen/denoise-fixture.sh): espeak-ng speech plus seeded
 * noise, and the clean speech, 16 kHz. */
static char *noisy_fixture, *clean_fixture;

/* filesrc ! decodebin ! audioconvert ! audioresample ! nervedenoise ! wavenc ! filesink */
static float *
denoise_file (const char *model, const char *props, gsize *n, int *rate)
{
  g_autofree char *out = g_build_filename (dir, "enhanced.wav", NULL);
  remove (out);
  g_autofree char *desc = g_strdup_printf ("filesrc location=\"%s\" ! decodebin ! audioconvert ! audioresample ! "
                                           "nervedenoise model=\"%s\" %s ! wavenc ! filesink location=\"%s\"",
                                           noisy_fixture, model, props ? props : "", out);
  GstElement *p = gst_parse_launch (desc, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autoptr (GError) err = NULL;
  CU_ASSERT_TRUE (run_pipeline (p, &err));
  if (err)
    fprintf (stderr, "  pipeline error: %s\n", err->message);
  gst_object_unref (p);
  return read_wav16 (out, n, rate);
}

/* The file pipeline with the random test model: same length, and mix=0 gives the
 * decoded input back sample for sample (nothing shifted, nothing dropped). */
static void
test_file_pipeline (void)
{
  gsize nc = 0, n0 = 0, n1 = 0;
  int rc = 0, r0 = 0, r1 = 0;
  g_autofree float *noisy = NULL;
  {
    g_autofree char *out = g_build_filename (dir, "decoded.wav", NULL);
    g_autofree char *desc = g_strdup_printf ("filesrc location=\"%s\" ! decodebin ! audioconvert ! "
                                             "audio/x-raw,format=S16LE ! wavenc ! filesink location=\"%s\"",
                                             noisy_fixture, out);
    GstElement *p = gst_parse_launch (desc, NULL);
    CU_ASSERT_TRUE (run_pipeline (p, NULL));
    gst_object_unref (p);
    noisy = read_wav16 (out, &nc, &rc);
  }
  CU_ASSERT_PTR_NOT_NULL_FATAL (noisy);
  CU_ASSERT_EQUAL (rc, RATE);
  g_autofree float *y0 = denoise_file (model_path, "mix=0", &n0, &r0);
  g_autofree float *y1 = denoise_file (model_path, NULL, &n1, &r1);
  CU_ASSERT_PTR_NOT_NULL_FATAL (y0);
  CU_ASSERT_PTR_NOT_NULL_FATAL (y1);
  CU_ASSERT_EQUAL (r0, RATE);
  CU_ASSERT_EQUAL_FATAL (n0, nc);
  CU_ASSERT_EQUAL (n1, nc);
  CU_ASSERT (max_abs_diff (y0, noisy, nc) <= 1.0 / 32768);
  CU_ASSERT_EQUAL (gst_warnings, 0);
}

/* A real model on the committed speech fixture: the pipeline's output has a higher
 * SI-SDR against the clean speech than its input, as it comes out (the element removes
 * its latency: no lag); and 1 s after 100 ms of NaN/Inf/huge samples the enhancement
 * is as good as without them. */
static void
check_real_model (const char *model)
{
  g_autoptr (GError) err = NULL;
  gsize n = 0;
  g_autoptr (NerveModel) m = nerve_model_load (model, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  g_autoptr (NerveDenoiser) d = nerve_denoiser_new (m, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (d);
  const int rate = nerve_denoiser_rate (d);
  g_autofree float *clean = nerve_audio_read_at (clean_fixture, rate, &n, &err);
  g_autofree float *noisy = nerve_audio_read_at (noisy_fixture, rate, &n, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (clean);
  CU_ASSERT_PTR_NOT_NULL_FATAL (noisy);
  gsize ny = 0;
  int ry = 0;
  g_autofree float *y = denoise_file (model, NULL, &ny, &ry);
  CU_ASSERT_PTR_NOT_NULL_FATAL (y);
  CU_ASSERT_EQUAL (ry, rate);
  CU_ASSERT (ny + 2 >= n && ny <= n + 2); /* audioresample may round the length by a sample */
  const gsize len = MIN (n, ny);
  const double in = nerve_si_sdr (noisy, clean, len), out = nerve_si_sdr (y, clean, len);
  const int lag = nerve_audio_delay (y, clean, len, rate / 50);
  printf ("  %s (%s, %d Hz): SI-SDR %.2f dB -> %.2f dB (%+.2f), output lag %d samples\n", model,
          nerve_denoiser_frontend (d), rate, in, out, out - in, lag);
  CU_ASSERT (out > in);
  CU_ASSERT (lag <= 1);

  /* recovery after garbage at 0.5 s, on the noisy speech */
  g_autofree float *bad = g_memdup2 (noisy, n * sizeof (float));
  const gsize g0 = (gsize) rate / 2, g1 = g0 + (gsize) rate / 10;
  for (gsize i = g0; i < g1; i++)
    bad[i] = (float[]) { NAN, INFINITY, -INFINITY, 1e30f } [i % 4];
  static const gsize sizes[] = { 480 };
  Output ob = { 0 }, ox = { 0 };
  run_model_at (model, NULL, bad, n, sizes, 1, FALSE, rate, &ob);
  run_model_at (model, NULL, noisy, n, sizes, 1, FALSE, rate, &ox);
  CU_ASSERT_EQUAL_FATAL (ob.n, n);
  CU_ASSERT_EQUAL_FATAL (ox.n, n);
  CU_ASSERT_TRUE (all_finite (ob.x, n));
  /* recurrent models (DTLN's LSTMs most) remember any 100 ms event for seconds, so the
   * check is on quality, not on equality: from 1 s after the burst on, the output is as
   * close to the clean speech as the undisturbed output is (within 1 dB of SI-SDR) */
  const gsize from = g1 + (gsize) rate;
  const double q_in = nerve_si_sdr (noisy + from, clean + from, n - from);
  const double q_ok = nerve_si_sdr (ox.x + from, clean + from, n - from);
  const double q_bad = nerve_si_sdr (ob.x + from, clean + from, n - from);
  printf ("  from 1 s after 100 ms of NaN/Inf/1e30: SI-SDR %.2f dB (undisturbed %.2f dB, input %.2f dB)\n", q_bad,
          q_ok, q_in);
  CU_ASSERT (q_bad > q_ok - 1.0);
  CU_ASSERT (q_bad > q_in);
  g_free (ob.x);
  g_free (ox.x);
}

/* The trained model (NERVE_DENOISE_MODEL or models/denoise/denoise.nerve). */
static void
test_trained_model (void)
{
  g_autofree char *model = trained_model ();
  if (!model) {
    printf ("  SKIP: no trained model (set NERVE_DENOISE_MODEL or add models/denoise/denoise.nerve)\n");
    return;
  }
  check_real_model (model);
}

/* DTLN and RNNoise imported from the shared data's pretrained weights (nerve import). */
static void
test_imported_models (void)
{
  const char *env = g_getenv ("NERVE_DATA_DIR");
  g_autofree char *data = env ? g_strdup (env) : nerve_test_path ("../shared/data");
  g_autofree char *dtln = g_build_filename (data, "pretrained", "dtln", NULL);
  g_autofree char *rnn = g_build_filename (data, "pretrained", "rnnoise", "sh.rnnn", NULL);
  int ran = 0;
  for (int k = 0; k < 2; k++) {
    const char *src = k ? rnn : dtln;
    if (!g_file_test (src, G_FILE_TEST_EXISTS)) {
      printf ("  SKIP: no %s (set NERVE_DATA_DIR to the shared data folder)\n", src);
      continue;
    }
    g_autoptr (GError) err = NULL;
    g_autoptr (NerveModel) m = k ? nerve_import_rnnoise (src, &err) : nerve_import_dtln (src, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL (m);
    g_autofree char *path = g_build_filename (dir, k ? "rnnoise-sh.nerve" : "dtln.nerve", NULL);
    CU_ASSERT_TRUE_FATAL (nerve_model_save (m, path, &err));
    check_real_model (path);
    ran++;
  }
  if (ran)
    CU_ASSERT_EQUAL (ran, 2);
}

/* Every gst-launch-1.0 line in the element's documentation runs as written, with the
 * example files replaced by the fixture, the test model and a temporary output. */
static void
test_documented_launch_lines (void)
{
  g_autofree char *src = nerve_test_path ("plugins/gstnervedenoise.c");
  g_autofree char *out = g_build_filename (dir, "enhanced.wav", NULL);
  g_autofree char *code = NULL;
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (src, &code, NULL, NULL));
  char *end = strstr (code, "*/");
  CU_ASSERT_PTR_NOT_NULL_FATAL (end);
  *end = 0; /* the doc block only */
  g_autofree char *md_path = nerve_test_path ("docs/elements/nervedenoise.md");
  g_autofree char *md = NULL;
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (md_path, &md, NULL, NULL));
  g_autofree char *all = g_strconcat (code, "\n", md, NULL);
  g_auto (GStrv) lines = g_strsplit (all, "\n", -1);
  int ran = 0;
  for (char **l = lines; *l; l++) {
    char *cmd = strstr (*l, "gst-launch-1.0 ");
    if (!cmd || (strncmp (*l, " * gst-launch-1.0", 17) != 0 && strncmp (*l, "gst-launch-1.0", 14) != 0))
      continue;
    if (strstr (cmd, "autoaudiosrc")) /* the live example needs a sound card */
      continue;
    g_autoptr (GString) s = g_string_new (cmd);
    g_autofree char *qf = g_shell_quote (noisy_fixture), *qm = g_shell_quote (model_path), *qo = g_shell_quote (out);
    g_autofree char *lf = g_strconcat ("location=", qf, NULL), *lm = g_strconcat ("model=", qm, NULL),
                    *lo = g_strconcat ("location=", qo, NULL);
    CU_ASSERT (g_string_replace (s, "location=noisy.flac", lf, 0) == 1);
    CU_ASSERT (g_string_replace (s, "model=denoise.nerve", lm, 0) == 1);
    g_string_replace (s, "location=enhanced.wav", lo, 0);
    g_auto (GStrv) argv = NULL;
    CU_ASSERT_TRUE_FATAL (g_shell_parse_argv (s->str, NULL, &argv, NULL));
    g_auto (GStrv) envp = g_get_environ ();
    const char *asan = g_getenv ("NERVE_TEST_ASAN_RUNTIME"); /* sanitizer builds: gst-launch is not instrumented */
    if (asan && *asan) {
      envp = g_environ_setenv (envp, "LD_PRELOAD", asan, TRUE);
      envp = g_environ_setenv (envp, "ASAN_OPTIONS", "detect_leaks=0", TRUE);
    }
    g_autofree char *sout = NULL, *serr = NULL;
    int status = -1;
    g_autoptr (GError) err = NULL;
    remove (out);
    CU_ASSERT_TRUE_FATAL (g_spawn_sync (NULL, argv, envp, G_SPAWN_SEARCH_PATH, NULL, NULL, &sout, &serr, &status, &err));
    if (!g_spawn_check_wait_status (status, NULL))
      fprintf (stderr, "  '%s' failed:\n%s\n%s\n", s->str, sout, serr);
    CU_ASSERT_TRUE (g_spawn_check_wait_status (status, NULL));
    if (strstr (cmd, "enhanced.wav"))
      CU_ASSERT_TRUE (g_file_test (out, G_FILE_TEST_IS_REGULAR));
    if (strstr (cmd, " -m "))
      CU_ASSERT_PTR_NOT_NULL (strstr (sout, "nervedenoise, voice-probability="));
    ran++;
  }
  CU_ASSERT_EQUAL (ran, 6); /* 3 in the element's doc block, 3 in docs/elements/nervedenoise.md */
}

static void
cleanup_dir (const char *path)
{
  GDir *d = g_dir_open (path, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d))) {
    g_autofree char *p = g_build_filename (path, name, NULL);
    if (g_file_test (p, G_FILE_TEST_IS_DIR))
      cleanup_dir (p);
    else
      remove (p);
  }
  if (d)
    g_dir_close (d);
  g_rmdir (path);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_log_set_handler ("GStreamer", G_LOG_LEVEL_WARNING, count_gst_warning, NULL);
  dir = g_dir_make_tmp ("nerve-denoise-el-XXXXXX", NULL);
  model_path = write_mask_model ("mask16.nerve", RATE, STFT_SIZE, STFT_HOP, NAN, 1);
  model48_path = write_mask_model ("mask48.nerve", 48000, 960, 480, NAN, 2);
  mute_path = write_mask_model ("mute16.nerve", RATE, STFT_SIZE, STFT_HOP, -30.0f, 3);
  pass_path = write_mask_model ("pass16.nerve", RATE, STFT_SIZE, STFT_HOP, 30.0f, 4);
  if (!model_path || !model48_path || !mute_path || !pass_path)
    return 1;
  noisy_fixture = nerve_test_path ("tests/fixtures/denoise-noisy.flac");
  clean_fixture = nerve_test_path ("tests/fixtures/denoise-clean.flac");
  static const TestCase tests[] = {
    { "length, timestamps and offsets for odd buffer sizes, S16 and F32; agrees with the C API",
      test_length_and_timestamps },
    { "latency query: upstream + latency + hop - 1 samples, and it holds", test_latency_query },
    { "FLUSH resets; DISCONT and timestamp jumps drain and reset", test_flush_and_discont },
    { "GAP events pass after everything before them; GAP buffers are silence", test_gap },
    { "NaN/Inf/huge input: finite output, state not poisoned", test_nonfinite_input },
    { "missing, corrupt and non-denoise models: element errors with the loader's message", test_model_errors },
    { "caps: the model's rate, mono, F32LE/S16LE only", test_caps },
    { "element messages: fields, interval, changes while playing", test_messages },
    { "properties, changes while playing", test_properties },
    { "constant-gain models: attenuation limit, VAD muting, voice flag, message values", test_constant_models },
    { "level meta", test_level_meta },
    { "default model from NERVE_MODEL_PATH", test_default_model },
    { "100 state cycles, with and without data", test_state_cycles },
    { "filesrc ! decodebin ! audioconvert ! audioresample ! nervedenoise ! wavenc ! filesink", test_file_pipeline },
    { "trained model: pipeline SI-SDR gain, aligned output, recovery after NaN", test_trained_model },
    { "imported DTLN and RNNoise: pipeline SI-SDR gain, aligned output, recovery after NaN", test_imported_models },
    { "the documented gst-launch-1.0 lines run", test_documented_launch_lines },
    { NULL, NULL },
  };
  int failed = nerve_test_main ("denoise-element", tests);
  if (g_getenv ("NERVE_TEST_KEEP")) /* the test models stay for debugging */
    printf ("test files kept in %s\n", dir);
  else
    cleanup_dir (dir);
  g_free (dir);
  g_free (model_path);
  g_free (model48_path);
  g_free (mute_path);
  g_free (pass_path);
  g_free (noisy_fixture);
  g_free (clean_fixture);
  gst_deinit ();
  return failed ? 1 : 0;
}

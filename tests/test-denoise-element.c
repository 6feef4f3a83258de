/* nervedenoise through GstHarness: length, timestamps and offsets for any buffer
 * sizes, S16 and F32, agreement with the C API, the latency query, FLUSH, GAP and
 * DISCONT, NaN/Inf input, model and caps errors, element messages, properties while
 * playing, constant-gain models, the level meta. test-denoise-pipeline.c has the file
 * pipelines, state cycles and real models. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "denoise-harness.h"
#include "denoise.h"
#include "nerve.h"

static char *dir, *model_path, *model48_path;
static char *mute_path, *pass_path; /* every gain and the VAD sigmoid(-30) ~ 0, or sigmoid(30) ~ 1 */
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

static GstHarness *
harness (const char *props)
{
  return harness_full (model_path, props, NULL, RATE);
}

/* x through the random test model up to EOS; *n_out gets the output's length. */
static float *
run_harness (const char *props, const float *x, gsize n, const gsize *sizes, int n_sizes, gboolean s16, gsize *n_out)
{
  Output o = { 0 };
  run_model_at (model_path, props, x, n, sizes, n_sizes, s16, RATE, &o);
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
  g_autofree float *x = speechlike_signal (n, RATE, 1);
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
  g_autofree float *x = speechlike_signal (4000, RATE, 2);
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
  g_autofree float *a = speechlike_signal (n, RATE, 3), *b = speechlike_signal (n, RATE, 4);
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
  g_autofree float *x = speechlike_signal (3000, RATE, 5);
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
  CU_ASSERT_EQUAL (gst_warning_count (), 0);

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
  g_autofree float *x = speechlike_signal (n, RATE, 6);
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

static void
test_model_errors (void)
{
  check_bad_model_files ("nervedenoise", GST_STATE_READY, model_path, dir);
  /* a good model file that is no denoise model: the denoiser's message */
  g_autoptr (GError) err = NULL;
  NerveModel *m = nerve_model_new ("{\"input\":[4],\"layers\":[{\"type\":\"dense\",\"units\":2}]}", &err);
  nerve_model_init_params (m, 1);
  g_autofree char *other = g_build_filename (dir, "not-denoise.nerve", NULL);
  CU_ASSERT_TRUE_FATAL (nerve_model_save (m, other, NULL));
  NerveDenoiser *d = nerve_denoiser_new (m, &err);
  CU_ASSERT_PTR_NULL_FATAL (d);
  expect_model_error ("nervedenoise", GST_STATE_READY, other, GST_RESOURCE_ERROR_OPEN_READ, err->message);
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
  g_autofree float *x = speechlike_signal (n, RATE, 7);
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
  g_autofree float *x = speechlike_signal (n, RATE, 8);
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
  g_autofree float *x = speechlike_signal (n, RATE, 9);
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

int
main (int argc, char **argv)
{
  element_suite_init (&argc, &argv);
  dir = g_dir_make_tmp ("nerve-denoise-el-XXXXXX", NULL);
  model_path = write_mask_model (dir, "mask16.nerve", RATE, STFT_SIZE, STFT_HOP, NAN, 1);
  model48_path = write_mask_model (dir, "mask48.nerve", 48000, 960, 480, NAN, 2);
  mute_path = write_mask_model (dir, "mute16.nerve", RATE, STFT_SIZE, STFT_HOP, -30.0f, 3);
  pass_path = write_mask_model (dir, "pass16.nerve", RATE, STFT_SIZE, STFT_HOP, 30.0f, 4);
  if (!model_path || !model48_path || !mute_path || !pass_path)
    return 1;
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
    { NULL, NULL },
  };
  int failed = nerve_test_main ("denoise-element", tests);
  cleanup_dir (dir);
  g_free (dir);
  g_free (model_path);
  g_free (model48_path);
  g_free (mute_path);
  g_free (pass_path);
  gst_deinit ();
  return failed ? 1 : 0;
}

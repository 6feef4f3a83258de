/* Helpers shared by the nervedenoise suites (test-denoise-element.c,
 * test-denoise-pipeline.c): test models, a speech-like signal, harness plumbing that
 * checks every output buffer's timing and level meta, and pipeline runs. */
#include "denoise-harness.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "check.h"
#include "denoise-model.h"
#include "modelfile.h"

/* ------------------------------------------------------------------ the test models */

/* A "mask" model (tests/denoise-model.c: log-power STFT features -> GRU -> dense ->
 * sigmoid gains and a voice probability) saved to the test directory. Random weights
 * unless bias is finite (then every gain and the VAD are sigmoid(bias)). */
char *
write_mask_model (const char *dir, const char *name, int rate, int size, int hop, float bias, guint64 seed)
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

/* ------------------------------------------------------------------ helpers */

/* A voiced-speech-like test signal: a 140 Hz pulse train through formant-ish
 * resonances, syllable envelopes, and a little seeded noise. */
float *
speechlike_signal (gsize n, int rate, guint64 seed)
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

GstHarness *
harness_full (const char *model, const char *props, const char *format, int rate)
{
  g_autofree char *desc = g_strdup_printf ("nervedenoise name=dn model=\"%s\" %s", model, props ? props : "");
  GstHarness *h = gst_harness_new_parse (desc);
  g_autofree char *caps = g_strdup_printf ("audio/x-raw, format=%s, layout=interleaved, channels=1, rate=%d",
                                           format ? format : "F32LE", rate);
  gst_harness_set_src_caps_str (h, caps);
  return h;
}

/* Sets a property of the element inside the harness's bin. */
void
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

GstBus *
harness_bus (GstHarness *h)
{
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  return bus;
}

/* A buffer of x[0..n) at sample position pos from base (timestamp, duration, offsets). */
GstBuffer *
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
void
push_signal (GstHarness *h, const float *x, gsize n, const gsize *sizes, int n_sizes, gboolean s16, guint64 pos0,
             GstClockTime base, int rate)
{
  for (gsize at = 0, k = 0; at < n; k++) {
    const gsize c = MIN (sizes[k % (gsize) n_sizes], n - at);
    CU_ASSERT_EQUAL (gst_harness_push (h, audio_buffer (x + at, c, s16, pos0 + at, base, rate)), GST_FLOW_OK);
    at += c;
  }
}

/* Pulls every buffer so far and checks each one's timing against the sample position
 * (first sample at pos0 from base), and its level meta against its samples. */
void
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

void
push_eos (GstHarness *h)
{
  CU_ASSERT_TRUE (gst_harness_push_event (h, gst_event_new_eos ()));
}

gboolean
all_finite (const float *x, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (!isfinite (x[i]))
      return FALSE;
  return TRUE;
}

double
max_abs_diff (const float *a, const float *b, gsize n)
{
  double m = 0;
  for (gsize i = 0; i < n; i++)
    m = MAX (m, fabs ((double) a[i] - b[i]));
  return m;
}

/* Runs x through a harness in buffers of the given sizes up to EOS; returns the output. */
float *
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


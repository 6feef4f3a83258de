/* nervesentiment: segmentation across buffers, timestamps, JSON output, the meta,
 * element messages, hostile input, model errors, flushing, state cycles, a file
 * pipeline against the C API, and the launch lines of the element's documentation. */
#include <gst/check/gstharness.h>
#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "check.h"
#include "element-check.h"
#include "gstnervemeta.h" /* the public meta header alone: no plugin library linked */
#include "text-model.h"

static char *dir, *model_path;
static NerveTextClassifier *capi; /* the C API, for the answers the element must give */

/* ------------------------------------------------------------------ helpers */

static GstHarness *
harness_full (const char *props, const char *sink_caps)
{
  g_autofree char *desc = g_strdup_printf ("nervesentiment model=\"%s\" %s", model_path, props ? props : "");
  GstHarness *h = gst_harness_new_parse (desc);
  if (sink_caps)
    gst_harness_set_sink_caps_str (h, sink_caps);
  gst_harness_set_src_caps_str (h, "text/x-raw, format=utf8");
  return h;
}

static GstHarness *
harness (const char *props)
{
  return harness_full (props, NULL);
}

/* A bus on the harness's bin, to read the element's messages. */
static GstBus *
harness_bus (GstHarness *h)
{
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  return bus;
}

static void
push (GstHarness *h, const char *s, gssize len, GstClockTime pts, GstClockTime dur)
{
  gsize n = len < 0 ? strlen (s) : (gsize) len;
  GstBuffer *b = gst_buffer_new_memdup (s, n);
  GST_BUFFER_PTS (b) = pts;
  GST_BUFFER_DURATION (b) = dur;
  CU_ASSERT_EQUAL (gst_harness_push (h, b), GST_FLOW_OK);
}

static void
push_chunked (GstHarness *h, const char *s, const int *sizes, int n_sizes)
{
  gsize len = strlen (s), at = 0;
  for (int k = 0; at < len; k++) {
    gsize n = MIN ((gsize) sizes[k % n_sizes], len - at);
    push (h, s + at, (gssize) n, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE);
    at += n;
  }
}

static void
push_eos (GstHarness *h)
{
  CU_ASSERT_TRUE (gst_harness_push_event (h, gst_event_new_eos ()));
}

/* Every buffer the element pushed so far, as NUL-terminated texts (owned by the array). */
static GPtrArray *
pull_texts (GstHarness *h, GPtrArray *buffers)
{
  GPtrArray *texts = g_ptr_array_new_with_free_func (g_free);
  GstBuffer *b;
  while ((b = gst_harness_try_pull (h))) {
    GstMapInfo map;
    gst_buffer_map (b, &map, GST_MAP_READ);
    g_ptr_array_add (texts, g_strndup ((const char *) map.data, map.size));
    gst_buffer_unmap (b, &map);
    if (buffers)
      g_ptr_array_add (buffers, b);
    else
      gst_buffer_unref (b);
  }
  return texts;
}

/* The C API's answer for one text. */
static int
capi_label (const char *text, float probs[2])
{
  NerveTextResult r;
  float p[2];
  CU_ASSERT_TRUE_FATAL (nerve_text_classifier_run (capi, &text, 1, probs ? probs : p, &r, NULL));
  return r.label;
}

/* The meta is sane and agrees with the C API on text (the unit without its newline). */
static void
check_meta (GstBuffer *b, const char *text)
{
  GstNerveClassificationMeta *m = gst_buffer_get_nerve_classification_meta (b);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  CU_ASSERT_EQUAL_FATAL (m->n_classes, 2);
  CU_ASSERT_STRING_EQUAL (m->class_names[0], "negative");
  CU_ASSERT_STRING_EQUAL (m->class_names[1], "positive");
  CU_ASSERT_PTR_EQUAL (m->label_name, g_intern_string (m->class_names[m->label]));
  CU_ASSERT_DOUBLE_EQUAL (m->scores[0] + m->scores[1], 1.0, 1e-5);
  CU_ASSERT_DOUBLE_EQUAL (m->confidence, m->scores[m->label], 1e-6);
  CU_ASSERT (m->confidence >= 0.5f && m->confidence <= 1.0f);
  float p[2];
  CU_ASSERT_EQUAL (m->label, capi_label (text, p));
  CU_ASSERT_DOUBLE_EQUAL (m->scores[1], p[1], 1e-5);
}

static int
count_messages (GstBus *bus, GstMessageType type)
{
  int n = 0;
  GstMessage *m;
  while ((m = gst_bus_pop_filtered (bus, type))) {
    n++;
    gst_message_unref (m);
  }
  return n;
}

/* ------------------------------------------------------------------ tests */

static void
test_lines_in_chunks (void)
{
  const char *lines[] = { "the film was really wonderful", "this movie was so awful", "le caf\xc3\xa9 was good",
                          "the music was very excellent" };
  g_autofree char *text = g_strdup_printf ("%s\n%s\r\n%s\n%s", lines[0], lines[1], lines[2], lines[3]);
  /* odd sizes: units, CR LF and the two bytes of é all straddle buffers */
  static const int sizes[][3] = { { 1, 1, 1 }, { 2, 3, 5 }, { 7, 11, 13 }, { 4096, 1, 1 } };
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++) {
    GstHarness *h = harness (NULL);
    GstBus *bus = harness_bus (h);
    push_chunked (h, text, sizes[s], 3);
    CU_ASSERT_EQUAL (gst_harness_buffers_in_queue (h), 3); /* the last line waits for more */
    push_eos (h);
    g_autoptr (GPtrArray) bufs = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_buffer_unref);
    g_autoptr (GPtrArray) out = pull_texts (h, bufs);
    CU_ASSERT_EQUAL_FATAL (out->len, 4);
    for (int i = 0; i < 4; i++) {
      g_autofree char *want = g_strconcat (lines[i], "\n", NULL);
      CU_ASSERT_STRING_EQUAL (out->pdata[i], want);
      check_meta (bufs->pdata[i], lines[i]);
      CU_ASSERT_FALSE (GST_BUFFER_PTS_IS_VALID ((GstBuffer *) bufs->pdata[i]));
    }
    GstNerveClassificationMeta *m0 = gst_buffer_get_nerve_classification_meta (bufs->pdata[0]);
    GstNerveClassificationMeta *m1 = gst_buffer_get_nerve_classification_meta (bufs->pdata[1]);
    CU_ASSERT_STRING_EQUAL (m0->label_name, "positive");
    CU_ASSERT_STRING_EQUAL (m1->label_name, "negative");
    CU_ASSERT_EQUAL (count_messages (bus, GST_MESSAGE_WARNING), 0); /* é split across buffers is fine */
    /* EOS went downstream after the last unit */
    gboolean eos = FALSE;
    GstEvent *e;
    while ((e = gst_harness_try_pull_event (h))) {
      eos |= GST_EVENT_TYPE (e) == GST_EVENT_EOS;
      gst_event_unref (e);
    }
    CU_ASSERT_TRUE (eos);
    gst_object_unref (bus);
    gst_harness_teardown (h);
  }
}

static void
test_timestamps_and_gaps (void)
{
  GstHarness *h = harness (NULL);
  const char *two = "the film was good\nthis movie was bad\n"; /* 18 + 19 bytes */
  push (h, two, -1, 10 * GST_SECOND, 37 * GST_MSECOND);
  GstBuffer *a = gst_harness_pull (h), *b = gst_harness_pull (h);
  CU_ASSERT_EQUAL (GST_BUFFER_PTS (a), 10 * GST_SECOND);
  CU_ASSERT_EQUAL (GST_BUFFER_DURATION (a), 18 * GST_MSECOND);
  CU_ASSERT_EQUAL (GST_BUFFER_PTS (b), 10 * GST_SECOND + 18 * GST_MSECOND);
  CU_ASSERT_EQUAL (GST_BUFFER_DURATION (b), 19 * GST_MSECOND);
  gst_buffer_unref (a);
  gst_buffer_unref (b);
  /* drop the stream-start/caps/segment events */
  GstEvent *e;
  while ((e = gst_harness_try_pull_event (h)))
    gst_event_unref (e);
  /* a buffer that completes nothing gives a GAP; the unit is timed by the buffer it ends in */
  push (h, "the film ", -1, 20 * GST_SECOND, GST_SECOND);
  CU_ASSERT_EQUAL (gst_harness_buffers_in_queue (h), 0);
  e = gst_harness_try_pull_event (h);
  CU_ASSERT_PTR_NOT_NULL_FATAL (e);
  CU_ASSERT_EQUAL (GST_EVENT_TYPE (e), GST_EVENT_GAP);
  GstClockTime ts, dur;
  gst_event_parse_gap (e, &ts, &dur);
  CU_ASSERT_EQUAL (ts, 20 * GST_SECOND);
  CU_ASSERT_EQUAL (dur, GST_SECOND);
  gst_event_unref (e);
  push (h, "was great\n", -1, 21 * GST_SECOND, GST_SECOND);
  a = gst_harness_pull (h);
  CU_ASSERT_EQUAL (GST_BUFFER_PTS (a), 21 * GST_SECOND);
  CU_ASSERT_EQUAL (GST_BUFFER_DURATION (a), GST_SECOND);
  gst_buffer_unref (a);
  /* blank lines alone: nothing to say, a GAP again */
  push (h, "\n  \n", -1, 22 * GST_SECOND, GST_SECOND);
  CU_ASSERT_EQUAL (gst_harness_buffers_in_queue (h), 0);
  e = gst_harness_try_pull_event (h);
  CU_ASSERT_PTR_NOT_NULL_FATAL (e);
  CU_ASSERT_EQUAL (GST_EVENT_TYPE (e), GST_EVENT_GAP);
  gst_event_unref (e);
  /* no timestamp in, none out */
  push (h, "bad\n", -1, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE);
  a = gst_harness_pull (h);
  CU_ASSERT_FALSE (GST_BUFFER_PTS_IS_VALID (a));
  CU_ASSERT_FALSE (GST_BUFFER_DURATION_IS_VALID (a));
  gst_buffer_unref (a);
  /* upstream GAP events pass */
  CU_ASSERT_TRUE (gst_harness_push_event (h, gst_event_new_gap (30 * GST_SECOND, 2 * GST_SECOND)));
  e = gst_harness_try_pull_event (h);
  CU_ASSERT_PTR_NOT_NULL_FATAL (e);
  CU_ASSERT_EQUAL (GST_EVENT_TYPE (e), GST_EVENT_GAP);
  gst_event_parse_gap (e, &ts, &dur);
  CU_ASSERT_EQUAL (ts, 30 * GST_SECOND);
  CU_ASSERT_EQUAL (dur, 2 * GST_SECOND);
  gst_event_unref (e);
  gst_harness_teardown (h);
}

/* LATENCY: upstream's minimum passes through; a unit may wait for its delimiter
 * indefinitely, so there is no maximum. */
static void
test_latency_query (void)
{
  GstHarness *h = harness (NULL);
  gst_harness_set_upstream_latency (h, 40 * GST_MSECOND);
  CU_ASSERT_EQUAL (gst_harness_query_latency (h), 40 * GST_MSECOND);
  GstQuery *q = gst_query_new_latency ();
  CU_ASSERT_TRUE (gst_pad_peer_query (h->sinkpad, q));
  GstClockTime min, max;
  gboolean live;
  gst_query_parse_latency (q, &live, &min, &max);
  CU_ASSERT_EQUAL (min, 40 * GST_MSECOND);
  CU_ASSERT_EQUAL (max, GST_CLOCK_TIME_NONE);
  gst_query_unref (q);
  gst_harness_teardown (h);
}

static void
test_sentence_mode (void)
{
  const char *text = "Mr. Smith said the film was really wonderful. This movie was so awful!  Was it\n"
                     "good?Yes. J. Doe liked it (a lot.) end of story\n\nno full stop here\n\n\nlast one";
  const char *want[] = { "Mr. Smith said the film was really wonderful.", "This movie was so awful!",
                         "Was it good?Yes.", "J. Doe liked it (a lot.)", "end of story", "no full stop here",
                         "last one" };
  static const int sizes[][2] = { { 1, 1 }, { 4, 3 }, { 4096, 1 } };
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++) {
    GstHarness *h = harness ("segment=sentence");
    push_chunked (h, text, sizes[s], 2);
    CU_ASSERT_EQUAL (gst_harness_buffers_in_queue (h), 6);
    push_eos (h);
    g_autoptr (GPtrArray) bufs = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_buffer_unref);
    g_autoptr (GPtrArray) out = pull_texts (h, bufs);
    CU_ASSERT_EQUAL_FATAL (out->len, G_N_ELEMENTS (want));
    for (guint i = 0; i < out->len; i++) {
      g_autofree char *w = g_strconcat (want[i], "\n", NULL);
      if (strcmp (out->pdata[i], w))
        fprintf (stderr, "  sentence %u: '%s' != '%s'\n", i, (char *) out->pdata[i], w);
      CU_ASSERT_STRING_EQUAL (out->pdata[i], w);
      check_meta (bufs->pdata[i], want[i]);
    }
    gst_harness_teardown (h);
  }
}

/* Parses one output line and checks it against the C API; returns the label. */
static char *
check_json_line (const char *line, const char *text)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (GError) err = NULL;
  CU_ASSERT_TRUE (g_str_has_suffix (line, "\n"));
  CU_ASSERT_PTR_EQUAL (strchr (line, '\n'), line + strlen (line) - 1); /* one line */
  if (!json_parser_load_from_data (p, line, -1, &err)) {
    fprintf (stderr, "  bad JSON '%s': %s\n", line, err->message);
    CU_FAIL ("JSON parses");
    return NULL;
  }
  JsonObject *o = json_node_get_object (json_parser_get_root (p));
  CU_ASSERT_PTR_NOT_NULL_FATAL (o);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (o, "text"), text);
  const char *label = json_object_get_string_member (o, "label");
  JsonObject *scores = json_object_get_object_member (o, "scores");
  CU_ASSERT_PTR_NOT_NULL_FATAL (scores);
  CU_ASSERT_EQUAL (json_object_get_size (scores), 2);
  double neg = json_object_get_double_member (scores, "negative");
  double pos = json_object_get_double_member (scores, "positive");
  CU_ASSERT_DOUBLE_EQUAL (neg + pos, 1.0, 1e-5);
  CU_ASSERT_DOUBLE_EQUAL (json_object_get_double_member (o, "confidence"), MAX (neg, pos), 1e-6);
  float pr[2];
  int want = capi_label (text, pr);
  CU_ASSERT_STRING_EQUAL (label, want ? "positive" : "negative");
  CU_ASSERT_DOUBLE_EQUAL (pos, pr[1], 1e-5);
  return g_strdup (label);
}

static void
test_json_output (void)
{
  const char *lines[] = { "the film was \"really\" wonderful", "this movie was so awful \\ \t </script>",
                          "caf\xc3\xa9 \xe2\x9c\x93 was great \xf0\x9f\x8e\xac", "{\"not\": json}, was bad" };
  g_autofree char *text = g_strjoin ("\n", lines[0], lines[1], lines[2], lines[3], "", NULL);
  static const char *const sinks[] = { NULL, "text/x-raw, format=utf8" };
  static const char *const want_caps[] = { "application/x-json", "text/x-raw" };
  for (int s = 0; s < 2; s++) {
    GstHarness *h = harness_full ("output=json", sinks[s]);
    static const int sizes[] = { 5, 9 };
    push_chunked (h, text, sizes, 2);
    g_autoptr (GPtrArray) bufs = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_buffer_unref);
    g_autoptr (GPtrArray) out = pull_texts (h, bufs);
    CU_ASSERT_EQUAL_FATAL (out->len, 4);
    for (int i = 0; i < 4; i++) {
      g_autofree char *label = check_json_line (out->pdata[i], lines[i]);
      check_meta (bufs->pdata[i], lines[i]);
      CU_ASSERT_STRING_EQUAL (label, gst_buffer_get_nerve_classification_meta (bufs->pdata[i])->label_name);
    }
    GstCaps *caps = gst_pad_get_current_caps (h->sinkpad);
    CU_ASSERT_PTR_NOT_NULL_FATAL (caps);
    CU_ASSERT_STRING_EQUAL (gst_structure_get_name (gst_caps_get_structure (caps, 0)), want_caps[s]);
    gst_caps_unref (caps);
    gst_harness_teardown (h);
  }
  /* text mode says text/x-raw */
  GstHarness *h = harness (NULL);
  push (h, "fine\n", -1, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE);
  GstCaps *caps = gst_pad_get_current_caps (h->sinkpad), *tcaps = gst_caps_from_string ("text/x-raw, format=utf8");
  CU_ASSERT_TRUE (gst_caps_is_equal (caps, tcaps));
  gst_caps_unref (caps);
  gst_caps_unref (tcaps);
  gst_harness_teardown (h);
}

static void
test_messages (void)
{
  GstHarness *h = harness (NULL);
  GstBus *bus = harness_bus (h);
  push (h, "the film was really wonderful\nthis movie was so awful\n", -1, 2 * GST_SECOND, 54 * GST_MSECOND);
  const char *texts[] = { "the film was really wonderful", "this movie was so awful" };
  const GstClockTime pts[] = { 2 * GST_SECOND, 2 * GST_SECOND + 30 * GST_MSECOND };
  for (int i = 0; i < 2; i++) {
    GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT);
    CU_ASSERT_PTR_NOT_NULL_FATAL (m);
    const GstStructure *s = gst_message_get_structure (m);
    CU_ASSERT_TRUE (gst_structure_has_name (s, "nervesentiment"));
    CU_ASSERT_STRING_EQUAL (gst_structure_get_string (s, "text"), texts[i]);
    CU_ASSERT_STRING_EQUAL (gst_structure_get_string (s, "label"), i == 0 ? "positive" : "negative");
    double conf = 0;
    CU_ASSERT_TRUE (gst_structure_get_double (s, "confidence", &conf));
    const GValue *scores = gst_structure_get_value (s, "scores");
    CU_ASSERT_TRUE_FATAL (scores && GST_VALUE_HOLDS_ARRAY (scores));
    CU_ASSERT_EQUAL_FATAL (gst_value_array_get_size (scores), 2);
    double p0 = g_value_get_double (gst_value_array_get_value (scores, 0));
    double p1 = g_value_get_double (gst_value_array_get_value (scores, 1));
    CU_ASSERT_DOUBLE_EQUAL (p0 + p1, 1.0, 1e-5);
    CU_ASSERT_DOUBLE_EQUAL (conf, MAX (p0, p1), 1e-6);
    const GValue *labels = gst_structure_get_value (s, "labels");
    CU_ASSERT_STRING_EQUAL (g_value_get_string (gst_value_array_get_value (labels, 1)), "positive");
    guint64 rt = 0, st = 0, ts = 0;
    CU_ASSERT_TRUE (gst_structure_get_uint64 (s, "running-time", &rt));
    CU_ASSERT_TRUE (gst_structure_get_uint64 (s, "stream-time", &st));
    CU_ASSERT_TRUE (gst_structure_get_uint64 (s, "timestamp", &ts));
    CU_ASSERT_EQUAL (ts, pts[i]);
    CU_ASSERT_EQUAL (rt, pts[i]); /* the harness's segment starts at 0 */
    CU_ASSERT_EQUAL (st, pts[i]);
    GstElement *el = gst_harness_find_element (h, "nervesentiment");
    CU_ASSERT_PTR_EQUAL (GST_MESSAGE_SRC (m), el);
    gst_object_unref (el);
    gst_message_unref (m);
  }
  CU_ASSERT_EQUAL (count_messages (bus, GST_MESSAGE_ELEMENT), 0);
  /* post-messages=false: silent, output unchanged */
  GstElement *e = gst_harness_find_element (h, "nervesentiment");
  g_object_set (e, "post-messages", FALSE, NULL);
  gst_object_unref (e);
  push (h, "the film was good\n", -1, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE);
  CU_ASSERT_EQUAL (gst_harness_buffers_in_queue (h), 3);
  CU_ASSERT_EQUAL (count_messages (bus, GST_MESSAGE_ELEMENT), 0);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

static void
test_invalid_utf8_and_blank_units (void)
{
  GstHarness *h = harness (NULL);
  GstBus *bus = harness_bus (h);
  const char bad[] = "\xff\xfe the film was good\n\n   \n\t\r\n\r\nbad \xc3\nx\0y awful\n\xed\xa0\x80\n";
  push (h, bad, sizeof bad - 1, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE);
  push_eos (h);
  g_autoptr (GPtrArray) out = pull_texts (h, NULL);
  CU_ASSERT_EQUAL_FATAL (out->len, 4); /* blank lines skipped */
  CU_ASSERT_STRING_EQUAL (out->pdata[0], "\xef\xbf\xbd\xef\xbf\xbd the film was good\n");
  CU_ASSERT_STRING_EQUAL (out->pdata[1], "bad \xef\xbf\xbd\n");
  CU_ASSERT_STRING_EQUAL (out->pdata[2], "x\xef\xbf\xbdy awful\n");
  for (guint i = 0; i < out->len; i++)
    CU_ASSERT_TRUE (g_utf8_validate (out->pdata[i], -1, NULL));
  /* one warning for all of them (rate-limited), saying what happened */
  GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  g_autoptr (GError) err = NULL;
  g_autofree char *debug = NULL;
  gst_message_parse_warning (m, &err, &debug);
  CU_ASSERT_TRUE (g_error_matches (err, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT));
  CU_ASSERT_PTR_NOT_NULL (strstr (err->message, "UTF-8"));
  gst_message_unref (m);
  CU_ASSERT_EQUAL (count_messages (bus, GST_MESSAGE_WARNING), 0);
  CU_ASSERT_EQUAL (count_messages (bus, GST_MESSAGE_ERROR), 0);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

/* A line with no end in sight is cut at 64 KiB, between characters, and nothing is lost. */
static void
test_overlong_line (void)
{
  GString *in = g_string_new (NULL);
  while (in->len < 70000)
    g_string_append (in, "\xe2\x82\xac"); /* €: 3 bytes, so 65536 falls inside one */
  GstHarness *h = harness (NULL);
  push (h, in->str, (gssize) in->len, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE);
  CU_ASSERT_EQUAL (gst_harness_buffers_in_queue (h), 1);
  push_eos (h);
  g_autoptr (GPtrArray) out = pull_texts (h, NULL);
  CU_ASSERT_EQUAL_FATAL (out->len, 2);
  g_autoptr (GString) joined = g_string_new (NULL);
  for (guint i = 0; i < out->len; i++) {
    const char *t = out->pdata[i];
    CU_ASSERT_TRUE (g_utf8_validate (t, -1, NULL));
    CU_ASSERT_PTR_NULL (strstr (t, "\xef\xbf\xbd")); /* no character was broken */
    CU_ASSERT (strlen (t) <= 65536 + 1);
    g_string_append_len (joined, t, (gssize) strlen (t) - 1);
  }
  CU_ASSERT_STRING_EQUAL (joined->str, in->str);
  g_string_free (in, TRUE);
  gst_harness_teardown (h);
}

static void
test_max_length (void)
{
  const char *longer = "the film was really wonderful and the music was very excellent and our trip was truly fun";
  const char *shorter = "bad";
  const NerveTokenizer *tok = nerve_text_classifier_tokenizer (capi);
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  nerve_tokenizer_encode (tok, longer, -1, ids, NULL, NULL);
  CU_ASSERT_FATAL (ids->len > 6);
  g_autofree char *first = nerve_tokenizer_decode (tok, (const gint32 *) (gpointer) ids->data, 6, NULL);
  nerve_tokenizer_encode (tok, shorter, -1, ids, NULL, NULL);
  CU_ASSERT_FATAL (ids->len <= 6);

  GstHarness *h = harness ("max-length=6");
  GstBus *bus = harness_bus (h);
  g_autofree char *text = g_strdup_printf ("%s\n%s\n%s\n", longer, shorter, longer);
  push (h, text, -1, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE);
  g_autoptr (GPtrArray) bufs = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_buffer_unref);
  g_autoptr (GPtrArray) out = pull_texts (h, bufs);
  CU_ASSERT_EQUAL_FATAL (out->len, 3);
  g_autofree char *want = g_strconcat (longer, "\n", NULL);
  CU_ASSERT_STRING_EQUAL (out->pdata[0], want); /* the text passes whole */
  GstNerveClassificationMeta *m0 = gst_buffer_get_nerve_classification_meta (bufs->pdata[0]);
  GstNerveClassificationMeta *m1 = gst_buffer_get_nerve_classification_meta (bufs->pdata[1]);
  CU_ASSERT_TRUE (m0->truncated);
  CU_ASSERT_FALSE (m1->truncated);
  float p[2];
  capi_label (first, p); /* classified from its first 6 tokens */
  CU_ASSERT_DOUBLE_EQUAL (m0->scores[1], p[1], 1e-5);
  GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  g_autoptr (GError) err = NULL;
  gst_message_parse_warning (m, &err, NULL);
  CU_ASSERT_PTR_NOT_NULL (strstr (err->message, "truncated"));
  gst_message_unref (m);
  CU_ASSERT_EQUAL (count_messages (bus, GST_MESSAGE_WARNING), 0); /* once */
  gst_object_unref (bus);
  gst_harness_teardown (h);

  /* max-length 0: the model's own limit (32) truncates */
  h = harness (NULL);
  GString *huge = g_string_new (NULL);
  for (int i = 0; i < 40; i++)
    g_string_append (huge, "the film was good ");
  g_string_append_c (huge, '\n');
  push (h, huge->str, -1, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE);
  GstBuffer *b = gst_harness_pull (h);
  CU_ASSERT_TRUE (gst_buffer_get_nerve_classification_meta (b)->truncated);
  CU_ASSERT_EQUAL (gst_buffer_get_size (b), huge->len);
  gst_buffer_unref (b);
  g_string_free (huge, TRUE);
  gst_harness_teardown (h);
}

static void
test_flush_discont_eos (void)
{
  GstHarness *h = harness (NULL);
  push (h, "the film was", -1, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE);
  CU_ASSERT_TRUE (gst_harness_push_event (h, gst_event_new_flush_start ()));
  CU_ASSERT_TRUE (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  GstSegment seg;
  gst_segment_init (&seg, GST_FORMAT_TIME);
  CU_ASSERT_TRUE (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  CU_ASSERT_EQUAL (gst_harness_buffers_in_queue (h), 0);
  push (h, " awful\n", -1, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE);
  /* DISCONT: the partial unit is finished as it is */
  push (h, "this movie was", -1, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE);
  GstBuffer *d = gst_buffer_new_memdup ("the plot was dull\nthe end", 25);
  GST_BUFFER_FLAG_SET (d, GST_BUFFER_FLAG_DISCONT);
  CU_ASSERT_EQUAL (gst_harness_push (h, d), GST_FLOW_OK);
  push_eos (h);
  g_autoptr (GPtrArray) out = pull_texts (h, NULL);
  CU_ASSERT_EQUAL_FATAL (out->len, 4);
  CU_ASSERT_STRING_EQUAL (out->pdata[0], " awful\n");
  CU_ASSERT_STRING_EQUAL (out->pdata[1], "this movie was\n");
  CU_ASSERT_STRING_EQUAL (out->pdata[2], "the plot was dull\n");
  CU_ASSERT_STRING_EQUAL (out->pdata[3], "the end\n");
  gst_harness_teardown (h);
}

static void
test_model_errors (void)
{
  check_bad_model_files ("nervesentiment", GST_STATE_PLAYING, model_path, dir);
}

static void
test_default_model (void)
{
  g_autofree char *empty = g_build_filename (dir, "empty-models", NULL);
  g_autofree char *models = g_build_filename (dir, "models", NULL);
  g_mkdir_with_parents (empty, 0700);
  g_mkdir_with_parents (models, 0700);
  g_setenv ("NERVE_MODEL_PATH", empty, TRUE);
  if (!g_file_test (NERVE_DEFAULT_SENTIMENT_MODEL, G_FILE_TEST_EXISTS))
    expect_no_model ("nervesentiment", GST_STATE_PLAYING);
  /* sentiment.nerve in a NERVE_MODEL_PATH directory is found */
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_file_get_contents (model_path, &bytes, &len, NULL);
  g_autofree char *found = g_build_filename (models, "sentiment.nerve", NULL);
  g_file_set_contents (found, bytes, (gssize) len, NULL);
  g_autofree char *search = g_strjoin (G_SEARCHPATH_SEPARATOR_S, empty, models, NULL);
  g_setenv ("NERVE_MODEL_PATH", search, TRUE);
  GstHarness *h = gst_harness_new_parse ("nervesentiment");
  gst_harness_set_src_caps_str (h, "text/x-raw, format=utf8");
  push (h, "this movie was so awful\n", -1, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE);
  GstBuffer *b = gst_harness_pull (h);
  CU_ASSERT_STRING_EQUAL (gst_buffer_get_nerve_classification_meta (b)->label_name, "negative");
  gst_buffer_unref (b);
  gst_harness_teardown (h);
  g_unsetenv ("NERVE_MODEL_PATH");
}

static void
test_properties_and_meta_copy (void)
{
  GstElement *e = gst_element_factory_make ("nervesentiment", NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (e);
  int threads;
  gboolean post;
  guint maxlen;
  char *model;
  g_object_get (e, "threads", &threads, "post-messages", &post, "max-length", &maxlen, "model", &model, NULL);
  CU_ASSERT_EQUAL (threads, 1);
  CU_ASSERT_TRUE (post);
  CU_ASSERT_EQUAL (maxlen, 0);
  CU_ASSERT_PTR_NULL (model);
  gst_util_set_object_arg (G_OBJECT (e), "segment", "sentence");
  gst_util_set_object_arg (G_OBJECT (e), "output", "json");
  int seg, output;
  g_object_get (e, "segment", &seg, "output", &output, NULL);
  CU_ASSERT_EQUAL (seg, 1);
  CU_ASSERT_EQUAL (output, 1);
  GParamSpec *ps = g_object_class_find_property (G_OBJECT_GET_CLASS (e), "model");
  CU_ASSERT_TRUE (ps->flags & GST_PARAM_MUTABLE_READY);
  gst_object_unref (e);

  /* the meta travels with copies */
  GstHarness *h = harness ("threads=2");
  push (h, "the film was great\n", -1, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE);
  GstBuffer *b = gst_harness_pull (h);
  GstBuffer *c = gst_buffer_copy_deep (b);
  GstNerveClassificationMeta *mb = gst_buffer_get_nerve_classification_meta (b);
  GstNerveClassificationMeta *mc = gst_buffer_get_nerve_classification_meta (c);
  CU_ASSERT_PTR_NOT_NULL_FATAL (mc);
  CU_ASSERT_EQUAL (mc->label, mb->label);
  CU_ASSERT_PTR_EQUAL (mc->label_name, mb->label_name);
  CU_ASSERT_PTR_NOT_EQUAL (mc->scores, mb->scores);
  CU_ASSERT_EQUAL (memcmp (mc->scores, mb->scores, sizeof (float) * 2), 0);
  CU_ASSERT_NOT_EQUAL (gst_nerve_classification_meta_api_type_lookup (), 0);
  gst_buffer_unref (b);
  gst_buffer_unref (c);
  gst_harness_teardown (h);
}

static void
test_state_cycles (void)
{
  GstElement *e = gst_element_factory_make ("nervesentiment", NULL);
  g_object_set (e, "model", model_path, NULL);
  for (int i = 0; i < 100; i++) {
    CU_ASSERT_EQUAL (gst_element_set_state (e, GST_STATE_PLAYING), GST_STATE_CHANGE_SUCCESS);
    CU_ASSERT_EQUAL (gst_element_set_state (e, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  }
  gst_object_unref (e);
  /* and 100 runs with data through a pipeline, stopped at EOS or halfway */
  g_autofree char *fixture = nerve_test_path ("tests/fixtures/sentiment-lines.txt");
  g_autofree char *desc = g_strdup_printf ("filesrc location=\"%s\" blocksize=37 ! nervesentiment model=\"%s\" "
                                           "! fakesink sync=false", fixture, model_path);
  check_pipeline_cycles (desc);
}

/* Non-blank lines of a file, the way line mode cuts them. */
static GPtrArray *
fixture_units (const char *path)
{
  g_autofree char *text = NULL;
  g_file_get_contents (path, &text, NULL, NULL);
  g_auto (GStrv) lines = g_strsplit (text ? text : "", "\n", -1);
  GPtrArray *units = g_ptr_array_new_with_free_func (g_free);
  for (char **l = lines; *l; l++) {
    gsize n = strlen (*l);
    if (n && (*l)[n - 1] == '\r')
      (*l)[n - 1] = 0;
    g_autofree char *t = g_strstrip (g_strdup (*l));
    if (*t)
      g_ptr_array_add (units, g_strdup (*l));
  }
  return units;
}

static void
check_jsonl_file (const char *out_path, GPtrArray *units)
{
  g_autofree char *out = NULL;
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (out_path, &out, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  CU_ASSERT_EQUAL_FATAL (g_strv_length (lines), units->len + 1); /* ends with a newline */
  for (guint i = 0; i < units->len; i++) {
    g_autofree char *line = g_strconcat (lines[i], "\n", NULL);
    g_free (check_json_line (line, units->pdata[i]));
  }
}

static void
test_file_pipeline (void)
{
  g_autofree char *fixture = nerve_test_path ("tests/fixtures/sentiment-lines.txt");
  g_autofree char *out = g_build_filename (dir, "out.jsonl", NULL);
  g_autofree char *desc = g_strdup_printf ("filesrc location=\"%s\" blocksize=16 ! nervesentiment model=\"%s\" "
                                           "output=json ! filesink location=\"%s\"", fixture, model_path, out);
  g_autoptr (GError) err = NULL;
  GstElement *p = gst_parse_launch (desc, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autoptr (GError) run_err = NULL;
  CU_ASSERT_TRUE (run_pipeline (p, &run_err));
  if (run_err)
    fprintf (stderr, "  pipeline error: %s\n", run_err->message);
  gst_object_unref (p);
  g_autoptr (GPtrArray) units = fixture_units (fixture);
  CU_ASSERT_EQUAL (units->len, 9);
  check_jsonl_file (out, units);
  CU_ASSERT_EQUAL (gst_warning_count (), 0);
}

/* Every gst-launch-1.0 line in the element's documentation runs as written, with the
 * example files replaced by the fixture, the test model and a temporary output. */
static void
test_documented_launch_lines (void)
{
  g_autofree char *fixture = nerve_test_path ("tests/fixtures/sentiment-lines.txt");
  g_autofree char *out = g_build_filename (dir, "reviews.jsonl", NULL);
  g_autofree char *code = element_doc_block ("plugins/gstnervesentiment.c");
  g_auto (GStrv) lines = g_strsplit (code, "\n", -1);
  int ran = 0;
  g_autoptr (GPtrArray) units = fixture_units (fixture);
  for (char **l = lines; *l; l++) {
    char *cmd = strstr (*l, "gst-launch-1.0 ");
    if (!cmd || strncmp (*l, " * gst-launch-1.0", 17) != 0)
      continue;
    g_autofree char *line = launch_line_with_files (cmd, "reviews.txt", fixture, "sentiment.nerve", model_path,
                                                    "reviews.jsonl", out);
    g_autofree char *sout = NULL;
    remove (out);
    CU_ASSERT_TRUE (run_launch_line (line, &sout));
    if (strstr (cmd, "reviews.jsonl"))
      check_jsonl_file (out, units);
    if (strstr (cmd, " -m "))
      CU_ASSERT_PTR_NOT_NULL (strstr (sout, "nervesentiment, text="));
    ran++;
  }
  CU_ASSERT_EQUAL (ran, 2);
}

int
main (int argc, char **argv)
{
  element_suite_init (&argc, &argv);
  dir = g_dir_make_tmp ("nerve-sentiment-el-XXXXXX", NULL);
  g_autoptr (GError) err = NULL;
  NerveModel *m = nerve_test_text_model (dir, &err);
  if (!m) {
    fprintf (stderr, "test model: %s\n", err->message);
    return 1;
  }
  model_path = g_build_filename (dir, "tiny-sentiment.nerve", NULL);
  capi = nerve_text_classifier_new (m, 1, &err);
  nerve_model_unref (m);
  static const TestCase tests[] = {
    { "lines in arbitrary chunks, flushed at EOS", test_lines_in_chunks },
    { "timestamps from the input, GAP events", test_timestamps_and_gaps },
    { "sentence mode", test_sentence_mode },
    { "JSON output parses and matches the C API", test_json_output },
    { "element messages", test_messages },
    { "invalid UTF-8 and blank units", test_invalid_utf8_and_blank_units },
    { "max-length truncates with one warning", test_max_length },
    { "an over-long line is cut between characters", test_overlong_line },
    { "FLUSH drops, DISCONT and EOS finish the partial unit", test_flush_discont_eos },
    { "missing and corrupt models: element errors with the loader's message", test_model_errors },
    { "default model from NERVE_MODEL_PATH", test_default_model },
    { "properties and meta copies", test_properties_and_meta_copy },
    { "100 state cycles, with and without data", test_state_cycles },
    { "latency query: upstream minimum, no maximum", test_latency_query },
    { "filesrc ! nervesentiment output=json ! filesink agrees with the C API", test_file_pipeline },
    { "the documented gst-launch-1.0 lines run", test_documented_launch_lines },
    { NULL, NULL },
  };
  int failed = nerve_test_main ("sentiment-element", tests);
  nerve_text_classifier_free (capi);
  cleanup_dir (dir);
  g_free (dir);
  g_free (model_path);
  gst_deinit ();
  return failed ? 1 : 0;
}

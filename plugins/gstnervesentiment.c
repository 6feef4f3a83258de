/**
 * SECTION:element-nervesentiment
 * @title: nervesentiment
 *
 * Classifies the sentiment of a UTF-8 text stream with a Nerve text-classification
 * model (a SentencePiece tokenizer and a network in one `.nerve` file).
 *
 * The input arrives in chunks of any size; the element cuts it into units, one per
 * line by default (`segment=sentence`: a unit ends at `.`, `!` or `?` followed by
 * whitespace, or at a blank line; single-letter initials and a few abbreviations such
 * as "Mr." or "e.g." do not end a sentence). A partial unit waits for the next buffer
 * and is finished at EOS. Empty and whitespace-only units are skipped. For each unit:
 *
 * - one buffer goes downstream: the unit's text and a newline (`output=text`,
 *   `text/x-raw, format=utf8`), or one JSON object and a newline (`output=json`,
 *   `application/x-json`, or `text/x-raw` when downstream only takes text):
 *   `{"text": "...", "label": "positive", "confidence": 0.93, "scores": {"negative": 0.07, "positive": 0.93}}`.
 *   Its timestamp and duration are the part of the input buffer the unit ended in
 *   that its bytes cover (linear in bytes), or none when the input has none;
 * - the buffer carries a #GstNerveClassificationMeta (gstnervemeta.h: label index and
 *   name, confidence, per-class scores and names; readable without linking Nerve);
 * - when #GstNerveSentiment:post-messages is TRUE, an element message named
 *   `nervesentiment` is posted with the fields `text` (string), `label` (string),
 *   `label-index` (int), `confidence` (double), `scores` (GstValueArray of doubles, in
 *   the order of `labels`), `labels` (GstValueArray of strings), `truncated` (boolean),
 *   `timestamp`, `duration`, `running-time` and `stream-time` (guint64 nanoseconds,
 *   GST_CLOCK_TIME_NONE when unknown).
 *
 * When an input buffer completes no unit, a GAP event covering its time goes
 * downstream so that muxers and overlays do not wait.
 *
 * Bad input never stops the stream: invalid UTF-8 bytes are replaced by U+FFFD (an
 * element warning says so, at most once every 10 s), units longer than
 * #GstNerveSentiment:max-length tokens are classified from their first tokens (an
 * element warning the first time), lines longer than 64 KiB are cut. FLUSH drops the
 * partial unit; DISCONT and EOS finish it.
 *
 * Without #GstNerveSentiment:model the element looks for `sentiment.nerve` (or
 * `sentiment/sentiment.nerve`) in the directories of the `NERVE_MODEL_PATH`
 * environment variable, then for the installed default model.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 filesrc location=reviews.txt ! nervesentiment model=sentiment.nerve output=json ! filesink location=reviews.jsonl
 * ]| writes one JSON object per non-empty line of reviews.txt to reviews.jsonl.
 * |[
 * gst-launch-1.0 -m filesrc location=reviews.txt ! nervesentiment model=sentiment.nerve segment=sentence ! fakesink
 * ]| prints a `nervesentiment` element message for each sentence.
 *
 * Since: 0.1
 */
#include "gstnervesentiment.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "gstnervecommon.h"
#include "gstnervemeta.h"
#include "textsegment.h"
#include "nerve.h"

GST_DEBUG_CATEGORY_STATIC (nerve_sentiment_debug);
#define GST_CAT_DEFAULT nerve_sentiment_debug

#define MAX_UNIT_BYTES 65536   /* a line this long without a newline is cut */
#define UTF8_WARN_INTERVAL_US (10 * G_USEC_PER_SEC)
#define CLASSIFY_BATCH 16

enum {
  PROP_0,
  PROP_MODEL,
  PROP_THREADS,
  PROP_POST_MESSAGES,
  PROP_SEGMENT,
  PROP_OUTPUT,
  PROP_MAX_LENGTH,
};

#define DEFAULT_THREADS 1
#define DEFAULT_POST_MESSAGES TRUE
#define DEFAULT_SEGMENT GST_NERVE_SENTIMENT_SEGMENT_LINE
#define DEFAULT_OUTPUT GST_NERVE_SENTIMENT_OUTPUT_TEXT
#define DEFAULT_MAX_LENGTH 0

typedef struct {
  gchar *text;          /* valid UTF-8, what goes downstream */
  GstClockTime pts, duration;
  gboolean replaced;    /* invalid UTF-8 was replaced */
} Unit;

struct _GstNerveSentiment {
  GstElement parent;
  GstPad *sinkpad, *srcpad;

  /* properties, under the object lock */
  gchar *model_path;
  gint threads;
  gboolean post_messages;
  GstNerveSentimentSegment segment_mode;
  GstNerveSentimentOutput output;
  guint max_length;

  /* set up by start(), used by the streaming thread */
  NerveModel *model;
  NerveTextClassifier *classifier;
  gint n_labels, model_max_length, max_tokens;
  const gchar **labels;   /* interned */
  GstNerveSentimentSegment seg_mode; /* copies of the properties for this run */
  GstNerveSentimentOutput out_mode;
  GArray *ids;            /* token scratch for max-length */

  /* stream state, under the stream lock */
  GByteArray *pending;    /* the unfinished unit (and what follows it) */
  gsize scan_from;        /* where the boundary search resumes in pending */
  gssize last_base;       /* where the last input buffer began in pending (may be < 0) */
  GstClockTime last_pts, last_duration;
  gsize last_size;
  GstSegment segment;
  gboolean caps_sent, discont;
  GArray *units;          /* of Unit, filled and emptied by each chain call */
  gboolean warned_truncation;
  gint64 last_utf8_warning;
  guint utf8_since_warning;
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
  GST_STATIC_CAPS ("text/x-raw, format = (string) utf8"));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS,
  GST_STATIC_CAPS ("text/x-raw, format = (string) utf8; application/x-json"));

#define gst_nerve_sentiment_parent_class parent_class
G_DEFINE_TYPE (GstNerveSentiment, gst_nerve_sentiment, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE (nervesentiment, "nervesentiment", GST_RANK_NONE, GST_TYPE_NERVE_SENTIMENT);

GType
gst_nerve_sentiment_segment_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { GST_NERVE_SENTIMENT_SEGMENT_LINE, "One unit per line", "line" },
    { GST_NERVE_SENTIMENT_SEGMENT_SENTENCE, "One unit per sentence (. ! ? then whitespace, or a blank line)",
      "sentence" },
    { 0, NULL, NULL },
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstNerveSentimentSegment", values));
  return type;
}

GType
gst_nerve_sentiment_output_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { GST_NERVE_SENTIMENT_OUTPUT_TEXT, "The unit's text and a newline (text/x-raw)", "text" },
    { GST_NERVE_SENTIMENT_OUTPUT_JSON, "One JSON object and a newline per unit (application/x-json)", "json" },
    { 0, NULL, NULL },
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstNerveSentimentOutput", values));
  return type;
}

/* ------------------------------------------------------------------ start / stop */

static void
clear_unit (gpointer p)
{
  g_free (((Unit *) p)->text);
}

static void
reset_stream (GstNerveSentiment *self)
{
  if (self->pending)
    g_byte_array_set_size (self->pending, 0);
  self->scan_from = 0;
  self->last_base = 0;
  self->last_pts = self->last_duration = GST_CLOCK_TIME_NONE;
  self->last_size = 0;
  gst_segment_init (&self->segment, GST_FORMAT_TIME);
}

static void
stop (GstNerveSentiment *self)
{
  g_clear_pointer (&self->classifier, nerve_text_classifier_free);
  g_clear_pointer (&self->model, nerve_model_unref);
  g_clear_pointer (&self->labels, g_free);
  g_clear_pointer (&self->ids, g_array_unref);
  g_clear_pointer (&self->pending, g_byte_array_unref);
  g_clear_pointer (&self->units, g_array_unref);
}

static gboolean
start (GstNerveSentiment *self)
{
  GST_OBJECT_LOCK (self);
  g_autofree gchar *prop = g_strdup (self->model_path);
  const gint threads = self->threads;
  const guint max_length = self->max_length;
  self->seg_mode = self->segment_mode;
  self->out_mode = self->output;
  GST_OBJECT_UNLOCK (self);

  g_autofree gchar *path = NULL;
  self->model = gst_nerve_load_model (GST_ELEMENT (self), "sentiment", prop, NERVE_DEFAULT_SENTIMENT_MODEL, &path);
  if (!self->model)
    return FALSE;
  g_autoptr (GError) err = NULL;
  self->classifier = nerve_text_classifier_new (self->model, CLASSIFY_BATCH, &err);
  if (!self->classifier) {
    gst_nerve_model_unusable (GST_ELEMENT (self), path, err);
    g_clear_pointer (&self->model, nerve_model_unref);
    return FALSE;
  }
  nerve_set_threads (threads);
  self->n_labels = nerve_text_classifier_n_labels (self->classifier);
  self->labels = g_new (const gchar *, self->n_labels);
  for (int i = 0; i < self->n_labels; i++)
    self->labels[i] = g_intern_string (nerve_text_classifier_label (self->classifier, i));
  self->model_max_length = nerve_text_classifier_max_length (self->classifier);
  self->max_tokens = self->model_max_length;
  if (max_length > 0 && max_length < (guint) self->model_max_length)
    self->max_tokens = (gint) max_length;
  else if (max_length > (guint) self->model_max_length)
    GST_WARNING_OBJECT (self, "max-length %u is more than the model takes: using %d", max_length,
                        self->model_max_length);
  self->ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  self->pending = g_byte_array_new ();
  self->units = g_array_new (FALSE, FALSE, sizeof (Unit));
  g_array_set_clear_func (self->units, clear_unit);
  reset_stream (self);
  self->caps_sent = FALSE;
  self->discont = TRUE;
  self->warned_truncation = FALSE;
  self->last_utf8_warning = 0;
  self->utf8_since_warning = 0;
  GST_INFO_OBJECT (self, "model %s: %d labels (%s, ...), max length %d tokens (using %d), %d BLAS thread(s)", path,
                   self->n_labels, self->labels[0], self->model_max_length, self->max_tokens, threads);
  return TRUE;
}

/* ------------------------------------------------------------------ units */

/* Adds the unit pending[start, text_end) (skipped when blank), timed by the part of the
 * last input buffer it covers up to consumed_end. */
static void
add_unit (GstNerveSentiment *self, gsize start, gsize text_end, gsize consumed_end)
{
  Unit u = { 0 };
  u.text = nerve_text_unit (self->seg_mode, self->pending->data + start, text_end - start, &u.replaced);
  if (!u.text) {
    GST_LOG_OBJECT (self, "skipping a blank unit of %" G_GSIZE_FORMAT " bytes", text_end - start);
    return;
  }
  u.pts = u.duration = GST_CLOCK_TIME_NONE;
  if (GST_CLOCK_TIME_IS_VALID (self->last_pts)) {
    u.pts = self->last_pts;
    if (GST_CLOCK_TIME_IS_VALID (self->last_duration) && self->last_size > 0) {
      gssize s = MAX ((gssize) start - self->last_base, 0), e = (gssize) consumed_end - self->last_base;
      s = MIN (s, (gssize) self->last_size);
      e = CLAMP (e, s, (gssize) self->last_size);
      GstClockTime ts = gst_util_uint64_scale (self->last_duration, (guint64) s, self->last_size);
      GstClockTime te = gst_util_uint64_scale (self->last_duration, (guint64) e, self->last_size);
      u.pts = self->last_pts + ts;
      u.duration = te - ts;
    }
  }
  g_array_append_val (self->units, u);
}

/* Cuts every complete unit out of pending; at_end: the rest is a unit too. */
static void
collect_units (GstNerveSentiment *self, gboolean at_end)
{
  const guint8 *d = self->pending->data;
  const gsize len = self->pending->len;
  gsize start = 0, text_end, next, resume;
  while (nerve_text_find_boundary (self->seg_mode, d, start, MAX (self->scan_from, start), len, &text_end, &next, &resume)) {
    add_unit (self, start, text_end, next);
    start = next;
    self->scan_from = next;
  }
  self->scan_from = MAX (resume, start);
  while (len - start > MAX_UNIT_BYTES) {
    gsize cut = start + MAX_UNIT_BYTES;
    while (cut > start + MAX_UNIT_BYTES - 4 && (d[cut] & 0xC0) == 0x80) /* not inside a character */
      cut--;
    GST_WARNING_OBJECT (self, "no unit boundary in %d bytes: cutting the unit there", MAX_UNIT_BYTES);
    add_unit (self, start, cut, cut);
    start = cut;
    self->scan_from = MAX (self->scan_from, start);
  }
  if (at_end && start < len) {
    add_unit (self, start, len, len);
    start = len;
  }
  g_byte_array_remove_range (self->pending, 0, (guint) start);
  self->scan_from -= MIN (self->scan_from, start);
  self->last_base -= (gssize) start;
}

/* ------------------------------------------------------------------ output */

static gboolean
negotiate (GstNerveSentiment *self)
{
  g_autoptr (GstCaps) want = gst_caps_from_string (self->out_mode == GST_NERVE_SENTIMENT_OUTPUT_JSON
                                                     ? "application/x-json; text/x-raw, format=(string)utf8"
                                                     : "text/x-raw, format=(string)utf8");
  g_autoptr (GstCaps) peer = gst_pad_peer_query_caps (self->srcpad, want);
  if (gst_caps_is_empty (peer)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
                       ("downstream accepts none of %" GST_PTR_FORMAT, (GstCaps *) want));
    return FALSE;
  }
  GstCaps *caps = gst_caps_fixate (gst_caps_copy_nth (peer, 0));
  GST_DEBUG_OBJECT (self, "output caps %" GST_PTR_FORMAT, caps);
  gboolean ok = gst_pad_push_event (self->srcpad, gst_event_new_caps (caps));
  gst_caps_unref (caps);
  self->caps_sent = ok;
  return ok;
}

static gchar *
unit_json (GstNerveSentiment *self, const Unit *u, int label, float confidence, const float *p)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "text");
  json_builder_add_string_value (b, u->text);
  json_builder_set_member_name (b, "label");
  json_builder_add_string_value (b, self->labels[label]);
  json_builder_set_member_name (b, "confidence");
  json_builder_add_double_value (b, confidence);
  json_builder_set_member_name (b, "scores");
  json_builder_begin_object (b);
  for (int k = 0; k < self->n_labels; k++) {
    json_builder_set_member_name (b, self->labels[k]);
    json_builder_add_double_value (b, p[k]);
  }
  json_builder_end_object (b);
  json_builder_end_object (b);
  g_autoptr (JsonGenerator) g = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (g, root);
  return json_generator_to_data (g, NULL);
}

static void
post_unit_message (GstNerveSentiment *self, const Unit *u, int label, float confidence, const float *p,
                   gboolean truncated)
{
  GValue scores = G_VALUE_INIT, names = G_VALUE_INIT;
  gst_value_array_init (&scores, (guint) self->n_labels);
  gst_value_array_init (&names, (guint) self->n_labels);
  for (int k = 0; k < self->n_labels; k++) {
    GValue v = G_VALUE_INIT, w = G_VALUE_INIT;
    g_value_init (&v, G_TYPE_DOUBLE);
    g_value_set_double (&v, p[k]);
    gst_value_array_append_and_take_value (&scores, &v);
    g_value_init (&w, G_TYPE_STRING);
    g_value_set_static_string (&w, self->labels[k]);
    gst_value_array_append_and_take_value (&names, &w);
  }
  GstClockTime rt, st;
  gst_nerve_segment_times (&self->segment, u->pts, &rt, &st);
  GstStructure *s = gst_structure_new ("nervesentiment", "text", G_TYPE_STRING, u->text, "label", G_TYPE_STRING,
                                       self->labels[label], "label-index", G_TYPE_INT, label, "confidence",
                                       G_TYPE_DOUBLE, (double) confidence, "truncated", G_TYPE_BOOLEAN, truncated,
                                       "timestamp", G_TYPE_UINT64, u->pts, "duration", G_TYPE_UINT64, u->duration,
                                       "running-time", G_TYPE_UINT64, rt, "stream-time", G_TYPE_UINT64, st, NULL);
  gst_structure_take_value (s, "scores", &scores);
  gst_structure_take_value (s, "labels", &names);
  gst_element_post_message (GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), s));
}

/* Says once per 10 s that invalid UTF-8 was replaced, with the count since the last time. */
static void
warn_invalid_utf8 (GstNerveSentiment *self, const gchar *text)
{
  self->utf8_since_warning++;
  GST_WARNING_OBJECT (self, "invalid UTF-8 replaced in unit: %s", text);
  const gint64 now = g_get_monotonic_time ();
  if (self->last_utf8_warning && now - self->last_utf8_warning < UTF8_WARN_INTERVAL_US)
    return;
  GST_ELEMENT_WARNING (self, STREAM, FORMAT, ("Invalid UTF-8 in the text"),
                       ("%u unit(s) had invalid bytes, replaced by U+FFFD (this warning repeats at most every "
                        "10 s), latest: %s",
                        self->utf8_since_warning, text));
  self->last_utf8_warning = now;
  self->utf8_since_warning = 0;
}

/* The text the classifier sees: the unit itself, or its first max_tokens tokens when
 * max-length is below the model's own limit (the classifier truncates to that). */
static gchar *
classify_text (GstNerveSentiment *self, const gchar *text, gboolean *truncated)
{
  *truncated = FALSE;
  if (self->max_tokens >= self->model_max_length)
    return NULL;
  const NerveTokenizer *tok = nerve_text_classifier_tokenizer (self->classifier);
  if (!nerve_tokenizer_encode (tok, text, -1, self->ids, NULL, NULL) || (gint) self->ids->len <= self->max_tokens)
    return NULL;
  *truncated = TRUE;
  return nerve_tokenizer_decode (tok, (const gint32 *) (gpointer) self->ids->data, (gsize) self->max_tokens, NULL);
}

/* Classifies the collected units and pushes one buffer for each. */
static GstFlowReturn
process_units (GstNerveSentiment *self)
{
  const guint n = self->units->len;
  if (n == 0)
    return GST_FLOW_OK;
  if (!self->caps_sent && !negotiate (self)) {
    g_array_set_size (self->units, 0);
    return GST_FLOW_NOT_NEGOTIATED;
  }
  GST_OBJECT_LOCK (self);
  const gboolean post = self->post_messages;
  GST_OBJECT_UNLOCK (self);

  const gchar **texts = g_new (const gchar *, n);
  gchar **shortened = g_new0 (gchar *, n);
  gboolean *cut = g_new0 (gboolean, n);
  for (guint i = 0; i < n; i++) {
    Unit *u = &g_array_index (self->units, Unit, i);
    if (u->replaced)
      warn_invalid_utf8 (self, u->text);
    shortened[i] = classify_text (self, u->text, &cut[i]);
    texts[i] = shortened[i] ? shortened[i] : u->text;
  }
  float *probs = g_new (float, (gsize) n * self->n_labels);
  NerveTextResult *res = g_new (NerveTextResult, n);
  g_autoptr (GError) err = NULL;
  GstFlowReturn ret = GST_FLOW_OK;
  if (!nerve_text_classifier_run (self->classifier, texts, (int) n, probs, res, &err)) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Text classification failed"), ("%s", err->message));
    ret = GST_FLOW_ERROR;
  }
  for (guint i = 0; i < n && ret == GST_FLOW_OK; i++) {
    const Unit *u = &g_array_index (self->units, Unit, i);
    const float *p = probs + (gsize) i * self->n_labels;
    const int label = res[i].label;
    const gboolean truncated = cut[i] || res[i].truncated;
    if (truncated) {
      GST_WARNING_OBJECT (self, "unit longer than %d tokens, classified from its start: %s", self->max_tokens,
                          u->text);
      if (!self->warned_truncation)
        GST_ELEMENT_WARNING (self, STREAM, FORMAT, ("Text longer than %d tokens was truncated", self->max_tokens),
                             ("the unit is classified from its first %d tokens (max-length); later truncations "
                              "are only logged (GST_DEBUG=nervesentiment:2): %s",
                              self->max_tokens, u->text));
      self->warned_truncation = TRUE;
    }
    GST_DEBUG_OBJECT (self, "%s (%.3f) %" GST_TIME_FORMAT " +%" GST_TIME_FORMAT ": %s", self->labels[label],
                      res[i].confidence, GST_TIME_ARGS (u->pts), GST_TIME_ARGS (u->duration), u->text);
    if (post)
      post_unit_message (self, u, label, res[i].confidence, p, truncated);
    gchar *payload = self->out_mode == GST_NERVE_SENTIMENT_OUTPUT_JSON
                       ? unit_json (self, u, label, res[i].confidence, p)
                       : g_strdup (u->text);
    gsize len = strlen (payload);
    payload = g_realloc (payload, len + 2);
    payload[len] = '\n';
    payload[len + 1] = '\0';
    GstBuffer *buf = gst_buffer_new_wrapped (payload, len + 1);
    GST_BUFFER_PTS (buf) = u->pts;
    GST_BUFFER_DURATION (buf) = u->duration;
    if (self->discont) {
      GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
      self->discont = FALSE;
    }
    gst_buffer_add_nerve_classification_meta (buf, label, res[i].confidence, p, self->labels,
                                              (guint) self->n_labels, truncated);
    ret = gst_pad_push (self->srcpad, buf);
  }
  for (guint i = 0; i < n; i++)
    g_free (shortened[i]);
  g_free (shortened);
  g_free (cut);
  g_free (texts);
  g_free (probs);
  g_free (res);
  g_array_set_size (self->units, 0);
  return ret;
}

/* ------------------------------------------------------------------ pads */

static GstFlowReturn
gst_nerve_sentiment_chain (GstPad *pad, GstObject *parent, GstBuffer *buf)
{
  GstNerveSentiment *self = GST_NERVE_SENTIMENT (parent);
  if (!self->classifier) {
    gst_buffer_unref (buf);
    return GST_FLOW_FLUSHING;
  }
  GstFlowReturn ret = GST_FLOW_OK;
  /* data was lost: the unfinished unit ends here */
  if (GST_BUFFER_IS_DISCONT (buf) && self->pending->len > 0) {
    GST_DEBUG_OBJECT (self, "discont: finishing the partial unit");
    collect_units (self, TRUE);
    self->discont = TRUE;
    if ((ret = process_units (self)) != GST_FLOW_OK) {
      gst_buffer_unref (buf);
      return ret;
    }
  } else if (GST_BUFFER_IS_DISCONT (buf)) {
    self->discont = TRUE;
  }
  GstMapInfo map;
  if (!gst_buffer_map (buf, &map, GST_MAP_READ)) {
    gst_buffer_unref (buf);
    GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL), ("could not map the input buffer"));
    return GST_FLOW_ERROR;
  }
  GST_LOG_OBJECT (self, "%" G_GSIZE_FORMAT " bytes at %" GST_TIME_FORMAT ", %u pending", map.size,
                  GST_TIME_ARGS (GST_BUFFER_PTS (buf)), self->pending->len);
  self->last_base = (gssize) self->pending->len;
  self->last_pts = GST_BUFFER_PTS (buf);
  self->last_duration = GST_BUFFER_DURATION (buf);
  self->last_size = map.size;
  g_byte_array_append (self->pending, map.data, (guint) map.size);
  gst_buffer_unmap (buf, &map);
  collect_units (self, FALSE);
  const gboolean none = self->units->len == 0;
  ret = process_units (self);
  /* nothing to say for this stretch of time: let downstream move on */
  if (ret == GST_FLOW_OK && none && GST_BUFFER_PTS_IS_VALID (buf) && self->caps_sent)
    gst_pad_push_event (self->srcpad, gst_event_new_gap (GST_BUFFER_PTS (buf), GST_BUFFER_DURATION (buf)));
  gst_buffer_unref (buf);
  return ret;
}

static gboolean
gst_nerve_sentiment_sink_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstNerveSentiment *self = GST_NERVE_SENTIMENT (parent);
  GST_LOG_OBJECT (self, "event %" GST_PTR_FORMAT, event);
  /* upstream with ANY caps (filesrc) sends none: ours must still precede the segment */
  if (!self->caps_sent && GST_EVENT_IS_SERIALIZED (event) && GST_EVENT_TYPE (event) > GST_EVENT_CAPS &&
      self->classifier)
    negotiate (self);
  switch (GST_EVENT_TYPE (event)) {
  case GST_EVENT_CAPS:
    /* the output caps depend on the output property only */
    gst_event_unref (event);
    return self->caps_sent || negotiate (self);
  case GST_EVENT_SEGMENT: {
    const GstSegment *seg;
    gst_event_parse_segment (event, &seg);
    if (seg->format == GST_FORMAT_TIME) {
      gst_segment_copy_into (seg, &self->segment);
    } else {
      /* byte positions (filesrc) say nothing about our units: time from 0 instead */
      GST_DEBUG_OBJECT (self, "replacing a %s segment with a TIME segment", gst_format_get_name (seg->format));
      guint32 seqnum = gst_event_get_seqnum (event);
      gst_event_unref (event);
      gst_segment_init (&self->segment, GST_FORMAT_TIME);
      event = gst_event_new_segment (&self->segment);
      gst_event_set_seqnum (event, seqnum);
    }
    break;
  }
  case GST_EVENT_FLUSH_STOP:
    if (self->pending) {
      GST_DEBUG_OBJECT (self, "flush: dropping %u pending bytes", self->pending->len);
      reset_stream (self);
      self->discont = TRUE;
    }
    break;
  case GST_EVENT_EOS:
    if (self->pending && self->pending->len > 0) {
      GST_DEBUG_OBJECT (self, "EOS: finishing %u pending bytes", self->pending->len);
      collect_units (self, TRUE);
      process_units (self);
    }
    break;
  default:
    break;
  }
  return gst_pad_event_default (pad, parent, event);
}

/* ------------------------------------------------------------------ GObject */

static GstStateChangeReturn
gst_nerve_sentiment_change_state (GstElement *element, GstStateChange transition)
{
  GstNerveSentiment *self = GST_NERVE_SENTIMENT (element);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED && !start (self)) {
    stop (self);
    return GST_STATE_CHANGE_FAILURE;
  }
  GstStateChangeReturn ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY ||
      (transition == GST_STATE_CHANGE_READY_TO_PAUSED && ret == GST_STATE_CHANGE_FAILURE))
    stop (self);
  return ret;
}

static void
gst_nerve_sentiment_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstNerveSentiment *self = GST_NERVE_SENTIMENT (object);
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
  case PROP_MODEL:
    g_free (self->model_path);
    self->model_path = g_value_dup_string (value);
    break;
  case PROP_THREADS:
    self->threads = g_value_get_int (value);
    break;
  case PROP_POST_MESSAGES:
    self->post_messages = g_value_get_boolean (value);
    break;
  case PROP_SEGMENT:
    self->segment_mode = g_value_get_enum (value);
    break;
  case PROP_OUTPUT:
    self->output = g_value_get_enum (value);
    break;
  case PROP_MAX_LENGTH:
    self->max_length = g_value_get_uint (value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_nerve_sentiment_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstNerveSentiment *self = GST_NERVE_SENTIMENT (object);
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
  case PROP_MODEL:
    g_value_set_string (value, self->model_path);
    break;
  case PROP_THREADS:
    g_value_set_int (value, self->threads);
    break;
  case PROP_POST_MESSAGES:
    g_value_set_boolean (value, self->post_messages);
    break;
  case PROP_SEGMENT:
    g_value_set_enum (value, self->segment_mode);
    break;
  case PROP_OUTPUT:
    g_value_set_enum (value, self->output);
    break;
  case PROP_MAX_LENGTH:
    g_value_set_uint (value, self->max_length);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_nerve_sentiment_finalize (GObject *object)
{
  GstNerveSentiment *self = GST_NERVE_SENTIMENT (object);
  stop (self);
  g_free (self->model_path);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_nerve_sentiment_class_init (GstNerveSentimentClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GST_DEBUG_CATEGORY_INIT (nerve_sentiment_debug, "nervesentiment", 0, "Nerve text sentiment");

  gobject_class->set_property = gst_nerve_sentiment_set_property;
  gobject_class->get_property = gst_nerve_sentiment_get_property;
  gobject_class->finalize = gst_nerve_sentiment_finalize;
  element_class->change_state = GST_DEBUG_FUNCPTR (gst_nerve_sentiment_change_state);

  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;
  g_object_class_install_property (gobject_class, PROP_MODEL,
    g_param_spec_string ("model", "Model",
                         "Nerve text-classification model file (.nerve). Unset: sentiment.nerve from the "
                         "directories in NERVE_MODEL_PATH, else the installed default " NERVE_DEFAULT_SENTIMENT_MODEL,
                         NULL, rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_THREADS,
    g_param_spec_int ("threads", "Threads",
                      "BLAS threads for the network (process-wide OpenBLAS setting, applied when the element starts)",
                      1, 64, DEFAULT_THREADS, rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_POST_MESSAGES,
    g_param_spec_boolean ("post-messages", "Post messages",
                          "Post a 'nervesentiment' element message for each unit", DEFAULT_POST_MESSAGES,
                          rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_SEGMENT,
    g_param_spec_enum ("segment", "Segment", "How the text is cut into units", GST_TYPE_NERVE_SENTIMENT_SEGMENT,
                       DEFAULT_SEGMENT, rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_OUTPUT,
    g_param_spec_enum ("output", "Output",
                       "What goes downstream for each unit: its text, or a JSON object "
                       "{\"text\", \"label\", \"confidence\", \"scores\"}",
                       GST_TYPE_NERVE_SENTIMENT_OUTPUT, DEFAULT_OUTPUT, rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_MAX_LENGTH,
    g_param_spec_uint ("max-length", "Max length",
                       "Tokens per unit given to the classifier (0: the model's limit); longer units are "
                       "classified from their start, with a warning",
                       0, G_MAXINT, DEFAULT_MAX_LENGTH, rw | GST_PARAM_MUTABLE_READY));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "Nerve text sentiment", "Filter/Analyzer/Text",
    "Classifies the sentiment of each line or sentence of UTF-8 text with a Nerve model; passes the text "
    "on (or JSON) with a classification meta and posts 'nervesentiment' element messages",
    "Nerve developers");
  gst_type_mark_as_plugin_api (GST_TYPE_NERVE_SENTIMENT_SEGMENT, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_NERVE_SENTIMENT_OUTPUT, 0);
}

/* LATENCY: classification adds no fixed delay to a unit once its delimiter arrives,
 * but a unit waits for its delimiter, however long that takes: upstream's minimum,
 * no maximum. */
static gboolean
gst_nerve_sentiment_src_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  if (GST_QUERY_TYPE (query) != GST_QUERY_LATENCY)
    return gst_pad_query_default (pad, parent, query);
  GstNerveSentiment *self = GST_NERVE_SENTIMENT (parent);
  if (!gst_pad_peer_query (self->sinkpad, query))
    return FALSE;
  gboolean live;
  GstClockTime min;
  gst_query_parse_latency (query, &live, &min, NULL);
  gst_query_set_latency (query, live, min, GST_CLOCK_TIME_NONE);
  return TRUE;
}

static void
gst_nerve_sentiment_init (GstNerveSentiment *self)
{
  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (self->sinkpad, GST_DEBUG_FUNCPTR (gst_nerve_sentiment_chain));
  gst_pad_set_event_function (self->sinkpad, GST_DEBUG_FUNCPTR (gst_nerve_sentiment_sink_event));
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);
  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_set_query_function (self->srcpad, GST_DEBUG_FUNCPTR (gst_nerve_sentiment_src_query));
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);

  self->threads = DEFAULT_THREADS;
  self->post_messages = DEFAULT_POST_MESSAGES;
  self->segment_mode = DEFAULT_SEGMENT;
  self->output = DEFAULT_OUTPUT;
  self->max_length = DEFAULT_MAX_LENGTH;
  gst_segment_init (&self->segment, GST_FORMAT_TIME);
}

/* The shipped templates (pipelines/templates) with the shipped models (models/, found through
 * NERVE_MODEL_PATH in the daemon's environment) through the real nerved: denoise-file and
 * sentiment-file as jobs (results, output, quality), denoise-file as a pipeline on files in
 * the data root, and denoise-rtp live on loopback UDP with a sender and a receiver in this
 * process (audio back, counters, gap-free event stream, stop). */
#include <math.h>
#include <string.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gst/gst.h>

#include "audio-metrics.h"
#include "audiofile.h"
#include "nerved-api-check.h"

static NervedProc *daemon_proc;
static char *noisy_fixture, *clean_fixture;

static NervedProc *
the_daemon (void)
{
  if (!daemon_proc) {
    g_autofree char *t = nerve_test_path ("pipelines/templates");
    daemon_proc = api_start_with (t, NULL);
  }
  return daemon_proc;
}

/* The results' "seq" values increase strictly; every result is a `name` message. */
static void
check_results_order (JsonArray *results, const char *name)
{
  gint64 last = 0;
  guint bad_seq = 0, bad_name = 0;
  for (guint i = 0; i < json_array_get_length (results); i++) {
    JsonObject *r = json_array_get_object_element (results, i);
    const gint64 seq = json_object_get_int_member_with_default (r, "seq", -1);
    bad_seq += seq <= last;
    last = seq;
    const char *n = json_object_get_string_member_with_default (r, "name", "");
    bad_name += strcmp (n, name) != 0 || !json_object_has_member (r, "fields")
                || strcmp (json_object_get_string_member_with_default (r, "type", ""), "message") != 0;
  }
  CU_ASSERT_EQUAL (bad_seq, 0);
  CU_ASSERT_EQUAL (bad_name, 0);
}

/* The fields of one nervedenoise message are present and in range; returns the voice
 * probability (-1 when not). */
static double
check_denoise_fields (JsonObject *fields)
{
  if (!fields || !json_object_has_member (fields, "voice-probability") || !json_object_has_member (fields, "snr")
      || !json_object_has_member (fields, "gain"))
    return -1;
  const double vp = json_object_get_double_member (fields, "voice-probability");
  const double snr = json_object_get_double_member (fields, "snr");
  /* snr: 10 log10 (kept / removed energy), each + 1e-12: at most +-120 dB */
  if (!(vp >= 0 && vp <= 1) || !isfinite (snr) || fabs (snr) > 121)
    return -1;
  return vp;
}

static guint16
le16 (const guchar *b)
{
  return (guint16) (b[0] | (b[1] << 8));
}

/* ---- denoise-file as a job ---- */

static void
test_denoise_job (void)
{
  NervedProc *p = the_daemon ();
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autofree char *data = NULL;
  gsize len = 0;
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (noisy_fixture, &data, &len, NULL));
  g_autoptr (NervedReply) r = nerved_request (p, "POST", "/v1/jobs?template=denoise-file&wait=1", "audio/flac", data,
      len, NULL);
  if (r->status != 200 || g_strcmp0 (nerved_reply_string (r, "state"), "done")) {
    g_autofree char *log = nerved_proc_log (p);
    fprintf (stderr, "  denoise job: %u %s\n  log:\n%s\n", r->status, r->text, log);
  }
  CU_ASSERT_EQUAL_FATAL (r->status, 200);
  CU_ASSERT_FATAL (!g_strcmp0 (nerved_reply_string (r, "state"), "done"));
  JsonObject *o = nerved_reply_object (r);
  CU_ASSERT_PTR_NOT_NULL_FATAL (o);
  CU_ASSERT_TRUE (json_object_get_null_member (o, "error"));
  CU_ASSERT_FALSE (json_object_get_boolean_member_with_default (o, "truncated", TRUE));

  /* the input, as the model hears it */
  g_autoptr (GError) err = NULL;
  gsize n_in = 0;
  g_autofree float *noisy = nerve_audio_read_at (noisy_fixture, 16000, &n_in, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (noisy);
  const double dur_in = (double) n_in / 16000.0;

  /* one message per 100 ms of audio (a shorter last one at EOS) */
  JsonArray *results = json_object_get_array_member (o, "results");
  CU_ASSERT_PTR_NOT_NULL_FATAL (results);
  const guint n_res = json_array_get_length (results);
  const guint expect = (guint) ceil (dur_in / 0.1 - 1e-6);
  CU_ASSERT (n_res + 1 >= expect && n_res <= expect + 1);
  check_results_order (results, "nervedenoise");
  guint bad = 0;
  double vmax = 0, vmin = 1;
  GstClockTime next_ts = 0;
  guint bad_ts = 0;
  for (guint i = 0; i < n_res; i++) {
    JsonObject *m = json_array_get_object_element (results, i);
    JsonObject *f = json_object_get_object_member (m, "fields");
    const double vp = check_denoise_fields (f);
    bad += vp < 0;
    vmax = MAX (vmax, vp);
    vmin = vp >= 0 ? MIN (vmin, vp) : vmin;
    CU_ASSERT (g_str_has_prefix (json_object_get_string_member_with_default (m, "source", ""), "nervedenoise"));
    /* intervals follow each other without a gap */
    const gint64 ts = f ? json_object_get_int_member_with_default (f, "timestamp", -1) : -1;
    const gint64 d = f ? json_object_get_int_member_with_default (f, "duration", -1) : -1;
    bad_ts += ts < 0 || d <= 0 || (GstClockTime) ts != next_ts;
    next_ts = (GstClockTime) (ts + d);
  }
  CU_ASSERT_EQUAL (bad, 0);
  CU_ASSERT_EQUAL (bad_ts, 0);
  /* the fixture is speech with pauses: the model hears both */
  CU_ASSERT (vmax > 0.5);
  CU_ASSERT (vmin < vmax);
  printf ("  %u nervedenoise messages for %.2f s, voice probability %.2f..%.2f\n", n_res, dur_in, vmin, vmax);

  /* the WAV: complete, 16-bit mono, as long as the input */
  g_autofree char *out_path = g_strdup_printf ("/v1/jobs/%s/output", nerved_reply_string (r, "id"));
  CU_ASSERT_STRING_EQUAL (nerved_reply_string (r, "output"), out_path);
  g_autoptr (NervedReply) out = api_get (p, out_path);
  CU_ASSERT_EQUAL_FATAL (out->status, 200);
  const guchar *w = (const guchar *) out->text;
  const guint32 data_bytes = api_wav_data_size (w, out->len);
  CU_ASSERT_FATAL (data_bytes > 0);
  CU_ASSERT_EQUAL (le16 (w + 20), 1);   /* PCM */
  CU_ASSERT_EQUAL (le16 (w + 22), 1);   /* mono */
  CU_ASSERT_EQUAL (le16 (w + 34), 16);
  const guint32 rate = api_le32 (w + 24);
  CU_ASSERT (rate >= 8000 && rate <= 48000);
  const double dur_out = (double) data_bytes / 2.0 / rate;
  CU_ASSERT (fabs (dur_out - dur_in) <= 0.002);   /* audioresample may round by a sample */
  if (fabs (dur_out - dur_in) > 0.002)
    fprintf (stderr, "  output %.4f s (%u Hz), input %.4f s\n", dur_out, rate, dur_in);

  /* and cleaner than its input against the clean speech */
  g_autofree char *wav = g_build_filename (api_tmp_root, "denoised.wav", NULL);
  CU_ASSERT_TRUE_FATAL (g_file_set_contents (wav, out->text, (gssize) out->len, NULL));
  gsize n_out = 0, n_clean = 0;
  g_autofree float *y = nerve_audio_read_at (wav, 16000, &n_out, &err);
  g_autofree float *clean = nerve_audio_read_at (clean_fixture, 16000, &n_clean, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (y);
  CU_ASSERT_PTR_NOT_NULL_FATAL (clean);
  const gsize n = MIN (MIN (n_in, n_out), n_clean);
  const double in = nerve_si_sdr (noisy, clean, n), got = nerve_si_sdr (y, clean, n);
  printf ("  denoise-file job: SI-SDR %.2f dB -> %.2f dB (%+.2f)\n", in, got, got - in);
  CU_ASSERT (got > in + 1.0);
  g_unlink (wav);
}

/* ---- denoise-file as a pipeline on files in the data root ---- */

static void
test_denoise_pipeline (void)
{
  NervedProc *p = the_daemon ();
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  /* a copy in the data root (a symlink out of it would be refused as an escape) */
  g_autofree char *data = NULL;
  gsize len = 0;
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (noisy_fixture, &data, &len, NULL));
  g_autofree char *in = g_build_filename (api_data_dir (), "noisy.flac", NULL);
  g_autofree char *out = g_build_filename (api_data_dir (), "enhanced.wav", NULL);
  CU_ASSERT_TRUE_FATAL (g_file_set_contents (in, data, (gssize) len, NULL));
  g_autoptr (NervedReply) bad = api_post (p, "/v1/pipelines",
      "{\"template\": \"denoise-file\", \"params\": {\"input\": \"../noisy.flac\", \"output\": \"x.wav\"}}");
  api_expect_error (bad, 400, "bad_param", "input");
  g_autofree char *id = api_create (p, "{\"template\": \"denoise-file\", \"id\": \"file\", \"params\": "
      "{\"input\": \"noisy.flac\", \"output\": \"enhanced.wav\", \"attenuation-limit\": 30, \"mix\": 0.9}}");
  CU_ASSERT_PTR_NOT_NULL_FATAL (id);
  CU_ASSERT_TRUE (api_wait_state (p, "file", "finished"));
  g_autoptr (NervedReply) st = api_get (p, "/v1/pipelines/file");
  CU_ASSERT (nerved_reply_int (st, "buffers", 0) > 0 && nerved_reply_int (st, "bytes", 0) > 0);
  CU_ASSERT_TRUE (json_object_get_null_member (nerved_reply_object (st), "last_error"));
  g_autofree guchar *wav = NULL;
  gsize n = 0;
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (out, (char **) &wav, &n, NULL));
  const guint32 bytes = api_wav_data_size (wav, n);
  CU_ASSERT_FATAL (bytes > 0);
  g_autoptr (GError) err = NULL;
  gsize n_in = 0;
  g_autofree float *noisy = nerve_audio_read_at (noisy_fixture, 16000, &n_in, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (noisy);
  CU_ASSERT (fabs ((double) bytes / 2.0 / api_le32 (wav + 24) - (double) n_in / 16000.0) <= 0.002);
  g_autoptr (NervedReply) del = nerved_request (p, "DELETE", "/v1/pipelines/file", NULL, NULL, 0, NULL);
  CU_ASSERT_EQUAL (del->status, 200);
}

/* ---- sentiment-file as a job ---- */

static void
test_sentiment_job (void)
{
  NervedProc *p = the_daemon ();
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autofree char *fixture = nerve_test_path ("tests/fixtures/sentiment-clear.tsv");
  g_autofree char *tsv = NULL;
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (fixture, &tsv, NULL, NULL));
  g_auto (GStrv) rows = g_strsplit (tsv, "\n", -1);
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  for (int i = 0; rows[i]; i++) {
    char *tab = strchr (rows[i], '\t');
    if (!tab)
      continue;
    g_ptr_array_add (labels, g_strndup (rows[i], tab - rows[i]));
    g_ptr_array_add (lines, g_strdup (tab + 1));
    g_string_append_printf (text, "%s\n", tab + 1);
  }
  CU_ASSERT_FATAL (lines->len >= 4);
  g_autoptr (NervedReply) r = nerved_request (p, "POST", "/v1/jobs?template=sentiment-file&wait=1",
      "text/plain; charset=utf-8", text->str, text->len, NULL);
  if (r->status != 200 || g_strcmp0 (nerved_reply_string (r, "state"), "done"))
    fprintf (stderr, "  sentiment job: %u %s\n", r->status, r->text);
  CU_ASSERT_EQUAL_FATAL (r->status, 200);
  CU_ASSERT_FATAL (!g_strcmp0 (nerved_reply_string (r, "state"), "done"));
  JsonObject *o = nerved_reply_object (r);
  CU_ASSERT_PTR_NOT_NULL_FATAL (o);
  JsonArray *results = json_object_get_array_member (o, "results");
  CU_ASSERT_PTR_NOT_NULL_FATAL (results);
  CU_ASSERT_EQUAL_FATAL (json_array_get_length (results), lines->len);
  check_results_order (results, "nervesentiment");
  guint wrong_label = 0, wrong_text = 0;
  for (guint i = 0; i < lines->len; i++) {
    JsonObject *f = json_object_get_object_member (json_array_get_object_element (results, i), "fields");
    const char *label = f ? json_object_get_string_member_with_default (f, "label", "") : "";
    const char *t = f ? json_object_get_string_member_with_default (f, "text", "") : "";
    const double conf = f ? json_object_get_double_member_with_default (f, "confidence", -1) : -1;
    if (strcmp (label, g_ptr_array_index (labels, i)) != 0) {
      wrong_label++;
      fprintf (stderr, "  line %u: %s, expected %s: %s\n", i, label, (char *) g_ptr_array_index (labels, i), t);
    }
    wrong_text += strcmp (t, g_ptr_array_index (lines, i)) != 0;
    CU_ASSERT (conf >= 0.5 && conf <= 1.0);
  }
  CU_ASSERT_EQUAL (wrong_label, 0);
  CU_ASSERT_EQUAL (wrong_text, 0);

  /* the JSON lines output has the same labels */
  g_autofree char *out_path = g_strdup_printf ("/v1/jobs/%s/output", nerved_reply_string (r, "id"));
  g_autoptr (NervedReply) out = api_get (p, out_path);
  CU_ASSERT_EQUAL_FATAL (out->status, 200);
  g_autofree char *body = g_strndup (out->text, out->len);
  g_auto (GStrv) jl = g_strsplit (g_strstrip (body), "\n", -1);
  CU_ASSERT_EQUAL_FATAL (g_strv_length (jl), lines->len);
  guint same = 0;
  for (guint i = 0; jl[i]; i++) {
    g_autoptr (JsonNode) n = json_from_string (jl[i], NULL);
    same += n && JSON_NODE_HOLDS_OBJECT (n)
            && !g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (n), "label", ""),
                g_ptr_array_index (labels, i));
  }
  CU_ASSERT_EQUAL (same, lines->len);
}

/* ---- denoise-rtp live on loopback UDP ---- */

/* A UDP port that was free a moment ago (bound to port 0, read, closed). */
static guint
free_udp_port (void)
{
  g_autoptr (GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  if (!s || !g_socket_bind (s, any, FALSE, NULL))
    return 0;
  g_autoptr (GSocketAddress) bound = g_socket_get_local_address (s, NULL);
  const guint port = bound ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)) : 0;
  g_socket_close (s, NULL);
  return port;
}

typedef struct {
  GMutex lock;
  guint64 samples;
  double sum_sq;     /* of samples in [-1, 1] */
} Received;

/* fakesink handoff (streaming thread): S16LE mono */
static void
on_handoff (GstElement *sink, GstBuffer *buf, GstPad *pad, gpointer user_data)
{
  Received *rx = user_data;
  GstMapInfo map;
  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
    return;
  const gsize n = map.size / 2;
  double s = 0;
  for (gsize i = 0; i < n; i++) {
    const double v = (gint16) (map.data[2 * i] | (map.data[2 * i + 1] << 8)) / 32768.0;
    s += v * v;
  }
  gst_buffer_unmap (buf, &map);
  g_mutex_lock (&rx->lock);
  rx->samples += n;
  rx->sum_sq += s;
  g_mutex_unlock (&rx->lock);
}

static guint64
received_samples (Received *rx, double *rms)
{
  g_mutex_lock (&rx->lock);
  const guint64 n = rx->samples;
  if (rms)
    *rms = n ? sqrt (rx->sum_sq / (double) n) : 0;
  g_mutex_unlock (&rx->lock);
  return n;
}

static GstElement *
launch (const char *desc)
{
  g_autoptr (GError) e = NULL;
  GstElement *p = gst_parse_launch_full (desc, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &e);
  if (!p)
    fprintf (stderr, "  %s: %s\n", desc, e->message);
  return p;
}

/* Reads events until pred says stop (or the deadline): checks each id follows the last.
 * Returns the number of nervedenoise messages seen (all in range, else counted in *bad). */
typedef struct {
  guint64 last_id;
  guint gaps, messages, bad;
  gboolean stopped, eos;
} StreamCheck;

static void
read_events (NervedSseReader *r, StreamCheck *c, guint want_messages, gboolean until_stopped, guint timeout_ms)
{
  const gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  while ((until_stopped ? !c->stopped : c->messages < want_messages) && g_get_monotonic_time () < deadline) {
    const gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
    g_autoptr (NervedSseEvent) e = nerved_sse_next (r, (guint) MAX (left, 1));
    if (!e)
      break;
    if (!e->has_id || e->id != c->last_id + 1) {
      c->gaps++;
      fprintf (stderr, "  event %s: id %" G_GUINT64_FORMAT " after %" G_GUINT64_FORMAT "\n", e->event, e->id,
          c->last_id);
    }
    c->last_id = e->id;
    if (!strcmp (e->event, "stopped"))
      c->stopped = TRUE;
    else if (!strcmp (e->event, "eos"))
      c->eos = TRUE;
    else if (!strcmp (e->event, "message")) {
      g_autoptr (JsonNode) n = json_from_string (e->data, NULL);
      JsonObject *o = n && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
      if (!o || strcmp (json_object_get_string_member_with_default (o, "name", ""), "nervedenoise") != 0
          || (gint64) e->id != json_object_get_int_member_with_default (o, "seq", -1)
          || check_denoise_fields (json_object_get_object_member (o, "fields")) < 0)
        c->bad++;
      else
        c->messages++;
    }
  }
}

static void
test_denoise_rtp (void)
{
  NervedProc *p = the_daemon ();
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  const guint in_port = free_udp_port (), out_port = free_udp_port ();
  CU_ASSERT_FATAL (in_port && out_port && in_port != out_port);
  g_autoptr (GError) err = NULL;
  gsize n_in = 0;
  g_autofree float *noisy = nerve_audio_read_at (noisy_fixture, 16000, &n_in, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (noisy);
  const double dur = (double) n_in / 16000.0;

  /* the receiver first: denoised RTP L16 back from the daemon */
  Received rx = { 0 };
  g_mutex_init (&rx.lock);
  g_autofree char *rdesc = g_strdup_printf (
      "udpsrc address=127.0.0.1 port=%u caps=\"application/x-rtp,media=audio,clock-rate=16000,encoding-name=L16,"
      "channels=1\" ! rtpjitterbuffer latency=100 ! rtpL16depay ! audioconvert ! audioresample ! "
      "audio/x-raw,format=S16LE,channels=1,rate=16000 ! fakesink name=sink signal-handoffs=true sync=false",
      out_port);
  GstElement *recv = launch (rdesc);
  CU_ASSERT_PTR_NOT_NULL_FATAL (recv);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (recv), "sink");
  g_signal_connect (sink, "handoff", G_CALLBACK (on_handoff), &rx);
  gst_object_unref (sink);
  gst_element_set_state (recv, GST_STATE_PLAYING);

  g_autofree char *body = g_strdup_printf (
      "{\"template\": \"denoise-rtp\", \"id\": \"rtp\", \"params\": {\"in-port\": %u, \"host\": \"127.0.0.1\", "
      "\"out-port\": %u, \"latency\": 50}}", in_port, out_port);
  g_autofree char *id = api_create (p, body);
  CU_ASSERT_PTR_NOT_NULL_FATAL (id);
  CU_ASSERT_TRUE (api_wait_state (p, "rtp", "playing"));
  guint status = 0;
  NervedSseReader *r = nerved_sse_open (p, "/v1/pipelines/rtp/events?after=0", NULL, &status, NULL);
  CU_ASSERT_EQUAL (status, 200);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r);

  /* the sender: the noisy fixture in real time */
  g_autofree char *sdesc = g_strdup_printf (
      "filesrc location=\"%s\" ! decodebin ! audioconvert ! audioresample ! audio/x-raw,rate=16000,channels=1 ! "
      "rtpL16pay ! udpsink host=127.0.0.1 port=%u", noisy_fixture, in_port);
  GstElement *send = launch (sdesc);
  CU_ASSERT_PTR_NOT_NULL_FATAL (send);
  gst_element_set_state (send, GST_STATE_PLAYING);

  /* the counters grow while the audio flows */
  const gint64 deadline = g_get_monotonic_time () + (gint64) (dur * 1000 + WAIT_MS) * 1000;
  gint64 b1 = 0, y1 = 0;
  while ((b1 = api_status_int (p, "rtp", "buffers")) <= 0 && g_get_monotonic_time () < deadline)
    g_usleep (20000);
  y1 = api_status_int (p, "rtp", "bytes");
  CU_ASSERT (b1 > 0 && y1 > 0);
  gint64 b2 = b1, y2 = y1;
  while ((b2 <= b1 || y2 <= y1) && g_get_monotonic_time () < deadline) {
    g_usleep (20000);
    b2 = api_status_int (p, "rtp", "buffers");
    y2 = api_status_int (p, "rtp", "bytes");
  }
  CU_ASSERT (b2 > b1 && y2 > y1);

  /* element messages on its event stream: one per 100 ms of audio, no gap in the ids */
  StreamCheck c = { 0 };
  const guint want = (guint) MAX (dur / 0.1 * 0.6, 5);
  read_events (r, &c, want, FALSE, (guint) (dur * 1000) + WAIT_MS);
  CU_ASSERT (c.messages >= want);
  CU_ASSERT_EQUAL (c.bad, 0);

  /* the sender ends; the denoised audio has come back (most of it: UDP on loopback) */
  g_autoptr (GstBus) bus = gst_element_get_bus (send);
  GstMessage *m = gst_bus_timed_pop_filtered (bus, (GstClockTime) (dur * GST_SECOND) + WAIT_MS * GST_MSECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  CU_ASSERT (m && GST_MESSAGE_TYPE (m) == GST_MESSAGE_EOS);
  gst_clear_message (&m);
  const gint64 until = g_get_monotonic_time () + WAIT_MS * 1000;
  while (received_samples (&rx, NULL) < n_in * 9 / 10 && g_get_monotonic_time () < until)
    g_usleep (20000);
  double rms = 0;
  const guint64 got = received_samples (&rx, &rms);
  printf ("  denoise-rtp: %" G_GUINT64_FORMAT " of %" G_GSIZE_FORMAT " samples back, rms %.4f, %u messages\n", got,
      n_in, rms, c.messages);
  CU_ASSERT (got >= n_in * 3 / 4 && got <= n_in + 16000);
  CU_ASSERT (rms > 1e-3);   /* not silence: -60 dBFS */

  /* stop: EOS through the live pipeline, then NULL */
  g_autoptr (NervedReply) sp = api_post (p, "/v1/pipelines/rtp/stop", NULL);
  CU_ASSERT_EQUAL (sp->status, 200);
  CU_ASSERT_STRING_EQUAL (nerved_reply_string (sp, "state"), "stopped");
  read_events (r, &c, 0, TRUE, WAIT_MS);
  CU_ASSERT_TRUE (c.stopped && c.eos);
  CU_ASSERT_EQUAL (c.gaps, 0);
  CU_ASSERT_EQUAL (c.bad, 0);
  CU_ASSERT_EQUAL ((gint64) c.last_id, api_status_int (p, "rtp", "events"));
  nerved_sse_close (r);
  g_autoptr (NervedReply) del = nerved_request (p, "DELETE", "/v1/pipelines/rtp", NULL, NULL, 0, NULL);
  CU_ASSERT_EQUAL (del->status, 200);

  gst_element_set_state (send, GST_STATE_NULL);
  gst_object_unref (send);
  gst_element_set_state (recv, GST_STATE_NULL);
  gst_object_unref (recv);
  g_mutex_clear (&rx.lock);
}

static void
test_cleanup (void)
{
  if (daemon_proc)
    api_stop (g_steal_pointer (&daemon_proc));
  api_cleanup ();
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  /* the daemon inherits it: the elements find models/denoise and models/sentiment */
  g_autofree char *models = nerve_test_path ("models");
  g_setenv ("NERVE_MODEL_PATH", models, TRUE);
  noisy_fixture = nerve_test_path ("tests/fixtures/denoise-noisy.flac");
  clean_fixture = nerve_test_path ("tests/fixtures/denoise-clean.flac");
  static const TestCase tests[] = {
    { "denoise-file job: nervedenoise results, a WAV as long as the input and cleaner", test_denoise_job },
    { "denoise-file pipeline: files in the data root, traversal refused", test_denoise_pipeline },
    { "sentiment-file job: nervesentiment results with the expected labels, in order", test_sentiment_job },
    { "denoise-rtp live: audio back, counters grow, gap-free events, stop", test_denoise_rtp },
    { "cleanup", test_cleanup },
    { NULL, NULL },
  };
  const int failed = nerve_test_main ("nerved-nerve", tests);
  g_free (noisy_fixture);
  g_free (clean_fixture);
  return failed ? 1 : 0;
}

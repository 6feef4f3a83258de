/**
 * SECTION:element-nervedenoise
 * @title: nervedenoise
 *
 * Removes noise from speech with a Nerve denoise model (core/denoise.h: Nerve's own
 * "mask" models, imported DTLN and RNNoise models), streaming hop by hop with
 * recurrent state per stream.
 *
 * Caps: `audio/x-raw`, `format` F32LE or S16LE (the same on both pads), mono,
 * interleaved, `rate` fixed to the model's rate once the model is loaded (it is loaded
 * when the element goes from NULL to READY, so caps queries from then on answer with
 * that rate). Other rates and channel counts are refused at negotiation: put
 * `audioconvert ! audioresample` in front, as in the examples.
 *
 * Timing: output has exactly the input's timestamps and length. The model's output
 * trails its input by `latency` samples and works in hops of `hop` samples, so the
 * element holds back input, drops the first `latency` processed samples, and at EOS
 * (and before GAP, SEGMENT and STREAM_START events, at a DISCONT buffer, or a
 * timestamp jump of more than 40 ms) drains: it feeds zeros until every input sample
 * has its output, pushes that, then resets the model's state. Output sample k is
 * the enhanced input sample k; output buffers (not the same sizes as the input's)
 * carry the timestamp, duration and offset of their first sample's position, counted
 * from the first buffer after a reset. FLUSH_STOP drops what is held back and resets.
 * Buffers flagged GAP are processed as the silence they stand for.
 * The LATENCY query answers upstream's latency plus (latency + hop - 1) samples: an
 * input sample can wait for the rest of its hop and then for the model's latency
 * (16 kHz "mask" model with 512/128 STFT: 384 + 127 samples = 31.9 ms).
 *
 * Non-finite input counts as silence and input is clamped to [-8, 8] by the model's
 * front end, so NaN/Inf never reach the recurrent state.
 *
 * Voice activity: every output buffer carries a #GstAudioLevelMeta (gst/audio/audio.h)
 * whose `level` is the buffer's level in -dBov (0 = full scale, 127 = silence) and
 * whose `voice_activity` says whether the model's voice probability, averaged over the
 * buffer's samples, is at least 0.5. When #GstNerveDenoise:post-messages is TRUE and
 * #GstNerveDenoise:message-interval is not 0, an element message named `nervedenoise`
 * is posted for each interval of output with the fields `voice-probability` (mean
 * over the interval, 0..1), `snr` (the model's estimated SNR in dB, mean over the
 * frames), `gain` (applied gain in dB, mean), `timestamp`, `duration`,
 * `running-time` and `stream-time` (guint64 ns, GST_CLOCK_TIME_NONE when unknown).
 * A shorter last interval is posted when the element drains.
 *
 * Without #GstNerveDenoise:model the element looks for `denoise.nerve` (or
 * `denoise/denoise.nerve`) in the directories of the `NERVE_MODEL_PATH` environment
 * variable, then for the installed default model. A missing, corrupt or non-denoise
 * model is an element error carrying the loader's message.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 filesrc location=noisy.flac ! decodebin ! audioconvert ! audioresample ! nervedenoise model=denoise.nerve ! wavenc ! filesink location=enhanced.wav
 * ]| enhances any audio file GStreamer decodes into a WAV file at the model's rate.
 * |[
 * gst-launch-1.0 -m filesrc location=noisy.flac ! decodebin ! audioconvert ! audioresample ! nervedenoise model=denoise.nerve message-interval=500000000 ! fakesink
 * ]| prints a `nervedenoise` message (voice probability, SNR, gain) every 500 ms of audio.
 * |[
 * gst-launch-1.0 filesrc location=noisy.flac ! decodebin ! audioconvert ! audioresample ! nervedenoise model=denoise.nerve attenuation-limit=12 mix=0.9 ! audioconvert ! audioresample ! audio/x-raw,rate=44100,channels=2 ! wavenc ! filesink location=enhanced.wav
 * ]| removes at most 12 dB, keeps a little of the input, and converts back to 44.1 kHz
 * stereo. For live use replace `filesrc ! decodebin` by `autoaudiosrc` and the end by
 * `audioconvert ! autoaudiosink`.
 *
 * Since: 0.1
 */
#include "gstnervedenoise.h"

#include <gst/audio/audio.h>
#include <math.h>
#include <string.h>

#include "denoise.h"
#include "gstnervecommon.h"
#include "nerve.h"

GST_DEBUG_CATEGORY_STATIC (nerve_denoise_debug);
#define GST_CAT_DEFAULT nerve_denoise_debug

/* a timestamp this far from where the sample count puts it is a discontinuity */
#define RESYNC_TOLERANCE (40 * GST_MSECOND)
/* attenuation limits from here up mean "no limit" */
#define NO_LIMIT_DB 100.0f

enum {
  PROP_0,
  PROP_MODEL,
  PROP_THREADS,
  PROP_ATTENUATION_LIMIT,
  PROP_MIX,
  PROP_VAD_THRESHOLD,
  PROP_MESSAGE_INTERVAL,
  PROP_POST_MESSAGES,
};

#define DEFAULT_THREADS 1
#define DEFAULT_ATTENUATION_LIMIT G_MAXFLOAT
#define DEFAULT_MIX 1.0f
#define DEFAULT_VAD_THRESHOLD 0.0f
#define DEFAULT_MESSAGE_INTERVAL (100 * GST_MSECOND)
#define DEFAULT_POST_MESSAGES TRUE

typedef struct {
  NerveDenoiseFrame info;
  guint n; /* samples of this hop still waiting in outq */
} Frame;

typedef struct {
  guint64 start, n; /* samples since the timeline base */
  double vad, snr, gain; /* sample-weighted sums */
} Interval;

struct _GstNerveDenoise {
  GstElement parent;
  GstPad *sinkpad, *srcpad;

  /* properties, under the object lock; settings_changed tells the streaming thread */
  gchar *model_path;
  gint threads;
  gfloat attenuation_limit, mix, vad_threshold;
  guint64 message_interval;
  gboolean post_messages;
  gboolean settings_changed;
  /* set at NULL->READY, read by queries under the object lock */
  gint rate, hop, latency;

  /* from NULL->READY to READY->NULL; used by the streaming thread */
  NerveModel *model;
  NerveDenoiser *den;
  float *hop_in, *hop_out; /* [hop] */
  guint64 msg_samples;     /* interval in samples, 0 = no messages */

  /* stream state, under the stream lock */
  GstAudioInfo info;
  gboolean have_info;
  GstSegment segment;
  gboolean started;        /* a timeline base is set */
  GstClockTime ts_base;    /* timestamp of input sample 0 (or NONE) */
  guint64 offset_base;     /* offset of input sample 0 (or GST_BUFFER_OFFSET_NONE) */
  guint64 n_in, n_out;     /* samples received / pushed since the base */
  guint n_hop_in;          /* samples in hop_in */
  guint skip;              /* processed samples still to drop (the model's latency) */
  GArray *outq;            /* float: processed samples not pushed yet */
  GArray *frames;          /* Frame: the hops those samples came from */
  Interval acc;
  gboolean discont;
};

#define CAPS_STR                                                                                                    \
  "audio/x-raw, format = (string) { F32LE, S16LE }, layout = (string) interleaved, channels = (int) 1, "             \
  "rate = (int) [ 1, MAX ]"
static GstStaticPadTemplate sink_template =
  GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (CAPS_STR));
static GstStaticPadTemplate src_template =
  GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (CAPS_STR));

#define gst_nerve_denoise_parent_class parent_class
G_DEFINE_TYPE (GstNerveDenoise, gst_nerve_denoise, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE (nervedenoise, "nervedenoise", GST_RANK_NONE, GST_TYPE_NERVE_DENOISE);

/* ------------------------------------------------------------------ model */

static void
unload (GstNerveDenoise *self)
{
  g_clear_pointer (&self->den, nerve_denoiser_free);
  g_clear_pointer (&self->model, nerve_model_unref);
  g_clear_pointer (&self->hop_in, g_free);
  g_clear_pointer (&self->hop_out, g_free);
  g_clear_pointer (&self->outq, g_array_unref);
  g_clear_pointer (&self->frames, g_array_unref);
  GST_OBJECT_LOCK (self);
  self->rate = self->hop = self->latency = 0;
  GST_OBJECT_UNLOCK (self);
}

static gboolean
load (GstNerveDenoise *self)
{
  GST_OBJECT_LOCK (self);
  g_autofree gchar *prop = g_strdup (self->model_path);
  const gint threads = self->threads;
  self->settings_changed = TRUE; /* the new denoiser gets every setting */
  GST_OBJECT_UNLOCK (self);

  g_autofree gchar *path = NULL;
  self->model = gst_nerve_load_model (GST_ELEMENT (self), "denoise", prop, NERVE_DEFAULT_DENOISE_MODEL, &path);
  if (!self->model)
    return FALSE;
  g_autoptr (GError) err = NULL;
  self->den = nerve_denoiser_new (self->model, &err);
  if (!self->den) {
    gst_nerve_model_unusable (GST_ELEMENT (self), path, err);
    g_clear_pointer (&self->model, nerve_model_unref);
    return FALSE;
  }
  nerve_set_threads (threads);
  const int hop = nerve_denoiser_hop (self->den);
  self->hop_in = g_new0 (float, hop);
  self->hop_out = g_new0 (float, hop);
  self->outq = g_array_new (FALSE, FALSE, sizeof (float));
  self->frames = g_array_new (FALSE, FALSE, sizeof (Frame));
  GST_OBJECT_LOCK (self);
  self->rate = nerve_denoiser_rate (self->den);
  self->hop = hop;
  self->latency = nerve_denoiser_latency (self->den);
  GST_OBJECT_UNLOCK (self);
  GST_INFO_OBJECT (self, "model %s: front end %s, %d Hz, hop %d, latency %d samples, %d BLAS thread(s)", path,
                   nerve_denoiser_frontend (self->den), self->rate, self->hop, self->latency, threads);
  return TRUE;
}

/* Hands changed properties to the denoiser (streaming thread only). */
static void
sync_settings (GstNerveDenoise *self)
{
  GST_OBJECT_LOCK (self);
  if (!self->settings_changed) {
    GST_OBJECT_UNLOCK (self);
    return;
  }
  self->settings_changed = FALSE;
  const float limit = self->attenuation_limit >= NO_LIMIT_DB ? G_MAXFLOAT : self->attenuation_limit;
  const float mix = self->mix, vad = self->vad_threshold;
  const guint64 interval = self->post_messages ? self->message_interval : 0;
  GST_OBJECT_UNLOCK (self);
  nerve_denoiser_set_attenuation_limit (self->den, limit);
  nerve_denoiser_set_mix (self->den, mix);
  nerve_denoiser_set_vad_threshold (self->den, vad);
  self->msg_samples = interval ? MAX (gst_util_uint64_scale_round (interval, (guint64) self->rate, GST_SECOND), 1) : 0;
  GST_DEBUG_OBJECT (self, "attenuation limit %g dB, mix %g, vad threshold %g, messages every %" G_GUINT64_FORMAT
                    " samples", (double) limit, (double) mix, (double) vad, self->msg_samples);
}

/* ------------------------------------------------------------------ stream state */

/* Forgets everything held back and the model's state; the next buffer sets a new base. */
static void
reset_stream (GstNerveDenoise *self)
{
  if (self->den)
    nerve_denoiser_reset (self->den);
  self->started = FALSE;
  self->ts_base = GST_CLOCK_TIME_NONE;
  self->offset_base = GST_BUFFER_OFFSET_NONE;
  self->n_in = self->n_out = 0;
  self->n_hop_in = 0;
  self->skip = (guint) self->latency;
  if (self->outq)
    g_array_set_size (self->outq, 0);
  if (self->frames)
    g_array_set_size (self->frames, 0);
  memset (&self->acc, 0, sizeof self->acc);
  self->discont = TRUE;
}

static GstClockTime
sample_time (GstNerveDenoise *self, guint64 n)
{
  if (!GST_CLOCK_TIME_IS_VALID (self->ts_base))
    return GST_CLOCK_TIME_NONE;
  return self->ts_base + gst_util_uint64_scale_int_round (n, GST_SECOND, self->rate);
}

/* One hop through the model; its output joins outq once the latency is skipped. */
static void
process_hop (GstNerveDenoise *self)
{
  const guint hop = (guint) self->hop;
  Frame f = { 0 };
  nerve_denoiser_process (self->den, self->hop_in, self->hop_out, &f.info);
  self->n_hop_in = 0;
  const guint skip = MIN (self->skip, hop);
  self->skip -= skip;
  if (skip == hop)
    return;
  f.n = hop - skip;
  g_array_append_vals (self->outq, self->hop_out + skip, f.n);
  g_array_append_val (self->frames, f);
}

static void
post_interval (GstNerveDenoise *self)
{
  Interval *a = &self->acc;
  if (a->n == 0)
    return;
  const GstClockTime ts = sample_time (self, a->start);
  const GstClockTime end = sample_time (self, a->start + a->n);
  GstClockTime rt, st;
  gst_nerve_segment_times (&self->segment, ts, &rt, &st);
  const double n = (double) a->n;
  GstStructure *s = gst_structure_new (
    "nervedenoise", "voice-probability", G_TYPE_DOUBLE, a->vad / n, "snr", G_TYPE_DOUBLE, a->snr / n, "gain",
    G_TYPE_DOUBLE, a->gain / n, "timestamp", G_TYPE_UINT64, ts, "duration", G_TYPE_UINT64,
    GST_CLOCK_TIME_IS_VALID (ts) ? end - ts : GST_CLOCK_TIME_NONE, "running-time", G_TYPE_UINT64, rt,
    "stream-time", G_TYPE_UINT64, st, NULL);
  GST_LOG_OBJECT (self, "%" GST_PTR_FORMAT, s);
  gst_element_post_message (GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), s));
  a->n = 0;
  a->vad = a->snr = a->gain = 0;
}

/* Adds c samples of a frame, the first at output position pos, to the message
 * interval, posting each full interval. */
static void
account (GstNerveDenoise *self, const NerveDenoiseFrame *f, guint64 pos, guint64 c)
{
  Interval *a = &self->acc;
  const double snr = isfinite (f->snr_db) ? f->snr_db : 0, gain = isfinite (f->gain_db) ? f->gain_db : 0;
  while (self->msg_samples && c > 0) {
    if (a->n == 0)
      a->start = pos;
    const guint64 take = MIN (c, self->msg_samples - a->n);
    a->vad += (double) take * f->vad;
    a->snr += (double) take * snr;
    a->gain += (double) take * gain;
    a->n += take;
    pos += take;
    c -= take;
    if (a->n >= self->msg_samples)
      post_interval (self);
  }
}

/* Pushes the first n samples of outq downstream with the meta; drops the rest. */
static GstFlowReturn
push_output (GstNerveDenoise *self, guint n)
{
  if (n == 0) {
    g_array_set_size (self->outq, 0);
    return GST_FLOW_OK;
  }
  const float *x = (const float *) (gpointer) self->outq->data;
  const gboolean s16 = GST_AUDIO_INFO_FORMAT (&self->info) == GST_AUDIO_FORMAT_S16LE;
  GstBuffer *buf = gst_buffer_new_allocate (NULL, (gsize) n * (s16 ? 2 : 4), NULL);
  GstMapInfo map;
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  double ms = 0;
  for (guint i = 0; i < n; i++)
    ms += (double) x[i] * x[i];
  if (s16) {
    gint16 *o = (gint16 *) (gpointer) map.data;
    for (guint i = 0; i < n; i++)
      o[i] = (gint16) CLAMP (lrintf (x[i] * 32768.0f), -32768, 32767);
  } else {
    memcpy (map.data, x, (gsize) n * sizeof (float));
  }
  gst_buffer_unmap (buf, &map);

  /* voice probability of the buffer, and the message intervals it completes */
  double vad = 0;
  guint left = n, used = 0;
  Frame *fr = (Frame *) (gpointer) self->frames->data;
  while (left > 0 && used < self->frames->len) {
    const guint c = MIN (left, fr[used].n);
    vad += (double) c * fr[used].info.vad;
    account (self, &fr[used].info, self->n_out + (n - left), c);
    fr[used].n -= c;
    left -= c;
    if (fr[used].n == 0)
      used++;
  }
  g_array_remove_range (self->frames, 0, used);
  g_array_set_size (self->outq, 0); /* anything beyond n was drain padding */

  ms /= n;
  const int level = ms > 0 ? (int) CLAMP (lrint (-10.0 * log10 (ms)), 0, 127) : 127;
  gst_buffer_add_audio_level_meta (buf, (guint8) level, vad / n >= 0.5);

  GST_BUFFER_PTS (buf) = sample_time (self, self->n_out);
  if (GST_BUFFER_PTS_IS_VALID (buf))
    GST_BUFFER_DURATION (buf) = sample_time (self, self->n_out + n) - GST_BUFFER_PTS (buf);
  if (self->offset_base != GST_BUFFER_OFFSET_NONE) {
    GST_BUFFER_OFFSET (buf) = self->offset_base + self->n_out;
    GST_BUFFER_OFFSET_END (buf) = GST_BUFFER_OFFSET (buf) + n;
  }
  if (self->discont) {
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
    self->discont = FALSE;
  }
  self->n_out += n;
  GST_LOG_OBJECT (self, "pushing %u samples at %" GST_TIME_FORMAT ", level -%d dBov, voice %.2f", n,
                  GST_TIME_ARGS (GST_BUFFER_PTS (buf)), level, vad / n);
  return gst_pad_push (self->srcpad, buf);
}

/* Outputs every input sample still held back (the model is fed zeros to flush its
 * latency), posts the last partial interval and resets. */
static GstFlowReturn
drain (GstNerveDenoise *self)
{
  if (!self->started || !self->den)
    return GST_FLOW_OK;
  const guint64 owed = self->n_in - self->n_out;
  GST_DEBUG_OBJECT (self, "draining %" G_GUINT64_FORMAT " samples", owed);
  while (self->outq->len < owed) {
    memset (self->hop_in + self->n_hop_in, 0, sizeof (float) * ((guint) self->hop - self->n_hop_in));
    process_hop (self);
  }
  GstFlowReturn ret = push_output (self, (guint) owed);
  post_interval (self);
  reset_stream (self);
  return ret;
}

/* ------------------------------------------------------------------ pads */

static GstFlowReturn
gst_nerve_denoise_chain (GstPad *pad, GstObject *parent, GstBuffer *buf)
{
  GstNerveDenoise *self = GST_NERVE_DENOISE (parent);
  if (!self->den) {
    gst_buffer_unref (buf);
    return GST_FLOW_FLUSHING;
  }
  if (!self->have_info) {
    gst_buffer_unref (buf);
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL), ("no caps before the first buffer"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  GstFlowReturn ret = GST_FLOW_OK;
  const GstClockTime pts = GST_BUFFER_PTS (buf);
  if (self->started) {
    gboolean jump = FALSE;
    if (GST_CLOCK_TIME_IS_VALID (pts)) {
      const GstClockTime want = sample_time (self, self->n_in);
      jump = !GST_CLOCK_TIME_IS_VALID (want) || (pts > want ? pts - want : want - pts) > RESYNC_TOLERANCE;
      if (jump)
        GST_DEBUG_OBJECT (self, "timestamp %" GST_TIME_FORMAT " where %" GST_TIME_FORMAT " was due", GST_TIME_ARGS (pts),
                          GST_TIME_ARGS (want));
    }
    if (jump || GST_BUFFER_IS_DISCONT (buf))
      ret = drain (self);
    if (ret != GST_FLOW_OK) {
      gst_buffer_unref (buf);
      return ret;
    }
  }
  if (!self->started) {
    self->started = TRUE;
    self->ts_base = pts;
    self->offset_base = GST_BUFFER_OFFSET_IS_VALID (buf)    ? GST_BUFFER_OFFSET (buf)
                        : GST_CLOCK_TIME_IS_VALID (pts) ? gst_util_uint64_scale_int_round (pts, self->rate, GST_SECOND)
                                                        : GST_BUFFER_OFFSET_NONE;
  }
  sync_settings (self);

  GstMapInfo map;
  if (!gst_buffer_map (buf, &map, GST_MAP_READ)) {
    gst_buffer_unref (buf);
    GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL), ("could not map the input buffer"));
    return GST_FLOW_ERROR;
  }
  const gboolean s16 = GST_AUDIO_INFO_FORMAT (&self->info) == GST_AUDIO_FORMAT_S16LE;
  /* a GAP buffer holds silence: its content need not be read */
  const gboolean gap = GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_GAP);
  const gsize n = map.size / (s16 ? 2 : 4);
  const guint hop = (guint) self->hop;
  for (gsize i = 0; i < n;) {
    const guint c = (guint) MIN (n - i, (gsize) (hop - self->n_hop_in));
    float *h = self->hop_in + self->n_hop_in;
    if (gap) {
      memset (h, 0, sizeof (float) * c);
    } else if (s16) {
      const gint16 *s = (const gint16 *) (gconstpointer) map.data + i;
      for (guint k = 0; k < c; k++)
        h[k] = (float) s[k] * (1.0f / 32768.0f);
    } else {
      memcpy (h, (const float *) (gconstpointer) map.data + i, sizeof (float) * c);
    }
    self->n_hop_in += c;
    i += c;
    if (self->n_hop_in == hop)
      process_hop (self);
  }
  gst_buffer_unmap (buf, &map);
  gst_buffer_unref (buf);
  self->n_in += n;
  return push_output (self, self->outq->len);
}

/* The template caps, with the model's rate once it is loaded. */
static GstCaps *
our_caps (GstNerveDenoise *self, GstPad *pad)
{
  GstCaps *c = gst_pad_get_pad_template_caps (pad);
  GST_OBJECT_LOCK (self);
  const gint rate = self->rate;
  GST_OBJECT_UNLOCK (self);
  if (rate > 0) {
    c = gst_caps_make_writable (c);
    gst_caps_set_simple (c, "rate", G_TYPE_INT, rate, NULL);
  }
  return c;
}

/* Both pads take the same caps: ours, narrowed by what the other side's peer takes. */
static gboolean
query_caps (GstNerveDenoise *self, GstPad *pad, GstQuery *query)
{
  GstCaps *filter;
  gst_query_parse_caps (query, &filter);
  GstPad *other = pad == self->sinkpad ? self->srcpad : self->sinkpad;
  GstCaps *mine = our_caps (self, pad);
  GstCaps *peer = gst_pad_peer_query_caps (other, mine);
  GstCaps *res = gst_caps_intersect_full (peer, mine, GST_CAPS_INTERSECT_FIRST);
  gst_caps_unref (peer);
  gst_caps_unref (mine);
  if (filter) {
    GstCaps *f = gst_caps_intersect_full (filter, res, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (res);
    res = f;
  }
  gst_query_set_caps_result (query, res);
  gst_caps_unref (res);
  return TRUE;
}

static gboolean
gst_nerve_denoise_sink_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  GstNerveDenoise *self = GST_NERVE_DENOISE (parent);
  switch (GST_QUERY_TYPE (query)) {
  case GST_QUERY_CAPS:
    return query_caps (self, pad, query);
  case GST_QUERY_ALLOCATION:
    return FALSE; /* our output buffers are our own: downstream's pool is no use upstream */
  default:
    return gst_pad_query_default (pad, parent, query);
  }
}

/* LATENCY: an input sample waits for the rest of its hop (up to hop - 1 samples) and
 * then for the model's latency before its output can leave. */
static gboolean
gst_nerve_denoise_src_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  GstNerveDenoise *self = GST_NERVE_DENOISE (parent);
  switch (GST_QUERY_TYPE (query)) {
  case GST_QUERY_CAPS:
    return query_caps (self, pad, query);
  case GST_QUERY_LATENCY: {
    if (!gst_pad_peer_query (self->sinkpad, query))
      return FALSE;
    GST_OBJECT_LOCK (self);
    const gint rate = self->rate, samples = self->rate > 0 ? self->latency + self->hop - 1 : 0;
    GST_OBJECT_UNLOCK (self);
    if (rate <= 0)
      return TRUE;
    const GstClockTime ours = gst_util_uint64_scale_int_ceil ((guint64) samples, GST_SECOND, rate);
    gboolean live;
    GstClockTime min, max;
    gst_query_parse_latency (query, &live, &min, &max);
    GST_DEBUG_OBJECT (self, "adding %" GST_TIME_FORMAT " (%d samples) to upstream's %" GST_TIME_FORMAT,
                      GST_TIME_ARGS (ours), samples, GST_TIME_ARGS (min));
    gst_query_set_latency (query, live, min + ours, GST_CLOCK_TIME_IS_VALID (max) ? max + ours : max);
    return TRUE;
  }
  default:
    return gst_pad_query_default (pad, parent, query);
  }
}

static gboolean
set_caps (GstNerveDenoise *self, GstCaps *caps)
{
  GstAudioInfo info;
  if (!gst_audio_info_from_caps (&info, caps) || GST_AUDIO_INFO_CHANNELS (&info) != 1 ||
      GST_AUDIO_INFO_RATE (&info) != self->rate ||
      (GST_AUDIO_INFO_FORMAT (&info) != GST_AUDIO_FORMAT_F32LE &&
       GST_AUDIO_INFO_FORMAT (&info) != GST_AUDIO_FORMAT_S16LE)) {
    GST_WARNING_OBJECT (self, "refusing %" GST_PTR_FORMAT ": the model takes mono F32LE or S16LE at %d Hz", caps,
                        self->rate);
    return FALSE;
  }
  if (self->have_info && GST_AUDIO_INFO_FORMAT (&info) != GST_AUDIO_INFO_FORMAT (&self->info))
    drain (self); /* what is held back goes out in the old format */
  self->info = info;
  self->have_info = TRUE;
  return TRUE;
}

static gboolean
gst_nerve_denoise_sink_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstNerveDenoise *self = GST_NERVE_DENOISE (parent);
  GST_LOG_OBJECT (self, "event %" GST_PTR_FORMAT, event);
  switch (GST_EVENT_TYPE (event)) {
  case GST_EVENT_CAPS: {
    GstCaps *caps;
    gst_event_parse_caps (event, &caps);
    if (!self->den || !set_caps (self, caps)) {
      gst_event_unref (event);
      return FALSE;
    }
    /* the same caps downstream (the default handler forwards caps only for proxy-caps pads) */
    return gst_pad_push_event (self->srcpad, event);
  }
  case GST_EVENT_SEGMENT: {
    drain (self); /* held-back samples belong to the old segment */
    const GstSegment *seg;
    gst_event_parse_segment (event, &seg);
    if (seg->format == GST_FORMAT_TIME)
      gst_segment_copy_into (seg, &self->segment);
    else
      gst_segment_init (&self->segment, GST_FORMAT_UNDEFINED);
    break;
  }
  case GST_EVENT_STREAM_START:
  case GST_EVENT_GAP:
  case GST_EVENT_EOS:
    /* out before the event, so that everything stays in order */
    drain (self);
    break;
  case GST_EVENT_FLUSH_STOP:
    GST_DEBUG_OBJECT (self, "flush: dropping %" G_GUINT64_FORMAT " held-back samples", self->n_in - self->n_out);
    reset_stream (self);
    gst_segment_init (&self->segment, GST_FORMAT_TIME);
    break;
  default:
    break;
  }
  return gst_pad_event_default (pad, parent, event);
}

/* ------------------------------------------------------------------ GObject */

static GstStateChangeReturn
gst_nerve_denoise_change_state (GstElement *element, GstStateChange transition)
{
  GstNerveDenoise *self = GST_NERVE_DENOISE (element);
  switch (transition) {
  case GST_STATE_CHANGE_NULL_TO_READY:
    if (!load (self)) {
      unload (self);
      return GST_STATE_CHANGE_FAILURE;
    }
    break;
  case GST_STATE_CHANGE_READY_TO_PAUSED:
    self->have_info = FALSE;
    gst_segment_init (&self->segment, GST_FORMAT_TIME);
    reset_stream (self);
    break;
  default:
    break;
  }
  GstStateChangeReturn ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_READY_TO_NULL ||
      (transition == GST_STATE_CHANGE_NULL_TO_READY && ret == GST_STATE_CHANGE_FAILURE))
    unload (self);
  return ret;
}

static void
gst_nerve_denoise_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstNerveDenoise *self = GST_NERVE_DENOISE (object);
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
  case PROP_MODEL:
    if (GST_STATE (self) != GST_STATE_NULL) {
      GST_WARNING_OBJECT (self, "the model is loaded when going to READY: set it in the NULL state");
      break;
    }
    g_free (self->model_path);
    self->model_path = g_value_dup_string (value);
    break;
  case PROP_THREADS:
    self->threads = g_value_get_int (value);
    break;
  case PROP_ATTENUATION_LIMIT:
    self->attenuation_limit = g_value_get_float (value);
    break;
  case PROP_MIX:
    self->mix = g_value_get_float (value);
    break;
  case PROP_VAD_THRESHOLD:
    self->vad_threshold = g_value_get_float (value);
    break;
  case PROP_MESSAGE_INTERVAL:
    self->message_interval = g_value_get_uint64 (value);
    break;
  case PROP_POST_MESSAGES:
    self->post_messages = g_value_get_boolean (value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    break;
  }
  self->settings_changed = TRUE;
  GST_OBJECT_UNLOCK (self);
}

static void
gst_nerve_denoise_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstNerveDenoise *self = GST_NERVE_DENOISE (object);
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
  case PROP_MODEL:
    g_value_set_string (value, self->model_path);
    break;
  case PROP_THREADS:
    g_value_set_int (value, self->threads);
    break;
  case PROP_ATTENUATION_LIMIT:
    g_value_set_float (value, self->attenuation_limit);
    break;
  case PROP_MIX:
    g_value_set_float (value, self->mix);
    break;
  case PROP_VAD_THRESHOLD:
    g_value_set_float (value, self->vad_threshold);
    break;
  case PROP_MESSAGE_INTERVAL:
    g_value_set_uint64 (value, self->message_interval);
    break;
  case PROP_POST_MESSAGES:
    g_value_set_boolean (value, self->post_messages);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_nerve_denoise_finalize (GObject *object)
{
  GstNerveDenoise *self = GST_NERVE_DENOISE (object);
  unload (self);
  g_free (self->model_path);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_nerve_denoise_class_init (GstNerveDenoiseClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GST_DEBUG_CATEGORY_INIT (nerve_denoise_debug, "nervedenoise", 0, "Nerve speech denoiser");

  gobject_class->set_property = gst_nerve_denoise_set_property;
  gobject_class->get_property = gst_nerve_denoise_get_property;
  gobject_class->finalize = gst_nerve_denoise_finalize;
  element_class->change_state = GST_DEBUG_FUNCPTR (gst_nerve_denoise_change_state);

  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;
  g_object_class_install_property (gobject_class, PROP_MODEL,
    g_param_spec_string ("model", "Model",
                         "Nerve denoise model file (.nerve), loaded when the element goes to READY. Unset: "
                         "denoise.nerve from the directories in NERVE_MODEL_PATH, else the installed default "
                         NERVE_DEFAULT_DENOISE_MODEL,
                         NULL, rw));
  g_object_class_install_property (gobject_class, PROP_THREADS,
    g_param_spec_int ("threads", "Threads",
                      "BLAS threads for the network (process-wide OpenBLAS setting, applied when the model loads)",
                      1, 64, DEFAULT_THREADS, rw));
  g_object_class_install_property (gobject_class, PROP_ATTENUATION_LIMIT,
    g_param_spec_float ("attenuation-limit", "Attenuation limit",
                        "How far noise may be pushed down, in dB: the model's gains never go below -limit dB "
                        "(0 = no reduction at all; 100 and above, and the default, = no limit)",
                        0.0f, G_MAXFLOAT, DEFAULT_ATTENUATION_LIMIT, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_MIX,
    g_param_spec_float ("mix", "Mix", "Dry/wet: 1 = enhanced only, 0 = the (time-aligned) input", 0.0f, 1.0f,
                        DEFAULT_MIX, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_VAD_THRESHOLD,
    g_param_spec_float ("vad-threshold", "VAD threshold",
                        "Mute frames whose voice probability is below this (with a short fade); 0 = off", 0.0f,
                        1.0f, DEFAULT_VAD_THRESHOLD, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_MESSAGE_INTERVAL,
    g_param_spec_uint64 ("message-interval", "Message interval",
                         "Post a 'nervedenoise' element message for each this many nanoseconds of audio (0 = none)",
                         0, G_MAXUINT64, DEFAULT_MESSAGE_INTERVAL, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_POST_MESSAGES,
    g_param_spec_boolean ("post-messages", "Post messages",
                          "Post 'nervedenoise' element messages (voice probability, SNR, gain) every message-interval",
                          DEFAULT_POST_MESSAGES, rw | GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "Nerve speech denoiser", "Filter/Effect/Audio",
    "Removes noise from speech with a Nerve denoise model; marks voice activity with an audio level meta "
    "and posts 'nervedenoise' element messages",
    "Nerve developers");
}

static void
gst_nerve_denoise_init (GstNerveDenoise *self)
{
  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (self->sinkpad, GST_DEBUG_FUNCPTR (gst_nerve_denoise_chain));
  gst_pad_set_event_function (self->sinkpad, GST_DEBUG_FUNCPTR (gst_nerve_denoise_sink_event));
  gst_pad_set_query_function (self->sinkpad, GST_DEBUG_FUNCPTR (gst_nerve_denoise_sink_query));
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);
  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_set_query_function (self->srcpad, GST_DEBUG_FUNCPTR (gst_nerve_denoise_src_query));
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);

  self->threads = DEFAULT_THREADS;
  self->attenuation_limit = DEFAULT_ATTENUATION_LIMIT;
  self->mix = DEFAULT_MIX;
  self->vad_threshold = DEFAULT_VAD_THRESHOLD;
  self->message_interval = DEFAULT_MESSAGE_INTERVAL;
  self->post_messages = DEFAULT_POST_MESSAGES;
  gst_segment_init (&self->segment, GST_FORMAT_TIME);
}

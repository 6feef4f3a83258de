/* nerved: one managed GStreamer pipeline (see nerved-pipeline.h).
 *
 * Everything here runs on the main context except the pad probes that count buffers
 * (streaming threads: atomics) and the EOS that stop() sends (a GStreamer pool thread:
 * a source's EOS handling waits for its streaming thread, which a blocked sink can hold
 * for ever, and the daemon's main loop must never wait on that). */
#include "nerved-pipeline.h"

#include <stdatomic.h>
#include <string.h>

#include "nerved-error.h"
#include "nerved-names.h"

/* A failure after a run at least this long (or backoff_max_ms, if longer) starts the
 * backoff and the max_restarts count afresh: a pipeline that hiccups once a day should
 * not use up its restarts over a week. */
#define STABLE_RUN_US (10 * G_USEC_PER_SEC)

/* Shared with the pad probes, which may outlive a teardown by a moment. */
typedef struct {
  gint ref;
  _Atomic guint64 buffers, bytes;
} Counters;

typedef struct {
  NervedPipelineDoneFunc func;
  gpointer user_data;
} Done;

struct NervedPipeline {
  char *id, *template_name, *launch;
  JsonObject *params;
  NervedPipelineOptions opt;
  NervedEventLog *events, *global;
  NervedPipelineState state;
  GstElement *pipeline;       /* NULL while torn down */
  GstBus *bus;
  Counters *counters;
  guint restarts, errors;
  guint attempt;              /* consecutive automatic restarts */
  guint restart_id, stop_id;  /* backoff timer, stop timeout */
  gboolean eos_sent;          /* stop() sent EOS to this run's sources (maybe still sending) */
  GArray *dones;              /* Done, for stop() */
  gint64 started_us;          /* monotonic time of the current run's start, 0 when none */
  struct {
    char *message, *debug, *source;
    gint64 time_us;
  } last_error;
  /* Callbacks (events, done) may free the pipeline: entry points hold it busy, and a free
   * during that only marks it dead; the memory goes when the outermost entry returns. */
  int busy;
  gboolean dead;
};

static void handle_message (NervedPipeline *p, GstMessage *msg);
static void flush_sources (GstElement *pipeline);

/* ---- helpers ---- */

static Counters *
counters_ref (Counters *c)
{
  g_atomic_int_inc (&c->ref);
  return c;
}

static void
counters_unref (gpointer data)
{
  Counters *c = data;
  if (g_atomic_int_dec_and_test (&c->ref))
    g_free (c);
}

static void
counters_closure_unref (gpointer data, GClosure *closure)
{
  counters_unref (data);
}

static void
enter (NervedPipeline *p)
{
  p->busy++;
}

static void finalize (NervedPipeline *p);

static void
leave (NervedPipeline *p)
{
  if (--p->busy == 0 && p->dead)
    finalize (p);
}

/* Appends to the pipeline's log and copies into the global one; takes fields. */
static void
emit (NervedPipeline *p, const char *type, JsonObject *fields)
{
  NervedEvent *ev = nerved_event_log_append (p->events, type, p->id, fields);
  if (p->global)
    nerved_event_log_append_copy (p->global, ev);
  if (fields)
    json_object_unref (fields);
}

static void
set_nullable_string (JsonObject *o, const char *name, const char *value)
{
  if (value)
    json_object_set_string_member (o, name, value);
  else
    json_object_set_null_member (o, name);
}

static const char *
gst_state_nick (GstState s)
{
  switch (s) {
  case GST_STATE_NULL:
    return "null";
  case GST_STATE_READY:
    return "ready";
  case GST_STATE_PAUSED:
    return "paused";
  case GST_STATE_PLAYING:
    return "playing";
  default:
    return NULL;
  }
}

const char *
nerved_pipeline_state_name (NervedPipelineState s)
{
  static const char *const names[] = { "created", "playing", "paused", "stopping", "stopped", "finished",
    "failed", "restarting" };
  return nerved_name_of (names, G_N_ELEMENTS (names), (guint) s, "unknown");
}

void
nerved_pipeline_options_init (NervedPipelineOptions *o)
{
  g_return_if_fail (o != NULL);
  *o = (NervedPipelineOptions) {
    .restart = NERVED_RESTART_NEVER,
    .backoff_initial_ms = 500,
    .backoff_max_ms = 30000,
    .max_restarts = 0,
    .stop_timeout_ms = 5000,
    .event_capacity = 1024,
    .messages = NULL,
  };
}

/* ---- counting what reaches the sinks ---- */

static GstPadProbeReturn
count_probe (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Counters *c = data;
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    atomic_fetch_add_explicit (&c->buffers, 1, memory_order_relaxed);
    atomic_fetch_add_explicit (&c->bytes, gst_buffer_get_size (GST_PAD_PROBE_INFO_BUFFER (info)),
        memory_order_relaxed);
  } else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);
    atomic_fetch_add_explicit (&c->buffers, gst_buffer_list_length (list), memory_order_relaxed);
    atomic_fetch_add_explicit (&c->bytes, gst_buffer_list_calculate_size (list), memory_order_relaxed);
  }
  return GST_PAD_PROBE_OK;
}

static void
probe_pad (GstPad *pad, Counters *c)
{
  if (GST_PAD_IS_SINK (pad))
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, count_probe,
        counters_ref (c), counters_unref);
}

static gboolean
probe_pad_cb (GstElement *e, GstPad *pad, gpointer data)
{
  probe_pad (pad, data);
  return TRUE;
}

static void
on_sink_pad_added (GstElement *e, GstPad *pad, gpointer data)
{
  probe_pad (pad, data);
}

/* Real sinks only: a bin holding a sink carries the flag too and would count twice. */
static void
watch_element (GstElement *e, Counters *c)
{
  if (GST_IS_BIN (e) || !GST_OBJECT_FLAG_IS_SET (e, GST_ELEMENT_FLAG_SINK))
    return;
  gst_element_foreach_sink_pad (e, probe_pad_cb, c);
  g_signal_connect_data (e, "pad-added", G_CALLBACK (on_sink_pad_added), counters_ref (c),
      counters_closure_unref, 0);
}

static void
watch_element_cb (const GValue *item, gpointer data)
{
  watch_element (g_value_get_object (item), data);
}

static void
on_deep_element_added (GstBin *bin, GstBin *sub_bin, GstElement *e, gpointer data)
{
  watch_element (e, data);
}

/* ---- building and tearing down ---- */

static gboolean
on_bus (GstBus *bus, GstMessage *msg, gpointer data)
{
  NervedPipeline *p = data;
  if (p->bus != bus || p->dead)
    return G_SOURCE_REMOVE;
  enter (p);
  handle_message (p, msg);
  gboolean keep = p->bus == bus && !p->dead;
  leave (p);
  return keep;
}

static gboolean
build (NervedPipeline *p, GError **error)
{
  GError *err = NULL;
  GstElement *e = gst_parse_launch_full (p->launch, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &err);
  if (!e || err) {
    g_set_error (error, NERVED_ERROR, NERVED_ERROR_UNPROCESSABLE, "%s",
        err ? err->message : "the launch line gave no pipeline");
    g_clear_error (&err);
    if (e)
      gst_object_unref (e);
    return FALSE;
  }
  if (!GST_IS_PIPELINE (e)) { /* a single element, or a bin */
    GstElement *pl = gst_pipeline_new (NULL);
    gst_bin_add (GST_BIN (pl), e);
    e = pl;
  }
  gst_object_ref_sink (e);
  gst_object_set_name (GST_OBJECT (e), p->id);
  /* the bus keeps its messages through READY→NULL so teardown can report the last
   * state changes */
  gst_pipeline_set_auto_flush_bus (GST_PIPELINE (e), FALSE);

  GstIterator *it = gst_bin_iterate_recurse (GST_BIN (e));
  while (gst_iterator_foreach (it, watch_element_cb, p->counters) == GST_ITERATOR_RESYNC)
    gst_iterator_resync (it);
  gst_iterator_free (it);
  g_signal_connect_data (e, "deep-element-added", G_CALLBACK (on_deep_element_added),
      counters_ref (p->counters), counters_closure_unref, 0);

  p->pipeline = e;
  p->bus = gst_pipeline_get_bus (GST_PIPELINE (e));
  gst_bus_add_watch (p->bus, on_bus, p);
  return TRUE;
}

static void
emit_state (NervedPipeline *p, GstMessage *msg)
{
  GstState old, new, pending;
  gst_message_parse_state_changed (msg, &old, &new, &pending);
  JsonObject *f = json_object_new ();
  set_nullable_string (f, "old", gst_state_nick (old));
  set_nullable_string (f, "new", gst_state_nick (new));
  set_nullable_string (f, "pending", gst_state_nick (pending));
  emit (p, "state", f);
}

/* To NULL at once; reports the top-level state changes that it made and drops every
 * other message still queued (the run is over). */
static void
teardown (NervedPipeline *p)
{
  if (!p->pipeline)
    return;
  GstElement *pl = p->pipeline;
  GstBus *bus = p->bus;
  p->pipeline = NULL;
  p->bus = NULL;
  p->started_us = 0;
  gst_bus_remove_watch (bus);
  if (p->eos_sent) {
    /* The EOS thread may be waiting (holding a source's state lock) for a streaming
     * thread that something downstream holds: a sink waiting on the clock or for
     * preroll, a full queue. Flushing lets them go, so the NULL below cannot deadlock. */
    flush_sources (pl);
    p->eos_sent = FALSE;
  }
  gst_element_set_state (pl, GST_STATE_NULL);
  GstMessage *msg;
  while ((msg = gst_bus_pop (bus))) {
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_STATE_CHANGED && GST_MESSAGE_SRC (msg) == GST_OBJECT (pl))
      emit_state (p, msg);
    gst_message_unref (msg);
  }
  gst_object_unref (bus);
  gst_object_unref (pl);
}

static void
cancel_timers (NervedPipeline *p)
{
  if (p->restart_id)
    g_source_remove (p->restart_id);
  if (p->stop_id)
    g_source_remove (p->stop_id);
  p->restart_id = p->stop_id = 0;
}

static void
call_dones (NervedPipeline *p)
{
  while (p->dones->len) {
    Done d = g_array_index (p->dones, Done, 0);
    g_array_remove_index (p->dones, 0);
    d.func (p, d.user_data);
  }
}

static void
finish_stop (NervedPipeline *p)
{
  cancel_timers (p);
  p->state = NERVED_PIPELINE_STOPPED;
  teardown (p);
  emit (p, "stopped", NULL);
  call_dones (p);
}

/* ---- restarts ---- */

static gboolean play (NervedPipeline *p, GError **error);

static gboolean
on_restart (gpointer data)
{
  NervedPipeline *p = data;
  p->restart_id = 0;
  enter (p);
  p->restarts++;
  play (p, NULL); /* a failure is handled (and maybe restarted) inside */
  leave (p);
  return G_SOURCE_REMOVE;
}

static gboolean
may_restart (NervedPipeline *p)
{
  gint64 stable = MAX (STABLE_RUN_US, (gint64) p->opt.backoff_max_ms * 1000);
  if (p->started_us && g_get_monotonic_time () - p->started_us >= stable)
    p->attempt = 0;
  return p->opt.max_restarts == 0 || p->attempt < p->opt.max_restarts;
}

static void
schedule_restart (NervedPipeline *p)
{
  p->attempt++;
  guint64 delay = p->opt.backoff_initial_ms;
  for (guint i = 1; i < p->attempt && delay < p->opt.backoff_max_ms; i++)
    delay *= 2;
  delay = MIN (delay, p->opt.backoff_max_ms);
  JsonObject *f = json_object_new ();
  json_object_set_int_member (f, "attempt", p->attempt);
  json_object_set_int_member (f, "delay_ms", (gint64) delay);
  emit (p, "restart", f);
  if (!p->dead && p->state == NERVED_PIPELINE_RESTARTING && !p->restart_id)
    p->restart_id = g_timeout_add ((guint) delay, on_restart, p);
}

/* The run ended (error or EOS): to NULL, then restart or rest in `final`. */
static void
end_run (NervedPipeline *p, gboolean restart, NervedPipelineState final)
{
  gboolean again = restart && may_restart (p);
  p->state = again ? NERVED_PIPELINE_RESTARTING : final;
  teardown (p);
  if (again && !p->dead && p->state == NERVED_PIPELINE_RESTARTING)
    schedule_restart (p);
}

static void
on_error (NervedPipeline *p, const char *source, const char *message, const char *debug)
{
  p->errors++;
  g_free (p->last_error.message);
  g_free (p->last_error.debug);
  g_free (p->last_error.source);
  p->last_error.message = g_strdup (message);
  p->last_error.debug = g_strdup (debug);
  p->last_error.source = g_strdup (source);
  p->last_error.time_us = g_get_real_time ();
  JsonObject *f = json_object_new ();
  set_nullable_string (f, "source", source);
  set_nullable_string (f, "message", message);
  set_nullable_string (f, "debug", debug);
  emit (p, "error", f);
  if (p->dead || !p->pipeline)
    return;
  if (p->state == NERVED_PIPELINE_STOPPING)
    finish_stop (p);
  else
    end_run (p, p->opt.restart != NERVED_RESTART_NEVER, NERVED_PIPELINE_FAILED);
}

static void
on_eos (NervedPipeline *p)
{
  emit (p, "eos", NULL);
  if (p->dead || !p->pipeline)
    return;
  if (p->state == NERVED_PIPELINE_STOPPING)
    finish_stop (p);
  else
    end_run (p, p->opt.restart == NERVED_RESTART_ALWAYS, NERVED_PIPELINE_FINISHED);
}

static gboolean
forwarded (NervedPipeline *p, GstMessage *msg)
{
  const GstStructure *s = gst_message_get_structure (msg);
  if (!s)
    return FALSE;
  if (p->opt.messages && g_strv_contains ((const char *const *) p->opt.messages, gst_structure_get_name (s)))
    return TRUE;
  if (!GST_IS_ELEMENT (GST_MESSAGE_SRC (msg)))
    return FALSE;
  GstElementFactory *f = gst_element_get_factory (GST_ELEMENT (GST_MESSAGE_SRC (msg)));
  return f && g_str_has_prefix (GST_OBJECT_NAME (f), "nerve");
}

static void
handle_message (NervedPipeline *p, GstMessage *msg)
{
  const char *src = GST_MESSAGE_SRC_NAME (msg);
  switch (GST_MESSAGE_TYPE (msg)) {
  case GST_MESSAGE_STATE_CHANGED:
    if (GST_MESSAGE_SRC (msg) == GST_OBJECT (p->pipeline))
      emit_state (p, msg);
    break;
  case GST_MESSAGE_ELEMENT:
    if (forwarded (p, msg)) {
      const GstStructure *s = gst_message_get_structure (msg);
      JsonObject *f = json_object_new ();
      set_nullable_string (f, "source", src);
      json_object_set_string_member (f, "name", gst_structure_get_name (s));
      json_object_set_object_member (f, "fields", nerved_structure_to_json (s));
      emit (p, "message", f);
    }
    break;
  case GST_MESSAGE_WARNING:
  case GST_MESSAGE_ERROR: {
    GError *err = NULL;
    char *debug = NULL;
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
      gst_message_parse_error (msg, &err, &debug);
    else
      gst_message_parse_warning (msg, &err, &debug);
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      on_error (p, src, err->message, debug);
    } else {
      JsonObject *f = json_object_new ();
      set_nullable_string (f, "source", src);
      set_nullable_string (f, "message", err->message);
      set_nullable_string (f, "debug", debug);
      emit (p, "warning", f);
    }
    g_error_free (err);
    g_free (debug);
    break;
  }
  case GST_MESSAGE_EOS:
    on_eos (p);
    break;
  default:
    break;
  }
}

/* Handles what is queued on the bus now: after a failed state change the element's
 * ERROR is there, and its message is the one to report. */
static void
flush_bus (NervedPipeline *p)
{
  GstBus *bus = gst_object_ref (p->bus);
  GstMessage *msg;
  while (p->bus == bus && !p->dead && (msg = gst_bus_pop (bus))) {
    handle_message (p, msg);
    gst_message_unref (msg);
  }
  gst_object_unref (bus);
}

/* Sets the target state; on a synchronous failure reports the error from the bus (or a
 * generic one when the element posted none) and follows the restart policy. */
static gboolean
change_state (NervedPipeline *p, GstState target, GError **error)
{
  guint errors = p->errors;
  if (gst_element_set_state (p->pipeline, target) != GST_STATE_CHANGE_FAILURE)
    return TRUE;
  flush_bus (p);
  if (p->errors == errors && !p->dead && p->pipeline) {
    g_autofree char *what = g_strdup_printf ("could not set pipeline %s to %s", p->id,
        gst_state_nick (target));
    on_error (p, p->id, what, NULL);
  }
  g_set_error (error, NERVED_ERROR, NERVED_ERROR_UNPROCESSABLE, "%s",
      p->last_error.message ? p->last_error.message : "state change failed");
  return FALSE;
}

static gboolean
play (NervedPipeline *p, GError **error)
{
  if (!p->pipeline) {
    GError *err = NULL;
    if (!build (p, &err)) { /* the launch parsed before: a plugin went away */
      p->state = NERVED_PIPELINE_FAILED;
      on_error (p, p->id, err->message, NULL);
      g_propagate_error (error, err);
      return FALSE;
    }
  }
  if (!p->started_us)
    p->started_us = g_get_monotonic_time ();
  p->state = NERVED_PIPELINE_PLAYING;
  return change_state (p, GST_STATE_PLAYING, error);
}

/* ---- public API ---- */

NervedPipeline *
nerved_pipeline_new (const char *id, const char *template_name, JsonObject *params, const char *launch,
    const NervedPipelineOptions *opt, NervedEventLog *global, GError **error)
{
  g_return_val_if_fail (id != NULL && launch != NULL, NULL);
  NervedPipeline *p = g_new0 (NervedPipeline, 1);
  p->id = g_strdup (id);
  p->template_name = g_strdup (template_name);
  p->launch = g_strdup (launch);
  p->params = params ? json_object_ref (params) : NULL;
  if (opt)
    p->opt = *opt;
  else
    nerved_pipeline_options_init (&p->opt);
  p->opt.messages = g_strdupv (p->opt.messages);
  p->global = global;
  p->counters = g_new0 (Counters, 1);
  p->counters->ref = 1;
  p->dones = g_array_new (FALSE, FALSE, sizeof (Done));
  p->state = NERVED_PIPELINE_CREATED;
  p->events = nerved_event_log_new (p->opt.event_capacity);
  if (!build (p, error)) {
    p->busy = 1;
    p->dead = TRUE;
    leave (p);
    return NULL;
  }
  enter (p);
  JsonObject *f = json_object_new ();
  set_nullable_string (f, "template", template_name);
  if (params)
    json_object_set_object_member (f, "params", json_object_ref (params));
  else
    json_object_set_null_member (f, "params");
  emit (p, "created", f);
  leave (p);
  return p;
}

static void
finalize (NervedPipeline *p)
{
  cancel_timers (p);
  teardown (p);
  g_array_unref (p->dones);
  nerved_event_log_free (p->events);
  counters_unref (p->counters);
  if (p->params)
    json_object_unref (p->params);
  g_strfreev (p->opt.messages);
  g_free (p->last_error.message);
  g_free (p->last_error.debug);
  g_free (p->last_error.source);
  g_free (p->id);
  g_free (p->template_name);
  g_free (p->launch);
  g_free (p);
}

void
nerved_pipeline_free (NervedPipeline *p)
{
  if (!p || p->dead)
    return;
  enter (p);
  p->dead = TRUE;
  cancel_timers (p);
  teardown (p);
  call_dones (p); /* a stop in progress ends here too */
  emit (p, "deleted", NULL);
  leave (p);
}

static gboolean
wrong_state (NervedPipeline *p, const char *action, const char *allowed, GError **error)
{
  g_set_error (error, NERVED_ERROR, NERVED_ERROR_CONFLICT, "pipeline %s is %s; %s needs it %s", p->id,
      nerved_pipeline_state_name (p->state), action, allowed);
  return FALSE;
}

gboolean
nerved_pipeline_start (NervedPipeline *p, GError **error)
{
  g_return_val_if_fail (p != NULL && !p->dead, FALSE);
  switch (p->state) {
  case NERVED_PIPELINE_CREATED:
  case NERVED_PIPELINE_PAUSED:
  case NERVED_PIPELINE_STOPPED:
  case NERVED_PIPELINE_FINISHED:
  case NERVED_PIPELINE_FAILED:
    break;
  default:
    return wrong_state (p, "start", "created, paused, stopped, finished or failed", error);
  }
  if (p->state != NERVED_PIPELINE_PAUSED)
    p->attempt = 0; /* a start by request begins a fresh backoff */
  enter (p);
  gboolean ok = play (p, error);
  leave (p);
  return ok;
}

gboolean
nerved_pipeline_pause (NervedPipeline *p, GError **error)
{
  g_return_val_if_fail (p != NULL && !p->dead, FALSE);
  if (p->state != NERVED_PIPELINE_PLAYING)
    return wrong_state (p, "pause", "playing", error);
  enter (p);
  p->state = NERVED_PIPELINE_PAUSED;
  gboolean ok = change_state (p, GST_STATE_PAUSED, error);
  leave (p);
  return ok;
}

/* EOS goes to each real source, not through the pipeline: GstBin's send_event would hold
 * the pipeline's state lock while a source waits for its blocked streaming thread, and
 * the teardown after the stop timeout needs that lock to unblock the sinks. */
static gboolean
is_source (GstElement *e)
{
  return !GST_IS_BIN (e) && (GST_OBJECT_FLAG_IS_SET (e, GST_ELEMENT_FLAG_SOURCE) || e->numsinkpads == 0);
}

static void
send_eos_to_source (const GValue *item, gpointer data)
{
  GstElement *e = g_value_get_object (item);
  if (is_source (e))
    gst_element_send_event (e, gst_event_new_eos ());
}

static gboolean
push_flush_start (GstElement *e, GstPad *pad, gpointer data)
{
  gst_pad_push_event (pad, gst_event_new_flush_start ());
  return TRUE;
}

static void
flush_source (const GValue *item, gpointer data)
{
  GstElement *e = g_value_get_object (item);
  if (is_source (e))
    gst_element_foreach_src_pad (e, push_flush_start, NULL);
}

static void
for_each_element (GstElement *pipeline, GstIteratorForeachFunction func)
{
  GstIterator *it = gst_bin_iterate_recurse (GST_BIN (pipeline));
  while (gst_iterator_foreach (it, func, NULL) == GST_ITERATOR_RESYNC)
    gst_iterator_resync (it);
  gst_iterator_free (it);
}

static void
send_eos (GstElement *pipeline, gpointer data)
{
  for_each_element (pipeline, send_eos_to_source);
}

static void
flush_sources (GstElement *pipeline)
{
  for_each_element (pipeline, flush_source);
}

static gboolean
on_stop_timeout (gpointer data)
{
  NervedPipeline *p = data;
  p->stop_id = 0;
  enter (p);
  if (p->state == NERVED_PIPELINE_STOPPING)
    finish_stop (p);
  leave (p);
  return G_SOURCE_REMOVE;
}

void
nerved_pipeline_stop (NervedPipeline *p, NervedPipelineDoneFunc done, gpointer user_data)
{
  g_return_if_fail (p != NULL && !p->dead);
  enter (p);
  if (done) {
    Done d = { done, user_data };
    g_array_append_val (p->dones, d);
  }
  switch (p->state) {
  case NERVED_PIPELINE_PLAYING:
  case NERVED_PIPELINE_PAUSED: {
    gboolean paused = p->state == NERVED_PIPELINE_PAUSED;
    p->state = NERVED_PIPELINE_STOPPING;
    p->stop_id = g_timeout_add (p->opt.stop_timeout_ms, on_stop_timeout, p);
    /* EOS only flows while playing; a source paused behind a prerolled sink would hold
     * its stream lock until then */
    if (paused && !change_state (p, GST_STATE_PLAYING, NULL))
      break;
    p->eos_sent = TRUE;
    gst_element_call_async (p->pipeline, send_eos, NULL, NULL);
    break;
  }
  case NERVED_PIPELINE_STOPPING:
    break;
  case NERVED_PIPELINE_RESTARTING:
    finish_stop (p);
    break;
  default: /* idle: nothing to stop */
    call_dones (p);
    break;
  }
  leave (p);
}

const char *
nerved_pipeline_id (NervedPipeline *p)
{
  g_return_val_if_fail (p != NULL, NULL);
  return p->id;
}

NervedPipelineState
nerved_pipeline_get_state (NervedPipeline *p)
{
  g_return_val_if_fail (p != NULL, NERVED_PIPELINE_FAILED);
  return p->state;
}

NervedEventLog *
nerved_pipeline_events (NervedPipeline *p)
{
  g_return_val_if_fail (p != NULL, NULL);
  return p->events;
}

guint
nerved_pipeline_restarts (NervedPipeline *p)
{
  g_return_val_if_fail (p != NULL, 0);
  return p->restarts;
}

guint
nerved_pipeline_errors (NervedPipeline *p)
{
  g_return_val_if_fail (p != NULL, 0);
  return p->errors;
}

JsonObject *
nerved_pipeline_status (NervedPipeline *p)
{
  g_return_val_if_fail (p != NULL, NULL);
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "id", p->id);
  set_nullable_string (o, "template", p->template_name);
  if (p->params)
    json_object_set_object_member (o, "params", json_object_ref (p->params));
  else
    json_object_set_null_member (o, "params");
  json_object_set_string_member (o, "state", nerved_pipeline_state_name (p->state));
  gint64 pos = -1;
  gboolean running = p->state == NERVED_PIPELINE_PLAYING || p->state == NERVED_PIPELINE_PAUSED
      || p->state == NERVED_PIPELINE_STOPPING;
  if (running && p->pipeline && gst_element_query_position (p->pipeline, GST_FORMAT_TIME, &pos) && pos >= 0)
    json_object_set_int_member (o, "position_ns", pos);
  else
    json_object_set_null_member (o, "position_ns");
  double uptime = p->started_us ? (double) (g_get_monotonic_time () - p->started_us) / G_USEC_PER_SEC : 0.0;
  json_object_set_double_member (o, "uptime_s", nerved_json_seconds (uptime));
  json_object_set_int_member (o, "restarts", p->restarts);
  json_object_set_int_member (o, "errors", p->errors);
  if (p->last_error.message) {
    JsonObject *e = json_object_new ();
    json_object_set_string_member (e, "message", p->last_error.message);
    set_nullable_string (e, "debug", p->last_error.debug);
    set_nullable_string (e, "source", p->last_error.source);
    g_autofree char *time = nerved_time_format (p->last_error.time_us);
    json_object_set_string_member (e, "time", time);
    json_object_set_object_member (o, "last_error", e);
  } else {
    json_object_set_null_member (o, "last_error");
  }
  json_object_set_int_member (o, "buffers",
      (gint64) atomic_load_explicit (&p->counters->buffers, memory_order_relaxed));
  json_object_set_int_member (o, "bytes", (gint64) atomic_load_explicit (&p->counters->bytes, memory_order_relaxed));
  json_object_set_int_member (o, "events", (gint64) nerved_event_log_total (p->events));
  return o;
}

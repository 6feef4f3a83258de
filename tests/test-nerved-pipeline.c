/* nerved pipelines: lifecycle, events, stats, stop timeout, restart policies and
 * isolation, with GStreamer's own elements. Waits run the main context with a deadline. */
#include <string.h>

#include "check.h"
#include "nerved-error.h"
#include "nerved-pipeline.h"

/* 16-bit mono: every buffer is samplesperbuffer * 2 bytes */
#define S16_MONO "audio/x-raw,format=S16LE,channels=1,rate=16000"
#define LIVE "audiotestsrc is-live=true samplesperbuffer=160 ! " S16_MONO " ! fakesink"

/* ---- waiting ---- */

typedef gboolean (*Cond) (gpointer data);

static gboolean
set_flag (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates the default main context until cond holds or timeout_ms passed; a 5 ms tick
 * lets conditions on counters (not bus messages) be seen. */
static gboolean
wait_for (Cond cond, gpointer data, guint timeout_ms)
{
  gboolean expired = FALSE;
  guint deadline = g_timeout_add (timeout_ms, set_flag, &expired);
  guint ticker = g_timeout_add (5, tick, NULL);
  while (!cond (data) && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (deadline);
  g_source_remove (ticker);
  return cond (data);
}

static gboolean
never (gpointer data)
{
  return FALSE;
}

/* Runs the main context for ms (other pipelines keep working meanwhile). */
static void
run_for (guint ms)
{
  wait_for (never, NULL, ms);
}

/* ---- events ---- */

static GPtrArray *
all_events (NervedEventLog *log)
{
  guint64 missed = 0;
  GPtrArray *a = nerved_event_log_since (log, 0, &missed);
  CU_ASSERT_EQUAL (missed, 0);
  return a;
}

static guint
count_type (NervedEventLog *log, const char *type)
{
  g_autoptr (GPtrArray) a = all_events (log);
  guint n = 0;
  for (guint i = 0; i < a->len; i++)
    n += strcmp (((NervedEvent *) a->pdata[i])->type, type) == 0;
  return n;
}

static JsonObject *
event_json (const NervedEvent *ev)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, ev->data, -1, NULL))
    return NULL;
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* The n-th (0-based) event of a type, as JSON; NULL when there are fewer. */
static JsonObject *
nth_of_type (NervedEventLog *log, const char *type, guint n)
{
  g_autoptr (GPtrArray) a = all_events (log);
  for (guint i = 0; i < a->len; i++)
    if (strcmp (((NervedEvent *) a->pdata[i])->type, type) == 0 && n-- == 0)
      return event_json (a->pdata[i]);
  return NULL;
}

/* seq 1..N with no gap */
static void
assert_contiguous (NervedEventLog *log)
{
  g_autoptr (GPtrArray) a = all_events (log);
  for (guint i = 0; i < a->len; i++)
    CU_ASSERT_EQUAL (((NervedEvent *) a->pdata[i])->seq, i + 1);
  CU_ASSERT_EQUAL (a->len, nerved_event_log_last_seq (log));
}

typedef struct {
  NervedPipeline *p;
  const char *new_state;   /* a "state" event with this "new" after index `after` */
  guint after;
  NervedPipelineState want;
} StateWait;

static gboolean
has_gst_state (gpointer data)
{
  StateWait *w = data;
  g_autoptr (GPtrArray) a = all_events (nerved_pipeline_events (w->p));
  for (guint i = w->after; i < a->len; i++) {
    NervedEvent *ev = a->pdata[i];
    if (strcmp (ev->type, "state") != 0)
      continue;
    g_autoptr (JsonObject) o = event_json (ev);
    if (o && !json_object_get_null_member (o, "new")
        && strcmp (json_object_get_string_member (o, "new"), w->new_state) == 0)
      return TRUE;
  }
  return FALSE;
}

/* Waits for the top-level bin to reach state (a "state" event newer than the current
 * last one). */
static gboolean
wait_gst_state (NervedPipeline *p, const char *state, guint64 after_seq, guint timeout_ms)
{
  StateWait w = { p, state, (guint) after_seq, 0 };
  return wait_for (has_gst_state, &w, timeout_ms);
}

static gboolean
in_state (gpointer data)
{
  StateWait *w = data;
  return nerved_pipeline_get_state (w->p) == w->want;
}

static gboolean
wait_state (NervedPipeline *p, NervedPipelineState s, guint timeout_ms)
{
  StateWait w = { p, NULL, 0, s };
  return wait_for (in_state, &w, timeout_ms);
}

static gint64
status_int (NervedPipeline *p, const char *field)
{
  g_autoptr (JsonObject) st = nerved_pipeline_status (p);
  return json_object_get_int_member (st, field);
}

/* GStreamer's own first error message for a launch line, from a plain pipeline. */
static char *
plain_error (const char *launch)
{
  GstElement *pl = gst_parse_launch (launch, NULL);
  if (!pl)
    return NULL;
  gst_element_set_state (pl, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus (pl);
  GstMessage *m = gst_bus_timed_pop_filtered (bus, 5 * GST_SECOND, GST_MESSAGE_ERROR);
  char *text = NULL;
  if (m) {
    GError *err = NULL;
    gst_message_parse_error (m, &err, NULL);
    text = g_strdup (err->message);
    g_error_free (err);
    gst_message_unref (m);
  }
  gst_element_set_state (pl, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pl);
  return text;
}

/* How many element messages named `name` a plain run of launch posts up to EOS. */
static int
plain_message_count (const char *launch, const char *name)
{
  GstElement *pl = gst_parse_launch (launch, NULL);
  if (!pl)
    return -1;
  gst_element_set_state (pl, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus (pl);
  int n = 0;
  GstMessage *m;
  while ((m = gst_bus_timed_pop_filtered (bus, 5 * GST_SECOND,
              GST_MESSAGE_ELEMENT | GST_MESSAGE_EOS | GST_MESSAGE_ERROR))) {
    GstMessageType t = GST_MESSAGE_TYPE (m);
    if (t == GST_MESSAGE_ELEMENT && gst_message_has_name (m, name))
      n++;
    gst_message_unref (m);
    if (t != GST_MESSAGE_ELEMENT)
      break;
  }
  gst_element_set_state (pl, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pl);
  return n;
}

static NervedPipeline *
make (const char *id, const char *launch, const NervedPipelineOptions *opt, NervedEventLog *global)
{
  GError *error = NULL;
  NervedPipeline *p = nerved_pipeline_new (id, "test-template", NULL, launch, opt, global, &error);
  if (error)
    fprintf (stderr, "  %s: %s\n", id, error->message);
  CU_ASSERT_PTR_NOT_NULL (p);
  CU_ASSERT_PTR_NULL (error);
  g_clear_error (&error);
  return p;
}

static void
count_done (NervedPipeline *p, gpointer data)
{
  (*(int *) data)++;
}

static gboolean
int_positive (gpointer data)
{
  return *(int *) data > 0;
}

static void
count_event (NervedEvent *ev, gpointer data)
{
  (*(int *) data)++;
}

/* ---- tests ---- */

static void
test_lifecycle (void)
{
  NervedEventLog *global = nerved_event_log_new (256);
  g_autoptr (JsonObject) params = json_object_new ();
  json_object_set_int_member (params, "rate", 16000);
  GError *error = NULL;
  NervedPipeline *p = nerved_pipeline_new ("life", "tone", params, LIVE, NULL, global, &error);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  NervedEventLog *log = nerved_pipeline_events (p);
  CU_ASSERT_EQUAL (nerved_pipeline_get_state (p), NERVED_PIPELINE_CREATED);
  CU_ASSERT_STRING_EQUAL (nerved_pipeline_id (p), "life");
  g_autoptr (JsonObject) created = nth_of_type (log, "created", 0);
  CU_ASSERT_PTR_NOT_NULL_FATAL (created);
  CU_ASSERT_EQUAL (json_object_get_int_member (created, "seq"), 1);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (created, "template"), "tone");
  CU_ASSERT_EQUAL (json_object_get_int_member (json_object_get_object_member (created, "params"), "rate"), 16000);

  /* stopping a pipeline that never ran: done at once, nothing changes */
  int idle_done = 0;
  nerved_pipeline_stop (p, count_done, &idle_done);
  CU_ASSERT_EQUAL (idle_done, 1);
  CU_ASSERT_EQUAL (nerved_pipeline_get_state (p), NERVED_PIPELINE_CREATED);
  CU_ASSERT_FALSE (nerved_pipeline_pause (p, &error));
  CU_ASSERT_TRUE (g_error_matches (error, NERVED_ERROR, NERVED_ERROR_CONFLICT));
  g_clear_error (&error);

  CU_ASSERT_TRUE (nerved_pipeline_start (p, &error));
  CU_ASSERT_EQUAL (nerved_pipeline_get_state (p), NERVED_PIPELINE_PLAYING);
  CU_ASSERT_TRUE (wait_gst_state (p, "playing", 0, 5000));
  CU_ASSERT_FALSE (nerved_pipeline_start (p, &error)); /* already playing */
  CU_ASSERT_TRUE (g_error_matches (error, NERVED_ERROR, NERVED_ERROR_CONFLICT));
  g_clear_error (&error);
  run_for (100);
  g_autoptr (JsonObject) st = nerved_pipeline_status (p);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (st, "state"), "playing");
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (st, "id"), "life");
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (st, "template"), "tone");
  CU_ASSERT_FALSE_FATAL (json_object_get_null_member (st, "position_ns"));
  CU_ASSERT_TRUE (json_object_get_int_member (st, "position_ns") > 0);
  CU_ASSERT_TRUE (json_object_get_double_member (st, "uptime_s") > 0.05);
  CU_ASSERT_TRUE (json_object_get_int_member (st, "buffers") > 0);
  CU_ASSERT_TRUE (json_object_get_null_member (st, "last_error"));
  CU_ASSERT_EQUAL (json_object_get_int_member (st, "events"), (gint64) nerved_event_log_last_seq (log));

  guint64 mark = nerved_event_log_last_seq (log);
  CU_ASSERT_TRUE (nerved_pipeline_pause (p, &error));
  CU_ASSERT_EQUAL (nerved_pipeline_get_state (p), NERVED_PIPELINE_PAUSED);
  CU_ASSERT_TRUE (wait_gst_state (p, "paused", mark, 5000));
  mark = nerved_event_log_last_seq (log);
  CU_ASSERT_TRUE (nerved_pipeline_start (p, &error));
  CU_ASSERT_EQUAL (nerved_pipeline_get_state (p), NERVED_PIPELINE_PLAYING);
  CU_ASSERT_TRUE (wait_gst_state (p, "playing", mark, 5000));

  int done = 0;
  nerved_pipeline_stop (p, count_done, &done);
  CU_ASSERT_EQUAL (nerved_pipeline_get_state (p), NERVED_PIPELINE_STOPPING);
  nerved_pipeline_stop (p, count_done, &done); /* a second caller waits for the same stop */
  CU_ASSERT_TRUE (wait_for (int_positive, &done, 5000));
  run_for (20);
  CU_ASSERT_EQUAL (done, 2);
  CU_ASSERT_EQUAL (nerved_pipeline_get_state (p), NERVED_PIPELINE_STOPPED);
  CU_ASSERT_EQUAL (count_type (log, "eos"), 1);   /* the live source drained on EOS */
  CU_ASSERT_EQUAL (count_type (log, "stopped"), 1);
  g_autoptr (JsonObject) st2 = nerved_pipeline_status (p);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (st2, "state"), "stopped");
  CU_ASSERT_TRUE (json_object_get_null_member (st2, "position_ns"));
  CU_ASSERT_DOUBLE_EQUAL (json_object_get_double_member (st2, "uptime_s"), 0, 0);
  CU_ASSERT_TRUE (json_object_get_int_member (st2, "buffers") > 10);
  CU_ASSERT_EQUAL (json_object_get_int_member (st2, "bytes"), json_object_get_int_member (st2, "buffers") * 320);
  /* the last state event says the bin is in NULL */
  g_autoptr (GPtrArray) a = all_events (log);
  g_autoptr (JsonObject) last_state = NULL;
  for (guint i = 0; i < a->len; i++)
    if (strcmp (((NervedEvent *) a->pdata[i])->type, "state") == 0) {
      g_clear_pointer (&last_state, json_object_unref);
      last_state = event_json (a->pdata[i]);
    }
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (last_state, "new"), "null");

  /* a stopped pipeline starts again (rebuilt from its launch line); counts go on */
  gint64 before = status_int (p, "buffers");
  mark = nerved_event_log_last_seq (log);
  CU_ASSERT_TRUE (nerved_pipeline_start (p, &error));
  CU_ASSERT_TRUE (wait_gst_state (p, "playing", mark, 5000));
  run_for (50);
  CU_ASSERT_TRUE (status_int (p, "buffers") > before);

  guint64 pipeline_events = nerved_event_log_last_seq (log);
  int later = 0; /* the teardown's state changes and "deleted" */
  nerved_event_log_subscribe (log, count_event, &later);
  nerved_pipeline_free (p);
  CU_ASSERT_TRUE (later >= 2);
  g_autoptr (GPtrArray) g = all_events (global);
  CU_ASSERT_EQUAL_FATAL (g->len, pipeline_events + (guint) later);
  CU_ASSERT_STRING_EQUAL (((NervedEvent *) g->pdata[g->len - 1])->type, "deleted");
  CU_ASSERT_STRING_EQUAL (((NervedEvent *) g->pdata[g->len - 1])->pipeline, "life");
  assert_contiguous (global);
  nerved_event_log_free (global);
}

static void
test_eos_finished (void)
{
  const int n = 25, m = 441;
  g_autofree char *launch = g_strdup_printf ("audiotestsrc num-buffers=%d samplesperbuffer=%d ! "
      S16_MONO " ! fakesink", n, m);
  NervedPipeline *p = make ("eos", launch, NULL, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  CU_ASSERT_TRUE (nerved_pipeline_start (p, NULL));
  CU_ASSERT_TRUE (wait_state (p, NERVED_PIPELINE_FINISHED, 5000));
  NervedEventLog *log = nerved_pipeline_events (p);
  CU_ASSERT_EQUAL (count_type (log, "eos"), 1);
  CU_ASSERT_EQUAL (count_type (log, "restart"), 0);
  CU_ASSERT_EQUAL (count_type (log, "stopped"), 0);
  assert_contiguous (log);

  g_autoptr (JsonObject) st = nerved_pipeline_status (p);
  static const char *const fields[] = { "id", "template", "params", "state", "position_ns", "uptime_s",
    "restarts", "errors", "last_error", "buffers", "bytes", "events" };
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    CU_ASSERT_TRUE (json_object_has_member (st, fields[i]));
  CU_ASSERT_EQUAL (json_object_get_size (st), G_N_ELEMENTS (fields));
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (st, "state"), "finished");
  CU_ASSERT_EQUAL (json_object_get_int_member (st, "buffers"), n);
  CU_ASSERT_EQUAL (json_object_get_int_member (st, "bytes"), n * m * 2);
  CU_ASSERT_EQUAL (json_object_get_int_member (st, "restarts"), 0);
  CU_ASSERT_EQUAL (json_object_get_int_member (st, "errors"), 0);
  CU_ASSERT_TRUE (json_object_get_null_member (st, "params"));
  CU_ASSERT_TRUE (json_object_get_null_member (st, "position_ns"));

  /* finished pipelines can run again; the counters keep adding up */
  CU_ASSERT_TRUE (nerved_pipeline_start (p, NULL));
  CU_ASSERT_TRUE (wait_state (p, NERVED_PIPELINE_FINISHED, 5000));
  CU_ASSERT_EQUAL (status_int (p, "buffers"), 2 * n);
  CU_ASSERT_EQUAL (count_type (log, "eos"), 2);
  nerved_pipeline_free (p);
}

/* Every real sink counts (a tee feeding two), a bin around a sink does not count twice. */
static void
test_sink_counting (void)
{
  NervedPipeline *p = make ("tee", "audiotestsrc num-buffers=7 samplesperbuffer=100 ! " S16_MONO
      " ! tee name=t ! queue ! fakesink t. ! queue ! ( fakesink )", NULL, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  CU_ASSERT_TRUE (nerved_pipeline_start (p, NULL));
  CU_ASSERT_TRUE (wait_state (p, NERVED_PIPELINE_FINISHED, 5000));
  CU_ASSERT_EQUAL (status_int (p, "buffers"), 14);
  CU_ASSERT_EQUAL (status_int (p, "bytes"), 14 * 200);
  nerved_pipeline_free (p);
}

/* The sink waits for a running time one hour away, so EOS (serialized behind the buffer
 * it holds) never reaches it: stop must give up after stop_timeout_ms. */
static void
test_stop_timeout (void)
{
  NervedPipelineOptions opt;
  nerved_pipeline_options_init (&opt);
  opt.stop_timeout_ms = 300;
  NervedPipeline *p = make ("stuck", "audiotestsrc timestamp-offset=3600000000000 ! fakesink sync=true", &opt, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  CU_ASSERT_TRUE (nerved_pipeline_start (p, NULL));
  CU_ASSERT_TRUE (wait_gst_state (p, "playing", 0, 5000));
  int done = 0;
  gint64 t0 = g_get_monotonic_time ();
  nerved_pipeline_stop (p, count_done, &done);
  CU_ASSERT_EQUAL (done, 0);
  CU_ASSERT_TRUE (wait_for (int_positive, &done, 5000));
  gint64 took = g_get_monotonic_time () - t0;
  CU_ASSERT_TRUE (took >= 300 * 1000);
  CU_ASSERT_TRUE (took < 3 * G_USEC_PER_SEC);
  CU_ASSERT_EQUAL (done, 1);
  CU_ASSERT_EQUAL (nerved_pipeline_get_state (p), NERVED_PIPELINE_STOPPED);
  NervedEventLog *log = nerved_pipeline_events (p);
  CU_ASSERT_EQUAL (count_type (log, "eos"), 0);
  CU_ASSERT_EQUAL (count_type (log, "stopped"), 1);
  run_for (50);
  CU_ASSERT_EQUAL (done, 1); /* once */
  nerved_pipeline_free (p);

  /* deleted while stopping: no deadlock with the EOS still on its way, done once */
  p = make ("stuck2", "audiotestsrc timestamp-offset=3600000000000 ! queue ! fakesink sync=true", &opt, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  CU_ASSERT_TRUE (nerved_pipeline_start (p, NULL));
  CU_ASSERT_TRUE (wait_gst_state (p, "playing", 0, 5000));
  done = 0;
  nerved_pipeline_stop (p, count_done, &done);
  run_for (50);
  CU_ASSERT_EQUAL (done, 0);
  nerved_pipeline_free (p);
  CU_ASSERT_EQUAL (done, 1);

  /* the same pipeline without the offset drains well before the timeout */
  opt.stop_timeout_ms = 3000;
  p = make ("flowing", "audiotestsrc ! fakesink sync=true", &opt, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  CU_ASSERT_TRUE (nerved_pipeline_start (p, NULL));
  CU_ASSERT_TRUE (wait_gst_state (p, "playing", 0, 5000));
  done = 0;
  t0 = g_get_monotonic_time ();
  nerved_pipeline_stop (p, count_done, &done);
  CU_ASSERT_TRUE (wait_for (int_positive, &done, 5000));
  CU_ASSERT_TRUE (g_get_monotonic_time () - t0 < 2 * G_USEC_PER_SEC);
  CU_ASSERT_EQUAL (count_type (nerved_pipeline_events (p), "eos"), 1);
  nerved_pipeline_free (p);
}

/* A paused pipeline stops through EOS too (it plays on to let EOS flow). */
static void
test_stop_paused (void)
{
  NervedPipeline *p = make ("paused", LIVE, NULL, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  CU_ASSERT_TRUE (nerved_pipeline_start (p, NULL));
  CU_ASSERT_TRUE (wait_gst_state (p, "playing", 0, 5000));
  guint64 mark = nerved_event_log_last_seq (nerved_pipeline_events (p));
  CU_ASSERT_TRUE (nerved_pipeline_pause (p, NULL));
  CU_ASSERT_TRUE (wait_gst_state (p, "paused", mark, 5000));
  int done = 0;
  nerved_pipeline_stop (p, count_done, &done);
  CU_ASSERT_TRUE (wait_for (int_positive, &done, 5000));
  CU_ASSERT_EQUAL (nerved_pipeline_get_state (p), NERVED_PIPELINE_STOPPED);
  CU_ASSERT_EQUAL (count_type (nerved_pipeline_events (p), "eos"), 1);
  nerved_pipeline_free (p);
}

static void
test_element_messages (void)
{
  const char *launch = "audiotestsrc num-buffers=10 samplesperbuffer=1600 ! " S16_MONO
      " ! level name=lvl post-messages=true interval=100000000 ! fakesink";
  NervedPipeline *quiet = make ("quiet", launch, NULL, NULL);
  NervedPipelineOptions opt;
  nerved_pipeline_options_init (&opt);
  char *names[] = { "level", NULL };
  opt.messages = names;
  NervedPipeline *loud = make ("loud", launch, &opt, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (quiet);
  CU_ASSERT_PTR_NOT_NULL_FATAL (loud);
  CU_ASSERT_TRUE (nerved_pipeline_start (quiet, NULL));
  CU_ASSERT_TRUE (nerved_pipeline_start (loud, NULL));
  CU_ASSERT_TRUE (wait_state (quiet, NERVED_PIPELINE_FINISHED, 5000));
  CU_ASSERT_TRUE (wait_state (loud, NERVED_PIPELINE_FINISHED, 5000));
  CU_ASSERT_EQUAL (count_type (nerved_pipeline_events (quiet), "message"), 0);
  /* every one GStreamer posts (10 intervals of 0.1 s, and 1.22 adds one at EOS) */
  int posted = plain_message_count (launch, "level");
  CU_ASSERT_TRUE (posted >= 10);
  CU_ASSERT_EQUAL (count_type (nerved_pipeline_events (loud), "message"), (guint) posted);
  g_autoptr (JsonObject) m = nth_of_type (nerved_pipeline_events (loud), "message", 0);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (m, "source"), "lvl");
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (m, "name"), "level");
  JsonObject *fields = json_object_get_object_member (m, "fields");
  CU_ASSERT_PTR_NOT_NULL_FATAL (fields);
  CU_ASSERT_EQUAL (json_array_get_length (json_object_get_array_member (fields, "rms")), 1);
  CU_ASSERT_EQUAL (json_object_get_int_member (fields, "endtime"), 100000000);
  CU_ASSERT_EQUAL (json_object_get_int_member (fields, "duration"), 100000000);
  nerved_pipeline_free (quiet);
  nerved_pipeline_free (loud);
}

/* delay of each "restart" event, and that the rebuild waited at least that long */
static void
check_restarts (NervedEventLog *log, const guint *delays, guint n)
{
  g_autoptr (GPtrArray) a = all_events (log);
  guint seen = 0;
  for (guint i = 0; i < a->len; i++) {
    NervedEvent *ev = a->pdata[i];
    if (strcmp (ev->type, "restart") != 0)
      continue;
    g_autoptr (JsonObject) o = event_json (ev);
    CU_ASSERT_EQUAL (json_object_get_int_member (o, "attempt"), seen + 1);
    if (seen < n)
      CU_ASSERT_EQUAL (json_object_get_int_member (o, "delay_ms"), delays[seen]);
    /* the next event (the rebuilt bin's first state change) comes after the delay */
    if (i + 1 < a->len && seen < n)
      CU_ASSERT_TRUE (((NervedEvent *) a->pdata[i + 1])->time_us - ev->time_us >= (gint64) delays[seen] * 1000);
    seen++;
  }
  CU_ASSERT_EQUAL (seen, n);
}

static void
test_missing_file (void)
{
  const char *launch = "filesrc name=src location=/nonexistent ! fakesink";
  g_autofree char *real = plain_error (launch);
  CU_ASSERT_PTR_NOT_NULL_FATAL (real);
  NervedPipeline *p = make ("missing", launch, NULL, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  GError *error = NULL;
  CU_ASSERT_FALSE (nerved_pipeline_start (p, &error));
  CU_ASSERT_PTR_NOT_NULL_FATAL (error);
  CU_ASSERT_STRING_EQUAL (error->message, real);
  g_clear_error (&error);
  CU_ASSERT_EQUAL (nerved_pipeline_get_state (p), NERVED_PIPELINE_FAILED);
  NervedEventLog *log = nerved_pipeline_events (p);
  CU_ASSERT_EQUAL (count_type (log, "error"), 1);
  g_autoptr (JsonObject) e = nth_of_type (log, "error", 0);
  CU_ASSERT_PTR_NOT_NULL_FATAL (e);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (e, "source"), "src");
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (e, "message"), real);
  CU_ASSERT_PTR_NOT_NULL (strstr (json_object_get_string_member (e, "debug"), "/nonexistent"));
  g_autoptr (JsonObject) st = nerved_pipeline_status (p);
  JsonObject *last = json_object_get_object_member (st, "last_error");
  CU_ASSERT_PTR_NOT_NULL_FATAL (last);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (last, "message"), real);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (last, "source"), "src");
  CU_ASSERT_EQUAL (json_object_get_int_member (st, "errors"), 1);
  CU_ASSERT_EQUAL (count_type (log, "restart"), 0);
  nerved_pipeline_free (p);
}

static void
test_restart_on_failure (void)
{
  /* synchronous failure (the file is missing): start fails, restarts back off, capped */
  NervedPipelineOptions opt;
  nerved_pipeline_options_init (&opt);
  opt.restart = NERVED_RESTART_ON_FAILURE;
  opt.backoff_initial_ms = 20;
  opt.backoff_max_ms = 80;
  opt.max_restarts = 5;
  NervedPipeline *p = make ("flaky", "filesrc location=/nonexistent ! fakesink", &opt, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  CU_ASSERT_FALSE (nerved_pipeline_start (p, NULL));
  CU_ASSERT_EQUAL (nerved_pipeline_get_state (p), NERVED_PIPELINE_RESTARTING);
  CU_ASSERT_TRUE (wait_state (p, NERVED_PIPELINE_FAILED, 5000));
  static const guint delays[] = { 20, 40, 80, 80, 80 };
  check_restarts (nerved_pipeline_events (p), delays, 5);
  CU_ASSERT_EQUAL (nerved_pipeline_restarts (p), 5);
  CU_ASSERT_EQUAL (nerved_pipeline_errors (p), 6);
  CU_ASSERT_EQUAL (status_int (p, "restarts"), 5);
  /* an explicit start begins a fresh series */
  CU_ASSERT_FALSE (nerved_pipeline_start (p, NULL));
  CU_ASSERT_TRUE (wait_state (p, NERVED_PIPELINE_FAILED, 5000));
  g_autoptr (JsonObject) r = nth_of_type (nerved_pipeline_events (p), "restart", 5);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r);
  CU_ASSERT_EQUAL (json_object_get_int_member (r, "attempt"), 1);
  CU_ASSERT_EQUAL (json_object_get_int_member (r, "delay_ms"), 20);
  nerved_pipeline_free (p);

  /* asynchronous failure while playing (identity errors after 3 buffers) */
  opt.max_restarts = 2;
  p = make ("async", "audiotestsrc ! identity name=id error-after=3 ! fakesink", &opt, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  CU_ASSERT_TRUE (nerved_pipeline_start (p, NULL));
  CU_ASSERT_TRUE (wait_state (p, NERVED_PIPELINE_FAILED, 5000));
  static const guint delays2[] = { 20, 40 };
  check_restarts (nerved_pipeline_events (p), delays2, 2);
  CU_ASSERT_EQUAL (nerved_pipeline_errors (p), 3);
  g_autoptr (JsonObject) e = nth_of_type (nerved_pipeline_events (p), "error", 0);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (e, "source"), "id");
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (e, "message"), "Failed after iterations as requested.");
  nerved_pipeline_free (p);
}

static void
test_restart_never (void)
{
  NervedPipeline *p = make ("never", "audiotestsrc ! identity error-after=3 ! fakesink", NULL, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  CU_ASSERT_TRUE (nerved_pipeline_start (p, NULL));
  CU_ASSERT_TRUE (wait_state (p, NERVED_PIPELINE_FAILED, 5000));
  run_for (100);
  CU_ASSERT_EQUAL (nerved_pipeline_get_state (p), NERVED_PIPELINE_FAILED);
  CU_ASSERT_EQUAL (count_type (nerved_pipeline_events (p), "restart"), 0);
  CU_ASSERT_EQUAL (nerved_pipeline_errors (p), 1);
  CU_ASSERT_EQUAL (nerved_pipeline_restarts (p), 0);
  nerved_pipeline_free (p);
}

static void
test_restart_always (void)
{
  NervedPipelineOptions opt;
  nerved_pipeline_options_init (&opt);
  opt.restart = NERVED_RESTART_ALWAYS;
  opt.backoff_initial_ms = 10;
  opt.max_restarts = 2;
  NervedPipeline *p = make ("always", "audiotestsrc num-buffers=5 samplesperbuffer=100 ! " S16_MONO " ! fakesink",
      &opt, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  CU_ASSERT_TRUE (nerved_pipeline_start (p, NULL));
  CU_ASSERT_TRUE (wait_state (p, NERVED_PIPELINE_FINISHED, 5000));
  NervedEventLog *log = nerved_pipeline_events (p);
  CU_ASSERT_EQUAL (count_type (log, "eos"), 3);
  static const guint delays[] = { 10, 20 };
  check_restarts (log, delays, 2);
  CU_ASSERT_EQUAL (status_int (p, "buffers"), 15);
  CU_ASSERT_EQUAL (status_int (p, "bytes"), 15 * 200);
  CU_ASSERT_EQUAL (status_int (p, "errors"), 0);
  nerved_pipeline_free (p);

  /* on-failure does not restart after a clean EOS */
  opt.restart = NERVED_RESTART_ON_FAILURE;
  p = make ("clean", "audiotestsrc num-buffers=5 ! fakesink", &opt, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  CU_ASSERT_TRUE (nerved_pipeline_start (p, NULL));
  CU_ASSERT_TRUE (wait_state (p, NERVED_PIPELINE_FINISHED, 5000));
  run_for (50);
  CU_ASSERT_EQUAL (count_type (nerved_pipeline_events (p), "restart"), 0);
  nerved_pipeline_free (p);
}

/* A stop during the backoff cancels the restart. */
static void
test_stop_while_restarting (void)
{
  NervedPipelineOptions opt;
  nerved_pipeline_options_init (&opt);
  opt.restart = NERVED_RESTART_ON_FAILURE;
  opt.backoff_initial_ms = 200;
  NervedPipeline *p = make ("backoff", "filesrc location=/nonexistent ! fakesink", &opt, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  CU_ASSERT_FALSE (nerved_pipeline_start (p, NULL));
  CU_ASSERT_EQUAL (nerved_pipeline_get_state (p), NERVED_PIPELINE_RESTARTING);
  int done = 0;
  nerved_pipeline_stop (p, count_done, &done);
  CU_ASSERT_EQUAL (done, 1);
  CU_ASSERT_EQUAL (nerved_pipeline_get_state (p), NERVED_PIPELINE_STOPPED);
  run_for (400);
  CU_ASSERT_EQUAL (nerved_pipeline_get_state (p), NERVED_PIPELINE_STOPPED);
  CU_ASSERT_EQUAL (nerved_pipeline_errors (p), 1);
  CU_ASSERT_EQUAL (nerved_pipeline_restarts (p), 0);
  nerved_pipeline_free (p);
}

static void
test_failure_isolated (void)
{
  NervedEventLog *global = nerved_event_log_new (4096);
  NervedPipelineOptions opt;
  nerved_pipeline_options_init (&opt);
  opt.restart = NERVED_RESTART_ON_FAILURE;
  opt.backoff_initial_ms = 10;
  opt.backoff_max_ms = 40;
  NervedPipeline *healthy = make ("healthy", LIVE, NULL, global);
  NervedPipeline *failing = make ("failing", "audiotestsrc ! identity error-after=2 ! fakesink", &opt, global);
  CU_ASSERT_PTR_NOT_NULL_FATAL (healthy);
  CU_ASSERT_PTR_NOT_NULL_FATAL (failing);
  CU_ASSERT_TRUE (nerved_pipeline_start (healthy, NULL));
  CU_ASSERT_TRUE (nerved_pipeline_start (failing, NULL));
  run_for (250);
  gint64 b1 = status_int (healthy, "buffers");
  run_for (350);
  gint64 b2 = status_int (healthy, "buffers");
  CU_ASSERT_TRUE (b1 > 0);
  CU_ASSERT_TRUE (b2 > b1 + 10); /* 100 buffers a second */
  CU_ASSERT_TRUE (nerved_pipeline_errors (failing) >= 3);
  CU_ASSERT_TRUE (nerved_pipeline_restarts (failing) >= 2);
  CU_ASSERT_EQUAL (nerved_pipeline_get_state (healthy), NERVED_PIPELINE_PLAYING);
  NervedEventLog *hl = nerved_pipeline_events (healthy);
  CU_ASSERT_EQUAL (count_type (hl, "error"), 0);
  CU_ASSERT_EQUAL (count_type (hl, "restart"), 0);
  CU_ASSERT_EQUAL (status_int (healthy, "errors"), 0);
  g_autoptr (GPtrArray) h = all_events (hl);
  for (guint i = 0; i < h->len; i++)
    CU_ASSERT_STRING_EQUAL (((NervedEvent *) h->pdata[i])->pipeline, "healthy");
  /* the global stream has both, each numbered once, the failing one's errors included */
  assert_contiguous (global);
  CU_ASSERT_EQUAL (nerved_event_log_total (global),
      nerved_event_log_total (hl) + nerved_event_log_total (nerved_pipeline_events (failing)));
  CU_ASSERT_EQUAL (count_type (global, "error"), nerved_pipeline_errors (failing));
  nerved_pipeline_free (failing);
  run_for (50);
  CU_ASSERT_TRUE (status_int (healthy, "buffers") > b2);
  nerved_pipeline_free (healthy);
  nerved_event_log_free (global);
}

static void
test_bad_launch (void)
{
  NervedEventLog *global = nerved_event_log_new (8);
  static const char *const lines[] = { "audiotestsrc ! nosuchelement ! fakesink", "audiotestsrc ! ! fakesink",
    "audiotestsrc ! fakesink name=sink nosuchproperty=1", "" };
  for (guint i = 0; i < G_N_ELEMENTS (lines); i++) {
    GError *parse_error = NULL, *error = NULL;
    GstElement *e = gst_parse_launch_full (lines[i], NULL, GST_PARSE_FLAG_FATAL_ERRORS, &parse_error);
    CU_ASSERT_PTR_NOT_NULL_FATAL (parse_error);
    if (e)
      gst_object_unref (e);
    NervedPipeline *p = nerved_pipeline_new ("bad", NULL, NULL, lines[i], NULL, global, &error);
    CU_ASSERT_PTR_NULL (p);
    CU_ASSERT_TRUE (g_error_matches (error, NERVED_ERROR, NERVED_ERROR_UNPROCESSABLE));
    if (error)
      CU_ASSERT_STRING_EQUAL (error->message, parse_error->message);
    g_clear_error (&error);
    g_clear_error (&parse_error);
  }
  CU_ASSERT_EQUAL (nerved_event_log_total (global), 0);
  nerved_event_log_free (global);
}

/* Freeing a pipeline from its own event subscriber or its stop callback is safe. */
static void
free_on_eos (NervedEvent *ev, gpointer data)
{
  NervedPipeline **pp = data;
  if (*pp && strcmp (ev->type, "eos") == 0) {
    nerved_pipeline_free (*pp);
    *pp = NULL;
  }
}

static void
free_in_done (NervedPipeline *p, gpointer data)
{
  nerved_pipeline_free (p);
  (*(int *) data)++;
}

static gboolean
is_null (gpointer data)
{
  return *(NervedPipeline **) data == NULL;
}

static void
test_free_from_callbacks (void)
{
  NervedEventLog *global = nerved_event_log_new (64);
  NervedPipeline *p = make ("self", "audiotestsrc num-buffers=3 ! fakesink", NULL, global);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  nerved_event_log_subscribe (nerved_pipeline_events (p), free_on_eos, &p);
  CU_ASSERT_TRUE (nerved_pipeline_start (p, NULL));
  CU_ASSERT_TRUE (wait_for (is_null, &p, 5000));
  CU_ASSERT_EQUAL (count_type (global, "deleted"), 1);

  NervedPipeline *q = make ("done", LIVE, NULL, global);
  CU_ASSERT_PTR_NOT_NULL_FATAL (q);
  CU_ASSERT_TRUE (nerved_pipeline_start (q, NULL));
  CU_ASSERT_TRUE (wait_gst_state (q, "playing", 0, 5000));
  int done = 0, done2 = 0;
  nerved_pipeline_stop (q, free_in_done, &done);
  nerved_pipeline_stop (q, count_done, &done2);
  CU_ASSERT_TRUE (wait_for (int_positive, &done, 5000));
  CU_ASSERT_EQUAL (done, 1);
  CU_ASSERT_EQUAL (done2, 1);
  CU_ASSERT_EQUAL (count_type (global, "deleted"), 2);
  assert_contiguous (global);
  nerved_event_log_free (global);
}

static void
test_state_names (void)
{
  static const char *const names[] = { "created", "playing", "paused", "stopping", "stopped", "finished",
    "failed", "restarting" };
  for (int s = NERVED_PIPELINE_CREATED; s <= NERVED_PIPELINE_RESTARTING; s++)
    CU_ASSERT_STRING_EQUAL (nerved_pipeline_state_name ((NervedPipelineState) s), names[s]);
  NervedPipelineOptions o;
  nerved_pipeline_options_init (&o);
  CU_ASSERT_EQUAL (o.restart, NERVED_RESTART_NEVER);
  CU_ASSERT_EQUAL (o.backoff_initial_ms, 500);
  CU_ASSERT_EQUAL (o.backoff_max_ms, 30000);
  CU_ASSERT_EQUAL (o.max_restarts, 0);
  CU_ASSERT_EQUAL (o.stop_timeout_ms, 5000);
  CU_ASSERT_EQUAL (o.event_capacity, 1024);
  CU_ASSERT_PTR_NULL (o.messages);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  static const TestCase tests[] = {
    { "state names and option defaults", test_state_names },
    { "created, playing, paused, playing, stopping, stopped, started again, deleted", test_lifecycle },
    { "EOS by itself: finished; exact buffers and bytes; status fields", test_eos_finished },
    { "buffers and bytes of every real sink", test_sink_counting },
    { "stop gives up after stop_timeout_ms when EOS cannot arrive", test_stop_timeout },
    { "stop of a paused pipeline goes through EOS", test_stop_paused },
    { "element messages forwarded only when allowed", test_element_messages },
    { "missing file: the error event carries GStreamer's message", test_missing_file },
    { "on-failure: backoff grows, is capped, ends in failed", test_restart_on_failure },
    { "never: failed, no restart", test_restart_never },
    { "always: restarts after EOS", test_restart_always },
    { "stop during the backoff cancels the restart", test_stop_while_restarting },
    { "a failing pipeline beside a healthy one", test_failure_isolated },
    { "bad launch line: unprocessable with the parser's message", test_bad_launch },
    { "free from an event subscriber or a stop callback", test_free_from_callbacks },
    { NULL, NULL },
  };
  int failed = nerve_test_main ("nerved-pipeline", tests);
  gst_deinit ();
  return failed ? 1 : 0;
}

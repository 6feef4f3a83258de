/* nerved: events, the bounded logs that keep them, and their Server-Sent Events form.
 *
 * Each stream (one per pipeline, plus the daemon-wide one) numbers its events 1, 2, 3 ...
 * with no gaps; a log keeps the last `capacity` of them so a client that reconnects with
 * Last-Event-ID gets what it missed. Everything runs on the daemon's main context: no
 * locking. */
#pragma once

#include <gst/gst.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct {
  int refcount;
  guint64 seq;        /* in the log that numbered it */
  char *type;         /* "created" "state" "message" "warning" "error" "eos" "restart" "stopped" "deleted" */
  char *pipeline;     /* pipeline id, NULL for daemon-wide events */
  gint64 time_us;     /* g_get_real_time () */
  char *data;         /* the event as one line of JSON: {"seq","type","pipeline","time", ...fields} */
} NervedEvent;

NervedEvent *nerved_event_ref (NervedEvent *ev);
void nerved_event_unref (NervedEvent *ev);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NervedEvent, nerved_event_unref)

/* "id: <seq>\nevent: <type>\ndata: <json>\n\n" */
char *nerved_event_format_sse (const NervedEvent *ev);

typedef struct NervedEventLog NervedEventLog;
typedef void (*NervedEventFunc) (NervedEvent *ev, gpointer user_data);

NervedEventLog *nerved_event_log_new (guint capacity);
void nerved_event_log_free (NervedEventLog *log);

/* Numbers and stores an event built from fields (may be NULL; its members are copied into
 * the event's JSON after seq/type/pipeline/time), calls the subscribers, returns it
 * (owned by the log). */
NervedEvent *nerved_event_log_append (NervedEventLog *log, const char *type, const char *pipeline,
    JsonObject *fields);
/* Re-numbers an event of another log into this one (the daemon-wide stream). */
NervedEvent *nerved_event_log_append_copy (NervedEventLog *log, const NervedEvent *ev);
guint64 nerved_event_log_last_seq (NervedEventLog *log);
/* Events with seq > after, oldest first (new refs). *missed: how many of those have
 * already fallen out of the buffer (0 when none). */
GPtrArray *nerved_event_log_since (NervedEventLog *log, guint64 after, guint64 *missed);
guint nerved_event_log_subscribe (NervedEventLog *log, NervedEventFunc func, gpointer user_data);
void nerved_event_log_unsubscribe (NervedEventLog *log, guint id);
guint64 nerved_event_log_total (NervedEventLog *log);   /* appended since creation */

/* A GstStructure (element message) as a JSON object: numbers, bools, strings, arrays and
 * lists, nested structures; anything else as its serialised string. The structure's name
 * goes into "name". */
JsonObject *nerved_structure_to_json (const GstStructure *s);
/* One field value the same way: ints of every width and uint64 as numbers (G_MAXUINT64,
 * i.e. GST_CLOCK_TIME_NONE, as null; others above G_MAXINT64 as doubles), doubles
 * (non-finite: null), bools, strings (invalid UTF-8 made valid), GstValueList/
 * GstValueArray/GValueArray/GArray-of-GValue as arrays, GstStructure as objects (a field
 * called "name" gives way to the structure's name), enums and flags as their nicks (flags
 * joined with '+'), caps as their string, anything else gst_value_serialize()d. */
JsonNode *nerved_value_to_json (const GValue *v);
/* RFC 3339 UTC with microseconds: "2026-11-27T07:40:00.123456Z". */
char *nerved_time_format (gint64 time_us);

G_END_DECLS

/* nervectl events: follows a pipeline's (or the daemon's) Server-Sent Events stream and
 * prints each event's JSON on one line. When the connection drops it reconnects with
 * Last-Event-ID, so the daemon replays what was missed from its buffer; it stops after
 * --count events or --timeout seconds. */
#include "nervectl.h"

#include <stdio.h>
#include <string.h>

#define RECONNECT_MIN_MS 250
#define RECONNECT_MAX_MS 5000
#define GIVE_UP_US (30 * G_USEC_PER_SEC)  /* no deadline: stop after this long unreachable */
#define IDLE_TIMEOUT_S 45                 /* 3 missed keepalives (every 15 s): reconnect */

/* Cancels the blocking read when the deadline passes (soup's sync API cannot poll a clock). */
typedef struct {
  GMutex lock;
  GCond cond;
  gboolean done;
  gint64 deadline;            /* monotonic µs */
  GCancellable *cancel;
} Timer;

static gpointer
timer_thread (gpointer data)
{
  Timer *t = data;
  g_mutex_lock (&t->lock);
  while (!t->done) {
    if (!g_cond_wait_until (&t->cond, &t->lock, t->deadline) && g_get_monotonic_time () >= t->deadline) {
      g_cancellable_cancel (t->cancel);
      break;
    }
  }
  g_mutex_unlock (&t->lock);
  return NULL;
}

typedef struct {
  guint64 count;              /* 0: unlimited */
  guint64 printed;
  gboolean have_id;
  char *last_id;              /* the id of the last event received whole: Last-Event-ID */
  char *id_buffer;            /* the last id: field read; becomes last_id when its event ends
                               * (a connection that drops inside an event resumes before it) */
  guint retry_ms;             /* from the server's retry: field, else RECONNECT_MIN_MS */
  /* the event being read */
  char *event;
  GString *data;
  gboolean has_data;
} Stream;

/* An event without an id (the daemon's "missed" notice) gets its type added so every
 * printed line says what it is; events with an id are printed as the daemon sent them. */
static void
dispatch (Stream *s, gboolean had_id)
{
  if (s->id_buffer && g_strcmp0 (s->id_buffer, s->last_id) != 0) {
    g_free (s->last_id);
    s->last_id = g_strdup (s->id_buffer);
    s->have_id = TRUE;
  }
  if (!s->has_data)
    goto reset;
  if (had_id) {
    printf ("%s\n", s->data->str);
    s->printed++;
  } else {
    g_autoptr(JsonParser) p = json_parser_new ();
    if (json_parser_load_from_data (p, s->data->str, -1, NULL) && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p))) {
      JsonObject *o = json_node_get_object (json_parser_get_root (p));
      if (!json_object_has_member (o, "type"))
        json_object_set_string_member (o, "type", s->event ? s->event : "message");
      g_autofree char *line = json_to_string (json_parser_get_root (p), FALSE);
      printf ("%s\n", line);
    } else {
      printf ("%s\n", s->data->str);
    }
    if (s->event && strcmp (s->event, "missed") == 0)
      fprintf (stderr, "nervectl: the daemon's buffer no longer held some events: %s\n", s->data->str);
  }
  fflush (stdout);
reset:
  g_clear_pointer (&s->event, g_free);
  g_string_truncate (s->data, 0);
  s->has_data = FALSE;
}

/* Reads events until the stream ends, fails, is cancelled or count is reached. */
static void
read_stream (Stream *s, GInputStream *in, GCancellable *cancel, GError **error)
{
  g_autoptr(GDataInputStream) lines = g_data_input_stream_new (in);
  g_data_input_stream_set_newline_type (lines, G_DATA_STREAM_NEWLINE_TYPE_ANY);
  gboolean had_id = FALSE;
  /* a new connection: what was read of an event the last one cut short is gone */
  g_clear_pointer (&s->event, g_free);
  g_string_truncate (s->data, 0);
  s->has_data = FALSE;
  g_free (s->id_buffer);
  s->id_buffer = g_strdup (s->last_id);
  while (!s->count || s->printed < s->count) {
    gsize len = 0;
    g_autofree char *line = g_data_input_stream_read_line_utf8 (lines, &len, cancel, error);
    if (!line)
      return;                   /* end of stream (error unset) or error */
    if (len == 0) {
      dispatch (s, had_id);
      had_id = FALSE;
      continue;
    }
    if (line[0] == ':')
      continue;                 /* comment: keepalive */
    char *colon = strchr (line, ':');
    const char *value = "";
    if (colon) {
      *colon = '\0';
      value = colon[1] == ' ' ? colon + 2 : colon + 1;
    }
    if (strcmp (line, "data") == 0) {
      if (s->has_data)
        g_string_append_c (s->data, '\n');
      g_string_append (s->data, value);
      s->has_data = TRUE;
    } else if (strcmp (line, "event") == 0) {
      g_free (s->event);
      s->event = g_strdup (value);
    } else if (strcmp (line, "id") == 0) {
      g_free (s->id_buffer);
      s->id_buffer = g_strdup (value);
      had_id = TRUE;
    } else if (strcmp (line, "retry") == 0) {
      guint64 ms = 0;
      if (g_ascii_string_to_unsigned (value, 10, 1, RECONNECT_MAX_MS, &ms, NULL))
        s->retry_ms = (guint) ms;
    }
  }
}

static gboolean
parse_number (const char *opt, const char *text, guint64 *out)
{
  g_autoptr(GError) error = NULL;
  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, out, &error)) {
    fprintf (stderr, "nervectl events: %s: %s\n", opt, error->message);
    return FALSE;
  }
  return TRUE;
}

int
nervectl_events (NervectlCtx *c, NervectlArgs *a)
{
  Stream s = { .data = g_string_new (NULL), .retry_ms = RECONNECT_MIN_MS };
  guint64 after = 0;
  double timeout_s = 0;
  int rc = NERVECTL_EXIT_USAGE;
  Timer t = { 0 };
  GThread *timer = NULL;
  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  g_autofree char *path = NULL;

  if (a->after && !parse_number ("--after", a->after, &after))
    goto out;
  if (a->count && !parse_number ("--count", a->count, &s.count))
    goto out;
  if (a->timeout) {
    char *end = NULL;
    timeout_s = g_ascii_strtod (a->timeout, &end);
    if (end == a->timeout || *end || !(timeout_s > 0) || timeout_s > 1e7) {
      fprintf (stderr, "nervectl events: --timeout: expected seconds > 0, got '%s'\n", a->timeout);
      goto out;
    }
  }
  if (a->after) {
    s.last_id = g_strdup (a->after);
    s.have_id = TRUE;
  }

  if (a->args->len > 0) {
    g_autofree char *eid = g_uri_escape_string (a->args->pdata[0], NULL, FALSE);
    path = g_strconcat ("/v1/pipelines/", eid, "/events", NULL);
  } else {
    path = g_strdup ("/v1/events");
  }

  gint64 deadline = timeout_s > 0 ? g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC) : 0;
  if (deadline) {
    g_mutex_init (&t.lock);
    g_cond_init (&t.cond);
    t.deadline = deadline;
    t.cancel = cancel;
    timer = g_thread_new ("nervectl-timeout", timer_thread, &t);
  }
  soup_session_set_timeout (c->session, IDLE_TIMEOUT_S);

  gboolean first = TRUE;
  gint64 failing_since = 0;
  guint delay_ms = 0;
  for (;;) {
    g_autoptr(SoupMessage) msg = nervectl_message (c, "GET", path);
    if (!msg) {
      fprintf (stderr, "nervectl: cannot build a request for %s%s\n", c->url, path);
      goto out;
    }
    SoupMessageHeaders *h = soup_message_get_request_headers (msg);
    soup_message_headers_replace (h, "Accept", "text/event-stream");
    if (s.have_id)
      soup_message_headers_replace (h, "Last-Event-ID", s.last_id);

    g_autoptr(GError) error = NULL;
    g_autoptr(GInputStream) in = soup_session_send (c->session, msg, cancel, &error);
    if (in) {
      guint status = soup_message_get_status (msg);
      if (status != SOUP_STATUS_OK) {
        g_autoptr(GBytes) body = g_input_stream_read_bytes (in, 64 * 1024, NULL, NULL);
        rc = nervectl_api_error (status, soup_message_get_reason_phrase (msg), body);
        goto out;
      }
      const char *ctype = soup_message_headers_get_content_type (soup_message_get_response_headers (msg), NULL);
      if (!ctype || g_ascii_strcasecmp (ctype, "text/event-stream") != 0) {
        fprintf (stderr, "nervectl: %s%s is not an event stream (Content-Type %s)\n", c->url, path,
            ctype ? ctype : "missing");
        rc = NERVECTL_EXIT_API;
        goto out;
      }
      first = FALSE;
      failing_since = 0;
      delay_ms = s.retry_ms;
      read_stream (&s, in, cancel, &error);
      g_input_stream_close (in, NULL, NULL);
    }
    if (s.count && s.printed >= s.count) {
      rc = 0;
      goto out;
    }
    if (g_cancellable_is_cancelled (cancel))
      break;                    /* the deadline */
    if (!in && first) {
      rc = nervectl_transport_error (c, msg, error);
      goto out;
    }
    /* dropped (or unreachable): wait, then resume after the last id */
    gint64 now = g_get_monotonic_time ();
    if (!in && !failing_since)
      failing_since = now;
    if (!deadline && failing_since && now - failing_since > GIVE_UP_US) {
      rc = nervectl_transport_error (c, msg, error);
      goto out;
    }
    fprintf (stderr, "nervectl: event stream %s (%s); reconnecting%s%s\n", in ? "ended" : "failed",
        error ? error->message : "closed by the daemon", s.have_id ? " after id " : "",
        s.have_id ? s.last_id : "");
    delay_ms = MAX (delay_ms, s.retry_ms);
    gint64 wait_us = (gint64) delay_ms * 1000;
    if (deadline)
      wait_us = MIN (wait_us, deadline - now);
    if (wait_us > 0)
      g_usleep ((gulong) wait_us);
    delay_ms = MIN (delay_ms * 2, RECONNECT_MAX_MS);
    if (deadline && g_get_monotonic_time () >= deadline)
      break;
  }
  /* the deadline passed */
  if (s.count && s.printed < s.count) {
    fprintf (stderr, "nervectl events: timed out after %g s with %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " events\n",
        timeout_s, s.printed, s.count);
    rc = NERVECTL_EXIT_API;
  } else {
    rc = 0;
  }

out:
  if (timer) {
    g_mutex_lock (&t.lock);
    t.done = TRUE;
    g_cond_signal (&t.cond);
    g_mutex_unlock (&t.lock);
    g_thread_join (timer);
    g_mutex_clear (&t.lock);
    g_cond_clear (&t.cond);
  }
  g_string_free (s.data, TRUE);
  g_free (s.event);
  g_free (s.last_id);
  g_free (s.id_buffer);
  return rc;
}

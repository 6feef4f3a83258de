/* nerved: Server-Sent Events clients.
 *
 * A stream is a chunked response that never completes: the replay (events after
 * Last-Event-ID or ?after=, preceded by `event: missed` when some already fell out of the
 * buffer) is appended first, then a subscription to the log appends every new event and
 * unpauses the message. Without Last-Event-ID/?after the stream starts with the next event.
 * A client whose unsent backlog grows past SSE_MAX_BACKLOG is disconnected (it cannot keep
 * up and would otherwise hold memory without bound); a `: keepalive` comment every 15 s
 * keeps proxies from timing out and lets us notice clients that went away. */
#include <string.h>
#include <gio/gio.h>

#include "nerved-daemon-private.h"

#define SSE_KEEPALIVE_S 15
#define SSE_MAX_BACKLOG ((gsize) 4 << 20)

typedef struct {
  NervedSse *s;
  SoupServerMessage *msg;
  NervedEventLog *log;      /* NULL once the pipeline (and its log) is gone */
  guint sub;
  char *pipeline;           /* NULL: the daemon-wide stream */
  gsize unsent;             /* appended, not yet written */
  gboolean ended;           /* completed or dropped: append nothing more */
  gulong finished_id, wrote_id;
} Client;

struct NervedSse {
  NervedDaemon *d;
  GList *clients;
  guint n;
  guint keepalive;
};

static void
client_unsubscribe (Client *c)
{
  if (c->log && c->sub)
    nerved_event_log_unsubscribe (c->log, c->sub);
  c->sub = 0;
}

static void
client_free (Client *c)
{
  client_unsubscribe (c);
  g_signal_handler_disconnect (c->msg, c->finished_id);
  g_signal_handler_disconnect (c->msg, c->wrote_id);
  c->s->clients = g_list_remove (c->s->clients, c);
  c->s->n--;
  g_object_unref (c->msg);
  g_free (c->pipeline);
  g_free (c);
}

static void
client_finished (SoupServerMessage *msg, gpointer user_data)
{
  Client *c = user_data;
  nerved_log (G_LOG_LEVEL_DEBUG, "event stream closed", "pipeline", c->pipeline, NULL);
  client_free (c);
}

static void
client_wrote (SoupServerMessage *msg, guint size, gpointer user_data)
{
  Client *c = user_data;
  c->unsent = size > c->unsent ? 0 : c->unsent - size;
}

/* Drops a client that cannot keep up: the socket is shut down, the pending write fails and
 * libsoup finishes the message (client_finished frees it). */
static void
client_drop (Client *c)
{
  char n[32];
  g_snprintf (n, sizeof n, "%" G_GSIZE_FORMAT, c->unsent);
  nerved_log (G_LOG_LEVEL_WARNING, "event-stream client too slow, disconnecting", "pipeline", c->pipeline,
      "unsent_bytes", n, NULL);
  c->ended = TRUE;
  client_unsubscribe (c);
  GSocket *sock = soup_server_message_get_socket (c->msg);
  if (sock)
    g_socket_shutdown (sock, TRUE, TRUE, NULL);
  soup_server_message_unpause (c->msg);
}

static void
client_write (Client *c, char *text)   /* takes text */
{
  if (c->ended) {
    g_free (text);
    return;
  }
  const gsize len = strlen (text);
  soup_message_body_append (soup_server_message_get_response_body (c->msg), SOUP_MEMORY_TAKE, text, len);
  c->unsent += len;
  soup_server_message_unpause (c->msg);
  if (c->unsent > SSE_MAX_BACKLOG)
    client_drop (c);
}

static void
client_end (Client *c)
{
  if (c->ended)
    return;
  c->ended = TRUE;
  client_unsubscribe (c);
  soup_message_body_complete (soup_server_message_get_response_body (c->msg));
  soup_server_message_unpause (c->msg);
}

static void
client_send_event (Client *c, NervedEvent *ev)
{
  client_write (c, nerved_event_format_sse (ev));
  c->s->d->metrics.sse_events_sent++;
}

static void
on_event (NervedEvent *ev, gpointer user_data)
{
  client_send_event (user_data, ev);
}

static gboolean
keepalive (gpointer data)
{
  NervedSse *s = data;
  g_autoptr (GList) all = g_list_copy (s->clients);   /* a write may drop a client */
  for (GList *l = all; l; l = l->next)
    client_write (l->data, g_strdup (": keepalive\n\n"));
  return G_SOURCE_CONTINUE;
}

NervedSse *
nerved_sse_new (NervedDaemon *d)
{
  NervedSse *s = g_new0 (NervedSse, 1);
  s->d = d;
  s->keepalive = g_timeout_add_seconds (SSE_KEEPALIVE_S, keepalive, s);
  return s;
}

void
nerved_sse_free (NervedSse *s)
{
  if (!s)
    return;
  while (s->clients)
    client_free (s->clients->data);
  g_source_remove (s->keepalive);
  g_free (s);
}

guint
nerved_sse_clients (NervedSse *s)
{
  return s->n;
}

/* Last-Event-ID header, else ?after=; FALSE with *has = FALSE when neither is there. */
static gboolean
parse_after (SoupServerMessage *msg, GHashTable *query, guint64 *after, gboolean *has, GError **error)
{
  const char *v = soup_message_headers_get_one (soup_server_message_get_request_headers (msg), "Last-Event-ID");
  const char *what = "Last-Event-ID";
  if (!v && query) {
    v = g_hash_table_lookup (query, "after");
    what = "after";
  }
  *has = v != NULL;
  *after = 0;
  if (!v)
    return TRUE;
  if (!g_ascii_string_to_unsigned (v, 10, 0, G_MAXUINT64, after, NULL)) {
    g_set_error (error, NERVED_ERROR, NERVED_ERROR_BAD_REQUEST,
        "%s: expected an event sequence number (0 or more)", what);
    return FALSE;
  }
  return TRUE;
}

void
nerved_sse_serve (NervedSse *s, SoupServerMessage *msg, NervedEventLog *log, const char *pipeline_id,
    GHashTable *query)
{
  NervedDaemon *d = s->d;
  if (s->n >= d->cfg.max_sse_clients) {
    g_autofree char *m = g_strdup_printf ("too many event-stream clients (max-sse-clients = %u)",
        d->cfg.max_sse_clients);
    nerved_http_error_literal (msg, 429, "limit", m);
    return;
  }
  if (d->draining) {
    nerved_http_draining (msg);
    return;
  }
  guint64 after;
  gboolean has_after;
  g_autoptr (GError) err = NULL;
  if (!parse_after (msg, query, &after, &has_after, &err)) {
    nerved_http_error (msg, err);
    return;
  }
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
  soup_message_headers_set_encoding (h, SOUP_ENCODING_CHUNKED);
  soup_message_headers_replace (h, "Content-Type", "text/event-stream; charset=utf-8");
  soup_message_headers_replace (h, "Cache-Control", "no-cache");
  soup_message_headers_replace (h, "X-Accel-Buffering", "no");
  /* written chunks are dropped, not kept for the whole life of the stream */
  soup_message_body_set_accumulate (soup_server_message_get_response_body (msg), FALSE);
  soup_server_message_set_status (msg, 200, NULL);
  nerved_http_mark_stream (msg);

  Client *c = g_new0 (Client, 1);
  c->s = s;
  c->msg = g_object_ref (msg);
  c->log = log;
  c->pipeline = g_strdup (pipeline_id);
  c->finished_id = g_signal_connect (msg, "finished", G_CALLBACK (client_finished), c);
  c->wrote_id = g_signal_connect (msg, "wrote-body-data", G_CALLBACK (client_wrote), c);
  s->clients = g_list_prepend (s->clients, c);
  s->n++;

  /* a comment first: the client sees the stream open even when nothing happens */
  client_write (c, g_strdup (": nerved event stream\n\n"));
  if (has_after) {
    guint64 missed = 0;
    g_autoptr (GPtrArray) evs = nerved_event_log_since (log, after, &missed);
    if (missed)
      client_write (c, g_strdup_printf ("event: missed\ndata: {\"missed\": %" G_GUINT64_FORMAT "}\n\n", missed));
    for (guint i = 0; evs && i < evs->len; i++)
      client_send_event (c, g_ptr_array_index (evs, i));
  }
  /* single-threaded: nothing can be appended between the replay and the subscription */
  c->sub = nerved_event_log_subscribe (log, on_event, c);
}

void
nerved_sse_pipeline_gone (NervedSse *s, const char *pipeline_id)
{
  g_autoptr (GList) all = g_list_copy (s->clients);
  for (GList *l = all; l; l = l->next) {
    Client *c = l->data;
    if (c->pipeline && !strcmp (c->pipeline, pipeline_id)) {
      c->log = NULL;   /* freed with its pipeline, our subscription with it */
      c->sub = 0;
      client_end (c);
    }
  }
}

void
nerved_sse_close_all (NervedSse *s)
{
  g_autoptr (GList) all = g_list_copy (s->clients);
  for (GList *l = all; l; l = l->next)
    client_end (l->data);
}

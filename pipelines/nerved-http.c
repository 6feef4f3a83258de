/* nerved: the HTTP server: listening, routing, JSON answers and errors, bearer auth, header
 * and body limits (decided from the headers before the body is read, or while its chunks
 * arrive), the access log and the request counters.
 *
 * libsoup calls the early handler once the headers are in and the handler once the body is
 * in; an early status skips the handler, so every refusal (401, 413, 431) happens early and
 * the body that follows is discarded, not buffered. */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <gio/gio.h>

#include "nerved-daemon-private.h"

typedef struct {
  NervedDaemon *d;
  gint64 t0;          /* monotonic, when the headers were in */
  gsize limit, got;   /* body bytes allowed / seen so far (chunked bodies) */
  gboolean stream;    /* SSE: not a latency sample */
  guint sent;         /* the status in the headers written, 0 before */
} ReqInfo;

static GQuark
req_quark (void)
{
  static GQuark q;
  if (!q)
    q = g_quark_from_static_string ("nerved-request");
  return q;
}

/* ---- answers ---- */

char *
nerved_json_to_string (JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, node);
  return json_generator_to_data (gen, NULL);
}

void
nerved_http_json (SoupServerMessage *msg, guint status, JsonNode *node)
{
  char *s = nerved_json_to_string (node);
  json_node_unref (node);
  char *body = g_strconcat (s, "\n", NULL);
  g_free (s);
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE, body, strlen (body));
}

void
nerved_http_object (SoupServerMessage *msg, guint status, JsonObject *obj)
{
  JsonNode *n = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (n, obj);
  nerved_http_json (msg, status, n);
}

void
nerved_http_error_literal (SoupServerMessage *msg, guint status, const char *code, const char *message)
{
  JsonObject *e = json_object_new ();
  json_object_set_string_member (e, "code", code);
  json_object_set_string_member (e, "message", message);
  JsonObject *o = json_object_new ();
  json_object_set_object_member (o, "error", e);
  nerved_http_object (msg, status, o);
}

void
nerved_http_error (SoupServerMessage *msg, const GError *error)
{
  nerved_http_error_literal (msg, nerved_error_http_status (error), nerved_error_code_name (error), error->message);
}

void
nerved_http_draining (SoupServerMessage *msg)
{
  nerved_http_error_literal (msg, 503, "draining", "the daemon is shutting down");
}

void
nerved_http_mark_stream (SoupServerMessage *msg)
{
  ReqInfo *ri = g_object_get_qdata (G_OBJECT (msg), req_quark ());
  if (ri)
    ri->stream = TRUE;
}

/* An early refusal: the body that may follow is read and dropped, the connection closed. */
void
nerved_http_refuse (SoupServerMessage *msg, guint status, const char *code, const char *message)
{
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection", "close");
  nerved_http_error_literal (msg, status, code, message);
}

/* ---- held (paused) answers ---- */

struct NervedHeld {
  SoupServerMessage *msg;
  gulong finished;
  gboolean gone;
};

static void
held_finished (SoupServerMessage *msg, gpointer user_data)
{
  ((NervedHeld *) user_data)->gone = TRUE;
}

NervedHeld *
nerved_held_new (SoupServerMessage *msg)
{
  NervedHeld *h = g_new0 (NervedHeld, 1);
  h->msg = g_object_ref (msg);
  h->finished = g_signal_connect (msg, "finished", G_CALLBACK (held_finished), h);
  soup_server_message_pause (msg);
  return h;
}

SoupServerMessage *
nerved_held_msg (NervedHeld *h)
{
  return h && !h->gone ? h->msg : NULL;
}

void
nerved_held_release (NervedHeld *h)
{
  if (!h)
    return;
  g_signal_handler_disconnect (h->msg, h->finished);
  if (!h->gone)
    soup_server_message_unpause (h->msg);
  g_object_unref (h->msg);
  g_free (h);
}

/* ---- routes ---- */

typedef enum {
  R_HEALTH, R_METRICS, R_TEMPLATES, R_TEMPLATE, R_PIPELINES, R_PIPELINE, R_ACTION,
  R_PIPELINE_EVENTS, R_EVENTS, R_JOBS, R_JOB, R_JOB_OUTPUT,
} Route;

typedef struct {
  Route route;
  const char *allow;    /* "GET, POST" */
  char *arg, *action;   /* point into the split path */
} Match;

static gboolean
route_match (char **seg, Match *m)
{
  guint n = g_strv_length (seg);
  m->arg = m->action = NULL;
  if (n == 1 && !strcmp (seg[0], "healthz"))
    *m = (Match) { R_HEALTH, "GET" };
  else if (n == 1 && !strcmp (seg[0], "metrics"))
    *m = (Match) { R_METRICS, "GET" };
  else if (n < 2 || strcmp (seg[0], "v1") != 0)
    return FALSE;
  else if (n == 2 && !strcmp (seg[1], "templates"))
    *m = (Match) { R_TEMPLATES, "GET" };
  else if (n == 3 && !strcmp (seg[1], "templates"))
    *m = (Match) { R_TEMPLATE, !strcmp (seg[2], "reload") ? "GET, POST" : "GET", seg[2] };
  else if (n == 2 && !strcmp (seg[1], "pipelines"))
    *m = (Match) { R_PIPELINES, "GET, POST" };
  else if (n == 3 && !strcmp (seg[1], "pipelines"))
    *m = (Match) { R_PIPELINE, "GET, DELETE", seg[2] };
  else if (n == 4 && !strcmp (seg[1], "pipelines") && !strcmp (seg[3], "events"))
    *m = (Match) { R_PIPELINE_EVENTS, "GET", seg[2] };
  else if (n == 4 && !strcmp (seg[1], "pipelines")
           && (!strcmp (seg[3], "start") || !strcmp (seg[3], "pause") || !strcmp (seg[3], "stop")))
    *m = (Match) { R_ACTION, "POST", seg[2], seg[3] };
  else if (n == 2 && !strcmp (seg[1], "events"))
    *m = (Match) { R_EVENTS, "GET" };
  else if (n == 2 && !strcmp (seg[1], "jobs"))
    *m = (Match) { R_JOBS, "GET, POST" };
  else if (n == 3 && !strcmp (seg[1], "jobs"))
    *m = (Match) { R_JOB, "GET, DELETE", seg[2] };
  else if (n == 4 && !strcmp (seg[1], "jobs") && !strcmp (seg[3], "output"))
    *m = (Match) { R_JOB_OUTPUT, "GET", seg[2] };
  else
    return FALSE;
  return TRUE;
}

/* "/v1/pipelines/p1" -> {"v1", "pipelines", "p1"}; empty segments (//, trailing /) never match */
static char **
split_path (const char *path)
{
  char **seg = g_strsplit (path[0] == '/' ? path + 1 : path, "/", -1);
  for (char **s = seg; *s; s++)
    if (!**s) {
      g_strfreev (seg);
      return g_new0 (char *, 1);
    }
  return seg;
}

static const char *
method_of (SoupServerMessage *msg)
{
  const char *m = soup_server_message_get_method (msg);
  return m == SOUP_METHOD_HEAD ? SOUP_METHOD_GET : m;
}

static gboolean
method_allowed (const char *allow, const char *method)
{
  g_auto (GStrv) list = g_strsplit (allow, ", ", -1);
  return g_strv_contains ((const char *const *) list, method);
}

/* ---- early handler: limits and auth, before the body ---- */

static gsize
headers_size (SoupServerMessage *msg)
{
  SoupMessageHeadersIter it;
  const char *name, *value;
  gsize n = 0;
  soup_message_headers_iter_init (&it, soup_server_message_get_request_headers (msg));
  while (soup_message_headers_iter_next (&it, &name, &value))
    n += strlen (name) + strlen (value) + 4;
  GUri *uri = soup_server_message_get_uri (msg);
  n += strlen (g_uri_get_path (uri)) + (g_uri_get_query (uri) ? strlen (g_uri_get_query (uri)) : 0);
  return n;
}

static void
got_chunk (SoupServerMessage *msg, GBytes *chunk, gpointer user_data)
{
  ReqInfo *ri = user_data;
  ri->got += g_bytes_get_size (chunk);
  if (ri->got > ri->limit && soup_server_message_get_status (msg) == 0) {
    g_autofree char *m = g_strdup_printf ("request body over the limit of %" G_GSIZE_FORMAT " bytes", ri->limit);
    soup_message_body_truncate (soup_server_message_get_request_body (msg));
    nerved_http_refuse (msg, 413, "too_large", m);
  }
}

static void
wrote_headers (SoupServerMessage *msg, gpointer user_data)
{
  ((ReqInfo *) user_data)->sent = soup_server_message_get_status (msg);
}

static void
early_handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer user_data)
{
  NervedDaemon *d = user_data;
  ReqInfo *ri = g_new0 (ReqInfo, 1);
  ri->d = d;
  ri->t0 = g_get_monotonic_time ();
  g_object_set_qdata_full (G_OBJECT (msg), req_quark (), ri, g_free);
  g_signal_connect (msg, "wrote-headers", G_CALLBACK (wrote_headers), ri);

  if (headers_size (msg) > d->cfg.max_header_bytes) {
    g_autofree char *m = g_strdup_printf ("request headers over the limit of %" G_GSIZE_FORMAT " bytes",
        d->cfg.max_header_bytes);
    nerved_http_refuse (msg, 431, "too_large", m);
    return;
  }
  if (d->tokens && strcmp (path, "/healthz") != 0) {
    const char *auth = soup_message_headers_get_one (soup_server_message_get_request_headers (msg), "Authorization");
    if (!nerved_tokens_check (d->tokens, auth)) {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "WWW-Authenticate", "Bearer");
      nerved_http_refuse (msg, 401, "unauthorized",
          auth ? "the bearer token is not valid" : "authentication required: send Authorization: Bearer <token>");
      return;
    }
  }
  const gboolean upload = !strcmp (path, "/v1/jobs") && !strcmp (soup_server_message_get_method (msg), "POST");
  ri->limit = upload ? d->cfg.max_upload_bytes : d->cfg.max_body_bytes;
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  if (soup_message_headers_get_encoding (h) == SOUP_ENCODING_CONTENT_LENGTH
      && (guint64) soup_message_headers_get_content_length (h) > ri->limit) {
    g_autofree char *m = g_strdup_printf ("request body of %" G_GINT64_FORMAT " bytes is over the limit of %"
        G_GSIZE_FORMAT " bytes", soup_message_headers_get_content_length (h), ri->limit);
    nerved_http_refuse (msg, 413, "too_large", m);
    return;
  }
  if (upload) {
    if (d->draining)
      nerved_http_refuse (msg, 503, "draining", "the daemon is shutting down");
    else
      nerved_jobs_upload_begin (d->jobs, msg, query);   /* streams to the spool, checks the limit */
    return;
  }
  g_signal_connect (msg, "got-chunk", G_CALLBACK (got_chunk), ri);
}

/* ---- handlers ---- */

static void
answer_health (NervedDaemon *d, SoupServerMessage *msg)
{
  JsonObject *o = json_object_new ();
  if (d->draining) {
    json_object_set_string_member (o, "status", "draining");
    nerved_http_object (msg, 503, o);
    return;
  }
  json_object_set_string_member (o, "status", "ok");
  json_object_set_int_member (o, "pipelines", g_hash_table_size (d->pipelines));
  json_object_set_double_member (o, "uptime_s", nerved_json_seconds (nerved_daemon_uptime (d)));
  nerved_http_object (msg, 200, o);
}

static int
template_cmp (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(NervedTemplate *const *) a)->name, (*(NervedTemplate *const *) b)->name);
}

static void
answer_templates (NervedDaemon *d, SoupServerMessage *msg)
{
  g_autoptr (GPtrArray) all = g_ptr_array_new ();
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, d->templates);
  while (g_hash_table_iter_next (&it, NULL, &v))
    g_ptr_array_add (all, v);
  g_ptr_array_sort (all, template_cmp);
  JsonArray *a = json_array_new ();
  for (guint i = 0; i < all->len; i++)
    json_array_add_object_element (a, nerved_template_to_json (g_ptr_array_index (all, i)));
  JsonObject *o = json_object_new ();
  json_object_set_array_member (o, "templates", a);
  nerved_http_object (msg, 200, o);
}

static void
answer_not_found (SoupServerMessage *msg, const char *what, const char *id)
{
  g_autofree char *m = g_strdup_printf ("%s '%s' not found", what, id);
  nerved_http_error_literal (msg, 404, "not_found", m);
}

static void
create_pipeline (NervedDaemon *d, SoupServerMessage *msg)
{
  if (d->draining) {
    nerved_http_draining (msg);
    return;
  }
  g_autoptr (GBytes) body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  gsize len;
  const char *data = g_bytes_get_data (body, &len);
  NervedCreateRequest req = { 0 };
  g_autoptr (GError) err = NULL;
  NervedPipeline *p = NULL;
  if (nerved_create_request_parse (data ? data : "", len, &req, &err))
    p = nerved_daemon_create (d, &req, &err);
  nerved_create_request_clear (&req);
  if (!p) {
    nerved_http_error (msg, err);
    return;
  }
  g_autofree char *loc = g_strdup_printf ("/v1/pipelines/%s", nerved_pipeline_id (p));
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Location", loc);
  nerved_http_object (msg, 201, nerved_pipeline_status (p));
}

static void
pipeline_route (NervedDaemon *d, SoupServerMessage *msg, const Match *m, GHashTable *query)
{
  const char *method = method_of (msg);
  NervedPipeline *p = nerved_daemon_find (d, m->arg);
  if (!p) {
    answer_not_found (msg, "pipeline", m->arg);
    return;
  }
  g_autoptr (GError) err = NULL;
  if (m->route == R_PIPELINE_EVENTS) {
    nerved_sse_serve (d->sse, msg, nerved_pipeline_events (p), m->arg, query);
  } else if (m->route == R_PIPELINE && !strcmp (method, "GET")) {
    nerved_http_object (msg, 200, nerved_pipeline_status (p));
  } else if (m->route == R_PIPELINE) {
    g_autofree char *id = g_strdup (m->arg);
    nerved_daemon_delete (d, p);
    JsonObject *o = json_object_new ();
    json_object_set_string_member (o, "deleted", id);
    nerved_http_object (msg, 200, o);
  } else if (!strcmp (m->action, "stop")) {
    nerved_daemon_stop_request (d, p, msg);
  } else if (d->draining) {
    nerved_http_draining (msg);
  } else if (!strcmp (m->action, "start") ? nerved_pipeline_start (p, &err) : nerved_pipeline_pause (p, &err)) {
    nerved_log (G_LOG_LEVEL_INFO, !strcmp (m->action, "start") ? "pipeline started" : "pipeline paused",
        "id", m->arg, NULL);
    nerved_http_object (msg, 200, nerved_pipeline_status (p));
  } else {
    nerved_http_error (msg, err);
  }
}

static void
handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer user_data)
{
  NervedDaemon *d = user_data;
  g_auto (GStrv) seg = split_path (path);
  const char *method = method_of (msg);
  Match m;
  if (!route_match (seg, &m)) {
    g_autofree char *s = g_strdup_printf ("no such route: %s %s", soup_server_message_get_method (msg), path);
    nerved_http_error_literal (msg, 404, "not_found", s);
    return;
  }
  if (!method_allowed (m.allow, method)) {
    g_autofree char *s = g_strdup_printf ("%s is not allowed on %s (allowed: %s)",
        soup_server_message_get_method (msg), path, m.allow);
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow", m.allow);
    nerved_http_error_literal (msg, 405, "method_not_allowed", s);
    return;
  }
  const gboolean get = !strcmp (method, "GET");
  switch (m.route) {
  case R_HEALTH:
    answer_health (d, msg);
    break;
  case R_METRICS: {
    char *text = nerved_metrics_render (d);
    soup_server_message_set_status (msg, 200, NULL);
    soup_server_message_set_response (msg, "text/plain; version=0.0.4; charset=utf-8", SOUP_MEMORY_TAKE, text,
        strlen (text));
    break;
  }
  case R_TEMPLATES:
    answer_templates (d, msg);
    break;
  case R_TEMPLATE:
    if (!get) {
      g_autoptr (GError) err = NULL;
      if (!nerved_daemon_reload (d, &err)) {
        nerved_http_error (msg, err);
      } else {
        JsonObject *o = json_object_new ();
        json_object_set_int_member (o, "templates", g_hash_table_size (d->templates));
        nerved_http_object (msg, 200, o);
      }
    } else {
      const NervedTemplate *t = g_hash_table_lookup (d->templates, m.arg);
      if (t)
        nerved_http_object (msg, 200, nerved_template_to_json (t));
      else
        answer_not_found (msg, "template", m.arg);
    }
    break;
  case R_PIPELINES:
    if (get) {
      JsonArray *a = json_array_new ();
      for (guint i = 0; i < d->order->len; i++)
        json_array_add_object_element (a, nerved_pipeline_status (g_ptr_array_index (d->order, i)));
      JsonObject *o = json_object_new ();
      json_object_set_array_member (o, "pipelines", a);
      nerved_http_object (msg, 200, o);
    } else {
      create_pipeline (d, msg);
    }
    break;
  case R_PIPELINE:
  case R_ACTION:
  case R_PIPELINE_EVENTS:
    pipeline_route (d, msg, &m, query);
    break;
  case R_EVENTS:
    nerved_sse_serve (d->sse, msg, d->events, NULL, query);
    break;
  case R_JOBS:
    if (get)
      nerved_jobs_list (d->jobs, msg);
    else
      nerved_jobs_submit (d->jobs, msg, query);
    break;
  case R_JOB:
    if (get)
      nerved_jobs_get (d->jobs, msg, m.arg);
    else
      nerved_jobs_delete (d->jobs, msg, m.arg);
    break;
  case R_JOB_OUTPUT:
    nerved_jobs_output (d->jobs, msg, m.arg);
    break;
  }
}

/* ---- access log and counters ---- */

static void
request_done (SoupServer *server, SoupServerMessage *msg, gpointer user_data, gboolean aborted)
{
  NervedDaemon *d = user_data;
  const char *method = soup_server_message_get_method (msg);
  GUri *uri = soup_server_message_get_uri (msg);
  if (!method || !uri)
    return;   /* a keep-alive connection closed before its next request */
  ReqInfo *ri = g_object_get_qdata (G_OBJECT (msg), req_quark ());
  /* what the client got: libsoup sets 500 on a message whose connection failed after its
   * headers went out (an event stream the client closed) */
  const guint status = ri && ri->sent ? ri->sent : soup_server_message_get_status (msg);
  const double s = ri ? (double) (g_get_monotonic_time () - ri->t0) / G_USEC_PER_SEC : 0.0;
  if (!ri || !ri->stream)
    nerved_metrics_observe_request (d, status, ri ? s : -1.0);
  else
    nerved_metrics_observe_request (d, status, -1.0);
  char st[16], ms[32];
  g_snprintf (st, sizeof st, "%u", status);
  g_snprintf (ms, sizeof ms, "%.1f", s * 1000.0);
  nerved_log (G_LOG_LEVEL_INFO, aborted ? "request aborted" : "request", "method", method, "path",
      g_uri_get_path (uri), "status", st, "ms", ms, NULL);
}

static void
request_finished (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  request_done (server, msg, user_data, FALSE);
}

static void
request_aborted (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  request_done (server, msg, user_data, TRUE);
}

/* ---- accepting ----
 *
 * libsoup 3.2's own listener leaks the GSocket of every connection it accepts (it never drops
 * the reference g_socket_accept gave it; fixed upstream later): some 350 bytes per connection
 * for the life of the daemon. So a GSocketService accepts and hands each connection to
 * soup_server_accept_iostream, which takes references of its own. libsoup keeps a connection
 * open for the next request only while the server has a listener of its own, so it gets one
 * that nothing can reach: one end of a socket pair, whose other end never writes. */

static gboolean
incoming (GSocketService *service, GSocketConnection *conn, GObject *source, gpointer user_data)
{
  NervedDaemon *d = user_data;
  /* answers go out as headers, then body: no Nagle delay between them (libsoup's listener
   * set this too) */
  g_socket_set_option (g_socket_connection_get_socket (conn), IPPROTO_TCP, TCP_NODELAY, TRUE, NULL);
  g_autoptr (GSocketAddress) local = g_socket_connection_get_local_address (conn, NULL);
  g_autoptr (GSocketAddress) remote = g_socket_connection_get_remote_address (conn, NULL);
  if (local && remote)
    soup_server_accept_iostream (d->server, G_IO_STREAM (conn), local, remote, NULL);
  return TRUE;
}

static gboolean
keepalive_listener (NervedDaemon *d, GError **error)
{
  int fds[2];
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    g_set_error (error, NERVED_ERROR, NERVED_ERROR_CONFIG, "socketpair: %s", g_strerror (errno));
    return FALSE;
  }
  g_autoptr (GSocket) ours = g_socket_new_from_fd (fds[0], NULL);
  d->keepalive_peer = g_socket_new_from_fd (fds[1], NULL);
  if (!ours || !d->keepalive_peer) {
    g_set_error (error, NERVED_ERROR, NERVED_ERROR_CONFIG, "socketpair: not usable as sockets");
    if (!ours)
      close (fds[0]);
    if (!d->keepalive_peer)
      close (fds[1]);
    return FALSE;
  }
  return soup_server_listen_socket (d->server, ours, 0, error);
}

gboolean
nerved_http_setup (NervedDaemon *d, GError **error)
{
  d->server = soup_server_new ("server-header", "nerved ", NULL);
  soup_server_add_early_handler (d->server, NULL, early_handler, d, NULL);
  soup_server_add_handler (d->server, NULL, handler, d, NULL);
  g_signal_connect (d->server, "request-finished", G_CALLBACK (request_finished), d);
  g_signal_connect (d->server, "request-aborted", G_CALLBACK (request_aborted), d);

  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new_from_string (d->host, d->port);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) err = NULL;
  d->service = g_socket_service_new ();
  if (!addr || !g_socket_listener_add_address (G_SOCKET_LISTENER (d->service), addr, G_SOCKET_TYPE_STREAM,
          G_SOCKET_PROTOCOL_TCP, NULL, &bound, &err)) {
    g_set_error (error, NERVED_ERROR, NERVED_ERROR_CONFIG, "cannot listen on %s: %s", d->cfg.listen,
        err ? err->message : "bad address");
    return FALSE;
  }
  if (!keepalive_listener (d, error))
    return FALSE;
  if (G_IS_INET_SOCKET_ADDRESS (bound))
    d->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_signal_connect (d->service, "incoming", G_CALLBACK (incoming), d);
  g_socket_service_start (d->service);
  return TRUE;
}

void
nerved_http_close (NervedDaemon *d)
{
  if (d->service) {
    g_socket_service_stop (d->service);
    g_socket_listener_close (G_SOCKET_LISTENER (d->service));
    g_clear_object (&d->service);
  }
  if (d->server) {
    soup_server_disconnect (d->server);   /* closes every connection */
    g_clear_object (&d->server);
  }
  if (d->keepalive_peer) {
    g_socket_close (d->keepalive_peer, NULL);
    g_clear_object (&d->keepalive_peer);
  }
}

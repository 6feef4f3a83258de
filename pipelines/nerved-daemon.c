/* nerved: the daemon object: config checks, the templates table (and its reload), the
 * pipelines table with its limits, POST .../stop waits and the SIGTERM drain. HTTP, SSE and
 * jobs live in their own files and reach this state through nerved-daemon-private.h. */
#include <string.h>
#include <gio/gio.h>

#include "nerved-daemon-private.h"

typedef struct {
  NervedDaemon *d;
  SoupServerMessage *msg;   /* until answered */
  NervedHeld *held;         /* NULL while nerved_pipeline_stop is still on the stack */
  char *id;
  gboolean in_call, answered;
} NervedStopWait;

double
nerved_daemon_uptime (NervedDaemon *d)
{
  return (double) (g_get_monotonic_time () - d->start_us) / G_USEC_PER_SEC;
}

static void
config_copy (NervedConfig *dst, const NervedConfig *src)
{
  *dst = *src;
  dst->listen = g_strdup (src->listen ? src->listen : "127.0.0.1:8780");
  dst->template_dirs = g_strdupv (src->template_dirs);
  dst->data_roots = g_strdupv (src->data_roots);
  dst->token_file = g_strdup (src->token_file);
  dst->spool_dir = g_strdup (src->spool_dir);
  if (!dst->max_pipelines)
    dst->max_pipelines = 64;
  if (!dst->max_sse_clients)
    dst->max_sse_clients = 256;
  if (!dst->max_jobs)
    dst->max_jobs = 4;
  if (!dst->max_body_bytes)
    dst->max_body_bytes = 1 << 20;
  if (!dst->max_upload_bytes)
    dst->max_upload_bytes = (gsize) 256 << 20;
  if (!dst->max_header_bytes)
    dst->max_header_bytes = 16 << 10;
  if (!dst->event_buffer)
    dst->event_buffer = 1024;
  if (!dst->stop_timeout_ms)
    dst->stop_timeout_ms = 5000;
  if (!dst->drain_timeout_ms)
    dst->drain_timeout_ms = 10000;
  if (!dst->job_timeout_s)
    dst->job_timeout_s = 600;
  if (!dst->job_max_results)
    dst->job_max_results = 100000;
}

/* "host:port", "[v6]:port" or ":port"; the host must be an IP address or "localhost". */
static gboolean
parse_listen (const char *listen, char **host, guint *port, GError **error)
{
  const char *colon = strrchr (listen, ':');
  g_autofree char *h = NULL;
  if (!colon) {
    g_set_error (error, NERVED_ERROR, NERVED_ERROR_CONFIG,
        "listen '%s': expected HOST:PORT, e.g. 127.0.0.1:8780", listen);
    return FALSE;
  }
  h = g_strndup (listen, colon - listen);
  if (h[0] == '[' && h[strlen (h) - 1] == ']') {
    char *inner = g_strndup (h + 1, strlen (h) - 2);
    g_free (h);
    h = inner;
  }
  if (!*h) {
    g_free (h);
    h = g_strdup ("127.0.0.1");
  }
  guint64 p;
  if (!g_ascii_string_to_unsigned (colon + 1, 10, 0, 65535, &p, NULL)) {
    g_set_error (error, NERVED_ERROR, NERVED_ERROR_CONFIG,
        "listen '%s': the port must be a number from 0 to 65535", listen);
    return FALSE;
  }
  if (!strcmp (h, "localhost")) {
    g_free (h);
    h = g_strdup ("127.0.0.1");
  }
  g_autoptr (GInetAddress) a = g_inet_address_new_from_string (h);
  if (!a) {
    g_set_error (error, NERVED_ERROR, NERVED_ERROR_CONFIG,
        "listen '%s': '%s' is not an IP address (use e.g. 127.0.0.1 or 0.0.0.0)", listen, h);
    return FALSE;
  }
  *host = g_steal_pointer (&h);
  *port = (guint) p;
  return TRUE;
}

static gboolean
check_config (NervedDaemon *d, GError **error)
{
  if (!parse_listen (d->cfg.listen, &d->host, &d->port, error))
    return FALSE;
  g_autoptr (GInetAddress) a = g_inet_address_new_from_string (d->host);
  if (!g_inet_address_get_is_loopback (a) && !d->cfg.token_file) {
    g_set_error (error, NERVED_ERROR, NERVED_ERROR_CONFIG,
        "listen %s is not a loopback address: authentication is required there, set "
        "token-file (--token-file FILE, mode 0600) or listen on 127.0.0.1", d->cfg.listen);
    return FALSE;
  }
  if (d->cfg.token_file && !(d->tokens = nerved_tokens_load (d->cfg.token_file, error)))
    return FALSE;
  if (!d->cfg.template_dirs || !d->cfg.template_dirs[0]) {
    g_set_error (error, NERVED_ERROR, NERVED_ERROR_CONFIG,
        "no templates directory: set templates (--templates DIR)");
    return FALSE;
  }
  for (char **r = d->cfg.data_roots; r && *r; r++)
    if (!g_file_test (*r, G_FILE_TEST_IS_DIR)) {
      g_set_error (error, NERVED_ERROR, NERVED_ERROR_CONFIG,
          "data root '%s' is not a directory", *r);
      return FALSE;
    }
  return TRUE;
}

NervedDaemon *
nerved_daemon_new (const NervedConfig *c, GError **error)
{
  NervedDaemon *d = g_new0 (NervedDaemon, 1);
  config_copy (&d->cfg, c);
  d->start_us = g_get_monotonic_time ();
  d->pipelines = g_hash_table_new (g_str_hash, g_str_equal);
  d->order = g_ptr_array_new ();
  d->events = nerved_event_log_new (d->cfg.event_buffer);
  d->next_id = 1;
  if (!check_config (d, error))
    goto fail;
  d->templates = nerved_templates_load_dirs ((const char *const *) d->cfg.template_dirs, error);
  if (!d->templates) {
    if (error && *error)
      (*error)->code = NERVED_ERROR_CONFIG;
    goto fail;
  }
  d->sse = nerved_sse_new (d);
  if (!(d->jobs = nerved_jobs_new (d, error)))
    goto fail;
  if (!nerved_http_setup (d, error))
    goto fail;
  char n[16];
  g_snprintf (n, sizeof n, "%u", g_hash_table_size (d->templates));
  char port[16];
  g_snprintf (port, sizeof port, "%u", d->port);
  nerved_log (G_LOG_LEVEL_INFO, "nerved started", "host", d->host, "port", port, "templates", n,
      "auth", d->tokens ? "bearer" : "off", NULL);
  return d;
fail:
  nerved_daemon_free (d);
  return NULL;
}

static void
stop_wait_free (NervedStopWait *w)
{
  g_free (w->id);
  g_free (w);
}

void
nerved_daemon_free (NervedDaemon *d)
{
  if (!d)
    return;
  d->drain_done = NULL;
  if (d->drain_timer)
    g_source_remove (d->drain_timer);
  if (d->jobs)
    nerved_jobs_free (d->jobs);
  /* pipelines before the SSE clients that may follow them */
  while (d->order->len)
    nerved_daemon_delete (d, g_ptr_array_index (d->order, d->order->len - 1));
  for (GList *l = d->stop_waits; l; l = l->next) {
    NervedStopWait *w = l->data;
    if (w->held)
      nerved_held_release (w->held);
    stop_wait_free (w);
  }
  g_list_free (d->stop_waits);
  nerved_http_close (d);
  if (d->sse)
    nerved_sse_free (d->sse);
  if (d->templates)
    g_hash_table_unref (d->templates);
  nerved_tokens_free (d->tokens);
  g_hash_table_unref (d->pipelines);
  g_ptr_array_unref (d->order);
  nerved_event_log_free (d->events);
  g_free (d->host);
  g_free (d->cfg.listen);
  g_strfreev (d->cfg.template_dirs);
  g_strfreev (d->cfg.data_roots);
  g_free (d->cfg.token_file);
  g_free (d->cfg.spool_dir);
  g_free (d);
}

guint
nerved_daemon_port (NervedDaemon *d)
{
  return d->port;
}

gboolean
nerved_daemon_reload (NervedDaemon *d, GError **error)
{
  GHashTable *t = nerved_templates_load_dirs ((const char *const *) d->cfg.template_dirs, error);
  if (!t) {
    nerved_log (G_LOG_LEVEL_WARNING, "template reload failed, keeping the old ones",
        "error", error && *error ? (*error)->message : NULL, NULL);
    return FALSE;
  }
  /* running pipelines keep their rendered launch lines: nothing of theirs points in here */
  g_hash_table_unref (d->templates);
  d->templates = t;
  char n[16];
  g_snprintf (n, sizeof n, "%u", g_hash_table_size (t));
  nerved_log (G_LOG_LEVEL_INFO, "templates reloaded", "templates", n, NULL);
  return TRUE;
}

NervedPipeline *
nerved_daemon_find (NervedDaemon *d, const char *id)
{
  return g_hash_table_lookup (d->pipelines, id);
}

static char *
new_id (NervedDaemon *d)
{
  for (;;) {
    char *id = g_strdup_printf ("p%u", d->next_id++);
    if (!g_hash_table_contains (d->pipelines, id))
      return id;
    g_free (id);
  }
}

NervedPipeline *
nerved_daemon_create (NervedDaemon *d, const NervedCreateRequest *req, GError **error)
{
  if (g_hash_table_size (d->pipelines) >= d->cfg.max_pipelines) {
    g_set_error (error, NERVED_ERROR, NERVED_ERROR_LIMIT,
        "too many pipelines: the limit is %u (max-pipelines); delete some first", d->cfg.max_pipelines);
    return NULL;
  }
  if (req->id && !nerved_id_valid (req->id)) {
    g_set_error (error, NERVED_ERROR, NERVED_ERROR_BAD_REQUEST,
        "id: must be 1 to 64 characters from A-Z a-z 0-9 _ -");
    return NULL;
  }
  if (req->id && g_hash_table_contains (d->pipelines, req->id)) {
    g_set_error (error, NERVED_ERROR, NERVED_ERROR_CONFLICT, "pipeline '%s' already exists", req->id);
    return NULL;
  }
  NervedPipelineOptions opt;
  nerved_pipeline_options_init (&opt);
  if (d->cfg.backoff_initial_ms)
    opt.backoff_initial_ms = d->cfg.backoff_initial_ms;
  if (d->cfg.backoff_max_ms)
    opt.backoff_max_ms = d->cfg.backoff_max_ms;
  if (d->cfg.max_restarts)
    opt.max_restarts = d->cfg.max_restarts;
  opt.stop_timeout_ms = d->cfg.stop_timeout_ms;
  opt.event_capacity = d->cfg.event_buffer;

  g_autofree char *launch = NULL;
  g_autoptr (JsonObject) effective = NULL;
  const char *tname = NULL;
  if (req->launch) {
    if (!d->cfg.allow_launch) {
      g_set_error (error, NERVED_ERROR, NERVED_ERROR_FORBIDDEN,
          "launch lines are not allowed by this daemon: use a template, or start nerved with "
          "--allow-launch (allow-launch = true in the config)");
      return NULL;
    }
    launch = g_strdup (req->launch);
    effective = json_object_new ();
    opt.restart = NERVED_RESTART_NEVER;
  } else {
    const NervedTemplate *t = g_hash_table_lookup (d->templates, req->template_name);
    if (!t) {
      g_set_error (error, NERVED_ERROR, NERVED_ERROR_NOT_FOUND, "template '%s' not found", req->template_name);
      return NULL;
    }
    if (t->missing) {
      g_autofree char *m = g_strjoinv (", ", t->missing);
      g_set_error (error, NERVED_ERROR, NERVED_ERROR_UNPROCESSABLE,
          "template '%s' needs GStreamer elements that are not installed: %s", t->name, m);
      return NULL;
    }
    launch = nerved_template_render (t, req->params, (const char *const *) d->cfg.data_roots, NULL,
        &effective, error);
    if (!launch)
      return NULL;
    tname = t->name;
    opt.restart = t->restart;
    opt.messages = t->messages;
  }
  if (req->has_restart)
    opt.restart = req->restart;
  g_autofree char *id = req->id ? g_strdup (req->id) : new_id (d);
  NervedPipeline *p = nerved_pipeline_new (id, tname, effective, launch, &opt, d->events, error);
  if (!p)
    return NULL;
  g_hash_table_insert (d->pipelines, (gpointer) nerved_pipeline_id (p), p);
  g_ptr_array_add (d->order, p);
  nerved_log (G_LOG_LEVEL_INFO, "pipeline created", "id", id, "template", tname ? tname : "(launch)",
      "restart", nerved_restart_policy_name (opt.restart), NULL);
  if (req->start && !nerved_pipeline_start (p, error)) {
    nerved_daemon_delete (d, p);
    return NULL;
  }
  return p;
}

void
nerved_daemon_delete (NervedDaemon *d, NervedPipeline *p)
{
  g_autofree char *id = g_strdup (nerved_pipeline_id (p));
  for (GList *l = d->stop_waits; l; l = l->next) {
    NervedStopWait *w = l->data;
    if (w->answered || strcmp (w->id, id) != 0)
      continue;
    w->answered = TRUE;
    if (nerved_held_msg (w->held))
      nerved_http_error_literal (nerved_held_msg (w->held), 404, "not_found", "the pipeline was deleted while stopping");
    nerved_held_release (w->held);
    w->held = NULL;
  }
  d->metrics.pipeline_restarts_gone += nerved_pipeline_restarts (p);
  d->metrics.pipeline_errors_gone += nerved_pipeline_errors (p);
  g_hash_table_remove (d->pipelines, id);
  g_ptr_array_remove (d->order, p);
  nerved_pipeline_free (p);
  nerved_sse_pipeline_gone (d->sse, id);
  nerved_log (G_LOG_LEVEL_INFO, "pipeline deleted", "id", id, NULL);
}

static void
stop_done (NervedPipeline *p, gpointer user_data)
{
  NervedStopWait *w = user_data;
  NervedDaemon *d = w->d;
  if (!w->answered) {
    w->answered = TRUE;
    SoupServerMessage *msg = w->in_call ? w->msg : nerved_held_msg (w->held);
    if (msg)
      nerved_http_object (msg, 200, nerved_pipeline_status (p));
  }
  if (w->in_call)
    return;   /* the caller frees it */
  if (w->held)
    nerved_held_release (w->held);
  d->stop_waits = g_list_remove (d->stop_waits, w);
  stop_wait_free (w);
}

void
nerved_daemon_stop_request (NervedDaemon *d, NervedPipeline *p, SoupServerMessage *msg)
{
  NervedStopWait *w = g_new0 (NervedStopWait, 1);
  w->d = d;
  w->msg = msg;
  w->id = g_strdup (nerved_pipeline_id (p));
  w->in_call = TRUE;
  nerved_log (G_LOG_LEVEL_INFO, "pipeline stopping", "id", w->id, NULL);
  nerved_pipeline_stop (p, stop_done, w);
  w->in_call = FALSE;
  if (w->answered) {   /* was idle: answered at once */
    stop_wait_free (w);
    return;
  }
  w->msg = NULL;
  w->held = nerved_held_new (msg);
  d->stop_waits = g_list_prepend (d->stop_waits, w);
}

/* ---- drain ---- */

static void
drain_finish (NervedDaemon *d)
{
  if (d->drain_timer) {
    g_source_remove (d->drain_timer);
    d->drain_timer = 0;
  }
  nerved_sse_close_all (d->sse);
  GSourceFunc done = d->drain_done;
  d->drain_done = NULL;
  nerved_log (G_LOG_LEVEL_INFO, "drained", NULL);
  if (done)
    done (d->drain_data);
}

static gboolean
drain_finish_idle (gpointer data)
{
  drain_finish (data);
  return G_SOURCE_REMOVE;
}

static void
drain_one (NervedPipeline *p, gpointer user_data)
{
  NervedDaemon *d = user_data;
  if (d->drain_pending && --d->drain_pending == 0 && d->drain_done)
    g_idle_add (drain_finish_idle, d);
}

static gboolean
drain_timeout (gpointer data)
{
  NervedDaemon *d = data;
  d->drain_timer = 0;
  char n[16];
  g_snprintf (n, sizeof n, "%u", d->drain_pending);
  nerved_log (G_LOG_LEVEL_WARNING, "drain timeout: pipelines still stopping", "pending", n, NULL);
  d->drain_pending = 0;
  drain_finish (d);
  return G_SOURCE_REMOVE;
}

void
nerved_daemon_drain (NervedDaemon *d, GSourceFunc done, gpointer user_data)
{
  if (d->draining)
    return;
  d->draining = TRUE;
  d->drain_done = done;
  d->drain_data = user_data;
  char n[16];
  g_snprintf (n, sizeof n, "%u", d->order->len);
  nerved_log (G_LOG_LEVEL_INFO, "draining", "pipelines", n, NULL);
  nerved_jobs_cancel_all (d->jobs, "the daemon is shutting down");
  d->drain_pending = 1;   /* held until every stop is issued */
  g_autoptr (GPtrArray) all = g_ptr_array_copy (d->order, NULL, NULL);
  for (guint i = 0; i < all->len; i++) {
    d->drain_pending++;
    nerved_pipeline_stop (g_ptr_array_index (all, i), drain_one, d);
  }
  d->drain_timer = g_timeout_add (d->cfg.drain_timeout_ms, drain_timeout, d);
  drain_one (NULL, d);
}

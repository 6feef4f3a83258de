/* Test harness for the nerved daemon (see nerved-harness.h). */
#include "nerved-harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib-unix.h>
#include <glib/gstdio.h>

const char *
nerved_harness_bin (void)
{
  const char *b = g_getenv ("NERVED_BIN");
  return b && *b ? b : "nerved";
}

SoupSession *
nerved_session_new (guint max_conns)
{
  return soup_session_new_with_options ("max-conns", max_conns, "max-conns-per-host", max_conns, "timeout", 120,
      NULL);
}

static char **
make_argv (const char *const *args, gboolean add_listen)
{
  GPtrArray *a = g_ptr_array_new ();
  g_ptr_array_add (a, g_strdup (nerved_harness_bin ()));
  gboolean has_listen = FALSE;
  for (const char *const *s = args; s && *s; s++) {
    if (!strcmp (*s, "--listen") || g_str_has_prefix (*s, "--listen="))
      has_listen = TRUE;
    g_ptr_array_add (a, g_strdup (*s));
  }
  if (add_listen && !has_listen) {
    g_ptr_array_add (a, g_strdup ("--listen"));
    g_ptr_array_add (a, g_strdup ("127.0.0.1:0"));
  }
  g_ptr_array_add (a, NULL);
  return (char **) g_ptr_array_free (a, FALSE);
}

/* Waits for pid up to timeout_ms; the wait status or -1. */
static int
wait_pid (GPid pid, guint timeout_ms)
{
  const gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  for (;;) {
    int status;
    pid_t r = waitpid (pid, &status, WNOHANG);
    if (r == pid)
      return status;
    if (r < 0 && errno != EINTR)
      return -1;
    if (g_get_monotonic_time () > deadline)
      return -1;
    g_usleep (5000);
  }
}

static char *
read_file_or_empty (const char *path)
{
  char *s = NULL;
  if (!path || !g_file_get_contents (path, &s, NULL, NULL))
    return g_strdup ("");
  return s;
}

NervedProc *
nerved_proc_start (const char *const *args, guint timeout_ms, GError **error)
{
  g_auto (GStrv) argv = make_argv (args, TRUE);
  NervedProc *p = g_new0 (NervedProc, 1);
  p->stdout_fd = -1;
  int logfd = g_file_open_tmp ("nerved-test-XXXXXX.log", &p->log_path, error);
  if (logfd < 0) {
    nerved_proc_free (p);
    return NULL;
  }
  int out[2];
  if (!g_unix_open_pipe (out, FD_CLOEXEC, error)) {
    close (logfd);
    nerved_proc_free (p);
    return NULL;
  }
  gboolean ok = g_spawn_async_with_fds (NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &p->pid, -1,
      out[1], logfd, error);
  close (out[1]);
  close (logfd);
  p->stdout_fd = out[0];
  if (!ok) {
    p->pid = 0;
    nerved_proc_free (p);
    return NULL;
  }
  /* the first stdout line: "nerved: listening on http://HOST:PORT" */
  GString *line = g_string_new (NULL);
  const gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gboolean got = FALSE;
  while (!got) {
    const gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
    if (left <= 0)
      break;
    struct pollfd pfd = { p->stdout_fd, POLLIN, 0 };
    if (poll (&pfd, 1, (int) left) <= 0)
      continue;
    char c;
    ssize_t n = read (p->stdout_fd, &c, 1);
    if (n <= 0)
      break;   /* exited */
    if (c == '\n')
      got = TRUE;
    else
      g_string_append_c (line, c);
  }
  const char *prefix = "nerved: listening on ";
  const char *colon = got && g_str_has_prefix (line->str, prefix) ? strrchr (line->str, ':') : NULL;
  if (!colon) {
    g_autofree char *log = read_file_or_empty (p->log_path);
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "nerved did not start (stdout '%s'):\n%s", line->str, log);
    g_string_free (line, TRUE);
    nerved_proc_free (p);
    return NULL;
  }
  p->port = (guint) g_ascii_strtoull (colon + 1, NULL, 10);
  p->url = g_strdup (line->str + strlen (prefix));
  g_string_free (line, TRUE);
  p->session = nerved_session_new (256);
  return p;
}

int
nerved_proc_stop (NervedProc *p, int sig, guint timeout_ms)
{
  if (p->exited)
    return p->exit_status;
  kill (p->pid, sig);
  int st = wait_pid (p->pid, timeout_ms);
  if (st == -1) {
    kill (p->pid, SIGKILL);
    wait_pid (p->pid, 5000);
  }
  p->exited = TRUE;
  p->exit_status = st;
  return st;
}

char *
nerved_proc_log (NervedProc *p)
{
  return read_file_or_empty (p->log_path);
}

void
nerved_proc_free (NervedProc *p)
{
  if (!p)
    return;
  if (p->pid && !p->exited)
    nerved_proc_stop (p, SIGKILL, 5000);
  if (p->pid)
    g_spawn_close_pid (p->pid);
  if (p->log_path) {
    if (g_getenv ("NERVED_TEST_SHOW_LOG")) {
      g_autofree char *log = nerved_proc_log (p);
      fprintf (stderr, "---- nerved log ----\n%s---- end ----\n", log);
    }
    g_unlink (p->log_path);
  }
  if (p->stdout_fd >= 0)
    close (p->stdout_fd);
  g_clear_object (&p->session);
  g_free (p->log_path);
  g_free (p->url);
  g_free (p->token);
  g_free (p);
}

int
nerved_run_expect_exit (const char *const *args, guint timeout_ms, char **err_out)
{
  g_auto (GStrv) argv = make_argv (args, FALSE);
  g_autofree char *log_path = NULL;
  int logfd = g_file_open_tmp ("nerved-test-XXXXXX.log", &log_path, NULL);
  if (logfd < 0)
    return -1;
  GPid pid = 0;
  const int devnull = open ("/dev/null", O_WRONLY | O_CLOEXEC);
  gboolean ok = g_spawn_async_with_fds (NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, -1,
      devnull, logfd, NULL);
  close (logfd);
  close (devnull);
  int st = -1;
  if (ok) {
    st = wait_pid (pid, timeout_ms);
    if (st == -1) {
      kill (pid, SIGKILL);
      wait_pid (pid, 5000);
    }
    g_spawn_close_pid (pid);
  }
  if (err_out)
    *err_out = read_file_or_empty (log_path);
  g_unlink (log_path);
  return st;
}

/* ---- requests ---- */

static void
add_headers (SoupMessage *m, NervedProc *p, const char *const *extra)
{
  SoupMessageHeaders *h = soup_message_get_request_headers (m);
  if (p->token) {
    g_autofree char *v = g_strdup_printf ("Bearer %s", p->token);
    soup_message_headers_replace (h, "Authorization", v);
  }
  for (const char *const *e = extra; e && e[0] && e[1]; e += 2)
    soup_message_headers_replace (h, e[0], e[1]);
}

NervedReply *
nerved_request (NervedProc *p, const char *method, const char *path, const char *content_type, const void *body,
    gsize len, const char *const *extra_headers)
{
  NervedReply *r = g_new0 (NervedReply, 1);
  g_autofree char *url = g_strconcat (p->url, path, NULL);
  g_autoptr (SoupMessage) m = soup_message_new (method, url);
  if (!m) {
    r->text = g_strdup_printf ("bad URL %s", url);
    return r;
  }
  add_headers (m, p, extra_headers);
  if (body) {
    g_autoptr (GBytes) b = g_bytes_new (body, len);
    soup_message_set_request_body_from_bytes (m, content_type ? content_type : "application/octet-stream", b);
  }
  g_autoptr (GError) err = NULL;
  g_autoptr (GBytes) out = soup_session_send_and_read (p->session, m, NULL, &err);
  if (!out) {
    r->text = g_strdup (err->message);
    return r;
  }
  r->status = soup_message_get_status (m);
  r->headers = soup_message_headers_ref (soup_message_get_response_headers (m));
  const void *data = g_bytes_get_data (out, &r->len);
  r->text = g_malloc (r->len + 1);   /* binary bodies (job outputs) keep their NULs */
  if (r->len)
    memcpy (r->text, data, r->len);
  r->text[r->len] = 0;
  const char *ct = soup_message_headers_get_content_type (r->headers, NULL);
  if (ct && !strcmp (ct, "application/json")) {
    g_autoptr (JsonParser) parser = json_parser_new ();
    if (json_parser_load_from_data (parser, r->text, (gssize) r->len, NULL) && json_parser_get_root (parser))
      r->json = json_node_copy (json_parser_get_root (parser));
  }
  return r;
}

NervedReply *
nerved_request_json (NervedProc *p, const char *method, const char *path, const char *json)
{
  return nerved_request (p, method, path, "application/json", json, json ? strlen (json) : 0, NULL);
}

void
nerved_reply_free (NervedReply *r)
{
  if (!r)
    return;
  if (r->json)
    json_node_unref (r->json);
  if (r->headers)
    soup_message_headers_unref (r->headers);
  g_free (r->text);
  g_free (r);
}

JsonObject *
nerved_reply_object (NervedReply *r)
{
  return r && r->json && JSON_NODE_HOLDS_OBJECT (r->json) ? json_node_get_object (r->json) : NULL;
}

const char *
nerved_reply_string (NervedReply *r, const char *member)
{
  JsonObject *o = nerved_reply_object (r);
  JsonNode *n = o ? json_object_get_member (o, member) : NULL;
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING ? json_node_get_string (n)
                                                                                         : NULL;
}

gint64
nerved_reply_int (NervedReply *r, const char *member, gint64 def)
{
  JsonObject *o = nerved_reply_object (r);
  JsonNode *n = o ? json_object_get_member (o, member) : NULL;
  return n && JSON_NODE_HOLDS_VALUE (n) ? json_node_get_int (n) : def;
}

static const char *
error_member (NervedReply *r, const char *member)
{
  JsonObject *o = nerved_reply_object (r);
  JsonNode *e = o ? json_object_get_member (o, "error") : NULL;
  if (!e || !JSON_NODE_HOLDS_OBJECT (e))
    return NULL;
  JsonNode *n = json_object_get_member (json_node_get_object (e), member);
  return n && JSON_NODE_HOLDS_VALUE (n) ? json_node_get_string (n) : NULL;
}

const char *
nerved_reply_error_code (NervedReply *r)
{
  return error_member (r, "code");
}

const char *
nerved_reply_error_message (NervedReply *r)
{
  return error_member (r, "message");
}

gboolean
nerved_wait_field (NervedProc *p, const char *path, const char *member, const char *value, guint timeout_ms)
{
  const gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  for (;;) {
    g_autoptr (NervedReply) r = nerved_request (p, "GET", path, NULL, NULL, 0, NULL);
    const char *v = nerved_reply_string (r, member);
    if (v && !strcmp (v, value))
      return TRUE;
    if (g_get_monotonic_time () > deadline)
      return FALSE;
    g_usleep (20000);
  }
}

char *
nerved_write_token_file (const char *dir, const char *token, int mode)
{
  char *path = g_build_filename (dir, mode == 0600 ? "tokens" : "tokens-open", NULL);
  g_autofree char *text = g_strdup_printf ("# test tokens\n%s\n", token);
  g_file_set_contents (path, text, -1, NULL);
  g_chmod (path, mode);
  return path;
}

/* ---- event streams ---- */

struct NervedSseReader {
  SoupMessage *msg;
  GInputStream *in;
  GString *buf;
  GCancellable *cancel;
  gboolean ended;
};

void
nerved_sse_event_free (NervedSseEvent *e)
{
  if (!e)
    return;
  g_free (e->event);
  g_free (e->data);
  g_free (e);
}

NervedSseReader *
nerved_sse_open (NervedProc *p, const char *path, const char *last_event_id, guint *status, char **body)
{
  g_autofree char *url = g_strconcat (p->url, path, NULL);
  SoupMessage *m = soup_message_new ("GET", url);
  const char *extra[] = { "Last-Event-ID", last_event_id, NULL };
  add_headers (m, p, last_event_id ? extra : NULL);
  GInputStream *in = soup_session_send (p->session, m, NULL, NULL);
  *status = in ? soup_message_get_status (m) : 0;
  if (!in || *status != 200) {
    if (body) {
      GString *s = g_string_new (NULL);
      char b[4096];
      gssize n;
      while (in && (n = g_input_stream_read (in, b, sizeof b, NULL, NULL)) > 0)
        g_string_append_len (s, b, n);
      *body = g_string_free (s, FALSE);
    }
    g_clear_object (&in);
    g_object_unref (m);
    return NULL;
  }
  NervedSseReader *r = g_new0 (NervedSseReader, 1);
  r->msg = m;
  r->in = in;
  r->buf = g_string_new (NULL);
  r->cancel = g_cancellable_new ();
  return r;
}

/* One complete event block from the buffer, or NULL. */
static NervedSseEvent *
take_event (NervedSseReader *r)
{
  for (;;) {
    char *end = strstr (r->buf->str, "\n\n");
    if (!end)
      return NULL;
    g_autofree char *block = g_strndup (r->buf->str, end - r->buf->str);
    g_string_erase (r->buf, 0, end - r->buf->str + 2);
    NervedSseEvent *e = g_new0 (NervedSseEvent, 1);
    GString *data = NULL;
    g_auto (GStrv) lines = g_strsplit (block, "\n", -1);
    for (char **l = lines; *l; l++) {
      if (g_str_has_prefix (*l, "id: ")) {
        e->has_id = TRUE;
        e->id = g_ascii_strtoull (*l + 4, NULL, 10);
      } else if (g_str_has_prefix (*l, "event: ")) {
        g_free (e->event);
        e->event = g_strdup (*l + 7);
      } else if (g_str_has_prefix (*l, "data: ")) {
        if (!data)
          data = g_string_new (*l + 6);
        else
          g_string_append_printf (data, "\n%s", *l + 6);
      }
    }
    if (!data && !e->event && !e->has_id) {   /* comments only */
      nerved_sse_event_free (e);
      continue;
    }
    if (!e->event)
      e->event = g_strdup ("message");
    e->data = data ? g_string_free (data, FALSE) : g_strdup ("");
    return e;
  }
}

typedef struct {
  gboolean done;
  gssize n;
} ReadOp;

static void
read_done (GObject *src, GAsyncResult *res, gpointer user_data)
{
  ReadOp *op = user_data;
  op->n = g_input_stream_read_finish (G_INPUT_STREAM (src), res, NULL);
  op->done = TRUE;
}

static gboolean
cancel_read (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

NervedSseEvent *
nerved_sse_next (NervedSseReader *r, guint timeout_ms)
{
  const gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  for (;;) {
    NervedSseEvent *e = take_event (r);
    if (e || r->ended)
      return e;
    const gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
    if (left <= 0)
      return NULL;
    char b[8192];
    ReadOp op = { FALSE, 0 };
    g_cancellable_reset (r->cancel);
    g_input_stream_read_async (r->in, b, sizeof b, G_PRIORITY_DEFAULT, r->cancel, read_done, &op);
    const guint timer = g_timeout_add ((guint) left, cancel_read, r->cancel);
    while (!op.done)
      g_main_context_iteration (NULL, TRUE);
    if (!g_cancellable_is_cancelled (r->cancel))
      g_source_remove (timer);
    if (op.n > 0)
      g_string_append_len (r->buf, b, op.n);
    else if (g_cancellable_is_cancelled (r->cancel))
      return NULL;
    else
      r->ended = TRUE;
  }
}

gboolean
nerved_sse_ended (NervedSseReader *r)
{
  return r->ended;
}

void
nerved_sse_close (NervedSseReader *r)
{
  if (!r)
    return;
  g_input_stream_close (r->in, NULL, NULL);
  g_object_unref (r->in);
  g_object_unref (r->msg);
  g_object_unref (r->cancel);
  g_string_free (r->buf, TRUE);
  g_free (r);
}

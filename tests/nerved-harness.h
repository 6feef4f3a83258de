/* Test harness for the nerved daemon: spawn the real binary on 127.0.0.1:0, talk to it over
 * real HTTP with libsoup, read its event streams, stop it with a signal and a deadline.
 * Used by the API suite, the load test and the docs test. No CUnit in here: callers assert. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct {
  GPid pid;
  guint port;
  char *url;            /* "http://127.0.0.1:PORT" */
  char *token;          /* sent as "Authorization: Bearer <token>" when set */
  char *log_path;       /* the daemon's stderr (logfmt) */
  int stdout_fd;
  SoupSession *session;
  int exit_status;      /* after nerved_daemon_stop: the wait status */
  gboolean exited;
} NervedProc;

/* NERVED_BIN (set by meson), else "nerved" on PATH. */
const char *nerved_harness_bin (void);

/* Starts nerved with args (NULL-terminated; "--listen 127.0.0.1:0" is added unless args has
 * --listen) and waits (up to timeout_ms) for its "listening on" line. NULL + error when it
 * exits or says nothing in time (its stderr is in the error message). */
NervedProc *nerved_proc_start (const char *const *args, guint timeout_ms, GError **error);
/* Sends sig and waits up to timeout_ms for the exit; returns the wait status (or -1 on
 * timeout, after which the process is killed). */
int nerved_proc_stop (NervedProc *p, int sig, guint timeout_ms);
/* Kills (if still running), reaps, frees. Prints the daemon's log when NERVED_TEST_SHOW_LOG
 * is set. */
void nerved_proc_free (NervedProc *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NervedProc, nerved_proc_free)
/* The daemon's stderr so far. */
char *nerved_proc_log (NervedProc *p);

/* Runs nerved expecting it to exit by itself within timeout_ms (e.g. a refused start):
 * returns the wait status (-1 on timeout) and its stderr in *err_out. */
int nerved_run_expect_exit (const char *const *args, guint timeout_ms, char **err_out);

/* A session with room for many parallel connections (event streams hold theirs). */
SoupSession *nerved_session_new (guint max_conns);

typedef struct {
  guint status;            /* 0: transport error (in text) */
  char *text;              /* the body */
  gsize len;
  JsonNode *json;          /* parsed body, NULL when not JSON */
  SoupMessageHeaders *headers;   /* response headers (ref) */
} NervedReply;

/* method path [body, content_type]; body may be NULL. extra_headers: "Name", "Value", ...,
 * NULL (may be NULL). */
NervedReply *nerved_request (NervedProc *p, const char *method, const char *path, const char *content_type,
    const void *body, gsize len, const char *const *extra_headers);
NervedReply *nerved_request_json (NervedProc *p, const char *method, const char *path, const char *json);
void nerved_reply_free (NervedReply *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NervedReply, nerved_reply_free)
JsonObject *nerved_reply_object (NervedReply *r);        /* NULL when not an object */
const char *nerved_reply_string (NervedReply *r, const char *member);   /* NULL when absent */
gint64 nerved_reply_int (NervedReply *r, const char *member, gint64 def);
/* "error"."code" of an error answer, or NULL */
const char *nerved_reply_error_code (NervedReply *r);
const char *nerved_reply_error_message (NervedReply *r);

/* Polls GET path every 20 ms until member (a string) equals value or timeout_ms passes. */
gboolean nerved_wait_field (NervedProc *p, const char *path, const char *member, const char *value, guint timeout_ms);

/* Server-Sent Events reader on a streaming response. */
typedef struct {
  gboolean has_id;
  guint64 id;
  char *event;             /* "message" when absent */
  char *data;              /* data lines joined with \n */
} NervedSseEvent;
void nerved_sse_event_free (NervedSseEvent *e);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NervedSseEvent, nerved_sse_event_free)

typedef struct NervedSseReader NervedSseReader;
/* GET path as an event stream; last_event_id may be NULL. *status gets the HTTP status; NULL
 * when it is not 200 (then *body, when not NULL, gets the answer). */
NervedSseReader *nerved_sse_open (NervedProc *p, const char *path, const char *last_event_id, guint *status,
    char **body);
/* The next event (comments skipped) or NULL when timeout_ms passes or the stream ends. */
NervedSseEvent *nerved_sse_next (NervedSseReader *r, guint timeout_ms);
gboolean nerved_sse_ended (NervedSseReader *r);
void nerved_sse_close (NervedSseReader *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NervedSseReader, nerved_sse_close)

/* Writes a token file with the given mode; returns its path. */
char *nerved_write_token_file (const char *dir, const char *token, int mode);

G_END_DECLS

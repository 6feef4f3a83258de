/* nerved: the daemon's own state, shared by its server modules (HTTP routing, SSE, jobs,
 * metrics, logs). Not a public API: only nerved-*.c include it. */
#pragma once

#include <libsoup/soup.h>
#include "nerved-daemon.h"
#include "nerved-events.h"
#include "nerved-pipeline.h"
#include "nerved-request.h"
#include "nerved-template.h"

G_BEGIN_DECLS

typedef struct NervedSse NervedSse;
typedef struct NervedJobs NervedJobs;

/* Request latency histogram bucket bounds (seconds) */
#define NERVED_LATENCY_BUCKETS 14

typedef struct {
  guint64 requests_by_code[600];     /* nerved_http_requests_total{code} */
  guint64 latency_buckets[NERVED_LATENCY_BUCKETS]; /* cumulative counts per upper bound */
  guint64 latency_count;
  double latency_sum;
  guint64 sse_events_sent;
  guint64 jobs_created, jobs_done, jobs_failed;
  guint64 pipeline_restarts_gone, pipeline_errors_gone;  /* of deleted pipelines */
} NervedMetrics;

struct NervedDaemon {
  NervedConfig cfg;                  /* deep copy */
  NervedTokens *tokens;              /* NULL: no auth */
  GHashTable *templates;             /* name -> NervedTemplate * */
  GHashTable *pipelines;             /* id -> NervedPipeline * */
  GPtrArray *order;                  /* NervedPipeline *, creation order (for listing) */
  NervedEventLog *events;            /* the daemon-wide stream */
  SoupServer *server;
  GSocketService *service;           /* accepts the connections (nerved-http.c says why) */
  GSocket *keepalive_peer;           /* the other end of the server's unreachable listener */
  char *host;                        /* listen host as configured */
  guint port;
  gint64 start_us;                   /* g_get_monotonic_time () at start */
  guint next_id;
  gboolean draining;
  GList *stop_waits;                 /* NervedStopWait *: POST .../stop requests in flight */
  NervedMetrics metrics;
  NervedSse *sse;
  NervedJobs *jobs;
  /* drain */
  guint drain_pending, drain_timer;
  GSourceFunc drain_done;
  gpointer drain_data;
};

/* nerved-daemon.c: the pipelines table */
NervedPipeline *nerved_daemon_find (NervedDaemon *d, const char *id);
NervedPipeline *nerved_daemon_create (NervedDaemon *d, const NervedCreateRequest *req, GError **error);
void nerved_daemon_delete (NervedDaemon *d, NervedPipeline *p);
/* POST .../stop: answers msg with the status when the pipeline is in NULL */
void nerved_daemon_stop_request (NervedDaemon *d, NervedPipeline *p, SoupServerMessage *msg);
double nerved_daemon_uptime (NervedDaemon *d);

/* nerved-http.c */
gboolean nerved_http_setup (NervedDaemon *d, GError **error);   /* server, handlers, listen */
void nerved_http_close (NervedDaemon *d);   /* stops listening, closes every connection */
void nerved_http_json (SoupServerMessage *msg, guint status, JsonNode *node);   /* takes node */
void nerved_http_object (SoupServerMessage *msg, guint status, JsonObject *obj); /* takes obj */
void nerved_http_error (SoupServerMessage *msg, const GError *error);
void nerved_http_error_literal (SoupServerMessage *msg, guint status, const char *code, const char *message);
/* An answer set in the early handler: the body that may follow is dropped unread and the
 * connection closed afterwards. */
void nerved_http_refuse (SoupServerMessage *msg, guint status, const char *code, const char *message);
/* 503 while draining */
void nerved_http_draining (SoupServerMessage *msg);
/* A long-lived answer (event stream): left out of the latency histogram. */
void nerved_http_mark_stream (SoupServerMessage *msg);
/* A message paused until its answer is ready; knows when the client has gone. */
typedef struct NervedHeld NervedHeld;
NervedHeld *nerved_held_new (SoupServerMessage *msg);
SoupServerMessage *nerved_held_msg (NervedHeld *h);   /* NULL once the client has gone */
void nerved_held_release (NervedHeld *h);             /* unpauses (answer set before); frees */
char *nerved_json_to_string (JsonNode *node);

/* nerved-sse.c */
NervedSse *nerved_sse_new (NervedDaemon *d);
void nerved_sse_free (NervedSse *s);
/* Starts an event stream on msg (a GET answered in the handler): log is the pipeline's
 * (pipeline_id set) or the daemon-wide one. */
void nerved_sse_serve (NervedSse *s, SoupServerMessage *msg, NervedEventLog *log, const char *pipeline_id,
    GHashTable *query);
/* The pipeline's log is gone: end its clients' streams. */
void nerved_sse_pipeline_gone (NervedSse *s, const char *pipeline_id);
void nerved_sse_close_all (NervedSse *s);    /* drain: end every stream */
guint nerved_sse_clients (NervedSse *s);

/* nerved-jobs.c */
NervedJobs *nerved_jobs_new (NervedDaemon *d, GError **error);  /* makes/cleans the spool dir */
void nerved_jobs_free (NervedJobs *j);
/* Early handler of POST /v1/jobs: checks the template, opens the spool file and streams the
 * body into it (the request body is not accumulated). FALSE: an error answer was set. */
gboolean nerved_jobs_upload_begin (NervedJobs *j, SoupServerMessage *msg, GHashTable *query);
/* Handler of POST /v1/jobs once the body is read. */
void nerved_jobs_submit (NervedJobs *j, SoupServerMessage *msg, GHashTable *query);
void nerved_jobs_get (NervedJobs *j, SoupServerMessage *msg, const char *id);
void nerved_jobs_list (NervedJobs *j, SoupServerMessage *msg);
void nerved_jobs_output (NervedJobs *j, SoupServerMessage *msg, const char *id);
void nerved_jobs_delete (NervedJobs *j, SoupServerMessage *msg, const char *id);
/* Drain: every running job fails with why (its pipeline goes to NULL at once). */
void nerved_jobs_cancel_all (NervedJobs *j, const char *why);
guint nerved_jobs_running (NervedJobs *j);

/* nerved-metrics.c */
void nerved_metrics_observe_request (NervedDaemon *d, guint status, double seconds);
char *nerved_metrics_render (NervedDaemon *d);    /* Prometheus text format 0.0.4 */

/* nerved-log.c: logfmt records on stderr. Pairs of key, value (const char *) ending with
 * NULL; a NULL value is left out. */
void nerved_log (GLogLevelFlags level, const char *msg, ...) G_GNUC_NULL_TERMINATED;
/* Routes g_log (g_warning, g_message ...) through the logfmt writer. */
void nerved_log_install (void);
/* ts=... for one record, e.g. "2026-11-27T07:40:00.123Z" */
char *nerved_log_timestamp (gint64 real_us);

G_END_DECLS

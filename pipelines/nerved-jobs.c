/* nerved: jobs. POST /v1/jobs?template=NAME streams the body into a spool file (never held
 * in memory), runs the job template with that file as its job-input (and a spool file as its
 * job-output) to EOS, and keeps the element messages it posted as the results. Finished
 * jobs are kept (bounded, oldest dropped with their files) for GET, output download and
 * DELETE. Each daemon spools into its own fresh directory inside spool-dir, removed at exit. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <gio/gunixoutputstream.h>

#include "nerved-daemon-private.h"

#define JOBS_KEEP 64   /* finished jobs kept for GET / output */

typedef enum { JOB_UPLOADING, JOB_RUNNING, JOB_DONE, JOB_FAILED } JobState;

typedef struct {
  NervedJobs *jobs;
  char *id, *template_name;
  JobState state;
  char *in_path, *out_path;     /* out_path NULL: the template has no job-output */
  GOutputStream *upload;        /* while uploading */
  gsize uploaded;
  NervedPipeline *p;
  guint sub, finish_idle;
  JobState outcome;             /* what finish_idle will set */
  JsonArray *results;
  JsonObject *error;            /* NULL or {"message", ...} */
  gint64 t_start, t_end;
  GList *waiters;               /* NervedHeld *: wait=1 requests */
} Job;

struct NervedJobs {
  NervedDaemon *d;
  char *dir;                    /* this daemon's spool directory */
  GHashTable *jobs;             /* id -> Job * (submitted ones) */
  GQueue finished;              /* Job *, oldest first */
  GList *uploads;               /* Job *: uploads in flight (owned by their messages) */
  guint active;                 /* uploading or running */
};

static GQuark
job_quark (void)
{
  static GQuark q;
  if (!q)
    q = g_quark_from_static_string ("nerved-job");
  return q;
}

static const char *
state_name (JobState s)
{
  return s == JOB_DONE ? "done" : s == JOB_FAILED ? "failed" : "running";
}

static void
job_free (Job *job)
{
  if (job->upload) {
    g_output_stream_close (job->upload, NULL, NULL);
    g_object_unref (job->upload);
  }
  if (job->in_path)
    g_unlink (job->in_path);
  if (job->out_path)
    g_unlink (job->out_path);
  g_free (job->in_path);
  g_free (job->out_path);
  g_free (job->id);
  g_free (job->template_name);
  if (job->results)
    json_array_unref (job->results);
  if (job->error)
    json_object_unref (job->error);
  g_free (job);
}

static JsonObject *
job_json (Job *job, gboolean results)
{
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "id", job->id);
  json_object_set_string_member (o, "template", job->template_name);
  json_object_set_string_member (o, "state", state_name (job->state));
  if (results)
    json_object_set_array_member (o, "results", json_array_ref (job->results));
  else
    json_object_set_int_member (o, "results", json_array_get_length (job->results));
  if (job->error)
    json_object_set_object_member (o, "error", json_object_ref (job->error));
  else
    json_object_set_null_member (o, "error");
  if (job->state == JOB_DONE && job->out_path) {
    g_autofree char *u = g_strdup_printf ("/v1/jobs/%s/output", job->id);
    json_object_set_string_member (o, "output", u);
  } else {
    json_object_set_null_member (o, "output");
  }
  const gint64 end = job->t_end ? job->t_end : g_get_monotonic_time ();
  json_object_set_double_member (o, "duration_s",
      job->t_start ? nerved_json_seconds ((double) (end - job->t_start) / G_USEC_PER_SEC) : 0.0);
  return o;
}

static void
job_set_error (Job *job, const char *message)
{
  if (job->error)
    return;
  job->error = json_object_new ();
  json_object_set_string_member (job->error, "message", message);
}

static void
answer_waiters (Job *job)
{
  for (GList *l = job->waiters; l; l = l->next) {
    SoupServerMessage *msg = nerved_held_msg (l->data);
    if (msg)
      nerved_http_object (msg, 200, job_json (job, TRUE));
    nerved_held_release (l->data);
  }
  g_list_free (job->waiters);
  job->waiters = NULL;
}

/* Stops the pipeline (NULL at once) and settles the job as done/failed. */
static void
job_settle (Job *job, JobState outcome)
{
  NervedJobs *j = job->jobs;
  if (job->finish_idle) {
    g_source_remove (job->finish_idle);
    job->finish_idle = 0;
  }
  if (job->p) {
    nerved_event_log_unsubscribe (nerved_pipeline_events (job->p), job->sub);
    nerved_pipeline_free (job->p);
    job->p = NULL;
  }
  if (job->state != JOB_RUNNING)
    return;
  job->state = outcome;
  job->t_end = g_get_monotonic_time ();
  j->active--;
  if (outcome == JOB_DONE)
    j->d->metrics.jobs_done++;
  else
    j->d->metrics.jobs_failed++;
  char ms[32], n[16];
  g_snprintf (ms, sizeof ms, "%.1f", (double) (job->t_end - job->t_start) / 1000.0);
  g_snprintf (n, sizeof n, "%u", json_array_get_length (job->results));
  nerved_log (outcome == JOB_DONE ? G_LOG_LEVEL_INFO : G_LOG_LEVEL_WARNING, "job finished", "id", job->id,
      "template", job->template_name, "state", state_name (outcome), "results", n, "ms", ms, NULL);
  answer_waiters (job);
  g_queue_push_tail (&j->finished, job);
  while (j->finished.length > JOBS_KEEP) {
    Job *old = g_queue_pop_head (&j->finished);
    g_hash_table_remove (j->jobs, old->id);
    job_free (old);
  }
}

static gboolean
finish_idle (gpointer data)
{
  Job *job = data;
  job->finish_idle = 0;
  job_settle (job, job->outcome);
  return G_SOURCE_REMOVE;
}

/* Events of the job's pipeline (main context, from its bus watch): never free it here. */
static void
job_event (NervedEvent *ev, gpointer user_data)
{
  Job *job = user_data;
  if (job->finish_idle)
    return;
  if (!strcmp (ev->type, "message")) {
    JsonNode *n = json_from_string (ev->data, NULL);
    if (n)
      json_array_add_element (job->results, n);
    return;
  }
  if (!strcmp (ev->type, "eos")) {
    job->outcome = JOB_DONE;
  } else if (!strcmp (ev->type, "error")) {
    g_autoptr (JsonNode) n = json_from_string (ev->data, NULL);
    if (n && JSON_NODE_HOLDS_OBJECT (n)) {
      JsonObject *src = json_node_get_object (n);
      job->error = json_object_new ();
      const char *keys[] = { "message", "debug", "source" };
      for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
        if (json_object_has_member (src, keys[i]))
          json_object_set_member (job->error, keys[i], json_node_copy (json_object_get_member (src, keys[i])));
    }
    job_set_error (job, "the pipeline failed");
    job->outcome = JOB_FAILED;
  } else if (!strcmp (ev->type, "stopped")) {
    job_set_error (job, "the pipeline stopped before the end of its input");
    job->outcome = JOB_FAILED;
  } else {
    return;
  }
  job->finish_idle = g_idle_add (finish_idle, job);
}

NervedJobs *
nerved_jobs_new (NervedDaemon *d, GError **error)
{
  g_autofree char *base = d->cfg.spool_dir ? g_strdup (d->cfg.spool_dir)
                                           : g_build_filename (g_get_user_runtime_dir (), "nerved", NULL);
  if (g_mkdir_with_parents (base, 0700) != 0) {
    g_set_error (error, NERVED_ERROR, NERVED_ERROR_CONFIG, "spool-dir '%s': cannot create it: %s", base,
        g_strerror (errno));
    return NULL;
  }
  g_autofree char *tmpl = g_build_filename (base, "run-XXXXXX", NULL);
  if (!g_mkdtemp_full (tmpl, 0700)) {
    g_set_error (error, NERVED_ERROR, NERVED_ERROR_CONFIG, "spool-dir '%s': cannot create a directory in it: %s",
        base, g_strerror (errno));
    return NULL;
  }
  NervedJobs *j = g_new0 (NervedJobs, 1);
  j->d = d;
  j->dir = g_steal_pointer (&tmpl);
  j->jobs = g_hash_table_new (g_str_hash, g_str_equal);
  g_queue_init (&j->finished);
  return j;
}

static void
job_cancel (Job *job, const char *why)
{
  job_set_error (job, why);
  job_settle (job, JOB_FAILED);
}

void
nerved_jobs_cancel_all (NervedJobs *j, const char *why)
{
  g_autoptr (GList) all = g_hash_table_get_values (j->jobs);
  for (GList *l = all; l; l = l->next)
    if (((Job *) l->data)->state == JOB_RUNNING)
      job_cancel (l->data, why);
}

void
nerved_jobs_free (NervedJobs *j)
{
  if (!j)
    return;
  nerved_jobs_cancel_all (j, "the daemon is shutting down");
  g_autoptr (GList) all = g_hash_table_get_values (j->jobs);
  for (GList *l = all; l; l = l->next)
    job_free (l->data);
  g_hash_table_unref (j->jobs);
  g_queue_clear (&j->finished);
  for (GList *l = j->uploads; l; l = l->next) {   /* their messages may outlive us */
    Job *job = l->data;
    job->jobs = NULL;
    if (job->upload) {
      g_output_stream_close (job->upload, NULL, NULL);
      g_clear_object (&job->upload);
    }
    g_unlink (job->in_path);
  }
  g_list_free (j->uploads);
  g_rmdir (j->dir);
  g_free (j->dir);
  g_free (j);
}

guint
nerved_jobs_running (NervedJobs *j)
{
  return j->active;
}

/* ---- upload ---- */

/* An upload the handler never took over (refused early, client gone): drop it. */
static void
upload_abandoned (gpointer data)
{
  Job *job = data;
  if (job->jobs) {
    job->jobs->active--;
    job->jobs->uploads = g_list_remove (job->jobs->uploads, job);
  }
  job_free (job);
}

static void
upload_chunk (SoupServerMessage *msg, GBytes *chunk, gpointer user_data)
{
  Job *job = g_object_get_qdata (G_OBJECT (msg), job_quark ());
  if (!job || !job->jobs || !job->upload || soup_server_message_get_status (msg) != 0)
    return;
  NervedJobs *j = job->jobs;
  gsize len;
  const void *data = g_bytes_get_data (chunk, &len);
  job->uploaded += len;
  if (job->uploaded > j->d->cfg.max_upload_bytes) {
    g_autofree char *m = g_strdup_printf ("upload over the limit of %" G_GSIZE_FORMAT " bytes",
        j->d->cfg.max_upload_bytes);
    nerved_http_refuse (msg, 413, "too_large", m);
    return;
  }
  g_autoptr (GError) err = NULL;
  if (!g_output_stream_write_all (job->upload, data, len, NULL, NULL, &err)) {
    g_autofree char *m = g_strdup_printf ("spool write failed: %s", err->message);
    nerved_http_refuse (msg, 500, "internal", m);
  }
}

gboolean
nerved_jobs_upload_begin (NervedJobs *j, SoupServerMessage *msg, GHashTable *query)
{
  NervedDaemon *d = j->d;
  const char *name = query ? g_hash_table_lookup (query, "template") : NULL;
  if (!name) {
    nerved_http_refuse (msg, 400, "bad_request", "template: missing (POST /v1/jobs?template=NAME)");
    return FALSE;
  }
  const NervedTemplate *t = g_hash_table_lookup (d->templates, name);
  g_autofree char *m = NULL;
  if (!t) {
    m = g_strdup_printf ("template '%s' not found", name);
    nerved_http_refuse (msg, 404, "not_found", m);
    return FALSE;
  }
  if (!t->job || !t->job_input) {
    m = g_strdup_printf ("template '%s' is not a job template (job = true); create a pipeline from it instead", name);
    nerved_http_refuse (msg, 422, "unprocessable", m);
    return FALSE;
  }
  if (t->missing) {
    g_autofree char *l = g_strjoinv (", ", t->missing);
    m = g_strdup_printf ("template '%s' needs GStreamer elements that are not installed: %s", name, l);
    nerved_http_refuse (msg, 422, "unprocessable", m);
    return FALSE;
  }
  if (j->active >= d->cfg.max_jobs) {
    m = g_strdup_printf ("too many jobs running (max-jobs = %u); try again later", d->cfg.max_jobs);
    nerved_http_refuse (msg, 429, "limit", m);
    return FALSE;
  }
  Job *job = g_new0 (Job, 1);
  job->jobs = j;
  job->id = g_uuid_string_random ();
  job->template_name = g_strdup (name);
  job->state = JOB_UPLOADING;
  job->results = json_array_new ();
  job->in_path = g_strdup_printf ("%s/%s.in", j->dir, job->id);
  if (t->job_output)
    job->out_path = g_strdup_printf ("%s/%s.out", j->dir, job->id);
  j->active++;
  j->uploads = g_list_prepend (j->uploads, job);
  g_object_set_qdata_full (G_OBJECT (msg), job_quark (), job, upload_abandoned);
  const int fd = g_open (job->in_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    m = g_strdup_printf ("cannot create the spool file: %s", g_strerror (errno));
    nerved_http_refuse (msg, 500, "internal", m);
    return FALSE;
  }
  job->upload = g_unix_output_stream_new (fd, TRUE);
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
  g_signal_connect (msg, "got-chunk", G_CALLBACK (upload_chunk), NULL);
  return TRUE;
}

static gboolean
query_true (GHashTable *query, const char *key)
{
  const char *v = query ? g_hash_table_lookup (query, key) : NULL;
  return v && (!strcmp (v, "1") || !strcmp (v, "true") || !strcmp (v, "yes"));
}

/* Renders and starts the job's pipeline; FALSE + error on failure. */
static gboolean
job_start (NervedJobs *j, Job *job, GHashTable *query, GError **error)
{
  NervedDaemon *d = j->d;
  const NervedTemplate *t = g_hash_table_lookup (d->templates, job->template_name);
  if (!t || !t->job) {   /* reloaded away during the upload */
    g_set_error (error, NERVED_ERROR, NERVED_ERROR_NOT_FOUND, "template '%s' not found", job->template_name);
    return FALSE;
  }
  static const char *const reserved[] = { "template", "wait", NULL };
  g_autoptr (JsonObject) params = nerved_query_to_params (query, reserved, error);
  if (!params)
    return FALSE;
  g_autoptr (GHashTable) trusted = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (trusted, t->job_input, job->in_path);
  if (t->job_output && job->out_path)
    g_hash_table_insert (trusted, t->job_output, job->out_path);
  g_autoptr (JsonObject) effective = NULL;
  g_autofree char *launch = nerved_template_render (t, params, (const char *const *) d->cfg.data_roots, trusted,
      &effective, error);
  if (!launch)
    return FALSE;
  NervedPipelineOptions opt;
  nerved_pipeline_options_init (&opt);
  opt.restart = NERVED_RESTART_NEVER;
  opt.stop_timeout_ms = d->cfg.stop_timeout_ms;
  opt.event_capacity = d->cfg.event_buffer;
  opt.messages = t->messages;
  job->p = nerved_pipeline_new (job->id, t->name, effective, launch, &opt, d->events, error);
  if (!job->p)
    return FALSE;
  job->sub = nerved_event_log_subscribe (nerved_pipeline_events (job->p), job_event, job);
  return nerved_pipeline_start (job->p, error);
}

void
nerved_jobs_submit (NervedJobs *j, SoupServerMessage *msg, GHashTable *query)
{
  Job *job = g_object_steal_qdata (G_OBJECT (msg), job_quark ());
  if (!job) {
    nerved_http_error_literal (msg, 500, "internal", "the upload was lost");
    return;
  }
  j->uploads = g_list_remove (j->uploads, job);
  if (j->d->draining) {
    nerved_http_draining (msg);
    upload_abandoned (job);
    return;
  }
  g_autoptr (GError) err = NULL;
  if (!g_output_stream_close (job->upload, NULL, &err)) {
    g_autofree char *m = g_strdup_printf ("spool write failed: %s", err->message);
    nerved_http_error_literal (msg, 500, "internal", m);
    upload_abandoned (job);
    return;
  }
  g_clear_object (&job->upload);
  job->state = JOB_RUNNING;
  job->t_start = g_get_monotonic_time ();
  if (!job_start (j, job, query, &err)) {
    nerved_http_error (msg, err);
    job->state = JOB_UPLOADING;   /* not counted as a job */
    if (job->p) {
      nerved_event_log_unsubscribe (nerved_pipeline_events (job->p), job->sub);
      nerved_pipeline_free (job->p);
    }
    upload_abandoned (job);
    return;
  }
  g_hash_table_insert (j->jobs, job->id, job);
  j->d->metrics.jobs_created++;
  char sz[32];
  g_snprintf (sz, sizeof sz, "%" G_GSIZE_FORMAT, job->uploaded);
  nerved_log (G_LOG_LEVEL_INFO, "job started", "id", job->id, "template", job->template_name, "bytes", sz, NULL);
  g_autofree char *loc = g_strdup_printf ("/v1/jobs/%s", job->id);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Location", loc);
  if (query_true (query, "wait"))
    job->waiters = g_list_append (job->waiters, nerved_held_new (msg));
  else
    nerved_http_object (msg, 202, job_json (job, TRUE));
}

static Job *
find_or_404 (NervedJobs *j, SoupServerMessage *msg, const char *id)
{
  Job *job = g_hash_table_lookup (j->jobs, id);
  if (!job) {
    g_autofree char *m = g_strdup_printf ("job '%s' not found", id);
    nerved_http_error_literal (msg, 404, "not_found", m);
  }
  return job;
}

void
nerved_jobs_get (NervedJobs *j, SoupServerMessage *msg, const char *id)
{
  Job *job = find_or_404 (j, msg, id);
  if (job)
    nerved_http_object (msg, 200, job_json (job, TRUE));
}

void
nerved_jobs_list (NervedJobs *j, SoupServerMessage *msg)
{
  JsonArray *a = json_array_new ();
  g_autoptr (GList) all = g_hash_table_get_values (j->jobs);
  for (GList *l = all; l; l = l->next)
    json_array_add_object_element (a, job_json (l->data, FALSE));
  JsonObject *o = json_object_new ();
  json_object_set_array_member (o, "jobs", a);
  nerved_http_object (msg, 200, o);
}

void
nerved_jobs_output (NervedJobs *j, SoupServerMessage *msg, const char *id)
{
  Job *job = find_or_404 (j, msg, id);
  if (!job)
    return;
  if (job->state == JOB_RUNNING) {
    nerved_http_error_literal (msg, 409, "conflict", "the job is still running");
    return;
  }
  g_autoptr (GError) err = NULL;
  g_autoptr (GMappedFile) f = NULL;
  if (job->state != JOB_DONE || !job->out_path || !(f = g_mapped_file_new (job->out_path, FALSE, &err))) {
    g_autofree char *m = g_strdup_printf ("job '%s' has no output%s", id,
        job->state != JOB_DONE ? " (it failed)" : !job->out_path ? " (its template writes none)" : "");
    nerved_http_error_literal (msg, 404, "not_found", m);
    return;
  }
  g_autoptr (GBytes) b = g_mapped_file_get_bytes (f);
  soup_server_message_set_status (msg, 200, NULL);
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
  soup_message_headers_set_content_type (h, "application/octet-stream", NULL);
  soup_message_body_append_bytes (soup_server_message_get_response_body (msg), b);
}

void
nerved_jobs_delete (NervedJobs *j, SoupServerMessage *msg, const char *id)
{
  Job *job = find_or_404 (j, msg, id);
  if (!job)
    return;
  if (job->state == JOB_RUNNING)
    job_cancel (job, "the job was deleted");
  g_queue_remove (&j->finished, job);
  g_hash_table_remove (j->jobs, job->id);
  nerved_log (G_LOG_LEVEL_INFO, "job deleted", "id", id, NULL);
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "deleted", id);
  nerved_http_object (msg, 200, o);
  job_free (job);
}

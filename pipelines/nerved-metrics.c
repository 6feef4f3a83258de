/* nerved: /metrics in the Prometheus text exposition format (version 0.0.4). Counters live
 * in NervedDaemon.metrics (one thread: plain integers); gauges are read when rendered. */
#include <string.h>

#include "nerved-daemon-private.h"

static const double bounds[NERVED_LATENCY_BUCKETS] = {
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

void
nerved_metrics_observe_request (NervedDaemon *d, guint status, double seconds)
{
  NervedMetrics *m = &d->metrics;
  if (status < G_N_ELEMENTS (m->requests_by_code))
    m->requests_by_code[status]++;
  if (seconds < 0)
    return;   /* streams and requests without a start time */
  m->latency_count++;
  m->latency_sum += seconds;
  for (int i = 0; i < NERVED_LATENCY_BUCKETS; i++)
    if (seconds <= bounds[i])
      m->latency_buckets[i]++;
}

static void
header (GString *s, const char *name, const char *type, const char *help)
{
  g_string_append_printf (s, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

char *
nerved_metrics_render (NervedDaemon *d)
{
  const NervedMetrics *m = &d->metrics;
  GString *s = g_string_sized_new (4096);
  static const NervedPipelineState states[] = {
    NERVED_PIPELINE_CREATED, NERVED_PIPELINE_PLAYING, NERVED_PIPELINE_PAUSED, NERVED_PIPELINE_STOPPING,
    NERVED_PIPELINE_STOPPED, NERVED_PIPELINE_FINISHED, NERVED_PIPELINE_FAILED, NERVED_PIPELINE_RESTARTING,
  };
  guint count[G_N_ELEMENTS (states)] = { 0 };
  guint64 restarts = m->pipeline_restarts_gone, errors = m->pipeline_errors_gone, events = 0;
  for (guint i = 0; i < d->order->len; i++) {
    NervedPipeline *p = g_ptr_array_index (d->order, i);
    const NervedPipelineState st = nerved_pipeline_get_state (p);
    if ((guint) st < G_N_ELEMENTS (count))
      count[st]++;
    restarts += nerved_pipeline_restarts (p);
    errors += nerved_pipeline_errors (p);
  }
  events = nerved_event_log_total (d->events);

  header (s, "nerved_pipelines", "gauge", "Pipelines by state.");
  for (guint i = 0; i < G_N_ELEMENTS (states); i++)
    g_string_append_printf (s, "nerved_pipelines{state=\"%s\"} %u\n", nerved_pipeline_state_name (states[i]),
        count[states[i]]);
  header (s, "nerved_pipeline_restarts_total", "counter", "Pipeline restarts after errors.");
  g_string_append_printf (s, "nerved_pipeline_restarts_total %" G_GUINT64_FORMAT "\n", restarts);
  header (s, "nerved_pipeline_errors_total", "counter", "Pipeline errors.");
  g_string_append_printf (s, "nerved_pipeline_errors_total %" G_GUINT64_FORMAT "\n", errors);
  header (s, "nerved_events_total", "counter", "Events on the daemon-wide stream.");
  g_string_append_printf (s, "nerved_events_total %" G_GUINT64_FORMAT "\n", events);
  header (s, "nerved_sse_events_sent_total", "counter", "Events written to event-stream clients.");
  g_string_append_printf (s, "nerved_sse_events_sent_total %" G_GUINT64_FORMAT "\n", m->sse_events_sent);
  header (s, "nerved_sse_clients", "gauge", "Connected event-stream clients.");
  g_string_append_printf (s, "nerved_sse_clients %u\n", nerved_sse_clients (d->sse));

  header (s, "nerved_http_requests_total", "counter", "HTTP requests by status code.");
  for (guint c = 0; c < G_N_ELEMENTS (m->requests_by_code); c++)
    if (m->requests_by_code[c])
      g_string_append_printf (s, "nerved_http_requests_total{code=\"%u\"} %" G_GUINT64_FORMAT "\n", c,
          m->requests_by_code[c]);
  header (s, "nerved_http_request_duration_seconds", "histogram",
      "HTTP request latency, headers read to answer written (event streams excluded).");
  for (int i = 0; i < NERVED_LATENCY_BUCKETS; i++) {
    char b[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd (b, sizeof b, "%g", bounds[i]);
    g_string_append_printf (s, "nerved_http_request_duration_seconds_bucket{le=\"%s\"} %" G_GUINT64_FORMAT "\n", b,
        m->latency_buckets[i]);
  }
  char sum[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_formatd (sum, sizeof sum, "%.6f", m->latency_sum);
  g_string_append_printf (s,
      "nerved_http_request_duration_seconds_bucket{le=\"+Inf\"} %" G_GUINT64_FORMAT "\n"
      "nerved_http_request_duration_seconds_sum %s\n"
      "nerved_http_request_duration_seconds_count %" G_GUINT64_FORMAT "\n",
      m->latency_count, sum, m->latency_count);

  header (s, "nerved_jobs_total", "counter", "Jobs by state: created, done, failed.");
  g_string_append_printf (s, "nerved_jobs_total{state=\"created\"} %" G_GUINT64_FORMAT "\n", m->jobs_created);
  g_string_append_printf (s, "nerved_jobs_total{state=\"done\"} %" G_GUINT64_FORMAT "\n", m->jobs_done);
  g_string_append_printf (s, "nerved_jobs_total{state=\"failed\"} %" G_GUINT64_FORMAT "\n", m->jobs_failed);
  header (s, "nerved_jobs_running", "gauge", "Jobs running now.");
  g_string_append_printf (s, "nerved_jobs_running %u\n", nerved_jobs_running (d->jobs));
  header (s, "nerved_uptime_seconds", "gauge", "Seconds since the daemon started.");
  char up[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_formatd (up, sizeof up, "%.3f", nerved_daemon_uptime (d));
  g_string_append_printf (s, "nerved_uptime_seconds %s\n", up);
  return g_string_free (s, FALSE);
}

/* nerved: one managed GStreamer pipeline.
 *
 * Built from an already rendered launch line; watches its own bus on the main context,
 * turns state changes, warnings, errors, EOS and element messages into events, counts the
 * buffers and bytes that reach its sinks, and restarts itself after an error according to
 * its policy (exponential backoff: initial, doubled each time, capped; at most max_restarts
 * when non-zero). A failure stays inside its pipeline: errors are events and status, never
 * aborts.
 *
 * Events (the fields after seq/type/pipeline/time): created {template, params}; state
 * {old, new, pending} of the top-level bin only ("null" "ready" "paused" "playing",
 * pending null when none; a teardown reports the way down to "null"); message {source,
 * name, fields} for element messages of nerve* elements and of names in opt->messages;
 * warning and error {source, message, debug}; eos; restart {attempt, delay_ms}; stopped;
 * deleted. */
#pragma once

#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include "nerved-events.h"
#include "nerved-template.h"

G_BEGIN_DECLS

typedef enum {
  NERVED_PIPELINE_CREATED,    /* built, in NULL */
  NERVED_PIPELINE_PLAYING,
  NERVED_PIPELINE_PAUSED,
  NERVED_PIPELINE_STOPPING,   /* EOS sent, waiting (stop-timeout) */
  NERVED_PIPELINE_STOPPED,    /* stopped by request, in NULL; can be started again */
  NERVED_PIPELINE_FINISHED,   /* reached EOS by itself, in NULL */
  NERVED_PIPELINE_FAILED,     /* errored and will not be restarted, in NULL */
  NERVED_PIPELINE_RESTARTING, /* errored, waiting for its backoff before rebuilding */
} NervedPipelineState;

typedef struct {
  NervedRestartPolicy restart;
  guint backoff_initial_ms;   /* default 500 */
  guint backoff_max_ms;       /* default 30000 */
  guint max_restarts;         /* 0 = no limit; consecutive automatic restarts, counted
                                 afresh after a start by request or a run that lasted
                                 max(backoff_max_ms, 10 s). Reached after an error: FAILED;
                                 after an EOS (always): FINISHED */
  guint stop_timeout_ms;      /* EOS wait before forcing NULL; default 5000 */
  guint event_capacity;       /* per-pipeline event buffer; default 1024 */
  char **messages;            /* extra element-message names to forward (besides nerve*) */
} NervedPipelineOptions;

void nerved_pipeline_options_init (NervedPipelineOptions *o);   /* the defaults above */

typedef struct NervedPipeline NervedPipeline;
typedef void (*NervedPipelineDoneFunc) (NervedPipeline *p, gpointer user_data);

/* Parses launch (the parser's own message on failure: NERVED_ERROR_UNPROCESSABLE). Every
 * event is also copied into global (may be NULL). template_name and params (effective
 * values) are only reported in the status. */
NervedPipeline *nerved_pipeline_new (const char *id, const char *template_name, JsonObject *params,
    const char *launch, const NervedPipelineOptions *opt, NervedEventLog *global, GError **error);
/* Goes to NULL at once (no EOS) and frees; emits "deleted". */
void nerved_pipeline_free (NervedPipeline *p);

/* From CREATED/PAUSED/STOPPED/FINISHED/FAILED (a stopped/finished/failed one is rebuilt);
 * other states: NERVED_ERROR_CONFLICT. When the state change fails at once (a file that
 * cannot be opened), the element's own error from the bus is reported as an "error"
 * event and in the status, the restart policy applies, and start returns FALSE with
 * NERVED_ERROR_UNPROCESSABLE carrying that same message. A start by request begins a
 * fresh backoff series. */
gboolean nerved_pipeline_start (NervedPipeline *p, GError **error);
gboolean nerved_pipeline_pause (NervedPipeline *p, GError **error);   /* from PLAYING */
/* Sends EOS and goes to NULL when it arrives or after stop_timeout_ms; done (may be NULL)
 * runs once on the main context when it is in NULL. Stopping an idle pipeline calls done
 * at once. Cancels a pending restart. A paused pipeline is set playing so EOS can flow.
 * The EOS is sent from a GStreamer pool thread (a source's EOS handling waits for its
 * streaming thread), so a blocked sink never blocks the main loop. Freeing the pipeline
 * while it stops (or from done, or from an event subscriber) is allowed; pending done
 * callbacks then run during the free. */
void nerved_pipeline_stop (NervedPipeline *p, NervedPipelineDoneFunc done, gpointer user_data);

const char *nerved_pipeline_id (NervedPipeline *p);
NervedPipelineState nerved_pipeline_get_state (NervedPipeline *p);
const char *nerved_pipeline_state_name (NervedPipelineState s);  /* "playing", ... */
NervedEventLog *nerved_pipeline_events (NervedPipeline *p);
guint nerved_pipeline_restarts (NervedPipeline *p);
guint nerved_pipeline_errors (NervedPipeline *p);

/* {"id","template","params","state","position_ns" (or null),"uptime_s","restarts",
 *  "errors","last_error": {"message","debug","source","time"} or null,
 *  "buffers","bytes","events"}
 * buffers/bytes: what reached the sink pads of every real sink element (a tee into two
 * sinks counts twice), added up over the pipeline's whole life, restarts included.
 * uptime_s: since the current run was built and started; 0 when not running.
 * events: how many the pipeline's own log has numbered. */
JsonObject *nerved_pipeline_status (NervedPipeline *p);

G_END_DECLS

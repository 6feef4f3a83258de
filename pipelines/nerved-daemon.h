/* nerved: the daemon as a library (config, HTTP server, pipelines, jobs); nerved-main.c is
 * the thin executable around it. */
#pragma once

#include <glib.h>
#include "nerved-error.h"

G_BEGIN_DECLS

typedef struct {
  char *listen;               /* "127.0.0.1:8554" (host:port; port 0 = ephemeral) */
  char **template_dirs;       /* NULL-terminated */
  char **data_roots;          /* NULL-terminated; path parameters resolve inside these */
  char *token_file;           /* bearer tokens, one per line; must be mode 0600 (or 0400) */
  char *spool_dir;            /* job uploads/outputs; default $XDG_RUNTIME_DIR or /tmp/nerved-<uid> */
  gboolean allow_launch;      /* POST /v1/pipelines {"launch": ...} (off by default) */
  guint max_pipelines;        /* default 64 */
  guint max_sse_clients;      /* default 256 */
  guint max_jobs;             /* running at once; default 4 */
  gsize max_body_bytes;       /* default 1 MiB for JSON; uploads: max_upload_bytes */
  gsize max_upload_bytes;     /* default 256 MiB */
  gsize max_header_bytes;     /* default 16 KiB */
  guint event_buffer;         /* per stream; default 1024 */
  guint stop_timeout_ms;      /* default 5000 */
  guint drain_timeout_ms;     /* SIGTERM: wait for all pipelines; default 10000 */
  guint backoff_initial_ms, backoff_max_ms, max_restarts;  /* restart defaults */
  guint job_timeout_s;        /* a job running longer fails (its pipeline torn down); default 600 */
  guint job_max_results;      /* results kept per job, the rest dropped ("truncated"); default 100000 */
} NervedConfig;

void nerved_config_init (NervedConfig *c);          /* defaults */
void nerved_config_clear (NervedConfig *c);
/* Reads group [nerved] of a key file: keys are the field names with '-' for '_'
 * (listen, templates, data-roots, token-file, spool-dir, allow-launch, max-pipelines, ...);
 * unknown keys are an error naming the key. */
gboolean nerved_config_load (NervedConfig *c, const char *path, GError **error);
/* The key file's keys, NULL-terminated, in table order (the docs test checks each is
 * documented). */
const char *const *nerved_config_keys (void);

typedef struct NervedDaemon NervedDaemon;

/* Checks the config (non-loopback listen needs token_file; token file mode), loads
 * templates, binds. Errors: NERVED_ERROR_CONFIG with what to fix. */
NervedDaemon *nerved_daemon_new (const NervedConfig *c, GError **error);
void nerved_daemon_free (NervedDaemon *d);
guint nerved_daemon_port (NervedDaemon *d);                     /* the bound port */
gboolean nerved_daemon_reload (NervedDaemon *d, GError **error); /* SIGHUP: templates only */
/* SIGTERM: refuse new work, EOS to every pipeline, wait up to drain_timeout_ms, then call
 * done on the main context. */
void nerved_daemon_drain (NervedDaemon *d, GSourceFunc done, gpointer user_data);

G_END_DECLS

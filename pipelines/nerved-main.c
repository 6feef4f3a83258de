/* nerved: the executable. Options override the config file; SIGTERM/SIGINT drain and exit 0,
 * SIGHUP reloads the templates. The first stdout line says where it listens:
 *   nerved: listening on http://127.0.0.1:8780 */
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <glib-unix.h>
#include <gst/gst.h>

#include "nerved-daemon-private.h"

typedef struct {
  GMainLoop *loop;
  NervedDaemon *d;
  gboolean stopping;
} App;

static gboolean
drained (gpointer data)
{
  g_main_loop_quit (((App *) data)->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
on_term (gpointer data)
{
  App *app = data;
  if (app->stopping) {   /* a second signal: don't wait any longer */
    nerved_log (G_LOG_LEVEL_WARNING, "second stop signal: exiting without waiting", NULL);
    g_main_loop_quit (app->loop);
    return G_SOURCE_CONTINUE;
  }
  app->stopping = TRUE;
  nerved_daemon_drain (app->d, drained, app);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_hup (gpointer data)
{
  App *app = data;
  g_autoptr (GError) err = NULL;
  nerved_daemon_reload (app->d, &err);   /* logs either way */
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  g_autofree char *listen = NULL, *token_file = NULL, *config = NULL, *spool = NULL;
  g_auto (GStrv) templates = NULL, roots = NULL;
  gboolean allow_launch = FALSE;
  const GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config, "Key file with a [nerved] group (read first)", "FILE" },
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &listen, "Address to listen on (default 127.0.0.1:8780; port 0: any)",
      "HOST:PORT" },
    { "templates", 't', 0, G_OPTION_ARG_FILENAME_ARRAY, &templates, "Templates directory (repeatable)", "DIR" },
    { "data-root", 'd', 0, G_OPTION_ARG_FILENAME_ARRAY, &roots,
      "Directory that path parameters may use (repeatable)", "DIR" },
    { "token-file", 0, 0, G_OPTION_ARG_FILENAME, &token_file,
      "Bearer tokens, one per line, mode 0600: every route but /healthz then needs one", "FILE" },
    { "allow-launch", 0, 0, G_OPTION_ARG_NONE, &allow_launch, "Allow arbitrary launch lines (off by default)", NULL },
    { "spool-dir", 0, 0, G_OPTION_ARG_FILENAME, &spool, "Where job uploads and outputs are kept", "DIR" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- the Nerve pipeline daemon");
  g_option_context_set_summary (ctx,
      "Runs GStreamer pipelines from templates and serves an HTTP/JSON API (see docs/daemon.md).");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  g_autoptr (GError) err = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &err)) {
    fprintf (stderr, "nerved: %s (see --help)\n", err->message);
    return 2;
  }
  nerved_log_install ();

  NervedConfig c;
  nerved_config_init (&c);
  if (config && !nerved_config_load (&c, config, &err)) {
    fprintf (stderr, "nerved: %s\n", err->message);
    nerved_config_clear (&c);
    return 1;
  }
  if (listen) {
    g_free (c.listen);
    c.listen = g_steal_pointer (&listen);
  }
  if (templates) {   /* options replace the config's lists */
    g_strfreev (c.template_dirs);
    c.template_dirs = g_steal_pointer (&templates);
  }
  if (roots) {
    g_strfreev (c.data_roots);
    c.data_roots = g_steal_pointer (&roots);
  }
  if (token_file) {
    g_free (c.token_file);
    c.token_file = g_steal_pointer (&token_file);
  }
  if (spool) {
    g_free (c.spool_dir);
    c.spool_dir = g_steal_pointer (&spool);
  }
  if (allow_launch)
    c.allow_launch = TRUE;

  gst_init (NULL, NULL);
  App app = { 0 };
  app.d = nerved_daemon_new (&c, &err);
  if (!app.d) {
    fprintf (stderr, "nerved: %s\n", err->message);
    nerved_config_clear (&c);
    gst_deinit ();
    return 1;
  }
  app.loop = g_main_loop_new (NULL, FALSE);
  const guint s1 = g_unix_signal_add (SIGTERM, on_term, &app);
  const guint s2 = g_unix_signal_add (SIGINT, on_term, &app);
  const guint s3 = g_unix_signal_add (SIGHUP, on_hup, &app);
  /* the handlers are in place before anyone learns the address */
  const gboolean v6 = strchr (app.d->host, ':') != NULL;
  printf ("nerved: listening on http://%s%s%s:%u\n", v6 ? "[" : "", app.d->host, v6 ? "]" : "",
      nerved_daemon_port (app.d));
  fflush (stdout);

  g_main_loop_run (app.loop);
  g_source_remove (s1);
  g_source_remove (s2);
  g_source_remove (s3);
  nerved_daemon_free (app.d);
  g_main_loop_unref (app.loop);
  nerved_config_clear (&c);
  nerved_log (G_LOG_LEVEL_INFO, "nerved stopped", NULL);
  gst_deinit ();
  return 0;
}

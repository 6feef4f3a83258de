/* docs/daemon.md's examples, run: every ```sh block, in order, with `sh -e` against one
 * real daemon (the shipped templates, a scratch data root as the current directory,
 * $NERVED_URL, build/pipelines first on PATH for nervectl and nerved). A block passes when
 * it exits 0 and its output holds each text marked `# => TEXT`. Also: the document names
 * every route of the API and shows every nervectl command. */
#include <glib/gstdio.h>
#include <string.h>

#include "check.h"
#include "nerved-daemon.h"
#include "nerved-harness.h"

#define BLOCK_TIMEOUT_S "120"

typedef struct {
  int line;                   /* of the opening fence, for messages */
  GString *text;
  GPtrArray *expect;          /* char *: the `# => ` texts */
} Block;

static void
block_free (gpointer data)
{
  Block *b = data;
  g_string_free (b->text, TRUE);
  g_ptr_array_unref (b->expect);
  g_free (b);
}

static char *
read_doc (void)
{
  g_autofree char *path = nerve_test_path ("docs/daemon.md");
  char *text = NULL;
  g_autoptr (GError) err = NULL;
  if (!g_file_get_contents (path, &text, NULL, &err)) {
    fprintf (stderr, "%s\n", err->message);
    CU_FAIL ("docs/daemon.md cannot be read");
    return g_strdup ("");
  }
  return text;
}

/* The ```sh blocks (a fence of exactly "```sh"; other languages are not run). */
static GPtrArray *
doc_blocks (const char *md)
{
  GPtrArray *blocks = g_ptr_array_new_with_free_func (block_free);
  g_auto (GStrv) lines = g_strsplit (md, "\n", -1);
  Block *cur = NULL;
  for (int i = 0; lines[i]; i++) {
    const char *l = lines[i];
    if (!cur) {
      if (strcmp (g_strchomp (lines[i]), "```sh") == 0) {
        cur = g_new0 (Block, 1);
        cur->line = i + 1;
        cur->text = g_string_new (NULL);
        cur->expect = g_ptr_array_new_with_free_func (g_free);
      }
      continue;
    }
    if (g_str_has_prefix (l, "```")) {
      g_ptr_array_add (blocks, cur);
      cur = NULL;
      continue;
    }
    g_string_append_printf (cur->text, "%s\n", l);
    const char *mark = strstr (l, "# => ");
    if (mark)
      g_ptr_array_add (cur->expect, g_strstrip (g_strdup (mark + 5)));
  }
  CU_ASSERT_PTR_NULL (cur);    /* an unclosed fence */
  if (cur)
    block_free (cur);
  return blocks;
}

/* Runs one block; returns whether it passed (printing the block and its output if not). */
static gboolean
run_block (const Block *b, const char *dir, char **envp, int index)
{
  g_autofree char *script = g_strdup_printf ("%s/block-%02d.sh", dir, index);
  g_file_set_contents (script, b->text->str, -1, NULL);
  const char *argv[] = { "timeout", BLOCK_TIMEOUT_S, "sh", "-e", script, NULL };
  g_autofree char *out = NULL, *err = NULL;
  int status = -1;
  g_autoptr (GError) error = NULL;
  gboolean ran = g_spawn_sync (dir, (char **) argv, envp, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status, &error);
  gboolean ok = ran && g_spawn_check_wait_status (status, NULL);
  g_autofree char *all = g_strconcat (out ? out : "", err ? err : "", NULL);
  const char *missing = NULL;
  for (guint i = 0; ok && i < b->expect->len; i++)
    if (!strstr (all, b->expect->pdata[i]))
      missing = b->expect->pdata[i], ok = FALSE;
  if (!ok) {
    g_autofree char *why = !ran ? g_strdup (error->message)
                         : missing ? g_strdup_printf ("output lacks \"%s\"", missing)
                                   : g_strdup_printf ("wait status %d", status);
    fprintf (stderr, "\ndocs/daemon.md:%d: block %d failed (%s)\n--- block:\n%s--- stdout:\n%s--- stderr:\n%s---\n",
        b->line, index, why, b->text->str, out ? out : "", err ? err : "");
  }
  return ok;
}

static void
test_doc_blocks (void)
{
  g_autofree char *md = read_doc ();
  g_autoptr (GPtrArray) blocks = doc_blocks (md);
  CU_ASSERT (blocks->len >= 15);

  g_autofree char *dir = g_dir_make_tmp ("nerved-docs-XXXXXX", NULL);
  g_autofree char *data = g_build_filename (dir, "data", NULL);
  g_autofree char *spool = g_build_filename (dir, "spool", NULL);
  g_mkdir (data, 0700);
  g_mkdir (spool, 0700);
  g_autofree char *templates = nerve_test_path ("pipelines/templates");
  g_autofree char *models = nerve_test_path ("models");
  g_setenv ("NERVE_MODEL_PATH", models, TRUE);   /* the shipped denoise and sentiment models */
  const char *args[] = { "--templates", templates, "--data-root", data, "--spool-dir", spool, NULL };
  g_autoptr (GError) err = NULL;
  /* the first start scans the plugins: slow under the sanitizers */
  g_autoptr (NervedProc) p = nerved_proc_start (args, 90000, &err);
  if (!p) {
    fprintf (stderr, "nerved did not start: %s\n", err->message);
    CU_FAIL ("nerved did not start");
    return;
  }

  g_autofree char *bin = g_build_filename (g_getenv ("NERVE_BUILD_ROOT"), "pipelines", NULL);
  g_autofree char *path = g_strconcat (bin, ":", g_getenv ("PATH"), NULL);
  g_auto (GStrv) envp = g_get_environ ();
  envp = g_environ_setenv (envp, "NERVED_URL", p->url, TRUE);
  envp = g_environ_setenv (envp, "NERVED_TEMPLATES", templates, TRUE);
  envp = g_environ_setenv (envp, "PATH", path, TRUE);
  envp = g_environ_unsetenv (envp, "NERVED_TOKEN");
  envp = g_environ_unsetenv (envp, "http_proxy");
  /* gst-launch-1.0 in the blocks needs only GStreamer's own elements: its own registry, so
   * an uninstrumented process never rescans (and blacklists) a sanitized plugin */
  g_autofree char *block_registry = g_build_filename (dir, "blocks.registry", NULL);
  envp = g_environ_setenv (envp, "GST_REGISTRY_1_0", block_registry, TRUE);
  envp = g_environ_unsetenv (envp, "GST_PLUGIN_PATH_1_0");
  envp = g_environ_unsetenv (envp, "GST_PLUGIN_PATH");

  guint passed = 0;
  for (guint i = 0; i < blocks->len; i++) {
    gboolean ok = run_block (blocks->pdata[i], data, envp, (int) i + 1);
    CU_ASSERT (ok);
    passed += ok;
  }
  printf ("\n  %u of %u blocks of docs/daemon.md passed\n", passed, blocks->len);

  /* the daemon took all that and still drains cleanly */
  g_autoptr (NervedReply) h = nerved_request (p, "GET", "/healthz", NULL, NULL, 0, NULL);
  CU_ASSERT_EQUAL (h->status, 200);
  int status = nerved_proc_stop (p, SIGTERM, 20000);
  CU_ASSERT (status != -1 && WIFEXITED (status) && WEXITSTATUS (status) == 0);

  g_autoptr (GError) rm = NULL;
  g_autofree char *rmdir = g_strdup_printf ("rm -rf '%s'", dir);
  g_spawn_command_line_sync (rmdir, NULL, NULL, NULL, &rm);
}

/* Every route and every nervectl command appears in the document (commands in a run block). */
static void
test_doc_covers_api (void)
{
  static const char *const routes[] = {
    "GET /healthz", "GET /metrics", "GET /v1/templates", "GET /v1/templates/{name}",
    "POST /v1/templates/reload", "GET /v1/pipelines", "POST /v1/pipelines", "GET /v1/pipelines/{id}",
    "DELETE /v1/pipelines/{id}", "POST /v1/pipelines/{id}/start", "POST /v1/pipelines/{id}/pause",
    "POST /v1/pipelines/{id}/stop", "GET /v1/pipelines/{id}/events", "GET /v1/events",
    "POST /v1/jobs?template=", "GET /v1/jobs/{id}", "GET /v1/jobs/{id}/output", "DELETE /v1/jobs/{id}",
    "Last-Event-ID", "event: missed", "WWW-Authenticate", NULL,
  };
  static const char *const commands[] = {
    "health", "metrics", "templates", "template", "reload", "list", "create", "launch", "status",
    "start", "pause", "stop", "delete", "events", "job", "job-status", "job-output", "job-delete", NULL,
  };
  g_autofree char *md = read_doc ();
  for (const char *const *r = routes; *r; r++)
    if (!strstr (md, *r)) {
      fprintf (stderr, "docs/daemon.md does not mention %s\n", *r);
      CU_FAIL ("a route is not documented");
    }
  g_autoptr (GPtrArray) blocks = doc_blocks (md);
  g_autoptr (GString) all = g_string_new (NULL);
  for (guint i = 0; i < blocks->len; i++)
    g_string_append (all, ((Block *) blocks->pdata[i])->text->str);
  for (const char *const *c = commands; *c; c++) {
    g_autofree char *needle = g_strdup_printf ("nervectl %s ", *c);
    g_autofree char *needle_eol = g_strdup_printf ("nervectl %s\n", *c);
    if (!strstr (all->str, needle) && !strstr (all->str, needle_eol)) {
      fprintf (stderr, "no example in docs/daemon.md runs `nervectl %s`\n", *c);
      CU_FAIL ("a nervectl command has no tested example");
    }
  }
}

/* "key = " at the start of a line (or "#key = ", a commented-out example) */
static gboolean
has_key_line (const char *text, const char *key)
{
  g_autofree char *a = g_strdup_printf ("\n%s = ", key);
  g_autofree char *b = g_strdup_printf ("\n#%s = ", key);
  return strstr (text, a) || strstr (text, b);
}

/* Every key of the config file (nerved_config_keys: the table the loader uses) is in the
 * document's example and its table, and in the shipped example config. */
static void
test_doc_covers_config (void)
{
  g_autofree char *md = read_doc ();
  g_autofree char *conf_path = nerve_test_path ("pipelines/nerved.conf.in");
  g_autofree char *conf = NULL;
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (conf_path, &conf, NULL, NULL));
  guint n = 0;
  for (const char *const *k = nerved_config_keys (); *k; k++, n++) {
    g_autofree char *cell = g_strdup_printf ("`%s`", *k);
    const gboolean in_table = strstr (md, cell) != NULL, in_example = has_key_line (md, *k),
                   in_conf = has_key_line (conf, *k);
    CU_ASSERT (in_table && in_example && in_conf);
    if (!(in_table && in_example && in_conf))
      fprintf (stderr, "config key %s:%s%s%s\n", *k, in_table ? "" : " not in docs/daemon.md's table",
          in_example ? "" : " not in docs/daemon.md's example", in_conf ? "" : " not in pipelines/nerved.conf.in");
  }
  CU_ASSERT (n >= 20);
}

NERVE_TEST_MAIN ("nerved-docs",
  { "the document names every route and shows every nervectl command", test_doc_covers_api },
  { "every config key is documented and in the example config", test_doc_covers_config },
  { "every sh block of docs/daemon.md runs against a real daemon", test_doc_blocks })

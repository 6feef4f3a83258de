#include "element-check.h"

#include <CUnit/CUnit.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "modelfile.h"

static int gst_warnings;

static void
count_gst_warning (const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
  gst_warnings++;
  g_log_default_handler (domain, level, message, data);
}

void
element_suite_init (int *argc, char ***argv)
{
  gst_init (argc, argv);
  g_log_set_handler ("GStreamer", G_LOG_LEVEL_WARNING, count_gst_warning, NULL);
}

int
gst_warning_count (void)
{
  return gst_warnings;
}

GError *
start_element (GstElement *e, GstState state, GstStateChangeReturn *ret, char **debug)
{
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (e, bus);
  *ret = gst_element_set_state (e, state);
  GError *err = NULL;
  GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  if (m) {
    gst_message_parse_error (m, &err, debug);
    gst_message_unref (m);
  }
  gst_element_set_state (e, GST_STATE_NULL);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  return err;
}

void
expect_model_error (const char *factory, GstState state, const char *path, int code, const char *message)
{
  g_autoptr (GError) load_err = NULL;
  if (!message) {
    NerveModel *nm = nerve_model_load (path, &load_err);
    CU_ASSERT_PTR_NULL_FATAL (nm);
    message = load_err->message;
  }
  GstElement *e = gst_element_factory_make (factory, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (e);
  g_object_set (e, "model", path, NULL);
  GstStateChangeReturn ret;
  g_autofree char *debug = NULL;
  g_autoptr (GError) err = start_element (e, state, &ret, &debug);
  CU_ASSERT_EQUAL (ret, GST_STATE_CHANGE_FAILURE);
  CU_ASSERT_PTR_NOT_NULL_FATAL (err);
  CU_ASSERT_TRUE (g_error_matches (err, GST_RESOURCE_ERROR, code));
  CU_ASSERT_STRING_EQUAL (err->message, "Could not load model");
  CU_ASSERT_PTR_NOT_NULL_FATAL (debug);
  if (!strstr (debug, message)) {
    fprintf (stderr, "  '%s' lacks the loader's '%s'\n", debug, message);
    CU_FAIL ("error carries the loader's message");
  }
  gst_object_unref (e);
}

void
expect_no_model (const char *factory, GstState state)
{
  GstElement *e = gst_element_factory_make (factory, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (e);
  GstStateChangeReturn ret;
  g_autofree char *debug = NULL;
  g_autoptr (GError) err = start_element (e, state, &ret, &debug);
  CU_ASSERT_EQUAL (ret, GST_STATE_CHANGE_FAILURE);
  CU_ASSERT_TRUE_FATAL (err && g_error_matches (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND));
  CU_ASSERT_PTR_NOT_NULL_FATAL (debug);
  CU_ASSERT_PTR_NOT_NULL (strstr (debug, "model="));
  CU_ASSERT_PTR_NOT_NULL (strstr (debug, "NERVE_MODEL_PATH"));
  gst_object_unref (e);
}

void
check_bad_model_files (const char *factory, GstState state, const char *good_model, const char *dir)
{
  g_autofree char *missing = g_build_filename (dir, "no-such-model.nerve", NULL);
  expect_model_error (factory, state, missing, GST_RESOURCE_ERROR_NOT_FOUND, NULL);
  g_autofree char *garbage = g_build_filename (dir, "garbage.nerve", NULL);
  g_file_set_contents (garbage, "this is not a model file at all", -1, NULL);
  expect_model_error (factory, state, garbage, GST_RESOURCE_ERROR_OPEN_READ, NULL);
  /* a real model cut short */
  g_autofree char *bytes = NULL;
  gsize len = 0;
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (good_model, &bytes, &len, NULL));
  g_autofree char *cut = g_build_filename (dir, "cut.nerve", NULL);
  g_file_set_contents (cut, bytes, (gssize) (len / 2), NULL);
  expect_model_error (factory, state, cut, GST_RESOURCE_ERROR_OPEN_READ, NULL);
}

gboolean
run_pipeline (GstElement *p, GError **error)
{
  GstBus *bus = gst_element_get_bus (p);
  gboolean ok = gst_element_set_state (p, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE;
  GstMessage *m = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  ok = ok && m && GST_MESSAGE_TYPE (m) == GST_MESSAGE_EOS;
  if (m && GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR)
    gst_message_parse_error (m, error, NULL);
  if (m)
    gst_message_unref (m);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (bus);
  return ok;
}

void
check_pipeline_cycles (const char *desc)
{
  GstElement *p = gst_parse_launch (desc, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  int eos = 0;
  for (int i = 0; i < 100; i++) {
    if (i % 2) {
      CU_ASSERT_NOT_EQUAL (gst_element_set_state (p, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
      CU_ASSERT_EQUAL (gst_element_set_state (p, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
    } else {
      eos += run_pipeline (p, NULL);
    }
  }
  CU_ASSERT_EQUAL (eos, 50);
  gst_object_unref (p);
}

char *
element_doc_block (const char *relative)
{
  g_autofree char *src = nerve_test_path (relative);
  char *code = NULL;
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (src, &code, NULL, NULL));
  char *end = strstr (code, "*/");
  CU_ASSERT_PTR_NOT_NULL_FATAL (end);
  *end = 0;
  return code;
}

char *
launch_line_with_files (const char *cmd, const char *in_example, const char *in, const char *model_example,
                        const char *model, const char *out_example, const char *out)
{
  GString *s = g_string_new (cmd);
  g_autofree char *qi = g_shell_quote (in), *qm = g_shell_quote (model), *qo = g_shell_quote (out);
  g_autofree char *ei = g_strconcat ("location=", in_example, NULL), *li = g_strconcat ("location=", qi, NULL);
  g_autofree char *em = g_strconcat ("model=", model_example, NULL), *lm = g_strconcat ("model=", qm, NULL);
  g_autofree char *eo = g_strconcat ("location=", out_example, NULL), *lo = g_strconcat ("location=", qo, NULL);
  CU_ASSERT (g_string_replace (s, ei, li, 0) == 1);
  CU_ASSERT (g_string_replace (s, em, lm, 0) == 1);
  g_string_replace (s, eo, lo, 0);
  return g_string_free (s, FALSE);
}

gboolean
run_launch_line (const char *line, char **out)
{
  g_auto (GStrv) argv = NULL;
  CU_ASSERT_TRUE_FATAL (g_shell_parse_argv (line, NULL, &argv, NULL));
  g_auto (GStrv) envp = g_get_environ ();
  const char *asan = g_getenv ("NERVE_TEST_ASAN_RUNTIME");
  if (asan && *asan) {
    envp = g_environ_setenv (envp, "LD_PRELOAD", asan, TRUE);
    envp = g_environ_setenv (envp, "ASAN_OPTIONS", "detect_leaks=0", TRUE);
  }
  g_autofree char *serr = NULL;
  int status = -1;
  g_autoptr (GError) err = NULL;
  CU_ASSERT_TRUE_FATAL (g_spawn_sync (NULL, argv, envp, G_SPAWN_SEARCH_PATH, NULL, NULL, out, &serr, &status, &err));
  const gboolean ok = g_spawn_check_wait_status (status, NULL);
  if (!ok)
    fprintf (stderr, "  '%s' failed:\n%s\n%s\n", line, *out, serr);
  return ok;
}

void
cleanup_dir (const char *path)
{
  GDir *d = g_dir_open (path, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d))) {
    g_autofree char *p = g_build_filename (path, name, NULL);
    if (g_file_test (p, G_FILE_TEST_IS_DIR))
      cleanup_dir (p);
    else
      remove (p);
  }
  if (d)
    g_dir_close (d);
  g_rmdir (path);
}

/* The shipped sentiment model in a real pipeline, found without model= through
 * NERVE_MODEL_PATH: filesrc ! nervesentiment output=json ! filesink on clear review
 * sentences, every label checked against the committed expectation. */
#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "check.h"

static void
test_shipped_model_labels (void)
{
  g_autofree char *models = nerve_test_path ("models");
  g_autofree char *shipped = g_build_filename (models, "sentiment", "sentiment.nerve", NULL);
  CU_ASSERT_TRUE_FATAL (g_file_test (shipped, G_FILE_TEST_EXISTS));
  g_setenv ("NERVE_MODEL_PATH", models, TRUE);

  g_autofree char *fixture = nerve_test_path ("tests/fixtures/sentiment-clear.tsv");
  g_autofree char *tsv = NULL;
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (fixture, &tsv, NULL, NULL));
  g_auto (GStrv) rows = g_strsplit (tsv, "\n", -1);
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (GPtrArray) expected = g_ptr_array_new_with_free_func (g_free);
  for (int i = 0; rows[i]; i++) {
    char *tab = strchr (rows[i], '\t');
    if (!tab)
      continue;
    g_ptr_array_add (expected, g_strndup (rows[i], tab - rows[i]));
    g_string_append_printf (text, "%s\n", tab + 1);
  }
  g_autofree char *dir = g_dir_make_tmp ("nerve-shipped-XXXXXX", NULL);
  g_autofree char *in = g_build_filename (dir, "in.txt", NULL), *out = g_build_filename (dir, "out.jsonl", NULL);
  g_file_set_contents (in, text->str, text->len, NULL);

  g_autofree char *desc = g_strdup_printf (
    "filesrc location=\"%s\" ! nervesentiment output=json ! filesink location=\"%s\"", in, out);
  g_autoptr (GError) err = NULL;
  GstElement *p = gst_parse_launch (desc, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  gst_element_set_state (p, GST_STATE_PLAYING);
  g_autoptr (GstBus) bus = gst_element_get_bus (p);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  CU_ASSERT_PTR_NOT_NULL (msg);
  if (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    g_autoptr (GError) e = NULL;
    g_autofree char *dbg = NULL;
    gst_message_parse_error (msg, &e, &dbg);
    fprintf (stderr, "  pipeline error: %s (%s)\n", e->message, dbg ? dbg : "");
    CU_FAIL ("pipeline error");
  }
  gst_clear_message (&msg);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (p);

  g_autofree char *json = NULL;
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (out, &json, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (json, "\n", -1);
  guint n = 0;
  for (int i = 0; lines[i] && lines[i][0]; i++, n++) {
    g_autoptr (JsonParser) jp = json_parser_new ();
    CU_ASSERT_TRUE_FATAL (json_parser_load_from_data (jp, lines[i], -1, NULL));
    JsonObject *o = json_node_get_object (json_parser_get_root (jp));
    const char *label = json_object_get_string_member (o, "label");
    if (n < expected->len && !g_str_equal (label, g_ptr_array_index (expected, n)))
      fprintf (stderr, "  line %u: '%s' is %s, expected %s\n", n + 1, json_object_get_string_member (o, "text"),
               label, (char *) g_ptr_array_index (expected, n));
    CU_ASSERT (n < expected->len && g_str_equal (label, g_ptr_array_index (expected, n)));
  }
  CU_ASSERT_EQUAL (n, expected->len);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  static const TestCase tests[] = {
    { "shipped model labels clear reviews in a pipeline", test_shipped_model_labels },
    { NULL, NULL },
  };
  return nerve_test_main ("sentiment-shipped", tests) ? 1 : 0;
}

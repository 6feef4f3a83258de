/* Helpers the text subcommands share: a model's labels and limits, and loading a
 * labelled text file the way a model reads it. */
#include <stdio.h>

#include "cli.h"

gboolean
nerve_cli_is_text_model (NerveModel *m)
{
  const char *task = nerve_model_get_meta (m, "nerve.task");
  return task && (g_str_equal (task, "sentiment") || g_str_equal (task, "text-classify"));
}

char **
nerve_cli_model_labels (NerveModel *m, GError **error)
{
  const char *json = nerve_model_get_meta (m, "nerve.labels");
  g_autoptr (JsonParser) p = json_parser_new ();
  JsonNode *root = NULL;
  if (json && nerve_json_depth_ok (json, -1, 4) && json_parser_load_from_data (p, json, -1, NULL))
    root = json_parser_get_root (p);
  if (!root || !JSON_NODE_HOLDS_ARRAY (root) || json_array_get_length (json_node_get_array (root)) < 2) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT,
                 "the model's nerve.labels is missing or not a JSON list of at least 2 names");
    return NULL;
  }
  JsonArray *a = json_node_get_array (root);
  guint n = json_array_get_length (a);
  char **labels = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++) {
    JsonNode *e = json_array_get_element (a, i);
    labels[i] = g_strdup (JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING
                            ? json_node_get_string (e) : "");
  }
  return labels;
}

char *
nerve_cli_labels_json (char **labels, int n)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_array (b);
  for (int i = 0; i < n; i++)
    json_builder_add_string_value (b, labels && labels[i] ? labels[i] : "");
  json_builder_end_array (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

NerveDataset *
nerve_cli_load_text_for_model (NerveModel *m, const NerveTokenizer *t, const char *path,
                               const NerveTextLoadOptions *opts, NerveTextDataset **text_out, GError **error)
{
  g_auto (GStrv) labels = nerve_cli_model_labels (m, error);
  if (!labels)
    return NULL;
  const char *ml = nerve_model_get_meta (m, "nerve.text.max_length");
  guint64 max_length = 0;
  if (!ml || !g_ascii_string_to_unsigned (ml, 10, 1, 1 << 20, &max_length, NULL) ||
      m->input_shape.ndim != 1 || m->input_shape.dim[0] != (int) max_length) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT,
                 "the model's nerve.text.max_length (%s) is missing or differs from its input shape", ml ? ml : "none");
    return NULL;
  }
  NerveTextLoadOptions o = *opts;
  o.labels = (const char *const *) labels;
  o.fine_grained = g_strv_length (labels) == 5;
  g_autoptr (NerveTextDataset) td = nerve_text_dataset_load (path, &o, error);
  if (!td)
    return NULL;
  int truncated = 0;
  NerveDataset *d = nerve_text_dataset_encode (td, t, (int) max_length, &truncated, error);
  if (!d)
    return NULL;
  printf ("%s: %d texts", path, td->n);
  if (truncated)
    printf (", %d cut to %d tokens", truncated, (int) max_length);
  if (td->n_repaired)
    printf (", %d with invalid UTF-8 replaced", td->n_repaired);
  printf ("\n");
  if (text_out)
    *text_out = g_steal_pointer (&td);
  return d;
}

/* Text classification from one model file: tokenize, truncate, batch, forward with
 * per-text lengths, softmax. */
#include "textclass.h"

#include <math.h>
#include <string.h>

struct _NerveTextClassifier {
  NerveModel *model;
  NerveTokenizer *tok;
  NerveRunner *runner;
  char **labels;
  int n_labels, max_length, max_batch;
  float *ids;     /* [max_batch, max_length] */
  int *lengths;   /* [max_batch] */
  GArray *scratch;
  /* whole-call token store, kept between calls: ids of text i are
   * all_ids[offsets[i] .. offsets[i] + counts[i]) */
  GArray *all_ids, *offsets, *counts, *order;
};

void
nerve_text_classifier_free (NerveTextClassifier *c)
{
  if (!c)
    return;
  nerve_runner_free (c->runner);
  nerve_tokenizer_free (c->tok);
  g_strfreev (c->labels);
  nerve_free_floats (c->ids);
  g_free (c->lengths);
  if (c->scratch) {
    g_array_unref (c->scratch);
    g_array_unref (c->all_ids);
    g_array_unref (c->offsets);
    g_array_unref (c->counts);
    g_array_unref (c->order);
  }
  nerve_model_unref (c->model);
  g_free (c);
}

static gboolean
fail (GError **error, const char *fmt, const char *arg)
{
  g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT, fmt, arg);
  return FALSE;
}

/* The label list from nerve.labels (a JSON list of strings). */
static char **
parse_labels (const char *json, int *n)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  if (!json || !nerve_json_depth_ok (json, -1, 4) || !json_parser_load_from_data (p, json, -1, NULL))
    return NULL;
  JsonNode *root = json_parser_get_root (p);
  if (!root || !JSON_NODE_HOLDS_ARRAY (root))
    return NULL;
  JsonArray *a = json_node_get_array (root);
  guint len = json_array_get_length (a);
  if (len < 1 || len > 65536)
    return NULL;
  char **v = g_new0 (char *, len + 1);
  for (guint i = 0; i < len; i++) {
    JsonNode *e = json_array_get_element (a, i);
    if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING) {
      g_strfreev (v);
      return NULL;
    }
    v[i] = g_strdup (json_node_get_string (e));
  }
  *n = (int) len;
  return v;
}

NerveTextClassifier *
nerve_text_classifier_new (NerveModel *m, int max_batch, GError **error)
{
  g_return_val_if_fail (m != NULL && max_batch > 0, NULL);
  const char *task = nerve_model_get_meta (m, "nerve.task");
  if (!task || !(g_str_equal (task, "sentiment") || g_str_equal (task, "text-classify"))) {
    fail (error, "the model's task is '%s', not a text classifier (sentiment or text-classify)",
          task ? task : "(none)");
    return NULL;
  }
  g_autoptr (NerveTextClassifier) c = g_new0 (NerveTextClassifier, 1);
  c->model = nerve_model_ref (m);
  c->max_batch = max_batch;
  if (!(c->labels = parse_labels (nerve_model_get_meta (m, "nerve.labels"), &c->n_labels))) {
    fail (error, "%s", "the model's nerve.labels is missing or not a JSON list of label names");
    return NULL;
  }
  const char *ml = nerve_model_get_meta (m, "nerve.text.max_length");
  gint64 max_length = ml ? g_ascii_strtoll (ml, NULL, 10) : 0;
  const NerveShape *in = &m->input_shape, *out = nerve_model_output_shape (m);
  char a[64], b[64];
  if (max_length < 1 || in->ndim != 1 || in->dim[0] != max_length) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_SHAPE,
                 "the model takes input %s but its nerve.text.max_length is '%s': expected input [max_length]",
                 nerve_shape_format (in, a, sizeof a), ml ? ml : "(none)");
    return NULL;
  }
  if (out->ndim != 1 || out->dim[0] != c->n_labels) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_SHAPE, "the model outputs %s but has %d labels",
                 nerve_shape_format (out, b, sizeof b), c->n_labels);
    return NULL;
  }
  c->max_length = (int) max_length;
  if (!(c->tok = nerve_tokenizer_from_model (m, error)) ||
      !(c->runner = nerve_runner_new (m, max_batch, 0, error)))
    return NULL;
  c->ids = nerve_alloc_floats ((gsize) max_batch * c->max_length);
  c->lengths = g_new0 (int, max_batch);
  c->scratch = g_array_new (FALSE, FALSE, sizeof (gint32));
  c->all_ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  c->offsets = g_array_new (FALSE, FALSE, sizeof (gsize));
  c->counts = g_array_new (FALSE, FALSE, sizeof (int));
  c->order = g_array_new (FALSE, FALSE, sizeof (int));
  return g_steal_pointer (&c);
}

int
nerve_text_classifier_n_labels (const NerveTextClassifier *c)
{
  return c->n_labels;
}

const char *
nerve_text_classifier_label (const NerveTextClassifier *c, int i)
{
  return i >= 0 && i < c->n_labels ? c->labels[i] : NULL;
}

int
nerve_text_classifier_max_length (const NerveTextClassifier *c)
{
  return c->max_length;
}

NerveModel *
nerve_text_classifier_model (const NerveTextClassifier *c)
{
  return c->model;
}

const NerveTokenizer *
nerve_text_classifier_tokenizer (const NerveTextClassifier *c)
{
  return c->tok;
}

static int
cmp_by_count (gconstpointer a, gconstpointer b, gpointer counts)
{
  int x = ((const int *) counts)[*(const int *) a], y = ((const int *) counts)[*(const int *) b];
  return x != y ? (x < y ? -1 : 1) : (*(const int *) a - *(const int *) b);
}

gboolean
nerve_text_classifier_run (NerveTextClassifier *c, const char *const *texts, int n, float *probs,
                           NerveTextResult *results, GError **error)
{
  const int T = c->max_length, L = c->n_labels;
  /* Tokenize everything first, then batch texts of similar length together: the
   * recurrent layers stop at the longest text of a batch. */
  g_array_set_size (c->all_ids, 0);
  g_array_set_size (c->offsets, n);
  g_array_set_size (c->counts, n);
  g_array_set_size (c->order, n);
  int *counts = (int *) c->counts->data, *order = (int *) c->order->data;
  for (int i = 0; i < n; i++) {
    NerveTextResult *r = &results[i];
    *r = (NerveTextResult) { 0 };
    if (!nerve_tokenizer_encode (c->tok, texts[i], -1, c->scratch, &r->replaced, error))
      return FALSE;
    int len = (int) c->scratch->len;
    r->truncated = len > T;
    r->n_tokens = counts[i] = MIN (len, T);
    g_array_index (c->offsets, gsize, i) = c->all_ids->len;
    g_array_append_vals (c->all_ids, c->scratch->data, counts[i]);
    order[i] = i;
  }
  if (n > c->max_batch)
    g_qsort_with_data (order, n, sizeof (int), cmp_by_count, counts);
  const gint32 *all = (const gint32 *) c->all_ids->data;
  for (int start = 0; start < n; start += c->max_batch) {
    const int nb = MIN (c->max_batch, n - start);
    memset (c->ids, 0, sizeof (float) * (gsize) nb * T);
    for (int i = 0; i < nb; i++) {
      int k = order[start + i], len = counts[k];
      const gint32 *ids = all + g_array_index (c->offsets, gsize, k);
      float *row = c->ids + (gsize) i * T;
      for (int t = 0; t < len; t++)
        row[t] = (float) ids[t];
      /* an empty text still gets an answer: one unknown token */
      if (len == 0) {
        row[0] = (float) nerve_tokenizer_unk_id (c->tok);
        len = 1;
      }
      c->lengths[i] = len;
    }
    const float *logits = nerve_runner_forward_seq (c->runner, c->ids, c->lengths, nb, FALSE, NULL);
    for (int i = 0; i < nb; i++) {
      const int k = order[start + i];
      const float *z = logits + (gsize) i * L;
      int best = 0;
      float mx = z[0], sum = 0;
      for (int j = 1; j < L; j++)
        if (z[j] > mx)
          mx = z[j], best = j;
      for (int j = 0; j < L; j++)
        sum += expf (z[j] - mx);
      results[k].label = best;
      results[k].confidence = 1.0f / sum;
      if (probs)
        for (int j = 0; j < L; j++)
          probs[(gsize) k * L + j] = expf (z[j] - mx) / sum;
    }
  }
  return TRUE;
}

/* Building a layer graph from its architecture JSON, the parameter arena, and the
 * runner that executes forward and backward over batches. */
#include "model.h"

#include "layer-private.h"

#include <math.h>
#include <string.h>

#define ARENA_ALIGN_FLOATS 16

static void
layer_free (NerveLayer *l)
{
  if (!l)
    return;
  if (l->klass && l->klass->finalize)
    l->klass->finalize (l);
  for (int i = 0; i < l->n_params; i++)
    g_free (l->params[i].name);
  g_free (l->params);
  g_free (l->name);
  g_free (l);
}

static gboolean
parse_shape (JsonNode *n, NerveShape *s, GError **error)
{
  if (!n || !JSON_NODE_HOLDS_ARRAY (n))
    goto bad;
  JsonArray *a = json_node_get_array (n);
  guint len = json_array_get_length (a);
  if (len < 1 || len > NERVE_MAX_DIMS - 1)
    goto bad;
  s->ndim = (int) len;
  gsize numel = 1;
  for (guint i = 0; i < len; i++) {
    JsonNode *e = json_array_get_element (a, i);
    if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_INT64)
      goto bad;
    gint64 v = json_node_get_int (e);
    if (v < 1 || v > (1 << 24))
      goto bad;
    s->dim[i] = (int) v;
    numel *= (gsize) v;
  }
  if (numel > (1u << 28))
    goto bad;
  return TRUE;
bad:
  g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
               "architecture: 'input' must be a list of 1 to %d positive integers (a sample's shape)",
               NERVE_MAX_DIMS - 1);
  return FALSE;
}

static int
find_node (NerveModel *m, int n_built, const char *name)
{
  if (g_str_equal (name, "input"))
    return -1;
  for (int i = 0; i < n_built; i++)
    if (g_str_equal (m->layers[i]->name, name))
      return i;
  return -2;
}

static gboolean
build_layer (NerveModel *m, int index, JsonNode *node, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "architecture: layer %d is not an object", index);
    return FALSE;
  }
  JsonObject *o = json_node_get_object (node);
  const char *type = json_object_get_string_member_with_default (o, "type", NULL);
  if (!type) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "architecture: layer %d has no \"type\"", index);
    return FALSE;
  }
  const NerveLayerClass *k = nerve_layer_class_find (type);
  if (!k) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_UNSUPPORTED,
                 "architecture: layer %d has unknown type '%s'", index, type);
    return FALSE;
  }
  NerveLayer *l = g_malloc0 (k->size);
  m->layers[index] = l;
  l->klass = k;
  const char *name = json_object_get_string_member_with_default (o, "name", NULL);
  l->name = name ? g_strdup (name) : g_strdup_printf ("%s%d", type, index);
  if (!l->name[0] || strchr (l->name, '.') || g_str_equal (l->name, "input") ||
      find_node (m, index, l->name) != -2) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
                 "architecture: layer %d: name '%s' is empty, reserved, contains '.', or is used twice",
                 index, l->name);
    return FALSE;
  }

  NerveCfg cfg;
  nerve_cfg_init (&cfg, o, l->name);
  nerve_cfg_mark (&cfg, "type");
  nerve_cfg_mark (&cfg, "name");
  gboolean ok = FALSE;
  if (json_object_has_member (o, "inputs")) {
    nerve_cfg_mark (&cfg, "inputs");
    JsonNode *in = json_object_get_member (o, "inputs");
    JsonArray *a = JSON_NODE_HOLDS_ARRAY (in) ? json_node_get_array (in) : NULL;
    guint n = a ? json_array_get_length (a) : 0;
    if (n < 1 || n > NERVE_MAX_INPUTS) {
      nerve_layer_error (l, error, NERVE_ERROR_INVALID, "'inputs' must list 1 to %d layer names",
                         NERVE_MAX_INPUTS);
      goto out;
    }
    for (guint i = 0; i < n; i++) {
      JsonNode *e = json_array_get_element (a, i);
      const char *src = JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING
                          ? json_node_get_string (e) : "";
      int idx = find_node (m, index, src);
      if (idx == -2) {
        nerve_layer_error (l, error, NERVE_ERROR_INVALID,
                           "input '%s' is not \"input\" or an earlier layer", src);
        goto out;
      }
      l->inputs[l->n_inputs++] = idx;
    }
  } else {
    l->inputs[l->n_inputs++] = index - 1;
  }
  if (l->n_inputs < k->min_inputs || l->n_inputs > k->max_inputs) {
    nerve_layer_error (l, error, NERVE_ERROR_INVALID, "takes %d to %d inputs, got %d", k->min_inputs,
                       k->max_inputs, l->n_inputs);
    goto out;
  }
  for (int i = 0; i < l->n_inputs; i++)
    l->in_shape[i] = l->inputs[i] < 0 ? m->input_shape : m->layers[l->inputs[i]]->out_shape;
  if (!k->configure (l, &cfg, error) || !nerve_cfg_check_unused (&cfg, error))
    goto out;
  if (l->out_shape.ndim < 1 || nerve_shape_numel (&l->out_shape) == 0 ||
      nerve_shape_numel (&l->out_shape) > (1u << 28)) {
    nerve_layer_error (l, error, NERVE_ERROR_SHAPE, "output shape is empty or too large");
    goto out;
  }
  ok = TRUE;
out:
  nerve_cfg_clear (&cfg);
  return ok;
}

gboolean
nerve_json_depth_ok (const char *json, gssize len, int max_depth)
{
  gsize n = len < 0 ? strlen (json) : (gsize) len;
  int depth = 0;
  gboolean in_string = FALSE;
  for (gsize i = 0; i < n; i++) {
    char c = json[i];
    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = FALSE;
    } else if (c == '"') {
      in_string = TRUE;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth)
        return FALSE;
    } else if ((c == ']' || c == '}') && depth > 0) {
      depth--;
    }
  }
  return TRUE;
}

#define ARCH_MAX_DEPTH 32

NerveModel *
nerve_model_new (const char *architecture_json, GError **error)
{
  return nerve_model_new_bounded (architecture_json, G_MAXSIZE, error);
}

NerveModel *
nerve_model_new_bounded (const char *architecture_json, gsize max_values, GError **error)
{
  g_return_val_if_fail (architecture_json != NULL, NULL);
  if (!nerve_json_depth_ok (architecture_json, -1, ARCH_MAX_DEPTH)) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT,
                 "architecture nests lists/objects deeper than %d levels", ARCH_MAX_DEPTH);
    return NULL;
  }
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) jerr = NULL;
  if (!json_parser_load_from_data (parser, architecture_json, -1, &jerr)) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT, "architecture is not valid JSON: %s",
                 jerr->message);
    return NULL;
  }
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT, "architecture must be a JSON object");
    return NULL;
  }
  JsonObject *o = json_node_get_object (root);
  JsonNode *layers = json_object_get_member (o, "layers");
  if (!layers || !JSON_NODE_HOLDS_ARRAY (layers) ||
      json_array_get_length (json_node_get_array (layers)) == 0 ||
      json_array_get_length (json_node_get_array (layers)) > 4096) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT,
                 "architecture: \"layers\" must be a non-empty list (at most 4096)");
    return NULL;
  }
  g_autoptr (NerveModel) m = g_new0 (NerveModel, 1);
  m->ref_count = 1;
  m->architecture = g_strdup (architecture_json);
  m->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  m->blobs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_bytes_unref);
  if (!parse_shape (json_object_get_member (o, "input"), &m->input_shape, error))
    return NULL;
  JsonArray *a = json_node_get_array (layers);
  m->n_layers = (int) json_array_get_length (a);
  m->layers = g_new0 (NerveLayer *, m->n_layers);
  for (int i = 0; i < m->n_layers; i++)
    if (!build_layer (m, i, json_array_get_element (a, i), error))
      return NULL;
  m->output = m->n_layers - 1;
  const char *out = json_object_get_string_member_with_default (o, "output", NULL);
  if (out && (m->output = find_node (m, m->n_layers, out)) < 0) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "architecture: output '%s' is not a layer", out);
    return NULL;
  }

  gsize off = 0, values = 0;
  for (int i = 0; i < m->n_layers; i++)
    for (int j = 0; j < m->layers[i]->n_params; j++) {
      NerveParam *p = &m->layers[i]->params[j];
      p->offset = off;
      values += nerve_shape_numel (&p->shape);
      off += (nerve_shape_numel (&p->shape) + ARENA_ALIGN_FLOATS - 1) & ~(gsize) (ARENA_ALIGN_FLOATS - 1);
      if (off > ((gsize) 1 << 32)) {
        g_set_error (error, NERVE_ERROR, NERVE_ERROR_NOMEM, "architecture: more than 2^32 parameters");
        return NULL;
      }
    }
  if (values > max_values) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT,
                 "architecture has %zu parameter values, more than the %zu the data can hold",
                 values, max_values);
    return NULL;
  }
  m->n_floats = off;
  if (!(m->arena = nerve_alloc_floats (off))) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_NOMEM, "cannot allocate %zu parameters", off);
    return NULL;
  }
  for (int i = 0; i < m->n_layers; i++)
    for (int j = 0; j < m->layers[i]->n_params; j++)
      m->layers[i]->params[j].data = m->arena + m->layers[i]->params[j].offset;
  return g_steal_pointer (&m);
}

NerveModel *
nerve_model_ref (NerveModel *m)
{
  g_atomic_int_inc (&m->ref_count);
  return m;
}

void
nerve_model_unref (NerveModel *m)
{
  if (!m || !g_atomic_int_dec_and_test (&m->ref_count))
    return;
  for (int i = 0; i < m->n_layers; i++)
    layer_free (m->layers[i]);
  g_free (m->layers);
  g_free (m->architecture);
  g_hash_table_unref (m->metadata);
  if (m->blobs)
    g_hash_table_unref (m->blobs);
  nerve_free_floats (m->arena);
  nerve_free_floats (m->grad);
  g_free (m);
}

void
nerve_model_foreach_param (NerveModel *m, void (*fn) (NerveParam *p, gpointer data), gpointer data)
{
  for (int i = 0; i < m->n_layers; i++)
    for (int j = 0; j < m->layers[i]->n_params; j++)
      fn (&m->layers[i]->params[j], data);
}

static void
init_param (NerveParam *p, gpointer data)
{
  NerveRng *rng = data;
  gsize n = nerve_shape_numel (&p->shape);
  for (gsize i = 0; i < n; i++)
    switch (p->init) {
    case NERVE_INIT_ZERO: p->data[i] = 0; break;
    case NERVE_INIT_ONE: p->data[i] = 1; break;
    case NERVE_INIT_UNIFORM: p->data[i] = p->scale * (2 * nerve_rng_uniform (rng) - 1); break;
    case NERVE_INIT_NORMAL: p->data[i] = p->scale * nerve_rng_normal (rng); break;
    }
}

void
nerve_model_init_params (NerveModel *m, guint64 seed)
{
  NerveRng rng;
  nerve_rng_seed (&rng, seed);
  nerve_model_foreach_param (m, init_param, &rng);
}

gboolean
nerve_model_enable_grads (NerveModel *m, GError **error)
{
  if (m->grad)
    return TRUE;
  if (!(m->grad = nerve_alloc_floats (m->n_floats))) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_NOMEM, "cannot allocate gradients");
    return FALSE;
  }
  for (int i = 0; i < m->n_layers; i++)
    for (int j = 0; j < m->layers[i]->n_params; j++) {
      NerveParam *p = &m->layers[i]->params[j];
      p->grad = (p->flags & NERVE_PARAM_BUFFER) ? NULL : m->grad + p->offset;
    }
  return TRUE;
}

void
nerve_model_zero_grads (NerveModel *m)
{
  if (m->grad)
    memset (m->grad, 0, m->n_floats * sizeof (float));
}

const NerveShape *
nerve_model_output_shape (const NerveModel *m)
{
  return &m->layers[m->output]->out_shape;
}

NerveLayer *
nerve_model_find_layer (NerveModel *m, const char *name)
{
  int i = find_node (m, m->n_layers, name);
  return i >= 0 ? m->layers[i] : NULL;
}

NerveParam *
nerve_model_find_param (NerveModel *m, const char *name)
{
  for (int i = 0; i < m->n_layers; i++)
    for (int j = 0; j < m->layers[i]->n_params; j++)
      if (g_str_equal (m->layers[i]->params[j].name, name))
        return &m->layers[i]->params[j];
  return NULL;
}

gsize
nerve_model_n_trainable (const NerveModel *m)
{
  gsize n = 0;
  for (int i = 0; i < m->n_layers; i++)
    for (int j = 0; j < m->layers[i]->n_params; j++)
      if (!(m->layers[i]->params[j].flags & NERVE_PARAM_BUFFER))
        n += nerve_shape_numel (&m->layers[i]->params[j].shape);
  return n;
}

void
nerve_model_set_meta (NerveModel *m, const char *key, const char *value)
{
  g_hash_table_replace (m->metadata, g_strdup (key), g_strdup (value));
}

const char *
nerve_model_get_meta (const NerveModel *m, const char *key)
{
  return g_hash_table_lookup (m->metadata, key);
}

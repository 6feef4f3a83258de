/* Parameter declaration and the JSON config reader used by every layer class. */
#include "layer-private.h"

#include <math.h>
#include <stdarg.h>

NerveParam *
nerve_layer_add_param (NerveLayer *l, const char *suffix, NerveShape shape, NerveInit init,
                       float scale, guint flags)
{
  l->params = g_renew (NerveParam, l->params, l->n_params + 1);
  NerveParam *p = &l->params[l->n_params++];
  *p = (NerveParam) { 0 };
  p->name = g_strdup_printf ("%s.%s", l->name, suffix);
  p->shape = shape;
  p->init = init;
  p->scale = scale;
  p->flags = flags;
  return p;
}

gboolean
nerve_layer_error (NerveLayer *l, GError **error, int code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, NERVE_ERROR, code, "layer '%s' (%s): %s", l->name, l->klass->type, msg);
  return FALSE;
}

void
nerve_cfg_init (NerveCfg *c, JsonObject *obj, const char *layer)
{
  c->obj = obj;
  c->layer = layer;
  c->used = g_hash_table_new (g_str_hash, g_str_equal);
}

void
nerve_cfg_clear (NerveCfg *c)
{
  g_clear_pointer (&c->used, g_hash_table_unref);
}

void
nerve_cfg_mark (NerveCfg *c, const char *key)
{
  g_hash_table_add (c->used, (gpointer) key);
}

gboolean
nerve_cfg_has (NerveCfg *c, const char *key)
{
  return c->obj && json_object_has_member (c->obj, key);
}

gboolean
nerve_cfg_check_unused (NerveCfg *c, GError **error)
{
  if (!c->obj)
    return TRUE;
  g_autoptr (GList) keys = json_object_get_members (c->obj);
  for (GList *k = keys; k; k = k->next)
    if (!g_hash_table_contains (c->used, k->data)) {
      g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
                   "layer '%s': unknown key '%s'", c->layer, (const char *) k->data);
      return FALSE;
    }
  return TRUE;
}

static JsonNode *
cfg_get (NerveCfg *c, const char *key)
{
  if (!nerve_cfg_has (c, key))
    return NULL;
  nerve_cfg_mark (c, key);
  return json_object_get_member (c->obj, key);
}

static gboolean
bad (NerveCfg *c, GError **error, const char *key, const char *what)
{
  g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "layer '%s': '%s' %s", c->layer, key, what);
  return FALSE;
}

static gboolean
node_int (NerveCfg *c, JsonNode *n, const char *key, int min, int max, int *out, GError **error)
{
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    return bad (c, error, key, "must be an integer");
  gint64 v = json_node_get_int (n);
  if (v < min || v > max) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
                 "layer '%s': '%s' is %" G_GINT64_FORMAT ", must be in [%d, %d]", c->layer, key,
                 v, min, max);
    return FALSE;
  }
  *out = (int) v;
  return TRUE;
}

gboolean
nerve_cfg_int (NerveCfg *c, const char *key, int def, int min, int max, int *out, GError **error)
{
  JsonNode *n = cfg_get (c, key);
  if (!n) {
    *out = def;
    return TRUE;
  }
  return node_int (c, n, key, min, max, out, error);
}

gboolean
nerve_cfg_int2 (NerveCfg *c, const char *key, int def, int min, int max, int out[2], GError **error)
{
  JsonNode *n = cfg_get (c, key);
  if (!n) {
    out[0] = out[1] = def;
    return TRUE;
  }
  if (JSON_NODE_HOLDS_ARRAY (n)) {
    JsonArray *a = json_node_get_array (n);
    if (json_array_get_length (a) != 2)
      return bad (c, error, key, "must be an integer or a list of two integers");
    return node_int (c, json_array_get_element (a, 0), key, min, max, &out[0], error) &&
           node_int (c, json_array_get_element (a, 1), key, min, max, &out[1], error);
  }
  if (!node_int (c, n, key, min, max, &out[0], error))
    return FALSE;
  out[1] = out[0];
  return TRUE;
}

gboolean
nerve_cfg_int_list (NerveCfg *c, const char *key, int max_len, int min, int max, int *out, int *len,
                    GError **error)
{
  JsonNode *n = cfg_get (c, key);
  *len = 0;
  if (!n)
    return TRUE;
  JsonArray *a = JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
  guint count = a ? json_array_get_length (a) : 0;
  if (count < 1 || count > (guint) max_len) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "layer '%s': '%s' must be a list of 1 to %d integers",
                 c->layer, key, max_len);
    return FALSE;
  }
  for (guint i = 0; i < count; i++)
    if (!node_int (c, json_array_get_element (a, i), key, min, max, &out[i], error))
      return FALSE;
  *len = (int) count;
  return TRUE;
}

gboolean
nerve_cfg_float (NerveCfg *c, const char *key, double def, double min, double max, float *out,
                 GError **error)
{
  JsonNode *n = cfg_get (c, key);
  if (!n) {
    *out = (float) def;
    return TRUE;
  }
  GType t = JSON_NODE_HOLDS_VALUE (n) ? json_node_get_value_type (n) : G_TYPE_INVALID;
  if (t != G_TYPE_DOUBLE && t != G_TYPE_INT64)
    return bad (c, error, key, "must be a number");
  double v = json_node_get_double (n);
  if (!isfinite (v) || v < min || v > max) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
                 "layer '%s': '%s' is %g, must be in [%g, %g]", c->layer, key, v, min, max);
    return FALSE;
  }
  *out = (float) v;
  return TRUE;
}

gboolean
nerve_cfg_bool (NerveCfg *c, const char *key, gboolean def, gboolean *out, GError **error)
{
  JsonNode *n = cfg_get (c, key);
  if (!n) {
    *out = def;
    return TRUE;
  }
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_BOOLEAN)
    return bad (c, error, key, "must be true or false");
  *out = json_node_get_boolean (n);
  return TRUE;
}

gboolean
nerve_cfg_enum (NerveCfg *c, const char *key, const char *def, const char *const *choices,
                int *out, GError **error)
{
  JsonNode *n = cfg_get (c, key);
  const char *s = def;
  if (n) {
    if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
      return bad (c, error, key, "must be a string");
    s = json_node_get_string (n);
  }
  for (int i = 0; choices[i]; i++)
    if (g_str_equal (s, choices[i])) {
      *out = i;
      return TRUE;
    }
  g_autofree char *list = g_strjoinv (", ", (char **) choices);
  g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
               "layer '%s': '%s' is '%s', must be one of: %s", c->layer, key, s, list);
  return FALSE;
}

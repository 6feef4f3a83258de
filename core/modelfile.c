/* Loading model files in the safetensors layout (see modelfile.h and
 * docs/model-format.md). The loader treats the file as hostile: it checks every
 * length, offset, dtype, shape and name before it builds a model or copies data. */
#include "modelfile.h"
#include "modelfile-private.h"

#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_MAX ((guint64) 100 * 1024 * 1024)
#define HEADER_MAX_DEPTH 8 /* a valid header nests 3 deep: root, tensor, shape */
#define TENSOR_MAX_DIMS 8
#define ARENA_SLACK ((gsize) 1 << 20) /* floats beyond what the data holds */


/* Every safetensors dtype, so a file from PyTorch gets "unsupported", not "unknown". */
enum { DT_F32, DT_U8 };
static const struct {
  const char *name;
  guint size;
} dtypes[] = {
  { "F32", 4 }, { "U8", 1 }, { "F64", 8 }, { "F16", 2 }, { "BF16", 2 }, { "I64", 8 },
  { "I32", 4 }, { "I16", 2 }, { "I8", 1 }, { "U64", 8 }, { "U32", 4 }, { "U16", 2 },
  { "BOOL", 1 }, { "F8_E4M3", 1 }, { "F8_E5M2", 1 },
};

typedef enum { ROLE_NONE, ROLE_PARAM, ROLE_EXTRA, ROLE_BLOB } Role;

typedef struct {
  const char *name; /* owned by the parsed header */
  int dtype;
  int ndim;
  guint64 dim[TENSOR_MAX_DIMS];
  guint64 begin, end; /* within the data section */
  Role role;
} TensorInfo;

static const char *
role_name (Role r)
{
  return r == ROLE_PARAM ? "parameter" : r == ROLE_EXTRA ? "extra" : "blob";
}

static char *
format_dims (const guint64 *dim, int ndim)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < ndim; i++)
    g_string_append_printf (s, i ? ",%" G_GUINT64_FORMAT : "%" G_GUINT64_FORMAT, dim[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static gboolean
fail (GError **error, int code, const char *what, const char *fmt, ...) G_GNUC_PRINTF (4, 5);

static gboolean
fail (GError **error, int code, const char *what, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, NERVE_ERROR, code, "%s: %s", what, msg);
  return FALSE;
}

/* ---- header parsing ---------------------------------------------------------------- */

/* json-glib keeps the last of two members with the same name, silently: watch every
 * member as the parser adds it. Objects are only freed when a duplicate replaces
 * them, and the first duplicate stops the load, so object pointers stay unique. */
typedef struct {
  GHashTable *seen; /* JsonObject* -> GHashTable of names */
  char *dup;
  gconstpointer dup_object;
} DupCheck;

static void
on_object_member (JsonParser *parser, JsonObject *object, const char *name, gpointer data)
{
  DupCheck *d = data;
  if (d->dup)
    return;
  GHashTable *names = g_hash_table_lookup (d->seen, object);
  if (!names) {
    names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    g_hash_table_insert (d->seen, object, names);
  }
  if (g_hash_table_contains (names, name)) {
    d->dup = g_strdup (name);
    d->dup_object = object;
  } else {
    g_hash_table_add (names, g_strdup (name));
  }
}

static gboolean
get_uint (JsonNode *n, guint64 *out)
{
  if (!n || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    return FALSE;
  gint64 v = json_node_get_int (n);
  if (v < 0)
    return FALSE;
  *out = (guint64) v;
  return TRUE;
}

static gboolean
parse_tensor (const char *what, const char *name, JsonNode *node, guint64 data_len, TensorInfo *t,
              GError **error)
{
  t->name = name;
  if (!*name)
    return fail (error, NERVE_ERROR_FORMAT, what, "a tensor has an empty name");
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail (error, NERVE_ERROR_FORMAT, what,
                 "tensor '%s' is not an object {\"dtype\", \"shape\", \"data_offsets\"}", name);
  JsonObject *o = json_node_get_object (node);
  g_autoptr (GList) keys = json_object_get_members (o);
  for (GList *k = keys; k; k = k->next)
    if (!g_str_equal (k->data, "dtype") && !g_str_equal (k->data, "shape") &&
        !g_str_equal (k->data, "data_offsets"))
      return fail (error, NERVE_ERROR_FORMAT, what,
                   "tensor '%s' has unknown key '%s' (expected dtype, shape, data_offsets)", name,
                   (const char *) k->data);

  JsonNode *dn = json_object_get_member (o, "dtype");
  const char *dtype = dn && JSON_NODE_HOLDS_VALUE (dn) && json_node_get_value_type (dn) == G_TYPE_STRING
                        ? json_node_get_string (dn) : NULL;
  if (!dtype)
    return fail (error, NERVE_ERROR_FORMAT, what, "tensor '%s' has no \"dtype\" string", name);
  t->dtype = -1;
  for (guint i = 0; i < G_N_ELEMENTS (dtypes); i++)
    if (g_str_equal (dtype, dtypes[i].name))
      t->dtype = (int) i;
  if (t->dtype < 0)
    return fail (error, NERVE_ERROR_FORMAT, what,
                 "tensor '%s' has unknown dtype '%s' (safetensors dtypes are F32, F16, BF16, U8, I64...)",
                 name, dtype);
  if (t->dtype != DT_F32 && t->dtype != DT_U8)
    return fail (error, NERVE_ERROR_UNSUPPORTED, what,
                 "tensor '%s' has dtype %s; Nerve reads F32 tensors (and U8 blobs): convert it, "
                 "e.g. tensor.float() in PyTorch, before saving", name, dtype);

  JsonNode *sn = json_object_get_member (o, "shape");
  JsonArray *sa = sn && JSON_NODE_HOLDS_ARRAY (sn) ? json_node_get_array (sn) : NULL;
  guint64 numel = 1;
  if (!sa || json_array_get_length (sa) > TENSOR_MAX_DIMS)
    goto bad_shape;
  t->ndim = (int) json_array_get_length (sa);
  for (int i = 0; i < t->ndim; i++) {
    if (!get_uint (json_array_get_element (sa, (guint) i), &t->dim[i]))
      goto bad_shape;
    if (!g_uint64_checked_mul (&numel, numel, t->dim[i]))
      return fail (error, NERVE_ERROR_FORMAT, what, "tensor '%s': shape has more than 2^64 elements", name);
  }
  guint64 bytes;
  if (!g_uint64_checked_mul (&bytes, numel, dtypes[t->dtype].size))
    return fail (error, NERVE_ERROR_FORMAT, what, "tensor '%s': shape has more than 2^64 bytes", name);

  JsonNode *on = json_object_get_member (o, "data_offsets");
  JsonArray *oa = on && JSON_NODE_HOLDS_ARRAY (on) ? json_node_get_array (on) : NULL;
  if (!oa || json_array_get_length (oa) != 2 || !get_uint (json_array_get_element (oa, 0), &t->begin) ||
      !get_uint (json_array_get_element (oa, 1), &t->end))
    return fail (error, NERVE_ERROR_FORMAT, what,
                 "tensor '%s': \"data_offsets\" must be [begin, end], two non-negative integers", name);
  if (t->begin > t->end)
    return fail (error, NERVE_ERROR_FORMAT, what,
                 "tensor '%s': data_offsets [%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT "] begin after they end",
                 name, t->begin, t->end);
  if (t->end > data_len)
    return fail (error, NERVE_ERROR_FORMAT, what,
                 "tensor '%s': data_offsets [%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT "] run past the end of "
                 "the data (%" G_GUINT64_FORMAT " bytes): the file is truncated or corrupted",
                 name, t->begin, t->end, data_len);
  if (t->end - t->begin != bytes) {
    g_autofree char *s = format_dims (t->dim, t->ndim);
    return fail (error, NERVE_ERROR_FORMAT, what,
                 "tensor '%s': %s %s needs %" G_GUINT64_FORMAT " bytes but data_offsets [%" G_GUINT64_FORMAT
                 ",%" G_GUINT64_FORMAT "] hold %" G_GUINT64_FORMAT,
                 name, dtypes[t->dtype].name, s, bytes, t->begin, t->end, t->end - t->begin);
  }
  return TRUE;
bad_shape:
  return fail (error, NERVE_ERROR_FORMAT, what,
               "tensor '%s': \"shape\" must be a list of at most %d non-negative integers", name,
               TENSOR_MAX_DIMS);
}

static int
cmp_begin (gconstpointer a, gconstpointer b)
{
  const TensorInfo *x = *(TensorInfo *const *) a, *y = *(TensorInfo *const *) b;
  return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : x->end < y->end ? -1 : x->end > y->end;
}

static gboolean
check_overlaps (const char *what, TensorInfo *t, guint n, GError **error)
{
  g_autofree TensorInfo **order = g_new (TensorInfo *, n + 1);
  for (guint i = 0; i < n; i++)
    order[i] = &t[i];
  qsort (order, n, sizeof *order, cmp_begin);
  const TensorInfo *last = NULL; /* the non-empty tensor reaching furthest so far */
  for (guint i = 0; i < n; i++) {
    if (order[i]->begin == order[i]->end)
      continue;
    if (last && order[i]->begin < last->end)
      return fail (error, NERVE_ERROR_FORMAT, what,
                   "tensors '%s' [%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT "] and '%s' [%" G_GUINT64_FORMAT
                   ",%" G_GUINT64_FORMAT "] overlap in the data: the file is corrupted",
                   last->name, last->begin, last->end, order[i]->name, order[i]->begin, order[i]->end);
    if (!last || order[i]->end > last->end)
      last = order[i];
  }
  return TRUE;
}

/* nerve.extras / nerve.blobs: a JSON list of tensor names that are not parameters. */
static gboolean
mark_declared (const char *what, JsonObject *meta, const char *key, Role role, GHashTable *by_name,
               GError **error)
{
  const char *list = meta ? json_object_get_string_member_with_default (meta, key, NULL) : NULL;
  if (!list)
    return TRUE;
  g_autoptr (JsonParser) p = json_parser_new ();
  JsonNode *root = NULL;
  if (nerve_json_depth_ok (list, -1, 2) && json_parser_load_from_data (p, list, -1, NULL))
    root = json_parser_get_root (p);
  if (!root || !JSON_NODE_HOLDS_ARRAY (root))
    return fail (error, NERVE_ERROR_FORMAT, what, "metadata %s must be a JSON list of tensor names", key);
  JsonArray *a = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (a); i++) {
    JsonNode *e = json_array_get_element (a, i);
    if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING)
      return fail (error, NERVE_ERROR_FORMAT, what, "metadata %s must be a JSON list of tensor names", key);
    const char *name = json_node_get_string (e);
    TensorInfo *t = g_hash_table_lookup (by_name, name);
    if (!t)
      return fail (error, NERVE_ERROR_FORMAT, what,
                   "metadata %s declares tensor '%s' but the file has no such tensor", key, name);
    if (t->role != ROLE_NONE)
      return fail (error, NERVE_ERROR_FORMAT, what, "tensor '%s' is declared twice in %s/%s", name,
                   NERVE_KEY_EXTRAS, NERVE_KEY_BLOBS);
    int want = role == ROLE_EXTRA ? DT_F32 : DT_U8;
    if (t->dtype != want || t->ndim != 1 || (role == ROLE_EXTRA && (t->dim[0] == 0 || t->dim[0] > G_MAXINT))) {
      g_autofree char *s = format_dims (t->dim, t->ndim);
      return fail (error, NERVE_ERROR_FORMAT, what, "%s tensor '%s' has dtype %s shape %s, expected a %s1-D %s",
                   role_name (role), name, dtypes[t->dtype].name, s,
                   role == ROLE_EXTRA ? "non-empty " : "", dtypes[want].name);
    }
    t->role = role;
  }
  return TRUE;
}

/* Copies n little-endian floats from possibly unaligned src. */
static void
copy_f32_le (float *dst, const guint8 *src, gsize n)
{
  memcpy (dst, src, n * sizeof (float));
#if G_BYTE_ORDER == G_BIG_ENDIAN
  guint32 *u = (guint32 *) dst;
  for (gsize i = 0; i < n; i++)
    u[i] = GUINT32_FROM_LE (u[i]);
#endif
}

NerveModel *
nerve_model_load_from_data_with_extras (const guint8 *data, gsize len, const char *what,
                                        GHashTable **extras, GError **error)
{
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  if (!what)
    what = "model";
  if (extras)
    *extras = NULL;
  if (len < 8) {
    fail (error, NERVE_ERROR_FORMAT, what,
          "%zu bytes is shorter than the 8-byte header length: the file is truncated or not a model", len);
    return NULL;
  }
  guint64 hlen;
  memcpy (&hlen, data, 8);
  hlen = GUINT64_FROM_LE (hlen);
  if (hlen > HEADER_MAX) {
    fail (error, NERVE_ERROR_FORMAT, what,
          "header length %" G_GUINT64_FORMAT " is absurd (the limit is 100 MB): not a Nerve/safetensors file",
          hlen);
    return NULL;
  }
  if (hlen > len - 8) {
    fail (error, NERVE_ERROR_FORMAT, what,
          "header length %" G_GUINT64_FORMAT " runs past the end of the file (%zu bytes): the file is truncated",
          hlen, len);
    return NULL;
  }
  const char *header = (const char *) data + 8;
  const guint8 *payload = data + 8 + hlen;
  guint64 data_len = len - 8 - hlen;
  if (!g_utf8_validate_len (header, hlen, NULL)) {
    fail (error, NERVE_ERROR_FORMAT, what, "header is not valid UTF-8 text: the file is corrupted or not a model");
    return NULL;
  }
  if (!nerve_json_depth_ok (header, (gssize) hlen, HEADER_MAX_DEPTH)) {
    fail (error, NERVE_ERROR_FORMAT, what, "header nests deeper than %d levels: not a model header",
          HEADER_MAX_DEPTH);
    return NULL;
  }

  g_autoptr (JsonParser) parser = json_parser_new ();
  DupCheck dup = { g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_hash_table_unref), NULL, NULL };
  g_signal_connect (parser, "object-member", G_CALLBACK (on_object_member), &dup);
  g_autoptr (GError) jerr = NULL;
  gboolean parsed = json_parser_load_from_data (parser, header, (gssize) hlen, &jerr);
  g_hash_table_unref (dup.seen);
  g_autofree char *dup_name = dup.dup;
  if (!parsed) {
    fail (error, NERVE_ERROR_FORMAT, what, "header is not valid JSON (%s): the file is corrupted or not a model",
          jerr->message);
    return NULL;
  }
  JsonNode *root_node = json_parser_get_root (parser);
  if (!root_node || !JSON_NODE_HOLDS_OBJECT (root_node)) {
    fail (error, NERVE_ERROR_FORMAT, what, "header is not a JSON object");
    return NULL;
  }
  JsonObject *root = json_node_get_object (root_node);
  if (dup_name) {
    if (dup.dup_object == (gconstpointer) root)
      fail (error, NERVE_ERROR_FORMAT, what, "tensor '%s' appears twice in the header: the file is corrupted",
            dup_name);
    else
      fail (error, NERVE_ERROR_FORMAT, what, "key '%s' appears twice in an object of the header: the file is corrupted",
            dup_name);
    return NULL;
  }

  /* Metadata: string -> string, as safetensors requires. */
  JsonObject *meta = NULL;
  if (json_object_has_member (root, "__metadata__")) {
    JsonNode *mn = json_object_get_member (root, "__metadata__");
    if (!JSON_NODE_HOLDS_OBJECT (mn)) {
      fail (error, NERVE_ERROR_FORMAT, what, "\"__metadata__\" must be an object of strings");
      return NULL;
    }
    meta = json_node_get_object (mn);
    g_autoptr (GList) keys = json_object_get_members (meta);
    for (GList *k = keys; k; k = k->next) {
      JsonNode *v = json_object_get_member (meta, k->data);
      if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING) {
        fail (error, NERVE_ERROR_FORMAT, what, "metadata '%s' is not a string (safetensors metadata maps strings to strings)",
              (const char *) k->data);
        return NULL;
      }
    }
  }
  const char *version = meta ? json_object_get_string_member_with_default (meta, NERVE_KEY_VERSION, NULL) : NULL;
  if (!version) {
    fail (error, NERVE_ERROR_VERSION, what,
          "no " NERVE_KEY_VERSION " in the metadata: this is not a Nerve model (a plain safetensors file? "
          "import it with a Nerve architecture, see docs/model-format.md)");
    return NULL;
  }
  if (!g_str_equal (version, NERVE_FORMAT_VERSION)) {
    fail (error, NERVE_ERROR_VERSION, what,
          "format version '%s' is not supported (this Nerve reads version " NERVE_FORMAT_VERSION
          "): use a newer Nerve", version);
    return NULL;
  }
  const char *arch = json_object_get_string_member_with_default (meta, NERVE_KEY_ARCH, NULL);
  if (!arch) {
    fail (error, NERVE_ERROR_FORMAT, what, "no " NERVE_KEY_ARCH " in the metadata: the model cannot be rebuilt");
    return NULL;
  }

  /* Tensors: each on its own, then together. */
  guint n_tensors = json_object_get_size (root) - (meta ? 1 : 0);
  g_autofree TensorInfo *tensors = g_new0 (TensorInfo, n_tensors + 1);
  g_autoptr (GHashTable) by_name = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GList) names = json_object_get_members (root);
  guint nt = 0;
  for (GList *k = names; k; k = k->next) {
    if (g_str_equal (k->data, "__metadata__"))
      continue;
    g_assert (nt < n_tensors);
    if (!parse_tensor (what, k->data, json_object_get_member (root, k->data), data_len, &tensors[nt], error))
      return NULL;
    g_hash_table_insert (by_name, (gpointer) tensors[nt].name, &tensors[nt]);
    nt++;
  }
  if (!check_overlaps (what, tensors, nt, error) ||
      !mark_declared (what, meta, NERVE_KEY_EXTRAS, ROLE_EXTRA, by_name, error) ||
      !mark_declared (what, meta, NERVE_KEY_BLOBS, ROLE_BLOB, by_name, error))
    return NULL;

  /* The architecture, with its size bounded by the data so a tiny file cannot ask for
   * gigabytes (the slack lets a missing tensor be reported as missing); then every
   * parameter against its tensor. */
  g_autoptr (GError) merr = NULL;
  g_autoptr (NerveModel) m = nerve_model_new_bounded (arch, data_len / sizeof (float) + ARENA_SLACK, &merr);
  if (!m) {
    fail (error, merr->code, what, "%s", merr->message);
    return NULL;
  }
  for (int i = 0; i < m->n_layers; i++)
    for (int j = 0; j < m->layers[i]->n_params; j++) {
      NerveParam *p = &m->layers[i]->params[j];
      char want[96];
      nerve_shape_format (&p->shape, want, sizeof want);
      TensorInfo *t = g_hash_table_lookup (by_name, p->name);
      if (!t) {
        fail (error, NERVE_ERROR_FORMAT, what,
              "tensor '%s' is missing: the architecture needs it with shape %s", p->name, want);
        return NULL;
      }
      if (t->role != ROLE_NONE) {
        fail (error, NERVE_ERROR_FORMAT, what, "tensor '%s' is a parameter but is declared as %s", p->name,
              t->role == ROLE_EXTRA ? "an extra" : "a blob");
        return NULL;
      }
      if (t->dtype != DT_F32) {
        fail (error, NERVE_ERROR_FORMAT, what, "tensor '%s' has dtype %s, parameters are F32", p->name,
              dtypes[t->dtype].name);
        return NULL;
      }
      gboolean same = t->ndim == p->shape.ndim;
      for (int d = 0; same && d < t->ndim; d++)
        same = t->dim[d] == (guint64) p->shape.dim[d];
      if (!same) {
        g_autofree char *has = format_dims (t->dim, t->ndim);
        fail (error, NERVE_ERROR_SHAPE, what, "tensor '%s' has shape %s, architecture expects %s", p->name, has,
              want);
        return NULL;
      }
      t->role = ROLE_PARAM;
    }
  for (guint i = 0; i < nt; i++)
    if (tensors[i].role == ROLE_NONE) {
      fail (error, NERVE_ERROR_FORMAT, what,
            "unexpected tensor '%s': it is no parameter of the architecture and is not declared in "
            NERVE_KEY_EXTRAS "/" NERVE_KEY_BLOBS " (wrong architecture, or a file from another tool)", tensors[i].name);
      return NULL;
    }

  /* Everything checked: copy. */
  g_autoptr (GHashTable) xt = extras ? g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                              (GDestroyNotify) nerve_tensor_free) : NULL;
  for (guint i = 0; i < nt; i++) {
    TensorInfo *t = &tensors[i];
    const guint8 *src = payload + t->begin;
    if (t->role == ROLE_PARAM) {
      NerveParam *p = nerve_model_find_param (m, t->name);
      copy_f32_le (p->data, src, nerve_shape_numel (&p->shape));
    } else if (t->role == ROLE_BLOB) {
      g_hash_table_replace (m->blobs, g_strdup (t->name), g_bytes_new (src, t->end - t->begin));
    } else if (xt) {
      int n = (int) t->dim[0];
      NerveTensor *x = nerve_tensor_new (1, &n);
      if (!x) {
        fail (error, NERVE_ERROR_NOMEM, what, "cannot allocate extra tensor '%s' (%d values)", t->name, n);
        return NULL;
      }
      copy_f32_le (x->data, src, x->numel);
      g_hash_table_replace (xt, g_strdup (t->name), x);
    }
  }
  g_autoptr (GList) keys = meta ? json_object_get_members (meta) : NULL;
  for (GList *k = keys; k; k = k->next)
    if (!nerve_modelfile_key_is_generated (k->data))
      nerve_model_set_meta (m, k->data, json_object_get_string_member (meta, k->data));
  if (extras)
    *extras = g_steal_pointer (&xt);
  return g_steal_pointer (&m);
}

NerveModel *
nerve_model_load_from_data (const guint8 *data, gsize len, const char *what, GError **error)
{
  return nerve_model_load_from_data_with_extras (data, len, what, NULL, error);
}

NerveModel *
nerve_model_load_with_extras (const char *path, GHashTable **extras, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  if (extras)
    *extras = NULL;
  g_autoptr (GError) ioerr = NULL;
  g_autoptr (GMappedFile) f = g_mapped_file_new (path, FALSE, &ioerr);
  if (!f) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_IO, "cannot read model: %s", ioerr->message);
    return NULL;
  }
  return nerve_model_load_from_data_with_extras ((const guint8 *) g_mapped_file_get_contents (f),
                                                 g_mapped_file_get_length (f), path, extras, error);
}

NerveModel *
nerve_model_load (const char *path, GError **error)
{
  return nerve_model_load_with_extras (path, NULL, error);
}

/* ---- blobs --------------------------------------------------------------------------- */

void
nerve_model_set_blob (NerveModel *m, const char *name, GBytes *bytes)
{
  g_return_if_fail (m != NULL && name != NULL && name[0] && !g_str_equal (name, "__metadata__"));
  if (bytes)
    g_hash_table_replace (m->blobs, g_strdup (name), g_bytes_ref (bytes));
  else
    g_hash_table_remove (m->blobs, name);
}

GBytes *
nerve_model_get_blob (NerveModel *m, const char *name)
{
  g_return_val_if_fail (m != NULL && name != NULL, NULL);
  return g_hash_table_lookup (m->blobs, name);
}

static int
cmp_str (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

GPtrArray *
nerve_modelfile_sorted_keys (GHashTable *h)
{
  GPtrArray *a = g_ptr_array_new ();
  GHashTableIter it;
  gpointer k;
  g_hash_table_iter_init (&it, h);
  while (g_hash_table_iter_next (&it, &k, NULL))
    g_ptr_array_add (a, k);
  g_ptr_array_sort (a, cmp_str);
  return a;
}

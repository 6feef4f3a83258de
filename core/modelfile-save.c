/* Saving model files in the safetensors layout (see modelfile.h): parameters in arena
 * order, then extras, then blobs by name, all contiguous as safetensors requires; the
 * header padded to 8 bytes; metadata keys sorted, so the same model gives the same bytes. */
#include "modelfile.h"
#include "modelfile-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

enum { DT_F32, DT_U8 };
static const struct {
  const char *name;
  guint size;
} dtypes[] = { { "F32", 4 }, { "U8", 1 } };

typedef struct {
  const char *name;
  int dtype;
  NerveShape shape; /* blobs and extras: 1-D */
  gsize n;          /* elements */
  const void *data;
} OutTensor;

static gboolean
write_all (int fd, const void *buf, gsize n)
{
  const guint8 *p = buf;
  while (n > 0) {
    gssize w = write (fd, p, MIN (n, (gsize) 1 << 30));
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      if (w == 0)
        errno = EIO;
      return FALSE;
    }
    p += w;
    n -= (gsize) w;
  }
  return TRUE;
}

static gboolean
write_tensor (int fd, const OutTensor *t)
{
#if G_BYTE_ORDER == G_BIG_ENDIAN
  if (t->dtype == DT_F32) {
    guint32 buf[1024];
    const guint32 *src = t->data;
    for (gsize i = 0; i < t->n; i += G_N_ELEMENTS (buf)) {
      gsize k = MIN (t->n - i, G_N_ELEMENTS (buf));
      for (gsize j = 0; j < k; j++)
        buf[j] = GUINT32_TO_LE (src[i + j]);
      if (!write_all (fd, buf, k * 4))
        return FALSE;
    }
    return TRUE;
  }
#endif
  return write_all (fd, t->data, t->n * dtypes[t->dtype].size);
}

/* Names of the non-parameter tensors (from index first on) of one dtype, as JSON. */
static char *
json_name_list (GArray *tensors, guint first, int dtype)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_array (b);
  for (guint i = first; i < tensors->len; i++) {
    OutTensor *t = &g_array_index (tensors, OutTensor, i);
    if (t->dtype == dtype)
      json_builder_add_string_value (b, t->name);
  }
  json_builder_end_array (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

/* The tensors to write, in order: parameters (arena order), extras, blobs (by name). */
static GArray *
collect_tensors (NerveModel *m, const NerveExtraTensor *extras, int n_extras, int *n_params, GError **error)
{
  g_autoptr (GArray) out = g_array_new (FALSE, TRUE, sizeof (OutTensor));
  g_autoptr (GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  for (int i = 0; i < m->n_layers; i++)
    for (int j = 0; j < m->layers[i]->n_params; j++) {
      NerveParam *p = &m->layers[i]->params[j];
      OutTensor t = { p->name, DT_F32, p->shape, nerve_shape_numel (&p->shape), p->data };
      g_array_append_val (out, t);
      g_hash_table_add (names, p->name);
    }
  *n_params = (int) out->len;
  for (int i = 0; i < n_extras; i++) {
    const NerveExtraTensor *x = &extras[i];
    if (!x->name || !x->name[0] || g_str_equal (x->name, "__metadata__") || g_hash_table_contains (names, x->name) ||
        g_hash_table_contains (m->blobs, x->name) || x->n == 0 || x->n > G_MAXINT || !x->data) {
      g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
                   "extra tensor '%s' must have a unique name (not a parameter, blob or \"__metadata__\") "
                   "and 1 to 2^31-1 values", x->name ? x->name : "(null)");
      return NULL;
    }
    OutTensor t = { x->name, DT_F32, nerve_shape_make (1, (int) x->n), x->n, x->data };
    g_array_append_val (out, t);
    g_hash_table_add (names, (gpointer) x->name);
  }
  g_autoptr (GPtrArray) blobs = nerve_modelfile_sorted_keys (m->blobs);
  for (guint i = 0; i < blobs->len; i++) {
    const char *name = blobs->pdata[i];
    GBytes *b = g_hash_table_lookup (m->blobs, name);
    if (g_hash_table_contains (names, name) || g_bytes_get_size (b) > G_MAXINT) {
      g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
                   "blob '%s' has the name of a parameter or extra, or is 2 GB or more", name);
      return NULL;
    }
    gsize size;
    const void *data = g_bytes_get_data (b, &size);
    OutTensor t = { name, DT_U8, nerve_shape_make (1, (int) size), size, data ? data : "" };
    g_array_append_val (out, t);
  }
  return g_steal_pointer (&out);
}

static char *
build_header (NerveModel *m, GArray *tensors, int n_params)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "__metadata__");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, NERVE_KEY_VERSION);
  json_builder_add_string_value (b, NERVE_FORMAT_VERSION);
  json_builder_set_member_name (b, NERVE_KEY_ARCH);
  json_builder_add_string_value (b, m->architecture);
  gboolean has_extras = FALSE, has_blobs = FALSE;
  for (guint i = (guint) n_params; i < tensors->len; i++)
    *(g_array_index (tensors, OutTensor, i).dtype == DT_F32 ? &has_extras : &has_blobs) = TRUE;
  if (has_extras) {
    g_autofree char *l = json_name_list (tensors, (guint) n_params, DT_F32);
    json_builder_set_member_name (b, NERVE_KEY_EXTRAS);
    json_builder_add_string_value (b, l);
  }
  if (has_blobs) {
    g_autofree char *l = json_name_list (tensors, (guint) n_params, DT_U8);
    json_builder_set_member_name (b, NERVE_KEY_BLOBS);
    json_builder_add_string_value (b, l);
  }
  g_autoptr (GPtrArray) keys = nerve_modelfile_sorted_keys (m->metadata);
  for (guint i = 0; i < keys->len; i++) {
    const char *k = keys->pdata[i];
    if (nerve_modelfile_key_is_generated (k))
      continue;
    json_builder_set_member_name (b, k);
    json_builder_add_string_value (b, g_hash_table_lookup (m->metadata, k));
  }
  json_builder_end_object (b);

  guint64 off = 0;
  for (guint i = 0; i < tensors->len; i++) {
    OutTensor *t = &g_array_index (tensors, OutTensor, i);
    json_builder_set_member_name (b, t->name);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "dtype");
    json_builder_add_string_value (b, dtypes[t->dtype].name);
    json_builder_set_member_name (b, "shape");
    json_builder_begin_array (b);
    for (int d = 0; d < t->shape.ndim; d++)
      json_builder_add_int_value (b, t->shape.dim[d]);
    json_builder_end_array (b);
    json_builder_set_member_name (b, "data_offsets");
    json_builder_begin_array (b);
    json_builder_add_int_value (b, (gint64) off);
    off += t->n * dtypes[t->dtype].size;
    json_builder_add_int_value (b, (gint64) off);
    json_builder_end_array (b);
    json_builder_end_object (b);
  }
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

/* The header must be UTF-8 or no reader (this one included) accepts the file. */
static gboolean
check_utf8 (NerveModel *m, GArray *tensors, GError **error)
{
  const char *bad = NULL;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, m->metadata);
  while (!bad && g_hash_table_iter_next (&it, &k, &v))
    if (!g_utf8_validate (k, -1, NULL) || !g_utf8_validate (v, -1, NULL))
      bad = "a metadata key or value";
  for (guint i = 0; !bad && i < tensors->len; i++)
    if (!g_utf8_validate (g_array_index (tensors, OutTensor, i).name, -1, NULL))
      bad = "a tensor name";
  if (!bad && !g_utf8_validate (m->architecture, -1, NULL))
    bad = "the architecture";
  if (bad)
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
                 "cannot save: %s is not UTF-8 text (store binary data as a blob)", bad);
  return !bad;
}

gboolean
nerve_model_save_with_extras (NerveModel *m, const char *path, const NerveExtraTensor *extras, int n_extras,
                              GError **error)
{
  g_return_val_if_fail (m != NULL && path != NULL, FALSE);
  g_return_val_if_fail (n_extras == 0 || extras != NULL, FALSE);
  int n_params;
  g_autoptr (GArray) tensors = collect_tensors (m, extras, n_extras, &n_params, error);
  if (!tensors || !check_utf8 (m, tensors, error))
    return FALSE;
  g_autofree char *json = build_header (m, tensors, n_params);
  /* Pad with spaces so the data starts 8-byte aligned, as safetensors does. */
  g_autoptr (GString) header = g_string_new (json);
  while (header->len % 8)
    g_string_append_c (header, ' ');
  guint64 hlen = GUINT64_TO_LE ((guint64) header->len);

  g_autofree char *tmp = g_strdup_printf ("%s.tmpXXXXXX", path);
  int fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0666);
  if (fd < 0) {
    int e = errno;
    g_autofree char *dir = g_path_get_dirname (path);
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_IO,
                 "cannot save '%s': cannot create a file in '%s': %s (does the directory exist and is it writable?)",
                 path, dir, g_strerror (e));
    return FALSE;
  }
  gboolean ok = write_all (fd, &hlen, 8) && write_all (fd, header->str, header->len);
  for (guint i = 0; ok && i < tensors->len; i++)
    ok = write_tensor (fd, &g_array_index (tensors, OutTensor, i));
  ok = ok && fsync (fd) == 0;
  int e = errno;
  if (close (fd) != 0 && ok) {
    ok = FALSE;
    e = errno;
  }
  if (ok && g_rename (tmp, path) != 0) {
    ok = FALSE;
    e = errno;
  }
  if (!ok) {
    g_unlink (tmp);
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_IO, "cannot save '%s': %s (the old file, if any, is unchanged)",
                 path, g_strerror (e));
    return FALSE;
  }
  /* Make the rename itself durable. */
  g_autofree char *dir = g_path_get_dirname (path);
  int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync (dfd);
    close (dfd);
  }
  return TRUE;
}

gboolean
nerve_model_save (NerveModel *m, const char *path, GError **error)
{
  return nerve_model_save_with_extras (m, path, NULL, 0, error);
}

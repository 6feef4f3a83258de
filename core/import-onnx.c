/* ONNX (protobuf) reader: see import-onnx.h. Only the fields importers need are kept;
 * every other field is skipped by its wire type, so files from newer ONNX versions
 * still read. Field numbers are those of onnx/onnx.proto (IR version 3 and later). */
#include "import-onnx.h"

#include <string.h>

#include "error.h"

/* wire types */
enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_I32 = 5 };

typedef struct {
  const guint8 *p, *end;
} Buf;

typedef struct {
  const char *what;
  const guint8 *start; /* of the whole file: offsets in messages */
  GError **error;
} Ctx;

static gboolean G_GNUC_PRINTF (4, 5)
fail (Ctx *c, const Buf *b, int code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (c->error, NERVE_ERROR, code, "%s: %s (at byte %" G_GSIZE_FORMAT ")", c->what, msg,
               (gsize) (b->p - c->start));
  return FALSE;
}

static gboolean
read_varint (Ctx *c, Buf *b, guint64 *v)
{
  guint64 x = 0;
  for (int i = 0; i < 10; i++) {
    if (b->p >= b->end)
      return fail (c, b, NERVE_ERROR_FORMAT, "truncated varint: the file is cut short or not ONNX");
    guint8 byte = *b->p++;
    if (i == 9 && byte > 1)
      return fail (c, b, NERVE_ERROR_FORMAT, "varint longer than 64 bits: not an ONNX file");
    x |= (guint64) (byte & 0x7f) << (7 * i);
    if (!(byte & 0x80)) {
      *v = x;
      return TRUE;
    }
  }
  return fail (c, b, NERVE_ERROR_FORMAT, "varint longer than 10 bytes: not an ONNX file");
}

/* A tag: field number and wire type. */
static gboolean
read_tag (Ctx *c, Buf *b, guint32 *field, int *wire)
{
  guint64 t;
  if (!read_varint (c, b, &t))
    return FALSE;
  *wire = (int) (t & 7);
  if (t >> 3 == 0 || t >> 3 > 0x1fffffff)
    return fail (c, b, NERVE_ERROR_FORMAT, "bad protobuf field number %" G_GUINT64_FORMAT ": not an ONNX file",
                 t >> 3);
  *field = (guint32) (t >> 3);
  return TRUE;
}

/* The body of a length-delimited field, checked against what is left. */
static gboolean
read_len (Ctx *c, Buf *b, Buf *sub)
{
  guint64 n;
  if (!read_varint (c, b, &n))
    return FALSE;
  if (n > (guint64) (b->end - b->p))
    return fail (c, b, NERVE_ERROR_FORMAT,
                 "a field claims %" G_GUINT64_FORMAT " bytes but only %" G_GSIZE_FORMAT
                 " are left: the file is truncated or corrupt",
                 n, (gsize) (b->end - b->p));
  sub->p = b->p;
  sub->end = b->p + n;
  b->p += n;
  return TRUE;
}

static gboolean
skip_field (Ctx *c, Buf *b, int wire)
{
  guint64 v;
  Buf sub;
  switch (wire) {
  case WT_VARINT:
    return read_varint (c, b, &v);
  case WT_LEN:
    return read_len (c, b, &sub);
  case WT_I64:
  case WT_I32: {
    gsize n = wire == WT_I64 ? 8 : 4;
    if ((gsize) (b->end - b->p) < n)
      return fail (c, b, NERVE_ERROR_FORMAT, "truncated fixed-size field: the file is cut short or not ONNX");
    b->p += n;
    return TRUE;
  }
  default:
    return fail (c, b, NERVE_ERROR_FORMAT, "protobuf wire type %d is not used by ONNX: corrupt file", wire);
  }
}

static gboolean
expect_wire (Ctx *c, Buf *b, int wire, int want, const char *field)
{
  if (wire == want)
    return TRUE;
  return fail (c, b, NERVE_ERROR_FORMAT, "field %s has wire type %d, expected %d: corrupt file", field, wire, want);
}

static char *
read_string (Ctx *c, Buf *b, int wire, const char *field)
{
  Buf s;
  if (!expect_wire (c, b, wire, WT_LEN, field) || !read_len (c, b, &s))
    return NULL;
  /* names end up in messages and model files: keep them printable UTF-8 */
  return g_utf8_make_valid ((const char *) s.p, s.end - s.p);
}

/* ---- TensorProto ---- */

typedef struct {
  GByteArray *f32;       /* float_data, little-endian bytes */
  GByteArray *f64;       /* double_data */
  const guint8 *raw;     /* raw_data inside the file */
  gsize raw_len;
  gboolean has_raw, external;
} TensorData;

/* Repeated scalars come packed (one LEN field) or one per tag. */
static gboolean
read_fixed_repeated (Ctx *c, Buf *b, int wire, gsize size, GByteArray *into, const char *field)
{
  if (wire == WT_LEN) {
    Buf s;
    if (!read_len (c, b, &s))
      return FALSE;
    if ((s.end - s.p) % size)
      return fail (c, b, NERVE_ERROR_FORMAT, "packed %s is %" G_GSIZE_FORMAT " bytes, not a multiple of %" G_GSIZE_FORMAT,
                   field, (gsize) (s.end - s.p), size);
    g_byte_array_append (into, s.p, s.end - s.p);
    return TRUE;
  }
  if (!expect_wire (c, b, wire, size == 4 ? WT_I32 : WT_I64, field))
    return FALSE;
  if ((gsize) (b->end - b->p) < size)
    return fail (c, b, NERVE_ERROR_FORMAT, "truncated %s", field);
  g_byte_array_append (into, b->p, size);
  b->p += size;
  return TRUE;
}

static gboolean
read_dim (Ctx *c, Buf *b, NerveOnnxTensor *t, guint64 v)
{
  if (t->ndim >= NERVE_ONNX_MAX_DIMS)
    return fail (c, b, NERVE_ERROR_UNSUPPORTED, "a tensor has more than %d dimensions", NERVE_ONNX_MAX_DIMS);
  if ((gint64) v < 0)
    return fail (c, b, NERVE_ERROR_FORMAT, "a tensor has a negative dimension");
  t->dims[t->ndim++] = (gint64) v;
  return TRUE;
}

static gboolean
parse_tensor (Ctx *c, Buf b, NerveOnnxTensor *t)
{
  TensorData d = { g_byte_array_new (), g_byte_array_new (), NULL, 0, FALSE, FALSE };
  gboolean ok = FALSE;
  while (b.p < b.end) {
    guint32 field;
    int wire;
    guint64 v;
    if (!read_tag (c, &b, &field, &wire))
      goto out;
    switch (field) {
    case 1: /* dims: repeated int64 */
      if (wire == WT_LEN) {
        Buf s;
        if (!read_len (c, &b, &s))
          goto out;
        while (s.p < s.end)
          if (!read_varint (c, &s, &v) || !read_dim (c, &s, t, v))
            goto out;
      } else if (!expect_wire (c, &b, wire, WT_VARINT, "dims") || !read_varint (c, &b, &v) ||
                 !read_dim (c, &b, t, v)) {
        goto out;
      }
      break;
    case 2: /* data_type */
      if (!expect_wire (c, &b, wire, WT_VARINT, "data_type") || !read_varint (c, &b, &v))
        goto out;
      t->data_type = v > 1000 ? -1 : (int) v;
      break;
    case 3: /* segment */
      fail (c, &b, NERVE_ERROR_UNSUPPORTED, "segmented tensors are not supported");
      goto out;
    case 4: /* float_data */
      if (!read_fixed_repeated (c, &b, wire, 4, d.f32, "float_data"))
        goto out;
      break;
    case 8: /* name */
      g_free (t->name);
      if (!(t->name = read_string (c, &b, wire, "name")))
        goto out;
      break;
    case 9: { /* raw_data */
      Buf s;
      if (!expect_wire (c, &b, wire, WT_LEN, "raw_data") || !read_len (c, &b, &s))
        goto out;
      d.raw = s.p, d.raw_len = s.end - s.p, d.has_raw = TRUE;
      break;
    }
    case 10: /* double_data */
      if (!read_fixed_repeated (c, &b, wire, 8, d.f64, "double_data"))
        goto out;
      break;
    case 13: /* external_data */
      d.external = TRUE;
      if (!skip_field (c, &b, wire))
        goto out;
      break;
    case 14: /* data_location */
      if (!expect_wire (c, &b, wire, WT_VARINT, "data_location") || !read_varint (c, &b, &v))
        goto out;
      d.external |= v == 1;
      break;
    default:
      if (!skip_field (c, &b, wire))
        goto out;
    }
  }
  if (!t->name)
    t->name = g_strdup ("");
  /* element count, checked for overflow */
  guint64 n = 1;
  for (int i = 0; i < t->ndim; i++) {
    if (t->dims[i] && n > G_MAXUINT32 * (guint64) 256 / (guint64) t->dims[i]) {
      fail (c, &b, NERVE_ERROR_FORMAT, "tensor '%s' has an absurd shape (more than 2^40 elements)", t->name);
      goto out;
    }
    n *= (guint64) t->dims[i];
  }
  t->n = (gsize) n;
  if (t->data_type != NERVE_ONNX_FLOAT && t->data_type != NERVE_ONNX_DOUBLE) {
    ok = TRUE; /* listed, not read */
    goto out;
  }
  if (d.external) {
    fail (c, &b, NERVE_ERROR_UNSUPPORTED,
          "tensor '%s' keeps its data in an external file; save the model with its weights inside", t->name);
    goto out;
  }
  const gsize es = t->data_type == NERVE_ONNX_FLOAT ? 4 : 8;
  const guint8 *src;
  gsize have;
  if (d.has_raw)
    src = d.raw, have = d.raw_len;
  else if (t->data_type == NERVE_ONNX_FLOAT)
    src = d.f32->data, have = d.f32->len;
  else
    src = d.f64->data, have = d.f64->len;
  if (have != t->n * es) {
    fail (c, &b, NERVE_ERROR_FORMAT,
          "tensor '%s' has %" G_GSIZE_FORMAT " bytes of data, its shape needs %" G_GSIZE_FORMAT
          ": the file is truncated or corrupt",
          t->name, have, t->n * es);
    goto out;
  }
  t->data = g_new (float, MAX (t->n, 1));
  for (gsize i = 0; i < t->n; i++) {
    if (es == 4) {
      guint32 u;
      memcpy (&u, src + 4 * i, 4);
      u = GUINT32_FROM_LE (u);
      memcpy (&t->data[i], &u, 4);
    } else {
      guint64 u;
      double x;
      memcpy (&u, src + 8 * i, 8);
      u = GUINT64_FROM_LE (u);
      memcpy (&x, &u, 8);
      t->data[i] = (float) x;
    }
  }
  ok = TRUE;
out:
  g_byte_array_unref (d.f32);
  g_byte_array_unref (d.f64);
  return ok;
}

/* ---- NodeProto ---- */

static void
append_value (GString *v, const char *s)
{
  if (v->len)
    g_string_append_c (v, ',');
  g_string_append (v, s);
}

/* AttributeProto: name (1), f (2), i (3), s (4), floats (7), ints (8), strings (9). */
static gboolean
parse_attr (Ctx *c, Buf b, GPtrArray *attrs)
{
  g_autofree char *name = NULL;
  g_autoptr (GString) v = g_string_new (NULL);
  char num[G_ASCII_DTOSTR_BUF_SIZE];
  while (b.p < b.end) {
    guint32 field;
    int wire;
    guint64 u;
    if (!read_tag (c, &b, &field, &wire))
      return FALSE;
    if (field == 1) {
      g_free (name);
      if (!(name = read_string (c, &b, wire, "attribute name")))
        return FALSE;
    } else if ((field == 3 || field == 8) && wire == WT_VARINT) {
      if (!read_varint (c, &b, &u))
        return FALSE;
      g_snprintf (num, sizeof num, "%" G_GINT64_FORMAT, (gint64) u);
      append_value (v, num);
    } else if (field == 8 && wire == WT_LEN) { /* packed ints */
      Buf s;
      if (!read_len (c, &b, &s))
        return FALSE;
      while (s.p < s.end) {
        if (!read_varint (c, &s, &u))
          return FALSE;
        g_snprintf (num, sizeof num, "%" G_GINT64_FORMAT, (gint64) u);
        append_value (v, num);
      }
    } else if ((field == 2 || field == 7) && (wire == WT_I32 || wire == WT_LEN)) {
      g_autoptr (GByteArray) f = g_byte_array_new ();
      if (!read_fixed_repeated (c, &b, wire, 4, f, "attribute floats"))
        return FALSE;
      for (guint i = 0; i < f->len; i += 4) {
        guint32 w;
        float x;
        memcpy (&w, f->data + i, 4);
        w = GUINT32_FROM_LE (w);
        memcpy (&x, &w, 4);
        append_value (v, g_ascii_dtostr (num, sizeof num, (double) x));
      }
    } else if (field == 4 || field == 9) {
      g_autofree char *str = read_string (c, &b, wire, "attribute string");
      if (!str)
        return FALSE;
      append_value (v, str);
    } else if (!skip_field (c, &b, wire)) {
      return FALSE;
    }
  }
  g_ptr_array_add (attrs, name ? g_steal_pointer (&name) : g_strdup (""));
  g_ptr_array_add (attrs, g_string_free (g_steal_pointer (&v), FALSE));
  return TRUE;
}

static gboolean
parse_node (Ctx *c, Buf b, NerveOnnxNode *n)
{
  g_autoptr (GPtrArray) in = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) attrs = g_ptr_array_new_with_free_func (g_free);
  while (b.p < b.end) {
    guint32 field;
    int wire;
    char *s;
    if (!read_tag (c, &b, &field, &wire))
      return FALSE;
    switch (field) {
    case 1:
    case 2:
      if (!(s = read_string (c, &b, wire, field == 1 ? "input" : "output")))
        return FALSE;
      g_ptr_array_add (field == 1 ? in : out, s);
      break;
    case 3:
    case 4:
      if (!(s = read_string (c, &b, wire, field == 3 ? "name" : "op_type")))
        return FALSE;
      g_free (field == 3 ? n->name : n->op_type);
      *(field == 3 ? &n->name : &n->op_type) = s;
      break;
    case 5: {
      Buf a;
      if (!expect_wire (c, &b, wire, WT_LEN, "attribute") || !read_len (c, &b, &a) || !parse_attr (c, a, attrs))
        return FALSE;
      break;
    }
    default:
      if (!skip_field (c, &b, wire))
        return FALSE;
    }
  }
  if (!n->name)
    n->name = g_strdup ("");
  if (!n->op_type)
    n->op_type = g_strdup ("");
  n->n_inputs = in->len;
  n->n_outputs = out->len;
  g_ptr_array_add (in, NULL);
  g_ptr_array_add (out, NULL);
  n->inputs = (char **) g_ptr_array_steal (in, NULL);
  n->outputs = (char **) g_ptr_array_steal (out, NULL);
  g_ptr_array_add (attrs, NULL);
  n->attrs = (char **) g_ptr_array_steal (attrs, NULL);
  return TRUE;
}

/* ---- GraphProto, ModelProto ---- */

static gboolean
parse_graph (Ctx *c, Buf b, NerveOnnxGraph *g, GArray *tensors, GArray *nodes)
{
  while (b.p < b.end) {
    guint32 field;
    int wire;
    Buf s;
    if (!read_tag (c, &b, &field, &wire))
      return FALSE;
    if (field == 1 || field == 5) {
      if (!expect_wire (c, &b, wire, WT_LEN, field == 1 ? "node" : "initializer") || !read_len (c, &b, &s))
        return FALSE;
      if (field == 1) {
        NerveOnnxNode n = { 0 };
        g_array_append_val (nodes, n); /* appended first so that a failure frees it */
        if (!parse_node (c, s, &g_array_index (nodes, NerveOnnxNode, nodes->len - 1)))
          return FALSE;
      } else {
        NerveOnnxTensor t = { 0 };
        g_array_append_val (tensors, t);
        if (!parse_tensor (c, s, &g_array_index (tensors, NerveOnnxTensor, tensors->len - 1)))
          return FALSE;
      }
    } else if (!skip_field (c, &b, wire)) {
      return FALSE;
    }
  }
  return TRUE;
}

static void
free_node (NerveOnnxNode *n)
{
  g_free (n->name);
  g_free (n->op_type);
  g_strfreev (n->inputs);
  g_strfreev (n->outputs);
  g_strfreev (n->attrs);
}

void
nerve_onnx_free (NerveOnnxGraph *g)
{
  if (!g)
    return;
  for (int i = 0; i < g->n_tensors; i++) {
    g_free (g->tensors[i].name);
    g_free (g->tensors[i].data);
  }
  for (int i = 0; i < g->n_nodes; i++)
    free_node (&g->nodes[i]);
  g_free (g->tensors);
  g_free (g->nodes);
  g_free (g->producer);
  if (g->by_name)
    g_hash_table_unref (g->by_name);
  g_free (g);
}

NerveOnnxGraph *
nerve_onnx_parse (const guint8 *data, gsize len, const char *what, GError **error)
{
  g_return_val_if_fail (data || !len, NULL);
  Ctx c = { what ? what : "ONNX data", data, error };
  Buf b = { data, len ? data + len : data };
  g_autoptr (NerveOnnxGraph) g = g_new0 (NerveOnnxGraph, 1);
  GArray *tensors = g_array_new (FALSE, FALSE, sizeof (NerveOnnxTensor));
  GArray *nodes = g_array_new (FALSE, FALSE, sizeof (NerveOnnxNode));
  g_autofree char *pname = NULL, *pversion = NULL;
  gboolean have_graph = FALSE, have_ir = FALSE, ok = TRUE;

  if (len == 0) {
    ok = fail (&c, &b, NERVE_ERROR_FORMAT, "empty file: not an ONNX model");
    goto done;
  }
  while (ok && b.p < b.end) {
    guint32 field;
    int wire;
    guint64 v = 0;
    Buf s;
    if (!(ok = read_tag (&c, &b, &field, &wire)))
      break;
    switch (field) {
    case 1: /* ir_version */
      ok = expect_wire (&c, &b, wire, WT_VARINT, "ir_version") && read_varint (&c, &b, &v);
      g->ir_version = (gint64) v, have_ir = TRUE;
      break;
    case 2:
    case 3: {
      char *str = read_string (&c, &b, wire, field == 2 ? "producer_name" : "producer_version");
      ok = str != NULL;
      g_free (field == 2 ? pname : pversion);
      *(field == 2 ? &pname : &pversion) = str;
      break;
    }
    case 7: /* graph */
      if (have_graph) {
        ok = fail (&c, &b, NERVE_ERROR_FORMAT, "more than one graph in the model");
        break;
      }
      have_graph = TRUE;
      ok = expect_wire (&c, &b, wire, WT_LEN, "graph") && read_len (&c, &b, &s) &&
           parse_graph (&c, s, g, tensors, nodes);
      break;
    default:
      ok = skip_field (&c, &b, wire);
    }
  }
  if (ok && (!have_graph || !have_ir))
    ok = fail (&c, &b, NERVE_ERROR_FORMAT, "no %s: not an ONNX model (or truncated)",
               have_ir ? "graph" : "ir_version");
done:
  g->n_tensors = tensors->len;
  g->tensors = (NerveOnnxTensor *) (void *) g_array_free (tensors, FALSE);
  g->n_nodes = nodes->len;
  g->nodes = (NerveOnnxNode *) (void *) g_array_free (nodes, FALSE);
  if (!ok)
    return NULL;
  g->producer = g_strjoin (" ", pname ? pname : "", pversion ? pversion : "", NULL);
  g->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  for (int i = 0; i < g->n_tensors; i++) {
    NerveOnnxTensor *t = &g->tensors[i];
    if (!g_hash_table_insert (g->by_name, t->name, t)) {
      g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT, "%s: two initializers are named '%s'", c.what, t->name);
      return NULL;
    }
  }
  return g_steal_pointer (&g);
}

NerveOnnxGraph *
nerve_onnx_load (const char *path, GError **error)
{
  GError *err = NULL;
  g_autoptr (GMappedFile) f = g_mapped_file_new (path, FALSE, &err);
  if (!f) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_IO, "%s", err->message);
    g_error_free (err);
    return NULL;
  }
  return nerve_onnx_parse ((const guint8 *) g_mapped_file_get_contents (f), g_mapped_file_get_length (f), path,
                           error);
}

const NerveOnnxTensor *
nerve_onnx_find (const NerveOnnxGraph *g, const char *name)
{
  return g_hash_table_lookup (g->by_name, name);
}

int
nerve_onnx_find_op (const NerveOnnxGraph *g, const char *op_type, int from)
{
  for (int i = MAX (from, 0); i < g->n_nodes; i++)
    if (!strcmp (g->nodes[i].op_type, op_type))
      return i;
  return -1;
}

const char *
nerve_onnx_node_attr (const NerveOnnxNode *n, const char *name)
{
  for (int i = 0; n->attrs && n->attrs[i]; i += 2)
    if (!strcmp (n->attrs[i], name))
      return n->attrs[i + 1];
  return NULL;
}

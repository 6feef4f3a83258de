/* DTLN import from ONNX: see import-dtln.h. The weights are found through the graph
 * where the export keeps the layer as one node (LSTM, Conv) and through the Keras
 * layer names where it unrolled the layer into MatMul/Add nodes (model_2.onnx's LSTMs,
 * the dense layers, the instant layer normalisation); every tensor's shape is checked
 * against the others before anything is built. */
#include "import-dtln.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "modelfile.h"

#define MAX_LAYERS 4

typedef struct {
  int in, hidden;
  float *w_ih, *w_hh, *b_ih, *b_hh; /* PyTorch layout and gate order i, f, g, o */
} Lstm;

typedef struct {
  int n;
  Lstm l[MAX_LAYERS];
} LstmStack;

static void
lstm_stack_clear (LstmStack *s)
{
  for (int i = 0; i < s->n; i++) {
    g_free (s->l[i].w_ih);
    g_free (s->l[i].w_hh);
    g_free (s->l[i].b_ih);
    g_free (s->l[i].b_hh);
  }
  s->n = 0;
}

static gboolean G_GNUC_PRINTF (4, 5)
fail (GError **error, int code, const char *what, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, NERVE_ERROR, code, "%s: %s", what, msg);
  return FALSE;
}

static const char *
shape_str (const NerveOnnxTensor *t, char *buf, gsize size)
{
  gsize o = g_strlcpy (buf, "[", size);
  for (int i = 0; i < t->ndim && o < size; i++)
    o += g_snprintf (buf + o, size - o, "%s%" G_GINT64_FORMAT, i ? ", " : "", t->dims[i]);
  if (o < size)
    g_strlcpy (buf + o, "]", size - o);
  return buf;
}

/* A float tensor of exactly these dims (ndim of them). */
static gboolean
check_tensor (const NerveOnnxTensor *t, const char *what, const char *role, int ndim, const gint64 *dims,
              GError **error)
{
  char got[96];
  if (!t)
    return fail (error, NERVE_ERROR_FORMAT, what, "no %s tensor: not a DTLN export this importer knows", role);
  if (!t->data)
    return fail (error, NERVE_ERROR_FORMAT, what, "%s '%s' is not a float tensor", role, t->name);
  for (int i = 0; i < t->ndim; i++)
    if (t->dims[i] > 1 << 24)
      return fail (error, NERVE_ERROR_SHAPE, what, "%s '%s' has an absurd shape %s", role, t->name,
                   shape_str (t, got, sizeof got));
  gboolean ok = t->ndim == ndim;
  for (int i = 0; ok && i < ndim; i++)
    ok = dims[i] < 0 || t->dims[i] == dims[i];
  if (!ok) {
    GString *want = g_string_new ("[");
    for (int i = 0; i < ndim; i++)
      dims[i] < 0 ? g_string_append_printf (want, "%s*", i ? ", " : "")
                  : g_string_append_printf (want, "%s%" G_GINT64_FORMAT, i ? ", " : "", dims[i]);
    g_string_append_c (want, ']');
    fail (error, NERVE_ERROR_SHAPE, what, "%s '%s' has shape %s, expected %s", role, t->name,
          shape_str (t, got, sizeof got), want->str);
    g_string_free (want, TRUE);
    return FALSE;
  }
  for (gsize i = 0; i < t->n; i++)
    if (!isfinite (t->data[i]))
      return fail (error, NERVE_ERROR_FORMAT, what, "%s '%s' holds NaN or Inf", role, t->name);
  return TRUE;
}
#define CHECK(t, role, ...) \
  check_tensor (t, what, role, G_N_ELEMENTS (((gint64[]) { __VA_ARGS__ })), (gint64[]) { __VA_ARGS__ }, error)

/* Copies gate block perm[d] of src to block d of dst; blocks are rows*cols floats. */
static float *
reorder_gates (const float *src, gsize block, const int perm[4])
{
  float *dst = g_new (float, 4 * block);
  for (int d = 0; d < 4; d++)
    memcpy (dst + d * block, src + perm[d] * block, block * sizeof (float));
  return dst;
}

/* [rows, cols] -> [cols, rows] */
static float *
transpose (const float *src, int rows, int cols)
{
  float *dst = g_new (float, (gsize) rows * cols);
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++)
      dst[(gsize) c * rows + r] = src[(gsize) r * cols + c];
  return dst;
}

/* ---- LSTMs kept as ONNX LSTM nodes (model_1.onnx) ---- */

static gboolean
attr_is (const NerveOnnxNode *n, const char *name, const char *allowed1, const char *allowed2)
{
  const char *v = nerve_onnx_node_attr (n, name);
  return !v || (allowed1 && !strcmp (v, allowed1)) || (allowed2 && !strcmp (v, allowed2));
}

static gboolean
lstm_from_node (const NerveOnnxGraph *g, const NerveOnnxNode *n, const char *what, Lstm *l, GError **error)
{
  if (!attr_is (n, "direction", "forward", NULL) || !attr_is (n, "activations", "Sigmoid,Tanh,Tanh", NULL) ||
      !attr_is (n, "input_forget", "0", NULL) || !attr_is (n, "layout", "0", NULL) || nerve_onnx_node_attr (n, "clip") ||
      (n->n_inputs > 4 && n->inputs[4][0]) || (n->n_inputs > 7 && n->inputs[7][0]))
    return fail (error, NERVE_ERROR_UNSUPPORTED, what,
                 "LSTM node '%s' is not a plain forward LSTM (sigmoid/tanh, no peepholes, clip or "
                 "sequence lengths)",
                 n->name);
  if (n->n_inputs < 3)
    return fail (error, NERVE_ERROR_FORMAT, what, "LSTM node '%s' has no W and R inputs", n->name);
  const NerveOnnxTensor *W = nerve_onnx_find (g, n->inputs[1]), *R = nerve_onnx_find (g, n->inputs[2]);
  const NerveOnnxTensor *B = n->n_inputs > 3 && n->inputs[3][0] ? nerve_onnx_find (g, n->inputs[3]) : NULL;
  if (!CHECK (W, "LSTM W", 1, -1, -1))
    return FALSE;
  const int G = (int) W->dims[1], In = (int) W->dims[2], H = G / 4;
  if (G % 4 || H < 1 || In < 1 || G > 1 << 16 || In > 1 << 16)
    return fail (error, NERVE_ERROR_SHAPE, what, "LSTM W '%s' has %d gate rows, not 4 x hidden", W->name, G);
  if (!CHECK (R, "LSTM R", 1, G, H) || (B && !CHECK (B, "LSTM B", 1, 2 * G)))
    return FALSE;
  static const int perm[4] = { 0, 2, 3, 1 }; /* i f g o <- i o f c */
  l->in = In, l->hidden = H;
  l->w_ih = reorder_gates (W->data, (gsize) H * In, perm);
  l->w_hh = reorder_gates (R->data, (gsize) H * H, perm);
  if (B) {
    l->b_ih = reorder_gates (B->data, H, perm);
    l->b_hh = reorder_gates (B->data + G, H, perm);
  } else {
    l->b_ih = g_new0 (float, G);
    l->b_hh = g_new0 (float, G);
  }
  return TRUE;
}

/* ---- Keras layers found by name ("model_2/lstm_6/MatMul_1/ReadVariableOp/resource:0",
 * "dense_2/kernel:0") ---- */

/* TRUE when comp is prefix or prefix_<digits>; *num gets the digits (0 without). */
static gboolean
layer_comp (const char *comp, const char *prefix, int *num)
{
  gsize k = strlen (prefix);
  if (strncmp (comp, prefix, k))
    return FALSE;
  if (!comp[k]) {
    *num = 0;
    return TRUE;
  }
  if (comp[k] != '_' || !g_ascii_isdigit (comp[k + 1]) || strlen (comp + k + 1) > 6)
    return FALSE;
  for (const char *p = comp + k + 1; *p; p++)
    if (!g_ascii_isdigit (*p))
      return FALSE;
  *num = atoi (comp + k + 1) + 1;
  return TRUE;
}

typedef struct {
  int num;
  const NerveOnnxTensor *t[3];
} Group;

/* Float tensors under a layer named prefix[_N], sorted by N, with a role 0..2 given by
 * role_of (the path components after the layer's, the tensor); -1 = ignore. */
static int
find_groups (const NerveOnnxGraph *g, const char *prefix, int (*role_of) (char **rest, const NerveOnnxTensor *t),
             Group *out, int max)
{
  int n = 0;
  for (int i = 0; i < g->n_tensors; i++) {
    const NerveOnnxTensor *t = &g->tensors[i];
    if (!t->data)
      continue;
    g_auto (GStrv) comps = g_strsplit (t->name, "/", 16);
    for (int j = 0; comps[j]; j++) {
      int num, role;
      if (!layer_comp (comps[j], prefix, &num))
        continue;
      if ((role = role_of (comps + j + 1, t)) < 0)
        break;
      int k = 0;
      while (k < n && out[k].num != num)
        k++;
      if (k == n) {
        if (n == max)
          break;
        memset (&out[n], 0, sizeof out[n]);
        out[n++].num = num;
      }
      out[k].t[role] = t;
      break;
    }
  }
  for (int a = 1; a < n; a++) /* insertion sort by layer number */
    for (int b = a; b > 0 && out[b].num < out[b - 1].num; b--) {
      Group tmp = out[b];
      out[b] = out[b - 1], out[b - 1] = tmp;
    }
  return n;
}

static gboolean
has_comp (char **rest, const char *exact, const char *prefix)
{
  for (int i = 0; rest[i]; i++)
    if ((exact && !strcmp (rest[i], exact)) || (prefix && g_str_has_prefix (rest[i], prefix)))
      return TRUE;
  return FALSE;
}

/* 0 kernel, 1 recurrent kernel, 2 bias */
static int
keras_lstm_role (char **rest, const NerveOnnxTensor *t)
{
  (void) t;
  if (has_comp (rest, "MatMul_1", "recurrent_kernel"))
    return 1;
  if (has_comp (rest, "MatMul", "kernel"))
    return 0;
  if (has_comp (rest, "BiasAdd", "bias"))
    return 2;
  return -1;
}

/* 0 gamma, 1 beta, 2 epsilon */
static int
keras_norm_role (char **rest, const NerveOnnxTensor *t)
{
  if (has_comp (rest, "add_1", "beta"))
    return 1;
  if (has_comp (rest, "mul", "gamma"))
    return 0;
  if (has_comp (rest, "add", NULL) && t->n == 1)
    return 2;
  return -1;
}

/* 0 kernel, 1 bias */
static int
keras_dense_role (char **rest, const NerveOnnxTensor *t)
{
  (void) rest;
  return t->ndim == 2 ? 0 : t->ndim == 1 ? 1 : -1;
}

static gboolean
lstm_from_keras (const Group *gr, const char *what, int In, Lstm *l, GError **error)
{
  if (!CHECK (gr->t[0], "LSTM kernel", In, -1))
    return FALSE;
  const int G = (int) gr->t[0]->dims[1], H = G / 4;
  if (G % 4 || H < 1 || G > 1 << 16)
    return fail (error, NERVE_ERROR_SHAPE, what, "LSTM kernel '%s' has %d gate columns, not 4 x hidden",
                 gr->t[0]->name, G);
  if (!CHECK (gr->t[1], "LSTM recurrent kernel", H, G) || !CHECK (gr->t[2], "LSTM bias", G))
    return FALSE;
  l->in = In, l->hidden = H; /* Keras gates i, f, c, o are already PyTorch's order */
  l->w_ih = transpose (gr->t[0]->data, In, G);
  l->w_hh = transpose (gr->t[1]->data, H, G);
  l->b_ih = g_memdup2 (gr->t[2]->data, G * sizeof (float));
  l->b_hh = g_new0 (float, G);
  return TRUE;
}

/* The stack of LSTMs: ONNX LSTM nodes when the export kept them, else Keras names. */
static gboolean
load_lstms (const NerveOnnxGraph *g, const char *what, int In, LstmStack *s, GError **error)
{
  for (int i = nerve_onnx_find_op (g, "LSTM", 0); i >= 0; i = nerve_onnx_find_op (g, "LSTM", i + 1)) {
    if (s->n == MAX_LAYERS)
      return fail (error, NERVE_ERROR_UNSUPPORTED, what, "more than %d LSTM layers", MAX_LAYERS);
    if (!lstm_from_node (g, &g->nodes[i], what, &s->l[s->n++], error))
      return FALSE;
  }
  if (!s->n) {
    Group gr[MAX_LAYERS + 1];
    int n = find_groups (g, "lstm", keras_lstm_role, gr, MAX_LAYERS + 1);
    if (n > MAX_LAYERS)
      return fail (error, NERVE_ERROR_UNSUPPORTED, what, "more than %d LSTM layers", MAX_LAYERS);
    for (int i = 0; i < n; i++)
      if (!lstm_from_keras (&gr[i], what, i ? s->l[i - 1].hidden : In, &s->l[s->n++], error))
        return FALSE;
  }
  if (!s->n)
    return fail (error, NERVE_ERROR_FORMAT, what, "no LSTM layer found: not a DTLN export");
  for (int i = 0; i < s->n; i++)
    if (s->l[i].in != (i ? s->l[i - 1].hidden : In) || s->l[i].hidden != s->l[0].hidden)
      return fail (error, NERVE_ERROR_SHAPE, what,
                   "LSTM %d takes %d inputs with %d units; expected %d inputs and %d units like the first", i + 1,
                   s->l[i].in, s->l[i].hidden, i ? s->l[i - 1].hidden : In, s->l[0].hidden);
  return TRUE;
}

/* The one dense layer: kernel [In, Out] (x @ K) and bias [Out]. */
static gboolean
load_dense (const NerveOnnxGraph *g, const char *what, int In, int Out, const NerveOnnxTensor **k,
            const NerveOnnxTensor **b, GError **error)
{
  Group gr[2];
  int n = find_groups (g, "dense", keras_dense_role, gr, 2);
  if (n != 1)
    return fail (error, NERVE_ERROR_FORMAT, what, "%s dense layer: not a DTLN export this importer knows",
                 n ? "more than one" : "no");
  *k = gr[0].t[0], *b = gr[0].t[1];
  return CHECK (*k, "dense kernel", In, Out) && CHECK (*b, "dense bias", Out);
}

/* The weight [out, in, 1] of the index-th Conv node (a bias-free 1x1 Conv1D). */
static const NerveOnnxTensor *
conv_weight (const NerveOnnxGraph *g, const char *what, int index, GError **error)
{
  int i = -1;
  for (int k = 0; k <= index; k++)
    if ((i = nerve_onnx_find_op (g, "Conv", i + 1)) < 0) {
      fail (error, NERVE_ERROR_FORMAT, what, "no %s Conv node (the learned %s): not a DTLN stage 2",
            index ? "second" : "first", index ? "decoder" : "encoder");
      return NULL;
    }
  const NerveOnnxNode *n = &g->nodes[i];
  if (n->n_inputs > 2 && n->inputs[2][0]) {
    fail (error, NERVE_ERROR_UNSUPPORTED, what, "Conv node '%s' has a bias; DTLN's 1x1 convolutions have none",
          n->name);
    return NULL;
  }
  if (!attr_is (n, "group", "1", NULL) || !attr_is (n, "strides", "1", NULL) || !attr_is (n, "dilations", "1", NULL)) {
    fail (error, NERVE_ERROR_UNSUPPORTED, what, "Conv node '%s' is not a plain 1x1 convolution", n->name);
    return NULL;
  }
  const NerveOnnxTensor *w = n->n_inputs > 1 ? nerve_onnx_find (g, n->inputs[1]) : NULL;
  if (!CHECK (w, index ? "decoder weight" : "encoder weight", -1, -1, 1))
    return NULL;
  return w;
}

/* ---- building the Nerve models ---- */

static gboolean
set_param (NerveModel *m, const char *name, const float *data, gsize n, GError **error)
{
  NerveParam *p = nerve_model_find_param (m, name);
  if (!p || nerve_shape_numel (&p->shape) != n)
    return fail (error, NERVE_ERROR_SHAPE, "dtln import", "parameter '%s' is missing or not %" G_GSIZE_FORMAT " values",
                 name, n);
  memcpy (p->data, data, n * sizeof (float));
  return TRUE;
}

static gboolean
set_lstms (NerveModel *m, const LstmStack *s, GError **error)
{
  for (int k = 0; k < s->n; k++) {
    const Lstm *l = &s->l[k];
    const gsize G = 4 * (gsize) l->hidden;
    g_autofree char *wi = g_strdup_printf ("lstm.weight_ih_l%d", k), *wh = g_strdup_printf ("lstm.weight_hh_l%d", k);
    g_autofree char *bi = g_strdup_printf ("lstm.bias_ih_l%d", k), *bh = g_strdup_printf ("lstm.bias_hh_l%d", k);
    if (!set_param (m, wi, l->w_ih, G * l->in, error) || !set_param (m, wh, l->w_hh, G * l->hidden, error) ||
        !set_param (m, bi, l->b_ih, G, error) || !set_param (m, bh, l->b_hh, G, error))
      return FALSE;
  }
  return TRUE;
}

/* Saves m (with extras) to a temporary file and returns its bytes: the saver is the one
 * place that knows the layout. */
static GBytes *
model_bytes (NerveModel *m, const NerveExtraTensor *extras, int n_extras, GError **error)
{
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp ("nerve-dtln-XXXXXX.nerve", &path, error);
  if (fd < 0)
    return NULL;
  close (fd);
  char *data = NULL;
  gsize len = 0;
  gboolean ok = nerve_model_save_with_extras (m, path, extras, n_extras, error) &&
                g_file_get_contents (path, &data, &len, error);
  g_unlink (path);
  return ok ? g_bytes_new_take (data, len) : NULL;
}

/* What the two files hold, checked and in Nerve's layouts (tensors point into the graphs). */
typedef struct {
  int F, N, E, H1, H2; /* bins, frame, encoder size, LSTM units of each stage */
  LstmStack l1, l2;
  const NerveOnnxTensor *k1, *b1, *enc, *gamma, *beta, *k2, *b2, *dec;
  float eps;
} Dtln;

/* stage 1: magnitude -> LSTMs -> dense -> sigmoid */
static gboolean
read_stage1 (Dtln *d, const NerveOnnxGraph *g, const char *what, GError **error)
{
  if (nerve_onnx_find_op (g, "Log", 0) >= 0 || nerve_onnx_find_op (g, "ReduceMean", 0) >= 0)
    return fail (error, NERVE_ERROR_UNSUPPORTED, what,
                 "stage 1 normalises log magnitudes (a DTLN_norm export); this importer reads the "
                 "baseline DTLN (model_1.onnx/model_2.onnx of breizhn/DTLN)");
  /* the number of bins is the first LSTM's input width */
  int i = nerve_onnx_find_op (g, "LSTM", 0);
  const NerveOnnxTensor *W = i >= 0 && g->nodes[i].n_inputs > 1 ? nerve_onnx_find (g, g->nodes[i].inputs[1]) : NULL;
  if (!CHECK (W, "first LSTM W", 1, -1, -1) || !load_lstms (g, what, (int) W->dims[2], &d->l1, error))
    return FALSE;
  d->F = d->l1.l[0].in, d->H1 = d->l1.l[0].hidden, d->N = 2 * (d->F - 1);
  if (d->F < 5 || d->F > 8193 || d->N % 4)
    return fail (error, NERVE_ERROR_SHAPE, what,
                 "stage 1 takes %d bins, not those of a frame of 8..16384 samples (a multiple of 4)", d->F);
  return load_dense (g, what, d->H1, d->F, &d->k1, &d->b1, error);
}

/* stage 2: frame -> encoder -> layernorm -> LSTMs -> dense -> sigmoid; decoder */
static gboolean
read_stage2 (Dtln *d, const NerveOnnxGraph *g, const char *what, GError **error)
{
  if (!(d->enc = conv_weight (g, what, 0, error)) || !(d->dec = conv_weight (g, what, 1, error)))
    return FALSE;
  d->E = (int) d->enc->dims[0];
  if (!CHECK (d->enc, "encoder weight", -1, d->N, 1) || !CHECK (d->dec, "decoder weight", d->N, d->E, 1))
    return FALSE;
  Group ng[2];
  int nn = find_groups (g, "instant_layer_normalization", keras_norm_role, ng, 2);
  if (nn != 1)
    return fail (error, NERVE_ERROR_FORMAT, what, "%s instant layer normalisation: not a DTLN stage 2",
                 nn ? "more than one" : "no");
  d->gamma = ng[0].t[0], d->beta = ng[0].t[1];
  const NerveOnnxTensor *e = ng[0].t[2];
  if (!CHECK (d->gamma, "layer-norm gamma", d->E) || !CHECK (d->beta, "layer-norm beta", d->E))
    return FALSE;
  if (!e || e->n != 1 || e->ndim > 1)
    return fail (error, NERVE_ERROR_FORMAT, what, "no scalar layer-norm epsilon (an 'add/y' constant)");
  d->eps = e->data[0];
  if (!(d->eps >= 1e-12f && d->eps <= 1))
    return fail (error, NERVE_ERROR_FORMAT, what, "layer-norm epsilon %g is outside [1e-12, 1]", (double) d->eps);
  if (!load_lstms (g, what, d->E, &d->l2, error))
    return FALSE;
  d->H2 = d->l2.l[0].hidden;
  return load_dense (g, what, d->H2, d->E, &d->k2, &d->b2, error);
}

static NerveModel *
build (const Dtln *d, const char *what1, const char *what2, const char *producer, GError **error)
{
  g_autofree char *arch1 = g_strdup_printf (
    "{\"input\": [1, %d], \"layers\": ["
    "{\"type\": \"lstm\", \"name\": \"lstm\", \"hidden\": %d, \"layers\": %d}, "
    "{\"type\": \"dense\", \"name\": \"mask_dense\", \"units\": %d}, "
    "{\"type\": \"sigmoid\", \"name\": \"mask\"}]}",
    d->F, d->H1, d->l1.n, d->F);
  char eps[G_ASCII_DTOSTR_BUF_SIZE];
  g_ascii_dtostr (eps, sizeof eps, (double) d->eps);
  g_autofree char *arch2 = g_strdup_printf (
    "{\"input\": [1, %d], \"layers\": ["
    "{\"type\": \"dense\", \"name\": \"encoder\", \"units\": %d, \"bias\": false}, "
    "{\"type\": \"layernorm\", \"name\": \"norm\", \"eps\": %s}, "
    "{\"type\": \"lstm\", \"name\": \"lstm\", \"hidden\": %d, \"layers\": %d}, "
    "{\"type\": \"dense\", \"name\": \"mask_dense\", \"units\": %d}, "
    "{\"type\": \"sigmoid\", \"name\": \"mask\"}]}",
    d->N, d->E, eps, d->H2, d->l2.n, d->E);
  g_autoptr (NerveModel) m = nerve_model_new (arch1, error);
  g_autoptr (NerveModel) s2 = m ? nerve_model_new (arch2, error) : NULL;
  if (!s2)
    return NULL;
  g_autofree float *k1t = transpose (d->k1->data, d->H1, d->F), *k2t = transpose (d->k2->data, d->H2, d->E);
  if (!set_lstms (m, &d->l1, error) || !set_param (m, "mask_dense.weight", k1t, d->k1->n, error) ||
      !set_param (m, "mask_dense.bias", d->b1->data, d->b1->n, error) || !set_lstms (s2, &d->l2, error) ||
      !set_param (s2, "encoder.weight", d->enc->data, d->enc->n, error) ||
      !set_param (s2, "norm.weight", d->gamma->data, d->E, error) ||
      !set_param (s2, "norm.bias", d->beta->data, d->E, error) ||
      !set_param (s2, "mask_dense.weight", k2t, d->k2->n, error) ||
      !set_param (s2, "mask_dense.bias", d->b2->data, d->b2->n, error))
    return NULL;

  nerve_model_set_meta (s2, "nerve.task", "denoise");
  nerve_model_set_meta (s2, "nerve.dtln.stage", "2");
  /* ONNX Conv weight [N, E, 1] is the decoder matrix [N][E] */
  const NerveExtraTensor dec = { NERVE_DTLN_DECODER, d->dec->data, d->dec->n };
  g_autoptr (GBytes) b = model_bytes (s2, &dec, 1, error);
  if (!b)
    return NULL;
  nerve_model_set_blob (m, NERVE_DTLN_STAGE2_BLOB, b);

  char num[32];
  nerve_model_set_meta (m, "nerve.task", "denoise");
  nerve_model_set_meta (m, "nerve.denoise.frontend", "dtln");
  nerve_model_set_meta (m, "nerve.audio.rate", "16000");
  g_snprintf (num, sizeof num, "%d", d->N);
  nerve_model_set_meta (m, "nerve.stft.size", num);
  g_snprintf (num, sizeof num, "%d", d->N / 4);
  nerve_model_set_meta (m, "nerve.stft.hop", num);
  nerve_model_set_meta (m, "nerve.stft.window", "rect");
  g_autofree char *src = g_strdup_printf ("DTLN (Westhausen & Meyer, Interspeech 2020), pretrained weights of "
                                          "github.com/breizhn/DTLN, imported from %s + %s (written by %s)",
                                          what1, what2, producer);
  nerve_model_set_meta (m, "nerve.source", src);
  nerve_model_set_meta (m, "nerve.license", "MIT, Copyright (c) 2020 Nils L. Westhausen (breizhn/DTLN)");
  return g_steal_pointer (&m);
}

NerveModel *
nerve_import_dtln_onnx (const NerveOnnxGraph *s1, const char *what1, const NerveOnnxGraph *s2, const char *what2,
                        GError **error)
{
  Dtln d = { 0 };
  NerveModel *m = NULL;
  if (read_stage1 (&d, s1, what1, error) && read_stage2 (&d, s2, what2, error))
    m = build (&d, what1, what2, s1->producer, error);
  lstm_stack_clear (&d.l1);
  lstm_stack_clear (&d.l2);
  return m;
}

NerveModel *
nerve_import_dtln (const char *path, GError **error)
{
  g_autofree char *p1 = NULL, *p2 = NULL;
  if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
    p1 = g_build_filename (path, "model_1.onnx", NULL);
    p2 = g_build_filename (path, "model_2.onnx", NULL);
  } else if (g_str_has_suffix (path, "_1.onnx")) {
    p1 = g_strdup (path);
    p2 = g_strdup (path);
    p2[strlen (p2) - strlen ("1.onnx")] = '2';
  } else {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
                 "%s: give DTLN's folder or its model_1.onnx (model_2.onnx is read from beside it)", path);
    return NULL;
  }
  g_autoptr (NerveOnnxGraph) g1 = nerve_onnx_load (p1, error);
  if (!g1)
    return NULL;
  g_autoptr (NerveOnnxGraph) g2 = nerve_onnx_load (p2, error);
  if (!g2)
    return NULL;
  g_autofree char *b1 = g_path_get_basename (p1), *b2 = g_path_get_basename (p2);
  return nerve_import_dtln_onnx (g1, b1, g2, b2, error);
}

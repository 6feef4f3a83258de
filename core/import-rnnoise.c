/* The .rnnn importer (import-rnnoise.h): a strict line-by-line parser, then a Nerve
 * model whose parameters are the file's weights reordered into Nerve's layouts. */
#include "import-rnnoise.h"

#include <string.h>

#include "error.h"

#define RNNN_HEADER "rnnoise-nu model file version "
#define RNNN_MAX_BYTES (64u << 20) /* the largest valid file is ~6 MB */

enum { ACT_TANH, ACT_SIGMOID, ACT_RELU };
static const char *const act_layer[] = { "tanh", "sigmoid", "relu" };

typedef struct {
  const char *name;
  gboolean gru;
  int in, n, act;
  int line; /* of the size line, for messages about sizes */
  float *w, *u, *b; /* Nerve layouts: dense w [n,in], b [n]; GRU w [3n,in], u [3n,n], b [3n] (r, z, n) */
} RnnnLayer;

typedef struct {
  const char *p, *end, *what;
  int line;     /* number of the line last read */
  const char *s; /* that line */
  gsize len;
} Reader;

/* Next line (without its newline and a trailing CR); FALSE at the end. */
static gboolean
next_line (Reader *r)
{
  if (r->p >= r->end)
    return FALSE;
  const char *nl = memchr (r->p, '\n', (gsize) (r->end - r->p));
  const char *e = nl ? nl : r->end;
  r->s = r->p;
  r->len = (gsize) (e - r->p);
  if (r->len && r->s[r->len - 1] == '\r')
    r->len--;
  r->p = nl ? nl + 1 : r->end;
  r->line++;
  return TRUE;
}

static gboolean
fail (Reader *r, GError **error, int code, const char *fmt, ...) G_GNUC_PRINTF (4, 5);

static gboolean
fail (Reader *r, GError **error, int code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, NERVE_ERROR, code, "%s line %d: %s", r->what, r->line, msg);
  return FALSE;
}

/* A short printable excerpt of bad text for messages. */
static char *
excerpt (const char *s, gsize len)
{
  GString *o = g_string_new (NULL);
  for (gsize i = 0; i < len && i < 16; i++)
    if (s[i] >= 0x20 && s[i] < 0x7f)
      g_string_append_c (o, s[i]);
    else
      g_string_append_printf (o, "\\x%02x", (guint8) s[i]);
  if (len > 16)
    g_string_append (o, "...");
  return g_string_free (o, FALSE);
}

/* Parses exactly n integers in [lo, hi] separated by spaces/tabs from the current
 * line into out. what names the array in messages. */
static gboolean
parse_ints (Reader *r, int *out, int n, int lo, int hi, const char *what, GError **error)
{
  const char *s = r->s, *e = r->s + r->len;
  int k = 0;
  for (;;) {
    while (s < e && (*s == ' ' || *s == '\t'))
      s++;
    if (s == e)
      break;
    const char *t = s;
    gboolean neg = *s == '-';
    if (neg || *s == '+')
      s++;
    gint64 v = 0;
    int digits = 0;
    while (s < e && *s >= '0' && *s <= '9' && digits < 12)
      v = v * 10 + (*s++ - '0'), digits++;
    if (!digits || (s < e && *s != ' ' && *s != '\t')) {
      const char *te = t;
      while (te < e && *te != ' ' && *te != '\t')
        te++;
      g_autofree char *bad = excerpt (t, (gsize) (te - t));
      return fail (r, error, NERVE_ERROR_FORMAT, "%s: value %d is '%s', expected an integer", what, k + 1, bad);
    }
    v = neg ? -v : v;
    if (v < lo || v > hi)
      return fail (r, error, NERVE_ERROR_FORMAT, "%s: value %d is %" G_GINT64_FORMAT ", expected %d..%d", what,
                   k + 1, v, lo, hi);
    if (k == n)
      return fail (r, error, NERVE_ERROR_FORMAT, "%s: more than the %d values expected", what, n);
    out[k++] = (int) v;
  }
  if (k < n)
    return fail (r, error, NERVE_ERROR_FORMAT, "%s: %d values, expected %d%s", what, k, n,
                 r->p >= r->end ? " (truncated file?)" : "");
  return TRUE;
}

static gboolean
read_line (Reader *r, const char *what, GError **error)
{
  if (next_line (r))
    return TRUE;
  r->line++;
  return fail (r, error, NERVE_ERROR_FORMAT, "the file ends before %s (truncated?)", what);
}

/* One array of count weights: value i of the file goes to dst[map(i)] / 256. */
static gboolean
read_weights (Reader *r, RnnnLayer *L, const char *part, int count, float *dst, int kind, int *tmp,
              GError **error)
{
  g_autofree char *what = g_strdup_printf ("%s %s", L->name, part);
  if (!read_line (r, what, error) || !parse_ints (r, tmp, count, -128, 127, what, error))
    return FALSE;
  const int n = L->n;
  for (int i = 0; i < count; i++) {
    int at;
    if (kind == 0) { /* dense weights: file [in][n] -> [n][in] */
      at = (i % n) * L->in + i / n;
    } else if (kind == 1) { /* dense bias */
      at = i;
    } else { /* GRU: file row k (an input or a state unit), gate g (z, r, h), unit j */
      int cols = kind == 2 ? L->in : n, k = i / (3 * n), g = (i / n) % 3, j = i % n;
      int block = g == 0 ? 1 : g == 1 ? 0 : 2; /* Nerve's gate order r, z, n */
      at = kind == 4 ? block * n + j : (block * n + j) * cols + k;
    }
    dst[at] = (float) tmp[i] / 256.0f;
  }
  return TRUE;
}

static gboolean
read_layer (Reader *r, RnnnLayer *L, int *tmp, GError **error)
{
  int v[3];
  g_autofree char *what = g_strdup_printf ("%s sizes (inputs neurons activation)", L->name);
  if (!read_line (r, what, error) ||
      !parse_ints (r, v, 3, 0, G_MAXINT32, what, error))
    return FALSE;
  L->line = r->line;
  if (v[0] < 1 || v[0] > NERVE_RNNOISE_MAX_NEURONS || v[1] < 1 || v[1] > NERVE_RNNOISE_MAX_NEURONS)
    return fail (r, error, NERVE_ERROR_FORMAT, "%s has %d inputs and %d neurons: each must be 1..%d", L->name, v[0],
                 v[1], NERVE_RNNOISE_MAX_NEURONS);
  if (v[2] > ACT_RELU)
    return fail (r, error, NERVE_ERROR_FORMAT, "%s has activation %d: expected 0 (tanh), 1 (sigmoid) or 2 (relu)",
                 L->name, v[2]);
  L->in = v[0], L->n = v[1], L->act = v[2];
  const int G = L->gru ? 3 : 1;
  L->w = g_new (float, (gsize) G * L->n * L->in);
  L->b = g_new (float, (gsize) G * L->n);
  if (!L->gru)
    return read_weights (r, L, "weights", L->in * L->n, L->w, 0, tmp, error) &&
           read_weights (r, L, "bias", L->n, L->b, 1, tmp, error);
  L->u = g_new (float, (gsize) 3 * L->n * L->n);
  return read_weights (r, L, "input weights", 3 * L->in * L->n, L->w, 2, tmp, error) &&
         read_weights (r, L, "recurrent weights", 3 * L->n * L->n, L->u, 3, tmp, error) &&
         read_weights (r, L, "bias", 3 * L->n, L->b, 4, tmp, error);
}

/* The sizes must chain as RNNoise's network wires them. */
static gboolean
check_sizes (Reader *r, RnnnLayer *L, GError **error)
{
  RnnnLayer *dense = &L[0], *vad = &L[1], *noise = &L[2], *den = &L[3], *gains = &L[4], *vout = &L[5];
  const int F = NERVE_RNNOISE_FEATURES;
  struct {
    RnnnLayer *l;
    int in, want_in, n, want_n;
    const char *why;
  } c[] = {
    { dense, dense->in, F, 0, 0, "the 42 features" },
    { vad, vad->in, dense->n, 0, 0, "input_dense's outputs" },
    { noise, noise->in, dense->n + vad->n + F, 0, 0, "input_dense + vad_gru + the 42 features" },
    { den, den->in, vad->n + noise->n + F, 0, 0, "vad_gru + noise_gru + the 42 features" },
    { gains, gains->in, den->n, gains->n, NERVE_RNNOISE_BANDS, "denoise_gru's state" },
    { vout, vout->in, vad->n, vout->n, 1, "vad_gru's state" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (c); i++) {
    if (c[i].in != c[i].want_in) {
      r->line = c[i].l->line;
      return fail (r, error, NERVE_ERROR_SHAPE, "%s has %d inputs; RNNoise feeds it %s = %d", c[i].l->name, c[i].in,
                   c[i].why, c[i].want_in);
    }
    if (c[i].n != c[i].want_n) {
      r->line = c[i].l->line;
      return fail (r, error, NERVE_ERROR_SHAPE, "%s has %d neurons, expected %d", c[i].l->name, c[i].n,
                   c[i].want_n);
    }
  }
  return TRUE;
}

static NerveModel *
build_model (RnnnLayer *L, GError **error)
{
  static const char *const gru_act[] = { "tanh", "sigmoid", "relu" };
  g_autofree char *json = g_strdup_printf (
    "{\"input\": [100, %d], \"layers\": ["
    "{\"type\": \"dense\", \"name\": \"input_dense\", \"units\": %d},"
    "{\"type\": \"%s\", \"name\": \"input_act\"},"
    "{\"type\": \"gru\", \"name\": \"vad_gru\", \"hidden\": %d, \"reset_after\": false, \"activation\": \"%s\"},"
    "{\"type\": \"dense\", \"name\": \"vad_output\", \"units\": 1},"
    "{\"type\": \"%s\", \"name\": \"vad\"},"
    "{\"type\": \"concat\", \"name\": \"noise_input\", \"inputs\": [\"input_act\", \"vad_gru\", \"input\"]},"
    "{\"type\": \"gru\", \"name\": \"noise_gru\", \"hidden\": %d, \"reset_after\": false, \"activation\": \"%s\"},"
    "{\"type\": \"concat\", \"name\": \"denoise_input\", \"inputs\": [\"vad_gru\", \"noise_gru\", \"input\"]},"
    "{\"type\": \"gru\", \"name\": \"denoise_gru\", \"hidden\": %d, \"reset_after\": false, \"activation\": \"%s\"},"
    "{\"type\": \"dense\", \"name\": \"denoise_output\", \"units\": %d},"
    "{\"type\": \"%s\", \"name\": \"gains\"},"
    "{\"type\": \"concat\", \"name\": \"output\", \"inputs\": [\"gains\", \"vad\"]}"
    "], \"output\": \"output\"}",
    NERVE_RNNOISE_FEATURES, L[0].n, act_layer[L[0].act], L[1].n, gru_act[L[1].act], act_layer[L[5].act], L[2].n,
    gru_act[L[2].act], L[3].n, gru_act[L[3].act], NERVE_RNNOISE_BANDS, act_layer[L[4].act]);
  NerveModel *m = nerve_model_new (json, error);
  if (!m)
    return NULL;
  for (int i = 0; i < 6; i++) {
    g_autofree char *wn = g_strdup_printf ("%s.%s", L[i].name, L[i].gru ? "weight_ih_l0" : "weight");
    g_autofree char *bn = g_strdup_printf ("%s.%s", L[i].name, L[i].gru ? "bias_ih_l0" : "bias");
    NerveParam *w = nerve_model_find_param (m, wn), *b = nerve_model_find_param (m, bn);
    g_assert (w && b);
    memcpy (w->data, L[i].w, sizeof (float) * nerve_shape_numel (&w->shape));
    memcpy (b->data, L[i].b, sizeof (float) * nerve_shape_numel (&b->shape));
    if (L[i].gru) { /* one bias per gate in RNNoise: it is b_ih, b_hh stays zero */
      g_autofree char *un = g_strdup_printf ("%s.weight_hh_l0", L[i].name);
      g_autofree char *hn = g_strdup_printf ("%s.bias_hh_l0", L[i].name);
      NerveParam *u = nerve_model_find_param (m, un), *hb = nerve_model_find_param (m, hn);
      memcpy (u->data, L[i].u, sizeof (float) * nerve_shape_numel (&u->shape));
      memset (hb->data, 0, sizeof (float) * nerve_shape_numel (&hb->shape));
    }
  }
  return m;
}

gboolean
nerve_rnnn_detect (const guint8 *data, gsize len)
{
  return len >= strlen (RNNN_HEADER) && memcmp (data, RNNN_HEADER, strlen (RNNN_HEADER)) == 0;
}

NerveModel *
nerve_import_rnnoise_from_data (const char *data, gsize len, const char *what, GError **error)
{
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  Reader r = { .p = data, .end = data + len, .what = what ? what : "buffer" };
  if (len > RNNN_MAX_BYTES) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT, "%s: %" G_GSIZE_FORMAT " bytes; a .rnnn file is at most %u MB",
                 r.what, len, RNNN_MAX_BYTES >> 20);
    return NULL;
  }
  if (!next_line (&r) || !nerve_rnnn_detect ((const guint8 *) r.s, r.len)) {
    r.line = 1;
    fail (&r, error, NERVE_ERROR_FORMAT, "not an RNNoise model: the first line must be '%s1'", RNNN_HEADER);
    return NULL;
  }
  gsize hl = strlen (RNNN_HEADER);
  while (r.len > hl && (r.s[r.len - 1] == ' ' || r.s[r.len - 1] == '\t'))
    r.len--;
  if (r.len != hl + 1 || r.s[hl] != '1') {
    g_autofree char *v = excerpt (r.s + hl, r.len - hl);
    fail (&r, error, NERVE_ERROR_VERSION, "format version '%s': this build reads version 1", v);
    return NULL;
  }
  RnnnLayer L[6] = {
    { .name = "input_dense" }, { .name = "vad_gru", .gru = TRUE }, { .name = "noise_gru", .gru = TRUE },
    { .name = "denoise_gru", .gru = TRUE }, { .name = "denoise_output" }, { .name = "vad_output" },
  };
  /* the longest array: 3 * 128 * 128 (a recurrent matrix) */
  g_autofree int *tmp = g_new (int, 3 * NERVE_RNNOISE_MAX_NEURONS * NERVE_RNNOISE_MAX_NEURONS);
  NerveModel *m = NULL;
  gboolean ok = TRUE;
  for (int i = 0; i < 6 && ok; i++)
    ok = read_layer (&r, &L[i], tmp, error);
  if (ok) {
    while (next_line (&r)) { /* only blank lines may follow */
      for (gsize i = 0; i < r.len && ok; i++)
        if (r.s[i] != ' ' && r.s[i] != '\t')
          ok = fail (&r, error, NERVE_ERROR_FORMAT, "unexpected text after the last layer (vad_output)");
      if (!ok)
        break;
    }
  }
  if (ok && check_sizes (&r, L, error) && (m = build_model (L, error))) {
    g_autofree char *sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, len);
    g_autofree char *base = g_path_get_basename (r.what);
    nerve_model_set_meta (m, "nerve.task", "denoise");
    nerve_model_set_meta (m, "nerve.denoise.frontend", "rnnoise");
    nerve_model_set_meta (m, "nerve.audio.rate", "48000");
    nerve_model_set_meta (m, "nerve.rnnoise.scaling", "rnnoise");
    nerve_model_set_meta (m, "nerve.source", base);
    nerve_model_set_meta (m, "nerve.source.sha256", sum);
    nerve_model_set_meta (m, "nerve.source.format", "rnnoise-nu model file version 1 (.rnnn)");
    nerve_model_set_meta (m, "nerve.license",
                          "as the source file's: .rnnn files state none (GregorR/rnnoise-models declares its "
                          "models not subject to copyright)");
  }
  for (int i = 0; i < 6; i++)
    g_free (L[i].w), g_free (L[i].u), g_free (L[i].b);
  return m;
}

NerveModel *
nerve_import_rnnoise (const char *path, GError **error)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (GMappedFile) f = g_mapped_file_new (path, FALSE, &err);
  if (!f) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_IO, "%s", err->message);
    return NULL;
  }
  return nerve_import_rnnoise_from_data (g_mapped_file_get_contents (f), g_mapped_file_get_length (f), path, error);
}

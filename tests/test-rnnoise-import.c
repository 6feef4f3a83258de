/* The .rnnn importer: the imported network against an independent PyTorch reference
 * (tests/gen/rnnoise_net.py) streamed through NerveStream, weight placement, model
 * files, and refusals of truncated, garbage and hostile input with line numbers. */
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "check.h"
#include "nerve.h"

static char *
tiny_text (gsize *len)
{
  g_autofree char *path = nerve_test_path ("tests/fixtures/rnnoise-tiny.rnnn");
  char *text = NULL;
  CU_ASSERT_FATAL (g_file_get_contents (path, &text, len, NULL));
  return text;
}

/* A well-formed file with the given sizes [layer][inputs, neurons, activation] and
 * seeded values, for structural error cases. */
static char *
make_rnnn (const int sz[6][3], guint32 seed)
{
  GString *s = g_string_new ("rnnoise-nu model file version 1\n");
  for (int k = 0; k < 6; k++) {
    int gates = k >= 1 && k <= 3 ? 3 : 1;
    g_string_append_printf (s, "%d %d %d\n", sz[k][0], sz[k][1], sz[k][2]);
    int counts[3] = { sz[k][0] * sz[k][1] * gates, gates == 3 ? 3 * sz[k][1] * sz[k][1] : sz[k][1] * gates,
                      gates == 3 ? 3 * sz[k][1] : 0 };
    for (int a = 0; a < 3 && counts[a]; a++) {
      for (int i = 0; i < counts[a]; i++) {
        seed = seed * 1664525u + 1013904223u;
        g_string_append_printf (s, i ? " %d" : "%d", (int) (seed >> 24) - 128);
      }
      g_string_append_c (s, '\n');
    }
  }
  return g_string_free (s, FALSE);
}

static const int good_sizes[6][3] = { { 42, 4, 0 }, { 4, 3, 0 }, { 49, 5, 2 }, { 50, 6, 0 }, { 6, 22, 1 }, { 3, 1, 1 } };

/* Expects the import of text to fail with a message containing each needle. */
static void
expect_error (const char *text, gsize len, int code, const char *n1, const char *n2)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveModel) m = nerve_import_rnnoise_from_data (text, len, "t.rnnn", &err);
  CU_ASSERT_PTR_NULL (m);
  if (!err) {
    fprintf (stderr, "  no error for: %.60s\n", text);
    CU_FAIL ("accepted");
    return;
  }
  CU_ASSERT_EQUAL (err->code, code);
  gboolean ok = g_str_has_prefix (err->message, "t.rnnn") && (!n1 || strstr (err->message, n1)) &&
                (!n2 || strstr (err->message, n2));
  if (!ok || err->code != code)
    fprintf (stderr, "  unexpected message (code %d): %s (wanted '%s' '%s')\n", err->code, err->message,
             n1 ? n1 : "", n2 ? n2 : "");
  CU_ASSERT (ok);
}

/* ---- the network vs PyTorch ---- */

static void
stream_compare (NerveModel *m, NerveFixture *f, const char *c, const float *x, int T)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveStream) s = nerve_stream_new (m, &err);
  if (!s)
    fprintf (stderr, "  %s\n", err->message);
  CU_ASSERT_PTR_NOT_NULL_FATAL (s);
  CU_ASSERT_EQUAL (nerve_stream_in_size (s), 42);
  CU_ASSERT_EQUAL_FATAL (nerve_stream_out_size (s), 23);
  gsize ny;
  float *y = nerve_fixture_tensor (f, c, "y", &ny);
  CU_ASSERT_EQUAL_FATAL (ny, (gsize) T * 23);
  float *out = nerve_alloc_floats (ny);
  for (int t = 0; t < T; t++)
    memcpy (out + t * 23, nerve_stream_step (s, x + t * 42), sizeof (float) * 23);
  g_autofree char *what = g_strdup_printf ("%s network", c);
  double worst = nerve_assert_close (what, out, y, ny, 2e-6);
  printf ("  %s: %d frames, worst |nerve - torch| = %.2g\n", c, T, worst);
  /* a reset stream repeats itself */
  nerve_stream_reset (s);
  nerve_assert_close ("after reset", nerve_stream_step (s, x), y, 23, 2e-6);
  nerve_free_floats (y), nerve_free_floats (out);
}

static void
test_network_vs_pytorch (void)
{
  NerveFixture *f = nerve_fixture_load ("rnnoise-net");
  CU_ASSERT_PTR_NOT_NULL_FATAL (f);
  gsize nx, len;
  float *x = nerve_fixture_tensor (f, "tiny", "x", &nx);
  int T = (int) (nx / 42);
  g_autofree char *text = tiny_text (&len);
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveModel) m = nerve_import_rnnoise_from_data (text, len, "rnnoise-tiny.rnnn", &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  stream_compare (m, f, "tiny", x, T);
  g_autofree char *dir = nerve_test_data_path (NULL);
  int n = 0;
  for (const char *const *c = nerve_fixture_cases (f); dir && *c; c++) {
    if (g_str_equal (*c, "tiny"))
      continue;
    g_autofree char *path = g_strdup_printf ("%s/pretrained/rnnoise/%s.rnnn", dir, *c);
    g_autoptr (NerveModel) real = nerve_import_rnnoise (path, &err);
    if (!real)
      fprintf (stderr, "  %s\n", err->message);
    CU_ASSERT_PTR_NOT_NULL_FATAL (real);
    stream_compare (real, f, *c, x, T);
    n++;
  }
  if (dir)
    CU_ASSERT_EQUAL (n, 5);
  nerve_free_floats (x);
  nerve_fixture_free (f);
}

/* ---- where the weights go ---- */

static void
test_weight_placement (void)
{
  gsize len;
  g_autofree char *text = tiny_text (&len);
  g_autoptr (NerveModel) m = nerve_import_rnnoise_from_data (text, len, "tiny", NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  /* the file's values in order, read naively */
  g_auto (GStrv) tok = g_strsplit_set (text, " \n", -1);
  GArray *v = g_array_new (FALSE, FALSE, sizeof (int));
  for (int i = 5; tok[i]; i++)
    if (*tok[i]) {
      int x = atoi (tok[i]);
      g_array_append_val (v, x);
    }
  const int *val = (const int *) (gpointer) v->data;
  /* input_dense 42 -> 5: sizes, then weights [input][neuron] */
  CU_ASSERT_EQUAL (val[0], 42);
  CU_ASSERT_EQUAL (val[1], 5);
  const float *w = nerve_model_find_param (m, "input_dense.weight")->data; /* [5,42] */
  CU_ASSERT_EQUAL (w[3 * 42 + 7], (float) val[3 + 7 * 5 + 3] / 256);
  const float *b = nerve_model_find_param (m, "input_dense.bias")->data;
  CU_ASSERT_EQUAL (b[4], (float) val[3 + 42 * 5 + 4] / 256);
  /* vad_gru 5 -> 6: input weights [input][gate z,r,h][unit] -> rows r, z, n */
  int at = 3 + 42 * 5 + 5;
  CU_ASSERT_EQUAL (val[at], 5);
  CU_ASSERT_EQUAL (val[at + 1], 6);
  at += 3;
  const int N = 6;
  const float *wi = nerve_model_find_param (m, "vad_gru.weight_ih_l0")->data; /* [18,5] */
  const int k = 2, j = 4;
  CU_ASSERT_EQUAL (wi[(0 * N + j) * 5 + k], (float) val[at + k * 3 * N + 1 * N + j] / 256); /* r */
  CU_ASSERT_EQUAL (wi[(1 * N + j) * 5 + k], (float) val[at + k * 3 * N + 0 * N + j] / 256); /* z */
  CU_ASSERT_EQUAL (wi[(2 * N + j) * 5 + k], (float) val[at + k * 3 * N + 2 * N + j] / 256); /* n */
  at += 5 * 3 * N;
  const float *wh = nerve_model_find_param (m, "vad_gru.weight_hh_l0")->data; /* [18,6] */
  CU_ASSERT_EQUAL (wh[(1 * N + j) * N + k], (float) val[at + k * 3 * N + 0 * N + j] / 256);
  at += N * 3 * N;
  const float *bi = nerve_model_find_param (m, "vad_gru.bias_ih_l0")->data;
  CU_ASSERT_EQUAL (bi[0 * N + j], (float) val[at + 1 * N + j] / 256);
  CU_ASSERT_EQUAL (bi[2 * N + j], (float) val[at + 2 * N + j] / 256);
  const float *bh = nerve_model_find_param (m, "vad_gru.bias_hh_l0")->data;
  CU_ASSERT_EQUAL (bh[j], 0.0f);
  g_array_unref (v);
  /* metadata */
  CU_ASSERT_STRING_EQUAL (nerve_model_get_meta (m, "nerve.task"), "denoise");
  CU_ASSERT_STRING_EQUAL (nerve_model_get_meta (m, "nerve.denoise.frontend"), "rnnoise");
  CU_ASSERT_STRING_EQUAL (nerve_model_get_meta (m, "nerve.audio.rate"), "48000");
  CU_ASSERT_STRING_EQUAL (nerve_model_get_meta (m, "nerve.source"), "tiny");
  CU_ASSERT_EQUAL (strlen (nerve_model_get_meta (m, "nerve.source.sha256")), 64);
  CU_ASSERT_PTR_NOT_NULL (nerve_model_get_meta (m, "nerve.license"));
  CU_ASSERT (nerve_rnnn_detect ((const guint8 *) text, len));
  CU_ASSERT (!nerve_rnnn_detect ((const guint8 *) "NERVE", 5));
}

/* Saved and loaded back, the model gives the same outputs and keeps its metadata. */
static void
test_model_file_round_trip (void)
{
  gsize len;
  g_autofree char *text = tiny_text (&len);
  g_autoptr (NerveModel) m = nerve_import_rnnoise_from_data (text, len, "tiny.rnnn", NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  g_autofree char *dir = g_dir_make_tmp ("rnnoise-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "tiny.nerve", NULL);
  g_autoptr (GError) err = NULL;
  CU_ASSERT_FATAL (nerve_model_save (m, path, &err));
  g_autoptr (NerveModel) l = nerve_model_load (path, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (l);
  CU_ASSERT_STRING_EQUAL (nerve_model_get_meta (l, "nerve.denoise.frontend"), "rnnoise");
  CU_ASSERT_STRING_EQUAL (nerve_model_get_meta (l, "nerve.source.sha256"), nerve_model_get_meta (m, "nerve.source.sha256"));
  g_autoptr (NerveStream) a = nerve_stream_new (m, NULL), b = nerve_stream_new (l, NULL);
  float x[42];
  nerve_test_fill_f32 (x, 42, 3, 2);
  for (int t = 0; t < 3; t++) {
    const float *ya = nerve_stream_step (a, x);
    CU_ASSERT_EQUAL (memcmp (ya, nerve_stream_step (b, x), sizeof (float) * 23), 0);
  }
  g_unlink (path);
  g_rmdir (dir);
}

/* ---- refusals ---- */

static void
test_truncated (void)
{
  gsize len;
  g_autofree char *text = tiny_text (&len);
  /* every cut before the last line fails and names a line */
  const char *last = text + len - 2;
  while (last > text && last[-1] != '\n')
    last--;
  int cuts = 0;
  for (gsize cut = 0; text + cut < last; cut += 1 + cut / 7, cuts++) {
    g_autoptr (GError) err = NULL;
    g_autoptr (NerveModel) m = nerve_import_rnnoise_from_data (text, cut, "t.rnnn", &err);
    CU_ASSERT_PTR_NULL (m);
    CU_ASSERT (err && strstr (err->message, "line "));
  }
  CU_ASSERT (cuts > 50);
  /* a cut at a line end says what is missing */
  const char *nl = strchr (strchr (text, '\n') + 1, '\n'); /* after the sizes of input_dense */
  expect_error (text, (gsize) (nl + 1 - text), NERVE_ERROR_FORMAT, "line 3", "before input_dense weights");
  /* a short array */
  const char *l3 = nl + 1;
  g_autofree char *shorter = g_strdup (text);
  char *line3 = shorter + (l3 - text), *end3 = strchr (line3, '\n');
  char *lastsp = end3;
  while (*lastsp != ' ')
    lastsp--;
  memmove (lastsp, end3, strlen (end3) + 1);
  expect_error (shorter, strlen (shorter), NERVE_ERROR_FORMAT, "line 3: input_dense weights: 209 values, expected 210",
                NULL);
  expect_error ("", 0, NERVE_ERROR_FORMAT, "line 1", "not an RNNoise model");
}

static void
test_garbage (void)
{
  gsize len;
  g_autofree char *text = tiny_text (&len);
  g_autofree char *t = g_strdup (text);
  /* a letter inside a number on line 4 */
  char *l4 = strchr (strchr (strchr (t, '\n') + 1, '\n') + 1, '\n') + 1;
  char *d = l4;
  while (!g_ascii_isdigit (*d))
    d++;
  char save = *d;
  *d = 'x';
  expect_error (t, len, NERVE_ERROR_FORMAT, "line 4: input_dense bias: value 1 is '", "expected an integer");
  *d = '\0'; /* a NUL byte */
  expect_error (t, len, NERVE_ERROR_FORMAT, "line 4", "\\x00");
  *d = save;
  /* out of range, an extra value, a bad activation, another version, trailing text */
  g_autofree char *big = g_strdup_printf ("%.*s128%s", (int) (d - t), t, d + strspn (d, "0123456789"));
  expect_error (big, strlen (big), NERVE_ERROR_FORMAT, "line 4", "is 128, expected -128..127");
  g_autofree char *extra = g_strdup_printf ("%.*s 7%s", (int) (strchr (l4, '\n') - t), t, strchr (l4, '\n'));
  expect_error (extra, strlen (extra), NERVE_ERROR_FORMAT, "line 4: input_dense bias: more than the 5 values", NULL);
  g_autofree char *v2 = g_strdup (text);
  v2[strlen ("rnnoise-nu model file version ")] = '2';
  expect_error (v2, len, NERVE_ERROR_VERSION, "line 1", "version '2'");
  g_autofree char *trail = g_strconcat (text, "\n  \n12\n", NULL);
  expect_error (trail, strlen (trail), NERVE_ERROR_FORMAT, "line 25", "after the last layer");
  g_autofree char *bin = g_strdup ("\x7f" "ELF\x01\x02\x03");
  expect_error (bin, 7, NERVE_ERROR_FORMAT, "line 1", "not an RNNoise model");
  int sz[6][3];
  memcpy (sz, good_sizes, sizeof sz);
  sz[2][2] = 3;
  g_autofree char *act = make_rnnn (sz, 1);
  expect_error (act, strlen (act), NERVE_ERROR_FORMAT, "line 9: noise_gru has activation 3", NULL);
}

static void
test_sizes (void)
{
  int sz[6][3];
  memcpy (sz, good_sizes, sizeof sz);
  g_autofree char *ok = make_rnnn (sz, 2);
  g_autoptr (NerveModel) m = nerve_import_rnnoise_from_data (ok, strlen (ok), "t.rnnn", NULL);
  CU_ASSERT_PTR_NOT_NULL (m);
  /* CRLF line ends and a trailing blank line are fine */
  g_auto (GStrv) lines = g_strsplit (ok, "\n", -1);
  g_autofree char *crlf = g_strjoinv ("\r\n", lines);
  g_autoptr (NerveModel) m2 = nerve_import_rnnoise_from_data (crlf, strlen (crlf), "t.rnnn", NULL);
  CU_ASSERT_PTR_NOT_NULL (m2);
  static const struct {
    int layer, field, value, code;
    const char *n1, *n2;
  } cases[] = {
    { 2, 0, 48, NERVE_ERROR_SHAPE, "line 9: noise_gru has 48 inputs", "input_dense + vad_gru + the 42 features = 49" },
    { 0, 0, 41, NERVE_ERROR_SHAPE, "line 2: input_dense has 41 inputs", "the 42 features" },
    { 4, 1, 21, NERVE_ERROR_SHAPE, "denoise_output has 21 neurons, expected 22", NULL },
    { 5, 1, 2, NERVE_ERROR_SHAPE, "vad_output has 2 neurons, expected 1", NULL },
    { 1, 1, 0, NERVE_ERROR_FORMAT, "line 5: vad_gru has 4 inputs and 0 neurons", "1..128" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    memcpy (sz, good_sizes, sizeof sz);
    sz[cases[i].layer][cases[i].field] = cases[i].value;
    g_autofree char *t = make_rnnn (sz, 3);
    expect_error (t, strlen (t), cases[i].code, cases[i].n1, cases[i].n2);
  }
  /* hostile sizes are refused before anything is allocated for them */
  expect_error ("rnnoise-nu model file version 1\n42 100000000 0\n", 47, NERVE_ERROR_FORMAT, "line 2", "1..128");
  expect_error ("rnnoise-nu model file version 1\n42 99999999999999999999 0\n", 58, NERVE_ERROR_FORMAT,
                "line 2", "expected an integer");
  expect_error ("rnnoise-nu model file version 1\n42 129 0\n", 41, NERVE_ERROR_FORMAT, "129 neurons", NULL);
}

/* nerve import: detected by content, --scaling, errors with exit status. */
static void
test_cli (void)
{
  g_autofree char *src = nerve_test_path ("tests/fixtures/rnnoise-tiny.rnnn");
  g_autofree char *dir = g_dir_make_tmp ("rnnoise-cli-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "tiny.nerve", NULL);
  g_autofree char *renamed = g_build_filename (dir, "weights.txt", NULL);
  g_autofree char *text = NULL;
  gsize len;
  CU_ASSERT_FATAL (g_file_get_contents (src, &text, &len, NULL) && g_file_set_contents (renamed, text, (gssize) len, NULL));
  NerveRun r = nerve_test_run_cli ((const char *[]) { "import", renamed, out, NULL });
  CU_ASSERT (nerve_test_run_check (&r, 0, "(rnnoise)", NULL));
  nerve_test_run_clear (&r);
  g_autoptr (NerveModel) m = nerve_model_load (out, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  CU_ASSERT_STRING_EQUAL (nerve_model_get_meta (m, "nerve.rnnoise.scaling"), "rnnoise");
  r = nerve_test_run_cli ((const char *[]) { "import", "--format", "rnnoise", "--scaling", "arnndn", src, out, NULL });
  CU_ASSERT (nerve_test_run_check (&r, 0, NULL, NULL));
  nerve_test_run_clear (&r);
  g_autoptr (NerveModel) a = nerve_model_load (out, NULL);
  CU_ASSERT_STRING_EQUAL (nerve_model_get_meta (a, "nerve.rnnoise.scaling"), "arnndn");
  r = nerve_test_run_cli ((const char *[]) { "info", out, NULL });
  CU_ASSERT (nerve_test_run_check (&r, 0, "rnnoise", NULL));
  nerve_test_run_clear (&r);
  r = nerve_test_run_cli ((const char *[]) { "import", "--scaling", "loud", src, out, NULL });
  CU_ASSERT (nerve_test_run_check (&r, 2, NULL, "--scaling"));
  nerve_test_run_clear (&r);
  /* a broken file: the importer's message with its line */
  CU_ASSERT_FATAL (g_file_set_contents (renamed, text, (gssize) len / 2, NULL));
  r = nerve_test_run_cli ((const char *[]) { "import", "--format", "rnnoise", renamed, out, NULL });
  CU_ASSERT (nerve_test_run_check (&r, 1, NULL, "line "));
  nerve_test_run_clear (&r);
  g_unlink (out), g_unlink (renamed), g_rmdir (dir);
}

NERVE_TEST_MAIN ("rnnoise-import",
                 { "nerve import --format rnnoise", test_cli },
                 { "network vs PyTorch through NerveStream", test_network_vs_pytorch },
                 { "weights land where RNNoise reads them", test_weight_placement },
                 { "model file round trip", test_model_file_round_trip },
                 { "truncated files", test_truncated },
                 { "garbage, ranges, versions", test_garbage },
                 { "sizes must chain; hostile sizes", test_sizes })

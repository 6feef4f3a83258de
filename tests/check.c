#include "check.h"

#include <CUnit/Basic.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>
#include <stdio.h>

#include "model.h"
#include "rng.h"
#include "tensor.h"

int
nerve_test_main (const char *suite, const TestCase *tests)
{
  if (CU_initialize_registry () != CUE_SUCCESS)
    return 1;
  CU_pSuite s = CU_add_suite (suite, NULL, NULL);
  for (int i = 0; tests[i].name; i++)
    CU_add_test (s, tests[i].name, tests[i].fn);
  CU_basic_set_mode (CU_BRM_VERBOSE);
  CU_basic_run_tests ();
  int failures = (int) CU_get_number_of_failures ();
  int ran = (int) CU_get_number_of_tests_run ();
  CU_cleanup_registry ();
  return failures > 0 || ran == 0;
}

double
nerve_fd_check (const char *what, double *x, gsize n, const double *analytic,
                double (*loss) (gpointer ctx), gpointer ctx, double h, double tol)
{
  double worst = 0;
  gsize worst_i = 0;
  double worst_fd = 0, worst_an = 0;
  for (gsize i = 0; i < n; i++) {
    double keep = x[i];
    x[i] = keep + h;
    double lp = loss (ctx);
    x[i] = keep - h;
    double lm = loss (ctx);
    x[i] = keep;
    double fd = (lp - lm) / (2 * h);
    double err = fabs (fd - analytic[i]) / fmax (1.0, fmax (fabs (fd), fabs (analytic[i])));
    if (err > worst || isnan (err)) {
      worst = isnan (err) ? INFINITY : err;
      worst_i = i;
      worst_fd = fd;
      worst_an = analytic[i];
    }
  }
  if (worst > tol) {
    fprintf (stderr, "  FD check %s: element %zu analytic %.10g vs finite difference %.10g (rel %.3g > %.3g)\n",
             what, worst_i, worst_an, worst_fd, worst, tol);
    CU_FAIL ("finite-difference gradient check failed (see stderr)");
  } else {
    CU_PASS ("finite-difference gradient check");
  }
  loss (ctx); /* leave caches consistent with the unperturbed x */
  return worst;
}

void
nerve_test_fill_f64 (double *x, gsize n, guint64 seed, double scale)
{
  NerveRng r;
  nerve_rng_seed (&r, seed);
  for (gsize i = 0; i < n; i++)
    x[i] = scale * (2.0 * nerve_rng_uniform (&r) - 1.0);
}

void
nerve_test_fill_f32 (float *x, gsize n, guint64 seed, float scale)
{
  NerveRng r;
  nerve_rng_seed (&r, seed);
  for (gsize i = 0; i < n; i++)
    x[i] = scale * (2.0f * nerve_rng_uniform (&r) - 1.0f);
}

double
nerve_test_dot_f64 (const double *a, const double *b, gsize n)
{
  double s = 0;
  for (gsize i = 0; i < n; i++)
    s += a[i] * b[i];
  return s;
}

double
nerve_assert_close (const char *what, const float *a, const float *b, gsize n, double tol)
{
  double worst = 0;
  gsize wi = 0;
  for (gsize i = 0; i < n; i++) {
    double e = fabs ((double) a[i] - b[i]) / fmax (1.0, fabs ((double) b[i]));
    if (e > worst || isnan (e)) {
      worst = isnan (e) ? INFINITY : e;
      wi = i;
    }
  }
  if (worst > tol) {
    fprintf (stderr, "  %s: element %zu is %.8g, expected %.8g (err %.3g > %.3g)\n", what, wi,
             (double) a[wi], (double) b[wi], worst, tol);
    CU_FAIL ("values differ from the reference (see stderr)");
  } else {
    CU_PASS ("values match the reference");
  }
  return worst;
}

struct _NerveFixture {
  JsonParser *parser;
  JsonObject *cases;
  char **names;
};

char *
nerve_test_path (const char *relative)
{
  const char *root = g_getenv ("NERVE_SOURCE_ROOT");
  return g_build_filename (root ? root : ".", relative, NULL);
}

static char *
data_dir_candidate (void)
{
  const char *env = g_getenv ("NERVE_DATA_DIR");
  return env && *env ? g_strdup (env) : nerve_test_path ("../shared/data");
}

char *
nerve_test_data_dir (void)
{
  char *d = data_dir_candidate ();
  if (!g_file_test (d, G_FILE_TEST_IS_DIR))
    g_clear_pointer (&d, g_free);
  return d;
}

char *
nerve_test_data_path (const char *relative)
{
  g_autofree char *d = data_dir_candidate ();
  char *p = relative ? g_build_filename (d, relative, NULL) : g_strdup (d);
  if (!g_file_test (p, G_FILE_TEST_EXISTS)) {
    if (relative)
      nerve_test_skip ("no %s (set NERVE_DATA_DIR to the shared data folder)", p);
    else
      nerve_test_skip ("no shared data folder at %s (set NERVE_DATA_DIR to it)", p);
    g_clear_pointer (&p, g_free);
  }
  return p;
}

void
nerve_test_skip (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *why = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  fprintf (stderr, "  SKIP: %s\n", why);
}

NerveFixture *
nerve_fixture_load (const char *file)
{
  g_autofree char *rel = g_strdup_printf ("tests/fixtures/%s.json", file);
  g_autofree char *path = nerve_test_path (rel);
  g_autoptr (GError) err = NULL;
  JsonParser *p = json_parser_new ();
  if (!json_parser_load_from_file (p, path, &err)) {
    fprintf (stderr, "  fixture %s: %s\n", path, err->message);
    CU_FAIL ("fixture missing: run tests/gen/*.py");
    g_object_unref (p);
    return NULL;
  }
  NerveFixture *f = g_new0 (NerveFixture, 1);
  f->parser = p;
  f->cases = json_object_get_object_member (json_node_get_object (json_parser_get_root (p)), "cases");
  GList *keys = json_object_get_members (f->cases);
  f->names = g_new0 (char *, g_list_length (keys) + 1);
  int i = 0;
  for (GList *k = keys; k; k = k->next)
    f->names[i++] = k->data;
  g_list_free (keys);
  return f;
}

void
nerve_fixture_free (NerveFixture *f)
{
  if (!f)
    return;
  g_free (f->names);
  g_object_unref (f->parser);
  g_free (f);
}

const char *const *
nerve_fixture_cases (NerveFixture *f)
{
  return (const char *const *) f->names;
}

static JsonObject *
case_obj (NerveFixture *f, const char *c, const char *member)
{
  JsonObject *o = json_object_get_object_member (f->cases, c);
  return o && json_object_has_member (o, member) ? json_object_get_object_member (o, member) : NULL;
}

int
nerve_fixture_int (NerveFixture *f, const char *c, const char *key, int def)
{
  JsonObject *cfg = case_obj (f, c, "config");
  return cfg && json_object_has_member (cfg, key) ? (int) json_object_get_int_member (cfg, key) : def;
}

double
nerve_fixture_double (NerveFixture *f, const char *c, const char *key, double def)
{
  JsonObject *cfg = case_obj (f, c, "config");
  return cfg && json_object_has_member (cfg, key) ? json_object_get_double_member (cfg, key) : def;
}

static JsonObject *
tensor_obj (NerveFixture *f, const char *c, const char *name)
{
  JsonObject *t = case_obj (f, c, "tensors");
  if (!t || !json_object_has_member (t, name)) {
    fprintf (stderr, "  fixture case %s has no tensor %s\n", c, name);
    CU_FAIL ("fixture tensor missing");
    return NULL;
  }
  return json_object_get_object_member (t, name);
}

float *
nerve_fixture_tensor (NerveFixture *f, const char *c, const char *name, gsize *n)
{
  JsonObject *t = tensor_obj (f, c, name);
  if (!t)
    return NULL;
  JsonArray *a = json_object_get_array_member (t, "data");
  guint len = json_array_get_length (a);
  float *v = nerve_alloc_floats (len);
  for (guint i = 0; i < len; i++)
    v[i] = (float) json_array_get_double_element (a, i);
  if (n)
    *n = len;
  return v;
}

int
nerve_fixture_shape (NerveFixture *f, const char *c, const char *name, int dim[5])
{
  JsonObject *t = tensor_obj (f, c, name);
  if (!t)
    return 0;
  JsonArray *a = json_object_get_array_member (t, "shape");
  int nd = (int) json_array_get_length (a);
  for (int i = 0; i < nd && i < 5; i++)
    dim[i] = (int) json_array_get_int_element (a, i);
  return nd;
}

static void
put32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v;
}

void
nerve_test_write_idx (const char *dir, const char *prefix, int n, guint32 img_magic, int extra_label, gboolean gz)
{
  gsize ilen = 16 + (gsize) n * 6, llen = 8 + n;
  guint8 *im = g_malloc0 (ilen), *lb = g_malloc0 (llen);
  put32 (im, img_magic), put32 (im + 4, n), put32 (im + 8, 2), put32 (im + 12, 3);
  put32 (lb, 0x801), put32 (lb + 4, n);
  for (int i = 0; i < n * 6; i++)
    im[16 + i] = (guint8) (i % 256);
  for (int i = 0; i < n; i++)
    lb[8 + i] = (guint8) (i % 10);
  if (extra_label >= 0)
    lb[8] = (guint8) extra_label;
  g_autofree char *ip = g_strdup_printf ("%s/%s-images-idx3-ubyte%s", dir, prefix, gz ? ".gz" : "");
  g_autofree char *lp = g_strdup_printf ("%s/%s-labels-idx1-ubyte", dir, prefix);
  if (gz) {
    g_autoptr (GZlibCompressor) z = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, -1);
    g_autoptr (GFile) f = g_file_new_for_path (ip);
    g_autoptr (GOutputStream) fo = G_OUTPUT_STREAM (g_file_replace (f, NULL, FALSE, 0, NULL, NULL));
    g_autoptr (GOutputStream) co = g_converter_output_stream_new (fo, G_CONVERTER (z));
    g_output_stream_write_all (co, im, ilen, NULL, NULL, NULL);
    g_output_stream_close (co, NULL, NULL);
  } else {
    g_file_set_contents (ip, (char *) im, ilen, NULL);
  }
  g_file_set_contents (lp, (char *) lb, llen, NULL);
  g_free (im);
  g_free (lb);
}


NerveRun
nerve_test_run_cli (const char *const *args)
{
  g_autofree char *bin = g_build_filename (g_getenv ("NERVE_BUILD_ROOT"), "core", "cli", "nerve", NULL);
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, bin);
  for (int i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  NerveRun r = { 0 };
  int wait = 0;
  g_autoptr (GError) err = NULL;
  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &r.out, &r.err, &wait, &err)) {
    fprintf (stderr, "  spawn %s: %s\n", bin, err->message);
    CU_FAIL ("cannot run nerve");
    r.status = -1;
    r.out = g_strdup ("");
    r.err = g_strdup ("");
  } else {
    r.status = WIFEXITED (wait) ? WEXITSTATUS (wait) : 128;
  }
  g_ptr_array_free (argv, TRUE);
  return r;
}

gboolean
nerve_test_run_check (const NerveRun *r, int status, const char *out_has, const char *err_has)
{
  gboolean ok = r->status == status && (!out_has || strstr (r->out, out_has)) && (!err_has || strstr (r->err, err_has));
  CU_ASSERT_TRUE (ok);
  if (!ok)
    fprintf (stderr, "  status %d (want %d)\n  stdout: %s\n  stderr: %s\n", r->status, status, r->out, r->err);
  return ok;
}

void
nerve_test_run_clear (NerveRun *r)
{
  g_clear_pointer (&r->out, g_free);
  g_clear_pointer (&r->err, g_free);
}

void
nerve_test_model_error (const char *json, const char *needle1, const char *needle2)
{
  g_autoptr (GError) err = NULL;
  NerveModel *m = nerve_model_new (json, &err);
  if (m) {
    fprintf (stderr, "  accepted: %s\n", json);
    nerve_model_unref (m);
  }
  CU_ASSERT_PTR_NULL (m);
  CU_ASSERT_PTR_NOT_NULL_FATAL (err);
  const char *needles[] = { needle1, needle2 };
  for (int i = 0; i < 2; i++)
    if (needles[i] && !strstr (err->message, needles[i])) {
      fprintf (stderr, "  error '%s' does not mention '%s'\n", err->message, needles[i]);
      CU_FAIL ("error message");
    }
}

static double
runner_loss (NerveRunner *r, const float *x, const int *lengths, int batch, const float *rnd, gsize nout)
{
  const float *y = nerve_runner_forward_seq (r, x, lengths, batch, FALSE, NULL);
  double s = 0;
  for (gsize i = 0; i < nout; i++)
    s += (double) y[i] * rnd[i];
  return s;
}

double
nerve_test_runner_fd (NerveRunner *r, NerveModel *m, float *x, gsize nx, const int *lengths, int batch,
                      const float *rnd, gsize nout, float h, gsize stride)
{
  runner_loss (r, x, lengths, batch, rnd, nout);
  nerve_model_zero_grads (m);
  const float *dx = nerve_runner_backward (r, rnd);
  float *targets[] = { x, m->arena };
  const float *grads[] = { dx, m->grad };
  gsize counts[] = { nx, m->n_floats };
  double worst = 0;
  for (int t = 0; t < 2; t++)
    for (gsize i = 0; i < counts[t]; i += stride) {
      float keep = targets[t][i];
      targets[t][i] = keep + h;
      double lp = runner_loss (r, x, lengths, batch, rnd, nout);
      targets[t][i] = keep - h;
      double lm = runner_loss (r, x, lengths, batch, rnd, nout);
      targets[t][i] = keep;
      double fd = (lp - lm) / (2 * h);
      worst = fmax (worst, fabs (fd - grads[t][i]) / fmax (1, fabs (fd)));
    }
  return worst;
}

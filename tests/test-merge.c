/* Merging layers: add (residuals) and concat against finite differences and
 * PyTorch, a residual graph through NerveRunner against finite differences, and
 * flatten/reshape shapes and errors. */
#include "layer-fixture.h"

/* ---- kernels vs finite differences --------------------------------------------------- */

typedef struct {
  gboolean concat;
  int k;
  gsize n[3];     /* elements per input */
  gsize inner[3]; /* concat */
  gsize outer;
  double *x[3], *y, *r;
  gsize ny;
} MergeCase;

static double
merge_loss (gpointer p)
{
  MergeCase *c = p;
  const double *xs[3] = { c->x[0], c->x[1], c->x[2] };
  if (c->concat)
    nerve_concat_forward_f64 (c->y, xs, c->inner, c->k, c->outer);
  else
    nerve_add_forward_f64 (c->y, xs, c->k, c->ny);
  return nerve_test_dot_f64 (c->y, c->r, c->ny);
}

static void
test_merge_finite_differences (void)
{
  for (int concat = 0; concat < 2; concat++) {
    MergeCase c = { .concat = concat, .k = 3, .outer = 4 };
    const gsize inner[3] = { 6, 2, 5 };
    c.ny = 0;
    for (int i = 0; i < 3; i++) {
      c.inner[i] = concat ? inner[i] : 0;
      c.n[i] = concat ? c.outer * inner[i] : 24;
      c.ny += concat ? c.n[i] : 0;
      c.x[i] = g_new (double, c.n[i]);
      nerve_test_fill_f64 (c.x[i], c.n[i], 700 + i, 1);
    }
    if (!concat)
      c.ny = 24;
    c.y = g_new (double, c.ny), c.r = g_new (double, c.ny);
    nerve_test_fill_f64 (c.r, c.ny, 710, 1);
    double *dx[3];
    for (int i = 0; i < 3; i++)
      dx[i] = g_new0 (double, c.n[i]);
    merge_loss (&c);
    double *dxs[3] = { dx[0], NULL, dx[2] }; /* a NULL gradient is skipped */
    if (concat)
      nerve_concat_backward_f64 (dxs, c.r, c.inner, 3, c.outer);
    else
      nerve_add_backward_f64 (dxs, c.r, 3, c.ny);
    double *one[3] = { NULL, dx[1], NULL };
    if (concat)
      nerve_concat_backward_f64 (one, c.r, c.inner, 3, c.outer);
    else
      nerve_add_backward_f64 (one, c.r, 3, c.ny);
    for (int i = 0; i < 3; i++) {
      g_autofree char *what = g_strdup_printf ("%s dx%d", concat ? "concat" : "add", i);
      nerve_fd_check (what, c.x[i], c.n[i], dx[i], merge_loss, &c, 1e-6, 1e-9);
    }
    for (int i = 0; i < 3; i++)
      g_free (c.x[i]), g_free (dx[i]);
    g_free (c.y), g_free (c.r);
  }
}

static void
test_merge_matches_pytorch (void)
{
  NerveFixture *f = nerve_fixture_load ("merge");
  if (!f)
    return;
  for (int concat = 0; concat < 2; concat++) {
    const char *c = concat ? "concat_axis1" : "add";
    float *x[3], *dx[3], *odx[3];
    gsize n[3], inner[3], ny;
    int dim[5];
    for (int i = 0; i < 3; i++) {
      char name[8];
      g_snprintf (name, sizeof name, "x%d", i);
      x[i] = nerve_fixture_tensor (f, c, name, &n[i]);
      g_snprintf (name, sizeof name, "dx%d", i);
      dx[i] = nerve_fixture_tensor (f, c, name, NULL);
      odx[i] = nerve_alloc_floats (n[i]);
      nerve_fixture_shape (f, c, name, dim);
      inner[i] = (gsize) dim[2] * dim[3]; /* [batch, 3, n_i, 4] on per-sample axis 1 */
    }
    float *y = nerve_fixture_tensor (f, c, "y", &ny), *dy = nerve_fixture_tensor (f, c, "dy", NULL);
    float *oy = nerve_alloc_floats (ny);
    const float *xs[3] = { x[0], x[1], x[2] };
    if (concat) {
      gsize outer = (gsize) dim[0] * dim[1];
      nerve_concat_forward (oy, xs, inner, 3, outer);
      nerve_concat_backward (odx, dy, inner, 3, outer);
    } else {
      nerve_add_forward (oy, xs, 3, ny);
      nerve_add_backward (odx, dy, 3, ny);
    }
    nerve_assert_close (c, oy, y, ny, 1e-6);
    for (int i = 0; i < 3; i++) {
      nerve_assert_close (c, odx[i], dx[i], n[i], 1e-6);
      nerve_free_floats (x[i]), nerve_free_floats (dx[i]), nerve_free_floats (odx[i]);
    }
    nerve_free_floats (y), nerve_free_floats (dy), nerve_free_floats (oy);
  }
  nerve_fixture_free (f);
}

/* ---- a residual graph through the runner ------------------------------------------------- */

static const char *residual =
  "{\"input\":[6],\"layers\":["
  "{\"type\":\"dense\",\"name\":\"fc1\",\"units\":8},"
  "{\"type\":\"relu\"},"
  "{\"type\":\"dense\",\"name\":\"fc2\",\"units\":8},"
  "{\"type\":\"add\",\"name\":\"res\",\"inputs\":[\"fc2\",\"fc1\"]}]}";

static void
test_residual_graph_gradients (void)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveModel) m = test_model_new ("%s", residual);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  CU_ASSERT_EQUAL (nerve_model_output_shape (m)->dim[0], 8);
  nerve_model_init_params (m, 11);
  g_autoptr (NerveRunner) r = nerve_runner_new (m, 4, NERVE_RUNNER_GRADS | NERVE_RUNNER_INPUT_GRAD, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r);
  float *x = nerve_alloc_floats (4 * 6), *rnd = nerve_alloc_floats (4 * 8);
  nerve_test_fill_f32 (x, 24, 12, 1);
  nerve_test_fill_f32 (rnd, 32, 13, 1);

  /* forward: res = fc2 + fc1 */
  nerve_runner_forward (r, x, 4, FALSE, NULL);
  const float *fc1 = nerve_runner_layer_output (r, "fc1"), *fc2 = nerve_runner_layer_output (r, "fc2");
  const float *res = nerve_runner_layer_output (r, "res");
  float sum[32];
  for (int i = 0; i < 32; i++)
    sum[i] = fc1[i] + fc2[i];
  nerve_assert_close ("residual sum", res, sum, 32, 1e-7);

  /* float forward: coarse step, loose tolerance; the exact checks are per kernel */
  double worst = nerve_test_runner_fd (r, m, x, 24, NULL, 4, rnd, 32, 1e-3f, 1);
  if (worst >= 5e-3)
    fprintf (stderr, "  residual graph: worst relative FD error %.3g\n", worst);
  CU_ASSERT (worst < 5e-3);
  /* the fan-out of fc1 matters: fc1's bias gradient includes the skip path's Σ dy */
  NerveParam *b1 = nerve_model_find_param (m, "fc1.bias");
  CU_ASSERT (fabsf (b1->grad[0]) > 0);
  nerve_free_floats (x);
  nerve_free_floats (rnd);
}

/* ---- graph shapes and errors -------------------------------------------------------------- */

static void
test_concat_graph (void)
{
  g_autoptr (NerveModel) m = test_model_new (
    "{\"input\":[3,4],\"layers\":["
    "{\"type\":\"dense\",\"name\":\"a\",\"units\":2},"
    "{\"type\":\"dense\",\"name\":\"b\",\"units\":5,\"inputs\":[\"input\"]},"
    "{\"type\":\"concat\",\"name\":\"last\",\"inputs\":[\"a\",\"b\",\"input\"]},"
    "{\"type\":\"concat\",\"name\":\"first\",\"axis\":0,\"inputs\":[\"input\",\"input\"]},"
    "{\"type\":\"concat\",\"name\":\"neg\",\"axis\":-2,\"inputs\":[\"a\",\"a\"]}],"
    "\"output\":\"last\"}");
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  const NerveShape *last = &nerve_model_find_layer (m, "last")->out_shape;
  const NerveShape *first = &nerve_model_find_layer (m, "first")->out_shape;
  const NerveShape *neg = &nerve_model_find_layer (m, "neg")->out_shape;
  CU_ASSERT (last->ndim == 2 && last->dim[0] == 3 && last->dim[1] == 11);
  CU_ASSERT (first->ndim == 2 && first->dim[0] == 6 && first->dim[1] == 4);
  CU_ASSERT (neg->ndim == 2 && neg->dim[0] == 6 && neg->dim[1] == 2);

  /* the runner's concat of [input, input] on axis 0 stacks the two copies per sample */
  nerve_model_init_params (m, 1);
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveRunner) r = nerve_runner_new (m, 2, 0, &err);
  float x[24];
  nerve_test_fill_f32 (x, 24, 800, 1);
  nerve_runner_forward (r, x, 2, FALSE, NULL);
  const float *y = nerve_runner_layer_output (r, "first");
  for (int n = 0; n < 2; n++) {
    nerve_assert_close ("concat axis 0 first copy", y + n * 24, x + n * 12, 12, 0);
    nerve_assert_close ("concat axis 0 second copy", y + n * 24 + 12, x + n * 12, 12, 0);
  }
  /* the last 4 features of "last" are the input itself */
  y = nerve_runner_layer_output (r, "last");
  for (int row = 0; row < 6; row++)
    nerve_assert_close ("concat last axis", y + row * 11 + 7, x + row * 4, 4, 0);
}

static void
test_flatten_reshape (void)
{
  g_autoptr (NerveModel) m = test_model_new (
    "{\"input\":[2,3,4],\"layers\":["
    "{\"type\":\"flatten\",\"name\":\"f\"},"
    "{\"type\":\"reshape\",\"name\":\"r\",\"shape\":[4,-1]},"
    "{\"type\":\"reshape\",\"name\":\"r2\",\"shape\":[2,2,6]}]}");
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  const NerveShape *f = &nerve_model_find_layer (m, "f")->out_shape;
  const NerveShape *rs = &nerve_model_find_layer (m, "r")->out_shape;
  const NerveShape *o = nerve_model_output_shape (m);
  CU_ASSERT (f->ndim == 1 && f->dim[0] == 24);
  CU_ASSERT (rs->ndim == 2 && rs->dim[0] == 4 && rs->dim[1] == 6);
  CU_ASSERT (o->ndim == 3 && o->dim[0] == 2 && o->dim[1] == 2 && o->dim[2] == 6);
  /* views: the data passes through unchanged, and so does the gradient */
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveRunner) r = nerve_runner_new (m, 2, NERVE_RUNNER_GRADS | NERVE_RUNNER_INPUT_GRAD, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r);
  float x[48], dy[48];
  nerve_test_fill_f32 (x, 48, 900, 1);
  nerve_test_fill_f32 (dy, 48, 901, 1);
  nerve_assert_close ("reshape forward", nerve_runner_forward (r, x, 2, FALSE, NULL), x, 48, 0);
  nerve_assert_close ("reshape backward", nerve_runner_backward (r, dy), dy, 48, 0);
}

static void
test_merge_bad_configs (void)
{
  test_model_error ("{\"input\":[4],\"layers\":[{\"type\":\"dense\",\"name\":\"a\",\"units\":3},"
                    "{\"type\":\"add\",\"inputs\":[\"a\",\"input\"]}]}", "[4]", "[3]");
  test_model_error ("{\"input\":[4],\"layers\":[{\"type\":\"add\",\"inputs\":[\"input\"]}]}",
                    "takes 2 to 8 inputs, got 1", NULL);
  test_model_error ("{\"input\":[3,4],\"layers\":[{\"type\":\"dense\",\"name\":\"a\",\"units\":2},"
                    "{\"type\":\"concat\",\"axis\":0,\"inputs\":[\"a\",\"input\"]}]}", "[3,2]", "[3,4]");
  test_model_error ("{\"input\":[3,4],\"layers\":[{\"type\":\"concat\",\"axis\":2,\"inputs\":[\"input\",\"input\"]}]}",
                    "'axis' is 2", "must be in [-2, 1]");
  test_model_error ("{\"input\":[2,3],\"layers\":[{\"type\":\"reshape\",\"shape\":[4,2]}]}", "[2,3]", "[4,2]");
  test_model_error ("{\"input\":[2,3],\"layers\":[{\"type\":\"reshape\",\"shape\":[4,-1]}]}", "[2,3]", "[4,-1]");
  test_model_error ("{\"input\":[2,3],\"layers\":[{\"type\":\"reshape\",\"shape\":[-1,-1]}]}", "'shape' must be", NULL);
  test_model_error ("{\"input\":[2,3],\"layers\":[{\"type\":\"reshape\"}]}", "'shape' is required", NULL);
  test_model_error ("{\"input\":[2,3],\"layers\":[{\"type\":\"flatten\",\"axis\":1}]}", "unknown key 'axis'", NULL);
}

NERVE_TEST_MAIN ("merge",
                 { "add and concat backward vs finite differences", test_merge_finite_differences },
                 { "add and concat vs PyTorch", test_merge_matches_pytorch },
                 { "residual graph through the runner vs finite differences", test_residual_graph_gradients },
                 { "concat in a graph", test_concat_graph },
                 { "flatten and reshape", test_flatten_reshape },
                 { "merge bad configs give clear errors", test_merge_bad_configs })

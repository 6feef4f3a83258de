/* Pooling layers: the 2×2 max-pool fast path against its plain loop, every backward
 * against finite differences (double), PyTorch fixtures through the model runner,
 * and configuration errors. */
#include "layer-fixture.h"

/* ---- fast path vs reference ------------------------------------------------ */

static void
test_maxpool_fast_matches_reference (void)
{
  const int sizes[][3] = { { 3, 6, 7 }, { 2, 28, 28 }, { 5, 9, 4 }, { 1, 2, 2 }, { 4, 3, 33 } };
  for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++) {
    int P = sizes[s][0], H = sizes[s][1], W = sizes[s][2];
    NervePool2d g = nerve_pool2d_make (H, W, 2, 2, 2, 2, 0, 0);
    gsize nx = (gsize) P * H * W, ny = (gsize) P * g.Ho * g.Wo;
    float *x = nerve_alloc_floats (nx), *y1 = nerve_alloc_floats (ny), *y2 = nerve_alloc_floats (ny);
    int *i1 = g_new (int, ny), *i2 = g_new (int, ny);
    nerve_test_fill_f32 (x, nx, 30 + s, 2);
    if (s % 2) /* few distinct values: ties must resolve to the first maximum in both */
      for (gsize i = 0; i < nx; i++)
        x[i] = roundf (x[i]);
    nerve_maxpool2d_forward (y1, i1, x, P, &g);
    nerve_maxpool2d_forward_ref (y2, i2, x, P, &g);
    CU_ASSERT (memcmp (y1, y2, ny * sizeof (float)) == 0);
    CU_ASSERT (memcmp (i1, i2, ny * sizeof (int)) == 0);
    nerve_free_floats (x), nerve_free_floats (y1), nerve_free_floats (y2);
    g_free (i1), g_free (i2);
  }
}

/* ---- finite differences ------------------------------------------------------ */

typedef enum { MAX2D, AVG2D, GAVG, GMAX, TMEAN, TMAX } PoolKind;

typedef struct {
  PoolKind kind;
  NervePool2d g;
  int P, S;          /* planes and plane size (2-D and global) */
  int N, T, F;       /* time pooling */
  const int *lengths;
  double *x, *y, *r;
  int *idx;
  gsize nx, ny;
} PoolCase;

static double
pool_loss (gpointer p)
{
  PoolCase *c = p;
  switch (c->kind) {
  case MAX2D: nerve_maxpool2d_forward_f64 (c->y, c->idx, c->x, c->P, &c->g); break;
  case AVG2D: nerve_avgpool2d_forward_f64 (c->y, c->x, c->P, &c->g); break;
  case GAVG: nerve_global_avgpool_forward_f64 (c->y, c->x, c->P, c->S); break;
  case GMAX: nerve_global_maxpool_forward_f64 (c->y, c->idx, c->x, c->P, c->S); break;
  case TMEAN:
  case TMAX:
    nerve_time_pool_forward_f64 (c->y, c->idx, c->x, c->lengths, c->N, c->T, c->F,
                                 c->kind == TMAX ? NERVE_TIME_POOL_MAX : NERVE_TIME_POOL_MEAN);
    break;
  }
  return nerve_test_dot_f64 (c->y, c->r, c->ny);
}

static void
pool_backward (PoolCase *c, double *dx)
{
  switch (c->kind) {
  case MAX2D: nerve_maxpool2d_backward_f64 (dx, c->r, c->idx, c->P, &c->g); break;
  case AVG2D: nerve_avgpool2d_backward_f64 (dx, c->r, c->P, &c->g); break;
  case GAVG: nerve_global_avgpool_backward_f64 (dx, c->r, c->P, c->S); break;
  case GMAX: nerve_global_maxpool_backward_f64 (dx, c->r, c->idx, c->P, c->S); break;
  case TMEAN:
  case TMAX:
    nerve_time_pool_backward_f64 (dx, c->r, c->idx, c->lengths, c->N, c->T, c->F,
                                  c->kind == TMAX ? NERVE_TIME_POOL_MAX : NERVE_TIME_POOL_MEAN);
    break;
  }
}

/* Returns dx (caller frees) after checking it against finite differences. */
static double *
pool_fd (PoolCase *c, const char *what, guint64 seed)
{
  c->x = g_new (double, c->nx), c->y = g_new (double, c->ny), c->r = g_new (double, c->ny);
  c->idx = g_new (int, c->ny);
  double *dx = g_new0 (double, c->nx);
  nerve_test_fill_f64 (c->x, c->nx, seed, 1);
  nerve_test_fill_f64 (c->r, c->ny, seed + 1, 1);
  pool_loss (c);
  pool_backward (c, dx);
  nerve_fd_check (what, c->x, c->nx, dx, pool_loss, c, 1e-6, 1e-8);
  /* backward accumulates */
  double *again = g_new0 (double, c->nx);
  memcpy (again, dx, c->nx * sizeof (double));
  pool_backward (c, again);
  for (gsize i = 0; i < c->nx; i++)
    if (fabs (again[i] - 2 * dx[i]) > 1e-12)
      CU_FAIL ("pool backward does not accumulate");
  g_free (again);
  g_free (c->x), g_free (c->y), g_free (c->r), g_free (c->idx);
  return dx;
}

static void
test_pool2d_finite_differences (void)
{
  /* window, stride, padding: fast path, overlapping, padded, uneven */
  const int geo[][6] = { { 2, 2, 2, 2, 0, 0 }, { 3, 3, 2, 2, 1, 1 }, { 2, 3, 1, 2, 1, 0 }, { 3, 2, 3, 1, 0, 1 } };
  for (gsize i = 0; i < G_N_ELEMENTS (geo); i++)
    for (PoolKind k = MAX2D; k <= AVG2D; k++) {
      PoolCase c = { .kind = k, .P = 3 };
      c.g = nerve_pool2d_make (7, 6, geo[i][0], geo[i][1], geo[i][2], geo[i][3], geo[i][4], geo[i][5]);
      c.nx = (gsize) c.P * 7 * 6;
      c.ny = (gsize) c.P * c.g.Ho * c.g.Wo;
      g_autofree char *what = g_strdup_printf ("%s geometry %zu", k == MAX2D ? "maxpool2d" : "avgpool2d", i);
      g_free (pool_fd (&c, what, 40 + i));
    }
}

static void
test_global_pool_finite_differences (void)
{
  for (PoolKind k = GAVG; k <= GMAX; k++) {
    PoolCase c = { .kind = k, .P = 5, .S = 37 };
    c.nx = (gsize) c.P * c.S;
    c.ny = c.P;
    g_free (pool_fd (&c, k == GAVG ? "global_avgpool" : "global_maxpool", 50));
  }
}

static void
test_time_pool_finite_differences (void)
{
  const int lengths[] = { 6, 2, 0, 9 }; /* full, partial, empty, longer than T (clamped) */
  for (PoolKind k = TMEAN; k <= TMAX; k++) {
    PoolCase c = { .kind = k, .N = 4, .T = 6, .F = 5, .lengths = lengths };
    c.nx = (gsize) c.N * c.T * c.F;
    c.ny = (gsize) c.N * c.F;
    double *dx = pool_fd (&c, k == TMEAN ? "time_pool mean" : "time_pool max", 60);
    /* padded steps get no gradient: sample 1 after step 2, sample 2 entirely */
    for (int t = 2; t < c.T; t++)
      for (int f = 0; f < c.F; f++)
        CU_ASSERT_EQUAL (dx[(1 * c.T + t) * c.F + f], 0.0);
    for (int i = 0; i < c.T * c.F; i++)
      CU_ASSERT_EQUAL (dx[2 * c.T * c.F + i], 0.0);
    g_free (dx);
  }
}

static void
test_time_pool_ignores_padding (void)
{
  const int N = 2, T = 4, F = 3, lengths[] = { 2, 4 };
  for (int mode = 0; mode < 2; mode++) {
    float x[2 * 4 * 3], y1[2 * 3], y2[2 * 3];
    int idx[2 * 3];
    nerve_test_fill_f32 (x, N * T * F, 70, 1);
    nerve_time_pool_forward (y1, idx, x, lengths, N, T, F, (NerveTimePool) mode);
    for (int t = 2; t < T; t++) /* garbage in sample 0's padding */
      for (int f = 0; f < F; f++)
        x[t * F + f] = 1e6f;
    nerve_time_pool_forward (y2, idx, x, lengths, N, T, F, (NerveTimePool) mode);
    nerve_assert_close ("time_pool padding", y2, y1, N * F, 0);
    /* and the mean divides by the valid length */
    if (mode == NERVE_TIME_POOL_MEAN)
      CU_ASSERT_DOUBLE_EQUAL (y1[0], (x[0] + x[F]) / 2, 1e-6);
  }
}

/* ---- PyTorch fixtures through the model runner ---------------------------------- */

static void
test_pool_matches_pytorch (void)
{
  NerveFixture *f = nerve_fixture_load ("pool");
  if (!f)
    return;
  const char *const *cases = nerve_fixture_cases (f);
  for (int i = 0; cases[i]; i++) {
    const char *c = cases[i];
    int C = nerve_fixture_int (f, c, "C", 0), H = nerve_fixture_int (f, c, "H", 0), W = nerve_fixture_int (f, c, "W", 0);
    int k = nerve_fixture_int (f, c, "k", 0), s = nerve_fixture_int (f, c, "s", 0), p = nerve_fixture_int (f, c, "p", 0);
    NerveModel *m = NULL;
    int lengths[8] = { 0 };
    gboolean seq = FALSE;
    if (g_str_has_prefix (c, "max_") || g_str_has_prefix (c, "avg_"))
      m = test_model_new ("{\"input\":[%d,%d,%d],\"layers\":[{\"type\":\"%s\",\"kernel\":%d,"
                          "\"stride\":%d,\"padding\":%d}]}", C, H, W,
                          c[0] == 'm' ? "maxpool2d" : "avgpool2d", k, s, p);
    else if (g_str_has_prefix (c, "global_"))
      m = test_model_new ("{\"input\":[3,4,5],\"layers\":[{\"type\":\"%s\"}]}",
                          g_str_equal (c, "global_max") ? "global_maxpool" : "global_avgpool");
    else {
      int T = nerve_fixture_int (f, c, "T", 0), F = nerve_fixture_int (f, c, "F", 0);
      m = test_model_new ("{\"input\":[%d,%d],\"layers\":[{\"type\":\"time_pool\",\"mode\":\"%s\"}]}", T, F,
                          g_str_equal (c, "time_max") ? "max" : "mean");
      gsize n;
      float *l = nerve_fixture_tensor (f, c, "lengths", &n);
      for (gsize j = 0; j < n && j < 8; j++)
        lengths[j] = (int) l[j];
      nerve_free_floats (l);
      seq = TRUE;
    }
    if (m)
      test_runner_fixture (m, f, c, TRUE, seq ? lengths : NULL, 1e-5);
    nerve_model_unref (m);
  }
  nerve_fixture_free (f);
}

/* ---- the classes in a graph ---------------------------------------------------------- */

static void
test_pool_graph_shapes (void)
{
  g_autoptr (NerveModel) m = test_model_new (
    "{\"input\":[2,28,28],\"layers\":["
    "{\"type\":\"maxpool2d\",\"name\":\"p1\",\"kernel\":2},"
    "{\"type\":\"avgpool2d\",\"name\":\"p2\",\"kernel\":[3,2],\"stride\":[2,1],\"padding\":[1,0]},"
    "{\"type\":\"global_maxpool\",\"name\":\"g1\",\"inputs\":[\"p2\"]},"
    "{\"type\":\"global_avgpool\",\"name\":\"g2\",\"inputs\":[\"p2\"]}]}");
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  const NerveShape *p1 = &nerve_model_find_layer (m, "p1")->out_shape;
  const NerveShape *p2 = &nerve_model_find_layer (m, "p2")->out_shape;
  CU_ASSERT (p1->ndim == 3 && p1->dim[0] == 2 && p1->dim[1] == 14 && p1->dim[2] == 14);
  /* (14 + 2 - 3) / 2 + 1 = 7, (14 - 2) / 1 + 1 = 13 */
  CU_ASSERT (p2->ndim == 3 && p2->dim[1] == 7 && p2->dim[2] == 13);
  CU_ASSERT (nerve_model_output_shape (m)->ndim == 1 && nerve_model_output_shape (m)->dim[0] == 2);
  CU_ASSERT_EQUAL (nerve_model_n_trainable (m), 0);

  g_autoptr (NerveModel) t = test_model_new (
    "{\"input\":[10,6],\"layers\":[{\"type\":\"time_pool\",\"mode\":\"max\"}]}");
  CU_ASSERT_PTR_NOT_NULL_FATAL (t);
  CU_ASSERT (nerve_model_output_shape (t)->ndim == 1 && nerve_model_output_shape (t)->dim[0] == 6);
}

static void
test_pool_bad_configs (void)
{
  test_model_error ("{\"input\":[1,8,8],\"layers\":[{\"type\":\"maxpool2d\"}]}", "'kernel' is required", NULL);
  test_model_error ("{\"input\":[1,8,8],\"layers\":[{\"type\":\"maxpool2d\",\"kernel\":2,\"padding\":2}]}",
                    "at most half", NULL);
  test_model_error ("{\"input\":[8,8],\"layers\":[{\"type\":\"avgpool2d\",\"kernel\":2}]}", "[C,H,W]", "[8,8]");
  test_model_error ("{\"input\":[1,3,8],\"layers\":[{\"type\":\"avgpool2d\",\"kernel\":4}]}", "larger than", "[1,3,8]");
  test_model_error ("{\"input\":[1,8,8],\"layers\":[{\"type\":\"maxpool2d\",\"kernel\":2,\"strides\":2}]}",
                    "unknown key 'strides'", NULL);
  test_model_error ("{\"input\":[8],\"layers\":[{\"type\":\"global_avgpool\"}]}", "[C,H,W]", "[8]");
  test_model_error ("{\"input\":[4,3],\"layers\":[{\"type\":\"time_pool\",\"mode\":\"median\"}]}",
                    "must be one of: max, mean", NULL);
  test_model_error ("{\"input\":[1,4,3],\"layers\":[{\"type\":\"time_pool\"}]}", "[T,F]", "[1,4,3]");
}

NERVE_TEST_MAIN ("pool",
                 { "2x2 max-pool fast path matches the plain loop", test_maxpool_fast_matches_reference },
                 { "2-D pooling backward vs finite differences", test_pool2d_finite_differences },
                 { "global pooling backward vs finite differences", test_global_pool_finite_differences },
                 { "time pooling backward vs finite differences", test_time_pool_finite_differences },
                 { "time pooling ignores padded steps", test_time_pool_ignores_padding },
                 { "pooling vs PyTorch through the runner", test_pool_matches_pytorch },
                 { "pooling layers in a graph", test_pool_graph_shapes },
                 { "pooling bad configs give clear errors", test_pool_bad_configs })

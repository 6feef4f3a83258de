/* GEMM against its naive loop; dense and activations against finite differences
 * (double precision) and PyTorch fixtures. */
#include <string.h>

#include "check.h"
#include "nerve.h"

static void
test_gemm_matches_reference (void)
{
  const int shapes[][3] = { { 1, 1, 1 }, { 7, 5, 3 }, { 64, 33, 17 }, { 1, 512, 512 }, { 130, 70, 129 },
                            { 7, 1, 5 }, { 33, 1, 64 }, { 1, 9, 1 }, { 1, 1, 300 } };
  for (gsize s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *A = nerve_alloc_floats ((gsize) M * K), *B = nerve_alloc_floats ((gsize) K * N);
        float *C1 = nerve_alloc_floats ((gsize) M * N), *C2 = nerve_alloc_floats ((gsize) M * N);
        nerve_test_fill_f32 (A, (gsize) M * K, 1 + s, 1);
        nerve_test_fill_f32 (B, (gsize) K * N, 2 + s, 1);
        for (int beta0 = 0; beta0 < 2; beta0++) {
          /* beta 0 must ignore C even when it holds NaN */
          nerve_test_fill_f32 (C1, (gsize) M * N, 3 + s, 1);
          if (beta0)
            C1[0] = NAN;
          memcpy (C2, C1, sizeof (float) * M * N);
          float beta = beta0 ? 0.0f : 0.25f;
          nerve_gemm (ta, tb, M, N, K, 0.5f, A, ta ? M : K, B, tb ? K : N, beta, C1, N);
          nerve_gemm_ref (ta, tb, M, N, K, 0.5f, A, ta ? M : K, B, tb ? K : N, beta, C2, N);
          nerve_assert_close ("gemm", C1, C2, (gsize) M * N, 1e-5);
        }
        nerve_free_floats (A), nerve_free_floats (B), nerve_free_floats (C1), nerve_free_floats (C2);
      }
}

typedef struct {
  int N, I, O;
  double *x, *w, *b, *y, *r;
} DenseCase;

static double
dense_loss (gpointer p)
{
  DenseCase *c = p;
  nerve_dense_forward_f64 (c->y, c->x, c->w, c->b, c->N, c->I, c->O);
  return nerve_test_dot_f64 (c->y, c->r, (gsize) c->N * c->O);
}

static void
test_dense_finite_differences (void)
{
  DenseCase c = { .N = 4, .I = 6, .O = 3 };
  gsize nx = c.N * c.I, nw = c.O * c.I, ny = c.N * c.O;
  c.x = g_new (double, nx), c.w = g_new (double, nw), c.b = g_new (double, c.O);
  c.y = g_new (double, ny), c.r = g_new (double, ny);
  double *dx = g_new0 (double, nx), *dw = g_new0 (double, nw), *db = g_new0 (double, c.O);
  nerve_test_fill_f64 (c.x, nx, 1, 1);
  nerve_test_fill_f64 (c.w, nw, 2, 1);
  nerve_test_fill_f64 (c.b, c.O, 3, 1);
  nerve_test_fill_f64 (c.r, ny, 4, 1);
  dense_loss (&c);
  nerve_dense_backward_f64 (dx, dw, db, c.r, c.x, c.w, c.N, c.I, c.O);
  nerve_fd_check ("dense dx", c.x, nx, dx, dense_loss, &c, 1e-6, 1e-7);
  nerve_fd_check ("dense dw", c.w, nw, dw, dense_loss, &c, 1e-6, 1e-7);
  nerve_fd_check ("dense db", c.b, c.O, db, dense_loss, &c, 1e-6, 1e-7);
  /* backward accumulates: a second call doubles the gradients */
  double first = dw[0];
  nerve_dense_backward_f64 (dx, dw, db, c.r, c.x, c.w, c.N, c.I, c.O);
  CU_ASSERT_DOUBLE_EQUAL (dw[0], 2 * first, 1e-12);
  g_free (c.x), g_free (c.w), g_free (c.b), g_free (c.y), g_free (c.r), g_free (dx), g_free (dw), g_free (db);
}

static void
test_dense_matches_pytorch (void)
{
  NerveFixture *f = nerve_fixture_load ("dense");
  if (!f)
    return;
  const char *c = "dense";
  int N = nerve_fixture_int (f, c, "N", 0), I = nerve_fixture_int (f, c, "I", 0), O = nerve_fixture_int (f, c, "O", 0);
  float *x = nerve_fixture_tensor (f, c, "x", NULL), *w = nerve_fixture_tensor (f, c, "w", NULL);
  float *b = nerve_fixture_tensor (f, c, "b", NULL), *y = nerve_fixture_tensor (f, c, "y", NULL);
  float *dy = nerve_fixture_tensor (f, c, "dy", NULL), *dx = nerve_fixture_tensor (f, c, "dx", NULL);
  float *dw = nerve_fixture_tensor (f, c, "dw", NULL), *db = nerve_fixture_tensor (f, c, "db", NULL);
  float *oy = nerve_alloc_floats (N * O), *odx = nerve_alloc_floats (N * I);
  float *odw = nerve_alloc_floats (O * I), *odb = nerve_alloc_floats (O);
  nerve_dense_forward (oy, x, w, b, N, I, O);
  nerve_dense_backward (odx, odw, odb, dy, x, w, N, I, O);
  nerve_assert_close ("dense y", oy, y, N * O, 1e-5);
  nerve_assert_close ("dense dx", odx, dx, N * I, 1e-5);
  nerve_assert_close ("dense dw", odw, dw, O * I, 1e-5);
  nerve_assert_close ("dense db", odb, db, O, 1e-5);
  float *all[] = { x, w, b, y, dy, dx, dw, db, oy, odx, odw, odb };
  for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
    nerve_free_floats (all[i]);
  nerve_fixture_free (f);
}

static const char *const act_names[] = { "relu", "leaky_relu", "sigmoid", "tanh", "gelu" };

typedef struct {
  NerveActivation act;
  double *x, *y, *r;
  gsize n;
} ActCase;

static double
act_loss (gpointer p)
{
  ActCase *c = p;
  nerve_activation_forward_f64 (c->y, c->x, c->n, c->act, 0.1);
  return nerve_test_dot_f64 (c->y, c->r, c->n);
}

static void
test_activations_finite_differences (void)
{
  for (int a = 0; a < 5; a++) {
    ActCase c = { .act = (NerveActivation) a, .n = 40 };
    c.x = g_new (double, c.n), c.y = g_new (double, c.n), c.r = g_new (double, c.n);
    double *dx = g_new0 (double, c.n);
    nerve_test_fill_f64 (c.x, c.n, 10 + a, 3);
    for (gsize i = 0; i < c.n; i++) /* keep away from ReLU's kink */
      if (fabs (c.x[i]) < 1e-3)
        c.x[i] = 0.5;
    nerve_test_fill_f64 (c.r, c.n, 20 + a, 1);
    act_loss (&c);
    nerve_activation_backward_f64 (dx, c.r, c.x, c.y, c.n, c.act, 0.1);
    nerve_fd_check (act_names[a], c.x, c.n, dx, act_loss, &c, 1e-6, 1e-7);
    g_free (c.x), g_free (c.y), g_free (c.r), g_free (dx);
  }
}

static void
test_activations_match_pytorch (void)
{
  NerveFixture *f = nerve_fixture_load ("dense");
  if (!f)
    return;
  for (int a = 0; a < 5; a++) {
    const char *c = act_names[a];
    gsize n;
    float *x = nerve_fixture_tensor (f, c, "x", &n), *y = nerve_fixture_tensor (f, c, "y", NULL);
    float *dy = nerve_fixture_tensor (f, c, "dy", NULL), *dx = nerve_fixture_tensor (f, c, "dx", NULL);
    float *oy = nerve_alloc_floats (n), *odx = nerve_alloc_floats (n);
    nerve_activation_forward (oy, x, n, (NerveActivation) a, 0.1f);
    nerve_activation_backward (odx, dy, x, oy, n, (NerveActivation) a, 0.1f);
    nerve_assert_close (c, oy, y, n, 1e-5);
    nerve_assert_close (c, odx, dx, n, 1e-5);
    float *all[] = { x, y, dy, dx, oy, odx };
    for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
      nerve_free_floats (all[i]);
  }
  nerve_fixture_free (f);
}

NERVE_TEST_MAIN ("dense",
                 { "gemm matches the naive reference", test_gemm_matches_reference },
                 { "dense backward vs finite differences", test_dense_finite_differences },
                 { "dense vs PyTorch", test_dense_matches_pytorch },
                 { "activations backward vs finite differences", test_activations_finite_differences },
                 { "activations vs PyTorch", test_activations_match_pytorch })

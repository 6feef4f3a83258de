/* Cross-entropy, MSE and L1: backward vs finite differences in double, the vectorised
 * cross-entropy vs its naive loop, and all three vs PyTorch fixtures. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "nerve.h"

typedef struct {
  int N, C;
  double *x, *w;
  int *y;
} CeCase;

static double
ce_loss (gpointer p)
{
  CeCase *c = p;
  return nerve_cross_entropy_f64 (NULL, c->x, c->y, c->w, c->N, c->C, 1);
}

static void
test_ce_finite_differences (void)
{
  for (int weighted = 0; weighted < 2; weighted++) {
    CeCase c = { .N = 6, .C = 19 };
    gsize n = (gsize) c.N * c.C;
    c.x = g_new (double, n);
    c.y = g_new (int, c.N);
    c.w = weighted ? g_new (double, c.C) : NULL;
    nerve_test_fill_f64 (c.x, n, 5 + weighted, 4);
    if (c.w) {
      nerve_test_fill_f64 (c.w, c.C, 7, 0.5);
      for (int k = 0; k < c.C; k++)
        c.w[k] += 1;
    }
    for (int i = 0; i < c.N; i++)
      c.y[i] = (i * 7) % c.C;
    c.y[2] = -1; /* ignored row */
    double *d = g_new (double, n), *d0 = g_new (double, n);
    nerve_test_fill_f64 (d, n, 9, 1); /* backward adds to what is there */
    memcpy (d0, d, sizeof (double) * n);
    double scale = 0.7;
    nerve_cross_entropy_f64 (d, c.x, c.y, c.w, c.N, c.C, scale);
    for (gsize i = 0; i < n; i++)
      d[i] = (d[i] - d0[i]) / scale;
    nerve_fd_check (weighted ? "cross-entropy weighted" : "cross-entropy", c.x, n, d, ce_loss, &c, 1e-6, 1e-8);
    for (int k = 0; k < c.C; k++) /* the ignored row gets no gradient */
      CU_ASSERT_EQUAL (d[2 * c.C + k], 0);
    g_free (c.x), g_free (c.y), g_free (c.w), g_free (d), g_free (d0);
  }
}

static void
test_ce_matches_reference_loop (void)
{
  const int shapes[][2] = { { 1, 1 }, { 3, 2 }, { 5, 16 }, { 4, 17 }, { 7, 37 }, { 3, 1000 }, { 2, 4099 } };
  for (gsize s = 0; s < G_N_ELEMENTS (shapes); s++) {
    for (int weighted = 0; weighted < 2; weighted++) {
      int N = shapes[s][0], C = shapes[s][1];
      gsize n = (gsize) N * C;
      float *x = nerve_alloc_floats (n), *d1 = nerve_alloc_floats (n), *d2 = nerve_alloc_floats (n);
      float *w = nerve_alloc_floats (C);
      int *y = g_new (int, N);
      nerve_test_fill_f32 (x, n, 30 + s, 12);
      x[0] = 95;             /* extremes: the polynomial exp flushes below -87 */
      x[n - 1] = -80;
      nerve_test_fill_f32 (w, C, 40 + s, 0.5f);
      for (int k = 0; k < C; k++)
        w[k] += 1;
      for (int i = 0; i < N; i++)
        y[i] = (i * 13 + 1) % C;
      float l1 = nerve_cross_entropy (d1, x, y, weighted ? w : NULL, N, C, 1.5f);
      float l2 = nerve_cross_entropy_ref (d2, x, y, weighted ? w : NULL, N, C, 1.5f);
      CU_ASSERT_DOUBLE_EQUAL (l1, l2, 1e-5 * fmax (1, fabs (l2)));
      nerve_assert_close ("cross-entropy fast vs ref", d1, d2, n, 1e-6);
      nerve_free_floats (x), nerve_free_floats (d1), nerve_free_floats (d2), nerve_free_floats (w);
      g_free (y);
    }
  }
}

static int *
fixture_ints (NerveFixture *f, const char *c, const char *name, gsize *n)
{
  gsize len;
  float *v = nerve_fixture_tensor (f, c, name, &len);
  if (!v)
    return NULL;
  int *r = g_new (int, len + 1);
  for (gsize i = 0; i < len; i++)
    r[i] = (int) v[i];
  nerve_free_floats (v);
  if (n)
    *n = len;
  return r;
}

static void
test_ce_matches_pytorch (void)
{
  NerveFixture *f = nerve_fixture_load ("loss");
  if (!f)
    return;
  const char *names[] = { "ce", "ce_weighted", "ce_ignore", "ce_wide" };
  for (gsize k = 0; k < G_N_ELEMENTS (names); k++) {
    const char *c = names[k];
    int N = nerve_fixture_int (f, c, "N", 0), C = nerve_fixture_int (f, c, "C", 0);
    float *x = nerve_fixture_tensor (f, c, "logits", NULL), *loss = nerve_fixture_tensor (f, c, "loss", NULL);
    float *dx = nerve_fixture_tensor (f, c, "dlogits", NULL);
    float *w = nerve_fixture_int (f, c, "weighted", 0) ? nerve_fixture_tensor (f, c, "weights", NULL) : NULL;
    int *y = fixture_ints (f, c, "targets", NULL);
    float *d = nerve_alloc_floats ((gsize) N * C);
    float l = nerve_cross_entropy (d, x, y, w, N, C, 1);
    nerve_assert_close (c, &l, loss, 1, 1e-5);
    nerve_assert_close (c, d, dx, (gsize) N * C, 1e-6);
    nerve_free_floats (x), nerve_free_floats (loss), nerve_free_floats (dx), nerve_free_floats (w);
    nerve_free_floats (d);
    g_free (y);
  }
  nerve_fixture_free (f);
}

static void
test_ce_all_ignored (void)
{
  float x[6] = { 1, 2, 3, 4, 5, 6 }, d[6] = { 0 };
  int y[2] = { -1, -100 };
  CU_ASSERT_EQUAL (nerve_cross_entropy (d, x, y, NULL, 2, 3, 1), 0);
  for (int i = 0; i < 6; i++)
    CU_ASSERT_EQUAL (d[i], 0);
  /* a hand value: two classes, logits (0, ln 3) -> p = (1/4, 3/4) */
  float x2[2] = { 0, logf (3) }, d2[2] = { 0 };
  int y2[1] = { 0 };
  CU_ASSERT_DOUBLE_EQUAL (nerve_cross_entropy (d2, x2, y2, NULL, 1, 2, 1), logf (4), 1e-6);
  CU_ASSERT_DOUBLE_EQUAL (d2[0], 0.25 - 1, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL (d2[1], 0.75, 1e-6);
}

typedef struct {
  gboolean l1;
  double *p, *t;
  gsize n;
} RegCase;

static double
reg_loss (gpointer ptr)
{
  RegCase *c = ptr;
  return c->l1 ? nerve_l1_loss_f64 (NULL, c->p, c->t, c->n, 1) : nerve_mse_loss_f64 (NULL, c->p, c->t, c->n, 1);
}

static void
test_regression_finite_differences (void)
{
  for (int l1 = 0; l1 < 2; l1++) {
    RegCase c = { .l1 = l1, .n = 31 };
    c.p = g_new (double, c.n), c.t = g_new (double, c.n);
    double *d = g_new0 (double, c.n);
    nerve_test_fill_f64 (c.p, c.n, 50, 2);
    nerve_test_fill_f64 (c.t, c.n, 51, 2);
    for (gsize i = 0; i < c.n; i++) /* keep L1 away from its kink */
      if (fabs (c.p[i] - c.t[i]) < 1e-3)
        c.p[i] += 0.1;
    if (l1)
      nerve_l1_loss_f64 (d, c.p, c.t, c.n, 1);
    else
      nerve_mse_loss_f64 (d, c.p, c.t, c.n, 1);
    nerve_fd_check (l1 ? "l1" : "mse", c.p, c.n, d, reg_loss, &c, 1e-6, 1e-8);
    /* scale multiplies the gradient and accumulates */
    double first = d[0];
    if (l1)
      nerve_l1_loss_f64 (d, c.p, c.t, c.n, 2);
    else
      nerve_mse_loss_f64 (d, c.p, c.t, c.n, 2);
    CU_ASSERT_DOUBLE_EQUAL (d[0], 3 * first, 1e-12);
    g_free (c.p), g_free (c.t), g_free (d);
  }
}

static void
test_regression_matches_pytorch (void)
{
  NerveFixture *f = nerve_fixture_load ("loss");
  if (!f)
    return;
  const char *names[] = { "mse", "l1" };
  for (int k = 0; k < 2; k++) {
    const char *c = names[k];
    gsize n;
    float *p = nerve_fixture_tensor (f, c, "pred", &n), *t = nerve_fixture_tensor (f, c, "target", NULL);
    float *loss = nerve_fixture_tensor (f, c, "loss", NULL), *dp = nerve_fixture_tensor (f, c, "dpred", NULL);
    float *d = nerve_alloc_floats (n);
    float l = k ? nerve_l1_loss (d, p, t, n, 1) : nerve_mse_loss (d, p, t, n, 1);
    nerve_assert_close (c, &l, loss, 1, 1e-6);
    nerve_assert_close (c, d, dp, n, 1e-6);
    if (k) /* ties in the fixture: L1's gradient is exactly 0 there */
      CU_ASSERT (d[3] == 0 && d[11] == 0);
    nerve_free_floats (p), nerve_free_floats (t), nerve_free_floats (loss), nerve_free_floats (dp);
    nerve_free_floats (d);
  }
  nerve_fixture_free (f);
}

NERVE_TEST_MAIN ("loss",
                 { "cross-entropy backward vs finite differences", test_ce_finite_differences },
                 { "cross-entropy vectorised vs naive loop", test_ce_matches_reference_loop },
                 { "cross-entropy vs PyTorch", test_ce_matches_pytorch },
                 { "cross-entropy edge cases", test_ce_all_ignored },
                 { "MSE and L1 backward vs finite differences", test_regression_finite_differences },
                 { "MSE and L1 vs PyTorch", test_regression_matches_pytorch })

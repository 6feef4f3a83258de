/* CTC loss: gradient w.r.t. the logits vs finite differences in double, values and
 * gradients vs PyTorch's F.ctc_loss (repeats, blank-heavy outputs, empty targets,
 * infeasible alignments, varying input lengths, blank not 0), and hand-computed cases. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "nerve.h"

typedef struct {
  gboolean ref; /* check the reference loop instead of the vectorised one */
  int N, T, C, blank;
  NerveReduction red;
  const int *il, *tg, *tl;
  double *x, *ws;
} CtcCase;

static double
ctc_loss (gpointer p)
{
  CtcCase *c = p;
  return (c->ref ? nerve_ctc_loss_ref_f64 : nerve_ctc_loss_f64) (NULL, NULL, c->ws, c->x, c->il, c->tg, c->tl,
                                                                c->N, c->T, c->C, c->blank, c->red, FALSE, 1);
}

static void
fd_case (const char *what, int T, int C, int blank, int N, const int *il, const int *tg, const int *tl,
         int max_l, guint64 seed)
{
  for (int r = 0; r < 4; r++) {
    CtcCase c = { r >= 2, N, T, C, blank, r & 1 ? NERVE_REDUCTION_SUM : NERVE_REDUCTION_MEAN, il, tg, tl };
    gsize n = (gsize) N * T * C;
    c.x = g_new (double, n);
    c.ws = g_new (double, nerve_ctc_workspace_size (N, T, C, max_l));
    nerve_test_fill_f64 (c.x, n, seed, 3);
    double *d = g_new0 (double, n);
    double scale = 1.3;
    (c.ref ? nerve_ctc_loss_ref_f64 : nerve_ctc_loss_f64) (d, NULL, c.ws, c.x, il, tg, tl, N, T, C, blank, c.red,
                                                           FALSE, scale);
    for (gsize i = 0; i < n; i++)
      d[i] /= scale;
    g_autofree char *name = g_strdup_printf ("%s%s", what, c.ref ? " (reference loop)" : "");
    nerve_fd_check (name, c.x, n, d, ctc_loss, &c, 1e-6, 1e-7);
    for (int b = 0; b < N; b++) /* frames past the input length get nothing */
      for (gsize i = (gsize) il[b] * C; i < (gsize) T * C; i++)
        CU_ASSERT_EQUAL (d[(gsize) b * T * C + i], 0);
    g_free (c.x), g_free (c.ws), g_free (d);
  }
}

static void
test_ctc_finite_differences (void)
{
  {
    const int il[] = { 7, 5, 6 }, tl[] = { 3, 2, 0 }, tg[] = { 1, 1, 2, 3, 1 };
    fd_case ("ctc repeats, lengths, empty target", 7, 4, 0, 3, il, tg, tl, 3, 60);
  }
  {
    const int il[] = { 6, 6 }, tl[] = { 2, 3 }, tg[] = { 0, 2, 1, 1, 0 };
    fd_case ("ctc blank last", 6, 5, 4, 2, il, tg, tl, 3, 61);
  }
  {
    const int il[] = { 4 }, tl[] = { 2 }, tg[] = { 2, 2 }; /* 3 frames needed, 4 given */
    fd_case ("ctc nearly tight", 5, 3, 0, 1, il, tg, tl, 2, 62);
  }
}

/* The vectorised recursion against the per-state loop over random batches: long and
 * short inputs, repeats, empty targets, peaked (blank-heavy) outputs. In double the two
 * agree to rounding; in float both are held against the double result, with a gradient
 * tolerance that grows with the loss (the posteriors are exp(alpha + beta - lp + nll) of
 * terms as large as the loss, so float's absolute error there is ~ulp(loss)). */
static void
test_ctc_matches_reference_loop (void)
{
  NerveRng rng;
  nerve_rng_seed (&rng, 99);
  for (int trial = 0; trial < 12; trial++) {
    int N = 1 + (int) nerve_rng_below (&rng, 4), T = 1 + (int) nerve_rng_below (&rng, 60);
    int C = 2 + (int) nerve_rng_below (&rng, 40), blank = (int) nerve_rng_below (&rng, (guint32) C);
    int il[4], tl[4], tg[4 * 30], n_tg = 0, max_l = 0;
    for (int b = 0; b < N; b++) {
      il[b] = 1 + (int) nerve_rng_below (&rng, (guint32) T);
      tl[b] = (int) nerve_rng_below (&rng, (guint32) MIN (il[b] / 2 + 2, 30));
      for (int i = 0; i < tl[b]; i++) {
        int c = (int) nerve_rng_below (&rng, (guint32) C - 1);
        tg[n_tg++] = c >= blank ? c + 1 : c; /* any label but blank, repeats included */
      }
      max_l = MAX (max_l, tl[b]);
    }
    gsize n = (gsize) N * T * C, nws = nerve_ctc_workspace_size (N, T, C, max_l);
    float *x = nerve_alloc_floats (n), *d1 = nerve_alloc_floats (n), *d2 = nerve_alloc_floats (n);
    float *ws = nerve_alloc_floats (nws), l1[4], l2[4];
    double *xd = g_new (double, n), *dd1 = g_new0 (double, n), *dd2 = g_new0 (double, n), *wsd = g_new (double, nws);
    double ld1[4], ld2[4];
    float peak = trial % 3 == 0 ? 25 : 3; /* peaked outputs push the log-space sums to extremes */
    nerve_test_fill_f32 (x, n, 200 + trial, peak);
    for (gsize i = blank; i < n; i += C)
      x[i] += trial % 2 ? 4 : 0;
    for (gsize i = 0; i < n; i++)
      xd[i] = x[i];
    nerve_ctc_loss (d1, l1, ws, x, il, tg, tl, N, T, C, blank, NERVE_REDUCTION_SUM, TRUE, 1);
    nerve_ctc_loss_ref (d2, l2, ws, x, il, tg, tl, N, T, C, blank, NERVE_REDUCTION_SUM, TRUE, 1);
    nerve_ctc_loss_f64 (dd1, ld1, wsd, xd, il, tg, tl, N, T, C, blank, NERVE_REDUCTION_SUM, TRUE, 1);
    nerve_ctc_loss_ref_f64 (dd2, ld2, wsd, xd, il, tg, tl, N, T, C, blank, NERVE_REDUCTION_SUM, TRUE, 1);
    double worst_d = 0, worst_f = 0, worst_r = 0, big = 1;
    for (int b = 0; b < N; b++) {
      CU_ASSERT_DOUBLE_EQUAL (ld1[b], ld2[b], 1e-11 * fmax (1, fabs (ld2[b])));
      CU_ASSERT_DOUBLE_EQUAL (l1[b], ld1[b], 1e-6 * fmax (1, fabs (ld1[b])));
      CU_ASSERT_DOUBLE_EQUAL (l2[b], ld1[b], 1e-6 * fmax (1, fabs (ld1[b])));
      big = fmax (big, fabs (ld1[b]));
    }
    for (gsize i = 0; i < n; i++) {
      worst_d = fmax (worst_d, fabs (dd1[i] - dd2[i]));
      worst_f = fmax (worst_f, fabs (d1[i] - dd1[i]));
      worst_r = fmax (worst_r, fabs (d2[i] - dd1[i]));
    }
    if (worst_d > 1e-11 || worst_f > 1e-6 * big || worst_r > 1e-6 * big) {
      fprintf (stderr, "  ctc trial %d (N %d T %d C %d, loss up to %.1f): gradient errors double %.3g, "
               "float %.3g, float reference %.3g\n", trial, N, T, C, big, worst_d, worst_f, worst_r);
      CU_FAIL ("ctc vectorised vs reference loop");
    }
    nerve_free_floats (x), nerve_free_floats (d1), nerve_free_floats (d2), nerve_free_floats (ws);
    g_free (xd), g_free (dd1), g_free (dd2), g_free (wsd);
  }
}

static int *
fixture_ints (NerveFixture *f, const char *c, const char *name, gsize *n)
{
  gsize len = 0;
  float *v = nerve_fixture_tensor (f, c, name, &len);
  int *r = g_new0 (int, len + 1);
  for (gsize i = 0; v && i < len; i++)
    r[i] = (int) v[i];
  nerve_free_floats (v);
  if (n)
    *n = len;
  return r;
}

static void
test_ctc_matches_pytorch (void)
{
  NerveFixture *f = nerve_fixture_load ("ctc");
  if (!f)
    return;
  for (const char *const *cp = nerve_fixture_cases (f); *cp; cp++) {
    const char *c = *cp;
    int N = nerve_fixture_int (f, c, "N", 0), T = nerve_fixture_int (f, c, "T", 0);
    int C = nerve_fixture_int (f, c, "C", 0), blank = nerve_fixture_int (f, c, "blank", 0);
    gboolean zinf = nerve_fixture_int (f, c, "zero_infinity", 0);
    gsize n = (gsize) N * T * C;
    float *x = nerve_fixture_tensor (f, c, "logits", NULL);
    float *lm = nerve_fixture_tensor (f, c, "loss_mean", NULL), *ls = nerve_fixture_tensor (f, c, "loss_sum", NULL);
    float *gm = nerve_fixture_tensor (f, c, "grad_mean", NULL), *gs = nerve_fixture_tensor (f, c, "grad_sum", NULL);
    float *losses = nerve_fixture_tensor (f, c, "losses", NULL);
    int *il = fixture_ints (f, c, "input_lengths", NULL), *tg = fixture_ints (f, c, "targets", NULL);
    int *tl = fixture_ints (f, c, "target_lengths", NULL);
    int max_l = 0;
    for (int b = 0; b < N; b++)
      max_l = MAX (max_l, tl[b]);
    float *ws = nerve_alloc_floats (nerve_ctc_workspace_size (N, T, C, max_l));
    float *d = nerve_alloc_floats (n), *ol = nerve_alloc_floats (N);
    g_autofree char *what = g_strdup_printf ("ctc %s", c);
    float l = nerve_ctc_loss (d, ol, ws, x, il, tg, tl, N, T, C, blank, NERVE_REDUCTION_MEAN, zinf, 1);
    nerve_assert_close (what, &l, lm, 1, 1e-5);
    nerve_assert_close (what, ol, losses, N, 1e-5);
    nerve_assert_close (what, d, gm, n, 1e-5);
    memset (d, 0, sizeof (float) * n);
    l = nerve_ctc_loss (d, NULL, ws, x, il, tg, tl, N, T, C, blank, NERVE_REDUCTION_SUM, zinf, 1);
    nerve_assert_close (what, &l, ls, 1, 1e-5);
    nerve_assert_close (what, d, gs, n, 1e-5);
    float *all[] = { x, lm, ls, gm, gs, losses, ws, d, ol };
    for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
      nerve_free_floats (all[i]);
    g_free (il), g_free (tg), g_free (tl);
  }
  nerve_fixture_free (f);
}

/* The fixture's infeasible case was made with zero_infinity; without it the second
 * sample's loss is +inf, the reductions are inf, and its frames still get no gradient. */
static void
test_ctc_infeasible (void)
{
  NerveFixture *f = nerve_fixture_load ("ctc");
  if (!f)
    return;
  const char *c = "infeasible";
  int N = 2, T = 6, C = 5;
  float *x = nerve_fixture_tensor (f, c, "logits", NULL), *gm = nerve_fixture_tensor (f, c, "grad_mean", NULL);
  float *losses = nerve_fixture_tensor (f, c, "losses", NULL);
  const int il[] = { 6, 3 }, tg[] = { 1, 2, 1, 1, 2 }, tl[] = { 2, 3 };
  float *ws = nerve_alloc_floats (nerve_ctc_workspace_size (N, T, C, 3));
  float *d = nerve_alloc_floats ((gsize) N * T * C), ol[2];
  float l = nerve_ctc_loss (d, ol, ws, x, il, tg, tl, N, T, C, 0, NERVE_REDUCTION_MEAN, FALSE, 1);
  CU_ASSERT (isinf (l) && l > 0);
  CU_ASSERT (isinf (ol[1]) && ol[1] > 0);
  nerve_assert_close ("ctc feasible sample beside an infeasible one", ol, losses, 1, 1e-5);
  nerve_assert_close ("ctc gradient beside an infeasible sample", d, gm, (gsize) N * T * C, 1e-5);
  l = nerve_ctc_loss (NULL, ol, ws, x, il, tg, tl, N, T, C, 0, NERVE_REDUCTION_SUM, FALSE, 1);
  CU_ASSERT (isinf (l) && l > 0);
  nerve_free_floats (x), nerve_free_floats (gm), nerve_free_floats (losses), nerve_free_floats (ws);
  nerve_free_floats (d);
  nerve_fixture_free (f);
}

static void
test_ctc_by_hand (void)
{
  /* One frame, target [1]: loss = -log softmax(x)[1]; mean divides by the length 1. */
  float x[3] = { 0.5f, -1.0f, 2.0f }, ws[256], d[3] = { 0 };
  CU_ASSERT_FATAL (nerve_ctc_workspace_size (1, 3, 4, 2) <= G_N_ELEMENTS (ws)); /* the largest below */
  const int il[] = { 1 }, tg[] = { 1 }, tl[] = { 1 };
  double z = exp (0.5) + exp (-1.0) + exp (2.0);
  float l = nerve_ctc_loss (d, NULL, ws, x, il, tg, tl, 1, 1, 3, 0, NERVE_REDUCTION_MEAN, FALSE, 1);
  CU_ASSERT_DOUBLE_EQUAL (l, log (z) + 1.0, 1e-5);
  CU_ASSERT_DOUBLE_EQUAL (d[0], exp (0.5) / z, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL (d[1], exp (-1.0) / z - 1, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL (d[2], exp (2.0) / z, 1e-6);

  /* Empty target: the only path is all blanks, loss = -Σ_t log p_t(blank). Two frames,
   * uniform over 4 classes: 2·log 4; the mean divides by max(0, 1) = 1. */
  float u[8] = { 0 };
  const int il2[] = { 2 }, tl2[] = { 0 };
  l = nerve_ctc_loss (NULL, NULL, ws, u, il2, tg, tl2, 1, 2, 4, 0, NERVE_REDUCTION_MEAN, FALSE, 1);
  CU_ASSERT_DOUBLE_EQUAL (l, 2 * log (4.0), 1e-5);

  /* "a a" needs a blank between the a's: 2 frames are not enough, 3 are exactly one
   * path (a, blank, a) = 3·log 3 for uniform outputs over 3 classes. */
  float v[9] = { 0 };
  const int tg3[] = { 1, 1 }, tl3[] = { 2 }, il3a[] = { 2 }, il3b[] = { 3 };
  l = nerve_ctc_loss (NULL, NULL, ws, v, il3a, tg3, tl3, 1, 3, 3, 0, NERVE_REDUCTION_SUM, FALSE, 1);
  CU_ASSERT (isinf (l));
  l = nerve_ctc_loss (NULL, NULL, ws, v, il3a, tg3, tl3, 1, 3, 3, 0, NERVE_REDUCTION_SUM, TRUE, 1);
  CU_ASSERT_EQUAL (l, 0);
  l = nerve_ctc_loss (NULL, NULL, ws, v, il3b, tg3, tl3, 1, 3, 3, 0, NERVE_REDUCTION_SUM, FALSE, 1);
  CU_ASSERT_DOUBLE_EQUAL (l, 3 * log (3.0), 1e-5);
  /* "a b" in 3 uniform frames: paths ab_, a_b, _ab, aab, abb = 5 paths of (1/3)^3 */
  const int tg4[] = { 1, 2 };
  l = nerve_ctc_loss (NULL, NULL, ws, v, il3b, tg4, tl3, 1, 3, 3, 0, NERVE_REDUCTION_SUM, FALSE, 1);
  CU_ASSERT_DOUBLE_EQUAL (l, 3 * log (3.0) - log (5.0), 1e-5);
}

NERVE_TEST_MAIN ("ctc",
                 { "ctc backward vs finite differences", test_ctc_finite_differences },
                 { "ctc vectorised vs per-state loop", test_ctc_matches_reference_loop },
                 { "ctc vs PyTorch", test_ctc_matches_pytorch },
                 { "ctc infeasible alignments", test_ctc_infeasible },
                 { "ctc hand-computed cases", test_ctc_by_hand })

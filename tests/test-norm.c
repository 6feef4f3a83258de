/* Normalisation and friends: batchnorm (training and eval, running statistics),
 * layernorm, dropout, softmax and log-softmax. Backward against finite differences
 * in double, forward/backward against PyTorch through the model runner, graph
 * construction and configuration errors. */
#include "layer-fixture.h"

/* ---- batchnorm ------------------------------------------------------------------- */

typedef struct {
  int N, C, S;
  gboolean training;
  double *x, *w, *b, *y, *r, *mean, *invstd, *rm, *rv;
  gsize n;
} BnCase;

static double
bn_loss (gpointer p)
{
  BnCase *c = p;
  /* training: no running-stat update, so repeated evaluations see the same state */
  nerve_batchnorm_forward_f64 (c->y, c->mean, c->invstd, c->training ? NULL : c->rm,
                               c->training ? NULL : c->rv, c->x, c->w, c->b, c->N, c->C, c->S,
                               c->training, 0.1, 1e-5);
  return nerve_test_dot_f64 (c->y, c->r, c->n);
}

static void
test_batchnorm_finite_differences (void)
{
  const int dims[][3] = { { 4, 3, 10 }, { 7, 5, 1 }, { 2, 2, 37 } }; /* images, features, odd plane */
  for (gsize d = 0; d < G_N_ELEMENTS (dims); d++)
    for (int training = 0; training < 2; training++) {
      BnCase c = { .N = dims[d][0], .C = dims[d][1], .S = dims[d][2], .training = training };
      c.n = (gsize) c.N * c.C * c.S;
      c.x = g_new (double, c.n), c.y = g_new (double, c.n), c.r = g_new (double, c.n);
      c.w = g_new (double, c.C), c.b = g_new (double, c.C), c.mean = g_new (double, c.C);
      c.invstd = g_new (double, c.C), c.rm = g_new (double, c.C), c.rv = g_new (double, c.C);
      double *dx = g_new0 (double, c.n), *dw = g_new0 (double, c.C), *db = g_new0 (double, c.C);
      double *work = g_new (double, 2 * c.C);
      nerve_test_fill_f64 (c.x, c.n, 100 + d, 2);
      for (gsize i = 0; i < c.n; i++)
        c.x[i] += 1.5; /* a mean well away from 0 */
      nerve_test_fill_f64 (c.r, c.n, 110 + d, 1);
      nerve_test_fill_f64 (c.w, c.C, 120 + d, 1);
      nerve_test_fill_f64 (c.b, c.C, 130 + d, 1);
      nerve_test_fill_f64 (c.rm, c.C, 140 + d, 1);
      nerve_test_fill_f64 (c.rv, c.C, 150 + d, 0.5);
      for (int i = 0; i < c.C; i++)
        c.rv[i] += 1;
      bn_loss (&c);
      nerve_batchnorm_backward_f64 (dx, dw, db, work, c.r, c.x, c.mean, c.invstd, c.w, c.N, c.C, c.S, training);
      g_autofree char *what = g_strdup_printf ("batchnorm %s [%d,%d,%d]", training ? "train" : "eval", c.N, c.C, c.S);
      nerve_fd_check (what, c.x, c.n, dx, bn_loss, &c, 1e-6, 1e-7);
      nerve_fd_check (what, c.w, c.C, dw, bn_loss, &c, 1e-6, 1e-7);
      nerve_fd_check (what, c.b, c.C, db, bn_loss, &c, 1e-6, 1e-7);
      /* backward accumulates */
      double dx0 = dx[0], dw0 = dw[0];
      nerve_batchnorm_backward_f64 (dx, dw, db, work, c.r, c.x, c.mean, c.invstd, c.w, c.N, c.C, c.S, training);
      CU_ASSERT_DOUBLE_EQUAL (dx[0], 2 * dx0, 1e-12);
      CU_ASSERT_DOUBLE_EQUAL (dw[0], 2 * dw0, 1e-12);
      double *all[] = { c.x, c.y, c.r, c.w, c.b, c.mean, c.invstd, c.rm, c.rv, dx, dw, db, work };
      for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
        g_free (all[i]);
    }
}

static void
test_batchnorm_matches_pytorch (void)
{
  NerveFixture *f = nerve_fixture_load ("norm");
  if (!f)
    return;
  const char *cases[] = { "bn2d_train", "bn2d_eval", "bn1d_train", "bn1d_eval", "bnseq_train" };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    const char *c = cases[i];
    int dim[5], nd = nerve_fixture_shape (f, c, "x", dim);
    gboolean training = nerve_fixture_int (f, c, "training", 0);
    g_autofree char *shape = nd == 4 ? g_strdup_printf ("[%d,%d,%d]", dim[1], dim[2], dim[3])
                           : nd == 3 ? g_strdup_printf ("[%d,%d]", dim[1], dim[2])
                                     : g_strdup_printf ("[%d]", dim[1]);
    g_autoptr (NerveModel) m = test_model_new (
      "{\"input\":%s,\"layers\":[{\"type\":\"batchnorm\",\"name\":\"bn\",\"momentum\":%.9g,\"eps\":%.9g}]}",
      shape, nerve_fixture_double (f, c, "momentum", 0), nerve_fixture_double (f, c, "eps", 0));
    CU_ASSERT_PTR_NOT_NULL_FATAL (m);
    test_set_param (m, f, c, "weight", "bn.weight");
    test_set_param (m, f, c, "bias", "bn.bias");
    test_set_param (m, f, c, "running_mean", "bn.running_mean");
    test_set_param (m, f, c, "running_var", "bn.running_var");
    test_runner_fixture (m, f, c, training, NULL, 2e-5);
    test_param_grad (m, f, c, "dweight", "bn.weight", 2e-5);
    test_param_grad (m, f, c, "dbias", "bn.bias", 2e-5);
    /* after one step: updated with the unbiased variance when training, untouched in eval */
    gsize n;
    float *rm = nerve_fixture_tensor (f, c, "running_mean_after", &n);
    float *rv = nerve_fixture_tensor (f, c, "running_var_after", NULL);
    g_autofree char *what = g_strdup_printf ("%s running stats", c);
    nerve_assert_close (what, nerve_model_find_param (m, "bn.running_mean")->data, rm, n, 1e-6);
    nerve_assert_close (what, nerve_model_find_param (m, "bn.running_var")->data, rv, n, 1e-6);
    nerve_free_floats (rm), nerve_free_floats (rv);
  }
  nerve_fixture_free (f);
}

static void
test_batchnorm_graph (void)
{
  g_autoptr (NerveModel) m = test_model_new (
    "{\"input\":[4,6,6],\"layers\":[{\"type\":\"batchnorm\",\"name\":\"bn\"}]}");
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  nerve_model_init_params (m, 1);
  CU_ASSERT_EQUAL (nerve_model_n_trainable (m), 2 * 4); /* running stats are buffers */
  NerveParam *w = nerve_model_find_param (m, "bn.weight"), *rv = nerve_model_find_param (m, "bn.running_var");
  NerveParam *rm = nerve_model_find_param (m, "bn.running_mean");
  CU_ASSERT_FATAL (w && rv && rm);
  CU_ASSERT (w->flags & NERVE_PARAM_NO_DECAY);
  CU_ASSERT (rv->flags & NERVE_PARAM_BUFFER);
  CU_ASSERT (w->data[0] == 1.0f && rv->data[3] == 1.0f && rm->data[2] == 0.0f);
  const NerveShape *o = nerve_model_output_shape (m);
  CU_ASSERT (o->ndim == 3 && o->dim[0] == 4 && o->dim[2] == 6);

  /* training output has zero mean and unit variance per channel; eval with fresh
   * running stats (mean 0, var 1) is the identity up to eps */
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveRunner) r = nerve_runner_new (m, 3, 0, &err);
  float x[3 * 4 * 36];
  nerve_test_fill_f32 (x, G_N_ELEMENTS (x), 5, 3);
  NerveRng rng;
  nerve_rng_seed (&rng, 1);
  nerve_model_init_params (m, 1);
  const float *y = nerve_runner_forward (r, x, 3, FALSE, NULL);
  nerve_assert_close ("batchnorm eval identity", y, x, G_N_ELEMENTS (x), 1e-4);
  y = nerve_runner_forward (r, x, 3, TRUE, &rng);
  double s = 0, q = 0;
  for (int n = 0; n < 3; n++)
    for (int i = 0; i < 36; i++) {
      double v = y[(n * 4 + 1) * 36 + i];
      s += v, q += v * v;
    }
  CU_ASSERT_DOUBLE_EQUAL (s / 108, 0, 1e-5);
  CU_ASSERT_DOUBLE_EQUAL (q / 108, 1, 1e-3);
  CU_ASSERT (rm->data[1] != 0.0f); /* the running mean moved */

  test_model_error ("{\"input\":[4],\"layers\":[{\"type\":\"batchnorm\",\"momentum\":1.5}]}", "'momentum'", "must be in");
  test_model_error ("{\"input\":[4],\"layers\":[{\"type\":\"batchnorm\",\"eps\":0}]}", "'eps'", "must be in");
  test_model_error ("{\"input\":[4],\"layers\":[{\"type\":\"batchnorm\",\"affine\":false}]}", "unknown key 'affine'", NULL);
}

/* ---- layernorm -------------------------------------------------------------------- */

typedef struct {
  int R, D;
  double *x, *w, *b, *y, *r, *mean, *invstd;
} LnCase;

static double
ln_loss (gpointer p)
{
  LnCase *c = p;
  nerve_layernorm_forward_f64 (c->y, c->mean, c->invstd, c->x, c->w, c->b, c->R, c->D, 1e-5);
  return nerve_test_dot_f64 (c->y, c->r, (gsize) c->R * c->D);
}

static void
test_layernorm_finite_differences (void)
{
  LnCase c = { .R = 5, .D = 19 };
  gsize n = (gsize) c.R * c.D;
  c.x = g_new (double, n), c.y = g_new (double, n), c.r = g_new (double, n);
  c.w = g_new (double, c.D), c.b = g_new (double, c.D);
  c.mean = g_new (double, c.R), c.invstd = g_new (double, c.R);
  double *dx = g_new0 (double, n), *dw = g_new0 (double, c.D), *db = g_new0 (double, c.D);
  nerve_test_fill_f64 (c.x, n, 200, 2);
  nerve_test_fill_f64 (c.r, n, 201, 1);
  nerve_test_fill_f64 (c.w, c.D, 202, 1);
  nerve_test_fill_f64 (c.b, c.D, 203, 1);
  ln_loss (&c);
  nerve_layernorm_backward_f64 (dx, dw, db, c.r, c.x, c.mean, c.invstd, c.w, c.R, c.D);
  nerve_fd_check ("layernorm dx", c.x, n, dx, ln_loss, &c, 1e-6, 1e-7);
  nerve_fd_check ("layernorm dweight", c.w, c.D, dw, ln_loss, &c, 1e-6, 1e-7);
  nerve_fd_check ("layernorm dbias", c.b, c.D, db, ln_loss, &c, 1e-6, 1e-7);
  double *all[] = { c.x, c.y, c.r, c.w, c.b, c.mean, c.invstd, dx, dw, db };
  for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
    g_free (all[i]);
}

static void
test_layernorm_matches_pytorch (void)
{
  NerveFixture *f = nerve_fixture_load ("norm");
  if (!f)
    return;
  g_autoptr (NerveModel) m = test_model_new ("{\"input\":[4,7],\"layers\":[{\"type\":\"layernorm\",\"name\":\"ln\"}]}");
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  test_set_param (m, f, "layernorm", "weight", "ln.weight");
  test_set_param (m, f, "layernorm", "bias", "ln.bias");
  test_runner_fixture (m, f, "layernorm", TRUE, NULL, 1e-5);
  test_param_grad (m, f, "layernorm", "dweight", "ln.weight", 1e-5);
  test_param_grad (m, f, "layernorm", "dbias", "ln.bias", 1e-5);

  /* streaming: one time step through step() equals that row of the batch forward */
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveRunner) r = nerve_runner_new (m, 1, 0, &err);
  float *x = nerve_fixture_tensor (f, "layernorm", "x", NULL), out[7];
  const float *y = nerve_runner_forward (r, x, 1, FALSE, NULL);
  NerveLayer *l = nerve_model_find_layer (m, "ln");
  l->klass->step (l, x + 2 * 7, out, NULL);
  nerve_assert_close ("layernorm step", out, y + 2 * 7, 7, 1e-6);
  nerve_free_floats (x);
  nerve_fixture_free (f);

  CU_ASSERT_EQUAL (nerve_model_n_trainable (m), 14);
  CU_ASSERT (nerve_model_find_param (m, "ln.bias")->flags & NERVE_PARAM_NO_DECAY);
  test_model_error ("{\"input\":[4],\"layers\":[{\"type\":\"layernorm\",\"eps\":-1}]}", "'eps'", "must be in");
}

/* ---- dropout ------------------------------------------------------------------------ */

typedef struct {
  double *x, *mask, *y, *r;
  gsize n;
} DropCase;

static double
drop_loss (gpointer p)
{
  DropCase *c = p;
  nerve_dropout_forward_f64 (c->y, c->mask, c->x, c->n);
  return nerve_test_dot_f64 (c->y, c->r, c->n);
}

static void
test_dropout_finite_differences (void)
{
  DropCase c = { .n = 64 };
  c.x = g_new (double, c.n), c.mask = g_new (double, c.n), c.y = g_new (double, c.n), c.r = g_new (double, c.n);
  double *dx = g_new0 (double, c.n);
  NerveRng rng;
  nerve_rng_seed (&rng, 9);
  nerve_dropout_mask_f64 (c.mask, c.n, 0.25, &rng); /* fixed for the whole check */
  nerve_test_fill_f64 (c.x, c.n, 300, 1);
  nerve_test_fill_f64 (c.r, c.n, 301, 1);
  drop_loss (&c);
  nerve_dropout_backward_f64 (dx, c.r, c.mask, c.n);
  nerve_fd_check ("dropout dx", c.x, c.n, dx, drop_loss, &c, 1e-6, 1e-8);
  int zeros = 0;
  for (gsize i = 0; i < c.n; i++) {
    zeros += c.mask[i] == 0;
    CU_ASSERT (c.mask[i] == 0 || fabs (c.mask[i] - 1 / 0.75) < 1e-12);
  }
  CU_ASSERT (zeros > 0 && zeros < (int) c.n);
  g_free (c.x), g_free (c.mask), g_free (c.y), g_free (c.r), g_free (dx);
}

static void
test_dropout_layer (void)
{
  const int B = 100, F = 1000;
  const double p = 0.3;
  g_autoptr (NerveModel) m = test_model_new ("{\"input\":[%d],\"layers\":[{\"type\":\"dropout\",\"rate\":%g}]}", F, p);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveRunner) r = nerve_runner_new (m, B, NERVE_RUNNER_GRADS | NERVE_RUNNER_INPUT_GRAD, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r);
  gsize n = (gsize) B * F;
  float *x = nerve_alloc_floats (n), *ones = nerve_alloc_floats (n), *dy = nerve_alloc_floats (n);
  nerve_test_fill_f32 (x, n, 400, 1);
  nerve_test_fill_f32 (dy, n, 401, 1);
  for (gsize i = 0; i < n; i++)
    ones[i] = 1;
  NerveRng rng;
  nerve_rng_seed (&rng, 3);

  /* eval: the identity, forward and backward */
  const float *y = nerve_runner_forward (r, x, B, FALSE, NULL);
  CU_ASSERT (memcmp (y, x, n * sizeof (float)) == 0);
  const float *dx = nerve_runner_backward (r, dy);
  CU_ASSERT (memcmp (dx, dy, n * sizeof (float)) == 0);

  /* training on ones: the mean stays 1 within 4 standard errors; a fraction p is dropped */
  y = nerve_runner_forward (r, ones, B, TRUE, &rng);
  double sum = 0;
  gsize zeros = 0;
  gboolean scaled = TRUE;
  for (gsize i = 0; i < n; i++) {
    sum += y[i];
    zeros += y[i] == 0;
    scaled &= y[i] == 0 || fabsf (y[i] - (float) (1 / (1 - p))) < 1e-6f;
  }
  CU_ASSERT (scaled);
  CU_ASSERT (fabs (sum / n - 1) < 4 * sqrt (p / (1 - p) / n));
  CU_ASSERT (fabs ((double) zeros / n - p) < 4 * sqrt (p * (1 - p) / n));

  /* backward uses the forward's mask: dx·x == y·dy element-wise */
  y = nerve_runner_forward (r, x, B, TRUE, &rng);
  float *y1 = g_memdup2 (y, n * sizeof (float));
  dx = nerve_runner_backward (r, dy);
  gboolean same = TRUE;
  for (gsize i = 0; i < n; i++)
    same &= fabsf (dx[i] * x[i] - y1[i] * dy[i]) <= 1e-6f * (1 + fabsf (y1[i] * dy[i]));
  CU_ASSERT (same);
  /* and a new forward draws a new mask */
  y = nerve_runner_forward (r, x, B, TRUE, &rng);
  CU_ASSERT (memcmp (y, y1, n * sizeof (float)) != 0);
  g_free (y1);

  nerve_free_floats (x), nerve_free_floats (ones), nerve_free_floats (dy);

  /* rate 1 drops everything (no inf/NaN), rate 0 keeps everything */
  float v[4] = { 1, -2, 3, 4 }, mask[4], out[4];
  nerve_dropout_mask (mask, 4, 1.0f, &rng);
  nerve_dropout_forward (out, mask, v, 4);
  CU_ASSERT (out[0] == 0 && out[1] == 0 && out[2] == 0 && out[3] == 0);
  nerve_dropout_mask (mask, 4, 0.0f, &rng);
  nerve_dropout_forward (out, mask, v, 4);
  CU_ASSERT (memcmp (out, v, sizeof v) == 0);

  test_model_error ("{\"input\":[4],\"layers\":[{\"type\":\"dropout\",\"rate\":1.5}]}", "'rate'", "must be in");
  test_model_error ("{\"input\":[4],\"layers\":[{\"type\":\"dropout\",\"p\":0.5}]}", "unknown key 'p'", NULL);
}

/* ---- softmax ------------------------------------------------------------------------- */

typedef struct {
  gboolean log;
  int R, D;
  double *x, *y, *r;
} SmCase;

static double
sm_loss (gpointer p)
{
  SmCase *c = p;
  (c->log ? nerve_log_softmax_forward_f64 : nerve_softmax_forward_f64) (c->y, c->x, c->R, c->D);
  return nerve_test_dot_f64 (c->y, c->r, (gsize) c->R * c->D);
}

static void
test_softmax_finite_differences (void)
{
  for (int log = 0; log < 2; log++) {
    SmCase c = { .log = log, .R = 4, .D = 21 };
    gsize n = (gsize) c.R * c.D;
    c.x = g_new (double, n), c.y = g_new (double, n), c.r = g_new (double, n);
    double *dx = g_new0 (double, n);
    nerve_test_fill_f64 (c.x, n, 500 + log, 4);
    nerve_test_fill_f64 (c.r, n, 510 + log, 1);
    sm_loss (&c);
    (log ? nerve_log_softmax_backward_f64 : nerve_softmax_backward_f64) (dx, c.r, c.y, c.R, c.D);
    nerve_fd_check (log ? "log_softmax dx" : "softmax dx", c.x, n, dx, sm_loss, &c, 1e-6, 1e-8);
    g_free (c.x), g_free (c.y), g_free (c.r), g_free (dx);
  }
}

static void
test_softmax_matches_pytorch (void)
{
  NerveFixture *f = nerve_fixture_load ("norm");
  if (!f)
    return;
  const char *cases[] = { "softmax", "softmax_large", "log_softmax", "log_softmax_large" };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (NerveModel) m = test_model_new ("{\"input\":[6],\"layers\":[{\"type\":\"%s\"}]}",
                                               i < 2 ? "softmax" : "log_softmax");
    if (m)
      test_runner_fixture (m, f, cases[i], TRUE, NULL, 1e-5);
  }
  nerve_fixture_free (f);
}

static void
test_softmax_large_logits (void)
{
  const float x[] = { 1000, 999, -1000, 0, 1000, -1e30f };
  float y[6], ly[6], dx[6] = { 0 }, dy[6] = { 1, 0, 0, 0, 0, 0 };
  nerve_softmax_forward (y, x, 1, 6);
  nerve_log_softmax_forward (ly, x, 1, 6);
  float s = 0;
  for (int i = 0; i < 6; i++) {
    CU_ASSERT (isfinite (y[i]) && isfinite (ly[i]));
    s += y[i];
  }
  CU_ASSERT_DOUBLE_EQUAL (s, 1, 1e-6);
  /* exact: e^0 + e^-1 + e^0 for the three large terms */
  double z = 2 + exp (-1.0);
  CU_ASSERT_DOUBLE_EQUAL (y[0], 1 / z, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL (ly[1], -1 - log (z), 1e-5);
  CU_ASSERT_EQUAL (y[2], 0.0f);
  nerve_softmax_backward (dx, dy, y, 1, 6);
  nerve_log_softmax_backward (dx, dy, ly, 1, 6);
  for (int i = 0; i < 6; i++)
    CU_ASSERT (isfinite (dx[i]));

  /* in place works for softmax */
  float v[3] = { 1000, 1000, 1000 };
  nerve_softmax_forward (v, v, 1, 3);
  CU_ASSERT_DOUBLE_EQUAL (v[1], 1.0 / 3, 1e-6);
}

static void
test_softmax_graph (void)
{
  g_autoptr (NerveModel) m = test_model_new (
    "{\"input\":[5,4],\"layers\":[{\"type\":\"log_softmax\",\"name\":\"ls\"},{\"type\":\"softmax\"}]}");
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  const NerveShape *o = nerve_model_output_shape (m);
  CU_ASSERT (o->ndim == 2 && o->dim[0] == 5 && o->dim[1] == 4);
  /* softmax(log_softmax(x)) == softmax(x), and each row sums to 1 */
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveRunner) r = nerve_runner_new (m, 2, 0, &err);
  float x[40], ref[40];
  nerve_test_fill_f32 (x, 40, 600, 5);
  nerve_softmax_forward (ref, x, 10, 4);
  const float *y = nerve_runner_forward (r, x, 2, FALSE, NULL);
  nerve_assert_close ("softmax of log_softmax", y, ref, 40, 1e-6);
  float step[4];
  NerveLayer *l = nerve_model_find_layer (m, "ls");
  l->klass->step (l, x + 4, step, NULL);
  nerve_assert_close ("log_softmax step", step, nerve_runner_layer_output (r, "ls") + 4, 4, 1e-6);
  test_model_error ("{\"input\":[4],\"layers\":[{\"type\":\"softmax\",\"axis\":0}]}", "unknown key 'axis'", NULL);
}

NERVE_TEST_MAIN ("norm",
                 { "batchnorm backward vs finite differences (train and eval)", test_batchnorm_finite_differences },
                 { "batchnorm vs PyTorch (train, eval, running stats)", test_batchnorm_matches_pytorch },
                 { "batchnorm in a graph", test_batchnorm_graph },
                 { "layernorm backward vs finite differences", test_layernorm_finite_differences },
                 { "layernorm vs PyTorch, step, config", test_layernorm_matches_pytorch },
                 { "dropout backward vs finite differences with a fixed mask", test_dropout_finite_differences },
                 { "dropout layer: eval identity, statistics, same mask in backward", test_dropout_layer },
                 { "softmax backward vs finite differences", test_softmax_finite_differences },
                 { "softmax vs PyTorch", test_softmax_matches_pytorch },
                 { "softmax with large logits stays finite", test_softmax_large_logits },
                 { "softmax in a graph", test_softmax_graph })

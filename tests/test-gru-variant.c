/* GRU variants (reset_before, relu/sigmoid candidate): backward vs finite
 * differences in double, the optimized forward vs the naive loops, a hand-written
 * PyTorch cell (tests/gen/gru_variant.py), streaming steps, and the layer config. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "nerve.h"

static const char *const act_names[] = { "tanh", "relu", "sigmoid" };

static gsize
param_size (const NerveRnnShape *s, int k, int i)
{
  gsize GH = (gsize) 3 * s->hidden;
  return i == 0 ? GH * (k ? s->hidden * s->dirs : s->in) : i == 1 ? GH * s->hidden : GH;
}

/* ---- finite differences in double ---- */

typedef struct {
  NerveRnnShape s;
  const int *lengths;
  double *x, *out, *r, *cache;
  double *p[4 * 2 * 3];
} FdCase;

static double
fd_loss (gpointer data)
{
  FdCase *c = data;
  nerve_rnn_forward_f64 (NERVE_RNN_GRU, c->out, c->cache, c->x, c->lengths, (const double *const *) c->p, &c->s);
  return nerve_test_dot_f64 (c->out, c->r, c->s.batch * nerve_rnn_out_size (&c->s));
}

static void
fd_run (gboolean reset_before, NerveRnnActivation act, int N, int layers, int dirs, gboolean seq_out,
        const int *lengths)
{
  FdCase c = { .s = { .batch = N, .time = 4, .in = 3, .hidden = 5, .layers = layers, .dirs = dirs,
                      .seq_out = seq_out, .reset_before = reset_before, .act = act },
               .lengths = lengths };
  const int np = layers * dirs * 4;
  gsize nx = (gsize) N * 4 * 3, ny = N * nerve_rnn_out_size (&c.s);
  c.x = g_new (double, nx), c.out = g_new (double, ny), c.r = g_new (double, ny);
  c.cache = g_new0 (double, nerve_rnn_cache_size (NERVE_RNN_GRU, &c.s));
  double *g[4 * 2 * 3], *dx = g_new0 (double, nx);
  gsize sizes[4 * 2 * 3];
  nerve_test_fill_f64 (c.x, nx, 1, 1);
  nerve_test_fill_f64 (c.r, ny, 2, 1);
  for (int i = 0; i < np; i++) {
    sizes[i] = param_size (&c.s, i / (4 * dirs), i % 4);
    c.p[i] = g_new (double, sizes[i]);
    g[i] = g_new0 (double, sizes[i]);
    nerve_test_fill_f64 (c.p[i], sizes[i], 10 + i, 0.8);
  }
  fd_loss (&c);
  nerve_rnn_backward_f64 (NERVE_RNN_GRU, dx, g, c.cache, c.r, lengths, (const double *const *) c.p, &c.s);
  g_autofree char *what = g_strdup_printf ("%s %s N=%d L=%d D=%d %s %s", reset_before ? "reset_before" : "reset_after",
                                           act_names[act], N, layers, dirs, seq_out ? "seq" : "last",
                                           lengths ? "lengths" : "full");
  g_autofree char *wx = g_strdup_printf ("%s dx", what);
  nerve_fd_check (wx, c.x, nx, dx, fd_loss, &c, 1e-6, 1e-7);
  for (int i = 0; i < np; i++) {
    g_autofree char *wp = g_strdup_printf ("%s param %d", what, i);
    nerve_fd_check (wp, c.p[i], sizes[i], g[i], fd_loss, &c, 1e-6, 1e-7);
  }
  /* backward accumulates */
  double first = g[1][0], firstx = dx[0];
  nerve_rnn_backward_f64 (NERVE_RNN_GRU, dx, g, c.cache, c.r, lengths, (const double *const *) c.p, &c.s);
  CU_ASSERT_DOUBLE_EQUAL (g[1][0], 2 * first, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL (dx[0], 2 * firstx, 1e-12);
  for (int i = 0; i < np; i++)
    g_free (c.p[i]), g_free (g[i]);
  g_free (c.x), g_free (c.out), g_free (c.r), g_free (c.cache), g_free (dx);
}

static const int fd_lengths[] = { 2, 4, 1, 3, 4 };

static void
test_finite_differences (void)
{
  for (int act = 0; act < 3; act++) {
    fd_run (TRUE, act, 2, 1, 1, TRUE, NULL);         /* per-row GEMV step products */
    fd_run (TRUE, act, 5, 2, 1, TRUE, fd_lengths);   /* GEMM */
    fd_run (TRUE, act, 5, 2, 2, FALSE, fd_lengths);  /* bidirectional, h_n */
    fd_run (FALSE, act, 3, 2, 2, TRUE, fd_lengths);  /* reset_after with another activation */
  }
}

/* ---- optimized forward vs the naive loops ---- */

static void
test_forward_matches_reference (void)
{
  static const int lengths[] = { 7, 3, 0, 6 };
  for (int v = 0; v < 12; v++) {
    const int N = v % 2 ? 4 : 2;
    NerveRnnShape s = { .batch = N, .time = 7, .in = 6, .hidden = 9, .layers = 2, .dirs = 1 + (v / 2) % 2,
                        .seq_out = TRUE, .reset_before = v < 8, .act = (v / 4) % 3 };
    gsize nx = (gsize) N * 7 * 6, ny = N * nerve_rnn_out_size (&s);
    float *x = nerve_alloc_floats (nx), *y = nerve_alloc_floats (ny), *yr = nerve_alloc_floats (ny);
    float *cache = nerve_alloc_floats (nerve_rnn_cache_size (NERVE_RNN_GRU, &s));
    float *p[16];
    nerve_test_fill_f32 (x, nx, 5, 3);
    for (int i = 0; i < 4 * s.dirs * 2; i++) {
      gsize n = param_size (&s, i / (4 * s.dirs), i % 4);
      p[i] = nerve_alloc_floats (n);
      nerve_test_fill_f32 (p[i], n, 30 + i, 0.5f);
    }
    nerve_rnn_forward (NERVE_RNN_GRU, y, cache, x, lengths, (const float *const *) p, &s);
    nerve_rnn_forward_ref (NERVE_RNN_GRU, yr, cache, x, lengths, (const float *const *) p, &s);
    g_autofree char *what = g_strdup_printf ("variant %d", v);
    nerve_assert_close (what, y, yr, ny, 2e-6);
    for (int i = 0; i < 4 * s.dirs * 2; i++)
      nerve_free_floats (p[i]);
    nerve_free_floats (x), nerve_free_floats (y), nerve_free_floats (yr), nerve_free_floats (cache);
  }
}

/* ---- the hand-written PyTorch cell ---- */

static char *
torch_name (int i, int dirs)
{
  static const char *const base[] = { "weight_ih", "weight_hh", "bias_ih", "bias_hh" };
  return g_strdup_printf ("%s_l%d%s", base[i % 4], i / (4 * dirs), (i / 4) % dirs ? "_reverse" : "");
}

static void
pytorch_case (NerveFixture *f, const char *c)
{
  NerveRnnShape s = { .batch = nerve_fixture_int (f, c, "N", 0), .time = nerve_fixture_int (f, c, "T", 0),
                      .in = nerve_fixture_int (f, c, "F", 0), .hidden = nerve_fixture_int (f, c, "H", 0),
                      .layers = nerve_fixture_int (f, c, "layers", 0),
                      .dirs = 1 + nerve_fixture_int (f, c, "bidirectional", 0), .seq_out = TRUE,
                      .reset_before = !nerve_fixture_int (f, c, "reset_after", 1),
                      .act = nerve_fixture_int (f, c, "act", 0) };
  int np = 4 * s.layers * s.dirs, lengths[8];
  gsize nx, ny;
  float *x = nerve_fixture_tensor (f, c, "x", &nx), *y = nerve_fixture_tensor (f, c, "y", &ny);
  float *dy = nerve_fixture_tensor (f, c, "dy", NULL), *dx = nerve_fixture_tensor (f, c, "dx", NULL);
  CU_ASSERT_EQUAL_FATAL (ny, s.batch * nerve_rnn_out_size (&s));
  const int *len = NULL;
  if (nerve_fixture_int (f, c, "has_lengths", 0)) {
    float *lf = nerve_fixture_tensor (f, c, "lengths", NULL);
    for (int n = 0; n < s.batch; n++)
      lengths[n] = (int) lf[n];
    nerve_free_floats (lf);
    len = lengths;
  }
  float *p[16], *g[16], *gref[16];
  gsize sizes[16];
  for (int i = 0; i < np; i++) {
    g_autofree char *name = torch_name (i, s.dirs);
    g_autofree char *gname = g_strconcat ("grad.", name, NULL);
    p[i] = nerve_fixture_tensor (f, c, name, &sizes[i]);
    gref[i] = nerve_fixture_tensor (f, c, gname, NULL);
    CU_ASSERT_EQUAL_FATAL (sizes[i], param_size (&s, i / (4 * s.dirs), i % 4));
    g[i] = nerve_alloc_floats (sizes[i]);
  }
  float *oy = nerve_alloc_floats (ny), *odx = nerve_alloc_floats (nx);
  float *cache = nerve_alloc_floats (nerve_rnn_cache_size (NERVE_RNN_GRU, &s));
  nerve_rnn_forward (NERVE_RNN_GRU, oy, cache, x, len, (const float *const *) p, &s);
  nerve_rnn_backward (NERVE_RNN_GRU, odx, g, cache, dy, len, (const float *const *) p, &s);
  g_autofree char *wy = g_strdup_printf ("%s y", c);
  g_autofree char *wdx = g_strdup_printf ("%s dx", c);
  nerve_assert_close (wy, oy, y, ny, 1e-5);
  nerve_assert_close (wdx, odx, dx, nx, 1e-5);
  for (int i = 0; i < np; i++) {
    g_autofree char *name = torch_name (i, s.dirs);
    g_autofree char *what = g_strdup_printf ("%s grad %s", c, name);
    nerve_assert_close (what, g[i], gref[i], sizes[i], 1e-5);
    nerve_free_floats (p[i]), nerve_free_floats (g[i]), nerve_free_floats (gref[i]);
  }
  float *all[] = { x, y, dy, dx, oy, odx, cache };
  for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
    nerve_free_floats (all[i]);
}

static void
test_matches_pytorch (void)
{
  NerveFixture *f = nerve_fixture_load ("gru-variant");
  CU_ASSERT_PTR_NOT_NULL_FATAL (f);
  const char *const *cases = nerve_fixture_cases (f);
  int n = 0;
  for (; cases[n]; n++)
    pytorch_case (f, cases[n]);
  CU_ASSERT_EQUAL (n, 4);
  nerve_fixture_free (f);
}

/* ---- the layer class ---- */

static NerveModel *
build (const char *json)
{
  g_autoptr (GError) err = NULL;
  NerveModel *m = nerve_model_new (json, &err);
  if (!m)
    fprintf (stderr, "  %s\n", err->message);
  return m;
}

/* Through the graph, T steps equal the full forward, which equals the naive loops
 * with the configured variant (and differs from PyTorch's default cell). */
static void
test_class_step_and_forward (void)
{
  for (int act = 0; act < 3; act++) {
    const int T = 6, F = 4, H = 5;
    g_autofree char *json = g_strdup_printf ("{\"input\":[6,4],\"layers\":[{\"type\":\"gru\",\"name\":\"g\","
                                             "\"hidden\":5,\"layers\":2,\"reset_after\":false,"
                                             "\"activation\":\"%s\"}]}", act_names[act]);
    g_autoptr (NerveModel) m = build (json);
    CU_ASSERT_PTR_NOT_NULL_FATAL (m);
    nerve_model_init_params (m, 5);
    g_autoptr (GError) err = NULL;
    g_autoptr (NerveRunner) r = nerve_runner_new (m, 1, 0, &err);
    float *x = nerve_alloc_floats (T * F), out[5];
    nerve_test_fill_f32 (x, T * F, 9, 2);
    const float *y = nerve_runner_forward (r, x, 1, FALSE, NULL);
    NerveRnnShape s = { .batch = 1, .time = T, .in = F, .hidden = H, .layers = 2, .dirs = 1, .seq_out = TRUE,
                        .reset_before = TRUE, .act = act };
    const float *p[8];
    for (int i = 0; i < 8; i++) {
      g_autofree char *tn = torch_name (i, 1);
      g_autofree char *name = g_strconcat ("g.", tn, NULL);
      p[i] = nerve_model_find_param (m, name)->data;
    }
    float *yr = nerve_alloc_floats (T * H), *cache = nerve_alloc_floats (nerve_rnn_cache_size (NERVE_RNN_GRU, &s));
    nerve_rnn_forward_ref (NERVE_RNN_GRU, yr, cache, x, NULL, p, &s);
    nerve_assert_close ("class forward", y, yr, T * H, 2e-6);
    s.reset_before = FALSE;
    float *ya = nerve_alloc_floats (T * H);
    nerve_rnn_forward_ref (NERVE_RNN_GRU, ya, cache, x, NULL, p, &s);
    double diff = 0;
    for (int i = 0; i < T * H; i++)
      diff = MAX (diff, fabs (ya[i] - y[i]));
    CU_ASSERT (diff > 1e-3); /* the variant really is another cell */
    NerveLayer *l = m->layers[0];
    float *state = nerve_alloc_floats (l->klass->state_size (l));
    for (int t = 0; t < T; t++) {
      l->klass->step (l, x + t * F, out, state);
      nerve_assert_close ("step", out, y + t * H, H, 2e-6);
    }
    nerve_free_floats (x), nerve_free_floats (state), nerve_free_floats (yr), nerve_free_floats (ya);
    nerve_free_floats (cache);
  }
}

/* The kernel-level step over a batch of streams equals a one-layer forward. */
static void
test_step_kernel_batch (void)
{
  const int B = 3, T = 4, F = 3, H = 7;
  for (int act = 0; act < 3; act++) {
    NerveRnnShape s = { .batch = B, .time = T, .in = F, .hidden = H, .layers = 1, .dirs = 1, .seq_out = TRUE,
                        .reset_before = TRUE, .act = act };
    float *p[4], *x = nerve_alloc_floats (B * T * F), *y = nerve_alloc_floats (B * T * H);
    float *cache = nerve_alloc_floats (nerve_rnn_cache_size (NERVE_RNN_GRU, &s));
    float *h = nerve_alloc_floats (B * H), *scratch = nerve_alloc_floats (B * 9 * H), *xt = nerve_alloc_floats (B * F);
    for (int i = 0; i < 4; i++) {
      p[i] = nerve_alloc_floats (param_size (&s, 0, i));
      nerve_test_fill_f32 (p[i], param_size (&s, 0, i), 40 + i, 0.5f);
    }
    nerve_test_fill_f32 (x, B * T * F, 8, 1);
    nerve_rnn_forward (NERVE_RNN_GRU, y, cache, x, NULL, (const float *const *) p, &s);
    for (int t = 0; t < T; t++) {
      for (int b = 0; b < B; b++)
        memcpy (xt + b * F, x + (b * T + t) * F, sizeof (float) * F);
      nerve_gru_step_variant (h, scratch, xt, p[0], p[1], p[2], p[3], B, F, H, TRUE, act);
      for (int b = 0; b < B; b++)
        nerve_assert_close ("step kernel", h + b * H, y + (b * T + t) * H, H, 2e-6);
    }
    for (int i = 0; i < 4; i++)
      nerve_free_floats (p[i]);
    float *all[] = { x, y, cache, h, scratch, xt };
    for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
      nerve_free_floats (all[i]);
  }
}

/* The default cell is untouched: explicit defaults give bit-identical outputs. */
static void
test_default_unchanged (void)
{
  g_autoptr (NerveModel) a = build ("{\"input\":[5,3],\"layers\":[{\"type\":\"gru\",\"name\":\"g\",\"hidden\":4}]}");
  g_autoptr (NerveModel) b = build ("{\"input\":[5,3],\"layers\":[{\"type\":\"gru\",\"name\":\"g\",\"hidden\":4,"
                                    "\"reset_after\":true,\"activation\":\"tanh\"}]}");
  CU_ASSERT_FATAL (a && b);
  nerve_model_init_params (a, 3);
  nerve_model_init_params (b, 3);
  g_autoptr (NerveRunner) ra = nerve_runner_new (a, 1, 0, NULL);
  g_autoptr (NerveRunner) rb = nerve_runner_new (b, 1, 0, NULL);
  float x[15];
  nerve_test_fill_f32 (x, 15, 4, 1);
  CU_ASSERT_EQUAL (memcmp (nerve_runner_forward (ra, x, 1, FALSE, NULL), nerve_runner_forward (rb, x, 1, FALSE, NULL),
                           sizeof (float) * 20), 0);
}

static void
test_bad_configs (void)
{
  nerve_test_model_error ("{\"input\":[6,4],\"layers\":[{\"type\":\"gru\",\"hidden\":3,\"activation\":\"gelu\"}]}",
                          "activation", "relu");
  nerve_test_model_error ("{\"input\":[6,4],\"layers\":[{\"type\":\"gru\",\"hidden\":3,\"reset_after\":0}]}",
                          "reset_after", NULL);
  /* LSTM has no variants: the keys are unknown there */
  nerve_test_model_error ("{\"input\":[6,4],\"layers\":[{\"type\":\"lstm\",\"hidden\":3,\"reset_after\":false}]}",
                          "unknown key 'reset_after'", NULL);
}

NERVE_TEST_MAIN ("gru-variant",
                 { "backward vs finite differences", test_finite_differences },
                 { "optimized forward matches the naive loops", test_forward_matches_reference },
                 { "vs a hand-written PyTorch cell", test_matches_pytorch },
                 { "class: forward, steps, and a different cell", test_class_step_and_forward },
                 { "step kernel over a batch", test_step_kernel_batch },
                 { "default cell unchanged", test_default_unchanged },
                 { "bad configs give clear errors", test_bad_configs })

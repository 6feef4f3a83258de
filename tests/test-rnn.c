/* LSTM and GRU: backward vs finite differences (double), the optimized forward vs
 * the naive reference, PyTorch nn.LSTM / nn.GRU fixtures with packed sequences,
 * streaming steps vs the full forward, and the classes through the model graph. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "nerve.h"

static const char *const cell_names[] = { "lstm", "gru" };

static int
n_gates (NerveRnnCell cell)
{
  return cell == NERVE_RNN_LSTM ? 4 : 3;
}

/* Element count of parameter i (w_ih, w_hh, b_ih, b_hh) of layer k. */
static gsize
param_size (NerveRnnCell cell, const NerveRnnShape *s, int k, int i)
{
  gsize GH = (gsize) n_gates (cell) * s->hidden;
  return i == 0 ? GH * (k ? s->hidden * s->dirs : s->in) : i == 1 ? GH * s->hidden : GH;
}

/* ---- finite differences in double ---- */

typedef struct {
  NerveRnnCell cell;
  NerveRnnShape s;
  const int *lengths;
  int np;
  double *x, *out, *r, *cache;
  double *p[4 * 2 * NERVE_RNN_MAX_LAYERS];
} FdCase;

static double
fd_loss (gpointer data)
{
  FdCase *c = data;
  nerve_rnn_forward_f64 (c->cell, c->out, c->cache, c->x, c->lengths, (const double *const *) c->p, &c->s);
  return nerve_test_dot_f64 (c->out, c->r, c->s.batch * nerve_rnn_out_size (&c->s));
}

/* N <= 3 takes the per-row GEMV path of the step products, larger N plain GEMM. */
static void
fd_run (NerveRnnCell cell, int N, int layers, int dirs, gboolean seq_out, const int *lengths)
{
  FdCase c = { .cell = cell, .s = { .batch = N, .time = 4, .in = 3, .hidden = 5, .layers = layers,
                                    .dirs = dirs, .seq_out = seq_out },
               .lengths = lengths, .np = layers * dirs * 4 };
  gsize nx = (gsize) N * 4 * 3, ny = N * nerve_rnn_out_size (&c.s);
  c.x = g_new (double, nx), c.out = g_new (double, ny), c.r = g_new (double, ny);
  c.cache = g_new0 (double, nerve_rnn_cache_size (cell, &c.s));
  double *g[4 * 2 * NERVE_RNN_MAX_LAYERS], *dx = g_new0 (double, nx);
  gsize sizes[4 * 2 * NERVE_RNN_MAX_LAYERS];
  nerve_test_fill_f64 (c.x, nx, 1, 1);
  nerve_test_fill_f64 (c.r, ny, 2, 1);
  for (int i = 0; i < c.np; i++) {
    sizes[i] = param_size (cell, &c.s, i / (4 * dirs), i % 4);
    c.p[i] = g_new (double, sizes[i]);
    g[i] = g_new0 (double, sizes[i]);
    nerve_test_fill_f64 (c.p[i], sizes[i], 10 + i, 0.6);
  }
  fd_loss (&c);
  nerve_rnn_backward_f64 (cell, dx, g, c.cache, c.r, lengths, (const double *const *) c.p, &c.s);
  g_autofree char *what = g_strdup_printf ("%s N=%d L=%d D=%d %s %s", cell_names[cell], N, layers, dirs,
                                           seq_out ? "seq" : "last", lengths ? "lengths" : "full");
  g_autofree char *wx = g_strdup_printf ("%s dx", what);
  nerve_fd_check (wx, c.x, nx, dx, fd_loss, &c, 1e-6, 1e-7);
  if (lengths) /* padded steps get no gradient */
    for (int n = 0; n < N; n++)
      for (int t = lengths[n]; t < 4; t++)
        CU_ASSERT_EQUAL (dx[(n * 4 + t) * 3], 0.0);
  for (int i = 0; i < c.np; i++) {
    g_autofree char *wp = g_strdup_printf ("%s param %d", what, i);
    nerve_fd_check (wp, c.p[i], sizes[i], g[i], fd_loss, &c, 1e-6, 1e-7);
  }
  /* backward accumulates: a second pass doubles every gradient */
  double first = g[c.np - 1][0], firstx = dx[0];
  nerve_rnn_backward_f64 (cell, dx, g, c.cache, c.r, lengths, (const double *const *) c.p, &c.s);
  CU_ASSERT_DOUBLE_EQUAL (g[c.np - 1][0], 2 * first, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL (dx[0], 2 * firstx, 1e-12);
  for (int i = 0; i < c.np; i++)
    g_free (c.p[i]), g_free (g[i]);
  g_free (c.x), g_free (c.out), g_free (c.r), g_free (c.cache), g_free (dx);
}

static const int fd_lengths[] = { 2, 4, 1, 3, 4 };

static void
fd_all (NerveRnnCell cell)
{
  fd_run (cell, 2, 1, 1, TRUE, NULL);
  fd_run (cell, 5, 1, 1, FALSE, fd_lengths);
  fd_run (cell, 3, 2, 1, TRUE, fd_lengths);
  fd_run (cell, 5, 2, 2, TRUE, NULL);
  fd_run (cell, 2, 2, 2, TRUE, fd_lengths);
  fd_run (cell, 5, 2, 2, TRUE, fd_lengths);
  fd_run (cell, 5, 2, 2, FALSE, fd_lengths);
  fd_run (cell, 3, 3, 2, FALSE, NULL);
}

static void
test_lstm_finite_differences (void)
{
  fd_all (NERVE_RNN_LSTM);
}

static void
test_gru_finite_differences (void)
{
  fd_all (NERVE_RNN_GRU);
}

/* ---- optimized forward vs the naive loops (float: fast gate maths vs libm) ---- */

static void
test_forward_matches_reference (void)
{
  static const int lengths[] = { 7, 3, 0, 6 }; /* an empty sequence gives zeros */
  for (int cell = 0; cell < 2; cell++)
    for (int v = 0; v < 8; v++) {
      const int N = v < 4 ? 4 : 2; /* GEMM and per-row GEMV step products */
      NerveRnnShape s = { .batch = N, .time = 7, .in = 6, .hidden = 9, .layers = 2, .dirs = 1 + v % 2,
                          .seq_out = v % 4 < 2 };
      const int *len = v % 4 == 3 ? NULL : lengths;
      gsize nx = (gsize) N * 7 * 6, ny = N * nerve_rnn_out_size (&s);
      float *x = nerve_alloc_floats (nx), *y = nerve_alloc_floats (ny), *yr = nerve_alloc_floats (ny);
      float *cache = nerve_alloc_floats (nerve_rnn_cache_size (cell, &s));
      float *p[16];
      nerve_test_fill_f32 (x, nx, 5, 3); /* large inputs reach the saturated ends */
      for (int i = 0; i < 4 * s.dirs * 2; i++) {
        gsize n = param_size (cell, &s, i / (4 * s.dirs), i % 4);
        p[i] = nerve_alloc_floats (n);
        nerve_test_fill_f32 (p[i], n, 30 + i, 0.5f);
      }
      nerve_rnn_forward (cell, y, cache, x, len, (const float *const *) p, &s);
      nerve_rnn_forward_ref (cell, yr, cache, x, len, (const float *const *) p, &s);
      nerve_assert_close (cell_names[cell], y, yr, ny, 2e-6);
      for (int i = 0; i < 4 * s.dirs * 2; i++)
        nerve_free_floats (p[i]);
      nerve_free_floats (x), nerve_free_floats (y), nerve_free_floats (yr), nerve_free_floats (cache);
    }
}

/* ---- PyTorch fixtures ---- */

static char *
torch_name (int i, int dirs)
{
  static const char *const base[] = { "weight_ih", "weight_hh", "bias_ih", "bias_hh" };
  return g_strdup_printf ("%s_l%d%s", base[i % 4], i / (4 * dirs), (i / 4) % dirs ? "_reverse" : "");
}

static void
pytorch_case (NerveRnnCell cell, NerveFixture *f, const char *c)
{
  NerveRnnShape s = { .batch = nerve_fixture_int (f, c, "N", 0), .time = nerve_fixture_int (f, c, "T", 0),
                      .in = nerve_fixture_int (f, c, "F", 0), .hidden = nerve_fixture_int (f, c, "H", 0),
                      .layers = nerve_fixture_int (f, c, "layers", 0),
                      .dirs = 1 + nerve_fixture_int (f, c, "bidirectional", 0),
                      .seq_out = nerve_fixture_int (f, c, "seq_out", 0) };
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
    CU_ASSERT_EQUAL (sizes[i], param_size (cell, &s, i / (4 * s.dirs), i % 4));
    g[i] = nerve_alloc_floats (sizes[i]);
  }
  float *oy = nerve_alloc_floats (ny), *odx = nerve_alloc_floats (nx);
  float *cache = nerve_alloc_floats (nerve_rnn_cache_size (cell, &s));
  nerve_rnn_forward (cell, oy, cache, x, len, (const float *const *) p, &s);
  nerve_rnn_backward (cell, odx, g, cache, dy, len, (const float *const *) p, &s);
  g_autofree char *wy = g_strdup_printf ("%s %s y", cell_names[cell], c);
  g_autofree char *wdx = g_strdup_printf ("%s %s dx", cell_names[cell], c);
  nerve_assert_close (wy, oy, y, ny, 1e-5);
  nerve_assert_close (wdx, odx, dx, nx, 1e-5);
  for (int i = 0; i < np; i++) {
    g_autofree char *name = torch_name (i, s.dirs);
    g_autofree char *what = g_strdup_printf ("%s %s grad %s", cell_names[cell], c, name);
    nerve_assert_close (what, g[i], gref[i], sizes[i], 1e-5);
    nerve_free_floats (p[i]), nerve_free_floats (g[i]), nerve_free_floats (gref[i]);
  }
  float *all[] = { x, y, dy, dx, oy, odx, cache };
  for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
    nerve_free_floats (all[i]);
}

static void
pytorch_all (NerveRnnCell cell)
{
  g_autofree char *file = g_strdup_printf ("rnn-%s", cell_names[cell]);
  NerveFixture *f = nerve_fixture_load (file);
  if (!f)
    return;
  const char *const *cases = nerve_fixture_cases (f);
  int n = 0;
  for (; cases[n]; n++)
    pytorch_case (cell, f, cases[n]);
  CU_ASSERT_EQUAL (n, 3);
  nerve_fixture_free (f);
}

static void
test_lstm_matches_pytorch (void)
{
  pytorch_all (NERVE_RNN_LSTM);
}

static void
test_gru_matches_pytorch (void)
{
  pytorch_all (NERVE_RNN_GRU);
}

/* ---- the classes through the model graph ---- */

static NerveModel *
build (const char *json)
{
  g_autoptr (GError) err = NULL;
  NerveModel *m = nerve_model_new (json, &err);
  if (!m)
    fprintf (stderr, "  %s\n", err->message);
  return m;
}

static void
test_graph_shapes_and_params (void)
{
  g_autoptr (NerveModel) m = build ("{\"input\":[6,4],\"layers\":[{\"type\":\"lstm\",\"name\":\"enc\",\"hidden\":8,"
                                    "\"layers\":2,\"bidirectional\":true},"
                                    "{\"type\":\"gru\",\"name\":\"dec\",\"hidden\":3,\"return_sequences\":false}]}");
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  const NerveShape *o = nerve_model_output_shape (m);
  CU_ASSERT_EQUAL (o->ndim, 1);
  CU_ASSERT_EQUAL (o->dim[0], 3);
  NerveLayer *enc = nerve_model_find_layer (m, "enc");
  CU_ASSERT_EQUAL (enc->out_shape.ndim, 2);
  CU_ASSERT_EQUAL (enc->out_shape.dim[0], 6);
  CU_ASSERT_EQUAL (enc->out_shape.dim[1], 16);
  CU_ASSERT_EQUAL (enc->n_params, 16);
  NerveParam *w = nerve_model_find_param (m, "enc.weight_ih_l1_reverse");
  CU_ASSERT_PTR_NOT_NULL_FATAL (w);
  CU_ASSERT_EQUAL (w->shape.dim[0], 32);
  CU_ASSERT_EQUAL (w->shape.dim[1], 16);
  CU_ASSERT_EQUAL (nerve_model_find_param (m, "enc.bias_hh_l0")->flags, NERVE_PARAM_NO_DECAY);
  CU_ASSERT_EQUAL (nerve_model_find_param (m, "dec.weight_hh_l0")->shape.dim[0], 9);
  gsize lstm = 2 * (32 * 4 + 32 * 8 + 64) + 2 * (32 * 16 + 32 * 8 + 64), gru = 9 * 16 + 9 * 3 + 18;
  CU_ASSERT_EQUAL (nerve_model_n_trainable (m), lstm + gru);
  /* init U(±1/sqrt(H)) */
  nerve_model_init_params (m, 3);
  float worst = 0;
  for (int i = 0; i < 32 * 16; i++)
    worst = fmaxf (worst, fabsf (w->data[i]));
  CU_ASSERT (worst <= 1 / sqrtf (8) && worst > 0.2f);
  /* bidirectional layers do not stream; unidirectional ones do */
  CU_ASSERT_EQUAL (enc->klass->state_size (enc), 0);
  NerveLayer *dec = nerve_model_find_layer (m, "dec");
  CU_ASSERT_EQUAL (dec->klass->state_size (dec), 3 + 9 * 3);
}

static void
test_graph_bad_configs (void)
{
  nerve_test_model_error ("{\"input\":[6,4],\"layers\":[{\"type\":\"lstm\"}]}", "'hidden' (the state size) is required", NULL);
  nerve_test_model_error ("{\"input\":[4],\"layers\":[{\"type\":\"gru\",\"hidden\":3}]}",
                "input per sample is [4], expected a sequence [time, features]", NULL);
  nerve_test_model_error ("{\"input\":[6,4],\"layers\":[{\"type\":\"gru\",\"hidden\":3,\"layers\":0}]}", "must be in", NULL);
  nerve_test_model_error ("{\"input\":[6,4],\"layers\":[{\"type\":\"lstm\",\"hidden\":3,\"dropout\":0.1}]}",
                "unknown key 'dropout'", NULL);
  nerve_test_model_error ("{\"input\":[6,4],\"layers\":[{\"type\":\"lstm\",\"hidden\":3,\"bidirectional\":1}]}", "bidirectional", NULL);
}

/* The runner gives what the naive loops give with the model's named parameters,
 * and its gradients agree with finite differences (float, coarse). */
static void
test_graph_runner (void)
{
  for (int cell = 0; cell < 2; cell++) {
    g_autofree char *json = g_strdup_printf ("{\"input\":[5,4],\"layers\":[{\"type\":\"%s\",\"name\":\"r\","
                                             "\"hidden\":6,\"layers\":2,\"bidirectional\":true}]}",
                                             cell_names[cell]);
    g_autoptr (NerveModel) m = build (json);
    CU_ASSERT_PTR_NOT_NULL_FATAL (m);
    nerve_model_init_params (m, 11);
    g_autoptr (GError) err = NULL;
    g_autoptr (NerveRunner) r = nerve_runner_new (m, 3, NERVE_RUNNER_GRADS | NERVE_RUNNER_INPUT_GRAD, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL (r);
    static const int len[] = { 5, 2, 4 };
    const gsize nout = 3 * 5 * 12;
    float *x = nerve_alloc_floats (3 * 5 * 4), *rnd = nerve_alloc_floats (nout);
    nerve_test_fill_f32 (x, 60, 1, 1);
    nerve_test_fill_f32 (rnd, nout, 2, 1);
    const float *y = nerve_runner_forward_seq (r, x, len, 3, FALSE, NULL);
    NerveRnnShape s = { .batch = 3, .time = 5, .in = 4, .hidden = 6, .layers = 2, .dirs = 2, .seq_out = TRUE };
    const float *p[16];
    for (int i = 0; i < 16; i++) {
      g_autofree char *tn = torch_name (i, 2);
      g_autofree char *name = g_strconcat ("r.", tn, NULL);
      p[i] = nerve_model_find_param (m, name)->data;
    }
    float *yr = nerve_alloc_floats (nout), *cache = nerve_alloc_floats (nerve_rnn_cache_size (cell, &s));
    nerve_rnn_forward_ref (cell, yr, cache, x, len, p, &s);
    nerve_assert_close ("runner forward", y, yr, nout, 2e-6);
    double worst = nerve_test_runner_fd (r, m, x, 60, len, 3, rnd, nout, 1e-2f, 7);
    CU_ASSERT (worst < 2e-3);
    nerve_free_floats (x), nerve_free_floats (rnd), nerve_free_floats (yr), nerve_free_floats (cache);
  }
}

/* ---- streaming: T single steps equal one full forward ---- */

static void
test_step_matches_forward (void)
{
  for (int cell = 0; cell < 2; cell++) {
    const int T = 6, F = 4, H = 5;
    g_autofree char *json = g_strdup_printf ("{\"input\":[6,4],\"layers\":[{\"type\":\"%s\",\"hidden\":5,"
                                             "\"layers\":2}]}", cell_names[cell]);
    g_autoptr (NerveModel) m = build (json);
    CU_ASSERT_PTR_NOT_NULL_FATAL (m);
    nerve_model_init_params (m, 5);
    g_autoptr (GError) err = NULL;
    g_autoptr (NerveRunner) r = nerve_runner_new (m, 1, 0, &err);
    float *x = nerve_alloc_floats (T * F), out[5];
    nerve_test_fill_f32 (x, T * F, 9, 2);
    const float *y = nerve_runner_forward (r, x, 1, FALSE, NULL);
    NerveLayer *l = m->layers[0];
    gsize ns = l->klass->state_size (l);
    CU_ASSERT_EQUAL (ns, cell == 0 ? 2 * 2 * H + 7 * H : 2 * H + 9 * H);
    float *state = nerve_alloc_floats (ns);
    for (int t = 0; t < T; t++) {
      l->klass->step (l, x + t * F, out, state);
      nerve_assert_close ("step", out, y + t * H, H, 2e-6);
    }
    nerve_free_floats (x), nerve_free_floats (state);
  }
}

/* The kernel-level step on a batch of 3 streams matches a one-layer forward. */
static void
test_step_kernel_batch (void)
{
  const int B = 3, T = 4, F = 3, H = 7;
  for (int cell = 0; cell < 2; cell++) {
    NerveRnnShape s = { .batch = B, .time = T, .in = F, .hidden = H, .layers = 1, .dirs = 1, .seq_out = TRUE };
    float *p[4], *x = nerve_alloc_floats (B * T * F), *y = nerve_alloc_floats (B * T * H);
    float *cache = nerve_alloc_floats (nerve_rnn_cache_size (cell, &s));
    float *h = nerve_alloc_floats (B * H), *c = nerve_alloc_floats (B * H), *scratch = nerve_alloc_floats (B * 9 * H);
    float *xt = nerve_alloc_floats (B * F);
    for (int i = 0; i < 4; i++) {
      p[i] = nerve_alloc_floats (param_size (cell, &s, 0, i));
      nerve_test_fill_f32 (p[i], param_size (cell, &s, 0, i), 40 + i, 0.5f);
    }
    nerve_test_fill_f32 (x, B * T * F, 8, 1);
    nerve_rnn_forward (cell, y, cache, x, NULL, (const float *const *) p, &s);
    for (int t = 0; t < T; t++) {
      for (int b = 0; b < B; b++)
        memcpy (xt + b * F, x + (b * T + t) * F, sizeof (float) * F);
      if (cell == NERVE_RNN_LSTM)
        nerve_lstm_step (h, c, scratch, xt, p[0], p[1], p[2], p[3], B, F, H);
      else
        nerve_gru_step (h, scratch, xt, p[0], p[1], p[2], p[3], B, F, H);
      for (int b = 0; b < B; b++)
        nerve_assert_close ("step kernel", h + b * H, y + (b * T + t) * H, H, 2e-6);
    }
    for (int i = 0; i < 4; i++)
      nerve_free_floats (p[i]);
    float *all[] = { x, y, cache, h, c, scratch, xt };
    for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
      nerve_free_floats (all[i]);
  }
}

/* A batch whose longest sequence is shorter than T stops its time loops there: the
 * same data padded with a garbage tail to T=7 gives exactly the outputs and gradients
 * of T=3, zeros past the end (over a NaN-filled output buffer) and no dx there. */
static void
test_padded_tail_is_free (void)
{
  static const int lengths[] = { 2, 3, 1 };
  const int N = 3, Ts = 3, Tl = 7, F = 4, H = 5;
  for (int cell = 0; cell < 2; cell++)
    for (int v = 0; v < 2; v++) {
      NerveRnnShape ss = { .batch = N, .time = Ts, .in = F, .hidden = H, .layers = 2, .dirs = 2, .seq_out = v == 0 };
      NerveRnnShape sl = ss;
      sl.time = Tl;
      gsize ys = N * nerve_rnn_out_size (&ss), yl = N * nerve_rnn_out_size (&sl), DH = 2 * H;
      double *xs = g_new (double, N * Ts * F), *xl = g_new (double, N * Tl * F);
      double *outs = g_new (double, ys), *outl = g_new (double, yl), *dos = g_new (double, ys), *dol = g_new (double, yl);
      double *dxs = g_new0 (double, N * Ts * F), *dxl = g_new0 (double, N * Tl * F);
      double *cs = g_new0 (double, nerve_rnn_cache_size (cell, &ss)), *cl = g_new0 (double, nerve_rnn_cache_size (cell, &sl));
      double *p[16], *gs[16], *gl[16];
      nerve_test_fill_f64 (xl, N * Tl * F, 3, 1);
      nerve_test_fill_f64 (dol, yl, 4, 1);
      for (int n = 0; n < N; n++) {
        memcpy (xs + n * Ts * F, xl + n * Tl * F, sizeof (double) * Ts * F);
        if (v == 0)
          memcpy (dos + n * Ts * DH, dol + n * Tl * DH, sizeof (double) * Ts * DH);
      }
      if (v == 1)
        memcpy (dos, dol, sizeof (double) * ys);
      for (int i = 0; i < 16; i++) {
        gsize sz = param_size (cell, &ss, i / 8, i % 4);
        p[i] = g_new (double, sz), gs[i] = g_new0 (double, sz), gl[i] = g_new0 (double, sz);
        nerve_test_fill_f64 (p[i], sz, 50 + i, 0.5);
      }
      for (gsize i = 0; i < yl; i++)
        outl[i] = NAN;
      nerve_rnn_forward_f64 (cell, outs, cs, xs, lengths, (const double *const *) p, &ss);
      nerve_rnn_forward_f64 (cell, outl, cl, xl, lengths, (const double *const *) p, &sl);
      nerve_rnn_backward_f64 (cell, dxs, gs, cs, dos, lengths, (const double *const *) p, &ss);
      nerve_rnn_backward_f64 (cell, dxl, gl, cl, dol, lengths, (const double *const *) p, &sl);
      double worst = 0;
      for (int n = 0; n < N; n++) {
        for (int t = 0; t < (v == 0 ? Tl : 1); t++)
          for (gsize k = 0; k < DH; k++) {
            double a = v == 0 ? outl[(n * Tl + t) * DH + k] : outl[n * DH + k];
            double b = v == 0 ? (t < Ts ? outs[(n * Ts + t) * DH + k] : 0) : outs[n * DH + k];
            worst = MAX (worst, isnan (a) ? INFINITY : fabs (a - b));
          }
        for (int t = 0; t < Tl; t++)
          for (int f = 0; f < F; f++)
            worst = MAX (worst, fabs (dxl[(n * Tl + t) * F + f] - (t < Ts ? dxs[(n * Ts + t) * F + f] : 0)));
      }
      for (int i = 0; i < 16; i++)
        for (gsize k = 0; k < param_size (cell, &ss, i / 8, i % 4); k++)
          worst = MAX (worst, fabs (gs[i][k] - gl[i][k]));
      if (worst > 1e-13)
        fprintf (stderr, "  %s %s: padded tail differs by %g\n", cell_names[cell], v ? "last" : "seq", worst);
      CU_ASSERT (worst <= 1e-13);
      for (int i = 0; i < 16; i++)
        g_free (p[i]), g_free (gs[i]), g_free (gl[i]);
      double *all[] = { xs, xl, outs, outl, dos, dol, dxs, dxl, cs, cl };
      for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
        g_free (all[i]);
    }
}

NERVE_TEST_MAIN ("rnn",
                 { "lstm backward vs finite differences", test_lstm_finite_differences },
                 { "gru backward vs finite differences", test_gru_finite_differences },
                 { "optimized forward matches the naive loops", test_forward_matches_reference },
                 { "lstm vs PyTorch (packed sequences)", test_lstm_matches_pytorch },
                 { "gru vs PyTorch (packed sequences)", test_gru_matches_pytorch },
                 { "graph: shapes and parameters", test_graph_shapes_and_params },
                 { "graph: bad configs give clear errors", test_graph_bad_configs },
                 { "graph: runner forward and gradients", test_graph_runner },
                 { "step equals the full forward", test_step_matches_forward },
                 { "step kernel over a batch", test_step_kernel_batch },
                 { "a padded tail changes nothing and costs nothing", test_padded_tail_is_free })

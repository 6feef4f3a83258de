/* conv1d, conv2d and conv_transpose2d: backward vs finite differences (double), the
 * fast kernels vs the naive reference loops, PyTorch fixtures through the model
 * graph, conv1d streaming vs the batch forward, and configuration errors. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "nerve.h"

typedef enum { CONV2D, CONVT2D, CONV1D } Kind;

/* One convolution problem in double precision: sizes, data, and which kernels. */
typedef struct {
  Kind kind;
  NerveConv2dGeom g; /* conv2d, conv_transpose2d */
  NerveConv1dGeom g1;
  int N;
  gboolean bias, ref;
  gsize nx, nw, ny;
  double *x, *w, *b, *y, *r, *work;
} Prob;

static void
prob_sizes (Prob *p)
{
  const NerveConv2dGeom *g = &p->g;
  switch (p->kind) {
  case CONV2D:
    p->nx = (gsize) p->N * g->C * g->H * g->W;
    p->nw = (gsize) g->O * (g->C / g->groups) * g->kh * g->kw;
    p->ny = (gsize) p->N * g->O * g->OH * g->OW;
    break;
  case CONVT2D:
    p->nx = (gsize) p->N * g->C * g->H * g->W;
    p->nw = (gsize) g->C * (g->O / g->groups) * g->kh * g->kw;
    p->ny = (gsize) p->N * g->O * g->OH * g->OW;
    break;
  case CONV1D:
    p->nx = (gsize) p->N * p->g1.T * p->g1.C;
    p->nw = (gsize) p->g1.O * (p->g1.C / p->g1.groups) * p->g1.k;
    p->ny = (gsize) p->N * p->g1.TO * p->g1.O;
    break;
  }
}

static gsize
prob_work (const Prob *p)
{
  switch (p->kind) {
  case CONV2D:
    return nerve_conv2d_work_size (&p->g, p->N);
  case CONVT2D:
    return nerve_conv_transpose2d_work_size (&p->g, p->N);
  default:
    return nerve_conv1d_work_size (&p->g1, p->N);
  }
}

static int
prob_channels_out (const Prob *p)
{
  return p->kind == CONV1D ? p->g1.O : p->g.O;
}

static void
prob_forward (Prob *p)
{
  const double *b = p->bias ? p->b : NULL;
  switch (p->kind) {
  case CONV2D:
    if (p->ref)
      nerve_conv2d_forward_ref_f64 (p->y, p->x, p->w, b, &p->g, p->N);
    else
      nerve_conv2d_forward_f64 (p->y, p->work, p->x, p->w, b, &p->g, p->N);
    break;
  case CONVT2D:
    if (p->ref)
      nerve_conv_transpose2d_forward_ref_f64 (p->y, p->x, p->w, b, &p->g, p->N);
    else
      nerve_conv_transpose2d_forward_f64 (p->y, p->work, p->x, p->w, b, &p->g, p->N);
    break;
  case CONV1D:
    if (p->ref)
      nerve_conv1d_forward_ref_f64 (p->y, p->x, p->w, b, &p->g1, p->N);
    else
      nerve_conv1d_forward_f64 (p->y, p->work, p->x, p->w, b, &p->g1, p->N);
    break;
  }
}

static void
prob_backward (Prob *p, double *dx, double *dw, double *db)
{
  switch (p->kind) {
  case CONV2D:
    if (p->ref)
      nerve_conv2d_backward_ref_f64 (dx, dw, db, p->r, p->x, p->w, &p->g, p->N);
    else
      nerve_conv2d_backward_f64 (dx, dw, db, p->work, p->r, p->x, p->w, &p->g, p->N);
    break;
  case CONVT2D:
    if (p->ref)
      nerve_conv_transpose2d_backward_ref_f64 (dx, dw, db, p->r, p->x, p->w, &p->g, p->N);
    else
      nerve_conv_transpose2d_backward_f64 (dx, dw, db, p->work, p->r, p->x, p->w, &p->g, p->N);
    break;
  case CONV1D:
    if (p->ref)
      nerve_conv1d_backward_ref_f64 (dx, dw, db, p->r, p->x, p->w, &p->g1, p->N);
    else
      nerve_conv1d_backward_f64 (dx, dw, db, p->work, p->r, p->x, p->w, &p->g1, p->N);
    break;
  }
}

static double
prob_loss (gpointer data)
{
  Prob *p = data;
  prob_forward (p);
  return nerve_test_dot_f64 (p->y, p->r, p->ny);
}

static void
close_f64 (const char *what, const double *a, const double *b, gsize n, double tol)
{
  double worst = 0;
  for (gsize i = 0; i < n; i++)
    worst = fmax (worst, fabs (a[i] - b[i]) / fmax (1.0, fabs (b[i])));
  if (worst > tol) {
    fprintf (stderr, "  %s: differs by %.3g > %.3g\n", what, worst, tol);
    CU_FAIL ("double-precision kernels disagree");
  } else {
    CU_PASS ("double-precision kernels agree");
  }
}

/* FD check of the fast kernel's dx, dw, db; then the reference loops must give the
 * same forward and gradients; then a second backward must double the gradients. */
static void
check_prob (Prob *p, const char *name)
{
  prob_sizes (p);
  int O = prob_channels_out (p);
  p->x = g_new (double, p->nx), p->w = g_new (double, p->nw), p->b = g_new (double, O);
  p->y = g_new (double, p->ny), p->r = g_new (double, p->ny);
  p->work = g_new (double, MAX (prob_work (p), 1));
  nerve_test_fill_f64 (p->x, p->nx, 11, 1);
  nerve_test_fill_f64 (p->w, p->nw, 12, 1);
  nerve_test_fill_f64 (p->b, O, 13, 1);
  nerve_test_fill_f64 (p->r, p->ny, 14, 1);
  double *dx = g_new0 (double, p->nx), *dw = g_new0 (double, p->nw), *db = g_new0 (double, O);
  double *rdx = g_new0 (double, p->nx), *rdw = g_new0 (double, p->nw), *rdb = g_new0 (double, O);
  double *y = g_new (double, p->ny);
  p->ref = FALSE;
  prob_loss (p);
  memcpy (y, p->y, sizeof (double) * p->ny);
  prob_backward (p, dx, dw, p->bias ? db : NULL);
  g_autofree char *wx = g_strdup_printf ("%s dx", name), *ww = g_strdup_printf ("%s dw", name);
  g_autofree char *wb = g_strdup_printf ("%s db", name), *wy = g_strdup_printf ("%s y (ref)", name);
  nerve_fd_check (wx, p->x, p->nx, dx, prob_loss, p, 1e-6, 1e-7);
  nerve_fd_check (ww, p->w, p->nw, dw, prob_loss, p, 1e-6, 1e-7);
  if (p->bias)
    nerve_fd_check (wb, p->b, O, db, prob_loss, p, 1e-6, 1e-7);

  p->ref = TRUE;
  prob_loss (p);
  close_f64 (wy, p->y, y, p->ny, 1e-12);
  prob_backward (p, rdx, rdw, p->bias ? rdb : NULL);
  close_f64 (wx, rdx, dx, p->nx, 1e-12);
  close_f64 (ww, rdw, dw, p->nw, 1e-12);
  close_f64 (wb, rdb, db, O, 1e-12);

  p->ref = FALSE; /* accumulation: the fast backward adds onto what is there */
  prob_backward (p, dx, dw, p->bias ? db : NULL);
  for (gsize i = 0; i < p->nx; i++)
    rdx[i] *= 2;
  for (gsize i = 0; i < p->nw; i++)
    rdw[i] *= 2;
  for (int i = 0; i < O; i++)
    rdb[i] *= 2;
  close_f64 (wx, dx, rdx, p->nx, 1e-12);
  close_f64 (ww, dw, rdw, p->nw, 1e-12);
  close_f64 (wb, db, rdb, O, 1e-12);
  double *all[] = { p->x, p->w, p->b, p->y, p->r, p->work, dx, dw, db, rdx, rdw, rdb, y };
  for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
    g_free (all[i]);
}

/* The configurations of tests/gen/conv.py (same names), minus the batch size. */
typedef struct {
  const char *name;
  int C, H, W, O, kh, kw, sh, sw, ph, pw, dh, dw, groups;
  gboolean bias, same;
  int oph, opw; /* conv_transpose2d */
} Cfg2d;

static const Cfg2d conv2d_cfgs[] = {
  { "basic", 3, 5, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, TRUE },
  { "stride2", 3, 7, 5, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, TRUE },
  { "nonsquare", 2, 5, 6, 3, 2, 3, 1, 2, 0, 1, 1, 1, 1, TRUE },
  { "dilation2", 2, 6, 6, 3, 3, 3, 1, 1, 2, 2, 2, 2, 1, TRUE },
  { "groups2", 4, 5, 5, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2, TRUE },
  { "depthwise", 3, 6, 5, 6, 3, 3, 2, 2, 1, 1, 1, 1, 3, TRUE },
  { "onechannel", 1, 6, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, TRUE },
  { "pointwise", 4, 4, 5, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1, FALSE },
  { "same_even", 2, 5, 6, 3, 2, 4, 1, 1, 0, 0, 1, 2, 1, TRUE, TRUE },
  /* 3x3 stride 1 with >= 8 channels: Winograd F(2x2,3x3) (fixtures: conv2d_winograd) */
  { "winograd", 8, 4, 5, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, TRUE },
  { "winograd_odd", 8, 5, 5, 9, 3, 3, 1, 1, 0, 0, 1, 1, 1, TRUE },
  { "winograd_pad2", 9, 3, 4, 8, 3, 3, 1, 1, 2, 2, 1, 1, 1, FALSE },
};

static const Cfg2d convt2d_cfgs[] = {
  { "basic", 3, 4, 5, 2, 3, 3, 1, 1, 0, 0, 1, 1, 1, TRUE, FALSE, 0, 0 },
  { "stride2", 2, 3, 4, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, TRUE, FALSE, 1, 1 },
  { "nonsquare", 2, 4, 3, 3, 2, 3, 2, 1, 0, 1, 1, 1, 1, TRUE, FALSE, 0, 0 },
  { "dilation2", 2, 4, 4, 2, 3, 3, 1, 1, 1, 1, 2, 2, 1, TRUE, FALSE, 0, 0 },
  { "groups2", 4, 3, 3, 6, 3, 3, 2, 2, 0, 0, 1, 1, 2, TRUE, FALSE, 0, 0 },
  { "depthwise", 3, 4, 3, 3, 3, 3, 2, 2, 1, 1, 1, 1, 3, TRUE, FALSE, 0, 1 },
  { "pointwise", 4, 3, 4, 2, 1, 1, 1, 1, 0, 0, 1, 1, 1, FALSE, FALSE, 0, 0 },
  { "winograd", 8, 4, 4, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, TRUE, FALSE, 0, 0 },
};

static NerveConv2dGeom
geom2d (const Cfg2d *c, Kind kind)
{
  if (kind == CONVT2D)
    return nerve_conv_transpose2d_geom (c->C, c->H, c->W, c->O, c->kh, c->kw, c->sh, c->sw, c->ph, c->pw,
                                        c->oph, c->opw, c->dh, c->dw, c->groups);
  NerveConv2dGeom g = nerve_conv2d_geom (c->C, c->H, c->W, c->O, c->kh, c->kw, c->sh, c->sw, c->ph,
                                         c->pw, c->dh, c->dw, c->groups);
  if (c->same) { /* as the layer class resolves "same" */
    g.ph = c->dh * (c->kh - 1) / 2, g.pw = c->dw * (c->kw - 1) / 2;
    g.OH = c->H, g.OW = c->W;
  }
  return g;
}

typedef struct {
  const char *name;
  int C, T, O, k, stride, pad, dilation, groups;
  gboolean bias;
  int mode; /* 0 numbers, 1 causal, 2 same */
} Cfg1d;

static const Cfg1d conv1d_cfgs[] = {
  { "basic", 3, 8, 4, 3, 1, 1, 1, 1, TRUE },
  { "stride2", 3, 9, 4, 3, 2, 1, 1, 1, TRUE },
  { "dilation2", 2, 10, 3, 3, 1, 2, 2, 1, TRUE },
  { "groups2", 4, 7, 6, 3, 1, 1, 1, 2, TRUE },
  { "depthwise", 4, 7, 4, 3, 1, 1, 1, 4, TRUE },
  { "pointwise", 4, 5, 3, 1, 1, 0, 1, 1, FALSE },
  { "causal", 3, 8, 4, 3, 1, 0, 2, 1, TRUE, 1 },
  { "same_even", 3, 7, 2, 4, 1, 0, 1, 1, TRUE, 2 },
};

static NerveConv1dGeom
geom1d (const Cfg1d *c)
{
  int span = c->dilation * (c->k - 1);
  int left = c->mode == 1 ? span : c->mode == 2 ? span / 2 : c->pad;
  int right = c->mode == 1 ? 0 : c->mode == 2 ? span - span / 2 : c->pad;
  int TO = (c->T + left + right - span - 1) / c->stride + 1;
  return (NerveConv1dGeom) { c->C, c->T, c->O, TO, c->k, c->stride, left, c->dilation, c->groups };
}

static void
test_conv2d_finite_differences (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (conv2d_cfgs); i++)
    for (int N = 1; N <= 3; N += 2) { /* N=1: GEMM straight into y; N=3: batched GEMM */
      Prob p = { .kind = CONV2D, .g = geom2d (&conv2d_cfgs[i], CONV2D), .N = N, .bias = conv2d_cfgs[i].bias };
      g_autofree char *name = g_strdup_printf ("conv2d %s N=%d", conv2d_cfgs[i].name, N);
      check_prob (&p, name);
    }
}

static void
test_convt2d_finite_differences (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (convt2d_cfgs); i++)
    for (int N = 1; N <= 3; N += 2) {
      Prob p = { .kind = CONVT2D, .g = geom2d (&convt2d_cfgs[i], CONVT2D), .N = N, .bias = convt2d_cfgs[i].bias };
      g_autofree char *name = g_strdup_printf ("conv_transpose2d %s N=%d", convt2d_cfgs[i].name, N);
      check_prob (&p, name);
    }
}

static void
test_conv1d_finite_differences (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (conv1d_cfgs); i++) {
    Prob p = { .kind = CONV1D, .g1 = geom1d (&conv1d_cfgs[i]), .N = 3, .bias = conv1d_cfgs[i].bias };
    g_autofree char *name = g_strdup_printf ("conv1d %s", conv1d_cfgs[i].name);
    check_prob (&p, name);
  }
}

/* Bigger float problems: fast kernels vs the naive loops, including chunked batches
 * with a remainder (20x20 maps: 3 samples per GEMM, N=4) and maps too big to batch. */
static void
compare_float (Kind kind, NerveConv2dGeom g, NerveConv1dGeom g1, int N, const char *name)
{
  Prob p = { .kind = kind, .g = g, .g1 = g1, .N = N };
  prob_sizes (&p);
  int O = prob_channels_out (&p);
  gsize nwork = MAX (prob_work (&p), 1);
  float *x = nerve_alloc_floats (p.nx), *w = nerve_alloc_floats (p.nw), *b = nerve_alloc_floats (O);
  float *dy = nerve_alloc_floats (p.ny), *work = nerve_alloc_floats (nwork);
  float *y[2], *dx[2], *dw[2], *db[2];
  for (int k = 0; k < 2; k++) {
    y[k] = nerve_alloc_floats (p.ny), dx[k] = nerve_alloc_floats (p.nx);
    dw[k] = nerve_alloc_floats (p.nw), db[k] = nerve_alloc_floats (O);
  }
  nerve_test_fill_f32 (x, p.nx, 21, 1);
  nerve_test_fill_f32 (w, p.nw, 22, 0.3f);
  nerve_test_fill_f32 (b, O, 23, 1);
  nerve_test_fill_f32 (dy, p.ny, 24, 1);
  switch (kind) {
  case CONV2D:
    nerve_conv2d_forward (y[0], work, x, w, b, &g, N);
    nerve_conv2d_backward (dx[0], dw[0], db[0], work, dy, x, w, &g, N);
    nerve_conv2d_forward_ref (y[1], x, w, b, &g, N);
    nerve_conv2d_backward_ref (dx[1], dw[1], db[1], dy, x, w, &g, N);
    break;
  case CONVT2D:
    nerve_conv_transpose2d_forward (y[0], work, x, w, b, &g, N);
    nerve_conv_transpose2d_backward (dx[0], dw[0], db[0], work, dy, x, w, &g, N);
    nerve_conv_transpose2d_forward_ref (y[1], x, w, b, &g, N);
    nerve_conv_transpose2d_backward_ref (dx[1], dw[1], db[1], dy, x, w, &g, N);
    break;
  case CONV1D:
    nerve_conv1d_forward (y[0], work, x, w, b, &g1, N);
    nerve_conv1d_backward (dx[0], dw[0], db[0], work, dy, x, w, &g1, N);
    nerve_conv1d_forward_ref (y[1], x, w, b, &g1, N);
    nerve_conv1d_backward_ref (dx[1], dw[1], db[1], dy, x, w, &g1, N);
    break;
  }
  fprintf (stderr, "  %s:", name);
  /* dw sums over N*OH*OW products: allow for float rounding growing with it */
  double tw = 1e-6 * sqrt ((double) p.ny / O) * 4;
  nerve_assert_close ("y", y[0], y[1], p.ny, 2e-5);
  nerve_assert_close ("dx", dx[0], dx[1], p.nx, 2e-5);
  nerve_assert_close ("dw", dw[0], dw[1], p.nw, MAX (tw, 2e-5));
  nerve_assert_close ("db", db[0], db[1], O, MAX (tw, 2e-5));
  fprintf (stderr, " ok\n");
  float *all[] = { x, w, b, dy, work, y[0], y[1], dx[0], dx[1], dw[0], dw[1], db[0], db[1] };
  for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
    nerve_free_floats (all[i]);
}

static void
test_fast_matches_reference (void)
{
  NerveConv1dGeom none = { 0 };
  NerveConv2dGeom g0 = { 0 };
  fprintf (stderr, "\n");
  compare_float (CONV2D, nerve_conv2d_geom (16, 20, 20, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1), none, 4, "conv2d 3x3 20x20 chunked");
  compare_float (CONV2D, nerve_conv2d_geom (24, 7, 7, 40, 3, 3, 1, 1, 0, 0, 1, 1, 1), none, 5, "conv2d winograd 7x7 odd, no padding");
  compare_float (CONV2D, nerve_conv2d_geom (8, 33, 35, 12, 5, 3, 2, 1, 2, 0, 1, 2, 1), none, 2, "conv2d 5x3 stride/dilation");
  compare_float (CONV2D, nerve_conv2d_geom (8, 40, 36, 8, 3, 3, 1, 1, 1, 1, 1, 1, 4), none, 2, "conv2d groups 4 unbatched");
  compare_float (CONV2D, nerve_conv2d_geom (24, 17, 19, 48, 3, 3, 1, 1, 1, 1, 1, 1, 24), none, 3, "conv2d depthwise x2");
  compare_float (CONV2D, nerve_conv2d_geom (12, 13, 11, 24, 5, 5, 2, 2, 2, 2, 1, 1, 12), none, 3, "conv2d depthwise stride 2");
  compare_float (CONV2D, nerve_conv2d_geom (1, 28, 28, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1), none, 3, "conv2d one input channel");
  compare_float (CONV2D, nerve_conv2d_geom (16, 32, 32, 24, 1, 1, 1, 1, 0, 0, 1, 1, 1), none, 2, "conv2d 1x1 unbatched");
  compare_float (CONV2D, nerve_conv2d_geom (16, 9, 9, 24, 1, 1, 1, 1, 0, 0, 1, 1, 1), none, 5, "conv2d 1x1 batched");
  compare_float (CONVT2D, nerve_conv_transpose2d_geom (16, 9, 10, 8, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1), none, 3, "conv_transpose2d 4x4 stride 2");
  compare_float (CONVT2D, nerve_conv_transpose2d_geom (8, 12, 12, 12, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 4), none, 2, "conv_transpose2d groups 4");
  compare_float (CONVT2D, nerve_conv_transpose2d_geom (16, 9, 11, 12, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1), none, 3, "conv_transpose2d 3x3 (winograd)");
  compare_float (CONVT2D, nerve_conv_transpose2d_geom (6, 12, 12, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 6), none, 2, "conv_transpose2d depthwise");
  compare_float (CONV1D, g0, (NerveConv1dGeom) { 24, 50, 32, 50, 3, 1, 1, 1, 1 }, 4, "conv1d k3");
  compare_float (CONV1D, g0, (NerveConv1dGeom) { 16, 301, 8, 150, 5, 2, 2, 2, 2 }, 3, "conv1d stride/dilation/groups");
  compare_float (CONV1D, g0, (NerveConv1dGeom) { 64, 200, 8, 200, 9, 1, 4, 1, 2 }, 3, "conv1d k9 groups 2, chunked");
  compare_float (CONV1D, g0, (NerveConv1dGeom) { 16, 40, 12, 40, 1, 1, 0, 1, 4 }, 3, "conv1d 1x1 groups");
}

/* ---- PyTorch fixtures through the model graph ---- */

static void
copy_param (NerveModel *m, const char *name, const float *src, gsize n)
{
  NerveParam *p = nerve_model_find_param (m, name);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  CU_ASSERT_EQUAL_FATAL (nerve_shape_numel (&p->shape), n);
  memcpy (p->data, src, n * sizeof (float));
}

static void
expect_grad (NerveModel *m, const char *param, const float *ref, gsize n, const char *what)
{
  NerveParam *p = nerve_model_find_param (m, param);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  nerve_assert_close (what, p->grad, ref, n, 1e-5);
}

/* Builds the one-layer model in `arch`, loads the case's w/b, runs forward and
 * backward at the case's batch size and compares y, dx, dw, db. */
static void
run_fixture_case (NerveFixture *f, const char *c, const char *arch, gboolean bias)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveModel) m = nerve_model_new (arch, &err);
  if (!m)
    fprintf (stderr, "  %s: %s\n", c, err->message);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  int N = nerve_fixture_int (f, c, "N", 0);
  g_autoptr (NerveRunner) r = nerve_runner_new (m, N, NERVE_RUNNER_GRADS | NERVE_RUNNER_INPUT_GRAD, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r);
  gsize nx, nw, ny, nb = 0;
  float *x = nerve_fixture_tensor (f, c, "x", &nx), *w = nerve_fixture_tensor (f, c, "w", &nw);
  float *y = nerve_fixture_tensor (f, c, "y", &ny), *dy = nerve_fixture_tensor (f, c, "dy", NULL);
  float *dx = nerve_fixture_tensor (f, c, "dx", NULL), *dw = nerve_fixture_tensor (f, c, "dw", NULL);
  float *b = bias ? nerve_fixture_tensor (f, c, "b", &nb) : NULL;
  float *db = bias ? nerve_fixture_tensor (f, c, "db", NULL) : NULL;
  CU_ASSERT_EQUAL_FATAL (nerve_shape_numel (nerve_model_output_shape (m)) * N, ny);
  copy_param (m, "c.weight", w, nw);
  if (bias)
    copy_param (m, "c.bias", b, nb);
  CU_ASSERT_EQUAL (m->n_layers == 1 && m->layers[0]->n_params == (bias ? 2 : 1), TRUE);
  g_autofree char *wy = g_strdup_printf ("%s y", c), *wx = g_strdup_printf ("%s dx", c);
  g_autofree char *ww = g_strdup_printf ("%s dw", c), *wb = g_strdup_printf ("%s db", c);
  nerve_assert_close (wy, nerve_runner_forward (r, x, N, FALSE, NULL), y, ny, 1e-5);
  nerve_model_zero_grads (m);
  nerve_assert_close (wx, nerve_runner_backward (r, dy), dx, nx, 1e-5);
  expect_grad (m, "c.weight", dw, nw, ww);
  if (bias)
    expect_grad (m, "c.bias", db, nb, wb);
  float *all[] = { x, w, y, dy, dx, dw, b, db };
  for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
    nerve_free_floats (all[i]);
}

#define FI(key) nerve_fixture_int (f, c, key, 0)

static int
conv2d_fixture_file (const char *file)
{
  NerveFixture *f = nerve_fixture_load (file);
  if (!f)
    return 0;
  int n = 0;
  for (const char *const *cs = nerve_fixture_cases (f); *cs; cs++, n++) {
    const char *c = *cs;
    g_autofree char *pad = nerve_fixture_int (f, c, "same", 0) ? g_strdup ("\"same\"")
                                                               : g_strdup_printf ("[%d,%d]", FI ("ph"), FI ("pw"));
    g_autofree char *arch = g_strdup_printf (
      "{\"input\":[%d,%d,%d],\"layers\":[{\"type\":\"conv2d\",\"name\":\"c\",\"filters\":%d,"
      "\"kernel\":[%d,%d],\"stride\":[%d,%d],\"padding\":%s,\"dilation\":[%d,%d],\"groups\":%d,"
      "\"bias\":%s}]}",
      FI ("C"), FI ("H"), FI ("W"), FI ("O"), FI ("kh"), FI ("kw"), FI ("sh"), FI ("sw"), pad, FI ("dh"),
      FI ("dw"), FI ("groups"), FI ("bias") ? "true" : "false");
    run_fixture_case (f, c, arch, FI ("bias"));
  }
  nerve_fixture_free (f);
  return n;
}

static void
test_conv2d_matches_pytorch (void)
{
  int n = conv2d_fixture_file ("conv2d") + conv2d_fixture_file ("conv2d_winograd");
  CU_ASSERT_EQUAL (n, (int) G_N_ELEMENTS (conv2d_cfgs));
}

static void
test_convt2d_matches_pytorch (void)
{
  NerveFixture *f = nerve_fixture_load ("conv_transpose2d");
  if (!f)
    return;
  int n = 0;
  for (const char *const *cs = nerve_fixture_cases (f); *cs; cs++, n++) {
    const char *c = *cs;
    g_autofree char *arch = g_strdup_printf (
      "{\"input\":[%d,%d,%d],\"layers\":[{\"type\":\"conv_transpose2d\",\"name\":\"c\",\"filters\":%d,"
      "\"kernel\":[%d,%d],\"stride\":[%d,%d],\"padding\":[%d,%d],\"output_padding\":[%d,%d],"
      "\"dilation\":[%d,%d],\"groups\":%d,\"bias\":%s}]}",
      FI ("C"), FI ("H"), FI ("W"), FI ("O"), FI ("kh"), FI ("kw"), FI ("sh"), FI ("sw"), FI ("ph"),
      FI ("pw"), FI ("oph"), FI ("opw"), FI ("dh"), FI ("dw"), FI ("groups"), FI ("bias") ? "true" : "false");
    run_fixture_case (f, c, arch, FI ("bias"));
  }
  CU_ASSERT_EQUAL (n, (int) G_N_ELEMENTS (convt2d_cfgs));
  nerve_fixture_free (f);
}

static void
test_conv1d_matches_pytorch (void)
{
  NerveFixture *f = nerve_fixture_load ("conv1d");
  if (!f)
    return;
  int n = 0;
  for (const char *const *cs = nerve_fixture_cases (f); *cs; cs++, n++) {
    const char *c = *cs;
    g_autofree char *pad = FI ("causal") ? g_strdup ("\"causal\"")
                           : FI ("same") ? g_strdup ("\"same\"")
                                         : g_strdup_printf ("%d", FI ("pad"));
    g_autofree char *arch = g_strdup_printf (
      "{\"input\":[%d,%d],\"layers\":[{\"type\":\"conv1d\",\"name\":\"c\",\"filters\":%d,\"kernel\":%d,"
      "\"stride\":%d,\"padding\":%s,\"dilation\":%d,\"groups\":%d,\"bias\":%s}]}",
      FI ("T"), FI ("C"), FI ("O"), FI ("k"), FI ("stride"), pad, FI ("dilation"), FI ("groups"),
      FI ("bias") ? "true" : "false");
    run_fixture_case (f, c, arch, FI ("bias"));
  }
  CU_ASSERT_EQUAL (n, (int) G_N_ELEMENTS (conv1d_cfgs));
  nerve_fixture_free (f);
}

/* ---- streaming ---- */

static void
test_conv1d_step_matches_forward (void)
{
  /* kernel level, in float: dilation 2, groups 2, k 3 */
  NerveConv1dGeom g = { 4, 12, 6, 12, 3, 1, 4, 2, 2 };
  const int L = nerve_conv1d_state_frames (&g);
  CU_ASSERT_EQUAL (L, 4);
  float *x = nerve_alloc_floats (12 * 4), *w = nerve_alloc_floats (6 * 2 * 3), *b = nerve_alloc_floats (6);
  float *y = nerve_alloc_floats (12 * 6), *ys = nerve_alloc_floats (12 * 6);
  float *work = nerve_alloc_floats (nerve_conv1d_work_size (&g, 1)), *state = nerve_alloc_floats (L * 4);
  nerve_test_fill_f32 (x, 48, 31, 1);
  nerve_test_fill_f32 (w, 36, 32, 1);
  nerve_test_fill_f32 (b, 6, 33, 1);
  nerve_conv1d_forward (y, work, x, w, b, &g, 1);
  for (int t = 0; t < 12; t++)
    nerve_conv1d_step (ys + t * 6, state, x + t * 4, w, b, &g);
  nerve_assert_close ("conv1d step vs forward", ys, y, 72, 1e-6);
  float *all[] = { x, w, b, y, ys, work, state };
  for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
    nerve_free_floats (all[i]);

  /* class level: the layer's step() with state_size() floats of zeroed state */
  const char *arch = "{\"input\":[9,5],\"layers\":[{\"type\":\"conv1d\",\"name\":\"c\",\"filters\":3,"
                     "\"kernel\":4,\"padding\":\"causal\",\"dilation\":3}]}";
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveModel) m = nerve_model_new (arch, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  nerve_model_init_params (m, 7);
  g_autoptr (NerveRunner) r = nerve_runner_new (m, 1, 0, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r);
  float in[45], out[27];
  nerve_test_fill_f32 (in, 45, 34, 1);
  const float *yb = nerve_runner_forward (r, in, 1, FALSE, NULL);
  NerveLayer *l = m->layers[0];
  gsize ns = l->klass->state_size (l);
  CU_ASSERT_EQUAL (ns, (gsize) 3 * 3 * 5);
  float *st = nerve_alloc_floats (ns);
  for (int t = 0; t < 9; t++)
    l->klass->step (l, in + t * 5, out + t * 3, st);
  nerve_assert_close ("conv1d layer step vs forward", out, yb, 27, 1e-6);
  nerve_free_floats (st);

  /* a non-causal conv1d cannot stream: it says so with no state */
  g_autoptr (NerveModel) m2 = nerve_model_new (
    "{\"input\":[9,5],\"layers\":[{\"type\":\"conv1d\",\"filters\":3,\"kernel\":3,\"padding\":1}]}", &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m2);
  CU_ASSERT_EQUAL (m2->layers[0]->klass->state_size (m2->layers[0]), 0);
}

/* ---- the graph ---- */

static void
test_graph_shapes (void)
{
  g_autoptr (GError) err = NULL;
  const char *cnn = "{\"input\":[1,28,28],\"layers\":["
                    "{\"type\":\"conv2d\",\"name\":\"c1\",\"filters\":8,\"kernel\":3,\"padding\":1},"
                    "{\"type\":\"relu\"},"
                    "{\"type\":\"conv2d\",\"name\":\"c2\",\"filters\":16,\"kernel\":[3,5],\"stride\":2},"
                    "{\"type\":\"conv2d\",\"name\":\"dw\",\"filters\":16,\"kernel\":3,\"groups\":16,\"padding\":\"same\"},"
                    "{\"type\":\"conv_transpose2d\",\"name\":\"up\",\"filters\":4,\"kernel\":4,\"stride\":2,"
                    "\"padding\":1,\"bias\":false}]}";
  g_autoptr (NerveModel) m = nerve_model_new (cnn, &err);
  if (!m)
    fprintf (stderr, "  %s\n", err->message);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  const NerveShape *s = &m->layers[2]->out_shape; /* (28-3)/2+1 = 13, (28-5)/2+1 = 12 */
  CU_ASSERT (s->ndim == 3 && s->dim[0] == 16 && s->dim[1] == 13 && s->dim[2] == 12);
  s = nerve_model_output_shape (m); /* (13-1)*2-2+3+1 = 26, (12-1)*2-2+3+1 = 24 */
  CU_ASSERT (s->ndim == 3 && s->dim[0] == 4 && s->dim[1] == 26 && s->dim[2] == 24);
  CU_ASSERT_EQUAL (nerve_model_n_trainable (m),
                   8 * 9 + 8 + 16 * 8 * 15 + 16 + 16 * 9 + 16 + 16 * 4 * 16);
  NerveParam *w = nerve_model_find_param (m, "up.weight");
  CU_ASSERT (w && w->shape.ndim == 4 && w->shape.dim[0] == 16 && w->shape.dim[1] == 4);
  CU_ASSERT_PTR_NULL (nerve_model_find_param (m, "up.bias"));
  /* PyTorch's init bound 1/sqrt(fan_in) */
  CU_ASSERT_DOUBLE_EQUAL (nerve_model_find_param (m, "c2.weight")->scale, 1 / sqrt (8 * 15), 1e-6);
  /* it runs, and a training step is finite */
  g_autoptr (NerveRunner) r = nerve_runner_new (m, 2, NERVE_RUNNER_GRADS, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r);
  nerve_model_init_params (m, 3);
  float *x = nerve_alloc_floats (2 * 28 * 28), *dy = nerve_alloc_floats (2 * 4 * 26 * 24);
  nerve_test_fill_f32 (x, 2 * 28 * 28, 5, 1);
  nerve_test_fill_f32 (dy, 2 * 4 * 26 * 24, 6, 1);
  const float *y = nerve_runner_forward (r, x, 2, FALSE, NULL);
  CU_ASSERT (y != NULL && isfinite (y[0]) && y[0] != 0);
  nerve_model_zero_grads (m);
  nerve_runner_backward (r, dy);
  CU_ASSERT (nerve_model_find_param (m, "c1.weight")->grad[0] != 0);

  /* conv1d composes with dense over the last (channel) dimension */
  g_autoptr (NerveModel) m1 = nerve_model_new (
    "{\"input\":[50,13],\"layers\":[{\"type\":\"conv1d\",\"filters\":32,\"kernel\":5,\"stride\":2,"
    "\"padding\":\"same\"}]}", &err);
  CU_ASSERT_PTR_NULL (m1); /* 'same' needs stride 1 */
  g_clear_error (&err);
  g_autoptr (NerveModel) m2 = nerve_model_new (
    "{\"input\":[50,13],\"layers\":[{\"type\":\"conv1d\",\"filters\":32,\"kernel\":5,\"stride\":2,"
    "\"padding\":2},{\"type\":\"dense\",\"units\":7}]}", &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m2);
  s = nerve_model_output_shape (m2);
  CU_ASSERT (s->ndim == 2 && s->dim[0] == 25 && s->dim[1] == 7);
  nerve_free_floats (x);
  nerve_free_floats (dy);
}

#define IMG "{\"input\":[6,8,8],\"layers\":["
#define SEQ "{\"input\":[10,6],\"layers\":["
static void
test_bad_configs (void)
{
  nerve_test_model_error (IMG "{\"type\":\"conv2d\",\"filters\":4,\"kernel\":11}]}", "larger than the padded input 8x8", NULL);
  nerve_test_model_error (IMG "{\"type\":\"conv2d\",\"filters\":4,\"kernel\":5,\"dilation\":2}]}", "larger than the padded input", NULL);
  nerve_test_model_error (IMG "{\"type\":\"conv2d\",\"filters\":4,\"kernel\":3,\"groups\":4}]}", "divisible by groups (4)", NULL);
  nerve_test_model_error (IMG "{\"type\":\"conv2d\",\"filters\":8,\"kernel\":3,\"groups\":3}]}", "filters (8)", NULL);
  nerve_test_model_error (IMG "{\"type\":\"conv2d\",\"kernel\":3}]}", "'filters' is required", NULL);
  nerve_test_model_error (IMG "{\"type\":\"conv2d\",\"filters\":4}]}", "'kernel' is required", NULL);
  nerve_test_model_error (IMG "{\"type\":\"conv2d\",\"filters\":4,\"kernel\":3,\"stride\":2,\"padding\":\"same\"}]}",
                "'same' needs stride 1", NULL);
  nerve_test_model_error (IMG "{\"type\":\"conv2d\",\"filters\":4,\"kernel\":3,\"padding\":\"full\"}]}", "same, valid", NULL);
  nerve_test_model_error (IMG "{\"type\":\"conv2d\",\"filters\":4,\"kernel\":[3,3,3]}]}", "list of two integers", NULL);
  nerve_test_model_error (IMG "{\"type\":\"conv2d\",\"filters\":4,\"kernel\":3,\"strides\":2}]}", "unknown key 'strides'", NULL);
  nerve_test_model_error (SEQ "{\"type\":\"conv2d\",\"filters\":4,\"kernel\":3}]}", "[channels, height, width]", NULL);
  nerve_test_model_error (IMG "{\"type\":\"conv_transpose2d\",\"filters\":4,\"kernel\":3,\"stride\":2,"
                    "\"output_padding\":2}]}", "output_padding (2) must be smaller", NULL);
  nerve_test_model_error (IMG "{\"type\":\"conv_transpose2d\",\"filters\":4,\"kernel\":3,\"groups\":4}]}", "divisible by groups", NULL);
  nerve_test_model_error (IMG "{\"type\":\"conv_transpose2d\",\"filters\":4,\"kernel\":1,\"padding\":4}]}", "too large", NULL);
  nerve_test_model_error (SEQ "{\"type\":\"conv1d\",\"filters\":4,\"kernel\":12}]}", "larger than the padded input of 10 frames", NULL);
  nerve_test_model_error (SEQ "{\"type\":\"conv1d\",\"filters\":4,\"kernel\":3,\"groups\":4}]}", "divisible by groups", NULL);
  nerve_test_model_error (SEQ "{\"type\":\"conv1d\",\"filters\":4,\"kernel\":3,\"padding\":[1,1]}]}", "must be an integer", NULL);
  nerve_test_model_error (SEQ "{\"type\":\"conv1d\",\"filters\":4,\"kernel\":3,\"padding\":\"left\"}]}", "same, causal, valid", NULL);
  nerve_test_model_error (IMG "{\"type\":\"conv1d\",\"filters\":4,\"kernel\":3}]}", "[time, channels]", NULL);
}

NERVE_TEST_MAIN ("conv",
                 { "conv2d backward vs finite differences", test_conv2d_finite_differences },
                 { "conv_transpose2d backward vs finite differences", test_convt2d_finite_differences },
                 { "conv1d backward vs finite differences", test_conv1d_finite_differences },
                 { "fast kernels vs naive reference loops", test_fast_matches_reference },
                 { "conv2d vs PyTorch", test_conv2d_matches_pytorch },
                 { "conv_transpose2d vs PyTorch", test_convt2d_matches_pytorch },
                 { "conv1d vs PyTorch", test_conv1d_matches_pytorch },
                 { "conv1d streaming step vs batch forward", test_conv1d_step_matches_forward },
                 { "graph shapes and training step", test_graph_shapes },
                 { "configuration errors", test_bad_configs })

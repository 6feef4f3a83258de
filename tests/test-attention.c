/* Embedding, scaled dot-product, multi-head and additive attention: backward against
 * finite differences in double precision, forward and backward against PyTorch
 * fixtures (tests/gen/attention.py), hostile token ids, and the classes in a graph. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "nerve.h"

#define H_FD 1e-6
#define TOL_FD 1e-7

static double *
rnd (gsize n, guint64 seed, double scale)
{
  double *x = g_new (double, n);
  nerve_test_fill_f64 (x, n, seed, scale);
  return x;
}

/* ---------------- embedding ---------------- */

typedef struct {
  int N, vocab, dim, pad;
  double *ids, *w, *y, *r;
} EmbCase;

static double
emb_loss (gpointer p)
{
  EmbCase *c = p;
  nerve_embedding_forward_f64 (c->y, c->ids, c->w, c->N, c->vocab, c->dim, c->pad);
  return nerve_test_dot_f64 (c->y, c->r, (gsize) c->N * c->dim);
}

static void
test_embedding_finite_differences (void)
{
  /* valid ids with repeats, the padding id 2, and hostile ids */
  double ids[] = { 0, 3, 3, 2, 4, -1, 5, 1e30, NAN, INFINITY, -INFINITY, 2.5, 1, -0.0 };
  EmbCase c = { .N = G_N_ELEMENTS (ids), .vocab = 5, .dim = 3, .pad = 2, .ids = ids };
  gsize nw = (gsize) c.vocab * c.dim, ny = (gsize) c.N * c.dim;
  c.w = rnd (nw, 1, 1), c.r = rnd (ny, 2, 1);
  c.y = g_new (double, ny);
  for (gsize i = 0; i < ny; i++)
    c.y[i] = 99; /* forward must overwrite every output, hostile rows too */
  double *dw = g_new0 (double, nw);
  emb_loss (&c);
  nerve_embedding_backward_f64 (dw, c.r, c.ids, c.N, c.vocab, c.dim, c.pad);
  nerve_fd_check ("embedding dw", c.w, nw, dw, emb_loss, &c, H_FD, TOL_FD);
  for (int n = 0; n < c.N; n++) {
    gboolean zero = n == 3 || (n >= 5 && n <= 11);
    for (int k = 0; k < c.dim; k++)
      if (zero)
        CU_ASSERT_EQUAL (c.y[n * c.dim + k], 0.0)
      else
        CU_ASSERT_EQUAL (c.y[n * c.dim + k], c.w[(int) ids[n] * c.dim + k]);
  }
  for (int k = 0; k < c.dim; k++) /* padding row: no gradient; row 3 got two */
    CU_ASSERT_EQUAL (dw[2 * c.dim + k], 0.0);
  CU_ASSERT_DOUBLE_EQUAL (dw[3 * c.dim], c.r[1 * c.dim] + c.r[2 * c.dim], 1e-12);
  g_free (c.w), g_free (c.r), g_free (c.y), g_free (dw);
}

static void
test_embedding_matches_pytorch (void)
{
  NerveFixture *f = nerve_fixture_load ("attention");
  if (!f)
    return;
  const char *c = "embedding";
  int V = nerve_fixture_int (f, c, "vocab", 0), D = nerve_fixture_int (f, c, "dim", 0);
  int N = nerve_fixture_int (f, c, "B", 0) * nerve_fixture_int (f, c, "T", 0);
  int pad = nerve_fixture_int (f, c, "padding_idx", -1);
  float *ids = nerve_fixture_tensor (f, c, "ids", NULL), *w = nerve_fixture_tensor (f, c, "weight", NULL);
  float *y = nerve_fixture_tensor (f, c, "y", NULL), *dy = nerve_fixture_tensor (f, c, "dy", NULL);
  float *dw = nerve_fixture_tensor (f, c, "dweight", NULL);
  float *oy = nerve_alloc_floats ((gsize) N * D), *odw = nerve_alloc_floats ((gsize) V * D);
  nerve_embedding_forward (oy, ids, w, N, V, D, pad);
  nerve_embedding_backward (odw, dy, ids, N, V, D, pad);
  nerve_assert_close ("embedding y", oy, y, (gsize) N * D, 1e-6);
  nerve_assert_close ("embedding dweight", odw, dw, (gsize) V * D, 1e-5);
  float *all[] = { ids, w, y, dy, dw, oy, odw };
  for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
    nerve_free_floats (all[i]);
  nerve_fixture_free (f);
}

/* ---------------- scaled dot-product attention ---------------- */

/* Heads are column slices of wider rows in the layers, so the FD test uses strides. */
typedef struct {
  int Tq, Tk, d, dv, ldq, ldk, ldv, ldo, valid;
  gboolean causal;
  double *q, *k, *v, *o, *att, *r;
} SdpaCase;

static double
sdpa_loss (gpointer p)
{
  SdpaCase *c = p;
  nerve_sdpa_forward_f64 (c->o, c->att, c->q, c->k, c->v, c->Tq, c->Tk, c->d, c->dv, c->ldq, c->ldk,
                          c->ldv, c->ldo, c->valid, c->causal);
  double s = 0;
  for (int i = 0; i < c->Tq; i++)
    for (int j = 0; j < c->dv; j++)
      s += c->o[i * c->ldo + j] * c->r[i * c->ldo + j];
  return s;
}

static void
test_sdpa_finite_differences (void)
{
  const struct { int Tq, Tk, valid; gboolean causal; } cfg[] = {
    { 4, 5, 5, FALSE }, { 5, 5, 5, TRUE }, { 4, 6, 3, FALSE }, { 5, 5, 3, TRUE }, { 3, 4, 0, FALSE },
  };
  for (gsize t = 0; t < G_N_ELEMENTS (cfg); t++) {
    SdpaCase c = { .Tq = cfg[t].Tq, .Tk = cfg[t].Tk, .d = 3, .dv = 2, .ldq = 5, .ldk = 4, .ldv = 3,
                   .ldo = 4, .valid = cfg[t].valid, .causal = cfg[t].causal };
    gsize nq = (gsize) c.Tq * c.ldq, nk = (gsize) c.Tk * c.ldk, nv = (gsize) c.Tk * c.ldv, no = (gsize) c.Tq * c.ldo;
    c.q = rnd (nq, 10 + t, 1.5), c.k = rnd (nk, 20 + t, 1.5), c.v = rnd (nv, 30 + t, 1);
    c.r = rnd (no, 40 + t, 1), c.o = g_new0 (double, no), c.att = g_new (double, (gsize) c.Tq * c.Tk);
    double *dq = g_new0 (double, nq), *dk = g_new0 (double, nk), *dv = g_new0 (double, nv);
    double *scratch = g_new (double, (gsize) c.Tq * c.Tk);
    sdpa_loss (&c);
    /* masked weights are exactly zero; rows sum to one */
    for (int i = 0; i < c.Tq; i++) {
      double sum = 0;
      for (int j = 0; j < c.Tk; j++) {
        double a = c.att[i * c.Tk + j];
        if (j >= c.valid || (c.causal && j > i))
          CU_ASSERT_EQUAL (a, 0.0);
        sum += a;
      }
      CU_ASSERT_DOUBLE_EQUAL (sum, c.valid > 0 ? 1.0 : 0.0, 1e-12);
    }
    nerve_sdpa_backward_f64 (dq, dk, dv, scratch, c.r, c.att, c.q, c.k, c.v, c.Tq, c.Tk, c.d, c.dv, c.ldq,
                             c.ldk, c.ldv, c.ldo, c.valid, c.causal);
    nerve_fd_check ("sdpa dq", c.q, nq, dq, sdpa_loss, &c, H_FD, TOL_FD);
    nerve_fd_check ("sdpa dk", c.k, nk, dk, sdpa_loss, &c, H_FD, TOL_FD);
    nerve_fd_check ("sdpa dv", c.v, nv, dv, sdpa_loss, &c, H_FD, TOL_FD);
    /* backward accumulates */
    double first = dk[1];
    nerve_sdpa_backward_f64 (dq, dk, dv, scratch, c.r, c.att, c.q, c.k, c.v, c.Tq, c.Tk, c.d, c.dv, c.ldq,
                             c.ldk, c.ldv, c.ldo, c.valid, c.causal);
    CU_ASSERT_DOUBLE_EQUAL (dk[1], 2 * first, 1e-12);
    double *all[] = { c.q, c.k, c.v, c.r, c.o, c.att, dq, dk, dv, scratch };
    for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
      g_free (all[i]);
  }
}

static void
test_sdpa_matches_naive_loop (void)
{
  const int Tq = 37, Tk = 29, d = 16, dv = 24, ld = 80;
  float *q = nerve_alloc_floats ((gsize) Tq * ld), *k = nerve_alloc_floats ((gsize) Tk * ld);
  float *v = nerve_alloc_floats ((gsize) Tk * ld);
  float *o1 = nerve_alloc_floats ((gsize) Tq * ld), *o2 = nerve_alloc_floats ((gsize) Tq * ld);
  float *a1 = nerve_alloc_floats ((gsize) Tq * Tk), *a2 = nerve_alloc_floats ((gsize) Tq * Tk);
  nerve_test_fill_f32 (q, (gsize) Tq * ld, 1, 1);
  nerve_test_fill_f32 (k, (gsize) Tk * ld, 2, 1);
  nerve_test_fill_f32 (v, (gsize) Tk * ld, 3, 1);
  for (int causal = 0; causal < 2; causal++)
    for (int valid = 0; valid <= Tk; valid += 7) {
      nerve_sdpa_forward (o1, a1, q + 3, k + 5, v + 7, Tq, Tk, d, dv, ld, ld, ld, ld, valid, causal);
      nerve_sdpa_forward_ref (o2, a2, q + 3, k + 5, v + 7, Tq, Tk, d, dv, ld, ld, ld, ld, valid, causal);
      nerve_assert_close ("sdpa att vs naive", a1, a2, (gsize) Tq * Tk, 1e-5);
      nerve_assert_close ("sdpa out vs naive", o1, o2, (gsize) Tq * ld, 1e-5);
    }
  float *all[] = { q, k, v, o1, o2, a1, a2 };
  for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
    nerve_free_floats (all[i]);
}

static void
test_sdpa_matches_pytorch (void)
{
  NerveFixture *f = nerve_fixture_load ("attention");
  if (!f)
    return;
  const char *names[] = { "sdpa", "sdpa_causal", "sdpa_len", "sdpa_len_causal" };
  for (gsize t = 0; t < G_N_ELEMENTS (names); t++) {
    const char *c = names[t];
    int Tq = nerve_fixture_int (f, c, "Tq", 0), Tk = nerve_fixture_int (f, c, "Tk", 0);
    int d = nerve_fixture_int (f, c, "d", 0), dv = nerve_fixture_int (f, c, "dv", 0);
    int valid = nerve_fixture_int (f, c, "valid", 0), causal = nerve_fixture_int (f, c, "causal", 0);
    float *q = nerve_fixture_tensor (f, c, "q", NULL), *k = nerve_fixture_tensor (f, c, "k", NULL);
    float *v = nerve_fixture_tensor (f, c, "v", NULL), *o = nerve_fixture_tensor (f, c, "o", NULL);
    float *att = nerve_fixture_tensor (f, c, "att", NULL), *dy = nerve_fixture_tensor (f, c, "dy", NULL);
    float *dq = nerve_fixture_tensor (f, c, "dq", NULL), *dk = nerve_fixture_tensor (f, c, "dk", NULL);
    float *dvr = nerve_fixture_tensor (f, c, "dv", NULL);
    float *oo = nerve_alloc_floats ((gsize) Tq * dv), *oa = nerve_alloc_floats ((gsize) Tq * Tk);
    float *odq = nerve_alloc_floats ((gsize) Tq * d), *odk = nerve_alloc_floats ((gsize) Tk * d);
    float *odv = nerve_alloc_floats ((gsize) Tk * dv), *scratch = nerve_alloc_floats ((gsize) Tq * Tk);
    nerve_sdpa_forward (oo, oa, q, k, v, Tq, Tk, d, dv, d, d, dv, dv, valid, causal);
    nerve_sdpa_backward (odq, odk, odv, scratch, dy, oa, q, k, v, Tq, Tk, d, dv, d, d, dv, dv, valid, causal);
    nerve_assert_close (c, oo, o, (gsize) Tq * dv, 1e-5);
    nerve_assert_close (c, oa, att, (gsize) Tq * Tk, 1e-5);
    nerve_assert_close (c, odq, dq, (gsize) Tq * d, 1e-5);
    nerve_assert_close (c, odk, dk, (gsize) Tk * d, 1e-5);
    nerve_assert_close (c, odv, dvr, (gsize) Tk * dv, 1e-5);
    float *all[] = { q, k, v, o, att, dy, dq, dk, dvr, oo, oa, odq, odk, odv, scratch };
    for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
      nerve_free_floats (all[i]);
  }
  nerve_fixture_free (f);
}

/* ---------------- multi-head attention ---------------- */

typedef struct {
  int B, Tq, Tk, F, D, H;
  gboolean causal, cross, bias;
  const int *lengths;
  double *xq, *xm, *w_in, *b_in, *w_out, *b_out, *out, *cache, *r;
} MhaCase;

static double
mha_loss (gpointer p)
{
  MhaCase *c = p;
  nerve_mha_forward_f64 (c->out, c->cache, c->xq, c->cross ? c->xm : c->xq, c->w_in, c->b_in, c->w_out,
                         c->b_out, c->lengths, c->B, c->Tq, c->Tk, c->F, c->D, c->H, c->causal);
  return nerve_test_dot_f64 (c->out, c->r, (gsize) c->B * c->Tq * c->D);
}

static void
test_mha_finite_differences (void)
{
  static const int len_self[] = { 4, 2, 0 }, len_cross[] = { 3, 5, 1 };
  const struct { int Tq, Tk, F, D, H; gboolean causal, cross, bias; const int *lengths; } cfg[] = {
    { 4, 4, 6, 6, 2, FALSE, FALSE, TRUE, NULL },
    { 4, 4, 6, 6, 3, TRUE, FALSE, TRUE, len_self },
    { 3, 5, 5, 4, 2, FALSE, TRUE, TRUE, len_cross },
    { 4, 4, 4, 6, 2, TRUE, TRUE, FALSE, len_self },
  };
  for (gsize t = 0; t < G_N_ELEMENTS (cfg); t++) {
    MhaCase c = { .B = 3, .Tq = cfg[t].Tq, .Tk = cfg[t].cross ? cfg[t].Tk : cfg[t].Tq, .F = cfg[t].F,
                  .D = cfg[t].D, .H = cfg[t].H, .causal = cfg[t].causal, .cross = cfg[t].cross,
                  .bias = cfg[t].bias, .lengths = cfg[t].lengths };
    gsize nxq = (gsize) c.B * c.Tq * c.F, nxm = (gsize) c.B * c.Tk * c.F, nwi = (gsize) 3 * c.D * c.F;
    gsize nwo = (gsize) c.D * c.D, no = (gsize) c.B * c.Tq * c.D;
    c.xq = rnd (nxq, 1 + t, 1), c.xm = c.cross ? rnd (nxm, 2 + t, 1) : NULL;
    c.w_in = rnd (nwi, 3 + t, 0.8), c.w_out = rnd (nwo, 4 + t, 0.5), c.r = rnd (no, 5 + t, 1);
    c.b_in = c.bias ? rnd ((gsize) 3 * c.D, 6 + t, 0.3) : NULL;
    c.b_out = c.bias ? rnd (c.D, 7 + t, 0.3) : NULL;
    c.out = g_new (double, no);
    c.cache = g_new (double, nerve_mha_cache_size (c.B, c.Tq, c.Tk, c.D, c.H));
    double *dxq = g_new0 (double, nxq), *dxm = c.cross ? g_new0 (double, nxm) : dxq;
    double *dwi = g_new0 (double, nwi), *dwo = g_new0 (double, nwo);
    double *dbi = c.bias ? g_new0 (double, 3 * c.D) : NULL, *dbo = c.bias ? g_new0 (double, c.D) : NULL;
    mha_loss (&c);
    nerve_mha_backward_f64 (dxq, dxm, dwi, dbi, dwo, dbo, c.cache, c.r, c.xq, c.cross ? c.xm : c.xq, c.w_in,
                            c.w_out, c.lengths, c.B, c.Tq, c.Tk, c.F, c.D, c.H, c.causal);
    nerve_fd_check ("mha dxq", c.xq, nxq, dxq, mha_loss, &c, H_FD, TOL_FD);
    if (c.cross)
      nerve_fd_check ("mha dxm", c.xm, nxm, dxm, mha_loss, &c, H_FD, TOL_FD);
    nerve_fd_check ("mha dw_in", c.w_in, nwi, dwi, mha_loss, &c, H_FD, TOL_FD);
    nerve_fd_check ("mha dw_out", c.w_out, nwo, dwo, mha_loss, &c, H_FD, TOL_FD);
    if (c.bias) {
      nerve_fd_check ("mha db_in", c.b_in, 3 * c.D, dbi, mha_loss, &c, H_FD, TOL_FD);
      nerve_fd_check ("mha db_out", c.b_out, c.D, dbo, mha_loss, &c, H_FD, TOL_FD);
    }
    /* a sample with no valid key puts out only the output bias */
    if (c.lengths && c.lengths[2] == 0)
      for (int i = 0; i < c.Tq * c.D; i++)
        CU_ASSERT_DOUBLE_EQUAL (c.out[2 * c.Tq * c.D + i], c.bias ? c.b_out[i % c.D] : 0.0, 1e-12);
    double *all[] = { c.xq, c.xm, c.w_in, c.w_out, c.r, c.b_in, c.b_out, c.out, c.cache, dxq, dwi, dwo, dbi, dbo };
    for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
      g_free (all[i]);
    if (c.cross)
      g_free (dxm);
  }
}

static int *
fixture_lengths (NerveFixture *f, const char *c, int B)
{
  float *lf = nerve_fixture_tensor (f, c, "lengths", NULL);
  int *len = g_new (int, B);
  for (int b = 0; b < B; b++)
    len[b] = (int) lf[b];
  nerve_free_floats (lf);
  return len;
}

static void
test_mha_matches_pytorch (void)
{
  NerveFixture *f = nerve_fixture_load ("attention");
  if (!f)
    return;
  const char *names[] = { "mha_self", "mha_self_causal", "mha_cross", "mha_nobias" };
  for (gsize t = 0; t < G_N_ELEMENTS (names); t++) {
    const char *c = names[t];
    int B = nerve_fixture_int (f, c, "B", 0), Tq = nerve_fixture_int (f, c, "Tq", 0);
    int Tk = nerve_fixture_int (f, c, "Tk", 0), E = nerve_fixture_int (f, c, "E", 0);
    int H = nerve_fixture_int (f, c, "heads", 0), causal = nerve_fixture_int (f, c, "causal", 0);
    int cross = nerve_fixture_int (f, c, "cross", 0), bias = nerve_fixture_int (f, c, "bias", 0);
    g_autofree int *len = fixture_lengths (f, c, B);
    float *x = nerve_fixture_tensor (f, c, "x", NULL), *m = cross ? nerve_fixture_tensor (f, c, "m", NULL) : x;
    float *wi = nerve_fixture_tensor (f, c, "in_proj_weight", NULL);
    float *wo = nerve_fixture_tensor (f, c, "out_proj_weight", NULL);
    float *bi = bias ? nerve_fixture_tensor (f, c, "in_proj_bias", NULL) : NULL;
    float *bo = bias ? nerve_fixture_tensor (f, c, "out_proj_bias", NULL) : NULL;
    float *y = nerve_fixture_tensor (f, c, "y", NULL), *dy = nerve_fixture_tensor (f, c, "dy", NULL);
    gsize nx = (gsize) B * Tq * E, nm = (gsize) B * Tk * E;
    float *oy = nerve_alloc_floats (nx), *cache = nerve_alloc_floats (nerve_mha_cache_size (B, Tq, Tk, E, H));
    float *odx = nerve_alloc_floats (nx), *odm = cross ? nerve_alloc_floats (nm) : odx;
    float *odwi = nerve_alloc_floats ((gsize) 3 * E * E), *odwo = nerve_alloc_floats ((gsize) E * E);
    float *odbi = nerve_alloc_floats ((gsize) 3 * E), *odbo = nerve_alloc_floats (E);
    nerve_mha_forward (oy, cache, x, m, wi, bi, wo, bo, len, B, Tq, Tk, E, E, H, causal);
    nerve_mha_backward (odx, odm, odwi, bias ? odbi : NULL, odwo, bias ? odbo : NULL, cache, dy, x, m, wi, wo,
                        len, B, Tq, Tk, E, E, H, causal);
    nerve_assert_close (c, oy, y, nx, 1e-5);
    struct { const char *name; float *ours; gsize n; } g[] = {
      { "dx", odx, nx }, { "d_in_proj_weight", odwi, (gsize) 3 * E * E }, { "d_out_proj_weight", odwo, (gsize) E * E },
      { "d_in_proj_bias", odbi, (gsize) 3 * E }, { "d_out_proj_bias", odbo, E }, { "dm", odm, nm },
    };
    for (gsize i = 0; i < G_N_ELEMENTS (g) - 1 + cross; i++) {
      if (!bias && strstr (g[i].name, "bias"))
        continue;
      float *ref = nerve_fixture_tensor (f, c, g[i].name, NULL);
      g_autofree char *what = g_strdup_printf ("%s %s", c, g[i].name);
      if (ref)
        nerve_assert_close (what, g[i].ours, ref, g[i].n, 1e-5);
      nerve_free_floats (ref);
    }
    float *all[] = { x, wi, wo, bi, bo, y, dy, oy, cache, odx, odwi, odwo, odbi, odbo };
    for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
      nerve_free_floats (all[i]);
    if (cross)
      nerve_free_floats (m), nerve_free_floats (odm);
  }
  nerve_fixture_free (f);
}

/* ---------------- additive attention ---------------- */

typedef struct {
  int B, Tq, Tk, Dq, Dk, U;
  gboolean pooling;
  const int *lengths;
  double *q, *m, *wq, *wk, *b, *v, *ctx, *cache, *r;
} AddCase;

static double
add_loss (gpointer p)
{
  AddCase *c = p;
  nerve_additive_attention_forward_f64 (c->ctx, c->cache, c->q, c->m, c->wq, c->wk, c->b, c->v, c->lengths,
                                        c->B, c->Tq, c->Tk, c->Dq, c->Dk, c->U);
  return nerve_test_dot_f64 (c->ctx, c->r, (gsize) c->B * c->Tq * c->Dk);
}

static void
test_additive_finite_differences (void)
{
  static const int len[] = { 5, 2, 0 };
  const struct { int Tq, Dq; gboolean pooling; const int *lengths; } cfg[] = {
    { 3, 4, FALSE, NULL }, { 3, 4, FALSE, len }, { 1, 3, FALSE, len }, { 1, 0, TRUE, NULL }, { 1, 0, TRUE, len },
  };
  for (gsize t = 0; t < G_N_ELEMENTS (cfg); t++) {
    AddCase c = { .B = 3, .Tq = cfg[t].Tq, .Tk = 5, .Dq = cfg[t].Dq, .Dk = 6, .U = 7,
                  .pooling = cfg[t].pooling, .lengths = cfg[t].lengths };
    gsize nq = (gsize) c.B * c.Tq * c.Dq, nm = (gsize) c.B * c.Tk * c.Dk, nwq = (gsize) c.U * c.Dq;
    gsize nwk = (gsize) c.U * c.Dk, nc = (gsize) c.B * c.Tq * c.Dk;
    c.q = c.pooling ? NULL : rnd (nq, 1 + t, 1);
    c.wq = c.pooling ? NULL : rnd (nwq, 2 + t, 0.6);
    c.m = rnd (nm, 3 + t, 1), c.wk = rnd (nwk, 4 + t, 0.6), c.b = rnd (c.U, 5 + t, 0.3);
    c.v = rnd (c.U, 6 + t, 1.5), c.r = rnd (nc, 7 + t, 1), c.ctx = g_new (double, nc);
    c.cache = g_new (double, nerve_additive_attention_cache_size (c.B, c.Tq, c.Tk, c.U));
    double *dq = c.pooling ? NULL : g_new0 (double, nq), *dwq = c.pooling ? NULL : g_new0 (double, nwq);
    double *dm = g_new0 (double, nm), *dwk = g_new0 (double, nwk), *db = g_new0 (double, c.U);
    double *dv = g_new0 (double, c.U);
    add_loss (&c);
    nerve_additive_attention_backward_f64 (dq, dm, dwq, dwk, db, dv, c.cache, c.r, c.q, c.m, c.wq, c.wk, c.v,
                                           c.lengths, c.B, c.Tq, c.Tk, c.Dq, c.Dk, c.U);
    if (!c.pooling) {
      nerve_fd_check ("additive dq", c.q, nq, dq, add_loss, &c, H_FD, TOL_FD);
      nerve_fd_check ("additive dwq", c.wq, nwq, dwq, add_loss, &c, H_FD, TOL_FD);
    }
    nerve_fd_check ("additive dm", c.m, nm, dm, add_loss, &c, H_FD, TOL_FD);
    nerve_fd_check ("additive dwk", c.wk, nwk, dwk, add_loss, &c, H_FD, TOL_FD);
    nerve_fd_check ("additive db", c.b, c.U, db, add_loss, &c, H_FD, TOL_FD);
    nerve_fd_check ("additive dv", c.v, c.U, dv, add_loss, &c, H_FD, TOL_FD);
    if (c.lengths) { /* masked memory steps get no gradient; the empty sample gives zeros */
      for (int j = c.lengths[1]; j < c.Tk; j++)
        for (int k = 0; k < c.Dk; k++)
          CU_ASSERT_EQUAL (dm[((gsize) 1 * c.Tk + j) * c.Dk + k], 0.0);
      for (int i = 0; i < c.Tq * c.Dk; i++)
        CU_ASSERT_EQUAL (c.ctx[2 * c.Tq * c.Dk + i], 0.0);
    }
    double *all[] = { c.q, c.wq, c.m, c.wk, c.b, c.v, c.r, c.ctx, c.cache, dq, dwq, dm, dwk, db, dv };
    for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
      g_free (all[i]);
  }
}

static void
test_additive_matches_pytorch (void)
{
  NerveFixture *f = nerve_fixture_load ("attention");
  if (!f)
    return;
  const char *names[] = { "additive", "additive_vec", "additive_pool" };
  for (gsize t = 0; t < G_N_ELEMENTS (names); t++) {
    const char *c = names[t];
    int B = nerve_fixture_int (f, c, "B", 0), Tq = nerve_fixture_int (f, c, "Tq", 0);
    int Tk = nerve_fixture_int (f, c, "Tk", 0), Dq = nerve_fixture_int (f, c, "Dq", 0);
    int Dk = nerve_fixture_int (f, c, "Dk", 0), U = nerve_fixture_int (f, c, "units", 0);
    gboolean pool = nerve_fixture_int (f, c, "pooling", 0);
    g_autofree int *len = fixture_lengths (f, c, B);
    float *q = pool ? NULL : nerve_fixture_tensor (f, c, "q", NULL), *m = nerve_fixture_tensor (f, c, "m", NULL);
    float *wq = pool ? NULL : nerve_fixture_tensor (f, c, "query_weight", NULL);
    float *wk = nerve_fixture_tensor (f, c, "key_weight", NULL), *b = nerve_fixture_tensor (f, c, "bias", NULL);
    float *v = nerve_fixture_tensor (f, c, pool ? "query" : "v", NULL);
    float *y = nerve_fixture_tensor (f, c, "y", NULL), *dy = nerve_fixture_tensor (f, c, "dy", NULL);
    gsize nc = (gsize) B * Tq * Dk, nq = (gsize) B * Tq * Dq, nm = (gsize) B * Tk * Dk;
    float *oy = nerve_alloc_floats (nc), *cache = nerve_alloc_floats (nerve_additive_attention_cache_size (B, Tq, Tk, U));
    float *odq = pool ? NULL : nerve_alloc_floats (nq), *odwq = pool ? NULL : nerve_alloc_floats ((gsize) U * Dq);
    float *odm = nerve_alloc_floats (nm), *odwk = nerve_alloc_floats ((gsize) U * Dk);
    float *odb = nerve_alloc_floats (U), *odv = nerve_alloc_floats (U);
    nerve_additive_attention_forward (oy, cache, q, m, wq, wk, b, v, len, B, Tq, Tk, Dq, Dk, U);
    nerve_additive_attention_backward (odq, odm, odwq, odwk, odb, odv, cache, dy, q, m, wq, wk, v, len, B, Tq,
                                       Tk, Dq, Dk, U);
    nerve_assert_close (c, oy, y, nc, 1e-5);
    struct { const char *name; float *ours; gsize n; } g[] = {
      { "dm", odm, nm }, { "d_key_weight", odwk, (gsize) U * Dk }, { "d_bias", odb, U },
      { pool ? "d_query" : "d_v", odv, U }, { "dq", odq, nq }, { "d_query_weight", odwq, (gsize) U * Dq },
    };
    for (gsize i = 0; i < G_N_ELEMENTS (g) - (pool ? 2 : 0); i++) {
      float *ref = nerve_fixture_tensor (f, c, g[i].name, NULL);
      g_autofree char *what = g_strdup_printf ("%s %s", c, g[i].name);
      if (ref)
        nerve_assert_close (what, g[i].ours, ref, g[i].n, 1e-5);
      nerve_free_floats (ref);
    }
    float *all[] = { q, m, wq, wk, b, v, y, dy, oy, cache, odq, odwq, odm, odwk, odb, odv };
    for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
      nerve_free_floats (all[i]);
  }
  nerve_fixture_free (f);
}

/* ---------------- the classes in a graph ---------------- */

static const char *classifier =
  "{\"input\":[6],\"layers\":["
  "{\"type\":\"embedding\",\"name\":\"emb\",\"vocab\":11,\"dim\":8,\"padding_idx\":0},"
  "{\"type\":\"attention\",\"name\":\"att\",\"heads\":2,\"causal\":true},"
  "{\"type\":\"additive_attention\",\"name\":\"pool\",\"units\":5},"
  "{\"type\":\"dense\",\"name\":\"fc\",\"units\":3}]}";

typedef struct {
  NerveRunner *r;
  float *x, *rnd;
  const int *lengths;
  int batch;
  gsize nout;
} NetCase;

static double
net_loss (NetCase *c)
{
  const float *y = nerve_runner_forward_seq (c->r, c->x, c->lengths, c->batch, FALSE, NULL);
  double s = 0;
  for (gsize i = 0; i < c->nout; i++)
    s += (double) y[i] * c->rnd[i];
  return s;
}

static void
test_graph_classifier (void)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveModel) m = nerve_model_new (classifier, &err);
  if (err)
    fprintf (stderr, "  %s\n", err->message);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  const NerveShape *s = nerve_model_output_shape (m);
  CU_ASSERT (s->ndim == 1 && s->dim[0] == 3);
  const NerveShape *se = &nerve_model_find_layer (m, "emb")->out_shape;
  CU_ASSERT (se->ndim == 2 && se->dim[0] == 6 && se->dim[1] == 8);
  CU_ASSERT (nerve_model_find_layer (m, "pool")->out_shape.ndim == 1);
  const char *names[] = { "emb.weight", "att.in_proj_weight", "att.in_proj_bias", "att.out_proj_weight",
                          "att.out_proj_bias", "pool.key_weight", "pool.bias", "pool.query" };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    CU_ASSERT_PTR_NOT_NULL (nerve_model_find_param (m, names[i]));
  CU_ASSERT_PTR_NULL (nerve_model_find_param (m, "pool.query_weight"));
  CU_ASSERT_EQUAL (nerve_model_find_param (m, "att.in_proj_weight")->shape.dim[0], 24);
  CU_ASSERT_EQUAL (nerve_model_n_trainable (m), 11 * 8 + (24 * 8 + 24 + 64 + 8) + (5 * 8 + 5 + 5) + (3 * 8 + 3));
  nerve_model_init_params (m, 3);

  g_autoptr (NerveRunner) r = nerve_runner_new (m, 3, NERVE_RUNNER_GRADS, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r);
  /* sample 1 is padded after 4 steps, sample 2 holds hostile ids */
  float x[18] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0, 3, -4, 11, 2.5f, NAN, 1e9f };
  static const int lengths[] = { 6, 4, 6 };
  NetCase c = { .r = r, .x = x, .lengths = lengths, .batch = 3, .nout = 9 };
  c.rnd = nerve_alloc_floats (c.nout);
  nerve_test_fill_f32 (c.rnd, c.nout, 5, 1);
  double l0 = net_loss (&c);
  CU_ASSERT (isfinite (l0));
  const float *emb = nerve_runner_layer_output (r, "emb");
  for (int k = 0; k < 8; k++) { /* padding and hostile ids map to zero vectors */
    CU_ASSERT_EQUAL (emb[(1 * 6 + 4) * 8 + k], 0.0f);
    CU_ASSERT_EQUAL (emb[(2 * 6 + 5) * 8 + k], 0.0f);
  }
  /* steps past a sample's length do not change its output */
  const float *y = nerve_runner_forward_seq (r, x, lengths, 3, FALSE, NULL);
  float y1[3] = { y[3], y[4], y[5] };
  x[10] = 7, x[11] = 9;
  y = nerve_runner_forward_seq (r, x, lengths, 3, FALSE, NULL);
  for (int k = 0; k < 3; k++)
    CU_ASSERT_EQUAL (y[3 + k], y1[k]);
  x[10] = 0, x[11] = 0;

  net_loss (&c);
  nerve_model_zero_grads (m);
  nerve_runner_backward (r, c.rnd);
  NerveParam *ew = nerve_model_find_param (m, "emb.weight");
  for (int k = 0; k < 8; k++)
    CU_ASSERT_EQUAL (ew->grad[k], 0.0f); /* padding row */
  /* every parameter against float finite differences: coarse, the exact checks are above */
  const float h = 1e-2f;
  double worst = 0;
  for (gsize i = 0; i < m->n_floats; i += 2) {
    float keep = m->arena[i];
    m->arena[i] = keep + h;
    double lp = net_loss (&c);
    m->arena[i] = keep - h;
    double lm = net_loss (&c);
    m->arena[i] = keep;
    double fd = (lp - lm) / (2 * h);
    worst = fmax (worst, fabs (fd - m->grad[i]) / fmax (1, fabs (fd)));
  }
  if (worst >= 2e-3)
    fprintf (stderr, "  graph gradient worst relative error %g\n", worst);
  CU_ASSERT (worst < 2e-3);
  nerve_free_floats (c.rnd);
}

static void
test_graph_cross_attention (void)
{
  /* decoder-style: query [4,6] from a dense layer, memory = the input sequence [5,6] */
  const char *json =
    "{\"input\":[5,6],\"layers\":["
    "{\"type\":\"dense\",\"name\":\"qsrc\",\"units\":6,\"inputs\":[\"input\"]},"
    "{\"type\":\"additive_attention\",\"name\":\"bahdanau\",\"units\":4,\"inputs\":[\"qsrc\",\"input\"]},"
    "{\"type\":\"attention\",\"name\":\"mha\",\"heads\":3,\"dim\":9,\"inputs\":[\"qsrc\",\"input\"]},"
    "{\"type\":\"additive_attention\",\"name\":\"pooled\",\"units\":3,\"inputs\":[\"input\"]},"
    "{\"type\":\"additive_attention\",\"name\":\"step\",\"units\":4,\"inputs\":[\"pooled\",\"input\"]}],"
    "\"output\":\"mha\"}";
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveModel) m = nerve_model_new (json, &err);
  if (err)
    fprintf (stderr, "  %s\n", err->message);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  const NerveShape *s = nerve_model_output_shape (m);
  CU_ASSERT (s->ndim == 2 && s->dim[0] == 5 && s->dim[1] == 9);
  const NerveShape *sb = &nerve_model_find_layer (m, "bahdanau")->out_shape;
  CU_ASSERT (sb->ndim == 2 && sb->dim[0] == 5 && sb->dim[1] == 6);
  CU_ASSERT_PTR_NOT_NULL (nerve_model_find_param (m, "bahdanau.query_weight"));
  CU_ASSERT_PTR_NOT_NULL (nerve_model_find_param (m, "bahdanau.v"));
  CU_ASSERT_EQUAL (nerve_model_find_param (m, "mha.in_proj_weight")->shape.dim[1], 6);
  /* a single query vector [6] against the memory gives one context [6] */
  const NerveShape *ss = &nerve_model_find_layer (m, "step")->out_shape;
  CU_ASSERT (ss->ndim == 1 && ss->dim[0] == 6);
  nerve_model_init_params (m, 9);
  g_autoptr (NerveRunner) r = nerve_runner_new (m, 2, 0, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r);
  float x[60];
  nerve_test_fill_f32 (x, 60, 4, 1);
  static const int lengths[] = { 5, 3 };
  const float *y = nerve_runner_forward_seq (r, x, lengths, 2, FALSE, NULL);
  gboolean finite = TRUE;
  for (int i = 0; i < 2 * 5 * 9; i++)
    finite = finite && isfinite (y[i]);
  CU_ASSERT (finite);
  /* the context is a convex combination of the 3 valid memory steps of sample 1 */
  const float *ctx = nerve_runner_layer_output (r, "step");
  for (int k = 0; k < 6; k++) {
    float lo = INFINITY, hi = -INFINITY;
    for (int j = 0; j < 3; j++)
      lo = fminf (lo, x[30 + j * 6 + k]), hi = fmaxf (hi, x[30 + j * 6 + k]);
    CU_ASSERT (ctx[6 + k] >= lo - 1e-6f && ctx[6 + k] <= hi + 1e-6f);
  }
}

/* Lengths come from outside: negative or too long ones are clamped, never used to index. */
static void
test_hostile_lengths (void)
{
  const int B = 2, T = 4, D = 4, H = 2, U = 3;
  static const int bad[] = { -7, 1 << 30 }, good[] = { 0, 4 };
  float *x = nerve_alloc_floats (B * T * D), *w_in = nerve_alloc_floats (3 * D * D);
  float *w_out = nerve_alloc_floats (D * D), *y1 = nerve_alloc_floats (B * T * D), *y2 = nerve_alloc_floats (B * T * D);
  float *cache = nerve_alloc_floats (nerve_mha_cache_size (B, T, T, D, H));
  float *cache2 = nerve_alloc_floats (nerve_additive_attention_cache_size (B, 1, T, U));
  float *wk = nerve_alloc_floats (U * D), *b = nerve_alloc_floats (U), *v = nerve_alloc_floats (U);
  nerve_test_fill_f32 (x, B * T * D, 1, 1);
  nerve_test_fill_f32 (w_in, 3 * D * D, 2, 1);
  nerve_test_fill_f32 (w_out, D * D, 3, 1);
  nerve_test_fill_f32 (wk, U * D, 4, 1);
  nerve_test_fill_f32 (v, U, 5, 1);
  nerve_mha_forward (y1, cache, x, x, w_in, NULL, w_out, NULL, bad, B, T, T, D, D, H, TRUE);
  nerve_mha_forward (y2, cache, x, x, w_in, NULL, w_out, NULL, good, B, T, T, D, D, H, TRUE);
  CU_ASSERT (memcmp (y1, y2, sizeof (float) * B * T * D) == 0);
  nerve_additive_attention_forward (y1, cache2, NULL, x, NULL, wk, b, v, bad, B, 1, T, 0, D, U);
  nerve_additive_attention_forward (y2, cache2, NULL, x, NULL, wk, b, v, good, B, 1, T, 0, D, U);
  CU_ASSERT (memcmp (y1, y2, sizeof (float) * B * D) == 0);
  float *all[] = { x, w_in, w_out, y1, y2, cache, cache2, wk, b, v };
  for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
    nerve_free_floats (all[i]);
}

static void
expect_error (const char *layers, const char *input, const char *needle)
{
  g_autofree char *json = g_strdup_printf ("{\"input\":%s,\"layers\":[%s]}", input, layers);
  nerve_test_model_error (json, needle, NULL);
}

static void
test_bad_configs (void)
{
  expect_error ("{\"type\":\"attention\",\"heads\":4}", "[5,6]", "'dim' 6 is not divisible by 'heads' 4");
  expect_error ("{\"type\":\"attention\",\"dim\":10,\"heads\":3}", "[5,6]", "not divisible");
  expect_error ("{\"type\":\"attention\"}", "[6]", "must be sequences [T, features]");
  expect_error ("{\"type\":\"dense\",\"units\":4},{\"type\":\"attention\",\"inputs\":[\"dense0\",\"input\"]}",
                "[5,6]", "same feature size");
  expect_error ("{\"type\":\"attention\",\"heads\":0}", "[5,6]", "'heads' is 0");
  expect_error ("{\"type\":\"attention\",\"causal\":1}", "[5,6]", "must be true or false");
  expect_error ("{\"type\":\"embedding\",\"dim\":4}", "[5]", "'vocab' and 'dim' are required");
  expect_error ("{\"type\":\"embedding\",\"vocab\":10,\"dim\":4,\"padding_idx\":10}", "[5]", "'padding_idx' is 10");
  expect_error ("{\"type\":\"embedding\",\"vocab\":10,\"dim\":4}", "[2,2,2,2]", "too many dimensions");
  expect_error ("{\"type\":\"additive_attention\"}", "[5,6]", "'units' (the attention size) is required");
  expect_error ("{\"type\":\"additive_attention\",\"units\":4}", "[6]", "memory [6] must be a sequence");
  expect_error ("{\"type\":\"additive_attention\",\"units\":4,\"inputs\":[\"input\",\"input\",\"input\"]}",
                "[5,6]", "takes 1 to 2 inputs");
}

NERVE_TEST_MAIN ("attention",
                 { "embedding backward vs finite differences, hostile ids", test_embedding_finite_differences },
                 { "embedding vs PyTorch", test_embedding_matches_pytorch },
                 { "sdpa backward vs finite differences (causal, lengths)", test_sdpa_finite_differences },
                 { "sdpa matches the naive loop", test_sdpa_matches_naive_loop },
                 { "sdpa vs PyTorch reference", test_sdpa_matches_pytorch },
                 { "multi-head attention backward vs finite differences", test_mha_finite_differences },
                 { "multi-head attention vs PyTorch", test_mha_matches_pytorch },
                 { "additive attention backward vs finite differences", test_additive_finite_differences },
                 { "additive attention vs PyTorch", test_additive_matches_pytorch },
                 { "embedding -> attention -> pooling -> dense graph", test_graph_classifier },
                 { "cross attention in a graph", test_graph_cross_attention },
                 { "hostile lengths are clamped", test_hostile_lengths },
                 { "bad configs give clear errors", test_bad_configs })

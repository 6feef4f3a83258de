/* Winograd F(2x2, 3x3) convolution kernels (see winograd.h).
 *
 * Lavin & Gray's matrices: Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A with
 *   Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1],
 *   Aᵀ = [1 1 1 0; 0 1 -1 -1].
 * Tile (th, tw) reads padded rows 2th..2th+3 and columns 2tw..2tw+3. Planes are split
 * into 4 phase planes by row and column parity, [TH+2 rows][TW+1], so element
 * (2u + a, 2v + b) sits in phase (a, b) at u*(TW+1) + v: the 16 inputs of tile
 * t = th*(TW+1) + tw are then at t + {0, 1, TW+1, TW+2} of the 4 phases, and a vector
 * of consecutive tiles is a plain vector load. The tile column TW is a spare: its
 * results are dropped, and its gradients are zero.
 * Work: U [16][O][C] filters, dU [16][O][C], V [16][C][T] input tiles, M [16][O][T]
 * products or output-tile gradients, two sets of 4 phase planes. */
#include "winograd.h"

#include <string.h>

#include "../gemm.h"
#include "../real.h"
#include "vec.h"

typedef struct {
  int TH, TW, TWp, Ts; /* tile rows, tile columns, TW+1, TH*TWp */
  gsize PS;            /* one phase plane, with slack for the last vector's reads */
} Tiles;

static Tiles
tiles_of (const NerveConv2dGeom *g)
{
  Tiles t;
  t.TH = (g->OH + 1) / 2, t.TW = (g->OW + 1) / 2, t.TWp = t.TW + 1;
  t.Ts = t.TH * t.TWp;
  t.PS = (gsize) (t.TH + 2) * t.TWp + 16;
  return t;
}

/* Plane [H, W] placed at (ph, pw) of a zero plane, split into phases P[2a + b]. Rows and
 * columns no tile reads are left out. */
static void
to_phases (nreal *P, const nreal *src, int H, int W, int ph, int pw, const Tiles *t)
{
  memset (P, 0, sizeof (nreal) * 4 * t->PS);
  const int wend = MIN (W, 2 * t->TWp - pw);
  for (int h = 0; h < H && h + ph < 2 * (t->TH + 1); h++) {
    const int hp = h + ph;
    nreal *row = P + (gsize) (hp & 1) * 2 * t->PS + (gsize) (hp >> 1) * t->TWp;
    const nreal *s = src + (gsize) h * W;
    for (int w = pw & 1; w < wend; w += 2) /* even padded columns */
      row[(w + pw) >> 1] = s[w];
    for (int w = 1 - (pw & 1); w < wend; w += 2)
      row[t->PS + ((w + pw) >> 1)] = s[w];
  }
}

/* The adjoint: dst[h, w] += phases at (h + ph, w + pw). */
static void
from_phases_add (nreal *dst, const nreal *P, int H, int W, int ph, int pw, const Tiles *t)
{
  const int wend = MIN (W, 2 * t->TWp - pw);
  for (int h = 0; h < H && h + ph < 2 * (t->TH + 1); h++) {
    const int hp = h + ph;
    const nreal *row = P + (gsize) (hp & 1) * 2 * t->PS + (gsize) (hp >> 1) * t->TWp;
    nreal *d = dst + (gsize) h * W;
    for (int w = pw & 1; w < wend; w += 2)
      d[w] += row[(w + pw) >> 1];
    for (int w = 1 - (pw & 1); w < wend; w += 2)
      d[w] += row[t->PS + ((w + pw) >> 1)];
  }
}

/* The 16 inputs of the VL tiles from t0: d[4r + q] = phase (r&1, q&1) at t0 + (r>>1)*TWp + (q>>1). */
static inline void
load_tiles (nvec d[16], const nreal *P, gsize t0, const Tiles *t)
{
  for (int r = 0; r < 4; r++)
    for (int q = 0; q < 4; q++)
      d[4 * r + q] = vload (P + (gsize) ((r & 1) * 2 + (q & 1)) * t->PS + t0 + (gsize) (r >> 1) * t->TWp + (q >> 1));
}

/* v = Bᵀ d B */
static inline void
input_tf (nvec v[16], const nvec d[16])
{
  nvec s[16];
  for (int q = 0; q < 4; q++) {
    s[q] = d[q] - d[8 + q];
    s[4 + q] = d[4 + q] + d[8 + q];
    s[8 + q] = d[8 + q] - d[4 + q];
    s[12 + q] = d[4 + q] - d[12 + q];
  }
  for (int r = 0; r < 4; r++) {
    const nvec *a = s + 4 * r;
    v[4 * r] = a[0] - a[2], v[4 * r + 1] = a[1] + a[2], v[4 * r + 2] = a[2] - a[1], v[4 * r + 3] = a[1] - a[3];
  }
}

/* d = B v Bᵀ (input_tf's adjoint) */
static inline void
input_tf_adj (nvec d[16], const nvec v[16])
{
  nvec e[16];
  for (int q = 0; q < 4; q++) {
    e[q] = v[q];
    e[4 + q] = v[4 + q] - v[8 + q] + v[12 + q];
    e[8 + q] = v[4 + q] + v[8 + q] - v[q];
    e[12 + q] = -v[12 + q];
  }
  for (int r = 0; r < 4; r++) {
    const nvec *a = e + 4 * r;
    d[4 * r] = a[0], d[4 * r + 1] = a[1] - a[2] + a[3], d[4 * r + 2] = a[1] + a[2] - a[0], d[4 * r + 3] = -a[3];
  }
}

/* y (2x2) = Aᵀ m A */
static inline void
output_tf (nvec y[4], const nvec m[16])
{
  nvec z[8];
  for (int q = 0; q < 4; q++) {
    z[q] = m[q] + m[4 + q] + m[8 + q];
    z[4 + q] = m[4 + q] - m[8 + q] - m[12 + q];
  }
  for (int a = 0; a < 2; a++) {
    const nvec *r = z + 4 * a;
    y[2 * a] = r[0] + r[1] + r[2], y[2 * a + 1] = r[1] - r[2] - r[3];
  }
}

/* m = A y Aᵀ (output_tf's adjoint) */
static inline void
output_tf_adj (nvec m[16], const nvec y[4])
{
  nvec n[8]; /* [4 rows][2] */
  for (int b = 0; b < 2; b++) {
    n[b] = y[b], n[2 + b] = y[b] + y[2 + b], n[4 + b] = y[b] - y[2 + b], n[6 + b] = -y[2 + b];
  }
  for (int r = 0; r < 4; r++) {
    const nvec *a = n + 2 * r;
    m[4 * r] = a[0], m[4 * r + 1] = a[0] + a[1], m[4 * r + 2] = a[0] - a[1], m[4 * r + 3] = -a[1];
  }
}

/* U[xi][o][c] = (G w[o,c] Gᵀ)[xi] */
static void
filters_transform (nreal *U, const nreal *w, int O, int C)
{
  const gsize OC = (gsize) O * C;
  const nreal h = (nreal) 0.5;
  for (gsize oc = 0; oc < OC; oc++) {
    const nreal *g = w + oc * 9;
    nreal t[4][3];
    for (int j = 0; j < 3; j++) {
      t[0][j] = g[j], t[1][j] = h * (g[j] + g[3 + j] + g[6 + j]);
      t[2][j] = h * (g[j] - g[3 + j] + g[6 + j]), t[3][j] = g[6 + j];
    }
    for (int r = 0; r < 4; r++) {
      const nreal u[4] = { t[r][0], h * (t[r][0] + t[r][1] + t[r][2]), h * (t[r][0] - t[r][1] + t[r][2]), t[r][2] };
      for (int q = 0; q < 4; q++)
        U[(gsize) (4 * r + q) * OC + oc] = u[q];
    }
  }
}

/* dw[o,c] += Gᵀ dU[o,c] G */
static void
filters_transform_adj (nreal *dw, const nreal *dU, int O, int C)
{
  const gsize OC = (gsize) O * C;
  const nreal h = (nreal) 0.5;
  for (gsize oc = 0; oc < OC; oc++) {
    nreal u[16], t[3][4];
    for (int xi = 0; xi < 16; xi++)
      u[xi] = dU[xi * OC + oc];
    for (int q = 0; q < 4; q++) {
      t[0][q] = u[q] + h * (u[4 + q] + u[8 + q]);
      t[1][q] = h * (u[4 + q] - u[8 + q]);
      t[2][q] = h * (u[4 + q] + u[8 + q]) + u[12 + q];
    }
    for (int r = 0; r < 3; r++) {
      const nreal *a = t[r];
      dw[oc * 9 + 3 * r] += a[0] + h * (a[1] + a[2]);
      dw[oc * 9 + 3 * r + 1] += h * (a[1] - a[2]);
      dw[oc * 9 + 3 * r + 2] += h * (a[1] + a[2]) + a[3];
    }
  }
}

/* V[xi][c][i*Ts + t] for the chunk's m samples x[0..m) */
static void
inputs_transform (nreal *V, nreal *P, const nreal *x, const NerveConv2dGeom *g, const Tiles *t, int m, gsize T)
{
  const gsize CT = (gsize) g->C * T;
  for (int c = 0; c < g->C; c++)
    for (int i = 0; i < m; i++) {
      to_phases (P, x + ((gsize) i * g->C + c) * g->H * g->W, g->H, g->W, g->ph, g->pw, t);
      nreal *vc = V + (gsize) c * T + (gsize) i * t->Ts;
      for (int t0 = 0; t0 < t->Ts; t0 += VL) {
        nvec d[16], v[16];
        load_tiles (d, P, (gsize) t0, t);
        input_tf (v, d);
        for (int xi = 0; xi < 16; xi++)
          vstore_n (vc + xi * CT + t0, v[xi], t->Ts - t0);
      }
    }
}

void
NK (nerve_winograd_forward) (nreal *y,        /* [N,O,OH,OW] */
                             gboolean accumulate,
                             nreal *work,     /* [nerve_winograd_work_size] */
                             const nreal *x,  /* [N,C,H,W] */
                             const nreal *w,  /* [O,C,3,3] */
                             const nreal *b,  /* [O] or NULL */
                             const NerveConv2dGeom *g, int N,
                             gboolean filters_ready) /* work already holds w's transform */
{
  const Tiles t = tiles_of (g);
  const int O = g->O, C = g->C, nb = nerve_winograd_chunk (g, N);
  const gsize OC = (gsize) O * C, Tmax = (gsize) nb * t.Ts;
  nreal *U = work, *V = U + 32 * OC, *M = V + 16 * (gsize) C * Tmax;
  nreal *P = M + 16 * (gsize) O * Tmax, *Q = P + 4 * t.PS;
  if (!filters_ready)
    filters_transform (U, w, O, C);
  for (int n0 = 0; n0 < N; n0 += nb) {
    const int m = MIN (nb, N - n0);
    const gsize T = (gsize) m * t.Ts, OT = (gsize) O * T;
    inputs_transform (V, P, x + (gsize) n0 * C * g->H * g->W, g, &t, m, T);
    for (int xi = 0; xi < 16; xi++)
      NK (nerve_gemm) (FALSE, FALSE, O, (int) T, C, 1, U + xi * OC, C, V + xi * (gsize) C * T, (int) T, 0,
                       M + xi * OT, (int) T);
    for (int i = 0; i < m; i++)
      for (int o = 0; o < O; o++) {
        /* output tiles into phase planes Q, then interleaved into y */
        const nreal *mo = M + (gsize) o * T + (gsize) i * t.Ts;
        for (int t0 = 0; t0 < t.Ts; t0 += VL) {
          nvec mt[16], yt[4];
          for (int xi = 0; xi < 16; xi++)
            mt[xi] = vload (mo + xi * OT + t0); /* past the end: other data, dropped */
          output_tf (yt, mt);
          for (int k = 0; k < 4; k++)
            vstore (Q + k * t.PS + t0, yt[k]);
        }
        nreal *yo = y + ((gsize) (n0 + i) * O + o) * g->OH * g->OW;
        const nreal bo = accumulate || !b ? 0 : b[o];
        for (int oh = 0; oh < g->OH; oh++) {
          const nreal *qe = Q + (gsize) (oh & 1) * 2 * t.PS + (gsize) (oh >> 1) * t.TWp, *qo = qe + t.PS;
          nreal *d = yo + (gsize) oh * g->OW;
          const int ne = (g->OW + 1) / 2, no = g->OW / 2;
          if (accumulate) {
            for (int k = 0; k < ne; k++)
              d[2 * k] += qe[k];
            for (int k = 0; k < no; k++)
              d[2 * k + 1] += qo[k];
          } else {
            for (int k = 0; k < ne; k++)
              d[2 * k] = bo + qe[k];
            for (int k = 0; k < no; k++)
              d[2 * k + 1] = bo + qo[k];
          }
        }
      }
  }
}

void
NK (nerve_winograd_backward) (nreal *dx,       /* [N,C,H,W] or NULL */
                              nreal *dw,       /* [O,C,3,3] or NULL */
                              nreal *work,     /* [nerve_winograd_work_size] */
                              const nreal *dy, /* [N,O,OH,OW] */
                              const nreal *x,  /* [N,C,H,W], needed for dw */
                              const nreal *w,  /* [O,C,3,3], needed for dx */
                              const NerveConv2dGeom *g, int N)
{
  if (!dx && !dw)
    return;
  const Tiles t = tiles_of (g);
  const int O = g->O, C = g->C, nb = nerve_winograd_chunk (g, N);
  const gsize OC = (gsize) O * C, Tmax = (gsize) nb * t.Ts;
  nreal *U = work, *dU = U + 16 * OC, *V = U + 32 * OC, *M = V + 16 * (gsize) C * Tmax;
  nreal *P = M + 16 * (gsize) O * Tmax, *Q = P + 4 * t.PS;
  if (dx)
    filters_transform (U, w, O, C);
  if (dw)
    memset (dU, 0, sizeof (nreal) * 16 * OC);
  for (int n0 = 0; n0 < N; n0 += nb) {
    const int m = MIN (nb, N - n0);
    const gsize T = (gsize) m * t.Ts, OT = (gsize) O * T, CT = (gsize) C * T;
    /* output-tile gradients dM = A dY Aᵀ, from dy split into phases (zero past the
     * edges and in the spare column) */
    for (int i = 0; i < m; i++)
      for (int o = 0; o < O; o++) {
        to_phases (Q, dy + ((gsize) (n0 + i) * O + o) * g->OH * g->OW, g->OH, g->OW, 0, 0, &t);
        nreal *mo = M + (gsize) o * T + (gsize) i * t.Ts;
        for (int t0 = 0; t0 < t.Ts; t0 += VL) {
          nvec yt[4], mt[16];
          for (int k = 0; k < 4; k++)
            yt[k] = vload (Q + k * t.PS + t0);
          output_tf_adj (mt, yt);
          for (int xi = 0; xi < 16; xi++)
            vstore_n (mo + xi * OT + t0, mt[xi], t.Ts - t0);
        }
      }
    if (dw) { /* dU[xi] += dM[xi] V[xi]ᵀ */
      inputs_transform (V, P, x + (gsize) n0 * C * g->H * g->W, g, &t, m, T);
      for (int xi = 0; xi < 16; xi++)
        NK (nerve_gemm) (FALSE, TRUE, O, C, (int) T, 1, M + xi * OT, (int) T, V + xi * CT, (int) T, 1,
                         dU + xi * OC, C);
    }
    if (!dx)
      continue;
    /* dV[xi] = U[xi]ᵀ dM[xi]; tiles d = B dV Bᵀ overlap-added into phase planes */
    for (int xi = 0; xi < 16; xi++)
      NK (nerve_gemm) (TRUE, FALSE, C, (int) T, O, 1, U + xi * OC, C, M + xi * OT, (int) T, 0, V + xi * CT,
                       (int) T);
    for (int c = 0; c < C; c++)
      for (int i = 0; i < m; i++) {
        memset (P, 0, sizeof (nreal) * 4 * t.PS);
        const nreal *vc = V + (gsize) c * T + (gsize) i * t.Ts;
        for (int t0 = 0; t0 < t.Ts; t0 += VL) {
          nvec v[16], d[16];
          for (int xi = 0; xi < 16; xi++) {
            v[xi] = vload (vc + xi * CT + t0);
            for (int l = t.Ts - t0; l < VL; l++) /* lanes past the sample: not ours */
              v[xi][l] = 0;
          }
          input_tf_adj (d, v);
          for (int r = 0; r < 4; r++)
            for (int q = 0; q < 4; q++) {
              nreal *p = P + (gsize) ((r & 1) * 2 + (q & 1)) * t.PS + t0 + (gsize) (r >> 1) * t.TWp + (q >> 1);
              vstore (p, vload (p) + d[4 * r + q]);
            }
        }
        from_phases_add (dx + ((gsize) (n0 + i) * C + c) * g->H * g->W, P, g->H, g->W, g->ph, g->pw, &t);
      }
  }
  if (dw)
    filters_transform_adj (dw, dU, O, C);
}

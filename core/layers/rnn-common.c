/* The recurrent stack shared by LSTM and GRU: cache layout, layer/direction loop,
 * batch-first <-> time-major moves, the reference forward, and the layer class.
 *
 * Internally everything is time-major [T,N,·]: the input projection of a layer is one
 * GEMM over all T*N rows, each step's recurrent GEMM reads and writes contiguous
 * [N,·] blocks, and the weight gradients are one GEMM each over all steps. */
#include "../real.h"
#define NERVE_RNN_INTERNAL
#include "rnn-common.h"

#include <cblas.h>
#include <string.h>

#include "../gemm.h"
#include "gru.h"
#include "lstm.h"

#define RNN_ALIGN(n) (((gsize) (n) + 15) & ~(gsize) 15)

/* Offsets (in elements) of everything in the cache. */
typedef struct {
  gsize xt;                  /* [T,N,F] the input, time-major */
  gsize y, y_stride;         /* per layer [T,N,D*H] outputs, time-major */
  gsize dir, dir_stride;     /* per (layer, direction) RnnDir block */
  gsize act, aux, c, h;      /* inside a RnnDir block */
  gsize ping, pong;          /* backward: [T,N,max(F,D*H)] output / input grads */
  gsize dgi, dgh, dh, dc;    /* backward: RnnGrad; dgi doubles as the GRU step scratch */
  gsize total;
} RnnLayout;

static void
rnn_layout (NerveRnnCell cell, const NerveRnnShape *s, RnnLayout *o)
{
  gsize TN = (gsize) s->time * s->batch, H = s->hidden, DH = (gsize) s->dirs * H;
  gsize G = cell == NERVE_RNN_LSTM ? 4 : 3, wide = MAX ((gsize) s->in, DH);
  gsize at = 0;
#define TAKE(field, n) (o->field = at, at += RNN_ALIGN (n))
  TAKE (xt, TN * s->in);
  o->y = at;
  o->y_stride = RNN_ALIGN (TN * DH);
  at += o->y_stride * s->layers;
  o->dir = at;
  gsize d0 = at;
  TAKE (act, TN * G * H);
  TAKE (aux, TN * H);
  TAKE (c, cell == NERVE_RNN_LSTM ? (TN + s->batch) * H : 0);
  TAKE (h, (TN + s->batch) * H);
  o->dir_stride = at - d0;
  o->act -= d0, o->aux -= d0, o->c -= d0, o->h -= d0;
  at = d0 + o->dir_stride * s->layers * s->dirs;
  TAKE (ping, TN * wide);
  TAKE (pong, TN * wide);
  TAKE (dgi, TN * G * H);
  TAKE (dgh, cell == NERVE_RNN_GRU ? TN * G * H : 0);
  TAKE (dh, (gsize) s->batch * H);
  TAKE (dc, (gsize) s->batch * H);
#undef TAKE
  /* the reference forward's per-sample buffers (always smaller, but be sure) */
  o->total = MAX (at, RNN_ALIGN ((gsize) s->time * wide) + (gsize) s->time * DH + 8 * H);
}

static RnnDir
rnn_dir (nreal *cache, const RnnLayout *L, int k, int d, int dirs)
{
  nreal *b = cache + L->dir + L->dir_stride * (gsize) (k * dirs + d);
  return (RnnDir) { .act = b + L->act, .aux = b + L->aux, .c = b + L->c, .h = b + L->h,
                    .work = cache + L->dgi };
}

static inline int
rnn_len (const int *lengths, int n, int T)
{
  return lengths ? CLAMP (lengths[n], 0, T) : T;
}

/* The steps any sample of the batch has: past them every output is zero and every
 * gradient nothing, so the time loops stop there (with bucketed batches of short
 * sentences padded to a long max_length, most of the work). */
static int
rnn_steps (const int *lengths, int N, int T)
{
  if (!lengths)
    return T;
  int m = 0;
  for (int n = 0; n < N; n++)
    m = MAX (m, rnn_len (lengths, n, T));
  return m;
}

void
NK (nerve_rnn_forward) (NerveRnnCell cell,
                        nreal *out,                /* [N,T,D*H] or [N,D*H] */
                        nreal *cache,              /* nerve_rnn_cache_size */
                        const nreal *x,            /* [N,T,F] */
                        const int *lengths,        /* [N] or NULL */
                        const nreal *const *p,     /* 4 per (layer, direction) */
                        const NerveRnnShape *s)
{
  RnnLayout L;
  rnn_layout (cell, s, &L);
  /* T: the padded length (the layout of x and out); Te: the steps computed */
  const int N = s->batch, T = s->time, F = s->in, H = s->hidden, D = s->dirs, DH = D * H;
  const int Te = rnn_steps (lengths, N, T);
  nreal *xt = cache + L.xt;
  for (int n = 0; n < N; n++)
    for (int t = 0; t < Te; t++)
      memcpy (xt + ((gsize) t * N + n) * F, x + ((gsize) n * T + t) * F, sizeof (nreal) * F);
  if (Te == 0) { /* only empty sequences */
    memset (out, 0, sizeof (nreal) * N * (s->seq_out ? T : 1) * DH);
    return;
  }
  const nreal *in = xt;
  int In = F;
  for (int k = 0; k < s->layers; k++) {
    nreal *y = cache + L.y + L.y_stride * k;
    for (int d = 0; d < D; d++) {
      RnnDir dir = rnn_dir (cache, &L, k, d, D);
      const nreal *const *pk = p + (k * D + d) * 4;
      if (cell == NERVE_RNN_LSTM)
        NK (nerve_lstm_dir_forward) (y + d * H, DH, &dir, in, In, lengths, pk, Te, N, H, d == 1);
      else
        NK (nerve_gru_dir_forward) (y + d * H, DH, &dir, in, In, lengths, pk, Te, N, H, d == 1,
                                     s->reset_before, s->act);
    }
    in = y;
    In = DH;
  }
  if (s->seq_out) {
    for (int n = 0; n < N; n++) {
      for (int t = 0; t < Te; t++)
        memcpy (out + ((gsize) n * T + t) * DH, in + ((gsize) t * N + n) * DH, sizeof (nreal) * DH);
      memset (out + ((gsize) n * T + Te) * DH, 0, sizeof (nreal) * (gsize) (T - Te) * DH);
    }
    return;
  }
  for (int n = 0; n < N; n++) {
    int len = rnn_len (lengths, n, T);
    nreal *o = out + (gsize) n * DH;
    if (len > 0)
      memcpy (o, in + ((gsize) (len - 1) * N + n) * DH, sizeof (nreal) * H);
    else
      memset (o, 0, sizeof (nreal) * H);
    if (D == 2 && Te > 0) /* reverse direction: its output at t=0 (zero when len is 0) */
      memcpy (o + H, in + (gsize) n * DH + H, sizeof (nreal) * H);
    else if (D == 2)
      memset (o + H, 0, sizeof (nreal) * H);
  }
}

void
NK (nerve_rnn_backward) (NerveRnnCell cell,
                         nreal *dx,                /* [N,T,F] or NULL */
                         nreal *const *g,          /* 4 per (layer, direction) */
                         nreal *cache,             /* as left by forward */
                         const nreal *dout,        /* [N,T,D*H] or [N,D*H] */
                         const int *lengths,       /* [N] or NULL */
                         const nreal *const *p,
                         const NerveRnnShape *s)
{
  RnnLayout L;
  rnn_layout (cell, s, &L);
  const int N = s->batch, T = s->time, F = s->in, H = s->hidden, D = s->dirs, DH = D * H;
  const int Te = rnn_steps (lengths, N, T); /* as forward: later steps have no gradient */
  nreal *dy = cache + L.ping, *dxt = cache + L.pong;
  if (Te == 0)
    return;
  if (s->seq_out) {
    for (int n = 0; n < N; n++)
      for (int t = 0; t < Te; t++)
        memcpy (dy + ((gsize) t * N + n) * DH, dout + ((gsize) n * T + t) * DH, sizeof (nreal) * DH);
  } else {
    memset (dy, 0, sizeof (nreal) * Te * N * DH);
    for (int n = 0; n < N; n++) {
      int len = rnn_len (lengths, n, T);
      if (len > 0)
        memcpy (dy + ((gsize) (len - 1) * N + n) * DH, dout + (gsize) n * DH, sizeof (nreal) * H);
      if (D == 2)
        memcpy (dy + (gsize) n * DH + H, dout + (gsize) n * DH + H, sizeof (nreal) * H);
    }
  }
  RnnGrad gr = { .dgi = cache + L.dgi, .dgh = cache + (cell == NERVE_RNN_GRU ? L.dgh : L.dgi),
                 .dh = cache + L.dh, .dc = cache + L.dc };
  for (int k = s->layers - 1; k >= 0; k--) {
    int In = k ? DH : F;
    const nreal *in = k ? cache + L.y + L.y_stride * (k - 1) : cache + L.xt;
    nreal *dxk = k || dx ? dxt : NULL;
    if (dxk)
      memset (dxk, 0, sizeof (nreal) * Te * N * In);
    for (int d = 0; d < D; d++) {
      RnnDir dir = rnn_dir (cache, &L, k, d, D);
      int i = (k * D + d) * 4;
      if (cell == NERVE_RNN_LSTM)
        NK (nerve_lstm_dir_backward) (dxk, g + i, &gr, dy + d * H, DH, &dir, in, In, lengths, p + i, Te,
                                      N, H, d == 1);
      else
        NK (nerve_gru_dir_backward) (dxk, g + i, &gr, dy + d * H, DH, &dir, in, In, lengths, p + i, Te,
                                     N, H, d == 1, s->reset_before, s->act);
    }
    nreal *tmp = dy;
    dy = dxt;
    dxt = tmp;
  }
  if (dx)
    for (int n = 0; n < N; n++)
      for (int t = 0; t < Te; t++) {
        nreal *o = dx + ((gsize) n * T + t) * F;
        const nreal *v = dy + ((gsize) t * N + n) * F;
        for (int f = 0; f < F; f++)
          o[f] += v[f];
      }
}

#define RNN_GEMV_ROWS 3

#ifdef NERVE_F64
#define rnn_gemv cblas_dgemv
#else
#define rnn_gemv cblas_sgemv
#endif

void
NK (nerve_rnn_gemm_nt) (int M, int N, int K,
                        const nreal *A,   /* [M,K] row stride lda */
                        int lda,
                        const nreal *W,   /* [N,K] */
                        nreal beta,
                        nreal *C,         /* [M,N] row stride ldc */
                        int ldc)
{
  if (M > RNN_GEMV_ROWS) {
    NK (nerve_gemm) (FALSE, TRUE, M, N, K, 1, A, lda, W, K, beta, C, ldc);
    return;
  }
  for (int m = 0; m < M; m++)
    rnn_gemv (CblasRowMajor, CblasNoTrans, N, K, 1, W, K, A + (gsize) m * lda, 1, beta, C + (gsize) m * ldc, 1);
}

void
NK (nerve_rnn_gemm_nn) (int M, int N, int K,
                        const nreal *A,   /* [M,N] row stride lda */
                        int lda,
                        const nreal *W,   /* [N,K] */
                        nreal beta,
                        nreal *C,         /* [M,K] row stride ldc */
                        int ldc)
{
  if (M > RNN_GEMV_ROWS) {
    NK (nerve_gemm) (FALSE, FALSE, M, K, N, 1, A, lda, W, K, beta, C, ldc);
    return;
  }
  for (int m = 0; m < M; m++)
    rnn_gemv (CblasRowMajor, CblasTrans, N, K, 1, W, K, A + (gsize) m * lda, 1, beta, C + (gsize) m * ldc, 1);
}

void
NK (nerve_rnn_param_grads) (nreal *dx,           /* [R,In] or NULL */
                            nreal *const *g,     /* dW_ih, dW_hh, db_ih, db_hh */
                            const nreal *dgi,    /* [R,G] */
                            const nreal *dgh,    /* [R,G] */
                            const nreal *hprev,  /* [R,H] */
                            const nreal *x,      /* [R,In] */
                            int In, const nreal *const *p, int R, int H, int G)
{
  NK (nerve_gemm) (TRUE, FALSE, G, In, R, 1, dgi, G, x, In, 1, g[0], In);
  NK (nerve_gemm) (TRUE, FALSE, G, H, R, 1, dgh, G, hprev, H, 1, g[1], H);
  for (int r = 0; r < R; r++) {
    const nreal *a = dgi + (gsize) r * G, *b = dgh + (gsize) r * G;
    for (int j = 0; j < G; j++) {
      g[2][j] += a[j];
      g[3][j] += b[j];
    }
  }
  if (dx)
    NK (nerve_gemm) (FALSE, FALSE, R, In, G, 1, dgi, G, p[0], In, 1, dx, In);
}

void
NK (nerve_rnn_forward_ref) (NerveRnnCell cell, nreal *out, nreal *cache, const nreal *x,
                            const int *lengths, const nreal *const *p, const NerveRnnShape *s)
{
  const int T = s->time, F = s->in, H = s->hidden, D = s->dirs, DH = D * H;
  const int wide = MAX (F, DH);
  nreal *seq = cache, *next = cache + RNN_ALIGN ((gsize) T * wide), *h = next + (gsize) T * DH;
  nreal *c = h + H, *work = c + H;
  for (int n = 0; n < s->batch; n++) {
    int len = rnn_len (lengths, n, T), In = F;
    memcpy (seq, x + (gsize) n * T * F, sizeof (nreal) * T * F);
    for (int k = 0; k < s->layers; k++) {
      memset (next, 0, sizeof (nreal) * T * DH);
      for (int d = 0; d < D; d++) {
        memset (h, 0, sizeof (nreal) * 2 * H);
        for (int i = 0; i < len; i++) {
          int t = d ? len - 1 - i : i;
          if (cell == NERVE_RNN_LSTM)
            NK (nerve_lstm_cell_ref) (h, c, work, seq + (gsize) t * In, In, p + (k * D + d) * 4, H);
          else
            NK (nerve_gru_cell_ref) (h, work, seq + (gsize) t * In, In, p + (k * D + d) * 4, H,
                                    s->reset_before, s->act);
          memcpy (next + (gsize) t * DH + d * H, h, sizeof (nreal) * H);
        }
      }
      memcpy (seq, next, sizeof (nreal) * T * DH);
      In = DH;
    }
    if (s->seq_out) {
      memcpy (out + (gsize) n * T * DH, seq, sizeof (nreal) * T * DH);
    } else {
      nreal *o = out + (gsize) n * DH;
      memset (o, 0, sizeof (nreal) * DH);
      if (len > 0)
        memcpy (o, seq + (gsize) (len - 1) * DH, sizeof (nreal) * H);
      if (D == 2)
        memcpy (o + H, seq + H, sizeof (nreal) * H);
    }
  }
}

#ifndef NERVE_F64
gsize
nerve_rnn_cache_size (NerveRnnCell cell, const NerveRnnShape *s)
{
  RnnLayout L;
  rnn_layout (cell, s, &L);
  return L.total;
}

gsize
nerve_rnn_out_size (const NerveRnnShape *s)
{
  return (gsize) (s->seq_out ? s->time : 1) * s->hidden * s->dirs;
}

/* ---- the layer class ---- */

static const char *const rnn_param_names[] = { "weight_ih", "weight_hh", "bias_ih", "bias_hh" };

gboolean
nerve_rnn_class_configure (NerveLayer *l, NerveCfg *cfg, GError **error)
{
  NerveRnnLayer *r = (NerveRnnLayer *) l;
  NerveRnnShape *s = &r->shape;
  r->cell = g_str_equal (l->klass->type, "lstm") ? NERVE_RNN_LSTM : NERVE_RNN_GRU;
  gboolean bidir;
  if (!nerve_cfg_int (cfg, "hidden", 0, 1, 1 << 16, &s->hidden, error) ||
      !nerve_cfg_int (cfg, "layers", 1, 1, NERVE_RNN_MAX_LAYERS, &s->layers, error) ||
      !nerve_cfg_bool (cfg, "bidirectional", FALSE, &bidir, error) ||
      !nerve_cfg_bool (cfg, "return_sequences", TRUE, &s->seq_out, error))
    return FALSE;
  if (r->cell == NERVE_RNN_GRU) {
    static const char *const acts[] = { "tanh", "relu", "sigmoid", NULL };
    gboolean reset_after;
    int act;
    if (!nerve_cfg_bool (cfg, "reset_after", TRUE, &reset_after, error) ||
        !nerve_cfg_enum (cfg, "activation", "tanh", acts, &act, error))
      return FALSE;
    s->reset_before = !reset_after;
    s->act = (NerveRnnActivation) act;
  }
  if (s->hidden == 0)
    return nerve_layer_error (l, error, NERVE_ERROR_INVALID, "'hidden' (the state size) is required");
  const NerveShape *in = &l->in_shape[0];
  if (in->ndim != 2) {
    char buf[64];
    return nerve_layer_error (l, error, NERVE_ERROR_SHAPE,
                              "input per sample is %s, expected a sequence [time, features]",
                              nerve_shape_format (in, buf, sizeof buf));
  }
  s->time = in->dim[0];
  s->in = in->dim[1];
  s->dirs = bidir ? 2 : 1;
  int G = r->cell == NERVE_RNN_LSTM ? 4 : 3, DH = s->hidden * s->dirs;
  l->out_shape = s->seq_out ? nerve_shape_make (2, s->time, DH) : nerve_shape_make (1, DH);
  float bound = 1.0f / sqrtf ((float) s->hidden); /* PyTorch's default for every tensor */
  for (int k = 0; k < s->layers; k++)
    for (int d = 0; d < s->dirs; d++)
      for (int i = 0; i < 4; i++) {
        g_autofree char *name = g_strdup_printf ("%s_l%d%s", rnn_param_names[i], k, d ? "_reverse" : "");
        NerveShape shape = i == 0   ? nerve_shape_make (2, G * s->hidden, k ? DH : s->in)
                           : i == 1 ? nerve_shape_make (2, G * s->hidden, s->hidden)
                                    : nerve_shape_make (1, G * s->hidden);
        nerve_layer_add_param (l, name, shape, NERVE_INIT_UNIFORM, bound, i >= 2 ? NERVE_PARAM_NO_DECAY : 0);
      }
  return TRUE;
}

static NerveRnnShape
rnn_shape (const NerveLayer *l, int batch)
{
  NerveRnnShape s = ((const NerveRnnLayer *) l)->shape;
  s.batch = batch;
  return s;
}

gsize
nerve_rnn_class_cache_size (const NerveLayer *l, int batch)
{
  NerveRnnShape s = rnn_shape (l, batch);
  return nerve_rnn_cache_size (((const NerveRnnLayer *) l)->cell, &s);
}

void
nerve_rnn_class_forward (NerveLayer *l, NerveLayerIO *io)
{
  NerveRnnLayer *r = (NerveRnnLayer *) l;
  NerveRnnShape s = rnn_shape (l, io->batch);
  const float *p[4 * 2 * NERVE_RNN_MAX_LAYERS];
  for (int i = 0; i < l->n_params; i++)
    p[i] = l->params[i].data;
  nerve_rnn_forward (r->cell, io->out, io->cache, io->in[0], io->lengths, p, &s);
}

void
nerve_rnn_class_backward (NerveLayer *l, NerveLayerIO *io)
{
  NerveRnnLayer *r = (NerveRnnLayer *) l;
  NerveRnnShape s = rnn_shape (l, io->batch);
  const float *p[4 * 2 * NERVE_RNN_MAX_LAYERS];
  float *g[4 * 2 * NERVE_RNN_MAX_LAYERS];
  for (int i = 0; i < l->n_params; i++) {
    p[i] = l->params[i].data;
    g[i] = l->params[i].grad;
  }
  nerve_rnn_backward (r->cell, io->din[0], g, io->cache, io->dout, io->lengths, p, &s);
}

/* Streaming state of a unidirectional stack: per layer h [H] (and c [H] for LSTM),
 * then the step's scratch. A step outputs the top layer's h, which is also what a
 * layer without return_sequences would give if the sequence ended there.
 * Bidirectional layers cannot stream: 0, and step() refuses them. */
gsize
nerve_rnn_class_state_size (const NerveLayer *l)
{
  const NerveRnnLayer *r = (const NerveRnnLayer *) l;
  gsize H = r->shape.hidden;
  if (r->shape.dirs != 1)
    return 0;
  return r->cell == NERVE_RNN_LSTM ? r->shape.layers * 2 * H + 7 * H : r->shape.layers * H + 9 * H;
}

void
nerve_rnn_class_step (NerveLayer *l, const float *in, float *out, float *state)
{
  NerveRnnLayer *r = (NerveRnnLayer *) l;
  const int H = r->shape.hidden, L = r->shape.layers;
  g_return_if_fail (r->shape.dirs == 1);
  const int per = r->cell == NERVE_RNN_LSTM ? 2 * H : H;
  float *scratch = state + (gsize) L * per;
  const float *x = in;
  for (int k = 0; k < L; k++) {
    float *h = state + (gsize) k * per;
    NerveParam *p = &l->params[4 * k];
    if (r->cell == NERVE_RNN_LSTM)
      nerve_lstm_step (h, h + H, scratch, x, p[0].data, p[1].data, p[2].data, p[3].data, 1,
                       k ? H : r->shape.in, H);
    else
      nerve_gru_step_variant (h, scratch, x, p[0].data, p[1].data, p[2].data, p[3].data, 1, k ? H : r->shape.in,
                              H, r->shape.reset_before, r->shape.act);
    x = h;
  }
  memcpy (out, x, sizeof (float) * H);
}

gboolean
nerve_rnn_class_can_step (const NerveLayer *l, GError **error)
{
  if (((const NerveRnnLayer *) l)->shape.dirs == 1)
    return TRUE;
  return nerve_layer_error ((NerveLayer *) l, error, NERVE_ERROR_UNSUPPORTED,
                            "a bidirectional RNN cannot stream: its output at a frame depends on later "
                            "frames");
}
#endif

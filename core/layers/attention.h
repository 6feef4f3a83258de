/* Attention kernels: scaled dot-product attention (one head), multi-head attention
 * (PyTorch nn.MultiheadAttention, batch_first) and additive (Bahdanau) attention.
 * Kernels see whole batches; lengths[b] (NULL = all) is the number of valid steps of
 * sample b's key/memory sequence, clamped to [0, Tk]. A query with no valid key gets
 * a zero output (PyTorch gives NaN there). */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* ---- scaled dot-product attention, one head ----
 * att = softmax(q·kᵀ/sqrt(d) + mask) over keys j < valid (and j <= i when causal,
 * aligned top-left as torch.tril), o = att·v. Rows are strided (ld*) so heads can be
 * column slices of a projection; att [Tq,Tk] is dense and is the cache backward needs.
 * forward overwrites o; backward ADDS into dq/dk/dv (each may be NULL) and uses
 * scratch [Tq,Tk]. */
void nerve_sdpa_forward (float *o, float *att, const float *q, const float *k, const float *v,
                         int Tq, int Tk, int d, int dval, int ldq, int ldk, int ldv, int ldo,
                         int valid, gboolean causal);
void nerve_sdpa_backward (float *dq, float *dk, float *dv, float *scratch, const float *dout,
                          const float *att, const float *q, const float *k, const float *v,
                          int Tq, int Tk, int d, int dval, int ldq, int ldk, int ldv, int ldo,
                          int valid, gboolean causal);
void nerve_sdpa_forward_f64 (double *o, double *att, const double *q, const double *k, const double *v,
                             int Tq, int Tk, int d, int dval, int ldq, int ldk, int ldv, int ldo,
                             int valid, gboolean causal);
void nerve_sdpa_backward_f64 (double *dq, double *dk, double *dv, double *scratch, const double *dout,
                              const double *att, const double *q, const double *k, const double *v,
                              int Tq, int Tk, int d, int dval, int ldq, int ldk, int ldv, int ldo,
                              int valid, gboolean causal);
/* The obvious triple loop, kept to check the strided GEMM version. */
void nerve_sdpa_forward_ref (float *o, float *att, const float *q, const float *k, const float *v,
                             int Tq, int Tk, int d, int dval, int ldq, int ldk, int ldv, int ldo,
                             int valid, gboolean causal);

/* ---- multi-head attention (nn.MultiheadAttention, batch_first=True) ----
 * xq [B,Tq,F] queries, xm [B,Tk,F] memory (pass xq again for self-attention, and the
 * same dxq as dxm). Packed projection w_in [3D,F] = (W_q; W_k; W_v), b_in [3D],
 * out projection w_out [D,D], b_out [D]; biases may be NULL. H heads of D/H.
 * cache holds nerve_mha_cache_size() values (projections, attention weights and
 * backward scratch). backward ADDS into every gradient; dxq/dxm/db_* may be NULL. */
gsize nerve_mha_cache_size (int B, int Tq, int Tk, int D, int H);
void nerve_mha_forward (float *out, float *cache, const float *xq, const float *xm, const float *w_in,
                        const float *b_in, const float *w_out, const float *b_out, const int *lengths,
                        int B, int Tq, int Tk, int F, int D, int H, gboolean causal);
void nerve_mha_backward (float *dxq, float *dxm, float *dw_in, float *db_in, float *dw_out, float *db_out,
                         float *cache, const float *dout, const float *xq, const float *xm,
                         const float *w_in, const float *w_out, const int *lengths,
                         int B, int Tq, int Tk, int F, int D, int H, gboolean causal);
void nerve_mha_forward_f64 (double *out, double *cache, const double *xq, const double *xm,
                            const double *w_in, const double *b_in, const double *w_out,
                            const double *b_out, const int *lengths,
                            int B, int Tq, int Tk, int F, int D, int H, gboolean causal);
void nerve_mha_backward_f64 (double *dxq, double *dxm, double *dw_in, double *db_in, double *dw_out,
                             double *db_out, double *cache, const double *dout, const double *xq,
                             const double *xm, const double *w_in, const double *w_out,
                             const int *lengths, int B, int Tq, int Tk, int F, int D, int H,
                             gboolean causal);

/* ---- additive (Bahdanau) attention ----
 * score[i,j] = vᵀ tanh(W_q q_i + W_k m_j + b), α = softmax over valid j,
 * ctx_i = Σ_j α[i,j] m_j (the memory is also the values).
 * Attention pooling: q = wq = NULL (dquery = dwq = NULL), Tq = 1, and v is the learned
 * query vector: score_j = vᵀ tanh(W_k m_j + b).
 * q [B,Tq,Dq], m [B,Tk,Dk], wq [U,Dq], wk [U,Dk], b [U], v [U] -> ctx [B,Tq,Dk].
 * backward ADDS into every gradient; dquery/dmem may be NULL. */
gsize nerve_additive_attention_cache_size (int B, int Tq, int Tk, int U);
void nerve_additive_attention_forward (float *ctx, float *cache, const float *q, const float *m,
                                       const float *wq, const float *wk, const float *b, const float *v,
                                       const int *lengths, int B, int Tq, int Tk, int Dq, int Dk, int U);
void nerve_additive_attention_backward (float *dq, float *dm, float *dwq, float *dwk, float *db, float *dv,
                                        float *cache, const float *dctx, const float *q, const float *m,
                                        const float *wq, const float *wk, const float *v,
                                        const int *lengths, int B, int Tq, int Tk, int Dq, int Dk, int U);
void nerve_additive_attention_forward_f64 (double *ctx, double *cache, const double *q, const double *m,
                                           const double *wq, const double *wk, const double *b,
                                           const double *v, const int *lengths,
                                           int B, int Tq, int Tk, int Dq, int Dk, int U);
void nerve_additive_attention_backward_f64 (double *dq, double *dm, double *dwq, double *dwk, double *db,
                                            double *dv, double *cache, const double *dctx,
                                            const double *q, const double *m, const double *wq,
                                            const double *wk, const double *v, const int *lengths,
                                            int B, int Tq, int Tk, int Dq, int Dk, int U);

G_END_DECLS

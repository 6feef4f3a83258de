/* Connectionist temporal classification (Graves et al. 2006) over raw logits, with the
 * log-softmax fused in: the forward (alpha) and backward (beta) recursions run in log
 * space over the extended label sequence l' = blank, l1, blank, l2, ..., blank (S = 2L+1
 * states), and the gradient w.r.t. logit c at frame t is
 *     softmax(t,c) - Σ_{s: l'_s = c} exp(alpha_t(s) + beta_t(s) - lp(t, l'_s) + nll)
 * (alpha and beta both include frame t's emission; each term is the posterior of being
 * in state s at frame t), as in PyTorch's ctc_loss backward.
 *
 * nerve_ctc_loss runs each frame's recursion over all states at once: the states are
 * independent given the previous frame, so with rows padded by -inf (two in front, two
 * behind, the width rounded up to 8) every step is three shifted row loads, a masked
 * log-add and a stored row, vectorised in rowops.h. nerve_ctc_loss_ref is the per-state
 * loop it is tested against. Samples are processed one at a time in one workspace:
 *     lse [T] | em [T,R] | alpha [T,R] | beta [T,R] | skip [R] | post [R]
 * with R = round_up(S, 8) + 4 and em = the log-probability of each state's label. */
#include "../loss.h"
#include "../real.h"
#include "rowops.h"

#define PAD 2 /* -inf entries before and after each padded row */

static inline int
row_width (int S) /* states rounded up to whole vectors */
{
  return (S + 7) / 8 * 8;
}

#ifndef NERVE_F64
gsize
nerve_ctc_workspace_size (int N, int T, int C, int max_target_len)
{
  g_return_val_if_fail (N >= 0 && T >= 0 && C > 0 && max_target_len >= 0, 0);
  gsize R = (gsize) row_width (2 * max_target_len + 1) + 2 * PAD;
  /* the fast layout; the reference loop needs T + 2·T·S + C, which fits in it */
  return (gsize) T + 3 * (gsize) T * R + 2 * R + (gsize) C;
}
#endif

/* log(exp(a) + exp(b)) without overflow; -inf stays -inf */
static inline nreal
log_add (nreal a, nreal b)
{
  if (a < b) {
    nreal t = a;
    a = b;
    b = t;
  }
  if (b == -(nreal) INFINITY)
    return a;
  return a + log1p (exp (b - a));
}

/* Label of extended state s. */
#define EXT(s) (((s) & 1) ? lab[(s) >> 1] : blank)

/* Reference: fills lse, alpha (and returns the negative log-likelihood) for one sample. */
static nreal
ctc_forward_ref (nreal *lse, nreal *alpha, const nreal *x, const int *lab, int Ti, int L, int C, int blank)
{
  const nreal NEG = -(nreal) INFINITY;
  int S = 2 * L + 1;
  for (int t = 0; t < Ti; t++)
    lse[t] = nerve_row_logsumexp (x + (gsize) t * C, C);
  for (int s = 0; s < S; s++)
    alpha[s] = NEG;
  alpha[0] = x[blank] - lse[0];
  if (L > 0)
    alpha[1] = x[lab[0]] - lse[0];
  for (int t = 1; t < Ti; t++) {
    const nreal *prev = alpha + (gsize) (t - 1) * S;
    nreal *cur = alpha + (gsize) t * S;
    const nreal *xt = x + (gsize) t * C;
    for (int s = 0; s < S; s++) {
      nreal a = prev[s];
      if (s >= 1)
        a = log_add (a, prev[s - 1]);
      if ((s & 1) && s >= 3 && lab[s >> 1] != lab[(s >> 1) - 1])
        a = log_add (a, prev[s - 2]);
      cur[s] = a + xt[EXT (s)] - lse[t];
    }
  }
  const nreal *last = alpha + (gsize) (Ti - 1) * S;
  return -log_add (last[S - 1], S > 1 ? last[S - 2] : NEG);
}

/* Reference: runs beta and adds coef * d(nll)/d(logits) for frames [0, Ti) into d. */
static void
ctc_backward_ref (nreal *d, nreal *beta, nreal *lcab, const nreal *alpha, const nreal *lse, const nreal *x,
              const int *lab, int Ti, int L, int C, int blank, nreal nll, nreal coef)
{
  const nreal NEG = -(nreal) INFINITY;
  int S = 2 * L + 1;
  nreal *bl = beta + (gsize) (Ti - 1) * S;
  for (int s = 0; s < S; s++)
    bl[s] = NEG;
  const nreal *xl = x + (gsize) (Ti - 1) * C;
  bl[S - 1] = xl[EXT (S - 1)] - lse[Ti - 1];
  if (S > 1)
    bl[S - 2] = xl[EXT (S - 2)] - lse[Ti - 1];
  for (int t = Ti - 2; t >= 0; t--) {
    const nreal *next = beta + (gsize) (t + 1) * S;
    nreal *cur = beta + (gsize) t * S;
    const nreal *xt = x + (gsize) t * C;
    for (int s = 0; s < S; s++) {
      nreal b = next[s];
      if (s + 1 < S)
        b = log_add (b, next[s + 1]);
      if ((s & 1) && s + 2 < S && lab[s >> 1] != lab[(s >> 1) + 1])
        b = log_add (b, next[s + 2]);
      cur[s] = b + xt[EXT (s)] - lse[t];
    }
  }
  for (int t = 0; t < Ti; t++) {
    const nreal *xt = x + (gsize) t * C;
    const nreal *at = alpha + (gsize) t * S, *bt = beta + (gsize) t * S;
    nreal *dt = d + (gsize) t * C;
    /* softmax part for every class, then the alignment part for blank and the labels */
    nerve_row_add_scaled_exp (dt, xt, lse[t], coef, C);
    lcab[blank] = NEG;
    for (int s = 1; s < S; s += 2)
      lcab[lab[s >> 1]] = NEG;
    for (int s = 0; s < S; s++)
      lcab[EXT (s)] = log_add (lcab[EXT (s)], at[s] + bt[s]);
    for (int s = 0; s < S; s++) {
      int c = EXT (s);
      if (lcab[c] != NEG) { /* first state with this label: take it, then mark it done */
        dt[c] -= coef * exp (lcab[c] + nll - (xt[c] - lse[t]));
        lcab[c] = NEG;
      }
    }
  }
}

/* Fast path, one sample: the padded-row layout described at the top. */
static nreal
ctc_sample_fast (nreal *d, nreal *ws, const nreal *x, const int *lab, int Ti, int T, int L, int C, int blank,
                 nreal coef)
{
  const nreal NEG = -(nreal) INFINITY;
  int S = 2 * L + 1, W = row_width (S);
  gsize R = (gsize) W + 2 * PAD;
  nreal *lse = ws, *em = lse + T, *alpha = em + (gsize) T * R, *beta = alpha + (gsize) T * R;
  nreal *skip = beta + (gsize) T * R, *post = skip + R;
  for (int t = 0; t < Ti; t++) {
    const nreal *xt = x + (gsize) t * C;
    nreal *et = em + t * R + PAD;
    lse[t] = nerve_row_logsumexp (xt, C);
    for (int s = 0; s < S; s++)
      et[s] = xt[EXT (s)] - lse[t];
    for (int s = S; s < W; s++)
      et[s] = NEG; /* states past the end stay unreachable */
  }
  /* skip[PAD + s] = 0 where state s may be entered from s - 2 (a label unlike the previous) */
  for (gsize i = 0; i < R; i++)
    skip[i] = NEG;
  for (int s = 3; s < S; s += 2)
    if (lab[s >> 1] != lab[(s >> 1) - 1])
      skip[PAD + s] = 0;

  nreal *a0 = alpha;
  for (gsize i = 0; i < R; i++)
    a0[i] = NEG;
  a0[PAD] = em[PAD];
  if (L > 0)
    a0[PAD + 1] = em[PAD + 1];
  for (int t = 1; t < Ti; t++) {
    nreal *cur = alpha + t * R, *prev = cur - R;
    cur[0] = cur[1] = cur[W + PAD] = cur[W + PAD + 1] = NEG;
    nerve_row_log_add3 (cur + PAD, prev + PAD, prev + PAD - 1, prev + PAD - 2, skip + PAD, em + t * R + PAD, W);
  }
  const nreal *last = alpha + (gsize) (Ti - 1) * R + PAD;
  nreal nll = -log_add (last[S - 1], S > 1 ? last[S - 2] : NEG);
  if (!d || !isfinite (nll))
    return nll;

  nreal *bl = beta + (gsize) (Ti - 1) * R;
  for (gsize i = 0; i < R; i++)
    bl[i] = NEG;
  bl[PAD + S - 1] = em[(Ti - 1) * R + PAD + S - 1];
  if (S > 1)
    bl[PAD + S - 2] = em[(Ti - 1) * R + PAD + S - 2];
  for (int t = Ti - 2; t >= 0; t--) {
    nreal *cur = beta + t * R, *next = cur + R;
    cur[0] = cur[1] = cur[W + PAD] = cur[W + PAD + 1] = NEG;
    nerve_row_log_add3 (cur + PAD, next + PAD, next + PAD + 1, next + PAD + 2, skip + PAD + 2, em + t * R + PAD, W);
  }
  for (int t = 0; t < Ti; t++) {
    nreal *dt = d + (gsize) t * C;
    nerve_row_add_scaled_exp (dt, x + (gsize) t * C, lse[t], coef, C);
    nerve_row_exp_sum (post, alpha + t * R + PAD, beta + t * R + PAD, em + t * R + PAD, nll, W);
    for (int s = 0; s < S; s++)
      dt[EXT (s)] -= coef * post[s];
  }
  return nll;
}

/* Reference path, one sample. */
static nreal
ctc_sample_ref (nreal *d, nreal *ws, const nreal *x, const int *lab, int Ti, int T, int L, int C, int blank,
                nreal coef)
{
  gsize S = 2 * (gsize) L + 1;
  nreal *lse = ws, *alpha = lse + T, *beta = alpha + (gsize) T * S, *lcab = beta + (gsize) T * S;
  nreal nll = ctc_forward_ref (lse, alpha, x, lab, Ti, L, C, blank);
  if (d && isfinite (nll))
    ctc_backward_ref (d, beta, lcab, alpha, lse, x, lab, Ti, L, C, blank, nll, coef);
  return nll;
}

typedef nreal (*CtcSampleFn) (nreal *d, nreal *ws, const nreal *x, const int *lab, int Ti, int T, int L,
                              int C, int blank, nreal coef);

static nreal
ctc_loss (CtcSampleFn sample, nreal *dlogits, nreal *losses, nreal *workspace, const nreal *logits,
          const int *input_lengths, const int *targets, const int *target_lengths, int N, int T, int C,
          int blank, NerveReduction reduction, gboolean zero_infinity, nreal scale)
{
  g_return_val_if_fail (N >= 0 && T >= 0 && C > 0 && blank >= 0 && blank < C, (nreal) NAN);
  double total = 0;
  gsize off = 0;
  for (int b = 0; b < N; b++) {
    int Ti = input_lengths[b], L = target_lengths[b];
    g_return_val_if_fail (Ti >= 0 && Ti <= T && L >= 0, (nreal) NAN);
    const int *lab = targets + off;
    off += (gsize) L;
    int repeats = 0;
    for (int i = 0; i < L; i++) {
      g_return_val_if_fail (lab[i] >= 0 && lab[i] < C && lab[i] != blank, (nreal) NAN);
      repeats += i > 0 && lab[i] == lab[i - 1];
    }
    double per = reduction == NERVE_REDUCTION_MEAN ? 1.0 / ((double) MAX (L, 1) * N) : 1.0;
    nreal *d = dlogits ? dlogits + (gsize) b * T * C : NULL;
    nreal nll;
    if (Ti < L + repeats) /* every alignment needs a frame per label plus a blank between repeats */
      nll = (nreal) INFINITY;
    else if (Ti == 0)
      nll = 0;
    else /* an infeasible sample (inf) adds no gradient */
      nll = sample (d, workspace, logits + (gsize) b * T * C, lab, Ti, T, L, C, blank, scale * (nreal) per);
    if (!isfinite (nll) && zero_infinity)
      nll = 0;
    if (losses)
      losses[b] = nll;
    total += per * (double) nll;
  }
  return (nreal) total;
}

nreal
NK (nerve_ctc_loss) (nreal *dlogits,            /* [N,T,C] or NULL */
                     nreal *losses,             /* [N] or NULL */
                     nreal *workspace,          /* nerve_ctc_workspace_size() */
                     const nreal *logits,       /* [N,T,C] */
                     const int *input_lengths,  /* [N] */
                     const int *targets,        /* [Σ target_lengths] */
                     const int *target_lengths, /* [N] */
                     int N, int T, int C, int blank, NerveReduction reduction,
                     gboolean zero_infinity, nreal scale)
{
  return ctc_loss (ctc_sample_fast, dlogits, losses, workspace, logits, input_lengths, targets, target_lengths,
                   N, T, C, blank, reduction, zero_infinity, scale);
}

nreal
NK (nerve_ctc_loss_ref) (nreal *dlogits, nreal *losses, nreal *workspace, const nreal *logits,
                         const int *input_lengths, const int *targets, const int *target_lengths, int N, int T,
                         int C, int blank, NerveReduction reduction, gboolean zero_infinity, nreal scale)
{
  return ctc_loss (ctc_sample_ref, dlogits, losses, workspace, logits, input_lengths, targets, target_lengths,
                   N, T, C, blank, reduction, zero_infinity, scale);
}

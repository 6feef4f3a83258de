/* Connectionist temporal classification (Graves et al. 2006) over raw logits, with the
 * log-softmax fused in: the forward (alpha) and backward (beta) recursions run in log
 * space over the extended label sequence l' = blank, l1, blank, l2, ..., blank (S = 2L+1
 * states), and the gradient w.r.t. logit c at frame t is
 *     softmax(t,c) - exp(logsumexp_{s: l'_s = c} (alpha_t(s) + beta_t(s)) + nll - lp(t,c))
 * (alpha and beta both include frame t's emission), as in PyTorch's ctc_loss backward.
 * Samples are processed one at a time, reusing one workspace:
 *     lse [T] | alpha [T,S] | beta [T,S] | lcab [C]. */
#include "../loss.h"
#include "../real.h"
#include "rowops.h"

#ifndef NERVE_F64
gsize
nerve_ctc_workspace_size (int N, int T, int C, int max_target_len)
{
  g_return_val_if_fail (N >= 0 && T >= 0 && C > 0 && max_target_len >= 0, 0);
  gsize S = 2 * (gsize) max_target_len + 1;
  return (gsize) T + 2 * (gsize) T * S + (gsize) C;
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

/* Fills lse, alpha (and returns the negative log-likelihood) for one sample. */
static nreal
ctc_forward (nreal *lse, nreal *alpha, const nreal *x, const int *lab, int Ti, int L, int C, int blank)
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

/* Runs beta and adds coef * d(nll)/d(logits) for frames [0, Ti) into d. */
static void
ctc_backward (nreal *d, nreal *beta, nreal *lcab, const nreal *alpha, const nreal *lse, const nreal *x,
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
    const nreal *x = logits + (gsize) b * T * C;
    gsize S = 2 * (gsize) L + 1;
    nreal *lse = workspace, *alpha = lse + T, *beta = alpha + (gsize) T * S, *lcab = beta + (gsize) T * S;
    nreal nll;
    if (Ti < L + repeats) /* every alignment needs a frame per label plus a blank between repeats */
      nll = (nreal) INFINITY;
    else if (Ti == 0)
      nll = 0;
    else
      nll = ctc_forward (lse, alpha, x, lab, Ti, L, C, blank);
    gboolean finite = isfinite (nll);
    if (!finite && zero_infinity)
      nll = 0;
    if (losses)
      losses[b] = nll;
    double per = reduction == NERVE_REDUCTION_MEAN ? 1.0 / ((double) MAX (L, 1) * N) : 1.0;
    total += per * (double) nll;
    if (dlogits && finite && Ti > 0)
      ctc_backward (dlogits + (gsize) b * T * C, beta, lcab, alpha, lse, x, lab, Ti, L, C, blank, nll,
                    scale * (nreal) per);
  }
  return (nreal) total;
}

/* Training losses with their gradients fused in (PyTorch 1.13 semantics).
 *
 * Every loss returns its (unscaled) value and, when the gradient pointer is not NULL,
 * ADDS scale * d(loss)/d(input) into it, so a caller weighting several losses passes
 * each one's weight as scale. Kernels never allocate: CTC takes its alpha/beta tables
 * as a caller-provided workspace. _f64 twins serve the finite-difference tests. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  NERVE_REDUCTION_MEAN, /* PyTorch's default for each loss (for CTC: see below) */
  NERVE_REDUCTION_SUM,
} NerveReduction;

/* Mean cross-entropy of softmax(logits) over rows, like F.cross_entropy: rows whose
 * target is < 0 are ignored; with class_weights the mean is Σ w[y]·l / Σ w[y] over the
 * kept rows. When every row is ignored the loss is 0 and nothing is added (PyTorch
 * returns NaN). A target >= C is a programmer error (critical, returns NaN).
 * logits [N,C], targets [N], class_weights [C] or NULL, dlogits [N,C] or NULL. */
float nerve_cross_entropy (float *dlogits, const float *logits, const int *targets,
                           const float *class_weights, int N, int C, float scale);
double nerve_cross_entropy_f64 (double *dlogits, const double *logits, const int *targets,
                                const double *class_weights, int N, int C, double scale);
/* The naive loop the vectorised kernel is tested against (same contract). */
float nerve_cross_entropy_ref (float *dlogits, const float *logits, const int *targets,
                               const float *class_weights, int N, int C, float scale);
double nerve_cross_entropy_ref_f64 (double *dlogits, const double *logits, const int *targets,
                                    const double *class_weights, int N, int C, double scale);

/* mean((pred - target)^2) over n elements; dpred [n] or NULL. */
float nerve_mse_loss (float *dpred, const float *pred, const float *target, gsize n, float scale);
double nerve_mse_loss_f64 (double *dpred, const double *pred, const double *target, gsize n, double scale);
/* mean(|pred - target|); the gradient at pred == target is 0 like PyTorch's. */
float nerve_l1_loss (float *dpred, const float *pred, const float *target, gsize n, float scale);
double nerve_l1_loss_f64 (double *dpred, const double *pred, const double *target, gsize n, double scale);

/* Connectionist temporal classification over raw logits (log-softmax is fused in, so the
 * gradient is w.r.t. the LOGITS), forward-backward in log space.
 *  logits [N,T,C] batch first; input_lengths [N] (<= T; frames past a sample's length are
 *  ignored and get no gradient); targets: the N label sequences concatenated (PyTorch's
 *  1-D form), target_lengths [N]; labels in [0,C) and != blank.
 *  reduction MEAN is F.ctc_loss's default: each loss divided by max(target length, 1),
 *  then the mean over the batch; SUM adds the losses.
 *  A sample whose target cannot be aligned (T_in < L + repeated neighbours) has loss
 *  +inf like PyTorch, and adds NO gradient (PyTorch's would be NaN); with zero_infinity
 *  its loss is 0 (it still counts in the batch mean).
 *  losses [N] or NULL receives each sample's unreduced loss (after zero_infinity).
 *  workspace: nerve_ctc_workspace_size (N, T, C, max target length) floats.
 * Returns the reduced loss; dlogits [N,T,C] or NULL gets += scale * its gradient. */
gsize nerve_ctc_workspace_size (int N, int T, int C, int max_target_len);
float nerve_ctc_loss (float *dlogits, float *losses, float *workspace, const float *logits,
                      const int *input_lengths, const int *targets, const int *target_lengths,
                      int N, int T, int C, int blank, NerveReduction reduction,
                      gboolean zero_infinity, float scale);
double nerve_ctc_loss_f64 (double *dlogits, double *losses, double *workspace, const double *logits,
                           const int *input_lengths, const int *targets, const int *target_lengths,
                           int N, int T, int C, int blank, NerveReduction reduction,
                           gboolean zero_infinity, double scale);
/* The per-state loop the vectorised recursion is tested against (same contract). */
float nerve_ctc_loss_ref (float *dlogits, float *losses, float *workspace, const float *logits,
                          const int *input_lengths, const int *targets, const int *target_lengths,
                          int N, int T, int C, int blank, NerveReduction reduction,
                          gboolean zero_infinity, float scale);
double nerve_ctc_loss_ref_f64 (double *dlogits, double *losses, double *workspace, const double *logits,
                               const int *input_lengths, const int *targets, const int *target_lengths,
                               int N, int T, int C, int blank, NerveReduction reduction,
                               gboolean zero_infinity, double scale);

G_END_DECLS

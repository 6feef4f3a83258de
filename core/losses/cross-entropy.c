/* Softmax cross-entropy over rows of logits, fused with its gradient. It runs on every
 * classification batch, so the row passes are vectorised (rowops.h); the naive loop it
 * is tested against stays below as nerve_cross_entropy_ref. */
#include "../loss.h"
#include "../real.h"
#include "rowops.h"

/* Σ w[y] over the kept rows, or -1 when a target is out of range. */
static double
NK (weight_sum) (const int *targets, const nreal *class_weights, int N, int C)
{
  double wsum = 0;
  for (int n = 0; n < N; n++) {
    int y = targets[n];
    if (y >= C)
      return -1;
    if (y >= 0)
      wsum += class_weights ? (double) class_weights[y] : 1.0;
  }
  return wsum;
}

nreal
NK (nerve_cross_entropy) (nreal *dlogits,             /* [N,C] or NULL */
                          const nreal *logits,        /* [N,C] */
                          const int *targets,         /* [N], < 0 = ignored */
                          const nreal *class_weights, /* [C] or NULL */
                          int N, int C, nreal scale)
{
  g_return_val_if_fail (N >= 0 && C > 0, (nreal) NAN);
  double wsum = NK (weight_sum) (targets, class_weights, N, C);
  g_return_val_if_fail (wsum >= 0, (nreal) NAN); /* a target >= C */
  if (wsum == 0)
    return 0;
  double loss = 0;
  nreal g = scale / (nreal) wsum;
  for (int n = 0; n < N; n++) {
    int y = targets[n];
    if (y < 0)
      continue;
    const nreal *x = logits + (gsize) n * C;
    nreal wy = class_weights ? class_weights[y] : 1;
    nreal m = nerve_row_max (x, C);
    nreal s = nerve_row_sum_exp (x, m, C);
    loss += (double) (wy * (m + log (s) - x[y]));
    if (dlogits) {
      nreal *d = dlogits + (gsize) n * C;
      nerve_row_add_scaled_exp (d, x, m, g * wy / s, C);
      d[y] -= g * wy;
    }
  }
  return (nreal) (loss / wsum);
}

nreal
NK (nerve_cross_entropy_ref) (nreal *dlogits, const nreal *logits, const int *targets,
                              const nreal *class_weights, int N, int C, nreal scale)
{
  g_return_val_if_fail (N >= 0 && C > 0, (nreal) NAN);
  double wsum = NK (weight_sum) (targets, class_weights, N, C);
  g_return_val_if_fail (wsum >= 0, (nreal) NAN);
  if (wsum == 0)
    return 0;
  double loss = 0;
  for (int n = 0; n < N; n++) {
    int y = targets[n];
    if (y < 0)
      continue;
    const nreal *x = logits + (gsize) n * C;
    nreal wy = class_weights ? class_weights[y] : 1;
    nreal m = x[0];
    for (int c = 1; c < C; c++)
      m = x[c] > m ? x[c] : m;
    nreal s = 0;
    for (int c = 0; c < C; c++)
      s += exp (x[c] - m);
    loss += (double) (wy * (m + log (s) - x[y]));
    if (dlogits)
      for (int c = 0; c < C; c++)
        dlogits[(gsize) n * C + c] += scale * wy / (nreal) wsum * (exp (x[c] - m) / s - (c == y));
  }
  return (nreal) (loss / wsum);
}

/* Regression losses: mean squared error and mean absolute error. */
#include "../loss.h"
#include "../real.h"

nreal
NK (nerve_mse_loss) (nreal *dpred,        /* [n] or NULL */
                     const nreal *pred,   /* [n] */
                     const nreal *target, /* [n] */
                     gsize n, nreal scale)
{
  if (n == 0)
    return 0;
  double sum = 0;
  for (gsize i = 0; i < n; i++) {
    nreal e = pred[i] - target[i];
    sum += (double) (e * e);
  }
  if (dpred) {
    nreal g = 2 * scale / (nreal) n;
    for (gsize i = 0; i < n; i++)
      dpred[i] += g * (pred[i] - target[i]);
  }
  return (nreal) (sum / (double) n);
}

nreal
NK (nerve_l1_loss) (nreal *dpred,        /* [n] or NULL */
                    const nreal *pred,   /* [n] */
                    const nreal *target, /* [n] */
                    gsize n, nreal scale)
{
  if (n == 0)
    return 0;
  double sum = 0;
  for (gsize i = 0; i < n; i++)
    sum += (double) fabs (pred[i] - target[i]);
  if (dpred) {
    nreal g = scale / (nreal) n;
    for (gsize i = 0; i < n; i++) {
      nreal e = pred[i] - target[i];
      dpred[i] += e > 0 ? g : e < 0 ? -g : 0;
    }
  }
  return (nreal) (sum / (double) n);
}

/* Losses of the "mask" denoiser: a compressed spectral loss on the masked noisy
 * spectrum (magnitude and phase-aware terms) and binary cross-entropy for the voice
 * activity output, both on [N, T, stride] network outputs with per-sample lengths. */
#include "../denoise-train.h"
#include "../real.h"

/* Per bin, Y = g X (the mask keeps the noisy phase), P = |X|^2, Q = |S|^2:
 *   a = (g^2 P + eps)^(c/2),  s = (Q + eps)^(c/2),  cos = cos(angle X - angle S)
 *   l = (1 - alpha) (a - s)^2 + alpha |a e^{j angle X} - s e^{j angle S}|^2
 *     = (1 - alpha) (a - s)^2 + alpha (a^2 + s^2 - 2 a s cos)
 *   dl/da = 2 (a - s ((1 - alpha) + alpha cos)),  da/dg = c g P (g^2 P + eps)^(c/2 - 1)
 * Sample n's mean over its frames and bins is divided by the mean of (P + eps)^c over
 * the same (its noisy input's compressed energy, a constant), so loud and quiet
 * mixtures weigh the same; the result is the mean over samples. */
nreal
NK (nerve_spectral_mask_loss) (nreal *dgain,       /* [N, T, stride] or NULL */
                               const nreal *gain,  /* [N, T, stride], bins 0..K-1 used */
                               const nreal *noisy, /* [N, T, 2K] re, im interleaved */
                               const nreal *clean, /* [N, T, 2K] */
                               const int *lengths, /* [N] frames, or NULL = T */
                               int N, int T, int K, int stride, nreal compress, nreal alpha, nreal scale)
{
  const nreal eps = (nreal) NERVE_SPECTRAL_EPS, c = compress, h = c / 2;
  double total = 0;
  for (int n = 0; n < N; n++) {
    int len = lengths ? CLAMP (lengths[n], 0, T) : T;
    if (len == 0)
      continue;
    double norm = 0;
    for (int t = 0; t < len; t++) {
      const nreal *x = noisy + ((gsize) n * T + t) * 2 * K;
      for (int k = 0; k < K; k++)
        norm += (double) pow (x[2 * k] * x[2 * k] + x[2 * k + 1] * x[2 * k + 1] + eps, c);
    }
    const double w = 1 / (norm + 1e-30); /* = 1 / (len K mean), folding in the mean */
    double sum = 0;
    for (int t = 0; t < len; t++) {
      gsize row = (gsize) n * T + t;
      const nreal *x = noisy + row * 2 * K, *sp = clean + row * 2 * K, *g = gain + row * stride;
      for (int k = 0; k < K; k++) {
        nreal xr = x[2 * k], xi = x[2 * k + 1], sr = sp[2 * k], si = sp[2 * k + 1];
        nreal P = xr * xr + xi * xi, Q = sr * sr + si * si;
        nreal den = sqrt (P * Q);
        nreal cs = den > 0 ? (xr * sr + xi * si) / den : (nreal) 1;
        nreal u = g[k] * g[k] * P + eps, a = pow (u, h), s = pow (Q + eps, h);
        nreal l = (1 - alpha) * (a - s) * (a - s) + alpha * (a * a + s * s - 2 * a * s * cs);
        sum += (double) l;
        if (dgain) {
          nreal dl_da = 2 * (a - s * ((1 - alpha) + alpha * cs));
          nreal da_dg = c * g[k] * P * a / u;
          dgain[row * stride + k] += scale * (nreal) (w / N) * dl_da * da_dg;
        }
      }
    }
    total += sum * w;
  }
  return (nreal) (total / MAX (N, 1));
}

/* Mean binary cross-entropy over the valid frames of column `col` (PyTorch's BCELoss:
 * log clamped at -100, gradient (p - y) / max(p (1 - p), 1e-12)). */
nreal
NK (nerve_vad_bce_loss) (nreal *dout,         /* [N, T, stride] or NULL */
                         const nreal *out,    /* [N, T, stride] probabilities */
                         const nreal *target, /* [N, T] in [0, 1] */
                         const int *lengths,  /* [N] or NULL = T */
                         int N, int T, int stride, int col, nreal scale)
{
  gsize frames = 0;
  for (int n = 0; n < N; n++)
    frames += (gsize) (lengths ? CLAMP (lengths[n], 0, T) : T);
  if (frames == 0)
    return 0;
  double sum = 0;
  for (int n = 0; n < N; n++) {
    int len = lengths ? CLAMP (lengths[n], 0, T) : T;
    for (int t = 0; t < len; t++) {
      gsize row = (gsize) n * T + t;
      nreal p = out[row * stride + col], y = target[row];
      nreal lp = MAX (log (p), (nreal) -100), lq = MAX (log (1 - p), (nreal) -100);
      sum -= (double) (y * lp + (1 - y) * lq);
      if (dout)
        dout[row * stride + col] += scale / (nreal) frames * (p - y) / MAX (p * (1 - p), (nreal) 1e-12);
    }
  }
  return (nreal) (sum / (double) frames);
}

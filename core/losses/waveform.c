/* Time-domain losses of the "mask" denoiser: the masked noisy spectra are turned back
 * into a waveform exactly as nerve_stft_synthesize does (inverse real FFT, synthesis
 * window scaled by 1/C, overlap-add; frame t's sample i lands on output sample
 * t hop + i), the output is aligned with the clean target by the STFT latency
 * (size - hop) and scored by negative SI-SDR or negative SNR in dB. The gradient goes
 * back through the same steps: the adjoint of the overlap-add is the window times the
 * output gradient under each frame, the adjoint of the inverse real DFT is c_k / n
 * times the forward real DFT (c_k = 1 for the DC and Nyquist bins, whose imaginary
 * parts the inverse ignores, 2 otherwise), and Y = g X gives
 * dL/dg = Re(dL/dY) Re X + Im(dL/dY) Im X. */
#include "../denoise-train.h"
#include "../fft.h"
#include "../real.h"

/* cos and sin of 2 pi m / n with m reduced first, so large k i products stay exact */
static inline nreal
cos_at (gsize m, int n)
{
  return cos ((nreal) (2 * G_PI) * (nreal) (m % (gsize) n) / (nreal) n);
}

static inline nreal
sin_at (gsize m, int n)
{
  return sin ((nreal) (2 * G_PI) * (nreal) (m % (gsize) n) / (nreal) n);
}

static inline nreal
bin_factor (int k, int n)
{
  return k == 0 || (n % 2 == 0 && k == n / 2) ? 1 : 2;
}

/* numpy.fft.irfft by the definition: out[i] = 1/n sum_k c_k (Re Y_k cos - Im Y_k sin). */
void
NK (nerve_irdft_ref) (nreal *out,        /* [rows, n] */
                      const nreal *spec, /* [rows, 2 (n/2 + 1)] */
                      int rows, int n)
{
  const int K = n / 2 + 1;
  for (int r = 0; r < rows; r++) {
    const nreal *y = spec + (gsize) r * 2 * K;
    nreal *o = out + (gsize) r * n;
    for (int i = 0; i < n; i++) {
      nreal acc = 0;
      for (int k = 0; k < K; k++) {
        nreal im = k == 0 || (n % 2 == 0 && k == n / 2) ? 0 : y[2 * k + 1];
        acc += bin_factor (k, n) * (y[2 * k] * cos_at ((gsize) k * i, n) - im * sin_at ((gsize) k * i, n));
      }
      o[i] = acc / (nreal) n;
    }
  }
}

/* Its adjoint (adds): dspec_k = c_k / n (sum_i d_i cos, -sum_i d_i sin), 0 for the
 * imaginary parts the inverse ignores. */
void
NK (nerve_irdft_ref_backward) (nreal *dspec,       /* [rows, 2 (n/2 + 1)] */
                               const nreal *dout,  /* [rows, n] */
                               int rows, int n)
{
  const int K = n / 2 + 1;
  for (int r = 0; r < rows; r++) {
    nreal *dy = dspec + (gsize) r * 2 * K;
    const nreal *d = dout + (gsize) r * n;
    for (int k = 0; k < K; k++) {
      nreal re = 0, im = 0;
      for (int i = 0; i < n; i++) {
        re += d[i] * cos_at ((gsize) k * i, n);
        im -= d[i] * sin_at ((gsize) k * i, n);
      }
      nreal f = bin_factor (k, n) / (nreal) n;
      dy[2 * k] += f * re;
      if (!(k == 0 || (n % 2 == 0 && k == n / 2)))
        dy[2 * k + 1] += f * im;
    }
  }
}

/* One frame's inverse transform / its adjoint: the FFT in the float build when a plan
 * is given, else the definition (the double build always uses the definition). */
static void
inverse (NerveFft *fft, const nreal *spec, nreal *frame, int n)
{
#ifndef NERVE_F64
  if (fft) {
    nerve_fft_inverse (fft, spec, frame);
    return;
  }
#else
  (void) fft;
#endif
  NK (nerve_irdft_ref) (frame, spec, 1, n);
}

/* dspec = adjoint applied to dframe (overwrites; dframe is clobbered by the FFT path) */
static void
inverse_adjoint (NerveFft *fft, nreal *dframe, nreal *dspec, int n)
{
  const int K = n / 2 + 1;
#ifndef NERVE_F64
  if (fft) {
    nerve_fft_forward (fft, dframe, dspec);
    for (int k = 0; k < K; k++) {
      nreal f = bin_factor (k, n) / (nreal) n;
      dspec[2 * k] *= f;
      dspec[2 * k + 1] = k == 0 || (n % 2 == 0 && k == n / 2) ? 0 : f * dspec[2 * k + 1];
    }
    return;
  }
#else
  (void) fft;
#endif
  for (int k = 0; k < 2 * K; k++)
    dspec[k] = 0;
  NK (nerve_irdft_ref_backward) (dspec, dframe, 1, n);
}

/* Negative SI-SDR or SNR (dB) of est against ref, both [n]; dest (may be NULL) gets
 * += scale * gradient. FALSE (nothing added) when ref is silent: neither is defined.
 *   SI-SDR: a = <e,s>, b = <s,s>, alpha = a / b, r = e - alpha s, P = alpha^2 b, R = |r|^2
 *     L = -10 log10 ((P + eps) / (R + eps)),  dL/de = -(10 / ln 10) (2 alpha s / (P + eps) - 2 r / (R + eps))
 *   SNR:    D = |e - s|^2,  L = -10 log10 ((b + eps) / (D + eps)),  dL/de = (10 / ln 10) 2 (e - s) / (D + eps)
 * eps = 1e-8 b keeps the logarithms finite for an all-zero estimate. */
gboolean
NK (nerve_waveform_loss) (nreal *dest,       /* [n] or NULL */
                          const nreal *est,  /* [n] */
                          const nreal *ref,  /* [n] */
                          gsize n, NerveWaveLoss kind, nreal scale, nreal *loss)
{
  double a = 0, b = 0;
  for (gsize i = 0; i < n; i++) {
    a += (double) (est[i] * ref[i]);
    b += (double) (ref[i] * ref[i]);
  }
  if (!(b > 1e-20))
    return FALSE;
  const double eps = 1e-8 * b, db = 10 / G_LN10;
  if (kind == NERVE_WAVE_LOSS_SNR) {
    double D = 0;
    for (gsize i = 0; i < n; i++)
      D += (double) ((est[i] - ref[i]) * (est[i] - ref[i]));
    *loss = (nreal) (-db * (log (b + eps) - log (D + eps)));
    if (dest) {
      nreal g = scale * (nreal) (db * 2 / (D + eps));
      for (gsize i = 0; i < n; i++)
        dest[i] += g * (est[i] - ref[i]);
    }
    return TRUE;
  }
  const double alpha = a / b, P = alpha * alpha * b;
  double R = 0;
  for (gsize i = 0; i < n; i++) {
    double r = (double) est[i] - alpha * (double) ref[i];
    R += r * r;
  }
  *loss = (nreal) (-db * (log (P + eps) - log (R + eps)));
  if (dest) {
    const double gs = -db * 2 * alpha / (P + eps), gr = db * 2 / (R + eps);
    for (gsize i = 0; i < n; i++) {
      double r = (double) est[i] - alpha * (double) ref[i];
      dest[i] += scale * (nreal) (gs * (double) ref[i] + gr * r);
    }
  }
  return TRUE;
}

gsize
NK (nerve_mask_waveform_work_size) (int frames, int size, int hop)
{
  return (gsize) 2 * (gsize) frames * (gsize) hop + 2 * ((gsize) size + 2);
}

/* Per sample n: Y_t = g_t X_t for its first `frames` frames, y = overlap-add of
 * window * irfft(Y_t), e = y[size - hop ...] (aligned with clean[0 ...], frames hop -
 * (size - hop) samples), loss_n = nerve_waveform_loss (e, clean_n). Returns the mean
 * over the samples with a non-silent target (*counted of them; 0 when none) and adds
 * scale / counted * dL/dg to dgain. */
nreal
NK (nerve_mask_waveform_loss) (nreal *dgain,         /* [N, T, stride] or NULL */
                               nreal *work,          /* [nerve_mask_waveform_work_size] */
                               const nreal *gain,    /* [N, T, stride], bins 0..K-1 used */
                               const nreal *noisy,   /* [N, T, 2K] noisy spectra */
                               const nreal *clean,   /* [N, frames hop] clean target */
                               const nreal *window,  /* [size] synthesis window times 1/C */
                               NerveFft *fft,        /* size-point plan, or NULL */
                               int N, int T, int frames, int K, int stride, int size, int hop,
                               NerveWaveLoss kind, nreal scale, int *counted)
{
  g_return_val_if_fail (K == size / 2 + 1 && frames <= T && frames * hop > size - hop, 0);
  const gsize len = (gsize) frames * hop, lat = (gsize) (size - hop), L = len - lat;
  nreal *y = work, *dy = work + len, *frame = dy + len, *spec = frame + size + 2;
  double total = 0;
  int used = 0;
  /* first pass: which samples count (the mean's denominator) */
  for (int n = 0; n < N; n++) {
    const nreal *s = clean + (gsize) n * len;
    double b = 0;
    for (gsize i = 0; i < L; i++)
      b += (double) (s[i] * s[i]);
    used += b > 1e-20;
  }
  if (counted)
    *counted = used;
  if (used == 0)
    return 0;
  for (int n = 0; n < N; n++) {
    for (gsize i = 0; i < len; i++)
      y[i] = 0;
    for (int t = 0; t < frames; t++) {
      gsize row = (gsize) n * T + t;
      const nreal *x = noisy + row * 2 * K, *g = gain + row * stride;
      for (int k = 0; k < K; k++) {
        spec[2 * k] = g[k] * x[2 * k];
        spec[2 * k + 1] = g[k] * x[2 * k + 1];
      }
      inverse (fft, spec, frame, size);
      nreal *o = y + (gsize) t * hop;
      gsize m = MIN ((gsize) size, len - (gsize) t * hop);
      for (gsize i = 0; i < m; i++)
        o[i] += window[i] * frame[i];
    }
    for (gsize i = 0; i < len; i++)
      dy[i] = 0;
    nreal l = 0;
    if (!NK (nerve_waveform_loss) (dgain ? dy + lat : NULL, y + lat, clean + (gsize) n * len, L, kind,
                                   scale / (nreal) used, &l))
      continue;
    total += (double) l;
    if (!dgain)
      continue;
    for (int t = 0; t < frames; t++) {
      gsize row = (gsize) n * T + t;
      const nreal *x = noisy + row * 2 * K, *d = dy + (gsize) t * hop;
      gsize m = MIN ((gsize) size, len - (gsize) t * hop);
      for (int i = 0; i < size; i++)
        frame[i] = (gsize) i < m ? window[i] * d[i] : 0;
      inverse_adjoint (fft, frame, spec, size);
      nreal *dg = dgain + row * stride;
      for (int k = 0; k < K; k++)
        dg[k] += spec[2 * k] * x[2 * k] + spec[2 * k + 1] * x[2 * k + 1];
    }
  }
  return (nreal) (total / used);
}

/* RNNoise's signal processing (Valin 2018), private to the "rnnoise" denoiser front
 * end: 22 triangular bands over a 960-point spectrum at 48 kHz, the 42 network
 * features, the pitch analysis that feeds them (CELT-style: 2x decimated LPC-whitened
 * signal, coarse-to-fine correlation search, octave-error check) and the pitch comb
 * filter applied in the frequency domain.
 *
 * Spectra are 481 interleaved complex bins (fft.h layout). Features:
 *   0..21   cepstrum of the band log-energies (first 6: sum over the last 3 frames)
 *   22..27  first difference of the first 6 cepstral coefficients over 2 frames
 *   28..33  second difference
 *   34..39  DCT of the band correlation between the frame and its pitch-delayed copy
 *   40      pitch period (0.01 * (period - 300))
 *   41      spectral variability (nearest-neighbour distance over 8 cepstra)
 * The arithmetic order of the pitch search follows the reference implementations, so
 * the same input gives the same (integer) period decisions as ffmpeg's arnndn. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

#define NERVE_RNN_HOP 480
#define NERVE_RNN_WINDOW 960
#define NERVE_RNN_BINS 481
#define NERVE_RNN_BANDS 22
#define NERVE_RNN_FEATURES 42
#define NERVE_RNN_CEPS_MEM 8
#define NERVE_RNN_PITCH_MIN 60
#define NERVE_RNN_PITCH_MAX 768
#define NERVE_RNN_PITCH_BUF (NERVE_RNN_PITCH_MAX + NERVE_RNN_WINDOW)

/* Analysis state carried from frame to frame. Zeroed = the start of a stream. */
typedef struct {
  float pitch_buf[NERVE_RNN_PITCH_BUF]; /* the last 1728 (high-passed) samples */
  float cepstrum[NERVE_RNN_CEPS_MEM][NERVE_RNN_BANDS];
  int ceps_pos;
  int last_period;
  float last_gain;
} NerveRnnoiseAnalysis;

/* Band energies sum |X|^2 with triangular weights between band edges (the first and
 * last band doubled, so each covers a full triangle). */
void nerve_rnnoise_band_energy (const float *X /* [2*481] */, float *E /* [22] */);
/* The same for Re(X conj(P)). */
void nerve_rnnoise_band_corr (const float *X, const float *P, float *E /* [22] */);
/* Per-bin values from per-band ones: linear between band starts; 0 above 20 kHz. */
void nerve_rnnoise_interp_band_gain (const float *band /* [22] */, float *bin /* [481] */);
/* Orthonormal DCT-II of 22 values (the cepstrum of band log-energies). */
void nerve_rnnoise_dct (const float *in /* [22] */, float *out /* [22] */);

/* Appends one hop of (high-passed) samples to the pitch buffer and returns the pitch
 * period in samples (60..768); the analysis state's last period/gain are updated. */
int nerve_rnnoise_pitch (NerveRnnoiseAnalysis *a, const float *x /* [480] */);
/* The pitch-delayed window: 960 samples ending `period` samples before the buffer's
 * end, the signal P is computed from. */
const float *nerve_rnnoise_pitch_window (const NerveRnnoiseAnalysis *a, int period);

/* The 42 features from the frame's band energies Ex, the normalised band correlation
 * Exp with the pitch-delayed frame, and the period. FALSE (features zeroed, state
 * untouched) when the frame is silent: the network must not run then. */
gboolean nerve_rnnoise_features (NerveRnnoiseAnalysis *a, const float *Ex, const float *Exp, int period,
                                 float *features /* [42] */);

/* The pitch comb filter: adds as much of the pitch-delayed spectrum P to X per band as
 * the band's gain g and pitch correlation Exp call for, then restores each band's
 * energy Ex. */
void nerve_rnnoise_pitch_filter (float *X, const float *P, const float *Ex, const float *Ep, const float *Exp,
                                 const float *g /* [22] */);

G_END_DECLS

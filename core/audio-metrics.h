/* Speech-enhancement metrics, all on time-aligned signals of equal length n (align
 * first: nerve_audio_delay). Values in dB unless said otherwise. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* Scale-invariant SDR (Le Roux et al. 2019), zero-mean signals: 10 log10(|a s|^2 / |a s - e|^2)
 * with a = <e,s>/|s|^2. */
double nerve_si_sdr (const float *estimate, const float *reference, gsize n);
/* Plain SNR of the estimate against the reference: 10 log10(|s|^2 / |s - e|^2). */
double nerve_snr (const float *estimate, const float *reference, gsize n);
/* Short-Time Objective Intelligibility (Taal et al. 2011, the classic non-extended
 * form: 10 kHz, 256-sample frames, 15 one-third octave bands from 150 Hz, 384 ms
 * segments, silent frames (40 dB below the loudest) removed). 0..1. Returns NAN and
 * sets error when the signals are too short (fewer than 30 frames after silence removal). */
double nerve_stoi (const float *clean, const float *processed, gsize n, int rate, GError **error);
/* Lag in samples (0..max_lag) by which `delayed` trails `reference`, maximising their
 * cross-correlation. */
int nerve_audio_delay (const float *delayed, const float *reference, gsize n, int max_lag);

G_END_DECLS

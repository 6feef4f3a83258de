/* Streaming short-time Fourier analysis and overlap-add synthesis, hop samples at a
 * time. Frame t covers the last `size` samples pushed (the buffer starts zeroed), so
 * running the same signal through twice gives the same frames: training computes its
 * features with exactly the code the element streams with.
 *
 * Synthesis is scaled so that analyze -> synthesize of an unmodified spectrum gives the
 * input back delayed by size - hop samples (nerve_stft_latency); nerve_stft_new refuses
 * window/hop pairs whose overlap-added product is not constant. */
#pragma once
#include "fft.h"

G_BEGIN_DECLS

typedef enum {
  NERVE_WINDOW_RECT,
  NERVE_WINDOW_HANN,      /* periodic Hann */
  NERVE_WINDOW_SQRT_HANN, /* square root of periodic Hann: analysis = synthesis for 50 % overlap */
  NERVE_WINDOW_VORBIS,    /* power-complementary sin(pi/2 sin^2) window (RNNoise, Opus) */
} NerveWindowType;

/* "rect", "hann", "sqrt-hann", "vorbis". */
gboolean nerve_window_from_name (const char *name, NerveWindowType *type, GError **error);
const char *nerve_window_name (NerveWindowType type);
void nerve_window_fill (NerveWindowType type, float *w, int n);

typedef struct _NerveStft NerveStft;

NerveStft *nerve_stft_new (int size, int hop, NerveWindowType analysis, NerveWindowType synthesis,
                           GError **error);
void nerve_stft_free (NerveStft *s);
void nerve_stft_reset (NerveStft *s); /* zero both buffers */
int nerve_stft_size (const NerveStft *s);
int nerve_stft_hop (const NerveStft *s);
int nerve_stft_bins (const NerveStft *s);    /* size/2 + 1 */
int nerve_stft_latency (const NerveStft *s); /* size - hop samples */

/* Shifts hop new samples into the analysis buffer; spec gets the windowed frame's
 * spectrum [2*bins] (re,im interleaved). */
void nerve_stft_analyze (NerveStft *s, const float *in /* [hop] */, float *spec /* [2*bins] */);
/* Inverse-transforms spec, windows, overlap-adds; out gets hop finished samples. */
void nerve_stft_synthesize (NerveStft *s, const float *spec /* [2*bins] */, float *out /* [hop] */);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NerveStft, nerve_stft_free)

G_END_DECLS

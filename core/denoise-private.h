/* Front ends of the denoiser (denoise.h). Each lives in its own file
 * (denoise-mask.c, denoise-dtln.c, denoise-rnnoise.c) and is listed in
 * nerve_denoise_frontends[] in denoise.c. The framework does what is common: input
 * sanitising, dry/wet mix with a delay-aligned dry path, VAD muting, alignment and
 * draining in nerve_denoise_signal. */
#pragma once
#include "denoise.h"

G_BEGIN_DECLS

typedef struct {
  const char *name; /* nerve.denoise.frontend */
  /* Reads the model's metadata/blobs, checks shapes, allocates *state; sets *hop and
   * *latency (samples). The model's rate is already checked and passed in. */
  gboolean (*init) (NerveModel *m, int rate, gpointer *state, int *hop, int *latency, GError **error);
  void (*reset) (gpointer state);
  /* hop samples in, hop samples out (trailing by latency); gains never below min_gain
   * (linear, 0 = no limit); fills info->vad and info->snr_db (gain_db is the framework's). */
  void (*process) (gpointer state, const float *in, float *out, float min_gain, NerveDenoiseFrame *info);
  void (*free) (gpointer state);
} NerveDenoiseFrontend;

extern const NerveDenoiseFrontend nerve_denoise_mask_frontend;
extern const NerveDenoiseFrontend nerve_denoise_dtln_frontend;
extern const NerveDenoiseFrontend nerve_denoise_rnnoise_frontend;

/* Reads an integer metadata value in [min, max]; the error names the key and range. */
gboolean nerve_denoise_meta_int (NerveModel *m, const char *key, int min, int max, int *out, GError **error);

/* The "mask" front end's network input for one STFT frame, shared with training:
 * feat[k] = log10(re^2 + im^2 + 1e-10) for each of the bins. */
void nerve_denoise_mask_features (const float *spec /* [2*bins] */, int bins, float *feat /* [bins] */);

G_END_DECLS

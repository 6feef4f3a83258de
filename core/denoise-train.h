/* Training the "mask" denoiser (denoise.h): batches of mixtures from a NerveMixer are
 * framed by the STFT exactly as the denoiser frames them (nerve_stft_analyze from a
 * reset stream), turned into nerve_denoise_mask_features, run through the network as
 * sequences, and scored by a compressed spectral loss on the masked noisy spectrum
 * (+ binary cross-entropy on a voice-activity output when the model has one). Each
 * epoch ends with the mean SI-SDR improvement on a fixed validation set computed
 * through the real denoiser; the best model is kept, checkpoints are atomic and a
 * resumed run continues exactly as the uninterrupted one (step k's data and dropout
 * come from a generator seeded by (seed, k)). */
#pragma once
#include "denoise-data.h"
#include "model.h"
#include "stft.h"
#include "train.h"

G_BEGIN_DECLS

#define NERVE_SPECTRAL_EPS 1e-10

/* The time-domain loss on the resynthesised waveform (losses/waveform.c). */
typedef enum {
  NERVE_WAVE_LOSS_SISDR, /* negative scale-invariant SDR, dB */
  NERVE_WAVE_LOSS_SNR,   /* negative SNR, dB (DTLN's loss; also penalises a wrong level) */
} NerveWaveLoss;

typedef struct {
  /* front end, stored in the model's metadata */
  int rate, stft_size, stft_hop;
  NerveWindowType window;
  /* data */
  NerveMixConfig mix;
  float segment_s;        /* [mix] segment: training example length (s) */
  int val_mixtures;       /* [validation] mixtures */
  float val_seconds;      /* [validation] seconds each */
  guint64 val_seed;       /* [validation] seed */
  double val_fraction;    /* [data] validation_fraction: speech and noise files held for validation */
  /* loss */
  float compress;         /* [loss] compress: magnitude exponent c (0.3) */
  float complex_weight;   /* [loss] complex_weight: alpha of the phase-aware term (0.3) */
  float spectral_weight;  /* [loss] spectral_weight: weight of the compressed spectral loss (1) */
  float sisdr_weight;     /* [loss] sisdr_weight: weight of -SI-SDR (dB) of the resynthesised waveform (0) */
  float snr_weight;       /* [loss] snr_weight: weight of -SNR (dB) of the resynthesised waveform (0) */
  float vad_weight;       /* [loss] vad_weight: BCE weight when the model has a VAD output (0.05) */
  float vad_threshold_db; /* [loss] vad_threshold_db: a clean frame is voice when its energy is within
                           * this many dB of the segment's mean frame energy (30) */
  int steps_per_epoch;    /* [train] steps_per_epoch (500) */
  int log_every;          /* progress every so many steps (20) */
} NerveDenoiseTrainConfig;

void nerve_denoise_train_config_defaults (NerveDenoiseTrainConfig *c);

/* The training part of a recipe with task = denoise (recipe.h). */
typedef struct {
  NerveDenoiseTrainConfig cfg;
  char **speech, **noise, **rir; /* [data] file specs (denoise-data.h), relative to data_root */
  float *speech_weights, *noise_weights; /* [data] speech_weights, noise_weights: one pick weight per
                                          * spec (NULL = all 1) */
  float tts_weight;              /* [data] tts_weight (1) */
  char **exclude;                /* [data] exclude: globs never used (e.g. voice-like noise samples) */
  char *tts;                     /* [data] tts: folder of make-tts.sh output, resolved from the recipe's folder */
  char *heldout;                 /* [data] heldout: the held-out glob file, resolved from the recipe's folder */
  char **licenses;               /* [data] licenses: one line per source, stored in the model */
} NerveDenoiseRecipe;

void nerve_denoise_recipe_free (NerveDenoiseRecipe *r);
/* Parses only the [audio], [stft], [mix], [validation], [loss] and [train]
 * steps_per_epoch keys of a denoise recipe's text (what a model stores in
 * nerve.denoise.recipe), over the defaults: how `nerve finetune` mixes like training. */
gboolean nerve_denoise_config_from_recipe_text (const char *text, NerveDenoiseTrainConfig *c, GError **error);

/* Checks that m is a mask network for the config: input [T, bins], output [T, bins]
 * or [T, bins + 1] (VAD last), T frames at least one training segment. */
gboolean nerve_denoise_check_model (NerveModel *m, const NerveDenoiseTrainConfig *c, GError **error);
/* Writes the front-end metadata denoise.h lists (task, frontend, rate, STFT, vad). */
void nerve_denoise_set_meta (NerveModel *m, const NerveDenoiseTrainConfig *c);
/* Reads them back (finetuning): fills rate, STFT and window of c. */
gboolean nerve_denoise_config_from_model (NerveModel *m, NerveDenoiseTrainConfig *c, GError **error);

/* Data-dependent initialisation for a fresh model whose first layer is a dense on the
 * input: its weights and bias are rescaled so that it sees each feature standardised
 * (mean and std over `batches` batches of mixtures drawn from seed), i.e. the input
 * normalisation is folded into the layer. FALSE (nothing changed) otherwise. */
gboolean nerve_denoise_fold_input_norm (NerveModel *m, const NerveDenoiseTrainConfig *c, NerveMixer *mix,
                                        int batches, int batch, guint64 seed);

/* Mean SI-SDR of the denoised validation mixtures (nerve_denoise_signal through a fresh
 * NerveDenoiser of m, which needs the front-end metadata) minus that of the inputs;
 * *sisdr_in (may be NULL) gets the inputs' mean. NAN with error when the denoiser
 * cannot be made. */
double nerve_denoise_validate (NerveModel *m, const NerveMixSet *val, double *sisdr_in, GError **error);

typedef struct {
  NerveTrainPhase phase;
  int epoch, epochs;            /* 1-based; epoch 0 = the starting weights (fine-tuning) */
  int step, steps;              /* within the epoch */
  double loss, spec_loss, vad_loss; /* running means over the epoch (unweighted terms) */
  double wave_loss;             /* running mean of the time-domain term(s), dB (0 when off) */
  double steps_per_s, elapsed_s, eta_s;
  float lr;
  double val_sisdri, val_sisdr_in; /* EPOCH_END */
  gboolean improved, stopping;
} NerveDenoiseProgress;

typedef void (*NerveDenoiseProgressFn) (const NerveDenoiseProgress *p, gpointer user_data);

/* Trains m in place (it ends holding the best weights by validation SI-SDRi). tc gives
 * epochs, batch, seed, optimizer, schedule, clip_norm, patience/min_delta, out,
 * checkpoint, resume, stop_after and baseline_first as for classifiers (train.h); m
 * must carry the front-end metadata. */
gboolean nerve_denoise_train (NerveModel *m, const NerveDenoiseTrainConfig *c, const NerveTrainConfig *tc,
                              NerveMixer *mix, const NerveMixSet *val, NerveDenoiseProgressFn progress,
                              gpointer user_data, GError **error);

/* Spectral-domain pieces, exposed for tests. One mixture of n = frames * hop samples
 * framed from a reset STFT: spec [frames, 2 bins], feat [frames, bins] (may be NULL). */
void nerve_denoise_frames (NerveStft *s, const float *x, int frames, float *spec, float *feat);
/* VAD targets [frames] from the clean spectrum: 1 where the frame's energy is above
 * the mean frame energy minus threshold_db (all 0 for silence). */
void nerve_denoise_vad_targets (const float *clean_spec, int frames, int bins, float threshold_db, float *vad);

/* Losses (losses/spectral.c), see there for the formulas; dgain/dout get += scale * gradient. */
float nerve_spectral_mask_loss (float *dgain, const float *gain, const float *noisy, const float *clean,
                                const int *lengths, int N, int T, int K, int stride, float compress, float alpha,
                                float scale);
double nerve_spectral_mask_loss_f64 (double *dgain, const double *gain, const double *noisy, const double *clean,
                                     const int *lengths, int N, int T, int K, int stride, double compress,
                                     double alpha, double scale);
float nerve_vad_bce_loss (float *dout, const float *out, const float *target, const int *lengths, int N, int T,
                          int stride, int col, float scale);
double nerve_vad_bce_loss_f64 (double *dout, const double *out, const double *target, const int *lengths, int N,
                               int T, int stride, int col, double scale);

/* Time-domain losses (losses/waveform.c). nerve_mask_waveform_loss resynthesises the
 * masked noisy spectra like nerve_stft_synthesize (window = the synthesis window times
 * 1/C, see nerve_denoise_synthesis_window), aligns the output with the clean target by
 * size - hop samples and returns the mean of nerve_waveform_loss over the samples whose
 * target is not silent (*counted, may be NULL); dgain gets += scale * gradient. fft: a
 * size-point plan (float build; NULL = the O(n^2) definition, as the double build). */
float nerve_mask_waveform_loss (float *dgain, float *work, const float *gain, const float *noisy, const float *clean,
                                const float *window, NerveFft *fft, int N, int T, int frames, int K, int stride,
                                int size, int hop, NerveWaveLoss kind, float scale, int *counted);
double nerve_mask_waveform_loss_f64 (double *dgain, double *work, const double *gain, const double *noisy,
                                     const double *clean, const double *window, NerveFft *fft, int N, int T,
                                     int frames, int K, int stride, int size, int hop, NerveWaveLoss kind,
                                     double scale, int *counted);
gsize nerve_mask_waveform_work_size (int frames, int size, int hop);
gsize nerve_mask_waveform_work_size_f64 (int frames, int size, int hop);
/* -SI-SDR or -SNR (dB) of est vs ref into *loss; dest gets += scale * gradient. FALSE
 * when ref is silent. */
gboolean nerve_waveform_loss (float *dest, const float *est, const float *ref, gsize n, NerveWaveLoss kind,
                              float scale, float *loss);
gboolean nerve_waveform_loss_f64 (double *dest, const double *est, const double *ref, gsize n, NerveWaveLoss kind,
                                  double scale, double *loss);
/* numpy.fft.irfft by its definition (the reference beside the FFT path) and its adjoint (adds). */
void nerve_irdft_ref (float *out, const float *spec, int rows, int n);
void nerve_irdft_ref_f64 (double *out, const double *spec, int rows, int n);
void nerve_irdft_ref_backward (float *dspec, const float *dout, int rows, int n);
void nerve_irdft_ref_backward_f64 (double *dspec, const double *dout, int rows, int n);
/* The synthesis window nerve_stft_synthesize applies: window / C, C the overlap-added
 * product of the (same) analysis and synthesis windows. */
void nerve_denoise_synthesis_window (NerveWindowType type, int size, int hop, float *w);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NerveDenoiseRecipe, nerve_denoise_recipe_free)

G_END_DECLS

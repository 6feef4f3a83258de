/* Streaming speech enhancement from one model file: a front end (framing, features,
 * how the network's output is applied) around a network run frame by frame with
 * NerveStream. The model is shared read-only; a NerveDenoiser is one stream.
 *
 * Model metadata every denoise model has:
 *   nerve.task              "denoise"
 *   nerve.denoise.frontend  "mask"    Nerve's own: STFT -> log-power features -> network
 *                                     -> per-bin gains [bins] (+ a VAD probability as an
 *                                     extra last output when nerve.denoise.vad = "1")
 *                           "dtln"    DTLN (Westhausen & Meyer 2020): two stages, an STFT
 *                                     magnitude mask then a learned-basis mask
 *                           "rnnoise" RNNoise (Valin 2018): 22 band gains + VAD from 42
 *                                     features, pitch filter, 48 kHz
 *   nerve.audio.rate        sample rate the model runs at
 * "mask" front end keys:
 *   nerve.stft.size, nerve.stft.hop    frame and hop in samples (e.g. 512 and 128)
 *   nerve.stft.window                  analysis = synthesis window name (stft.h)
 *   nerve.denoise.vad                  "1" when the last output unit is P(voice)
 * A front end keeps its extra networks (DTLN's second stage) as blobs of the model file
 * holding whole Nerve model files ("dtln.stage2"). */
#pragma once
#include "model.h"

G_BEGIN_DECLS

typedef struct _NerveDenoiser NerveDenoiser;

typedef struct {
  float vad;    /* voice probability of the frame, 0..1 (from the gains when the model has no VAD output) */
  float snr_db; /* estimated a-priori SNR of the frame: kept energy over removed energy */
  float gain_db; /* overall gain applied to the frame (output over input energy) */
} NerveDenoiseFrame;

NerveDenoiser *nerve_denoiser_new (NerveModel *m, GError **error);
void nerve_denoiser_free (NerveDenoiser *d);

int nerve_denoiser_rate (const NerveDenoiser *d);
int nerve_denoiser_hop (const NerveDenoiser *d);     /* samples consumed/produced per call */
int nerve_denoiser_latency (const NerveDenoiser *d); /* output trails input by this many samples */
const char *nerve_denoiser_frontend (const NerveDenoiser *d);
NerveModel *nerve_denoiser_model (const NerveDenoiser *d);

/* How far (dB, > 0) noise may be pushed down: gains never go below -limit dB.
 * G_MAXFLOAT (default) = no limit. */
void nerve_denoiser_set_attenuation_limit (NerveDenoiser *d, float db);
/* Dry/wet: 1 (default) = enhanced only, 0 = the (delay-aligned) input. */
void nerve_denoiser_set_mix (NerveDenoiser *d, float wet);
/* Frames whose voice probability is below threshold are muted (with a short fade);
 * 0 (default) = off. */
void nerve_denoiser_set_vad_threshold (NerveDenoiser *d, float threshold);

/* Forget all state (FLUSH, DISCONT). */
void nerve_denoiser_reset (NerveDenoiser *d);
/* Consumes hop samples, produces hop samples trailing the input by latency samples.
 * Non-finite input counts as silence and input is clamped to [-8, 8], so the recurrent
 * state never sees NaN/Inf; info may be NULL. */
void nerve_denoiser_process (NerveDenoiser *d, const float *in /* [hop] */, float *out /* [hop] */,
                             NerveDenoiseFrame *info);
/* Whole signal from a reset state, time-aligned: out[i] is the enhanced in[i] (the
 * latency is removed and the tail drained), same length n. frames (may be NULL) gets
 * one entry per hop of input, ceil(n / hop) entries (entry j describes the analysis
 * frame that ends with input hop j). */
void nerve_denoise_signal (NerveDenoiser *d, const float *in, gsize n, float *out, NerveDenoiseFrame *frames);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NerveDenoiser, nerve_denoiser_free)

G_END_DECLS

/* RNNoise's text weight files (".rnnn", the "rnnoise-nu model file version 1" format
 * that ffmpeg's arnndn filter reads) -> Nerve denoise models run by the "rnnoise"
 * front end (denoise-rnnoise.c).
 *
 * The format: a header line, then six layers in a fixed order (input_dense, vad_gru,
 * noise_gru, denoise_gru, denoise_output, vad_output), each a line "inputs neurons
 * activation" (0 tanh, 1 sigmoid, 2 relu) followed by one line per array of integer
 * weights scaled by 1/256: dense: weights (input-major: all neurons of input 0, then
 * input 1...), bias; GRU: input weights, recurrent weights (per input row: gates z, r,
 * h, each over the neurons), bias (z, r, h). GRUs apply the reset gate before the
 * recurrent matrix (Nerve's "reset_after": false).
 *
 * The Nerve model ("input": [100, 42], any number of frames streams):
 *   input_dense(+act) -> vad_gru -> vad_output(+act) = vad
 *   [input_dense, vad_gru, features] -> noise_gru
 *   [vad_gru, noise_gru, features] -> denoise_gru -> denoise_output(+act) = gains
 *   output = [gains (22), vad (1)]
 * Metadata: nerve.task denoise, nerve.denoise.frontend rnnoise, nerve.audio.rate
 * 48000, nerve.rnnoise.scaling (see denoise-rnnoise.c), nerve.source (file name),
 * nerve.source.sha256, nerve.source.format, nerve.license. */
#pragma once
#include "model.h"

G_BEGIN_DECLS

#define NERVE_RNNOISE_FEATURES 42
#define NERVE_RNNOISE_BANDS 22
#define NERVE_RNNOISE_MAX_NEURONS 128 /* the format's limit (as ffmpeg's reader) */

/* TRUE when data starts like a .rnnn file (its header line). */
gboolean nerve_rnnn_detect (const guint8 *data, gsize len);

/* Parses a whole .rnnn text; `what` (a file name) starts every error message, which
 * names the line. Refuses anything that is not exactly the format: truncated arrays,
 * extra values, non-integers, weights outside [-128, 127], sizes that do not chain. */
NerveModel *nerve_import_rnnoise_from_data (const char *data, gsize len, const char *what, GError **error);
NerveModel *nerve_import_rnnoise (const char *path, GError **error);

G_END_DECLS

/* Import of DTLN (Westhausen & Meyer, Interspeech 2020; github breizhn/DTLN, MIT) from
 * its ONNX export (model_1.onnx + model_2.onnx) into a Nerve denoise model that the
 * "dtln" front end (denoise-dtln.c) runs.
 *
 * The Nerve model file:
 *   architecture   stage 1: magnitude [T, bins] -> lstm (2 layers) -> dense bins -> sigmoid
 *                  = the STFT-magnitude mask
 *   blob "dtln.stage2"  a whole Nerve model file: frame [T, N] -> dense enc (no bias,
 *                  the 1x1 Conv1D encoder; layer "encoder") -> layernorm (eps from the
 *                  file) -> lstm (2 layers) -> dense enc -> sigmoid = the learned-basis
 *                  mask; its extra tensor "decoder.weight" [N * enc] is the 1x1 Conv1D
 *                  decoder, row-major [N][enc]
 *   metadata       nerve.task=denoise, nerve.denoise.frontend=dtln, nerve.audio.rate=16000,
 *                  nerve.stft.size=N, nerve.stft.hop=N/4 (DTLN's block shift, 128 for its
 *                  512-sample frames; the files do not hold it), nerve.stft.window=rect,
 *                  nerve.source, nerve.license
 * LSTM gates are reordered to Nerve's (PyTorch's) i, f, g, o: ONNX LSTM nodes use
 * i, o, f, c with separate input/recurrent biases; Keras (unrolled in model_2.onnx)
 * uses i, f, c, o with one bias and transposed kernels. */
#pragma once
#include "import-onnx.h"
#include "model.h"

G_BEGIN_DECLS

#define NERVE_DTLN_STAGE2_BLOB "dtln.stage2"
#define NERVE_DTLN_DECODER "decoder.weight"

/* path: a folder holding model_1.onnx and model_2.onnx, or model_1.onnx itself
 * (model_2.onnx is looked up beside it). */
NerveModel *nerve_import_dtln (const char *path, GError **error);
/* From parsed graphs; what1/what2 name them in messages. */
NerveModel *nerve_import_dtln_onnx (const NerveOnnxGraph *stage1, const char *what1,
                                    const NerveOnnxGraph *stage2, const char *what2, GError **error);

G_END_DECLS

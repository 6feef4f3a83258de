/* Small "mask" denoise models built in tests (core/denoise.h): a dense layer (or a GRU
 * then a dense layer) and a sigmoid over log-power STFT features. */
#pragma once
#include "model.h"

/* size/hop/window: the STFT; hidden 0 = dense only, else a GRU of that width first;
 * vad adds the voice-probability output. With bias set (finite), the last dense
 * layer's weights are zero and its bias is `bias` everywhere, so every gain (and the
 * VAD) is sigmoid(bias): 30 passes audio through, -30 removes it. Otherwise weights are
 * random from seed. */
NerveModel *nerve_test_mask_model (int size, int hop, const char *window, int hidden, gboolean vad, float bias,
                                   guint64 seed, GError **error);

/* Gradient clipping by global norm (torch.nn.utils.clip_grad_norm_). */
#pragma once
#include "model.h"

G_BEGIN_DECLS

/* Returns the L2 norm of all trainable gradients (buffers excluded) before clipping and,
 * when it exceeds max_norm, scales them by max_norm / (norm + 1e-6). max_norm <= 0
 * only measures. A non-finite norm is returned with the gradients left untouched (the
 * caller should skip that step; PyTorch would turn them into NaN). */
float nerve_clip_grad_norm (NerveModel *m, float max_norm);

G_END_DECLS

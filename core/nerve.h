/* libnerve: the whole public API. */
#pragma once
#include "error.h"
#include "gemm.h"
#include "layer.h"
#include "model.h"
#include "rng.h"
#include "tensor.h"
#include "layers/activation.h"
#include "layers/dense.h"
#include "layers/conv1d.h"
#include "layers/conv2d.h"
#include "layers/conv_transpose2d.h"
#include "layers/im2col.h"

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
#include "layers/gru.h"
#include "layers/lstm.h"
#include "layers/rnn-common.h"

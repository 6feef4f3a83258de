/* libnerve: the whole public API. */
#pragma once
#include "dataset.h"
#include "error.h"
#include "gemm.h"
#include "layer.h"
#include "model.h"
#include "rng.h"
#include "tensor.h"
#include "layers/activation.h"
#include "layers/dense.h"
#include "layers/embedding.h"
#include "layers/attention.h"

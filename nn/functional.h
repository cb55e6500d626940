// The function forms of the layers: stateless, composed from tensor ops (so every gradient,
// of any order, comes from the primitives' rules).
//
//   Tensor h = nn::functional::gelu(matmul(x, w));
//   Tensor y = nn::functional::layer_norm(h, 1, gamma, beta);
//   Tensor d = nn::functional::dropout(y, 0.1, /*training=*/true);
//
// The modules in nn/modules/ hold the parameters and call these.
#pragma once

#include <optional>

#include "ctdl/tensor/ops.h"

namespace ctdl::nn::functional {

// ---- activations (relu, tanh, sigmoid, softplus are tensor ops) ---------------------------------
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor elu(const Tensor& x, double alpha = 1.0);
// x·sigmoid(x)
Tensor silu(const Tensor& x);
// The tanh approximation 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³))); ctdl has no erf.
Tensor gelu(const Tensor& x);

// ---- regularization -----------------------------------------------------------------------------
// Zeroes each element with probability p and scales the rest by 1/(1 - p) when training.
Tensor dropout(const Tensor& x, double p, bool training, Generator* generator = nullptr);

// ---- normalization ------------------------------------------------------------------------------
// x [N, C, ...] normalized per channel. Training uses the batch's statistics and, when
// running statistics are given, updates them in place: running = (1 - momentum)·running +
// momentum·batch (the variance unbiased). Evaluation uses the running statistics.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum = 0.1,
                  double eps = 1e-5);
// Normalizes over the last `normalized_dims` dimensions; weight and bias (optional) have
// their shape.
Tensor layer_norm(const Tensor& x, int normalized_dims, const Tensor& weight = {},
                  const Tensor& bias = {}, double eps = 1e-5);
// x [N, C, ...] normalized over groups of C/groups channels (and all positions); weight and
// bias (optional) are [C].
Tensor group_norm(const Tensor& x, int64_t groups, const Tensor& weight = {},
                  const Tensor& bias = {}, double eps = 1e-5);

// ---- pooling ------------------------------------------------------------------------------------
// x [N, C, H, W] -> [N, C, out_h, out_w]; output cell i averages input rows
// floor(i·H/out_h) .. ceil((i+1)·H/out_h) - 1 (and likewise for columns), as in PyTorch.
Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w);

}  // namespace ctdl::nn::functional

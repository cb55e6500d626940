// The activations that fused kernels apply in the same pass as the op before them.
//
//   Tensor h = bias_activation(matmul(x, w), b, Activation::Tanh);   // tanh(x·w + b)
#pragma once

#include <cstdint>

namespace ctdl {

enum class Activation : uint8_t { None, Relu, Tanh, Sigmoid };

}  // namespace ctdl

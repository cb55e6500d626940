#include "ctdl/nn/modules/mlp.h"

#include <string>

#include "ctdl/tensor/error.h"

namespace ctdl::nn {

MLP::MLP(const std::vector<int64_t>& dims, MLPOptions o) : Module("MLP"), activation(o.activation) {
  CTDL_CHECK(dims.size() >= 2,
             "MLP: dims must list the input and output features (at least two "
             "numbers), got ",
             dims.size());
  for (size_t k = 0; k + 1 < dims.size(); ++k)
    layers.push_back(register_module(
        "fc" + std::to_string(k + 1),
        Linear(dims[k], dims[k + 1], {.bias = o.bias, .dtype = o.dtype, .device = o.device})));
}

Tensor MLP::operator()(const Tensor& x) const {
  const int64_t in = layers.front().weight.shape()[1];
  CTDL_CHECK(x.dim() >= 1 && x.shape().back() == in, "MLP: expected input [..., ", in, "], got ",
             x.shape());
  TensorList weights, biases;
  weights.reserve(layers.size());
  biases.reserve(layers.size());
  for (const Linear& layer : layers) {
    weights.push_back(layer.weight);
    biases.push_back(layer.bias);
  }
  return mlp(x, weights, biases, activation);
}

}  // namespace ctdl::nn

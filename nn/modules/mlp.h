// A multilayer perceptron as one module and one op: the usual vector field of a neural ODE.
//
//   nn::MLP f({2, 64, 2});                        // f(z) = W2·tanh(W1·z + b1) + b2
//   Tensor dz = f(z);                             // z [batch, 2]
//   Tensor zs = ode::odeint(f, z0, {0.0, 1.0}, {.params = f.parameters()});  // f(t, z) = f(z)
//   nn::MLP g({4, 32, 32, 4}, {.activation = Activation::Relu, .bias = false});
//
// Its layers are Linear children named fc1, fc2, ... (PyTorch's layout: state dicts of a
// torch Sequential-free MLP with those names interchange, and the lab's "mlp" systems use
// the same names). The activation follows every layer but the last. The whole network is
// evaluated by ctdl::mlp: one graph node whose backward pass recomputes the hidden values
// instead of keeping them, and on the CPU, for networks of up to 8192 weights, a block of
// rows at a time with the hidden values in cache.
#pragma once

#include <vector>

#include "ctdl/nn/modules/linear.h"

namespace ctdl::nn {

struct MLPOptions {
  Activation activation = Activation::Tanh;
  bool bias = true;
  std::optional<DType> dtype;  // default float32
  Device device = Device::cpu();
};

class MLP : public Module {
 public:
  // dims: the input features, each hidden layer's width, the output features (two or more).
  explicit MLP(const std::vector<int64_t>& dims, MLPOptions options = {});
  Tensor operator()(const Tensor& x) const;
  // As the field of an autonomous ODE, dz/dt = MLP(z).
  Tensor operator()(double /*t*/, const Tensor& z) const { return (*this)(z); }

  std::vector<Linear> layers;  // fc1, fc2, ...
  Activation activation = Activation::Tanh;
};

}  // namespace ctdl::nn

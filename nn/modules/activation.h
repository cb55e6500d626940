// Activations as modules, for Sequential; each is a thin wrapper of the function in
// tensor/ops.h or nn/functional.h, without parameters.
//
//   nn::Sequential net(nn::Linear(2, 64), nn::Tanh(), nn::Linear(64, 2));
//   Tensor y = nn::LeakyReLU(0.2)(x);
#pragma once

#include "ctdl/nn/functional.h"
#include "ctdl/nn/module.h"

namespace ctdl::nn {

struct Identity : Module {
  Identity() : Module("Identity") {}
  Tensor operator()(const Tensor& x) const { return x; }
};

struct ReLU : Module {
  ReLU() : Module("ReLU") {}
  Tensor operator()(const Tensor& x) const { return relu(x); }
};

struct Tanh : Module {
  Tanh() : Module("Tanh") {}
  Tensor operator()(const Tensor& x) const { return tanh(x); }
};

struct Sigmoid : Module {
  Sigmoid() : Module("Sigmoid") {}
  Tensor operator()(const Tensor& x) const { return sigmoid(x); }
};

struct Softplus : Module {
  Softplus() : Module("Softplus") {}
  Tensor operator()(const Tensor& x) const { return softplus(x); }
};

struct SiLU : Module {
  SiLU() : Module("SiLU") {}
  Tensor operator()(const Tensor& x) const { return functional::silu(x); }
};

struct GELU : Module {
  GELU() : Module("GELU") {}
  Tensor operator()(const Tensor& x) const { return functional::gelu(x); }
};

struct LeakyReLU : Module {
  explicit LeakyReLU(double negative_slope = 0.01)
      : Module("LeakyReLU"), negative_slope(negative_slope) {}
  Tensor operator()(const Tensor& x) const { return functional::leaky_relu(x, negative_slope); }
  double negative_slope;
};

struct ELU : Module {
  explicit ELU(double alpha = 1.0) : Module("ELU"), alpha(alpha) {}
  Tensor operator()(const Tensor& x) const { return functional::elu(x, alpha); }
  double alpha;
};

// Softmax or log-softmax along a dimension.
struct Softmax : Module {
  explicit Softmax(int64_t dim = -1) : Module("Softmax"), dim(dim) {}
  Tensor operator()(const Tensor& x) const { return softmax(x, dim); }
  int64_t dim;
};

struct LogSoftmax : Module {
  explicit LogSoftmax(int64_t dim = -1) : Module("LogSoftmax"), dim(dim) {}
  Tensor operator()(const Tensor& x) const { return log_softmax(x, dim); }
  int64_t dim;
};

}  // namespace ctdl::nn

#include "ctdl/nn/init.h"

#include <cmath>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/tensor/error.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::nn::init {

double calculate_gain(Nonlinearity nonlinearity, double negative_slope) {
  switch (nonlinearity) {
    case Nonlinearity::Linear:
    case Nonlinearity::Sigmoid:
      return 1.0;
    case Nonlinearity::Tanh:
      return 5.0 / 3.0;
    case Nonlinearity::ReLU:
      return std::sqrt(2.0);
    case Nonlinearity::LeakyReLU:
      return std::sqrt(2.0 / (1.0 + negative_slope * negative_slope));
  }
  return 1.0;
}

std::pair<int64_t, int64_t> fans(const Tensor& weight) {
  CTDL_CHECK(weight.dim() >= 2, "init: fans need a weight with at least 2 dimensions, got shape ",
             weight.shape());
  int64_t receptive = 1;
  for (int d = 2; d < weight.dim(); ++d) receptive *= weight.shape()[d];
  return {weight.shape()[1] * receptive, weight.shape()[0] * receptive};
}

namespace {

// Writes `value` into t without recording: initializers run on parameters that require grad.
Tensor& assign(Tensor& t, const Tensor& value) {
  autograd::NoGradGuard no_grad;
  t.copy_(value);
  return t;
}

TensorOptions like(const Tensor& t) { return {.dtype = t.dtype(), .device = t.device()}; }

}  // namespace

Tensor& uniform_(Tensor& t, double low, double high, Generator* generator) {
  return assign(t, rand(t.shape(), like(t), generator) * (high - low) + low);
}

Tensor& normal_(Tensor& t, double mean, double std, Generator* generator) {
  return assign(t, randn(t.shape(), like(t), generator) * std + mean);
}

Tensor& constant_(Tensor& t, double value) {
  autograd::NoGradGuard no_grad;
  t.fill_(value);
  return t;
}

Tensor& zeros_(Tensor& t) { return constant_(t, 0.0); }
Tensor& ones_(Tensor& t) { return constant_(t, 1.0); }

Tensor& xavier_uniform_(Tensor& t, double gain, Generator* generator) {
  auto [fan_in, fan_out] = fans(t);
  double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  return uniform_(t, -bound, bound, generator);
}

Tensor& xavier_normal_(Tensor& t, double gain, Generator* generator) {
  auto [fan_in, fan_out] = fans(t);
  return normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)), generator);
}

namespace {

double kaiming_std(const Tensor& t, const KaimingOptions& o) {
  auto [fan_in, fan_out] = fans(t);
  int64_t fan = o.mode == FanMode::FanIn ? fan_in : fan_out;
  CTDL_CHECK(fan > 0, "init: kaiming initialization of an empty weight ", t.shape());
  return calculate_gain(o.nonlinearity, o.a) / std::sqrt(static_cast<double>(fan));
}

}  // namespace

Tensor& kaiming_uniform_(Tensor& t, KaimingOptions options, Generator* generator) {
  double bound = std::sqrt(3.0) * kaiming_std(t, options);
  return uniform_(t, -bound, bound, generator);
}

Tensor& kaiming_normal_(Tensor& t, KaimingOptions options, Generator* generator) {
  return normal_(t, 0.0, kaiming_std(t, options), generator);
}

void pytorch_default_(Tensor& weight, Tensor& bias, Generator* generator) {
  kaiming_uniform_(weight, {.a = std::sqrt(5.0)}, generator);
  if (bias.defined()) {
    double bound = 1.0 / std::sqrt(static_cast<double>(fans(weight).first));
    uniform_(bias, -bound, bound, generator);
  }
}

}  // namespace ctdl::nn::init

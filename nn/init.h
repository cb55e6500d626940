// Weight initialization, in place and without recording autograd.
//
//   nn::Linear fc(256, 128);
//   nn::init::kaiming_normal_(fc.weight, {.nonlinearity = nn::init::Nonlinearity::ReLU});
//   nn::init::zeros_(fc.bias);
//   Generator gen(7);
//   nn::init::xavier_uniform_(fc.weight, 1.0, &gen);   // seeded: the same numbers every run
//
// Fans follow PyTorch: for a weight [out, in, k...], fan_in = in·∏k and fan_out = out·∏k.
// Random initializers draw from `generator`, or from default_generator() when it is null,
// so `manual_seed(s)` before building a model makes its initial weights reproducible.
#pragma once

#include <utility>

#include "ctdl/tensor/random.h"
#include "ctdl/tensor/tensor.h"

namespace ctdl::nn::init {

enum class FanMode { FanIn, FanOut };
enum class Nonlinearity { Linear, Sigmoid, Tanh, ReLU, LeakyReLU };

// The recommended gain for a nonlinearity (sqrt(2) for ReLU, 5/3 for tanh, ...).
double calculate_gain(Nonlinearity nonlinearity, double negative_slope = 0.01);
// {fan_in, fan_out} of a weight with at least two dimensions.
std::pair<int64_t, int64_t> fans(const Tensor& weight);

struct KaimingOptions {
  double a = 0.0;  // negative slope of a leaky ReLU
  FanMode mode = FanMode::FanIn;
  Nonlinearity nonlinearity = Nonlinearity::LeakyReLU;
};

Tensor& uniform_(Tensor& t, double low = 0.0, double high = 1.0, Generator* generator = nullptr);
Tensor& normal_(Tensor& t, double mean = 0.0, double std = 1.0, Generator* generator = nullptr);
Tensor& constant_(Tensor& t, double value);
Tensor& zeros_(Tensor& t);
Tensor& ones_(Tensor& t);
// U(-b, b) with b = gain·sqrt(6 / (fan_in + fan_out)).
Tensor& xavier_uniform_(Tensor& t, double gain = 1.0, Generator* generator = nullptr);
// N(0, σ²) with σ = gain·sqrt(2 / (fan_in + fan_out)).
Tensor& xavier_normal_(Tensor& t, double gain = 1.0, Generator* generator = nullptr);
// U(-b, b) with b = gain·sqrt(3 / fan), gain from the nonlinearity and a.
Tensor& kaiming_uniform_(Tensor& t, KaimingOptions options = {}, Generator* generator = nullptr);
// N(0, σ²) with σ = gain / sqrt(fan).
Tensor& kaiming_normal_(Tensor& t, KaimingOptions options = {}, Generator* generator = nullptr);

// PyTorch's default for Linear and Conv layers: kaiming_uniform(a = √5) on the weight, which
// is U(±1/√fan_in), and the same bound for the bias (if defined).
void pytorch_default_(Tensor& weight, Tensor& bias, Generator* generator = nullptr);

// The overloads below accept temporaries (`nn::init::zeros_(m.at("bias"))`): the tensor is a
// handle, so filling the copy fills the module's parameter.
inline Tensor uniform_(Tensor&& t, double low = 0.0, double high = 1.0, Generator* g = nullptr) {
  return uniform_(t, low, high, g);
}
inline Tensor normal_(Tensor&& t, double mean = 0.0, double std = 1.0, Generator* g = nullptr) {
  return normal_(t, mean, std, g);
}
inline Tensor constant_(Tensor&& t, double value) { return constant_(t, value); }
inline Tensor zeros_(Tensor&& t) { return zeros_(t); }
inline Tensor ones_(Tensor&& t) { return ones_(t); }
inline Tensor xavier_uniform_(Tensor&& t, double gain = 1.0, Generator* g = nullptr) {
  return xavier_uniform_(t, gain, g);
}
inline Tensor xavier_normal_(Tensor&& t, double gain = 1.0, Generator* g = nullptr) {
  return xavier_normal_(t, gain, g);
}
inline Tensor kaiming_uniform_(Tensor&& t, KaimingOptions o = {}, Generator* g = nullptr) {
  return kaiming_uniform_(t, o, g);
}
inline Tensor kaiming_normal_(Tensor&& t, KaimingOptions o = {}, Generator* g = nullptr) {
  return kaiming_normal_(t, o, g);
}

}  // namespace ctdl::nn::init

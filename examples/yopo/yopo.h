// YOPO-m-n, "You Only Propagate Once" (Zhang, Zhang, Lu, Zhu & Dong, NeurIPS 2019): adversarial
// training that spends most of its attack steps in the network's first layer only.
//
//   SmallCnn net;                                    // any model marked at its first layer
//   LayerOneSplit split = split_at_layer_one(net);
//   nn::SGD opt(net.parameters(), {.lr = 0.1 / 5, .momentum = 0.9, .weight_decay = 5e-4});
//   for (auto [x, y] : loader) {
//     Tensor eta = random_perturbation(x, 0.3, &generator);
//     opt.zero_grad();
//     YopoRounds r = yopo_rounds(split, [&](const Tensor& out) { return nn::cross_entropy(out, y); },
//                                x, eta, {.m = 5, .n = 10, .epsilon = 0.3, .step = 0.01});
//     opt.step();                                    // once, with the m rounds' gradients summed
//   }
//
// Why it works: write the network as f(x) = rest(z), z = layer_one(x). One full forward and
// backward pass at x + η gives every parameter's gradient and the costate p = −∂loss/∂z.
// While p is held fixed, the gradient of the loss with respect to the input is
// ∇η[−p·layer_one(x + η)] — it needs the first layer only. YOPO takes m full passes per
// batch; after each it freezes p and moves η n times by that cheap gradient (a signed step σ,
// projected onto the ε-ball and the box). The parameter gradients of the m full passes
// (each at a stronger η) are summed into one optimizer step, whose learning rate the paper
// divides by m. PGD-k, for comparison, takes k + 1 full passes per step.
//
// Nothing here knows the model: a model is "marked" by exposing layer_one(x) and rest(z)
// (split_at_layer_one), or by any two callables in a LayerOneSplit.
#pragma once

#include <concepts>
#include <functional>

#include "ctdl/nn/nn.h"

namespace ctdl::examples::yopo {

// A network as rest(layer_one(x)).
struct LayerOneSplit {
  std::function<Tensor(const Tensor&)> layer_one;
  std::function<Tensor(const Tensor&)> rest;
  // Frozen while η moves (their gradients are not needed then); may be empty.
  TensorList layer_one_parameters;
};

template <class Net>
concept MarkedAtLayerOne = requires(const Net& net, const Tensor& x) {
  { net.layer_one(x) } -> std::convertible_to<Tensor>;
  { net.rest(x) } -> std::convertible_to<Tensor>;
  { net.layer_one_parameters() } -> std::convertible_to<TensorList>;
};

// The split of a marked model; it refers to `net`, which must outlive it.
template <MarkedAtLayerOne Net>
LayerOneSplit split_at_layer_one(const Net& net) {
  return {[&net](const Tensor& x) { return net.layer_one(x); },
          [&net](const Tensor& z) { return net.rest(z); }, net.layer_one_parameters()};
}

// The loss as a function of the network's output (the batch's labels captured).
using LossOfOutput = std::function<Tensor(const Tensor&)>;

struct Costate {
  Tensor loss;    // the loss at x, detached
  Tensor output;  // the network's output at x, detached
  Tensor p;       // −∂loss/∂z at z = layer_one(x)
};

// One full forward and backward pass at x: adds every parameter's gradient to its .grad()
// and returns the costate p.
Costate full_pass(const LayerOneSplit& net, const LossOfOutput& loss, const Tensor& x);

// ∇x[−p·layer_one(x)], by one forward and backward pass of the first layer only, with its
// parameters frozen. At the x where p was taken it equals ∇x loss.
Tensor layer_one_input_gradient(const LayerOneSplit& net, const Tensor& p, const Tensor& x);

struct YopoOptions {
  int64_t m = 5;        // full passes per batch (rounds)
  int64_t n = 10;       // first-layer updates of η after each
  double epsilon = 0.3;  // L∞ radius
  double step = 0.01;    // σ
  double lower = 0.0, upper = 1.0;
};

struct YopoRounds {
  TensorList inputs;     // the x + η that each round's full pass saw
  Tensor adversarial;    // x + η after the last round
  TensorList outputs;    // each round's network output (detached)
  double loss = 0;       // the mean of the rounds' losses
  int64_t full_passes = 0, layer_one_passes = 0;
};

// The m rounds of one YOPO step starting from perturbation `eta` (projected first). The
// parameter gradients of the m full passes are added to .grad() (not zeroed first, no
// optimizer step): call zero_grad before and step after.
YopoRounds yopo_rounds(const LayerOneSplit& net, const LossOfOutput& loss, const Tensor& x,
                       const Tensor& eta, const YopoOptions& options);

// Uniform in [−ε, ε]^shape(x), from `generator`.
Tensor random_perturbation(const Tensor& x, double epsilon, Generator* generator);

}  // namespace ctdl::examples::yopo

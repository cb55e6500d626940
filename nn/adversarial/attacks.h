// Adversarial attacks for any model: FGSM and PGD in the L∞ ball.
//
//   #include <ctdl/nn/adversarial/attacks.h>
//   nn::LossOfInput loss = [&](const Tensor& x) { return nn::cross_entropy(net(x), labels); };
//   Tensor x_fgsm = nn::fgsm(loss, images, 0.3);                       // one signed step
//   Tensor x_pgd = nn::pgd(loss, images, {.epsilon = 0.3, .step = 0.01, .steps = 40});
//   {
//     nn::FrozenParameters frozen(net.parameters());   // no weight gradients while attacking
//     x_pgd = nn::pgd(loss, images, {.steps = 40, .seed = batch_index});
//   }
//
// An attack sees the model only through `loss`, a function of the input returning a scalar
// tensor; it ascends that loss. The model stays in whatever mode the caller left it (call
// net.eval() first to attack the evaluation-mode network). Results are detached: they carry
// no graph and no gradient.
//
// Why FrozenParameters: each attack step differentiates the loss with respect to the input
// only, but a backward rule computes the gradient of every operand that requires one. With
// the parameters marked as not requiring gradients, a convolution's weight gradient (a third
// of its backward pass) is skipped.
#pragma once

#include <cstdint>
#include <functional>

#include "ctdl/tensor/random.h"
#include "ctdl/tensor/tensor.h"

namespace ctdl::nn {

// The loss to raise, as a function of the input (a scalar tensor); inputs live in [lower, upper].
using LossOfInput = std::function<Tensor(const Tensor&)>;

struct PgdOptions {
  double epsilon = 0.3;      // L∞ radius
  double step = 0.01;        // σ per iteration
  int64_t steps = 40;
  bool random_start = true;  // uniform in the ε-ball
  uint64_t seed = 0;
  double lower = 0.0, upper = 1.0;
  // Draw the random start from this stream instead of a fresh Generator(seed) (which starts
  // every call at the same point of the stream).
  Generator* generator = nullptr;
};

// x + ε·sign(∇loss), clamped to [lower, upper]; detached.
Tensor fgsm(const LossOfInput& loss, const Tensor& x, double epsilon, double lower = 0.0,
            double upper = 1.0);

// Projected gradient ascent in the ε-ball around x and in [lower, upper]; detached.
// Each of `steps` iterations moves by step·sign(∇loss) and projects back.
Tensor pgd(const LossOfInput& loss, const Tensor& x, const PgdOptions& options);

// The projection both attacks use: the point of the ε-ball around x (L∞) and of
// [lower, upper] nearest to x_adv (clamping to the ball, then to the box; x itself lies in
// the box, so the result lies in both). No gradient.
Tensor project_linf(const Tensor& x_adv, const Tensor& x, double epsilon, double lower = 0.0,
                    double upper = 1.0);

// Marks tensors (a model's parameters) as not requiring gradients for the guard's lifetime,
// and restores each one's previous state when it ends.
class FrozenParameters {
 public:
  explicit FrozenParameters(TensorList parameters);
  ~FrozenParameters();
  FrozenParameters(const FrozenParameters&) = delete;
  FrozenParameters& operator=(const FrozenParameters&) = delete;

 private:
  TensorList parameters_;
  std::vector<bool> previous_;
};

}  // namespace ctdl::nn

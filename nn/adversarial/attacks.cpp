#include "ctdl/nn/adversarial/attacks.h"

#include <optional>

#include "ctdl/autograd/engine.h"
#include "ctdl/autograd/grad_mode.h"
#include "ctdl/tensor/error.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::nn {
namespace {

void check_box(const char* op, const Tensor& x, double epsilon, double lower, double upper) {
  CTDL_CHECK(x.defined() && x.is_floating_point(), op, ": the input must be a floating tensor");
  CTDL_CHECK(epsilon >= 0.0, op, ": epsilon must be >= 0, got ", epsilon);
  CTDL_CHECK(lower <= upper, op, ": the box [", lower, ", ", upper, "] is empty");
}

// The gradient of loss(x) with respect to x, whatever the caller's grad mode; zero when the
// loss does not depend on x.
Tensor input_gradient(const char* op, const LossOfInput& loss, const Tensor& x) {
  autograd::EnableGradGuard enable;
  Tensor leaf = x.detach().requires_grad_();
  Tensor value = loss(leaf);
  CTDL_CHECK(value.defined() && value.numel() == 1, op,
             ": the loss must be a one-element tensor, got shape ",
             value.defined() ? value.shape() : Dims{});
  if (!value.requires_grad()) return zeros_like(x);
  Tensor g = autograd::grad({value}, {leaf}, {}, {.allow_unused = true})[0];
  return g.defined() ? g : zeros_like(x);
}

}  // namespace

Tensor project_linf(const Tensor& x_adv, const Tensor& x, double epsilon, double lower,
                    double upper) {
  autograd::NoGradGuard no_grad;
  Tensor delta = clamp(x_adv.detach() - x.detach(), -epsilon, epsilon);
  return clamp(x.detach() + delta, lower, upper);
}

Tensor fgsm(const LossOfInput& loss, const Tensor& x, double epsilon, double lower, double upper) {
  check_box("fgsm", x, epsilon, lower, upper);
  Tensor g = input_gradient("fgsm", loss, x);
  autograd::NoGradGuard no_grad;
  return clamp(x.detach() + sign(g) * epsilon, lower, upper);
}

Tensor pgd(const LossOfInput& loss, const Tensor& x, const PgdOptions& o) {
  check_box("pgd", x, o.epsilon, o.lower, o.upper);
  CTDL_CHECK(o.steps >= 0 && o.step >= 0.0, "pgd: need steps >= 0 and step >= 0, got steps = ",
             o.steps, " and step = ", o.step);
  Tensor x0 = x.detach(), x_adv = x0;
  if (o.random_start && o.epsilon > 0.0) {
    autograd::NoGradGuard no_grad;
    std::optional<Generator> own;
    Generator* generator = o.generator;
    if (generator == nullptr) generator = &own.emplace(o.seed);
    Tensor u = rand(x0.shape(), {.dtype = x0.dtype(), .device = x0.device()}, generator);
    x_adv = project_linf(x0 + (u * 2.0 - 1.0) * o.epsilon, x0, o.epsilon, o.lower, o.upper);
  }
  for (int64_t k = 0; k < o.steps; ++k) {
    Tensor g = input_gradient("pgd", loss, x_adv);
    autograd::NoGradGuard no_grad;
    x_adv = project_linf(x_adv + sign(g) * o.step, x0, o.epsilon, o.lower, o.upper);
  }
  return x_adv.detach();
}

FrozenParameters::FrozenParameters(TensorList parameters) : parameters_(std::move(parameters)) {
  for (Tensor& p : parameters_) {
    previous_.push_back(p.requires_grad());
    if (p.is_leaf()) p.requires_grad_(false);
  }
}

FrozenParameters::~FrozenParameters() {
  for (size_t i = 0; i < parameters_.size(); ++i)
    if (previous_[i] && parameters_[i].is_leaf()) parameters_[i].requires_grad_(true);
}

}  // namespace ctdl::nn

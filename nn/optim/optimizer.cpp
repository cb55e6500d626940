#include "ctdl/nn/optim/optimizer.h"

#include <cmath>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/nn/state.h"
#include "ctdl/tensor/error.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::nn {

Optimizer::Optimizer(TensorList params, double lr, const char* name)
    : params_(std::move(params)), lr_(lr), name_(name) {
  CTDL_CHECK(lr >= 0, name, ": the learning rate must be non-negative, got ", lr);
  for (size_t i = 0; i < params_.size(); ++i)
    CTDL_CHECK(params_[i].defined() && params_[i].is_leaf() && params_[i].is_floating_point(), name,
               ": parameter ", i, " must be a defined floating leaf tensor");
}

Tensor Optimizer::step(const std::function<Tensor()>& closure) {
  Tensor loss;
  {
    autograd::EnableGradGuard enable;
    loss = closure();
  }
  step();
  return loss;
}

void Optimizer::zero_grad() {
  for (Tensor& p : params_) p.zero_grad();
}

TensorList& Optimizer::buffer(const std::string& name) {
  for (auto& [n, list] : buffers_)
    if (n == name) return list;
  TensorList list;
  for (const Tensor& p : params_) list.push_back(zeros_like(p));
  buffers_.emplace_back(name, std::move(list));
  return buffers_.back().second;
}

NamedTensors Optimizer::state_dict() const {
  NamedTensors out;
  out.emplace_back("step", scalar_tensor(static_cast<double>(step_), {.dtype = DType::Int64}));
  out.emplace_back("lr", scalar_tensor(lr_, {.dtype = DType::Float64}));
  for (const auto& [name, list] : buffers_)
    for (size_t i = 0; i < list.size(); ++i)
      out.emplace_back(std::to_string(i) + "." + name, list[i]);
  return out;
}

void Optimizer::load_state_dict(const NamedTensors& state, const std::string& source) {
  load_state(prepare_load(state), state, source, str("the ", name_, " optimizer"));
}

StateLoad Optimizer::prepare_load(const NamedTensors&) {
  // Every optimizer creates its buffers in its constructor, so the set of names to expect is
  // fixed: an Adam state is refused by an SGD, naming the buffers that differ.
  Tensor step = zeros({}, {.dtype = DType::Int64}), lr = zeros({}, {.dtype = DType::Float64});
  StateLoad load{{{"step", step}, {"lr", lr}}, [this, step, lr] {
                   step_ = step.item<int64_t>();
                   lr_ = lr.item<double>();
                 }};
  for (const auto& [name, list] : buffers_)
    for (size_t i = 0; i < list.size(); ++i)
      load.targets.emplace_back(std::to_string(i) + "." + name, list[i]);
  return load;
}

// ---- SGD ----------------------------------------------------------------------------------------

SGD::SGD(TensorList params, SGDOptions o) : Optimizer(std::move(params), o.lr, "SGD"), o_(o) {
  CTDL_CHECK(o.momentum >= 0 && o.weight_decay >= 0,
             "SGD: momentum and weight decay must be "
             "non-negative, got ",
             o.momentum, " and ", o.weight_decay);
  CTDL_CHECK(!o.nesterov || (o.momentum > 0 && o.dampening == 0),
             "SGD: Nesterov momentum needs "
             "momentum > 0 and zero dampening");
  if (o.momentum > 0) buffer("momentum_buffer");
}

void SGD::step() {
  autograd::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    if (o_.weight_decay != 0) g = g + p * o_.weight_decay;
    if (o_.momentum != 0) {
      Tensor& buf = buffer("momentum_buffer")[i];
      // PyTorch starts the buffer at the first gradient itself, not at zero.
      if (step_ == 0)
        buf.copy_(g);
      else
        buf.mul_(o_.momentum).add_(g, 1.0 - o_.dampening);
      g = o_.nesterov ? g + buf * o_.momentum : buf;
    }
    p.add_(g, -lr_);
  }
  ++step_;
}

// ---- Adam, AdamW --------------------------------------------------------------------------------

Adam::Adam(TensorList params, AdamOptions o) : Adam(std::move(params), o, false, "Adam") {}

Adam::Adam(TensorList params, AdamOptions o, bool decoupled, const char* name)
    : Optimizer(std::move(params), o.lr, name), o_(o), decoupled_(decoupled) {
  CTDL_CHECK(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1 && o.eps >= 0 &&
                 o.weight_decay >= 0,
             name, ": expected betas in [0, 1) and non-negative eps and weight decay, got betas (",
             o.beta1, ", ", o.beta2, "), eps ", o.eps, ", weight decay ", o.weight_decay);
  buffer("exp_avg");
  buffer("exp_avg_sq");
}

void Adam::step() {
  autograd::NoGradGuard no_grad;
  ++step_;
  const double bias1 = 1.0 - std::pow(o_.beta1, static_cast<double>(step_));
  const double bias2 = 1.0 - std::pow(o_.beta2, static_cast<double>(step_));
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    if (o_.weight_decay != 0) {
      if (decoupled_)
        p.mul_(1.0 - lr_ * o_.weight_decay);
      else
        g = g + p * o_.weight_decay;
    }
    Tensor& m = buffer("exp_avg")[i];
    Tensor& v = buffer("exp_avg_sq")[i];
    m.mul_(o_.beta1).add_(g, 1.0 - o_.beta1);
    v.mul_(o_.beta2).add_(g * g, 1.0 - o_.beta2);
    Tensor denom = sqrt(v) / std::sqrt(bias2) + o_.eps;
    p.add_(m / denom, -lr_ / bias1);
  }
}

// ---- RMSprop ------------------------------------------------------------------------------------

RMSprop::RMSprop(TensorList params, RMSpropOptions o)
    : Optimizer(std::move(params), o.lr, "RMSprop"), o_(o) {
  CTDL_CHECK(o.alpha >= 0 && o.eps >= 0 && o.momentum >= 0 && o.weight_decay >= 0,
             "RMSprop: alpha, eps, momentum and weight decay must be non-negative");
  buffer("square_avg");
  if (o.momentum > 0) buffer("momentum_buffer");
  if (o.centered) buffer("grad_avg");
}

void RMSprop::step() {
  autograd::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    if (o_.weight_decay != 0) g = g + p * o_.weight_decay;
    Tensor& sq = buffer("square_avg")[i];
    sq.mul_(o_.alpha).add_(g * g, 1.0 - o_.alpha);
    Tensor avg;
    if (o_.centered) {
      Tensor& ga = buffer("grad_avg")[i];
      ga.mul_(o_.alpha).add_(g, 1.0 - o_.alpha);
      avg = sqrt(sq - ga * ga) + o_.eps;
    } else {
      avg = sqrt(sq) + o_.eps;
    }
    if (o_.momentum > 0) {
      Tensor& buf = buffer("momentum_buffer")[i];
      buf.mul_(o_.momentum).add_(g / avg);
      p.add_(buf, -lr_);
    } else {
      p.add_(g / avg, -lr_);
    }
  }
  ++step_;
}

}  // namespace ctdl::nn

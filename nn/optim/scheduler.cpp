#include "ctdl/nn/optim/scheduler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/nn/state.h"
#include "ctdl/tensor/error.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::nn {

namespace {
Tensor scalar64(double v) { return scalar_tensor(v, {.dtype = DType::Float64}); }
}  // namespace

Scheduler::Scheduler(Optimizer& optimizer) : optimizer_(&optimizer), base_lr_(optimizer.lr()) {}

void EpochScheduler::step() {
  ++epoch_;
  optimizer_->set_lr(lr_at(epoch_));
}

NamedTensors EpochScheduler::state_dict() const {
  return {{"epoch", scalar64(static_cast<double>(epoch_))}, {"base_lr", scalar64(base_lr_)}};
}

StateLoad EpochScheduler::prepare_load() {
  Tensor epoch = scalar64(0), base = scalar64(0);
  return {{{"epoch", epoch}, {"base_lr", base}}, [=, this] {
            epoch_ = static_cast<int64_t>(epoch.item<double>());
            base_lr_ = base.item<double>();
            optimizer_->set_lr(lr_at(epoch_));
          }};
}

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : EpochScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  CTDL_CHECK(step_size > 0, "StepLR: step_size must be positive, got ", step_size);
}

double StepLR::lr_at(int64_t epoch) const {
  return base_lr_ * std::pow(gamma_, static_cast<double>(epoch / step_size_));
}

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma)
    : EpochScheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  CTDL_CHECK(std::is_sorted(milestones_.begin(), milestones_.end()),
             "MultiStepLR: milestones must be "
             "increasing");
}

double MultiStepLR::lr_at(int64_t epoch) const {
  auto passed =
      std::upper_bound(milestones_.begin(), milestones_.end(), epoch) - milestones_.begin();
  return base_lr_ * std::pow(gamma_, static_cast<double>(passed));
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma)
    : EpochScheduler(optimizer), gamma_(gamma) {}

double ExponentialLR::lr_at(int64_t epoch) const {
  return base_lr_ * std::pow(gamma_, static_cast<double>(epoch));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t t_max, double eta_min)
    : EpochScheduler(optimizer), t_max_(t_max), eta_min_(eta_min) {
  CTDL_CHECK(t_max > 0, "CosineAnnealingLR: t_max must be positive, got ", t_max);
}

double CosineAnnealingLR::lr_at(int64_t epoch) const {
  return eta_min_ +
         (base_lr_ - eta_min_) * (1 + std::cos(M_PI * static_cast<double>(epoch) / t_max_)) / 2;
}

// ---- plateau ------------------------------------------------------------------------------------

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, PlateauOptions o)
    : Scheduler(optimizer), o_(o) {
  CTDL_CHECK(o.factor > 0 && o.factor < 1, "ReduceLROnPlateau: factor must be in (0, 1), got ",
             o.factor);
  best_ = o.mode == PlateauOptions::Mode::Min ? std::numeric_limits<double>::infinity()
                                              : -std::numeric_limits<double>::infinity();
}

void ReduceLROnPlateau::step(double metric) {
  bool better = o_.mode == PlateauOptions::Mode::Min ? metric < best_ * (1 - o_.threshold)
                                                     : metric > best_ * (1 + o_.threshold);
  if (std::isinf(best_)) better = true;
  if (better) {
    best_ = metric;
    bad_epochs_ = 0;
  } else {
    ++bad_epochs_;
  }
  if (cooldown_left_ > 0) {
    --cooldown_left_;
    bad_epochs_ = 0;
  }
  if (bad_epochs_ > o_.patience) {
    optimizer_->set_lr(std::max(optimizer_->lr() * o_.factor, o_.min_lr));
    cooldown_left_ = o_.cooldown;
    bad_epochs_ = 0;
  }
}

NamedTensors ReduceLROnPlateau::state_dict() const {
  return {{"best", scalar64(best_)},
          {"bad_epochs", scalar64(static_cast<double>(bad_epochs_))},
          {"cooldown_left", scalar64(static_cast<double>(cooldown_left_))}};
}

StateLoad ReduceLROnPlateau::prepare_load() {
  Tensor best = scalar64(0), bad = scalar64(0), cooldown = scalar64(0);
  return {{{"best", best}, {"bad_epochs", bad}, {"cooldown_left", cooldown}}, [=, this] {
            best_ = best.item<double>();
            bad_epochs_ = static_cast<int64_t>(bad.item<double>());
            cooldown_left_ = static_cast<int64_t>(cooldown.item<double>());
          }};
}

// ---- clipping -----------------------------------------------------------------------------------

double clip_grad_norm_(const TensorList& params, double max_norm, double p) {
  CTDL_CHECK(max_norm >= 0 && (p > 0 || std::isinf(p)),
             "clip_grad_norm_: expected max_norm >= 0 and "
             "p > 0, got ",
             max_norm, " and ", p);
  autograd::NoGradGuard no_grad;
  double total = 0;
  for (const Tensor& param : params) {
    Tensor g = param.grad();
    if (!g.defined()) continue;
    double n = norm(g.to(DType::Float64), p).item<double>();
    total = std::isinf(p) ? std::max(total, n) : total + std::pow(n, p);
  }
  if (!std::isinf(p)) total = std::pow(total, 1.0 / p);
  double coefficient = max_norm / (total + 1e-6);
  if (coefficient < 1) {
    for (const Tensor& param : params) {
      Tensor g = param.grad();
      if (g.defined()) g.mul_(coefficient);
    }
  }
  return total;
}

void clip_grad_value_(const TensorList& params, double clip_value) {
  autograd::NoGradGuard no_grad;
  for (const Tensor& param : params) {
    Tensor g = param.grad();
    if (g.defined()) g.clamp_(-clip_value, clip_value);
  }
}

}  // namespace ctdl::nn

// Learning-rate schedules and gradient clipping.
//
//   nn::SGD opt(net.parameters(), {.lr = 0.1, .momentum = 0.9});
//   nn::CosineAnnealingLR schedule(opt, /*t_max=*/epochs);
//   for (int epoch = 0; epoch < epochs; ++epoch) {
//     train_one_epoch();               // calls opt.step() per batch
//     schedule.step();                 // sets opt's lr for the next epoch
//   }
//   nn::ReduceLROnPlateau plateau(opt, {.factor = 0.5, .patience = 3});
//   plateau.step(validation_loss);
//   double norm = nn::clip_grad_norm_(net.parameters(), 1.0);   // before opt.step()
//
// The epoch-indexed schedules compute the rate in closed form from the epoch count (PyTorch's
// closed forms), so restoring the count from a checkpoint restores the rate exactly.
#pragma once

#include <vector>

#include "ctdl/nn/optim/optimizer.h"

namespace ctdl::nn {

class Scheduler {
 public:
  explicit Scheduler(Optimizer& optimizer);
  virtual ~Scheduler() = default;
  Optimizer& optimizer() const { return *optimizer_; }
  virtual NamedTensors state_dict() const = 0;
  void load_state_dict(const NamedTensors& state, const std::string& source = "state dict") {
    load_state(prepare_load(), state, source, "the scheduler");
  }
  // The targets a saved state is copied into (see nn/state.h).
  virtual StateLoad prepare_load() = 0;

 protected:
  Optimizer* optimizer_;
  double base_lr_;
};

// A rate that is a function of the number of step() calls so far (epochs, usually).
class EpochScheduler : public Scheduler {
 public:
  using Scheduler::Scheduler;
  void step();
  int64_t epoch() const { return epoch_; }
  // The learning rate after `epoch` steps.
  virtual double lr_at(int64_t epoch) const = 0;
  NamedTensors state_dict() const override;
  StateLoad prepare_load() override;

 private:
  int64_t epoch_ = 0;
};

// base·gamma^floor(epoch / step_size)
class StepLR : public EpochScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);
  double lr_at(int64_t epoch) const override;

 private:
  int64_t step_size_;
  double gamma_;
};

// base·gamma^(number of milestones ≤ epoch)
class MultiStepLR : public EpochScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma = 0.1);
  double lr_at(int64_t epoch) const override;

 private:
  std::vector<int64_t> milestones_;
  double gamma_;
};

// base·gamma^epoch
class ExponentialLR : public EpochScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma);
  double lr_at(int64_t epoch) const override;

 private:
  double gamma_;
};

// eta_min + (base - eta_min)·(1 + cos(π·epoch / t_max)) / 2
class CosineAnnealingLR : public EpochScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t t_max, double eta_min = 0.0);
  double lr_at(int64_t epoch) const override;

 private:
  int64_t t_max_;
  double eta_min_;
};

struct PlateauOptions {
  enum class Mode { Min, Max } mode = Mode::Min;  // is a smaller or a larger metric better
  double factor = 0.1;  // lr ← max(lr·factor, min_lr) after `patience` bad epochs
  int64_t patience = 10;
  double threshold = 1e-4;  // relative improvement that counts
  int64_t cooldown = 0;     // epochs to wait after a reduction
  double min_lr = 0.0;
};

class ReduceLROnPlateau : public Scheduler {
 public:
  ReduceLROnPlateau(Optimizer& optimizer, PlateauOptions options = {});
  void step(double metric);
  NamedTensors state_dict() const override;
  StateLoad prepare_load() override;

 private:
  PlateauOptions o_;
  double best_;
  int64_t bad_epochs_ = 0, cooldown_left_ = 0;
};

// Scales the gradients so that their joint p-norm is at most max_norm (p = INFINITY for the
// largest magnitude); returns the norm before clipping.
double clip_grad_norm_(const TensorList& params, double max_norm, double p = 2.0);
// Clamps every gradient element to [-clip_value, clip_value].
void clip_grad_value_(const TensorList& params, double clip_value);

}  // namespace ctdl::nn

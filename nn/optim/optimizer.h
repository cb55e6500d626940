// The optimizer interface and the first-order optimizers: SGD (momentum, Nesterov, weight
// decay), Adam, AdamW and RMSprop.
//
//   nn::Adam opt(net.parameters(), {.lr = 1e-3});
//   for (auto [x, y] : loader) {
//     Tensor loss = nn::cross_entropy(net(x), y);
//     opt.zero_grad();
//     loss.backward();
//     opt.step();
//   }
//   nn::SGD sgd(net.parameters(),
//               {.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4, .nesterov = true});
//
// Updates follow PyTorch's formulas (torch.optim), so hyperparameters carry over. A
// parameter without a gradient is skipped. All state (step count, learning rate, moment
// buffers) is in state_dict(), so a checkpoint restores an optimizer exactly.
#pragma once

#include <deque>
#include <functional>
#include <string>

#include "ctdl/nn/module.h"
#include "ctdl/nn/state.h"

namespace ctdl::nn {

class Optimizer {
 public:
  Optimizer(TensorList params, double lr, const char* name);
  virtual ~Optimizer() = default;

  // One update from the parameters' current gradients.
  virtual void step() = 0;
  // Calls closure (which computes the loss and its gradients), then steps; returns the loss.
  // L-BFGS calls the closure several times.
  virtual Tensor step(const std::function<Tensor()>& closure);
  void zero_grad();

  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }
  int64_t steps() const { return step_; }
  const TensorList& params() const { return params_; }
  const char* name() const { return name_; }

  // Named tensors: "step", "lr" and per-parameter buffers "<index>.<buffer>".
  virtual NamedTensors state_dict() const;
  // Restores a state_dict() of an optimizer of the same kind over parameters of the same
  // shapes; every mismatch is reported at once.
  void load_state_dict(const NamedTensors& state, const std::string& source = "state dict");
  // The targets loading `incoming` copies into (see nn/state.h).
  virtual StateLoad prepare_load(const NamedTensors& incoming);

 protected:
  // A per-parameter buffer (zeros shaped like each parameter), created on first use; every
  // optimizer creates its buffers in its constructor, so that loading knows what to expect.
  TensorList& buffer(const std::string& name);

  TensorList params_;
  double lr_;
  int64_t step_ = 0;

 private:
  const char* name_;
  std::deque<std::pair<std::string, TensorList>> buffers_;  // deque: references stay valid
};

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  SGD(TensorList params, SGDOptions options = {});
  using Optimizer::step;
  void step() override;

 private:
  SGDOptions o_;
};

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // Adam: added to the gradient (L2); AdamW: decoupled
};

class Adam : public Optimizer {
 public:
  Adam(TensorList params, AdamOptions options = {});
  using Optimizer::step;
  void step() override;

 protected:
  Adam(TensorList params, AdamOptions options, bool decoupled, const char* name);

 private:
  AdamOptions o_;
  bool decoupled_;
};

// Adam with decoupled weight decay (Loshchilov & Hutter): p ← p·(1 - lr·wd) before the
// Adam update. PyTorch's default weight decay for AdamW is 1e-2.
class AdamW : public Adam {
 public:
  AdamW(TensorList params, AdamOptions options = {.weight_decay = 1e-2})
      : Adam(std::move(params), options, true, "AdamW") {}
};

struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;  // smoothing of the squared-gradient average
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;  // divide by the estimated variance instead of the second moment
};

class RMSprop : public Optimizer {
 public:
  RMSprop(TensorList params, RMSpropOptions options = {});
  using Optimizer::step;
  void step() override;

 private:
  RMSpropOptions o_;
};

}  // namespace ctdl::nn

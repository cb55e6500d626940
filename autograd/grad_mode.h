// Whether ops record the graph.
//
//   {
//     autograd::NoGradGuard no_grad;   // e.g. in an optimizer step or an evaluation loop
//     Tensor y = model(x);             // y.requires_grad() == false
//   }
//
// The flag is per thread, as in PyTorch.
#pragma once

namespace ctdl::autograd {

bool grad_enabled();
void set_grad_enabled(bool enabled);

class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled) : previous_(grad_enabled()) { set_grad_enabled(enabled); }
  ~GradModeGuard() { set_grad_enabled(previous_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};

struct NoGradGuard : GradModeGuard {
  NoGradGuard() : GradModeGuard(false) {}
};

struct EnableGradGuard : GradModeGuard {
  EnableGradGuard() : GradModeGuard(true) {}
};

// Whether the backward pass of what is recorded now follows at once, as in a vector-Jacobian
// product (ode::field_vjp). An op that recomputes its intermediate values in the backward
// pass to save memory (mlp: a neural ODE's backprop solve would otherwise keep every hidden
// layer of every evaluation) keeps them instead while this is on: the graph, and they with
// it, is gone a moment later, and the backward pass skips the recomputation. Per thread.
//
//   {
//     autograd::KeepIntermediatesGuard keep;
//     Tensor y = f(x);
//     grads = autograd::grad({y}, inputs, {v});
//   }
bool keep_intermediates();

class KeepIntermediatesGuard {
 public:
  KeepIntermediatesGuard();
  ~KeepIntermediatesGuard();
  KeepIntermediatesGuard(const KeepIntermediatesGuard&) = delete;
  KeepIntermediatesGuard& operator=(const KeepIntermediatesGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace ctdl::autograd

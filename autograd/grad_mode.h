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

}  // namespace ctdl::autograd

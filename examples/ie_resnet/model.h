// The network of ie-resnet: a residual stage whose skips are explicit or implicit Euler
// steps of dx/dt = f(x) (Li, He & Lin, "Implicit Euler Skip Connections", ICML 2020).
//
//   IeResNet net({.width = 64, .blocks = 3, .skip = Skip::Implicit});
//   Tensor logits = net(images);          // images [N, 1, 28, 28] in [0, 1] -> [N, 10]
//   net.set_skip(Skip::Explicit);         // the same parameters, explicit skips
//
// Block k maps x to x⁺ with the residual function f_k (a two-layer MLP) and step h:
//   explicit skip  x⁺ = x + h·f_k(x)      (forward Euler: an ordinary ResNet block)
//   implicit skip  x⁺ = x + h·f_k(x⁺)     (backward Euler: an equation for x⁺)
// The implicit block is ode::implicit_euler_layer: x⁺ is found by Newton–GMRES or
// fixed-point iteration, and its gradient comes from the implicit function theorem,
// (I − h·∂f/∂x⁺)ᵀ w = ∂L/∂x⁺, not from backpropagating through the iterations. Why it may
// be more robust: a perturbation δ of x leaves the block as (I + hJ)δ explicitly and as
// (I − hJ)⁻¹δ implicitly (J = ∂f/∂x); where J has large negative eigenvalues, the first can
// grow it and the second always damps it (backward Euler is A-stable).
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "ctdl/nn/nn.h"
#include "ctdl/ode/krylov.h"

namespace ctdl::examples::ie_resnet {

enum class Skip { Explicit, Implicit };
Skip parse_skip(const std::string& name);  // "explicit" | "implicit"
std::string skip_name(Skip skip);

// The residual function of a block:
//   mlp        f(x) = W₂·tanh(W₁·x + b₁) + b₂
//   monotone   f(x) = −W₁ᵀ·tanh(W₁·x + b₁) + b₂, the negative gradient of the convex
//              Σ log cosh(W₁·x + b₁) − b₂·x. Its Jacobian −W₁ᵀ·diag(tanh′)·W₁ is symmetric
//              and negative semidefinite, so the implicit step is a proximal step: it has
//              exactly one solution for every h, and it never amplifies a small perturbation
//              (‖(I − hJ)⁻¹‖ ≤ 1), while the explicit step does once h·‖J‖ > 2 (A-stability).
enum class Residual { Mlp, Monotone };
Residual parse_residual(const std::string& name);  // "mlp" | "monotone"

struct ResidualFunction : nn::Module {
  ResidualFunction(int64_t width, int64_t hidden, Residual kind = Residual::Mlp);
  Tensor operator()(const Tensor& x) const;
  Residual kind;
  nn::Linear fc1;
  std::optional<nn::Linear> fc2;  // mlp
  Tensor shift;                   // monotone: b₂
};

struct IeResNetOptions {
  int64_t width = 64;   // the state x of the residual stage
  int64_t hidden = 64;  // f's hidden layer
  int64_t blocks = 3;
  double step = 1.0;  // h
  Skip skip = Skip::Implicit;
  Residual residual = Residual::Mlp;
  ode::NonlinearSolve solve;  // how implicit blocks are solved (and their adjoint's GMRES)
};

// The solver settings the example uses for a state of this dtype: "newton" or "fixed_point",
// a tolerance suited to float32 or float64, and GMRES tolerances to match.
ode::NonlinearSolve solver_settings(const std::string& method, DType dtype, int max_iters = 50);

class IeResNet : public nn::Module {
 public:
  explicit IeResNet(IeResNetOptions options);

  // Pixels in [0, 1] ([N, 1, 28, 28] or [N, 784]) to logits [N, 10]: the attacks perturb
  // pixels, so normalization happens inside.
  Tensor operator()(const Tensor& images) const;
  // The stage's input: the normalized, flattened image through the stem (Linear + ReLU).
  Tensor stem_features(const Tensor& images) const;
  // One skip connection: block k applied to x.
  Tensor block(size_t k, const Tensor& x) const;
  // All the blocks, in order: the residual stage.
  Tensor stage(const Tensor& x) const;

  void set_skip(Skip skip) { options_->skip = skip; }
  Skip skip() const { return options_->skip; }
  const IeResNetOptions& options() const { return *options_; }
  IeResNetOptions& options() { return *options_; }

  // Evaluations of the residual functions since the last reset (the solver's cost).
  int64_t f_evaluations() const { return *evaluations_; }
  void reset_f_evaluations() { *evaluations_ = 0; }

  nn::Linear stem;
  nn::ModuleList<ResidualFunction> f;
  nn::Linear head;

 private:
  // Shared, like the module's registry: copies of the handle see the same settings.
  std::shared_ptr<IeResNetOptions> options_;
  std::shared_ptr<std::atomic<int64_t>> evaluations_;
};

}  // namespace ctdl::examples::ie_resnet

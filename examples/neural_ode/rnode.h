// The models of the `neural-ode` example: a neural ODE classifier (an nn::ODEBlock between
// a zero-padding of the input and a linear read-out) and a neural ODE that fits a trajectory,
// both trainable with RNODE's regularizers (Finlay, Jacobsen, Nurbekyan & Oberman, "How to
// train your neural ODE", ICML 2020):
//
//   kinetic energy      ∫ ‖f(t, z)‖² dt
//   Jacobian norm       ∫ ‖∂f/∂z‖²_F dt  ≈  ∫ ‖εᵀ ∂f/∂z‖² dt,  ε ~ N(0, I)  (Hutchinson)
//
// carried as two more states of the same solve, so the solver integrates them with z.
//
//   Classifier model({.augment = 1, .hidden = 32});
//   Tensor eps = randn({x.size(0), model.state_dim()});
//   RegularizedOutput out = model.regularized(x, eps);   // logits, ∫‖f‖², ∫‖εᵀJ‖² per example
//   Tensor loss = nn::cross_entropy(out.logits, y) + 0.01 * out.kinetic.mean()
//                 + 0.01 * out.jacobian.mean();
//   Tensor logits = model(x);                            // the plain solve, for evaluation
#pragma once

#include <memory>

#include "ctdl/nn/nn.h"
#include "ctdl/ode/ode.h"

namespace ctdl::examples::neural_ode {

// f(z): an MLP d → hidden → hidden → d with tanh. With `cube`, it reads z³ instead of z
// (the dynamics of the trajectory task are cubic: Chen et al. 2018's spiral).
struct Dynamics : nn::Module {
  Dynamics(int64_t dim, int64_t hidden, bool cube = false);
  Tensor operator()(const Tensor& z) const;
  nn::Linear fc1, fc2, fc3;
  bool cube;
};

// The right-hand side of the regularized solve: the state {z, E, J} (E, J: [B]) and
//   dz/dt = f(z),  dE/dt = ‖f(z)‖²,  dJ/dt = ‖εᵀ ∂f/∂z‖²,
// εᵀ ∂f/∂z by one vector-Jacobian product, recorded (create_graph) when grad mode is on so
// the loss differentiates through it; off (an adjoint's forward solve) nothing is kept.
// `origin`, a zero [d] tensor that requires grad, goes in the solve's params (see rnode.cpp).
ode::Field regularized_field(const Dynamics& f, const Tensor& eps, const Tensor& origin = {});

// z(t) at `times` from z0, with E(t) and J(t) along: {zs [T, B, d], E [T, B], J [T, B]}.
struct RegularizedTrajectory {
  Tensor zs, kinetic, jacobian;
};
RegularizedTrajectory solve_regularized(const Dynamics& f, const Tensor& z0, const Tensor& eps,
                                        const ode::Times& times, const ode::Solver& solver,
                                        const ode::Grad& grad,
                                        std::shared_ptr<ode::Stats> stats = nullptr);

struct ClassifierOptions {
  int64_t augment = 1;  // zeros appended to the 2-D input (Dupont et al.'s augmented ODE)
  int64_t hidden = 32;
  int64_t classes = 2;
  ode::Solver solver = ode::Dopri5{.rtol = 1e-5, .atol = 1e-5};
  ode::Grad grad = ode::Backprop{};
};

struct RegularizedOutput {
  Tensor logits;             // [B, classes]
  Tensor kinetic, jacobian;  // [B]: ∫₀¹ ‖f‖², ∫₀¹ ‖εᵀ ∂f/∂z‖²
};

// x [B, 2] → pad with zeros to [B, 2 + augment] → z(1) of dz/dt = f(z) → logits.
struct Classifier : nn::Module {
  explicit Classifier(ClassifierOptions options);
  int64_t state_dim() const { return 2 + augment; }
  Tensor lift(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return head(block(lift(x))); }
  // The same map, with the regularizers integrated along (eps: [B, state_dim()]).
  RegularizedOutput regularized(const Tensor& x, const Tensor& eps,
                                std::shared_ptr<ode::Stats> stats = nullptr) const;

  int64_t augment;
  nn::ODEBlock<Dynamics> block;
  nn::Linear head;
};

}  // namespace ctdl::examples::neural_ode

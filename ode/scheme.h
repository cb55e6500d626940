// Gradient schemes: how dL/d(z0, params) of an ODE solve is computed. odeint takes one per
// call (Options::grad); this header is what you implement to write a new one.
//
// A scheme is any copyable type with two members (the GradientScheme concept):
//
//   struct MyScheme {
//     double some_option = 1.0;                          // designated-initializer friendly
//     std::string name() const { return "my_scheme"; }
//     TensorList solve(const ode::Problem& p) const;     // the trajectories, with a graph
//   };
//   Tensor z = ode::odeint(f, z0, {0.0, 1.0}, {.grad = MyScheme{}, .params = {w, b}});
//
// solve returns one tensor per state component, shaped [len(times), ...component shape],
// whose graph leads back to p.z0 and p.params. The easy way to get such a graph with your own
// backward pass is an ode::Adjoint (below): write forward (solve without a graph, keep what
// you need) and backward (turn dL/dz(t_k) into dL/dz0 and dL/dparams), and return
// ode::solve_with_adjoint(p, std::make_shared<MyAdjoint>(...)). The building blocks the
// built-in schemes use are public: integrate/advance (ode/integrate.h) and the step-level
// adjoints of ode/schemes/discrete.h. examples/custom_scheme/ writes one in a single file and
// runs it in odeint and in the lab (ode::register_scheme, ode/registry.h).
#pragma once

#include <concepts>
#include <memory>
#include <string>

#include "ctdl/autograd/function.h"
#include "ctdl/ode/integrate.h"

namespace ctdl::ode {

// Everything a scheme needs to know about one odeint call.
struct Problem {
  Field f;  // counts its evaluations in stats->nfe
  State z0;
  std::vector<double> times;  // at least two, strictly monotone
  TensorList params;          // the tensors gradients are computed for (all require grad)
  Solver solver;
  std::shared_ptr<Stats> stats;  // never null

  // The forward solve of this problem (no graph unless grad mode is on).
  Trajectory integrate(const StepHook& hook = {}) const {
    return ode::integrate(solver, f, z0, times, stats.get(), hook);
  }
};

template <class S>
concept GradientScheme = std::copy_constructible<S> && requires(const S& s, const Problem& p) {
  { s.name() } -> std::convertible_to<std::string>;
  { s.solve(p) } -> std::same_as<TensorList>;
};

// A type-erased GradientScheme, so that Options::grad takes any of them.
class Grad {
 public:
  template <GradientScheme S>
  Grad(S scheme) {
    auto held = std::make_shared<const S>(std::move(scheme));
    name_ = held->name();
    solve_ = [held](const Problem& p) { return held->solve(p); };
  }
  const std::string& name() const { return name_; }
  TensorList solve(const Problem& p) const { return solve_(p); }

 private:
  std::string name_;
  std::function<TensorList(const Problem&)> solve_;
};

struct Gradients {
  State z0;           // dL/dz0 (undefined entries mean zero)
  TensorList params;  // dL/dparams, in the order of Problem::params
};

// A gradient computed by your own backward pass instead of by replaying the forward's ops.
class Adjoint {
 public:
  virtual ~Adjoint() = default;
  // Solve without a graph (grad mode is off here) and keep what backward needs. Returns the
  // state at every requested time (the first is z0).
  virtual std::vector<State> forward(const Problem& p) = 0;
  // grad_outputs[k] = dL/dz(times[k]). Grad mode is off; turn it on locally (EnableGradGuard)
  // to take vjps of f. May run more than once (backward with retain_graph), so it must not
  // consume what forward kept.
  virtual Gradients backward(const Problem& p, const std::vector<State>& grad_outputs) = 0;
};

// Runs `adjoint` as one node of the autograd graph, with inputs z0 and params and the
// stacked trajectories as outputs.
TensorList solve_with_adjoint(const Problem& p, std::shared_ptr<Adjoint> adjoint,
                              const char* name = "odeint_adjoint");

// Stacks states at successive times into one tensor per component: [T, ...shape].
TensorList stack_states(const std::vector<State>& states);

// f(t, z) and vᵀ·∂f/∂(z, params) at one point, for adjoint equations. Grad mode is turned on
// inside, and autograd::KeepIntermediatesGuard: f's ops may keep what their backward pass
// would recompute, since it runs at once. The results are detached; missing gradients are
// zeros.
struct FieldVjp {
  State f;
  State z;            // vᵀ ∂f/∂z
  TensorList params;  // vᵀ ∂f/∂params
};
FieldVjp field_vjp(const Problem& p, double t, const State& z, const State& v);

}  // namespace ctdl::ode

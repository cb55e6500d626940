// Matrix-free linear and nonlinear solves on states: GMRES, Newton–Krylov and fixed-point
// iteration. The implicit solvers, the implicit layers and their adjoints all use these.
//
//   // Solve (I - 0.1 J) x = b where J·v is a Jacobian-vector product:
//   auto lin = autograd::linearize([&](const TensorList& z) { return f(0.0, z); }, z);
//   ode::KrylovResult r = ode::gmres([&](const ode::State& v) {
//     return ode::axpy(v, -0.1, lin.jvp(v)); }, b);
//
// Inner products are read back to the host (GMRES needs them to build its basis), so
// these are for implicit methods, where that cost is small next to the solve itself.
#pragma once

#include <string>

#include "ctdl/ode/state.h"

namespace ctdl::ode {

struct KrylovOptions {
  double rtol = 1e-12;  // stop when |b - Ax| <= max(rtol·|b|, atol) (2-norms)
  double atol = 1e-300;
  int restart = 30;
  int max_iters = 300;  // operator applications in all
};

struct KrylovResult {
  State x;
  int iterations = 0;
  double residual = 0;
  bool converged = false;
};

using LinearOperator = std::function<State(const State&)>;

// Restarted GMRES with modified Gram–Schmidt and Givens rotations. x0 may be empty (zeros).
KrylovResult gmres(const LinearOperator& A, const State& b, const State& x0 = {},
                   const KrylovOptions& options = {});

enum class NonlinearMethod { Newton, FixedPoint };

struct NonlinearSolve {
  NonlinearMethod method = NonlinearMethod::Newton;
  // Converged when the update's RMS is <= tol·(1 + RMS of z). 0: 1e-10 in float64, 1e-5 in
  // float32.
  double tol = 0;
  int max_iters = 50;
  KrylovOptions krylov;
};

// Solves z = c + alpha·F(z) for z, from `guess` (c empty means c = 0). The result is
// differentiable with respect to c and to every tensor F uses, by the implicit function
// theorem: backward solves (I - alpha·∂F/∂z)ᵀ w = grad with GMRES and backpropagates w
// through c + alpha·F(z*). Nothing of Newton's iterations is recorded. `context` starts the
// error message when the iteration fails to converge.
State implicit_solve(const std::function<State(const State&)>& F, const State& c, double alpha,
                     const State& guess, const NonlinearSolve& options, const std::string& context);

// The tolerance `options` resolve to for a state of this dtype.
double nonlinear_tolerance(const NonlinearSolve& options, const State& z);

}  // namespace ctdl::ode

namespace ctdl::ode {

// Solves (I - alpha·∂F/∂z(z*))ᵀ w = g for w: the linear system of the implicit function
// theorem for z = c + alpha·F(z). `context` names the caller in the error on non-convergence.
State implicit_adjoint_solve(const std::function<State(const State&)>& F, const State& z_star,
                             double alpha, const State& g, const KrylovOptions& options,
                             const std::string& context);

}  // namespace ctdl::ode

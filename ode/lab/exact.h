// Exact solutions and gradients for the linear system dz/dt = A z: the lab's default
// reference, and the tests' ground truth.
//
//   std::vector<double> E = ode::lab::expm({0, 1, -1, 0}, 2);     // rotation by 1 radian
//   auto ref = ode::lab::linear_exact(A, z0, {0.0, 1.0},
//       [](const TensorList& zs) { return square(zs.back()).sum(); });
//   ref.grad_z0; ref.grad_A;
#pragma once

#include <functional>

#include "ctdl/ode/state.h"

namespace ctdl::ode::lab {

// e^M of a row-major n×n matrix: scaling and squaring with a Taylor series, to float64
// rounding for the small matrices of tests.
std::vector<double> expm(const std::vector<double>& M, int64_t n);

struct LinearReference {
  TensorList states;  // z(t_k) = z0·e^{A(t_k - t_0)}ᵀ for each time
  double loss = 0;
  Tensor grad_z0, grad_A;
};

// The loss is a function of the states at the times (float64); its gradient with respect
// to them comes from autograd, everything else is exact: dL/dz0 = Σ_k G_k e^{Aτ_k} and
// dL/dA = Σ_k τ_k L(τ_k Aᵀ, G_kᵀ z0), with L the Fréchet derivative of exp, read off
// exp([[X, C], [0, X]]).
LinearReference linear_exact(const Tensor& A, const Tensor& z0, const std::vector<double>& times,
                             const std::function<Tensor(const TensorList&)>& loss);

}  // namespace ctdl::ode::lab

// States of an ODE: a list of tensors (a single tensor is a list of one), and the few
// vector-space operations the solvers and gradient schemes need on them.
//
//   ode::State z = {q, p};                      // any shapes, float32 or float64
//   ode::State z1 = ode::axpy(z, 0.1, dz);       // z + 0.1·dz, componentwise
//   double size = ode::rms_norm(z1);            // one host read
//
// Everything here is ordinary tensor ops: recorded when grad mode is on, so a solver written
// with these helpers can be backpropagated through.
#pragma once

#include <functional>
#include <utility>
#include <vector>

#include "ctdl/tensor/ops.h"

namespace ctdl::ode {

using State = TensorList;

// The vector field: dz/dt = f(t, z). It may close over tensors that require grad; adjoint
// schemes differentiate only with respect to the tensors listed in Options::params.
using Field = std::function<State(double t, const State& z)>;

// y + a·x. Terms with a == 0 are skipped.
State axpy(const State& y, double a, const State& x);
// base + h·Σ coefficients[j]·terms[j] (zero coefficients skipped, no copy when all are zero),
// for the first `formed` components; the others are base's, unchanged.
State combine(const State& base, double h, const std::vector<double>& coefficients,
              const std::vector<State>& terms, size_t formed = static_cast<size_t>(-1));
State add(const State& a, const State& b);
State sub(const State& a, const State& b);
State scale(const State& x, double a);
State zeros_like(const State& x);
State detach(const State& x);
// Detached copies that require grad: fresh leaves to record one piece of a graph from.
State leaves(const State& x);
// Σ_i <a_i, b_i> as a one-element tensor (no host read).
Tensor dot(const State& a, const State& b);
// Root mean square over every element of every component (one host read).
double rms_norm(const State& x);
// One host read: true when no element is NaN or ±Inf.
bool all_finite(const State& x);
int64_t numel(const State& x);
// Checks that two states have the same number of components, shapes and dtypes.
void check_same_layout(const State& a, const State& b, const char* op);

}  // namespace ctdl::ode

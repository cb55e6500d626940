// odeint: solve dz/dt = f(t, z) and return the state at the requested times, differentiable
// by the gradient scheme of your choice.
//
//   Tensor w1 = randn({2, 64}, {.dtype = DType::Float64, .requires_grad = true});
//   Tensor w2 = randn({64, 2}, {.dtype = DType::Float64, .requires_grad = true});
//   auto f = [&](double, const Tensor& z) { return matmul(tanh(matmul(z, w1)), w2); };
//   Tensor z0 = randn({512, 2}, {.dtype = DType::Float64});
//   Tensor zs = ode::odeint(f, z0, {0.0, 1.0},
//                           {.solver = ode::Dopri5{.rtol = 1e-6},
//                            .grad = ode::BacksolveAdjoint{},
//                            .params = {w1, w2}});       // [2, 512, 2]: z(0), z(1)
//   square(zs.select(0, 1)).sum().backward();             // w1.grad(), w2.grad()
//
// States are one tensor or a list of tensors (f then maps lists to lists), float32 or float64,
// any shapes. times may be increasing or decreasing. The result stacks the states at the
// requested times along a new first dimension (one tensor per component for list states).
//
// params: the tensors the adjoint schemes differentiate with respect to. Backprop finds
// every tensor f uses by itself; the adjoint schemes see only what is listed here, and
// refuse to run when f uses a tensor that requires grad and is not listed (it would get no
// gradient).
//
// The adjoint schemes keep f until the backward pass: what it captures by reference must
// outlive that (a module, parameters), or capture by value.
//
// times given as a tensor that requires grad get dL/dtimes too: for the exact flow,
// dL/dt_k = <dL/dz(t_k), f(t_k, z(t_k))> (k > 0) and dL/dt_0 = -<dL/dz0, f(t_0, z0)>, as
// in torchdiffeq's adjoint.
#pragma once

#include <initializer_list>

#include "ctdl/ode/scheme.h"
#include "ctdl/ode/schemes/backprop.h"
#include "ctdl/ode/solvers/explicit_rk.h"

namespace ctdl::ode {

class Times {
 public:
  Times(std::initializer_list<double> values) : values_(values) {}
  Times(std::vector<double> values) : values_(std::move(values)) {}
  // A 1-D tensor of times; if it requires grad, odeint computes dL/dtimes.
  Times(const Tensor& times);
  const std::vector<double>& values() const { return values_; }
  const Tensor& tensor() const { return tensor_; }

 private:
  std::vector<double> values_;
  Tensor tensor_;
};

struct Options {
  Solver solver = Dopri5{};
  Grad grad = Backprop{};
  TensorList params;
  // Filled with this call's counters (f evaluations and steps, forward and backward).
  std::shared_ptr<Stats> stats;
};

// List states: f maps a list of tensors to their derivatives.
TensorList odeint(const Field& f, const State& z0, const Times& times, const Options& options = {});

// One tensor: f(t, z) -> dz/dt. Pass a functor holding parameters by reference
// (std::ref(module) or a lambda capturing it), since std::function copies.
using TensorField = std::function<Tensor(double t, const Tensor& z)>;
Tensor odeint(const TensorField& f, const Tensor& z0, const Times& times,
              const Options& options = {});

}  // namespace ctdl::ode

// The lab's test systems: a vector field with its named parameters, built from plain
// values (the lab reads them from JSON; tests and benchmarks call these directly).
//
//   ode::lab::System s = ode::lab::vanderpol(1.5, DType::Float64);
//   Tensor zs = ode::odeint(s.f, z0, {0.0, 1.0}, {.params = s.params});
//
// Batched states are [batch, d]. Parameters are leaves that require grad, so every
// gradient scheme differentiates with respect to them.
#pragma once

#include <map>
#include <string>

#include "ctdl/ode/state.h"

namespace ctdl::ode::lab {

struct System {
  std::string type;
  std::function<Tensor(double, const Tensor&)> f;
  TensorList params;               // leaves that require grad
  std::vector<std::string> names;  // one per param, as the lab reports them
  int64_t dim = 0;                 // the state size d (0: any)
};

// f(z) = fcL(σ(... σ(fc1(z)))) with PyTorch's Linear convention: fc_i(x) = x·Wᵀ + b,
// W of shape [out, in]; weights["fc1.weight"], weights["fc1.bias"] (bias optional).
System mlp(const std::vector<int64_t>& dims, const std::string& activation,
           const std::map<std::string, Tensor>& weights, DType dtype);
// dz/dt = A z.
System linear(const Tensor& A);
// x' = y, y' = μ(1 - x²)y - x.
System vanderpol(double mu, DType dtype);
// x' = αx - βxy, y' = δxy - γy.
System lotka_volterra(double alpha, double beta, double gamma, double delta, DType dtype);
// z = [q | p]: q' = p/m, p' = -k q (any even d).
System harmonic(double k, double m, DType dtype);
// z = [q1, q2, p1, p2]: q' = p, p' = -q/|q|³.
System kepler(DType dtype);

// The Hamiltonian of the harmonic oscillator and of the Kepler problem, per batch row.
Tensor harmonic_energy(const Tensor& z, double k, double m);
Tensor kepler_energy(const Tensor& z);

}  // namespace ctdl::ode::lab

// SDE solvers and gradient schemes by name, for the lab's "kind": "sde" problems.
//
//   ode::sde::Solver s = ode::sde::make_solver("milstein");
//   ode::Grad g = ode::sde::make_scheme("stochastic_adjoint", options);   // else ode's schemes
//
// Solvers: euler_maruyama, milstein, milstein_derivative_free, euler_heun, heun, midpoint,
// sra1, reversible_heun. Schemes: stochastic_adjoint (options "solver": the backward solver's
// name, "dt": its step), and every ODE scheme (backprop, reversible_adjoint,
// checkpoint_adjoint, ...).
#pragma once

#include "ctdl/ode/registry.h"
#include "ctdl/ode/sde/solver.h"

namespace ctdl::ode::sde {

Solver make_solver(const std::string& name);
std::vector<std::string> solver_names();
Grad make_scheme(const std::string& name, const NamedOptions& options);

}  // namespace ctdl::ode::sde

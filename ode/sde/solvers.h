// The SDE solvers: descriptions for sdeint's `solver` option (or the lab's names).
//
//   ode::sdeint(sde, z0, {0.0, 1.0}, {.solver = ode::sde::Milstein{}, .dt = 1e-3});
//
// | solver                  | SDE type      | noise                | strong order          |
// |-------------------------|---------------|----------------------|-----------------------|
// | EulerMaruyama           | Itô           | any                  | 0.5 (1.0 additive)    |
// | Milstein                | Itô or Strat. | diagonal, additive   | 1.0                   |
// | EulerHeun               | Stratonovich  | any                  | 0.5 (1.0 commutative) |
// | Heun                    | Stratonovich  | any                  | 0.5 (1.0 commutative) |
// | Midpoint                | Stratonovich  | any                  | 0.5 (1.0 commutative) |
// | SRA1                    | either        | additive             | 1.5                   |
// | ReversibleHeun          | Stratonovich  | any                  | 0.5 (1.0 commutative) |
//
// With additive noise Itô and Stratonovich coincide, so every solver accepts it.
// Milstein's g·∂g/∂z comes from autograd (differentiated again under backprop; a long
// backprop solve walks the recorded history at each step, so prefer derivative_free there) or,
// with derivative_free, from a second evaluation of g at z + f·h + g·√h (Itô) or z + g·√h
// (Stratonovich). SRA1 (Rößler 2010) evaluates f twice and g at t and t + h, and needs the
// space-time Lévy area. ReversibleHeun (Kidger, Foster, Li & Lyons 2021) carries ẑ, f(ẑ) and
// g(ẑ) and can be inverted step by step: ode::ReversibleAdjoint backpropagates through it in
// constant memory. EulerHeun, Heun and Midpoint need only drift and noise products and so can
// be the stochastic adjoint's backward solver.
#pragma once

#include "ctdl/ode/sde/solver.h"

namespace ctdl::ode::sde {

struct EulerMaruyama {
  std::string name() const { return "euler_maruyama"; }
  ode::Solver make(const Context& c) const;
};

struct Milstein {
  bool derivative_free = false;
  std::string name() const { return derivative_free ? "milstein_derivative_free" : "milstein"; }
  ode::Solver make(const Context& c) const;
};

struct EulerHeun {
  std::string name() const { return "euler_heun"; }
  ode::Solver make(const Context& c) const;
};

struct Heun {
  std::string name() const { return "heun"; }
  ode::Solver make(const Context& c) const;
};

struct Midpoint {
  std::string name() const { return "midpoint"; }
  ode::Solver make(const Context& c) const;
};

struct SRA1 {
  std::string name() const { return "sra1"; }
  bool levy_area() const { return true; }
  ode::Solver make(const Context& c) const;
};

struct ReversibleHeun {
  std::string name() const { return "reversible_heun"; }
  ode::Solver make(const Context& c) const;
};

// Checks shared by the descriptions: a positive dt, and the SDE type a method converges for.
ode::Solver fixed_steps(std::shared_ptr<const SdeMethod> method, double dt);
void require_type(const Context& c, SdeType type, const char* solver);

}  // namespace ctdl::ode::sde

// Solvers and gradient schemes by name, configured from flat options: what the lab reads
// from JSON, and where you register your own so the lab can run them.
//
//   ode::NamedOptions o("runs[0]");
//   o.set("step_size", 0.01);
//   ode::Solver s = ode::make_solver("rk4", o);
//   ode::register_scheme("my_scheme", [](const ode::NamedOptions& o) {
//     return ode::Grad(MyScheme{.alpha = o.number("alpha", 1.0)});
//   });
//   ode::Grad g = ode::make_scheme("my_scheme", ode::NamedOptions{});
//
// Unknown names and options that nobody reads are errors naming the key path given to
// NamedOptions, so a typo in a problem file is reported, not ignored.
#pragma once

#include <map>
#include <set>
#include <variant>

#include "ctdl/ode/odeint.h"

namespace ctdl::ode {

class NamedOptions {
 public:
  using Value = std::variant<double, bool, std::string>;
  explicit NamedOptions(std::string path = "options") : path_(std::move(path)) {}
  void set(const std::string& key, Value value) { values_[key] = std::move(value); }
  bool has(const std::string& key) const { return values_.count(key) > 0; }
  double number(const std::string& key, double fallback) const;
  bool flag(const std::string& key, bool fallback) const;
  std::string text(const std::string& key, const std::string& fallback) const;
  const std::string& path() const { return path_; }
  // Throws naming the first option that no number/flag/text call asked for.
  void check_all_read(const std::string& what) const;

 private:
  const Value* find(const std::string& key) const;
  std::string path_;
  std::map<std::string, Value> values_;
  mutable std::set<std::string> read_;
};

using SolverFactory = std::function<Solver(const NamedOptions&)>;
using SchemeFactory = std::function<Grad(const NamedOptions&)>;

// Built in: euler, midpoint, heun, rk4, bosh3, dopri5, tsit5, implicit_euler, trapezoid,
// bdf2, symplectic_euler, leapfrog (stormer_verlet), yoshida4, reversible_heun,
// asynchronous_leapfrog (alf, mali). Options: step_size, rtol, atol, first_step, min_step,
// max_step, max_steps; implicit: nonlinear ("newton" | "fixed_point"), tol, max_iters;
// asynchronous_leapfrog: damping.
Solver make_solver(const std::string& name, const NamedOptions& options);
// Built in: backprop, backsolve_adjoint (solver, rtol, atol, step_size, seminorm),
// checkpoint_adjoint (checkpoints, placement: "uniform" | "binomial"), symplectic_adjoint,
// reversible_adjoint, implicit_adjoint (krylov_rtol).
Grad make_scheme(const std::string& name, const NamedOptions& options);
void register_solver(const std::string& name, SolverFactory factory);
void register_scheme(const std::string& name, SchemeFactory factory);
std::vector<std::string> solver_names();
std::vector<std::string> scheme_names();

}  // namespace ctdl::ode

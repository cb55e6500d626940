#include "ctdl/ode/sde/registry.h"

#include "ctdl/ode/sde/solvers.h"
#include "ctdl/ode/sde/stochastic_adjoint.h"

namespace ctdl::ode::sde {
namespace {

const std::map<std::string, Solver>& solvers() {
  static const std::map<std::string, Solver> table = {
      {"euler_maruyama", EulerMaruyama{}},
      {"milstein", Milstein{}},
      {"milstein_derivative_free", Milstein{.derivative_free = true}},
      {"euler_heun", EulerHeun{}},
      {"heun", Heun{}},
      {"midpoint", Midpoint{}},
      {"sra1", SRA1{}},
      {"reversible_heun", ReversibleHeun{}},
  };
  return table;
}

}  // namespace

Solver make_solver(const std::string& name) {
  auto it = solvers().find(name);
  if (it != solvers().end()) return it->second;
  std::string known;
  for (const auto& [n, s] : solvers()) known += (known.empty() ? "" : ", ") + n;
  fail("unknown SDE solver \"", name, "\" (known: ", known, ")");
}

std::vector<std::string> solver_names() {
  std::vector<std::string> out;
  for (const auto& [n, s] : solvers()) out.push_back(n);
  return out;
}

Grad make_scheme(const std::string& name, const NamedOptions& options) {
  if (name != "stochastic_adjoint") return ode::make_scheme(name, options);
  StochasticAdjoint a;
  if (options.has("solver")) a.solver = make_solver(options.text("solver", ""));
  a.dt = options.number("dt", 0);
  options.check_all_read("gradient scheme stochastic_adjoint");
  return Grad(a);
}

}  // namespace ctdl::ode::sde

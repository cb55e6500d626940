#include "ctdl/ode/registry.h"

#include <mutex>

#include "ctdl/ode/schemes/backsolve.h"
#include "ctdl/ode/schemes/checkpoint.h"
#include "ctdl/ode/schemes/implicit_adjoint.h"
#include "ctdl/ode/schemes/reversible_adjoint.h"
#include "ctdl/ode/schemes/symplectic_adjoint.h"
#include "ctdl/ode/solvers/implicit.h"
#include "ctdl/ode/solvers/reversible.h"
#include "ctdl/ode/solvers/symplectic.h"

namespace ctdl::ode {

// ---- NamedOptions --------------------------------------------------------------------------

const NamedOptions::Value* NamedOptions::find(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) return nullptr;
  read_.insert(key);
  return &it->second;
}

double NamedOptions::number(const std::string& key, double fallback) const {
  const Value* v = find(key);
  if (!v) return fallback;
  CTDL_CHECK(std::holds_alternative<double>(*v), path_, ".", key, ": expected a number");
  return std::get<double>(*v);
}

bool NamedOptions::flag(const std::string& key, bool fallback) const {
  const Value* v = find(key);
  if (!v) return fallback;
  CTDL_CHECK(std::holds_alternative<bool>(*v), path_, ".", key, ": expected true or false");
  return std::get<bool>(*v);
}

std::string NamedOptions::text(const std::string& key, const std::string& fallback) const {
  const Value* v = find(key);
  if (!v) return fallback;
  CTDL_CHECK(std::holds_alternative<std::string>(*v), path_, ".", key, ": expected a string");
  return std::get<std::string>(*v);
}

void NamedOptions::check_all_read(const std::string& what) const {
  for (const auto& [key, value] : values_)
    CTDL_CHECK(read_.count(key), path_, ".", key, ": not an option of ", what);
}

// ---- the tables ----------------------------------------------------------------------------

namespace {

struct Registry {
  std::mutex mutex;
  std::map<std::string, SolverFactory> solvers;
  std::map<std::string, SchemeFactory> schemes;
};

template <class Config>
Config adaptive_config(const NamedOptions& o) {
  Config c;
  c.rtol = o.number("rtol", c.rtol);
  c.atol = o.number("atol", c.atol);
  c.step_size = o.number("step_size", 0);
  c.first_step = o.number("first_step", 0);
  c.min_step = o.number("min_step", 0);
  c.max_step = o.number("max_step", 0);
  c.max_steps = static_cast<int64_t>(o.number("max_steps", static_cast<double>(c.max_steps)));
  return c;
}

double required_step(const NamedOptions& o, const std::string& solver) {
  CTDL_CHECK(o.has("step_size"), o.path(), ": solver ", solver,
             " takes fixed steps: give step_size");
  double h = o.number("step_size", 0);
  CTDL_CHECK(h > 0, o.path(), ".step_size: must be positive, got ", h);
  // Tolerances mean nothing to a fixed-step method; accept them so one run description
  // can switch between solvers.
  o.number("rtol", 0);
  o.number("atol", 0);
  return h;
}

template <class Config>
Config fixed_config(const NamedOptions& o, const std::string& name) {
  Config c;
  c.step_size = required_step(o, name);
  return c;
}

NonlinearSolve nonlinear_config(const NamedOptions& o) {
  NonlinearSolve n;
  std::string method = o.text("nonlinear", "newton");
  CTDL_CHECK(method == "newton" || method == "fixed_point", o.path(),
             ".nonlinear: expected \"newton\" or "
             "\"fixed_point\", got \"",
             method, "\"");
  n.method = method == "newton" ? NonlinearMethod::Newton : NonlinearMethod::FixedPoint;
  n.tol = o.number("tol", 0);
  n.max_iters = static_cast<int>(o.number("max_iters", n.max_iters));
  return n;
}

template <class Config>
Config implicit_config(const NamedOptions& o, const std::string& name) {
  Config c;
  c.step_size = required_step(o, name);
  c.nonlinear = nonlinear_config(o);
  return c;
}

void add_builtins(Registry& r) {
  auto& s = r.solvers;
  s["euler"] = [](const NamedOptions& o) { return Solver(fixed_config<Euler>(o, "euler")); };
  s["midpoint"] = [](const NamedOptions& o) {
    return Solver(fixed_config<Midpoint>(o, "midpoint"));
  };
  s["heun"] = [](const NamedOptions& o) { return Solver(fixed_config<Heun>(o, "heun")); };
  s["rk4"] = [](const NamedOptions& o) { return Solver(fixed_config<RK4>(o, "rk4")); };
  s["bosh3"] = [](const NamedOptions& o) { return Solver(adaptive_config<Bosh3>(o)); };
  s["dopri5"] = [](const NamedOptions& o) { return Solver(adaptive_config<Dopri5>(o)); };
  s["tsit5"] = [](const NamedOptions& o) { return Solver(adaptive_config<Tsit5>(o)); };
  s["implicit_euler"] = [](const NamedOptions& o) {
    return Solver(implicit_config<ImplicitEuler>(o, "implicit_euler"));
  };
  s["trapezoid"] = [](const NamedOptions& o) {
    return Solver(implicit_config<Trapezoid>(o, "trapezoid"));
  };
  s["crank_nicolson"] = s["trapezoid"];
  s["bdf2"] = [](const NamedOptions& o) { return Solver(implicit_config<BDF2>(o, "bdf2")); };
  s["symplectic_euler"] = [](const NamedOptions& o) {
    return Solver(fixed_config<SymplecticEuler>(o, "symplectic_euler"));
  };
  s["leapfrog"] = [](const NamedOptions& o) {
    return Solver(fixed_config<Leapfrog>(o, "leapfrog"));
  };
  s["stormer_verlet"] = s["leapfrog"];
  s["yoshida4"] = [](const NamedOptions& o) {
    return Solver(fixed_config<Yoshida4>(o, "yoshida4"));
  };
  s["reversible_heun"] = [](const NamedOptions& o) {
    return Solver(fixed_config<ReversibleHeun>(o, "reversible_heun"));
  };
  s["asynchronous_leapfrog"] = [](const NamedOptions& o) {
    AsynchronousLeapfrog c = fixed_config<AsynchronousLeapfrog>(o, "asynchronous_leapfrog");
    c.damping = o.number("damping", 1.0);
    return Solver(c);
  };
  s["alf"] = s["mali"] = s["asynchronous_leapfrog"];

  auto& g = r.schemes;
  g["backprop"] = [](const NamedOptions&) { return Grad(Backprop{}); };
  g["backsolve_adjoint"] = [](const NamedOptions& o) {
    BacksolveAdjoint b;
    if (o.has("solver")) {
      NamedOptions so(o.path());
      for (const char* key : {"rtol", "atol", "step_size"})
        if (o.has(key)) so.set(key, o.number(key, 0));
      b.solver = make_solver(o.text("solver", ""), so);
    } else {
      b.rtol = o.number("rtol", 0);
      b.atol = o.number("atol", 0);
      CTDL_CHECK(!o.has("step_size"), o.path(),
                 ".step_size: give the backward solver too (\"solver\")");
    }
    b.seminorm = o.flag("seminorm", false);
    return Grad(b);
  };
  g["checkpoint_adjoint"] = [](const NamedOptions& o) {
    CheckpointAdjoint c;
    c.checkpoints = static_cast<int64_t>(o.number("checkpoints", 0));
    std::string placement = o.text("placement", "uniform");
    CTDL_CHECK(placement == "uniform" || placement == "binomial", o.path(),
               ".placement: expected "
               "\"uniform\" or \"binomial\", got \"",
               placement, "\"");
    c.placement =
        placement == "uniform" ? CheckpointPlacement::Uniform : CheckpointPlacement::Binomial;
    return Grad(c);
  };
  g["symplectic_adjoint"] = [](const NamedOptions&) { return Grad(SymplecticAdjoint{}); };
  g["reversible_adjoint"] = [](const NamedOptions&) { return Grad(ReversibleAdjoint{}); };
  g["implicit_adjoint"] = [](const NamedOptions& o) {
    ImplicitAdjoint a;
    a.krylov.rtol = o.number("krylov_rtol", a.krylov.rtol);
    return Grad(a);
  };
}

Registry& registry() {
  static Registry* r = [] {
    auto* reg = new Registry;
    add_builtins(*reg);
    return reg;
  }();
  return *r;
}

template <class Map>
std::string known(const Map& m) {
  std::string out;
  for (const auto& [name, factory] : m) out += (out.empty() ? "" : ", ") + name;
  return out;
}

}  // namespace

Solver make_solver(const std::string& name, const NamedOptions& options) {
  SolverFactory factory;
  {
    std::lock_guard<std::mutex> lock(registry().mutex);
    auto it = registry().solvers.find(name);
    CTDL_CHECK(it != registry().solvers.end(), options.path(), ".solver: unknown solver \"", name,
               "\" (known: ", known(registry().solvers), ")");
    factory = it->second;
  }
  Solver s = factory(options);
  options.check_all_read("solver " + name);
  return s;
}

Grad make_scheme(const std::string& name, const NamedOptions& options) {
  SchemeFactory factory;
  {
    std::lock_guard<std::mutex> lock(registry().mutex);
    auto it = registry().schemes.find(name);
    CTDL_CHECK(it != registry().schemes.end(), options.path(), ".grad: unknown gradient scheme \"",
               name, "\" (known: ", known(registry().schemes), ")");
    factory = it->second;
  }
  Grad g = factory(options);
  options.check_all_read("gradient scheme " + name);
  return g;
}

void register_solver(const std::string& name, SolverFactory factory) {
  std::lock_guard<std::mutex> lock(registry().mutex);
  registry().solvers[name] = std::move(factory);
}

void register_scheme(const std::string& name, SchemeFactory factory) {
  std::lock_guard<std::mutex> lock(registry().mutex);
  registry().schemes[name] = std::move(factory);
}

std::vector<std::string> solver_names() {
  std::lock_guard<std::mutex> lock(registry().mutex);
  std::vector<std::string> out;
  for (const auto& [name, f] : registry().solvers) out.push_back(name);
  return out;
}

std::vector<std::string> scheme_names() {
  std::lock_guard<std::mutex> lock(registry().mutex);
  std::vector<std::string> out;
  for (const auto& [name, f] : registry().schemes) out.push_back(name);
  return out;
}

}  // namespace ctdl::ode

// The methods that need only drifts and noise products: Euler–Maruyama (Itô) and the
// Stratonovich methods Euler–Heun, Heun and midpoint.
#include <cmath>

#include "ctdl/ode/sde/solvers.h"

namespace ctdl::ode::sde {
namespace {

class EulerMaruyamaMethod final : public SdeMethod {
 public:
  using SdeMethod::SdeMethod;
  std::string name() const override { return "euler_maruyama"; }
  int order() const override { return 1; }
  double strong_order() const override { return c_.noise == Noise::Additive ? 1.0 : 0.5; }
  bool product_only() const override { return true; }
  StepOutput step(const Field& f, double t, double h, const SolverState& s) const override {
    Terms k = product(f, t, s.z, dw(t, h, s.z));
    StepOutput out;
    out.next.z = combine(s.z, 1.0, {h, 1.0}, {k.drift, k.noise});
    return out;
  }
};

// z̃ = z + g(z)·ΔW,  z1 = z + f(z) h + (g(z) + g(z̃))·ΔW / 2.
class EulerHeunMethod final : public SdeMethod {
 public:
  using SdeMethod::SdeMethod;
  std::string name() const override { return "euler_heun"; }
  int order() const override { return 1; }
  double strong_order() const override { return c_.noise == Noise::General ? 0.5 : 1.0; }
  bool product_only() const override { return true; }
  StepOutput step(const Field& f, double t, double h, const SolverState& s) const override {
    Tensor w = dw(t, h, s.z);
    Terms k1 = product(f, t, s.z, w);
    Terms k2 = product(f, t + h, combine(s.z, 1.0, {1.0}, {k1.noise}, c_.reads), w);
    StepOutput out;
    out.next.z = combine(s.z, 1.0, {h, 0.5, 0.5}, {k1.drift, k1.noise, k2.noise});
    return out;
  }
};

// z̃ = z + f h + g·ΔW,  z1 = z + (f + f̃) h/2 + (g + g̃)·ΔW/2.
class HeunMethod final : public SdeMethod {
 public:
  using SdeMethod::SdeMethod;
  std::string name() const override { return "heun"; }
  int order() const override { return 2; }
  double strong_order() const override { return c_.noise == Noise::General ? 0.5 : 1.0; }
  bool product_only() const override { return true; }
  StepOutput step(const Field& f, double t, double h, const SolverState& s) const override {
    Tensor w = dw(t, h, s.z);
    Terms k1 = product(f, t, s.z, w);
    Terms k2 = product(f, t + h, combine(s.z, 1.0, {h, 1.0}, {k1.drift, k1.noise}, c_.reads), w);
    StepOutput out;
    out.next.z =
        combine(s.z, 1.0, {h / 2, h / 2, 0.5, 0.5}, {k1.drift, k2.drift, k1.noise, k2.noise});
    return out;
  }
};

// z_m = z + f h/2 + g·ΔW/2,  z1 = z + f(z_m) h + g(z_m)·ΔW.
class MidpointMethod final : public SdeMethod {
 public:
  using SdeMethod::SdeMethod;
  std::string name() const override { return "midpoint"; }
  int order() const override { return 2; }
  double strong_order() const override { return c_.noise == Noise::General ? 0.5 : 1.0; }
  bool product_only() const override { return true; }
  StepOutput step(const Field& f, double t, double h, const SolverState& s) const override {
    Tensor w = dw(t, h, s.z);
    Terms k1 = product(f, t, s.z, w);
    Terms k2 =
        product(f, t + h / 2, combine(s.z, 1.0, {h / 2, 0.5}, {k1.drift, k1.noise}, c_.reads), w);
    StepOutput out;
    out.next.z = combine(s.z, 1.0, {h, 1.0}, {k2.drift, k2.noise});
    return out;
  }
};

}  // namespace

ode::Solver fixed_steps(std::shared_ptr<const SdeMethod> method, double dt) {
  CTDL_CHECK(dt > 0 && std::isfinite(dt), method->name(),
             ": SDE solvers take fixed steps: give dt > 0, got ", dt);
  StepControl c;
  c.step_size = dt;
  return ode::Solver(std::move(method), c);
}

void require_type(const Context& c, SdeType type, const char* solver) {
  if (c.noise == Noise::Additive) return;  // Itô and Stratonovich coincide
  CTDL_CHECK(c.type == type, solver, ": converges to the ",
             type == SdeType::Ito ? "Itô" : "Stratonovich", " solution, but the SDE is ",
             name(c.type), " (with ", name(c.noise), " noise); use ",
             type == SdeType::Ito ? "heun, euler_heun, midpoint, milstein or reversible_heun"
                                  : "euler_maruyama or milstein",
             ", or convert the drift");
}

ode::Solver EulerMaruyama::make(const Context& c) const {
  require_type(c, SdeType::Ito, "euler_maruyama");
  return fixed_steps(std::make_shared<EulerMaruyamaMethod>(c), c.dt);
}
ode::Solver EulerHeun::make(const Context& c) const {
  require_type(c, SdeType::Stratonovich, "euler_heun");
  return fixed_steps(std::make_shared<EulerHeunMethod>(c), c.dt);
}
ode::Solver Heun::make(const Context& c) const {
  require_type(c, SdeType::Stratonovich, "heun");
  return fixed_steps(std::make_shared<HeunMethod>(c), c.dt);
}
ode::Solver Midpoint::make(const Context& c) const {
  require_type(c, SdeType::Stratonovich, "midpoint");
  return fixed_steps(std::make_shared<MidpointMethod>(c), c.dt);
}

}  // namespace ctdl::ode::sde

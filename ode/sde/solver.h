// SDE solvers are ode::Methods (so odeint's loop and the discrete gradient schemes run them)
// that draw their Brownian increments from a BrownianMotion. A solver description
// (ode::sde::Milstein{}, ...) becomes an ode::Solver once sdeint knows the Brownian motion,
// the noise type and the step:
//
//   ode::sde::Solver s = ode::sde::Milstein{.derivative_free = true};
//   ode::Solver solver = s.make({.brownian = bm, .noise = ode::sde::Noise::Diagonal,
//                                .type = ode::sde::SdeType::Ito, .dt = 1e-3});
//
// The field a method is given is an SDE's two-question field (sde.h). Methods that ask only
// for drift and noise products (product_only) also solve the stochastic adjoint's augmented
// SDE. Steps are fixed (dt); a step from t to t + h uses W(t + h) - W(t), negative steps
// included, so a Stratonovich method run backwards retraces the forward path.
#pragma once

#include <concepts>

#include "ctdl/ode/sde/brownian/brownian.h"
#include "ctdl/ode/sde/sde.h"
#include "ctdl/ode/solver.h"

namespace ctdl::ode::sde {

struct Context {
  std::shared_ptr<BrownianMotion> brownian;
  Noise noise = Noise::Diagonal;
  SdeType type = SdeType::Ito;
  double dt = 0;
  // The field reads only the first `reads` components of the state; the others are
  // quadratures (their drift and noise do not depend on them), so the product-only methods
  // leave their stage inputs unformed. The stochastic adjoint's parameter gradients are such.
  size_t reads = static_cast<size_t>(-1);
};

class SdeMethod : public Method {
 public:
  explicit SdeMethod(Context c);
  // Order of strong convergence for the noise types it supports (general noise: 0.5 unless
  // the method says otherwise); order() is the deterministic (ODE) order.
  virtual double strong_order() const = 0;
  // Needs only f and g·dW (solves the stochastic adjoint's augmented SDE).
  virtual bool product_only() const { return false; }
  const std::shared_ptr<BrownianMotion>& brownian() const { return c_.brownian; }
  Noise noise() const { return c_.noise; }
  SdeType sde_type() const { return c_.type; }

 protected:
  struct Terms {
    State drift, noise;  // f and g·dW, per component
  };
  // W(t + h) - W(t), on the device of the state z (the Brownian motion samples on the host).
  Tensor dw(double t, double h, const State& z) const;
  // F(t, z ++ {dW}): drift and noise product of every component.
  Terms product(const Field& f, double t, const State& z, const Tensor& dw) const;
  // F(t, {z}): drift and raw diffusion of a user SDE's single-tensor state.
  std::pair<Tensor, Tensor> raw(const Field& f, double t, const State& z) const;
  Context c_;
};

// A type-erased solver description: anything with `std::string name() const` and
// `ode::Solver make(const Context&) const`. Descriptions that need the Lévy area say so with
// `bool levy_area() const`.
class Solver {
 public:
  template <class Config>
  requires requires(const Config& c, const Context& x) {
    { c.make(x) } -> std::same_as<ode::Solver>;
    { c.name() } -> std::convertible_to<std::string>;
  }
  Solver(const Config& config) : name_(config.name()) {
    make_ = [config](const Context& x) { return config.make(x); };
    if constexpr (requires { config.levy_area(); }) levy_area_ = config.levy_area();
  }
  ode::Solver make(const Context& c) const { return make_(c); }
  const std::string& name() const { return name_; }
  bool levy_area() const { return levy_area_; }

 private:
  std::string name_;
  std::function<ode::Solver(const Context&)> make_;
  bool levy_area_ = false;
};

}  // namespace ctdl::ode::sde

// Milstein for diagonal noise: the Euler–Maruyama step plus ½ g ∂g/∂z (ΔW² - h) (Itô) or
// ½ g ∂g/∂z ΔW² (Stratonovich), elementwise.
#include <cmath>

#include "ctdl/autograd/engine.h"
#include "ctdl/autograd/grad_mode.h"
#include "ctdl/ode/sde/solvers.h"

namespace ctdl::ode::sde {
namespace {

class MilsteinMethod final : public SdeMethod {
 public:
  MilsteinMethod(Context c, bool derivative_free)
      : SdeMethod(std::move(c)), derivative_free_(derivative_free) {}
  std::string name() const override {
    return derivative_free_ ? "milstein_derivative_free" : "milstein";
  }
  int order() const override { return 1; }
  double strong_order() const override { return 1.0; }

  StepOutput step(const Field& f, double t, double h, const SolverState& s) const override {
    Tensor w = dw(t, h, s.z);
    // ΔW² - h for Itô, ΔW² for Stratonovich: what multiplies ½ g g'.
    Tensor w2 = c_.type == SdeType::Ito ? square(w) - h : square(w);
    auto [drift, g, correction] =
        derivative_free_ ? difference(f, t, h, s.z) : derivative(f, t, s.z);
    StepOutput out;
    out.next.z = {linear_combination({s.z[0], drift, g * w, correction * w2}, {1.0, h, 1.0, 0.5})};
    return out;
  }

 private:
  // f, g and g·∂g/∂z at z, by autograd. Diagonal noise means g_i depends on z_i only, so the
  // vector-Jacobian product with g itself is g_i ∂g_i/∂z_i.
  std::tuple<Tensor, Tensor, Tensor> derivative(const Field& f, double t, const State& z) const {
    const bool record = autograd::grad_enabled();
    autograd::EnableGradGuard grad_on;
    // Under backprop z carries the solve's history and the product is differentiated again
    // (create_graph); otherwise a fresh leaf suffices.
    Tensor x = record && z[0].requires_grad() ? z[0] : z[0].detach().requires_grad_();
    auto [drift, g] = raw(f, t, {x});
    Tensor gdg;
    if (g.requires_grad())
      gdg = autograd::grad({g}, {x}, {g}, {.create_graph = record, .allow_unused = true})[0];
    if (!gdg.defined()) gdg = zeros_like(g);
    if (!record) return {drift.detach(), g.detach(), gdg.detach()};
    return {drift, g, gdg};
  }

  // The same from a second evaluation of g: (g(ẑ) - g(z)) / √h ≈ g ∂g/∂z.
  std::tuple<Tensor, Tensor, Tensor> difference(const Field& f, double t, double h,
                                                const State& z) const {
    auto [drift, g] = raw(f, t, z);
    const double root = std::sqrt(std::abs(h));
    Tensor support = c_.type == SdeType::Ito ? linear_combination({z[0], drift, g}, {1.0, h, root})
                                             : axpby(1.0, z[0], root, g);
    Tensor g_support = raw(f, t, {support}).second;
    return {drift, g, (g_support - g) * (1.0 / root)};
  }

  bool derivative_free_;
};

}  // namespace

ode::Solver Milstein::make(const Context& c) const {
  CTDL_CHECK(c.noise == Noise::Diagonal || c.noise == Noise::Additive, name(),
             ": written for diagonal noise (and additive, where it is Euler–Maruyama); this SDE "
             "has ",
             sde::name(c.noise), " noise; use euler_maruyama, or heun for Stratonovich SDEs");
  if (c.noise == Noise::Additive) return EulerMaruyama{}.make(c);
  return fixed_steps(std::make_shared<MilsteinMethod>(c, derivative_free), c.dt);
}

}  // namespace ctdl::ode::sde

// SRA1 (Rößler 2010) for additive noise, strong order 1.5. With ΔW the increment and H the
// space-time Lévy area of the step (ΔZ/h = H + ΔW/2 in Rößler's notation):
//   z2 = z + ¾ h f(t, z) + g(t)·(¾ ΔW + 3/2 H)
//   z1 = z + h (⅓ f(t, z) + ⅔ f(t + ¾h, z2)) + g(t)·(ΔW/2 + H) + g(t + h)·(ΔW/2 - H)
// The coefficients are those of Rößler's SRA1 tableau (c0 = (0, ¾), A0 = ¾, B0 = 3/2,
// α = (⅓, ⅔), β1 = (1, 0), β2 = (-1, 1)), written out for two stages.
#include "ctdl/ode/sde/solvers.h"

namespace ctdl::ode::sde {
namespace {

class Sra1Method final : public SdeMethod {
 public:
  using SdeMethod::SdeMethod;
  std::string name() const override { return "sra1"; }
  int order() const override { return 2; }
  double strong_order() const override { return 1.5; }

  StepOutput step(const Field& f, double t, double h, const SolverState& s) const override {
    Increment inc = brownian()->increment_with_area(t, t + h);
    Tensor w = inc.w.to(s.z[0].device()), area = inc.h.to(s.z[0].device());
    auto [f1, g0] = raw(f, t, s.z);
    Tensor z2 = linear_combination(
        {s.z[0], f1, noise_product(c_.noise, g0, axpby(0.75, w, 1.5, area))}, {1.0, 0.75 * h, 1.0});
    Tensor f2 = raw(f, t + 0.75 * h, {z2}).first;
    Tensor g1 = raw(f, t + h, s.z).second;  // additive: g does not depend on z
    StepOutput out;
    out.next.z = {
        linear_combination({s.z[0], f1, f2, noise_product(c_.noise, g0, axpby(0.5, w, 1.0, area)),
                            noise_product(c_.noise, g1, axpby(0.5, w, -1.0, area))},
                           {1.0, h / 3, 2 * h / 3, 1.0, 1.0})};
    return out;
  }
};

}  // namespace

ode::Solver SRA1::make(const Context& c) const {
  CTDL_CHECK(c.noise == Noise::Additive,
             "sra1: written for additive noise (g independent of z); "
             "this SDE has ",
             sde::name(c.noise), " noise");
  CTDL_CHECK(c.brownian && c.brownian->options().levy_area,
             "sra1: needs the space-time Lévy area: make the Brownian motion with levy_area = "
             "true (sdeint does so for the Brownian motion it makes)");
  return fixed_steps(std::make_shared<Sra1Method>(c), c.dt);
}

}  // namespace ctdl::ode::sde

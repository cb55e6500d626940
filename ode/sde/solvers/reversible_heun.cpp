// Reversible Heun for Stratonovich SDEs (Kidger, Foster, Li & Lyons 2021), carrying
// ẑ, f(ẑ) and g(ẑ):
//   ẑ1 = 2z - ẑ + f(ẑ) h + g(ẑ)·ΔW
//   z1 = z + (f(ẑ) + f(ẑ1)) h/2 + (g(ẑ) + g(ẑ1))·ΔW/2
// and backwards, with the same ΔW (the Brownian motion is asked for the same step again):
//   ẑ = 2z1 - ẑ1 - f(ẑ1) h - g(ẑ1)·ΔW,  z = z1 - (f(ẑ) + f(ẑ1)) h/2 - (g(ẑ) + g(ẑ1))·ΔW/2.
// One evaluation of f and g per step either way.
#include "ctdl/ode/sde/solvers.h"

namespace ctdl::ode::sde {
namespace {

class ReversibleHeunMethod final : public SdeMethod {
 public:
  using SdeMethod::SdeMethod;
  std::string name() const override { return "reversible_heun"; }
  int order() const override { return 2; }
  double strong_order() const override { return c_.noise == Noise::General ? 0.5 : 1.0; }
  bool reversible() const override { return true; }

  SolverState init(const Field& f, double t0, const State& z0) const override {
    auto [f0, g0] = raw(f, t0, z0);
    return {z0, {z0[0], f0, g0}, {}};
  }

  StepOutput step(const Field& f, double t, double h, const SolverState& s) const override {
    Tensor w = dw(t, h, s.z);
    const Tensor &y_hat = s.carry[0], &f_hat = s.carry[1], &g_hat = s.carry[2];
    Tensor gw = noise_product(c_.noise, g_hat, w);
    Tensor y_hat1 = linear_combination({s.z[0], y_hat, f_hat, gw}, {2.0, -1.0, h, 1.0});
    auto [f1, g1] = raw(f, t + h, {y_hat1});
    StepOutput out;
    out.next.z = {linear_combination({s.z[0], f_hat, f1, gw, noise_product(c_.noise, g1, w)},
                                     {1.0, h / 2, h / 2, 0.5, 0.5})};
    out.next.carry = {y_hat1, f1, g1};
    return out;
  }

  SolverState inverse_step(const Field& f, double t, double h,
                           const SolverState& after) const override {
    Tensor w = dw(t, h, after.z);
    const Tensor &y_hat1 = after.carry[0], &f1 = after.carry[1], &g1 = after.carry[2];
    Tensor g1w = noise_product(c_.noise, g1, w);
    Tensor y_hat = linear_combination({after.z[0], y_hat1, f1, g1w}, {2.0, -1.0, -h, -1.0});
    auto [f0, g0] = raw(f, t, {y_hat});
    Tensor z = linear_combination({after.z[0], f0, f1, noise_product(c_.noise, g0, w), g1w},
                                  {1.0, -h / 2, -h / 2, -0.5, -0.5});
    return {{z}, {y_hat, f0, g0}, {}};
  }
};

}  // namespace

ode::Solver ReversibleHeun::make(const Context& c) const {
  require_type(c, SdeType::Stratonovich, "reversible_heun");
  return fixed_steps(std::make_shared<ReversibleHeunMethod>(c), c.dt);
}

}  // namespace ctdl::ode::sde

#include "ctdl/ode/sde/solver.h"

namespace ctdl::ode::sde {

SdeMethod::SdeMethod(Context c) : c_(std::move(c)) {
  CTDL_CHECK(c_.brownian != nullptr, "sde solver: no Brownian motion");
}

Tensor SdeMethod::dw(double t, double h, const State& z) const {
  Tensor w = c_.brownian->increment(t, t + h);
  return w.device() == z[0].device() ? w : w.to(z[0].device());
}

SdeMethod::Terms SdeMethod::product(const Field& f, double t, const State& z,
                                    const Tensor& dw) const {
  State in = z;
  in.push_back(dw);
  State out = f(t, in);
  CTDL_CHECK(out.size() == 2 * z.size(), name(), ": the SDE's field returned ", out.size(),
             " tensors for a state of ", z.size(), " and dW (expected drift and g·dW of each)");
  return {State(out.begin(), out.begin() + z.size()), State(out.begin() + z.size(), out.end())};
}

std::pair<Tensor, Tensor> SdeMethod::raw(const Field& f, double t, const State& z) const {
  CTDL_CHECK(z.size() == 1, name(),
             ": needs the diffusion itself, which only an SDE's own single-tensor state "
             "provides (the stochastic adjoint's augmented SDE gives only products g·dW; use "
             "euler_heun, heun or midpoint there)");
  State out = f(t, z);
  CTDL_CHECK(out.size() == 2, name(), ": the SDE's field returned ", out.size(),
             " tensors for {z} (expected drift and diffusion)");
  return {out[0], out[1]};
}

}  // namespace ctdl::ode::sde

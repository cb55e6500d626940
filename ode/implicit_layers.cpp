#include "ctdl/ode/implicit_layers.h"

namespace ctdl::ode {

Tensor implicit_euler_layer(const LayerFunction& f, const Tensor& x, double h,
                            const NonlinearSolve& options) {
  auto F = [f](const State& z) { return State{f(z[0])}; };
  return implicit_solve(F, {x}, h, {x}, options, str("implicit_euler_layer (h=", h, ")"))[0];
}

Tensor fixed_point(const LayerFunction& f, const Tensor& initial, const NonlinearSolve& options) {
  auto F = [f](const State& z) { return State{f(z[0])}; };
  return implicit_solve(F, {}, 1.0, {initial}, options, "fixed_point")[0];
}

}  // namespace ctdl::ode

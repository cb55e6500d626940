#include "chain.h"

#include "ctdl/autograd/grad_mode.h"

namespace ctdl::examples::srnn {

SpringChain SpringChain::random(int64_t n) {
  const TensorOptions f64{.dtype = DType::Float64};
  Tensor m = clamp(randn({n}, f64) * 0.25 + 1.0, 0.2, std::nullopt);
  Tensor k = clamp(randn({n + 1}, f64) * 0.25 + 1.0, 0.2, std::nullopt) * 5.0;
  return {m, k};
}

Tensor SpringChain::potential_gradient(const Tensor& q) const {
  // stretch[:, i] = q_i − q_{i−1} with the walls q_0 = q_{n+1} = 0 (indices from 1 here);
  // ∂V/∂q_i = k_{i−1}·stretch_{i−1} − k_i·stretch_i in the 0-based layout below.
  Tensor walls = pad(q, {1, 1});
  const int64_t n = q.size(-1);
  Tensor tension = (walls.narrow(-1, 1, n + 1) - walls.narrow(-1, 0, n + 1)) * springs.to(q.dtype());
  return tension.narrow(-1, 0, n) - tension.narrow(-1, 1, n);
}

Tensor SpringChain::energy(const Tensor& q, const Tensor& p) const {
  Tensor walls = pad(q, {1, 1});
  const int64_t n = q.size(-1);
  Tensor stretch = walls.narrow(-1, 1, n + 1) - walls.narrow(-1, 0, n + 1);
  return (square(p) / masses.to(p.dtype())).sum({-1}) * 0.5 +
         (square(stretch) * springs.to(q.dtype())).sum({-1}) * 0.5;
}

ode::Field SpringChain::field() const {
  SpringChain chain = *this;
  return [chain](double, const ode::State& z) -> ode::State {
    return {z[1] / chain.masses.to(z[1].dtype()), -chain.potential_gradient(z[0])};
  };
}

ChainData simulate(const SpringChain& chain, const SimulateOptions& o) {
  autograd::NoGradGuard no_grad;
  const int64_t n = chain.size(), B = o.trajectories;
  const TensorOptions f64{.dtype = DType::Float64};
  Tensor q0 = (rand({B, n}, f64) * 2.0 - 1.0) * o.amplitude;
  Tensor p0 = (rand({B, n}, f64) * 2.0 - 1.0) * o.amplitude;
  std::vector<double> times;
  for (int64_t i = 0; i <= o.steps; ++i) times.push_back(o.dt * static_cast<double>(i));
  TensorList path = ode::odeint(chain.field(), {q0, p0}, times,
                                {.solver = ode::Leapfrog{.step_size = o.fine_dt}});
  Tensor clean = cat({path[0], path[1]}, -1);  // [steps + 1, B, 2n]
  Tensor noisy = clean + randn(clean.shape(), f64) * o.noise;
  return {clean.to(DType::Float32), noisy.to(DType::Float32)};
}

}  // namespace ctdl::examples::srnn

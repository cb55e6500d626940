#include "data.h"

#include <cmath>
#include <numbers>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/ode/ode.h"

namespace ctdl::examples::neural_ode {

Labeled concentric_circles(int64_t n) {
  const int64_t inner = n / 2;
  Tensor angle = rand({n}) * (2 * std::numbers::pi);
  Tensor u = rand({n});
  Tensor label = cat({zeros({inner}, {.dtype = DType::Int64}),
                      ones({n - inner}, {.dtype = DType::Int64})});
  // Uniform in the disc |x| ≤ 0.5, and radius uniform in [1, 1.5] for the ring.
  Tensor radius = where(label < 0.5, sqrt(u) * 0.5, u * 0.5 + 1.0);
  return {stack({radius * cos(angle), radius * sin(angle)}, 1), label};
}

Labeled two_spirals(int64_t n, double noise) {
  const int64_t half = n / 2;
  Tensor label = cat({zeros({half}, {.dtype = DType::Int64}),
                      ones({n - half}, {.dtype = DType::Int64})});
  Tensor s = rand({n});  // position along the spiral
  Tensor radius = s * 0.9 + 0.1;
  Tensor angle = s * (3 * std::numbers::pi) + where(label < 0.5, zeros({n}), full({n}, std::numbers::pi));
  Tensor x = stack({radius * cos(angle), radius * sin(angle)}, 1);
  return {x + randn({n, 2}) * noise, label};
}

Tensor cubic_spiral_matrix() {
  return tensor({{-0.1, 2.0}, {-2.0, -0.1}}, {.dtype = DType::Float64});
}

Tensor cubic_spiral(int64_t points, double t_end) {
  autograd::NoGradGuard no_grad;
  Tensor A = cubic_spiral_matrix();
  std::vector<double> times;
  for (int64_t i = 0; i < points; ++i)
    times.push_back(t_end * static_cast<double>(i) / static_cast<double>(points - 1));
  Tensor z0 = tensor({{2.0, 0.0}}, {.dtype = DType::Float64});
  Tensor zs = ode::odeint([A](double, const Tensor& z) { return matmul(z * z * z, A); }, z0, times,
                          {.solver = ode::Dopri5{.rtol = 1e-9, .atol = 1e-10}});
  return zs.select(1, 0).to(DType::Float32);  // [points, 2]
}

}  // namespace ctdl::examples::neural_ode

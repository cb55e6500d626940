#include "pdenet1_model.h"

namespace ctdl::examples::pdenet {

namespace {

nn::MomentConvOptions filter_options(const PdeNet1Options& o, double learning_scale) {
  return {.kernel_size = o.kernel_size,
          .dx = o.dx,
          .dy = o.dx,
          .constraint = o.constraint,
          .accuracy = o.accuracy,
          .learning_scale = learning_scale};
}

}  // namespace

PdeNet1::PdeNet1(PdeNet1Options o)
    : Module("PdeNet1"),
      // D₀ acts on u directly, the others through δt·c_α: its moments get δt-sized steps.
      identity(register_module("identity",
                               nn::MomentConv2d({{0, 0}}, filter_options(o, o.dt / o.substeps)))),
      derivatives(register_module(
          "derivatives", nn::MomentConv2d(nn::orders_up_to(o.max_order), filter_options(o, 1.0)))),
      o_(o) {
  const int64_t terms = derivatives.size() - (o.nonlinear ? 1 : 0), m = o.coefficient_mesh;
  coefficients =
      register_parameter("coefficients", zeros({terms, m, m}, {.dtype = DType::Float64}));
  term_scale = register_buffer("term_scale", ones({terms, 1, 1}, {.dtype = DType::Float64}));
  if (o.nonlinear)
    chebyshev =
        register_parameter("chebyshev", zeros({o.nonlinear_degree + 1}, {.dtype = DType::Float64}));
}

std::vector<std::string> PdeNet1::term_names() const {
  std::vector<std::string> names;
  for (size_t f = o_.nonlinear ? 1 : 0; f < derivatives.orders().size(); ++f)
    names.push_back(term_name(derivatives.orders()[f]));
  return names;
}

TensorList PdeNet1::response_parameters() const {
  if (o_.nonlinear) return {coefficients, chebyshev};
  return {coefficients};
}

void PdeNet1::set_term_scales(const Tensor& u) {
  autograd::NoGradGuard no_grad;
  Tensor du = derivatives(u).select(1, 0);  // [B, F, n, n]
  if (o_.nonlinear) du = du.narrow(1, 1, du.size(1) - 1);
  Tensor rms = du.square().mean({0, 2, 3}).sqrt();
  Tensor scale = u.square().mean().sqrt() / rms;
  term_scale.copy_(scale.reshape({-1, 1, 1}));
}

Tensor PdeNet1::fields(const GridInterpolation& grid) const {
  return interpolate(coefficients * term_scale, grid);
}

Tensor PdeNet1::response(const Tensor& u) const {
  // Σ_p θ_p T_p(u / range) by the three-term recurrence.
  Tensor z = u / o_.nonlinear_range;
  Tensor t_prev = ones_like(z), t = z;
  Tensor out = t_prev * chebyshev.select(0, 0);
  for (int64_t p = 1; p <= o_.nonlinear_degree; ++p) {
    out = out + t * chebyshev.select(0, p);
    Tensor next = z * t * 2.0 - t_prev;
    t_prev = t;
    t = next;
  }
  return out;
}

Tensor PdeNet1::block(const Tensor& u, const Tensor& c) const {
  Tensor base = identity(u).select(2, 0);   // [B, 1, n, n]
  Tensor du = derivatives(u).select(1, 0);  // [B, F, n, n]
  Tensor rhs;
  if (o_.nonlinear) {
    const int64_t f = du.size(1);
    rhs = (c * du.narrow(1, 1, f - 1)).sum({1}, true) + response(du.narrow(1, 0, 1));
  } else {
    rhs = (c * du).sum({1}, true);
  }
  return base + rhs * (o_.dt / static_cast<double>(o_.substeps));
}

Tensor PdeNet1::step(const Tensor& u, const Tensor& c) const {
  Tensor v = u;
  for (int64_t s = 0; s < o_.substeps; ++s) v = block(v, c);
  return v;
}

Tensor PdeNet1::predict(const Tensor& u0, const Tensor& c, int64_t steps) const {
  Tensor u = u0;
  for (int64_t s = 0; s < steps; ++s) u = step(u, c);
  return u;
}

}  // namespace ctdl::examples::pdenet

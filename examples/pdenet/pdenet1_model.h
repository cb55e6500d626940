// PDE-Net (Long, Lu, Ma & Dong, ICML 2018): δt-blocks
//   u_{n+1} = D₀u_n + δt·Σ_α c_α(x, y)·D_α u_n,
// with moment-constrained filters D₀, D_α (nn::MomentConv2d) and coefficient fields c_α
// learned as values on a coarse periodic mesh, interpolated to the data grid. For the
// nonlinear-diffusion example the term of order zero is a learned function f(D₀₀u) instead.
//
//   PdeNet1 net({.dx = 2π/50, .dt = 0.015});
//   Tensor c = net.fields(grid_interpolation(offsets, 50, 20, DType::Float64));
//   Tensor u20 = net.predict(u0, c, 20);      // u0 [B, 1, 50, 50]
#pragma once

#include "common.h"

namespace ctdl::examples::pdenet {

struct PdeNet1Options {
  int64_t kernel_size = 5;
  int64_t max_order = 4;
  int64_t accuracy = 1;
  double dx = 1.0, dt = 0.015;  // dt: the time between observations
  int64_t substeps = 1;         // δt-blocks per observation interval (δt = dt / substeps)
  nn::MomentConstraint constraint = nn::MomentConstraint::Moment;
  int64_t coefficient_mesh = 20;
  bool nonlinear = false;         // learn f(u) for the term of order zero
  int64_t nonlinear_degree = 12;  // f as a Chebyshev series of this degree...
  double nonlinear_range = 4.0;   // ...in u / range
};

class PdeNet1 : public nn::Module {
 public:
  explicit PdeNet1(PdeNet1Options options);

  // Preconditioning: the coefficient of term α is stored divided by rms(D_α u)/rms(u) of
  // these fields, so that every stored value moves the prediction about equally (an
  // coefficient of u_xx is ~k² times smaller than its effect). Call once, before training.
  void set_term_scales(const Tensor& u);

  // The coefficient fields on each sample's grid, [B, terms, n, n].
  Tensor fields(const GridInterpolation& grid) const;
  // One δt-block; u [B, 1, n, n].
  Tensor block(const Tensor& u, const Tensor& fields) const;
  // One observation interval (substeps blocks), and `steps` of them.
  Tensor step(const Tensor& u, const Tensor& fields) const;
  Tensor predict(const Tensor& u0, const Tensor& fields, int64_t steps) const;
  // The learned response f (nonlinear only), elementwise.
  Tensor response(const Tensor& u) const;

  // Names of the coefficient fields, in order ("u_x", "u_y", ...).
  std::vector<std::string> term_names() const;
  TensorList filter_parameters() const { return {identity.moments, derivatives.moments}; }
  TensorList response_parameters() const;
  const PdeNet1Options& options() const { return o_; }

  nn::MomentConv2d identity;     // D₀
  nn::MomentConv2d derivatives;  // D_α, |α| <= max_order
  Tensor coefficients;           // [terms, mesh, mesh], in units of term_scale
  Tensor term_scale;             // [terms, 1, 1] buffer
  Tensor chebyshev;              // [degree + 1] (nonlinear only)

 private:
  PdeNet1Options o_;
};

}  // namespace ctdl::examples::pdenet

// PDE-Net 2.0 (Long, Lu & Dong, J. Comput. Phys. 2019): δt-blocks
//   u_{n+1} = u_n + δt·SymNet_u(u, u_x, u_y, u_xx, ..., v, v_x, ...),  likewise for v,
// with moment-constrained derivative filters shared by the channels, first-order terms taken
// upwind: each channel's ∂x, ∂y come from the learned filter or from its mirror image
// (−flip), whichever looks upwind given the sign of ∂SymNet/∂(u_x) at that point.
//
//   PdeNet2 net({.dx = 2π/32, .dt = 0.01});
//   Tensor u1 = net.step(u0);                       // u0 [B, 2, 32, 32]
//   std::cout << net.equations();                   // u_t = -1.0 u*u_x - ... (pruned)
#pragma once

#include "common.h"
#include "symnet.h"

namespace ctdl::examples::pdenet {

struct PdeNet2Options {
  std::vector<std::string> channels = {"u", "v"};
  int64_t kernel_size = 5;
  int64_t max_order = 2;
  int64_t accuracy = 1;
  double dx = 1.0, dt = 0.01;  // dt: the time between observations
  int64_t substeps = 1;        // δt-blocks per observation interval (δt = dt / substeps)
  nn::MomentConstraint constraint = nn::MomentConstraint::Moment;
  int64_t hidden_layers = 3;
  bool upwind = true;
};

class PdeNet2 : public nn::Module {
 public:
  explicit PdeNet2(PdeNet2Options options);

  // The SymNets' inputs: every filter on every channel, [B·n·n, channels·filters].
  Tensor features(const Tensor& u) const;
  Tensor rhs(const Tensor& u) const;  // u [B, C, n, n] -> [B, C, n, n]
  // One δt-block, and one observation interval (substeps blocks).
  Tensor block(const Tensor& u) const { return u + rhs(u) * (o_.dt / o_.substeps); }
  Tensor step(const Tensor& u) const;

  // The expanded right-hand side of each channel's equation.
  std::vector<Polynomial> expansions() const;
  // "u_t = ...\nv_t = ..." with terms below `prune` left out.
  std::string equations(double prune) const;
  const std::vector<std::string>& feature_names() const { return feature_names_; }

  TensorList filter_parameters() const { return {filters.moments}; }
  TensorList symnet_parameters() const;
  // Σ over SymNet parameters and over the learned moments of the smoothed L1 norm
  // (|p| − s/2 above s, p²/(2s) below), s = 1e-3 and 1e-2 as in the authors' setup.
  Tensor symnet_sparsity() const;
  Tensor moment_sparsity() const;

  nn::MomentConv2d filters;
  std::vector<SymNet> symnets;

 private:
  Tensor upwind_features(const Tensor& raw, const Tensor& u) const;
  PdeNet2Options o_;
  std::vector<std::string> feature_names_;
  int64_t fx_ = -1, fy_ = -1;  // indices of the ∂x and ∂y filters
};

}  // namespace ctdl::examples::pdenet

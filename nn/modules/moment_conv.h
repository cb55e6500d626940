// Finite-difference filters parameterized by their moments (PDE-Net, Long et al. 2018).
//
//   // ∂u/∂x, ∂u/∂y, ∂²u/∂x², ... up to order 2 on a periodic 64×64 grid of spacing h
//   nn::MomentConv2d d(nn::orders_up_to(2), {.kernel_size = 5, .dx = h, .dy = h});
//   Tensor du = d(u);               // u [N, C, 64, 64] -> [N, C, 6, 64, 64]
//   Tensor k = d.kernels();         // [6, 5, 5], already divided by dx^i·dy^j
//   nn::MomentConv2d frozen(nn::orders_up_to(2), {.dx = h, .dy = h,
//                                                 .constraint = nn::MomentConstraint::Frozen});
//
// A k×k filter q and its moment matrix M are two views of one thing:
//   M[i][j] = Σ_{a,b} q[a][b] · (a − c)^i / i! · (b − c)^j / j!,   c = (k − 1)/2,
// i.e. M = V·q·Vᵀ with V[i][a] = (a − c)^i / i!, and q = V⁻¹·M·V⁻ᵀ. By Taylor expansion the
// filter (a cross-correlation, as conv2d computes) applied to a smooth u on a grid of
// spacings (dx, dy) gives Σ_{i,j} M[i][j] dx^i dy^j ∂ˣⁱ∂ʸʲ u, so a filter for ∂^α u with
// accuracy order r has M[α] = 1 and M[β] = 0 for every other |β| < |α| + r, and is divided
// by dx^α_x·dy^α_y. Dimension −2 of a field is x (the first moment index), dimension −1 is y.
//
// Constraints (which moments are trained):
//   Moment  the moments of total order below |α| + accuracy are fixed as above, the rest
//           are learned (PDE-Net's "moment" filters);
//   Frozen  every moment is fixed: the filter stays what it was initialized to (by default the
//           classical central stencil with all other moments zero, see fd_stencil_1d);
//   Free    every moment is learned.
// The filters are computed from moments·free_mask·learning_scale + fixed_moments: the fixed
// moments live in a buffer, so they get no gradient and no optimizer (weight decay included)
// can move them.
#pragma once

#include <array>
#include <vector>

#include "ctdl/nn/module.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::nn {

// A derivative ∂ˣⁱ∂ʸʲ as {i, j}.
using DiffOrder = std::array<int64_t, 2>;

// All orders of total degree <= max_order, by degree, x-heavy first:
// {0,0}, {1,0}, {0,1}, {2,0}, {1,1}, {0,2}, ...
std::vector<DiffOrder> orders_up_to(int64_t max_order);

enum class MomentConstraint { Moment, Frozen, Free };

struct MomentConvOptions {
  int64_t kernel_size = 5;  // odd
  double dx = 1.0;          // grid spacing along dimension −2 (x)
  double dy = 1.0;          // grid spacing along dimension −1 (y)
  MomentConstraint constraint = MomentConstraint::Moment;
  int64_t accuracy = 1;  // Moment: moments of total order < |α| + accuracy are fixed
  PadMode padding_mode = PadMode::Circular;  // Constant pads with zeros
  DType dtype = DType::Float64;
  // Preconditioning: the learned moments are stored divided by this factor (the filters use
  // stored·learning_scale), so a filter whose moments act strongly (PDE-Net's D₀, applied
  // without the δt factor of the others) can take optimizer steps of a comparable size.
  double learning_scale = 1.0;
};

// V[i][a] = (a − (k − 1)/2)^i / i!, [k, k].
Tensor moment_matrix_1d(int64_t kernel_size, DType dtype = DType::Float64);
// Moments of kernels [..., k, k] (V·q·Vᵀ) and back (V⁻¹·M·V⁻ᵀ); both differentiable.
Tensor kernel_to_moments(const Tensor& kernels);
Tensor moments_to_kernel(const Tensor& moments);
// The 1-D central stencil of k points whose moments are δ_{i,order} for i < k: the classical
// finite-difference weights of the order-th derivative at unit spacing ([1, −8, 0, 8, −1]/12
// for order 1, k = 5).
std::vector<double> fd_stencil_1d(int64_t order, int64_t kernel_size);

class MomentConv2d : public Module {
 public:
  MomentConv2d(std::vector<DiffOrder> orders, MomentConvOptions options = {});

  // u [N, C, H, W] -> [N, C, F, H, W]: every filter applied to every channel, padded by the
  // options' mode so the output keeps the input's size.
  Tensor operator()(const Tensor& u) const;
  // The filters [F, k, k], scaled by 1/(dx^i·dy^j); differentiable in `moments`.
  Tensor kernels() const;
  // Any kernels [F', k, k] applied like operator() (for upwind variants of kernels()).
  Tensor convolve(const Tensor& u, const Tensor& kernels) const;

  // Sets filter f from an unscaled stencil [k, k] (as on a unit grid). Throws when it breaks
  // the fixed moments of a Moment or Frozen filter (M[β] = δ_αβ for |β| < |α| + accuracy).
  void set_kernel(int64_t f, const Tensor& stencil);

  const std::vector<DiffOrder>& orders() const { return orders_; }
  const MomentConvOptions& options() const { return options_; }
  int64_t size() const { return static_cast<int64_t>(orders_.size()); }

  Tensor moments;        // [F, k, k] parameter (÷ learning_scale); only its free entries count
  Tensor free_mask;      // [F, k, k] buffer: 1 where the moment is learned
  Tensor fixed_moments;  // [F, k, k] buffer: the fixed moments' values, 0 where learned

 private:
  Tensor effective_moments() const;
  std::vector<DiffOrder> orders_;
  MomentConvOptions options_;
  Tensor v_inverse_;  // V⁻¹ [k, k]
  Tensor scale_;      // [F, 1, 1]: 1/(dx^i·dy^j)
};

}  // namespace ctdl::nn

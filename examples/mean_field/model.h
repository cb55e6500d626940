// The mean-field ResNet of Lu, Ma, Lu, Lu & Ying, "A Mean-field Analysis of Deep ResNet and
// Beyond: Towards Provable Optimization Via Overparameterization From Depth" (ICML 2020).
//
// L residual blocks of M units each, every unit a small two-layer network
// σ(x; θ) = u·act(w·x + b) with θ = (w, b, u), w, u ∈ R^d:
//
//   x_{l+1} = x_l + 1/(L·M) · Σ_{m=1..M} σ(x_l; θ_{l,m}),      l = 0 .. L-1.
//
// Read as forward Euler with step 1/L, this is the continuum limit
//
//   dX/dt = E_{θ∼ρ(t)} σ(X; θ),  t ∈ [0, 1],
//
// with ρ(t) the empirical measure of the M units of the block at depth t. The 1/(L·M) scaling
// (rather than 1/√M) is what makes the units "particles" of a distribution: under SGD each
// one moves by O(1) only if its learning rate is scaled up by L·M (TrainOptions, train.h;
// Adam, the default there, is blind to the scale).
//
//   MeanFieldResNet body({.dim = 8, .depth = 16, .width = 32});
//   Tensor xL = body(x0);                              // x0 [N, 8] -> x_L [N, 8]
//   Tensor same = body.forward(x0, body.order());      // the same, with the order spelled out
//   Tensor shuffled = body.forward(x0, {3, 0, 1, ...}); // the blocks in another order
//   Tensor ode = body.continuum(x0, 8);                // dX/dt = E σ(X; θ) by RK4, 8 steps a block
//   body.swap(2, 5);                                   // order switching: blocks 2 and 5 trade
//   places
//
// The order is part of the model (a buffer, saved in checkpoints): position p of the network
// runs the units of blocks[order[p]]. Switching the order moves a block's parameters to
// another depth without touching them, so an optimizer's per-parameter state follows them.
#pragma once

#include <cstdint>
#include <vector>

#include "ctdl/nn/nn.h"

namespace ctdl::examples::mean_field {

// Σ_m u_m·act(w_m·x + b_m) for x [N, d], w [M, d], b [M], u [d, M]: [N, d].
Tensor units_sum(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& u);

struct MeanFieldOptions {
  int64_t dim = 8;     // d
  int64_t depth = 8;   // L
  int64_t width = 16;  // M
  DType dtype = DType::Float32;
};

// One block's M units: the particles θ_{l,1..M}.
class MeanFieldBlock : public nn::Module {
 public:
  MeanFieldBlock(int64_t dim, int64_t width, DType dtype);
  // (1/M) Σ_m σ(x; θ_m): the velocity field E_{θ∼ρ} σ(x; θ) of the empirical measure.
  Tensor field(const Tensor& x) const;

  Tensor w, b, u;  // [M, d], [M], [d, M]
};

class MeanFieldResNet : public nn::Module {
 public:
  explicit MeanFieldResNet(MeanFieldOptions options);

  Tensor operator()(const Tensor& x0) const { return forward(x0, order()); }
  // x_L with block order[p] at position p (any permutation of 0..L-1).
  Tensor forward(const Tensor& x0, const std::vector<int64_t>& order) const;
  // X(1) of the continuum model (the same field, block by block, with RK4 and `substeps`
  // steps per block instead of one Euler step), through ode::odeint.
  Tensor continuum(const Tensor& x0, int64_t substeps) const;

  std::vector<int64_t> order() const;
  void set_order(const std::vector<int64_t>& order);
  void swap(int64_t i, int64_t j);  // the blocks at positions i and j trade places

  const MeanFieldOptions& options() const { return o_; }
  nn::ModuleList<MeanFieldBlock> blocks;
  Tensor order_;  // int64 [L] buffer

 private:
  MeanFieldOptions o_;
};

// A classifier around the residual body: a linear embedding of the input into R^d, the
// mean-field ResNet, a learned linear read-out. The embedding is a fixed random projection
// unless `learn_embedding`: learned, it grows until the units' tanh saturate, and the blocks
// then add a constant (in our MNIST runs the permuted networks' logits moved by 1e-4): the
// network becomes a linear classifier. Fixed, the residual blocks are the only nonlinearity.
class MeanFieldClassifier : public nn::Module {
 public:
  MeanFieldClassifier(int64_t inputs, int64_t classes, MeanFieldOptions options,
                      bool learn_embedding = false);
  Tensor operator()(const Tensor& x) const { return head(body(embed(x.flatten(1)))); }
  Tensor with_order(const Tensor& x, const std::vector<int64_t>& order) const {
    return head(body.forward(embed(x.flatten(1)), order));
  }
  Tensor continuum(const Tensor& x, int64_t substeps) const {
    return head(body.continuum(embed(x.flatten(1)), substeps));
  }
  // The units' parameters (trained with the mean-field learning-rate scaling) and the other
  // trained ones (the read-out, and the embedding if it is learned).
  TensorList particle_parameters() const { return body.parameters(); }
  TensorList outer_parameters() const;

  bool learn_embedding = false;

  nn::Linear embed;
  MeanFieldResNet body;
  nn::Linear head;
};

}  // namespace ctdl::examples::mean_field

// A deep residual network, u_{n+1} = u_n + h·F_n(u_n) for n < layers, whose layers are
// spread over the ranks and whose forward and backward propagation are solved with MGRIT
// (mgrit.h) instead of layer after layer: layer-parallel training (Günther et al. 2020).
//
//   std::vector<ResidualLayer> blocks = ...;                 // every rank builds them all
//   distributed::LayerParallelResNet net(comm, 256, h,
//       [&](int64_t n, const Tensor& u) { return blocks[n](u); },       // F_n
//       [&](int64_t n) { return blocks[n].parameters(); },             // θ_n
//       {.forward = {.coarsening = 8}, .backward = {.coarsening = 8}});
//   Tensor uN = net.forward(u0);        // on the last rank (undefined elsewhere)
//   Tensor du0 = net.backward(dL_duN);  // on rank 0; θ_n.grad() += dL/dθ_n for the local n
//
// Rank r holds layers [first_layer(), end_layer()): only their parameters get gradients
// there, and an optimizer over them (plus what comes before the network on rank 0 and
// after it on the last rank) trains the whole model without any parameter crossing ranks.
//
// Forward: MGRIT on u, with F_n's graph recorded in the level-0 sweeps (one layer's worth of
// activations per layer, as backprop keeps). Backward: MGRIT on the adjoint λ_n = λ_{n+1} +
// h·(∂F_n/∂u)ᵀλ_{n+1}, run from the last rank to the first, each step a vector-Jacobian
// product through the recorded graph; the level-0 sweeps also give dL/dθ_n = h·(∂F_n/∂θ_n)ᵀ
// λ_{n+1}. Coarse levels step over m^l layers with the first layer's weights: u + m^l·h·F_n(u).
//
// With warm_start, each forward solve starts from the previous one's points: in training the
// weights change little from one step to the next, and a few iterations per solve
// (max_iterations 1 or 2, final_relax false) give the paper's inexact but much cheaper
// gradient. The backward solve starts cold by default (warm_start_backward): its end value
// dL/du_N changes much more from step to step than the states do.
#pragma once

#include <functional>

#include "ctdl/distributed/mgrit.h"

namespace ctdl::distributed {

struct LayerParallelOptions {
  MgritOptions forward;
  MgritOptions backward;   // reverse is set by the network
  bool warm_start = true;  // forward: start from the previous forward solve's points
  // Backward: start from the previous backward solve's points, instead of from a sweep of the
  // coarse level from the current dL/du_N. Measured in training (examples/layer_parallel),
  // the warm start's residual is as large as a cold start's, and its stale adjoint points
  // make one iteration's gradients worse (relative error 0.55 against 0.28).
  bool warm_start_backward = false;
};

class LayerParallelResNet {
 public:
  using Residual = std::function<Tensor(int64_t layer, const Tensor& u)>;
  using LayerParameters = std::function<TensorList(int64_t layer)>;

  LayerParallelResNet(Communicator& comm, int64_t layers, double h, Residual residual,
                      LayerParameters parameters, LayerParallelOptions options = {});

  int64_t layers() const { return layers_; }
  int64_t first_layer() const { return forward_.begin(); }
  int64_t end_layer() const { return forward_.begin() + layers_ / comm_.size(); }
  bool holds_input() const { return forward_.holds_start(); }
  bool holds_output() const { return forward_.holds_end(); }
  LayerParallelOptions& options() { return o_; }

  // u_N from u_0. u0: the input on the first rank; elsewhere any tensor of its shape.
  // Returns u_N on the last rank, an undefined tensor elsewhere. No graph is returned:
  // differentiate with backward(). Under autograd::NoGradGuard nothing is recorded.
  Tensor forward(const Tensor& u0);
  // dL/du_0 (on the first rank) from dL/du_N (on the last rank; elsewhere any tensor of its
  // shape), after forward(); adds dL/dθ_n to the .grad of the local layers' parameters.
  Tensor backward(const Tensor& grad_output);

  const MgritResult& last_forward() const { return forward_result_; }
  const MgritResult& last_backward() const { return backward_result_; }
  // Forgets the previous solves' points (the next solves start cold).
  void reset_warm_start();

 private:
  Tensor layer_step(int level, int64_t i, const Tensor& u);
  Tensor adjoint_step(int level, int64_t i, const Tensor& lambda);

  Communicator& comm_;
  int64_t layers_;
  double h_;
  Residual residual_;
  LayerParameters parameters_;
  LayerParallelOptions o_;
  Mgrit forward_, adjoint_;
  struct Graph {
    Tensor input, output;  // F_n's input (a leaf) and F_n(input), recorded
  };
  std::vector<Graph> graphs_;      // the local layers'
  std::vector<TensorList> grads_;  // the last level-0 sweep's dL/dθ_n of the local layers
  std::vector<Tensor> states_, adjoints_;
  MgritResult forward_result_, backward_result_;
  bool record_ = false;  // forward() under grad mode: keep the graphs for backward()
};

// The same network propagated layer after layer on one rank, with autograd: the reference
// that layer-parallel propagation converges to, and the serial baseline it is timed against.
Tensor serial_resnet_forward(const LayerParallelResNet::Residual& residual, int64_t layers,
                             double h, const Tensor& u0);

}  // namespace ctdl::distributed

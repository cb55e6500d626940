#include "ctdl/distributed/layer_parallel.h"

#include "ctdl/autograd/engine.h"
#include "ctdl/autograd/grad_mode.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::distributed {

namespace {

MgritOptions reversed(MgritOptions o) {
  o.reverse = true;
  return o;
}

bool same_shape(const std::vector<Tensor>& states, const Tensor& like) {
  return !states.empty() && states[0].defined() && like.defined() &&
         states[0].shape() == like.shape() && states[0].dtype() == like.dtype();
}

}  // namespace

LayerParallelResNet::LayerParallelResNet(Communicator& comm, int64_t layers, double h,
                                         Residual residual, LayerParameters parameters,
                                         LayerParallelOptions options)
    : comm_(comm),
      layers_(layers),
      h_(h),
      residual_(std::move(residual)),
      parameters_(std::move(parameters)),
      o_(options),
      forward_(comm, layers, o_.forward),
      adjoint_(comm, layers, reversed(o_.backward)) {
  graphs_.resize(static_cast<size_t>(layers / comm.size()));
  grads_.resize(graphs_.size());
}

void LayerParallelResNet::reset_warm_start() {
  states_.clear();
  adjoints_.clear();
}

// Forward point i of `level` (layer i·m^level) to point i + 1. Level-0 steps record F_n when
// backward() is to follow.
Tensor LayerParallelResNet::layer_step(int level, int64_t i, const Tensor& u) {
  const int64_t stride = forward_.stride(level), n = i * stride;
  // u + stride·h·F(u) in one pass (axpby), here and in serial_resnet_forward alike.
  if (level > 0 || !record_)
    return axpby(1.0, u, static_cast<double>(stride) * h_, residual_(n, u));
  Graph& g = graphs_[static_cast<size_t>(n - first_layer())];
  {
    autograd::EnableGradGuard grad_on;
    g.input = u.detach().requires_grad_();
    g.output = residual_(n, g.input);
  }
  return axpby(1.0, u, h_, g.output.detach());
}

// Adjoint point i of `level` — λ at layer N − i·m^level — to point i + 1, through the graph
// of the layer that starts the step (its input is the forward state there).
Tensor LayerParallelResNet::adjoint_step(int level, int64_t i, const Tensor& lambda) {
  const int64_t stride = adjoint_.stride(level), n = layers_ - (i + 1) * stride;
  const double scale = static_cast<double>(stride) * h_;
  Graph& g = graphs_[static_cast<size_t>(n - first_layer())];
  CTDL_CHECK(g.output.defined(), "LayerParallelResNet::backward: layer ", n,
             " has no recorded graph; call forward() first, with gradients enabled");
  autograd::EnableGradGuard grad_on;
  TensorList inputs = {g.input};
  if (level == 0)
    for (const Tensor& p : parameters_(n))
      if (p.requires_grad()) inputs.push_back(p);
  TensorList d = autograd::grad({g.output}, inputs, {lambda * scale},
                                {.retain_graph = true, .allow_unused = true});
  if (level == 0)
    grads_[static_cast<size_t>(n - first_layer())] = TensorList(d.begin() + 1, d.end());
  return d[0].defined() ? lambda + d[0].detach() : lambda;
}

Tensor LayerParallelResNet::forward(const Tensor& u0) {
  const bool record = autograd::grad_enabled();  // under NoGradGuard: propagation only
  if (!o_.warm_start || !same_shape(states_, u0)) states_.clear();
  auto step = [this](int level, int64_t i, const Tensor& u) { return layer_step(level, i, u); };
  MgritOptions& o = forward_.options();
  const MgritOptions given = o;
  forward_result_ = {};
  if (record && given.max_iterations > 1 && given.tolerance <= 0) {
    // A fixed number of iterations (training): only the last level-0 sweep's graphs are
    // used, so the iterations before it run without recording. A solve warm-started from
    // where they stop goes on exactly as one solve would.
    record_ = false;
    o.max_iterations = given.max_iterations - 1;
    o.final_relax = false;
    forward_result_ = forward_.solve(step, u0, states_);
    o.max_iterations = 1;
    o.final_relax = given.final_relax;
  }
  record_ = record;
  MgritResult last = forward_.solve(step, u0, states_);
  o = given;
  forward_result_.residuals.insert(forward_result_.residuals.end(), last.residuals.begin(),
                                   last.residuals.end());
  forward_result_.iterations += last.iterations;
  forward_result_.converged = last.converged;
  return holds_output() ? states_.back() : Tensor();
}

Tensor LayerParallelResNet::backward(const Tensor& grad_output) {
  if (!o_.warm_start_backward || !same_shape(adjoints_, grad_output)) adjoints_.clear();
  for (TensorList& g : grads_) g.clear();
  backward_result_ = adjoint_.solve(
      [this](int level, int64_t i, const Tensor& l) { return adjoint_step(level, i, l); },
      grad_output, adjoints_);
  autograd::NoGradGuard no_grad;
  for (size_t k = 0; k < grads_.size(); ++k) {
    TensorList params;
    for (const Tensor& p : parameters_(first_layer() + static_cast<int64_t>(k)))
      if (p.requires_grad()) params.push_back(p);
    for (size_t j = 0; j < params.size() && j < grads_[k].size(); ++j) {
      if (!grads_[k][j].defined()) continue;
      Tensor sum = params[j].grad().defined() ? params[j].grad() + grads_[k][j] : grads_[k][j];
      params[j].set_grad(sum.detach());
    }
  }
  // Block order is reversed: the first rank holds the adjoint's end point, λ_0.
  return holds_input() ? adjoints_.back() : Tensor();
}

Tensor serial_resnet_forward(const LayerParallelResNet::Residual& residual, int64_t layers,
                             double h, const Tensor& u0) {
  Tensor u = u0;
  for (int64_t n = 0; n < layers; ++n) u = axpby(1.0, u, h, residual(n, u));
  return u;
}

}  // namespace ctdl::distributed

#include "ctdl/autograd/functional.h"

#include "ctdl/autograd/engine.h"
#include "ctdl/autograd/grad_mode.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::autograd {
namespace {

// Inputs as leaves of a fresh graph (or as they are, to stay differentiable).
TensorList prepare(const TensorList& inputs, bool create_graph) {
  TensorList out;
  for (const Tensor& x : inputs) {
    if (create_graph && x.requires_grad()) out.push_back(x);
    else out.push_back(x.detach().requires_grad_(x.is_floating_point()));
  }
  return out;
}

TensorList zeros_for_unused(TensorList grads, const TensorList& like) {
  for (size_t i = 0; i < grads.size(); ++i)
    if (!grads[i].defined()) grads[i] = zeros_like(like[i]);
  return grads;
}

}  // namespace

std::pair<TensorList, TensorList> vjp(const Function& f, const TensorList& inputs,
                                      const TensorList& cotangents, bool create_graph) {
  EnableGradGuard grad_on;
  TensorList x = prepare(inputs, create_graph);
  TensorList y = f(x);
  TensorList roots, seeds;
  for (size_t i = 0; i < y.size(); ++i)
    if (y[i].requires_grad()) roots.push_back(y[i]), seeds.push_back(cotangents.at(i));
  TensorList g(x.size());
  if (!roots.empty())
    g = grad(roots, x, seeds, {.create_graph = create_graph, .allow_unused = true});
  if (!create_graph)
    for (Tensor& t : y) t = t.detach();
  return {y, zeros_for_unused(g, x)};
}

Linearization::Linearization(const Function& f, const TensorList& inputs) {
  EnableGradGuard grad_on;
  inputs_ = prepare(inputs, false);
  outputs_ = f(inputs_);
  TensorList roots, seeds;
  for (const Tensor& y : outputs_) {
    dummies_.push_back(zeros_like(y).requires_grad_());
    if (y.requires_grad()) roots.push_back(y), seeds.push_back(dummies_.back());
  }
  transposed_ = roots.empty() ? TensorList(inputs_.size())
                              : grad(roots, inputs_, seeds,
                                     {.retain_graph = true, .create_graph = true, .allow_unused = true});
}

TensorList Linearization::jvp(const TensorList& tangents) const {
  TensorList roots, seeds;
  for (size_t i = 0; i < transposed_.size(); ++i)
    if (transposed_[i].defined() && transposed_[i].requires_grad())
      roots.push_back(transposed_[i]), seeds.push_back(tangents.at(i));
  if (roots.empty()) {
    TensorList zero;
    for (const Tensor& y : outputs_) zero.push_back(zeros_like(y));
    return zero;
  }
  TensorList out = grad(roots, dummies_, seeds, {.retain_graph = true, .allow_unused = true});
  return zeros_for_unused(out, outputs_);
}

TensorList Linearization::vjp(const TensorList& cotangents) const {
  TensorList roots, seeds;
  for (size_t i = 0; i < outputs_.size(); ++i)
    if (outputs_[i].requires_grad()) roots.push_back(outputs_[i]), seeds.push_back(cotangents.at(i));
  TensorList g = roots.empty() ? TensorList(inputs_.size())
                               : grad(roots, inputs_, seeds, {.retain_graph = true, .allow_unused = true});
  return zeros_for_unused(g, inputs_);
}

std::pair<TensorList, TensorList> jvp(const Function& f, const TensorList& inputs,
                                      const TensorList& tangents, bool create_graph) {
  if (!create_graph) {
    Linearization lin(f, inputs);
    TensorList y;
    for (const Tensor& t : lin.outputs()) y.push_back(t.detach());
    TensorList jv = lin.jvp(tangents);
    for (Tensor& t : jv) t = t.detach();
    return {y, jv};
  }
  EnableGradGuard grad_on;
  TensorList x = prepare(inputs, true);
  TensorList y = f(x);
  TensorList dummies;
  for (const Tensor& t : y) dummies.push_back(zeros_like(t).requires_grad_());
  TensorList jt = grad(y, x, dummies, {.create_graph = true, .allow_unused = true});
  TensorList roots, seeds;
  for (size_t i = 0; i < jt.size(); ++i)
    if (jt[i].defined() && jt[i].requires_grad()) roots.push_back(jt[i]), seeds.push_back(tangents.at(i));
  TensorList jv = roots.empty() ? TensorList(y.size())
                                : grad(roots, dummies, seeds, {.create_graph = true, .allow_unused = true});
  return {y, zeros_for_unused(jv, y)};
}

Tensor jacobian(const std::function<Tensor(const Tensor&)>& f, const Tensor& input) {
  Linearization lin([&](const TensorList& x) { return TensorList{f(x[0])}; }, {input});
  const Tensor& y = lin.outputs()[0];
  int64_t m = y.numel(), n = input.numel();
  TensorList row_list;
  for (int64_t i = 0; i < m; ++i) {
    Tensor seed = zeros({m}, {.dtype = y.dtype(), .device = y.device()});
    {
      NoGradGuard no_grad;
      seed.narrow(0, i, 1).fill_(1.0);
    }
    row_list.push_back(lin.vjp({seed.reshape(y.shape())})[0].reshape({n}));
  }
  Dims shape = y.shape();
  for (int64_t s : input.shape()) shape.push_back(s);
  return m ? stack(row_list).reshape(shape) : zeros(shape, {.dtype = y.dtype(), .device = y.device()});
}

}  // namespace ctdl::autograd

// Vector-Jacobian and Jacobian-vector products of a function of tensors.
//
//   auto f = [&](const TensorList& x) { return TensorList{tanh(matmul(x[0], w))}; };
//   auto [y, vjps] = autograd::vjp(f, {x}, {v});       // vᵀ·∂f/∂x
//   auto [y2, jvps] = autograd::jvp(f, {x}, {u});      // ∂f/∂x·u
//   auto lin = autograd::linearize(f, {x});           // many J·u at the same x (GMRES)
//   Tensor ju = lin.jvp({u})[0];
//
// jvp uses the double-vjp trick: with g(w) = Jᵀw recorded with create_graph, J·u is the vjp of
// g at u. It costs two backward passes and needs twice-differentiable ops, which every
// primitive in ctdl is.
#pragma once

#include <functional>
#include <utility>

#include "ctdl/tensor/tensor.h"

namespace ctdl::autograd {

using Function = std::function<TensorList(const TensorList&)>;

// Returns f(inputs) and the vjp with `cotangents` (one per output). With create_graph the
// results stay differentiable with respect to the inputs.
std::pair<TensorList, TensorList> vjp(const Function& f, const TensorList& inputs,
                                      const TensorList& cotangents, bool create_graph = false);

// Returns f(inputs) and the jvp with `tangents` (one per input).
std::pair<TensorList, TensorList> jvp(const Function& f, const TensorList& inputs,
                                      const TensorList& tangents, bool create_graph = false);

// f linearized at a point: evaluate J·u and Jᵀ·w repeatedly without re-running f.
class Linearization {
 public:
  Linearization(const Function& f, const TensorList& inputs);
  const TensorList& outputs() const { return outputs_; }
  TensorList jvp(const TensorList& tangents) const;
  TensorList vjp(const TensorList& cotangents) const;

 private:
  TensorList inputs_, outputs_, dummies_, transposed_;
};

inline Linearization linearize(const Function& f, const TensorList& inputs) { return {f, inputs}; }

// The full Jacobian of a one-output function of one input: shape output.shape + input.shape.
Tensor jacobian(const std::function<Tensor(const Tensor&)>& f, const Tensor& input);

}  // namespace ctdl::autograd

// How a primitive op attaches its result to the graph.
//
//   Tensor exp(const Tensor& x) {
//     Tensor y = dispatch::unary(UnaryOp::Exp, x);
//     if (!autograd::needs_grad(x)) return y;
//     return autograd::record("exp", y, {x}, {}, autograd::SaveOutput::Yes,
//         [](const Tensor& grad, const autograd::Saved& s) { return TensorList{grad * s.output()}; });
//   }
//
// The backward rule receives the gradient of the output and the tensors saved for it, and
// returns one gradient per input (undefined = zero). It is written in ordinary tensor ops,
// so with create_graph it is itself recorded and can be differentiated again. The engine
// sums each returned gradient back to its input's shape (undoing broadcasting) and casts it
// to the input's dtype, so rules need not.
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <vector>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/autograd/node.h"

namespace ctdl::autograd {

// True when grad mode is on and any of the tensors requires grad.
template <class... Ts>
bool needs_grad(const Ts&... tensors) {
  return grad_enabled() && ((tensors.defined() && tensors.requires_grad()) || ...);
}
bool needs_grad_list(const TensorList& tensors);

// The saved tensors as backward sees them.
class Saved {
 public:
  Saved(const std::vector<SavedTensor>& saved, const SavedTensor& output,
        const std::shared_ptr<Node>& owner, const char* op);
  const Tensor& operator[](size_t i) const { return tensors_[i]; }
  size_t size() const { return tensors_.size(); }
  const Tensor& output() const { return output_; }

 private:
  TensorList tensors_;
  Tensor output_;
};

using BackwardFn = std::function<TensorList(const Tensor& grad, const Saved& saved)>;
enum class SaveOutput { No, Yes };

// Makes `out` the result of op `name` applied to `inputs`, differentiated by `backward`.
// `saved` lists the tensors backward reads (usually some of the inputs).
Tensor record(const char* name, const Tensor& out, const TensorList& inputs,
              const TensorList& saved, SaveOutput save_output, BackwardFn backward);

}  // namespace ctdl::autograd

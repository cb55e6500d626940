// Custom differentiable functions: you write forward and backward, autograd does the rest.
//
//   struct Cube : autograd::CustomFunction {
//     TensorList forward(const TensorList& in) override {
//       save_for_backward({in[0]});
//       return {in[0] * in[0] * in[0]};
//     }
//     TensorList backward(const TensorList& grad_out) override {
//       Tensor x = saved()[0];
//       return {grad_out[0] * 3.0 * x * x};
//     }
//   };
//   Tensor y = autograd::apply(std::make_shared<Cube>(), {x})[0];
//
// forward runs with grad mode off; its outputs become the results of one graph node whose
// backward calls yours. The adjoint methods of ode/ are such functions: their backward
// solves an ODE instead of replaying the forward's operations.
//
// Gradients reaching backward are never undefined: a missing one is passed as zeros. If
// backward uses differentiable ops on saved *inputs*, the function differentiates twice.
#pragma once

#include <memory>

#include "ctdl/autograd/node.h"

namespace ctdl::autograd {

class CustomFunction {
 public:
  virtual ~CustomFunction() = default;
  virtual const char* name() const { return "custom_function"; }
  virtual TensorList forward(const TensorList& inputs) = 0;
  // One gradient per input (undefined for inputs that get none).
  virtual TensorList backward(const TensorList& grad_outputs) = 0;

 protected:
  // Keeps tensors for backward; an input modified in place before backward is reported.
  void save_for_backward(const TensorList& tensors);
  TensorList saved() const;

 private:
  std::vector<SavedTensor> saved_;
  friend class CustomNode;
};

// Runs fn->forward(inputs) and records one node for all its outputs.
TensorList apply(std::shared_ptr<CustomFunction> fn, const TensorList& inputs);

}  // namespace ctdl::autograd

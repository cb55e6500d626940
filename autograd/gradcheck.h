// Checks backward rules against finite differences.
//
//   auto f = [](const TensorList& x) { return TensorList{tanh(x[0]) * x[1]}; };
//   TensorList inputs = {randn({3}, {.dtype = DType::Float64, .requires_grad = true}),
//                        randn({3}, {.dtype = DType::Float64, .requires_grad = true})};
//   GradcheckResult r = autograd::gradcheck(f, inputs);
//   if (!r.ok) std::cerr << r.message;
//
// gradcheck builds the Jacobian of f twice, column by column from central differences and
// row by row from backward passes, and compares them entrywise with |a - n| <= atol + rtol|n|.
// Use float64 inputs: float32 differences are too coarse to tell a wrong rule from rounding.
// gradgradcheck does the same for the function (inputs, v) -> vᵀ·∂f/∂inputs, which checks
// the backward of the backward rules.
#pragma once

#include <functional>
#include <string>

#include "ctdl/tensor/tensor.h"

namespace ctdl::autograd {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0;
  std::string message;  // the first mismatch: input, element, analytical and numerical values
};

using TensorFunction = std::function<TensorList(const TensorList&)>;

// Checks the gradients of f with respect to every input that requires grad.
GradcheckResult gradcheck(const TensorFunction& f, const TensorList& inputs,
                          GradcheckOptions options = {});
GradcheckResult gradgradcheck(const TensorFunction& f, const TensorList& inputs,
                              GradcheckOptions options = {});

}  // namespace ctdl::autograd

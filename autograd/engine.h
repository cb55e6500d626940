// Reverse-mode differentiation of a recorded graph.
//
//   Tensor loss = ...;
//   autograd::backward({loss});                              // accumulates into .grad()
//   TensorList g = autograd::grad({loss}, {w, b});           // returns, leaves .grad() alone
//   TensorList h = autograd::grad({loss}, {w}, {}, {.create_graph = true});  // differentiable
//
// The engine sorts the graph topologically with an explicit stack (no recursion: a graph
// of a million nodes is fine), then runs each node once all the gradients flowing into it
// have been summed.
#pragma once

#include "ctdl/tensor/tensor.h"

namespace ctdl::autograd {

struct GradOptions {
  // Keep the saved tensors so the graph can be differentiated again; defaults to create_graph.
  std::optional<bool> retain_graph;
  // Record the backward pass itself, for higher-order derivatives.
  bool create_graph = false;
  // Return an undefined tensor for an input the outputs do not depend on instead of throwing.
  bool allow_unused = false;
};

// Gradients of sum_i <outputs[i], grad_outputs[i]> accumulated into the leaves' .grad().
// A missing grad_output is allowed for one-element outputs (it is 1).
void backward(const TensorList& outputs, const TensorList& grad_outputs = {},
              bool retain_graph = false, bool create_graph = false);

// Gradients of sum_i <outputs[i], grad_outputs[i]> with respect to `inputs`, returned.
TensorList grad(const TensorList& outputs, const TensorList& inputs,
                const TensorList& grad_outputs = {}, GradOptions options = {});

}  // namespace ctdl::autograd

// The graph autograd records: one Node per op application, pointing back at the nodes that
// produced its inputs.
//
//   Tensor y = exp(x);          // y.grad_fn() is a Node named "exp" with one edge to x
//   y.grad_fn()->name();        // "exp"
//
// Ownership runs one way only: a tensor owns the node that produced it, a node owns the
// nodes of its inputs (through its edges) and the tensors it saved for backward. A node
// never owns its own output strongly (SavedTensor keeps a weak link), so graphs have no
// cycles and free themselves when the last tensor referring to them goes away. Freeing a
// graph of a million nodes (a long ODE solve) happens iteratively, not recursively: see
// release_node() below.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "ctdl/tensor/tensor.h"

namespace ctdl::autograd {

class Node;

// Where a gradient goes: input `input_nr` of `node` (an output of it, seen from the forward).
struct Edge {
  std::shared_ptr<Node> node;
  uint32_t input_nr = 0;
  bool valid() const { return node != nullptr; }
};

// What backward needs to know about a forward input to shape its gradient: the gradient is
// summed back to `shape` (undoing broadcasting) and cast to `dtype`.
struct InputMeta {
  Dims shape;
  DType dtype;
  Device device;
};

class Node {
 public:
  explicit Node(const char* name);
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const char* name() const { return name_; }
  uint64_t sequence_nr() const { return sequence_nr_; }
  int num_outputs() const { return num_outputs_; }

  // Gradients of the forward outputs in, gradients of the forward inputs out (one per edge;
  // an undefined tensor means zero).
  virtual TensorList apply(TensorList&& grad_outputs) = 0;
  // Frees what was saved for backward; called after backward unless retain_graph is set.
  virtual void release_saved() {}

  std::vector<Edge> next_edges;
  std::vector<InputMeta> input_meta;
  // Hooks on the gradient of forward output i, run before apply().
  std::vector<std::pair<uint32_t, GradHook>> pre_hooks;

 protected:
  int num_outputs_ = 1;

 private:
  const char* name_;
  uint64_t sequence_nr_;
};

// Drops a reference to a node. Nested releases are queued and drained by the outermost
// call in a loop, so destroying a chain of a million nodes uses constant stack.
void release_node(std::shared_ptr<Node>&& node);

// The node a leaf's gradient flows into: it adds the incoming gradient to leaf.grad().
// The leaf owns it (with the hooks registered on the leaf); it refers back to the leaf
// weakly, so that a gradient whose graph reaches this node (create_graph) makes no cycle.
// A gradient for a leaf that no longer exists has nowhere to go and is dropped.
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(const std::shared_ptr<TensorImpl>& leaf);
  TensorList apply(TensorList&& grad_outputs) override;
  std::shared_ptr<TensorImpl> leaf() const { return leaf_.lock(); }

 private:
  std::weak_ptr<TensorImpl> leaf_;
};

// A tensor kept for backward. Inputs are kept as they are; an op's own output is kept as
// a detached alias plus a weak link to the node, and re-attached when unpacked, so that a
// second differentiation sees it as the op's output (no cycle, still differentiable).
// Unpacking checks that nothing modified the data in place since it was saved.
class SavedTensor {
 public:
  SavedTensor() = default;
  SavedTensor(const Tensor& tensor, bool is_output);
  Tensor unpack(const std::shared_ptr<Node>& owner, const char* op) const;
  void reset() { data_ = Tensor(); }

 private:
  Tensor data_;
  uint32_t version_ = 0;
  bool is_output_ = false;
  bool requires_grad_ = false;
  uint32_t output_nr_ = 0;
};

// Edge that carries the gradient of `t` into the graph (invalid if t needs no gradient).
Edge gradient_edge(const Tensor& t);
// The AccumulateGrad node of a leaf that requires grad (created on first use, then owned by
// the leaf).
std::shared_ptr<Node> grad_accumulator(const Tensor& leaf);

}  // namespace ctdl::autograd

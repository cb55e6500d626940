#include "ctdl/autograd/engine.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/autograd/node.h"
#include "ctdl/tensor/dispatch.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::autograd {
namespace {

// Sums `grad` over the dims that broadcasting added or stretched, to get `shape` back.
Tensor sum_to_shape(const Tensor& grad, const Dims& shape) {
  if (grad.shape() == shape) return grad;
  int lead = grad.dim() - shape.size();
  Dims dims;
  for (int i = 0; i < grad.dim(); ++i)
    if (i < lead || (shape[i - lead] == 1 && grad.shape()[i] != 1)) dims.push_back(i);
  Tensor summed = dims.empty() ? grad : sum(grad, dims, true);
  return summed.reshape(shape);
}

// Node → number, in one array with open addressing. A backward pass looks nodes up a few
// times per edge; std::unordered_set and unordered_map allocated a heap node per entry,
// which an adjoint's thousands of small vector-Jacobian products per solve paid for.
class NodeIndex {
 public:
  // Adds `node`, numbered `value`, unless it is there; says whether it was added.
  bool insert(const Node* node, int64_t value) {
    if (2 * (count_ + 1) > slots_.size()) grow();
    Slot& s = slot(node);
    if (s.node) return false;
    s = {node, value};
    ++count_;
    return true;
  }
  void set(const Node* node, int64_t value) { slot(node).value = value; }  // (present)
  // The number of `node`, or -1 when it is absent.
  int64_t at(const Node* node) const {
    const Slot& s = const_cast<NodeIndex*>(this)->slot(node);
    return s.node ? s.value : -1;
  }

 private:
  struct Slot {
    const Node* node = nullptr;
    int64_t value = -1;
  };
  Slot& slot(const Node* node) {
    // Fibonacci hashing: the top bits of the address times 2^64/φ.
    size_t i = (reinterpret_cast<uintptr_t>(node) * 0x9E3779B97F4A7C15ull) >> (64 - bits_);
    const size_t mask = slots_.size() - 1;
    while (slots_[i].node && slots_[i].node != node) i = (i + 1) & mask;
    return slots_[i];
  }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    bits_ = old.empty() ? 6 : bits_ + 1;
    slots_.assign(size_t{1} << bits_, Slot{});
    for (const Slot& s : old)
      if (s.node) slot(s.node) = s;
  }

  std::vector<Slot> slots_;
  size_t count_ = 0;
  int bits_ = 0;
};

// Nodes reachable from the roots, each listed before every node it sends gradients to;
// `index` gets each one's position in the list.
std::vector<Node*> topological_order(const std::vector<Node*>& roots, NodeIndex& index) {
  // (Reserved: an adjoint takes thousands of products of graphs this small, and growing
  // from empty reallocated each list four or five times.)
  std::vector<Node*> postorder;
  std::vector<std::pair<Node*, size_t>> stack;  // node, next edge to visit
  postorder.reserve(32);
  stack.reserve(32);
  for (Node* root : roots) {
    if (!index.insert(root, -1)) continue;
    stack.push_back({root, 0});
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node->next_edges.size()) {
        Node* child = node->next_edges[next++].node.get();
        if (child && index.insert(child, -1)) stack.push_back({child, 0});
      } else {
        postorder.push_back(node);
        stack.pop_back();
      }
    }
  }
  std::reverse(postorder.begin(), postorder.end());
  for (size_t p = 0; p < postorder.size(); ++p) index.set(postorder[p], static_cast<int64_t>(p));
  return postorder;
}

struct Target {
  Node* node;
  uint32_t input_nr;
};

// No other handle, view or graph shares t's memory, so writing it changes nothing else.
// (Whether t can take a sum in place at all is dispatch::binary_into's to say: a broadcast
// gradient, such as sum's backward expanding one value with stride 0, cannot.)
bool held_alone(const Tensor& t) {
  return t.impl_ptr().use_count() == 1 && t.impl()->storage.use_count() == 1 &&
         !t.impl()->grad_fn;
}

// Runs the backward pass from the roots. With `targets`, nothing is accumulated into .grad:
// the gradients arriving at the targets are returned instead and only the nodes on a path
// to a target run.
TensorList run_backward(const std::vector<Edge>& roots, TensorList root_grads,
                        const std::vector<Target>& targets, bool retain_graph, bool create_graph) {
  std::vector<Node*> root_nodes;
  for (const Edge& e : roots) root_nodes.push_back(e.node.get());
  NodeIndex index;
  std::vector<Node*> order = topological_order(root_nodes, index);
  auto position = [&](const Node* node) { return static_cast<size_t>(index.at(node)); };

  // needed[p]: order[p] lies on a path to a target (capture only).
  const bool capture = !targets.empty();
  std::vector<char> needed;
  if (capture) {
    std::vector<char> is_target(order.size(), 0);
    for (const Target& t : targets)
      if (int64_t p = index.at(t.node); p >= 0) is_target[p] = 1;
    needed.assign(order.size(), 0);
    for (size_t p = order.size(); p-- > 0;) {
      bool need = is_target[p];
      for (const Edge& e : order[p]->next_edges)
        need = need || (e.node && needed[position(e.node.get())]);
      needed[p] = need;
    }
  }

  // buffers[p]: the gradients that reached order[p] so far (empty: none yet).
  std::vector<TensorList> buffers(order.size());
  // A sum the buffer alone holds is added to in place: a parameter used at every step of a
  // solve gathers hundreds of gradients, and a new tensor for each partial sum was a fifth
  // of the heap allocations of a neural ODE's backward pass. (With create_graph the sums
  // are recorded, so they stay out of place.)
  auto accumulate = [&](Node* node, uint32_t slot, Tensor g) {
    TensorList& buffer = buffers[position(node)];
    if (buffer.empty()) buffer.resize(node->num_outputs());
    Tensor& current = buffer[slot];
    if (!current.defined()) {
      current = std::move(g);
      return;
    }
    if (!create_graph && held_alone(current) &&
        dispatch::binary_into(BinaryOp::Add, current, g, "gradient sum"))
      return;
    current = current + g;
  };
  for (size_t i = 0; i < roots.size(); ++i)
    accumulate(roots[i].node.get(), roots[i].input_nr, std::move(root_grads[i]));

  TensorList captured(targets.size());
  GradModeGuard mode(create_graph);
  for (size_t p = 0; p < order.size(); ++p) {
    Node* node = order[p];
    if (capture && !needed[p]) continue;
    if (buffers[p].empty()) continue;  // no gradient reached this node
    TensorList grads = std::move(buffers[p]);
    buffers[p] = TensorList();

    for (auto& [slot, hook] : node->pre_hooks) {
      if (!grads[slot].defined()) continue;
      Tensor replaced = hook(grads[slot]);
      if (replaced.defined()) grads[slot] = replaced;
    }
    if (capture) {
      for (size_t i = 0; i < targets.size(); ++i)
        if (targets[i].node == node) captured[i] = grads[targets[i].input_nr];
      // Run the node only if some target lies beyond it (never AccumulateGrad: grad()
      // leaves .grad() alone).
      bool feeds_target = false;
      for (const Edge& e : node->next_edges)
        feeds_target = feeds_target || (e.node && needed[position(e.node.get())]);
      if (!feeds_target) continue;
    }

    TensorList input_grads = node->apply(std::move(grads));
    if (!retain_graph) node->release_saved();
    for (size_t i = 0; i < input_grads.size() && i < node->next_edges.size(); ++i) {
      const Edge& edge = node->next_edges[i];
      Tensor& g = input_grads[i];
      if (!edge.valid() || !g.defined()) continue;
      const InputMeta& meta = node->input_meta[i];
      g = sum_to_shape(g, meta.shape);
      if (g.dtype() != meta.dtype) g = g.to(meta.dtype);
      CTDL_CHECK(g.device() == meta.device, node->name(), ": backward produced a gradient on ",
                 g.device(), " for an input on ", meta.device);
      accumulate(edge.node.get(), edge.input_nr, std::move(g));
    }
  }
  return captured;
}

// The gradient of each output: the given one (checked), or 1 for a one-element output.
TensorList seed_gradients(const TensorList& outputs, const TensorList& grad_outputs,
                          const char* op) {
  CTDL_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(), op, ": got ",
             grad_outputs.size(), " gradients for ", outputs.size(), " outputs");
  TensorList seeds;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    Tensor g = grad_outputs.empty() ? Tensor() : grad_outputs[i];
    if (!g.defined()) {
      CTDL_CHECK(out.numel() == 1, op,
                 ": a gradient can be implied only for a one-element output, but output ", i,
                 " has shape ", out.shape(), "; pass its gradient explicitly");
      g = ones_like(out);
    } else {
      CTDL_CHECK(g.shape() == out.shape(), op, ": gradient ", i, " has shape ", g.shape(),
                 " but the output has shape ", out.shape());
      CTDL_CHECK(g.device() == out.device(), op, ": gradient ", i, " is on ", g.device(),
                 " but the output is on ", out.device());
    }
    seeds.push_back(g);
  }
  return seeds;
}

std::vector<Edge> root_edges(const TensorList& outputs, const char* op) {
  std::vector<Edge> roots;
  for (size_t i = 0; i < outputs.size(); ++i) {
    CTDL_CHECK(outputs[i].defined(), op, ": output ", i, " is an undefined tensor");
    Edge e = gradient_edge(outputs[i]);
    CTDL_CHECK(e.valid(), op, ": output ", i, " (shape ", outputs[i].shape(),
               ") does not require grad and has no grad_fn");
    roots.push_back(e);
  }
  return roots;
}

}  // namespace

void backward(const TensorList& outputs, const TensorList& grad_outputs, bool retain_graph,
              bool create_graph) {
  std::vector<Edge> roots = root_edges(outputs, "backward");
  TensorList seeds = seed_gradients(outputs, grad_outputs, "backward");
  run_backward(roots, std::move(seeds), {}, retain_graph || create_graph, create_graph);
}

TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs,
                GradOptions options) {
  std::vector<Edge> roots = root_edges(outputs, "grad");
  TensorList seeds = seed_gradients(outputs, grad_outputs, "grad");
  std::vector<Target> targets;
  std::vector<Edge> target_edges;  // keeps leaf accumulators alive during the pass
  targets.reserve(inputs.size());
  target_edges.reserve(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    Edge e = gradient_edge(inputs[i]);
    CTDL_CHECK(e.valid(), "grad: input ", i, " (shape ", inputs[i].shape(),
               ") does not require grad");
    targets.push_back({e.node.get(), e.input_nr});
    target_edges.push_back(std::move(e));
  }
  bool retain = options.retain_graph.value_or(options.create_graph);
  TensorList result = run_backward(roots, std::move(seeds), targets, retain, options.create_graph);
  for (size_t i = 0; i < result.size(); ++i) {
    CTDL_CHECK(result[i].defined() || options.allow_unused, "grad: input ", i, " (shape ",
               inputs[i].shape(),
               ") was not used to compute the outputs; pass allow_unused=true to get an "
               "undefined gradient for it");
    if (result[i].defined()) {
      if (result[i].dtype() != inputs[i].dtype()) result[i] = result[i].to(inputs[i].dtype());
      // (Without create_graph nothing was recorded; only a gradient passed through from a
      // seed that requires grad has history to cut.)
      if (!options.create_graph && result[i].requires_grad()) result[i] = result[i].detach();
    }
  }
  return result;
}

}  // namespace ctdl::autograd

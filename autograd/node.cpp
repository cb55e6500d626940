#include "ctdl/autograd/node.h"

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::autograd {
namespace {

std::atomic<uint64_t> next_sequence_nr{0};

// Releases deferred by release_node while an outer release is running.
thread_local std::vector<std::shared_ptr<Node>> pending_releases;
thread_local bool releasing = false;

}  // namespace

Node::Node(const char* name) : name_(name), sequence_nr_(next_sequence_nr++) {}

Node::~Node() {
  for (Edge& e : next_edges) release_node(std::move(e.node));
}

void release_node(std::shared_ptr<Node>&& node) {
  if (!node) return;
  if (releasing) {
    // Only defer the last reference; dropping any other one cannot cascade.
    if (node.use_count() == 1)
      pending_releases.push_back(std::move(node));
    else
      node.reset();
    return;
  }
  releasing = true;
  node.reset();
  while (!pending_releases.empty()) {
    std::shared_ptr<Node> next = std::move(pending_releases.back());
    pending_releases.pop_back();
    next.reset();  // may queue more
  }
  releasing = false;
}

AccumulateGrad::AccumulateGrad(const std::shared_ptr<TensorImpl>& leaf)
    : Node("AccumulateGrad"), leaf_(leaf) {}

TensorList AccumulateGrad::apply(TensorList&& grad_outputs) {
  Tensor g = std::move(grad_outputs[0]);
  std::shared_ptr<TensorImpl> leaf = leaf_.lock();
  if (!g.defined() || !leaf) return {};
  if (!grad_enabled()) g = g.detach();
  if (!leaf->grad) {
    leaf->grad = g.impl_ptr();
  } else {
    Tensor previous(leaf->grad);
    leaf->grad = (grad_enabled() ? previous + g : previous.detach() + g).impl_ptr();
  }
  return {};
}

SavedTensor::SavedTensor(const Tensor& tensor, bool is_output) : is_output_(is_output) {
  if (!tensor.defined()) return;
  version_ = tensor.impl()->storage->version();
  requires_grad_ = tensor.requires_grad();
  output_nr_ = tensor.impl()->output_nr;
  data_ = is_output ? tensor.detach() : tensor;
}

Tensor SavedTensor::unpack(const std::shared_ptr<Node>& owner, const char* op) const {
  if (!data_.defined()) return data_;
  CTDL_CHECK(data_.impl()->storage->version() == version_, op,
             ": a tensor saved for backward was modified in place afterwards (version ", version_,
             " -> ", data_.impl()->storage->version(), "); use an out-of-place op instead");
  if (!is_output_) return data_;
  auto alias = std::make_shared<TensorImpl>(*data_.impl());
  alias->requires_grad = requires_grad_;
  alias->grad_fn = requires_grad_ ? owner : nullptr;
  alias->output_nr = output_nr_;
  return Tensor(std::move(alias));
}

std::shared_ptr<Node> grad_accumulator(const Tensor& leaf) {
  TensorImpl* impl = leaf.impl();
  if (!impl->grad_accumulator)
    impl->grad_accumulator = std::make_shared<AccumulateGrad>(leaf.impl_ptr());
  return impl->grad_accumulator;
}

Edge gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return {};
  if (t.grad_fn()) return {t.grad_fn(), t.impl()->output_nr};
  return {grad_accumulator(t), 0};
}

}  // namespace ctdl::autograd

#include "ctdl/autograd/record.h"

namespace ctdl::autograd {
namespace {

// A node whose backward is a BackwardFn plus the tensors it saved.
class FunctionNode final : public Node {
 public:
  FunctionNode(const char* name, BackwardFn backward) : Node(name), backward_(std::move(backward)) {}

  TensorList apply(TensorList&& grad_outputs) override {
    CTDL_CHECK(!released_, name(),
               ": trying to backward through the graph a second time (its saved tensors were "
               "freed); pass retain_graph=true to the first backward");
    Saved saved(saved_, output_, self(), name());
    return backward_(grad_outputs[0], saved);
  }

  void release_saved() override {
    released_ = true;
    saved_.clear();
    output_.reset();
  }

  std::shared_ptr<Node> self() { return self_.lock(); }

  std::vector<SavedTensor> saved_;
  SavedTensor output_;
  std::weak_ptr<Node> self_;

 private:
  BackwardFn backward_;
  bool released_ = false;
};

}  // namespace

bool needs_grad_list(const TensorList& tensors) {
  if (!grad_enabled()) return false;
  for (const Tensor& t : tensors)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

Saved::Saved(const std::vector<SavedTensor>& saved, const SavedTensor& output,
             const std::shared_ptr<Node>& owner, const char* op) {
  tensors_.reserve(saved.size());
  for (const SavedTensor& s : saved) tensors_.push_back(s.unpack(owner, op));
  output_ = output.unpack(owner, op);
}

Tensor record(const char* name, const Tensor& out, const TensorList& inputs,
              const TensorList& saved, SaveOutput save_output, BackwardFn backward) {
  if (!needs_grad_list(inputs)) return out;
  auto node = std::make_shared<FunctionNode>(name, std::move(backward));
  node->self_ = node;
  node->next_edges.reserve(inputs.size());
  node->input_meta.reserve(inputs.size());
  for (const Tensor& input : inputs) {
    node->next_edges.push_back(gradient_edge(input));
    if (input.defined()) node->input_meta.push_back({input.shape(), input.dtype(), input.device()});
    else node->input_meta.push_back({});
  }
  for (const Tensor& s : saved) node->saved_.emplace_back(s, false);

  // The result is a new handle on out's data, so that a caller holding `out` keeps a
  // tensor without history.
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = out.impl()->storage;
  impl->shape = out.shape();
  impl->strides = out.strides();
  impl->offset = out.offset();
  impl->dtype = out.dtype();
  impl->requires_grad = true;
  impl->grad_fn = node;
  impl->output_nr = 0;
  Tensor result(std::move(impl));
  if (save_output == SaveOutput::Yes) node->output_ = SavedTensor(result, true);
  return result;
}

}  // namespace ctdl::autograd

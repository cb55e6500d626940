#include "ctdl/autograd/function.h"

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/autograd/record.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::autograd {

class CustomNode final : public Node {
 public:
  CustomNode(std::shared_ptr<CustomFunction> fn, int num_outputs)
      : Node(fn->name()), fn_(std::move(fn)) {
    num_outputs_ = num_outputs;
  }

  TensorList apply(TensorList&& grad_outputs) override {
    CTDL_CHECK(fn_, name(), ": trying to backward through the graph a second time; pass "
               "retain_graph=true to the first backward");
    for (size_t i = 0; i < grad_outputs.size(); ++i)
      if (!grad_outputs[i].defined())
        grad_outputs[i] = zeros(output_meta[i].shape, {.dtype = output_meta[i].dtype, .device = output_meta[i].device});
    TensorList grads = fn_->backward(grad_outputs);
    CTDL_CHECK(grads.size() == next_edges.size(), name(), ": backward returned ", grads.size(),
               " gradients for ", next_edges.size(), " inputs");
    for (size_t i = 0; i < grads.size(); ++i)
      CTDL_CHECK(!grads[i].defined() || !next_edges[i].valid() || grads[i].shape() == input_meta[i].shape ||
                     numel(grads[i].shape()) == numel(input_meta[i].shape),
                 name(), ": backward returned a gradient of shape ", grads[i].shape(), " for input ",
                 i, " of shape ", input_meta[i].shape);
    return grads;
  }

  void release_saved() override { fn_.reset(); }

  std::vector<InputMeta> output_meta;

 private:
  std::shared_ptr<CustomFunction> fn_;
};

void CustomFunction::save_for_backward(const TensorList& tensors) {
  saved_.clear();
  for (const Tensor& t : tensors) saved_.emplace_back(t, false);
}

TensorList CustomFunction::saved() const {
  TensorList out;
  for (const SavedTensor& s : saved_) out.push_back(s.unpack(nullptr, name()));
  return out;
}

TensorList apply(std::shared_ptr<CustomFunction> fn, const TensorList& inputs) {
  TensorList outputs;
  {
    NoGradGuard no_grad;
    outputs = fn->forward(inputs);
  }
  if (!needs_grad_list(inputs)) return outputs;
  auto node = std::make_shared<CustomNode>(fn, static_cast<int>(outputs.size()));
  for (const Tensor& x : inputs) {
    node->next_edges.push_back(gradient_edge(x));
    node->input_meta.push_back(x.defined() ? InputMeta{x.shape(), x.dtype(), x.device()} : InputMeta{});
  }
  TensorList results;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    node->output_meta.push_back({out.shape(), out.dtype(), out.device()});
    if (!out.is_floating_point()) {
      results.push_back(out);
      continue;
    }
    // A new handle, so the function's own references to its outputs carry no graph.
    auto impl = std::make_shared<TensorImpl>(*out.detach().impl());
    impl->requires_grad = true;
    impl->grad_fn = node;
    impl->output_nr = static_cast<uint32_t>(i);
    results.push_back(Tensor(std::move(impl)));
  }
  return results;
}

}  // namespace ctdl::autograd

#include "ctdl/tensor/tensor.h"

#include "ctdl/autograd/engine.h"
#include "ctdl/autograd/grad_mode.h"
#include "ctdl/autograd/node.h"
#include "ctdl/tensor/dispatch.h"
#include "ctdl/tensor/ops.h"

namespace ctdl {

TensorImpl::~TensorImpl() { autograd::release_node(std::move(grad_fn)); }

int64_t Tensor::size(int64_t dim) const { return impl_->shape[wrap_dim(dim, this->dim(), "size")]; }

bool Tensor::is_contiguous() const {
  const Dims& s = shape();
  int64_t expected = 1;
  for (int i = s.size() - 1; i >= 0; --i) {
    if (s[i] == 1) continue;
    if (strides()[i] != expected) return numel() == 0;
    expected *= s[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  return static_cast<char*>(impl_->storage->data()) + impl_->offset * element_size(dtype());
}

template <class T>
T* Tensor::data() const {
  CTDL_CHECK(dtype() == dtype_of<T>(), "data: the tensor is ", dtype(), ", not ", dtype_of<T>());
  CTDL_CHECK(device().is_cpu(), "data: the tensor is on ", device(), "; call .to(Device::cpu())");
  return static_cast<T*>(raw_data());
}

template <class T>
T Tensor::item() const {
  CTDL_CHECK(numel() == 1, "item: expected a one-element tensor, got shape ", shape());
  return to_vector<T>()[0];
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor host =
      dispatch::cast(dispatch::to_device(*this, Device::cpu()), dtype_of<T>()).contiguous();
  const T* p = host.data<T>();
  return std::vector<T>(p, p + host.numel());
}

#define CTDL_INSTANTIATE(T)            \
  template T* Tensor::data<T>() const; \
  template T Tensor::item<T>() const;  \
  template std::vector<T> Tensor::to_vector<T>() const;
CTDL_INSTANTIATE(float)
CTDL_INSTANTIATE(double)
CTDL_INSTANTIATE(int64_t)
CTDL_INSTANTIATE(bool)
#undef CTDL_INSTANTIATE

// ---- autograd --------------------------------------------------------------------------------

Tensor& Tensor::requires_grad_(bool value) {
  CTDL_CHECK(is_leaf() || value,
             "requires_grad_: cannot turn off requires_grad on a non-leaf "
             "tensor; use detach()");
  CTDL_CHECK(!value || is_floating_point(),
             "requires_grad_: only floating tensors can require "
             "gradients, this one is ",
             dtype());
  impl_->requires_grad = value;
  return *this;
}

void Tensor::retain_grad() {
  CTDL_CHECK(requires_grad(), "retain_grad: the tensor does not require grad");
  if (is_leaf() || impl_->retains_grad) return;
  impl_->retains_grad = true;
  std::weak_ptr<TensorImpl> weak = impl_;
  grad_fn()->pre_hooks.push_back(
      {impl_->output_nr, [weak](const Tensor& g) {
         if (auto impl = weak.lock()) {
           Tensor previous(impl->grad);
           impl->grad = (previous.defined() ? previous + g.detach() : g.detach()).impl_ptr();
         }
         return Tensor();
       }});
}

void Tensor::register_hook(GradHook hook) {
  CTDL_CHECK(requires_grad(), "register_hook: the tensor does not require grad");
  autograd::Edge e = autograd::gradient_edge(*this);
  e.node->pre_hooks.push_back({e.input_nr, std::move(hook)});
}

void Tensor::backward(const Tensor& grad, bool retain_graph, bool create_graph) const {
  autograd::backward({*this}, grad.defined() ? TensorList{grad} : TensorList{}, retain_graph,
                     create_graph);
}

// ---- in-place ------------------------------------------------------------------------------

void Tensor::check_inplace(const char* op, bool same_value_everywhere) const {
  CTDL_CHECK(!(requires_grad() && autograd::grad_enabled()), op,
             ": in-place operation on a tensor that requires grad (shape ", shape(),
             "); wrap it in autograd::NoGradGuard or use the out-of-place op");
  // A broadcast view (stride 0) puts many elements at one address: writing them would
  // leave whichever write came last, or with threads whichever finished last (fill_ alone
  // writes one value to all of them, which is well defined).
  for (int i = 0; i < dim() && !same_value_everywhere; ++i)
    CTDL_CHECK(strides()[i] != 0 || shape()[i] <= 1, op,
               ": in-place operation on a broadcast view (shape ", shape(), ", strides ",
               strides(), "): several of its elements share one memory location; clone() it "
               "first");
}

// After a write: saved tensors of this memory now read other values (autograd checks the
// version). Not before: a write refused leaves the values, and the version, as they were.
Tensor& Tensor::wrote() {
  impl_->storage->bump_version();
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  check_inplace("copy_");
  dispatch::copy_into(*this, src);
  return wrote();
}

Tensor& Tensor::fill_(double value) {
  check_inplace("fill_", /*same_value_everywhere=*/true);
  if (numel()) backend_for(device()).fill(dispatch::kernel_arg(*this), value);
  return wrote();
}

// An in-place op's result must fit the tensor it is written to: the same shape
// (broadcasting stretches the other operand, never the tensor written), and a type that
// copying does not truncate: a floating result into an integer tensor, or a number into a
// bool one, would silently change the values (PyTorch refuses them too).
Tensor& Tensor::write_back(const char* op, const Tensor& result) {
  CTDL_CHECK(result.shape() == shape(), op, ": the result has shape ", result.shape(),
             " but is written in place into a tensor of shape ", shape(),
             " (only the other operand is broadcast)");
  const DType to = dtype(), from = result.dtype();
  const bool fits = from == to || is_floating(to) || (to == DType::Int64 && from == DType::Bool);
  CTDL_CHECK(fits, op, ": the result is ", from, " and would be truncated into this ", to,
             " tensor; cast the tensor (or the operand) first");
  dispatch::copy_into(*this, result);
  return wrote();
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  check_inplace("add_");
  if (dispatch::axpby_into(*this, 1.0, alpha, other, "add_")) return wrote();
  Tensor o = alpha == 1.0 ? other : other * alpha;
  return write_back("add_", dispatch::binary(BinaryOp::Add, *this, o, "add_"));
}

Tensor& Tensor::mul_(const Tensor& other) {
  check_inplace("mul_");
  if (dispatch::binary_into(BinaryOp::Mul, *this, other, "mul_")) return wrote();
  return write_back("mul_", dispatch::binary(BinaryOp::Mul, *this, other, "mul_"));
}

Tensor& Tensor::mul_(double value) { return mul_(scalar_like(value, *this)); }

Tensor& Tensor::div_(const Tensor& other) {
  check_inplace("div_");
  if (dispatch::binary_into(BinaryOp::Div, *this, other, "div_")) return wrote();
  return write_back("div_", dispatch::binary(BinaryOp::Div, *this, other, "div_"));
}

Tensor& Tensor::clamp_(std::optional<double> lo, std::optional<double> hi) {
  check_inplace("clamp_");
  autograd::NoGradGuard no_grad;
  return write_back("clamp_", clamp(*this, lo, hi));
}

// ---- method forms ---------------------------------------------------------------------------

Tensor Tensor::sum(const Dims& dims, bool keepdim) const { return ctdl::sum(*this, dims, keepdim); }
Tensor Tensor::mean(const Dims& dims, bool keepdim) const {
  return ctdl::mean(*this, dims, keepdim);
}
Tensor Tensor::amax(const Dims& dims, bool keepdim) const {
  return ctdl::amax(*this, dims, keepdim);
}
Tensor Tensor::amin(const Dims& dims, bool keepdim) const {
  return ctdl::amin(*this, dims, keepdim);
}
Tensor Tensor::argmax(std::optional<int64_t> dim, bool keepdim) const {
  return ctdl::argmax(*this, dim, keepdim);
}
Tensor Tensor::pow(double exponent) const { return ctdl::pow(*this, exponent); }
Tensor Tensor::exp() const { return ctdl::exp(*this); }
Tensor Tensor::log() const { return ctdl::log(*this); }
Tensor Tensor::sqrt() const { return ctdl::sqrt(*this); }
Tensor Tensor::abs() const { return ctdl::abs(*this); }
Tensor Tensor::tanh() const { return ctdl::tanh(*this); }
Tensor Tensor::relu() const { return ctdl::relu(*this); }
Tensor Tensor::sigmoid() const { return ctdl::sigmoid(*this); }
Tensor Tensor::square() const { return ctdl::square(*this); }
Tensor Tensor::matmul(const Tensor& other) const { return ctdl::matmul(*this, other); }
Tensor Tensor::norm(double p) const { return ctdl::norm(*this, p); }

}  // namespace ctdl

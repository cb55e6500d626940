// Tensor: a strided view of a Storage, with the autograd state that goes with it.
//
//   Tensor x = randn({3, 4}, {.dtype = DType::Float64, .requires_grad = true});
//   Tensor y = (x * x).sum();
//   y.backward();
//   std::cout << x.grad();             // 2 * x
//   Tensor xt = x.transpose(0, 1);     // a view: no copy, shares x's storage
//
// A Tensor is a handle (a shared pointer): copying it is cheap and both copies name the
// same data. Ops never modify their inputs; the in-place methods (add_, copy_, ...) are
// for optimizers and are refused on tensors that take part in a graph, and on broadcast
// views (expand), whose elements share memory (fill_ excepted).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <vector>

#include "ctdl/tensor/device.h"
#include "ctdl/tensor/dtype.h"
#include "ctdl/tensor/shape.h"
#include "ctdl/tensor/storage.h"

namespace ctdl {

namespace autograd {
class Node;
}

class Tensor;
using TensorList = std::vector<Tensor>;
using GradHook = std::function<Tensor(const Tensor& grad)>;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Dims shape;
  Dims strides;      // in elements
  int64_t offset = 0;  // in elements
  DType dtype = DType::Float32;

  // autograd state
  bool requires_grad = false;
  bool retains_grad = false;
  std::shared_ptr<autograd::Node> grad_fn;  // null for leaves
  uint32_t output_nr = 0;                   // which output of grad_fn this is
  std::shared_ptr<TensorImpl> grad;
  // Leaves only: where their gradients (and hooks) go. The node holds the leaf weakly, so
  // a gradient kept in .grad with its graph (backward with create_graph) forms no cycle.
  std::shared_ptr<autograd::Node> grad_accumulator;

  // User-provided, so that make_shared<TensorImpl>() initializes member by member instead
  // of first zero-filling the whole object (a `rep stos` that was a quarter of an add of two
  // [2] tensors).
  TensorImpl() {}
  ~TensorImpl();  // releases long graphs iteratively (see autograd/node.h)
};

// What a factory makes: `zeros({2, 3}, {.dtype = DType::Float64, .requires_grad = true})`.
struct TensorOptions {
  std::optional<DType> dtype;  // default: float32, or the type of the data given
  Device device = Device::cpu();
  bool requires_grad = false;
};

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor, as a "no value" marker
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& other) const { return impl_ == other.impl_; }

  // ---- metadata -------------------------------------------------------------------------
  const Dims& shape() const { return impl_->shape; }
  const Dims& strides() const { return impl_->strides; }
  int64_t offset() const { return impl_->offset; }
  int64_t size(int64_t dim) const;
  int dim() const { return impl_->shape.size(); }
  int64_t numel() const { return ctdl::numel(impl_->shape); }
  DType dtype() const { return impl_->dtype; }
  Device device() const { return impl_->storage->device(); }
  bool is_contiguous() const;
  bool is_floating_point() const { return is_floating(dtype()); }

  // ---- data -----------------------------------------------------------------------------
  // Pointer to the first element in device memory.
  void* raw_data() const;
  // Typed pointer to the first element; CPU tensors of type T only.
  template <class T>
  T* data() const;
  // The value of a one-element tensor, converted to T.
  template <class T = double>
  T item() const;
  // All elements in row-major order, converted to T (copies from the device if needed).
  template <class T = double>
  std::vector<T> to_vector() const;

  // ---- conversions and copies -----------------------------------------------------------
  Tensor to(DType dtype) const;
  Tensor to(Device device) const;
  Tensor to(Device device, DType dtype) const { return to(device).to(dtype); }
  Tensor contiguous() const;
  Tensor clone() const;
  Tensor detach() const;

  // ---- views (no copy unless noted) -----------------------------------------------------
  Tensor reshape(const Dims& shape) const;  // copies only when the strides do not allow a view
  Tensor view(const Dims& shape) const;     // never copies; throws when it would have to
  Tensor permute(const Dims& order) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  Tensor t() const;   // transpose of a matrix
  Tensor mT() const;  // transpose of the last two dims
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor expand(const Dims& shape) const;
  Tensor expand_as(const Tensor& other) const { return expand(other.shape()); }
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;

  // ---- autograd -------------------------------------------------------------------------
  bool requires_grad() const { return impl_->requires_grad; }
  Tensor& requires_grad_(bool value = true);
  bool is_leaf() const { return impl_->grad_fn == nullptr; }
  const std::shared_ptr<autograd::Node>& grad_fn() const { return impl_->grad_fn; }
  Tensor grad() const { return Tensor(impl_->grad); }
  void set_grad(const Tensor& grad) { impl_->grad = grad.impl_; }
  void zero_grad() { impl_->grad.reset(); }
  // Keeps the gradient of a non-leaf tensor in .grad() after backward.
  void retain_grad();
  // Calls hook(grad) when the gradient of this tensor is computed; a defined result
  // replaces the gradient.
  void register_hook(GradHook hook);
  // Backpropagates from this tensor. `grad` may be omitted for a one-element tensor.
  void backward(const Tensor& grad = {}, bool retain_graph = false, bool create_graph = false) const;

  // ---- in-place (refused on tensors that require grad while grad mode is on) -------------
  Tensor& copy_(const Tensor& src);
  Tensor& fill_(double value);
  Tensor& zero_() { return fill_(0.0); }
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& sub_(const Tensor& other) { return add_(other, -1.0); }
  Tensor& mul_(const Tensor& other);
  Tensor& mul_(double value);
  Tensor& div_(const Tensor& other);
  Tensor& clamp_(std::optional<double> lo, std::optional<double> hi);

  // ---- method forms of common ops (see ops.h) -------------------------------------------
  Tensor sum(const Dims& dims = {}, bool keepdim = false) const;
  Tensor mean(const Dims& dims = {}, bool keepdim = false) const;
  Tensor amax(const Dims& dims = {}, bool keepdim = false) const;
  Tensor amin(const Dims& dims = {}, bool keepdim = false) const;
  Tensor max() const { return amax(); }
  Tensor min() const { return amin(); }
  Tensor argmax(std::optional<int64_t> dim = {}, bool keepdim = false) const;
  Tensor pow(double exponent) const;
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor abs() const;
  Tensor tanh() const;
  Tensor relu() const;
  Tensor sigmoid() const;
  Tensor square() const;
  Tensor matmul(const Tensor& other) const;
  Tensor norm(double p = 2.0) const;

 private:
  // Throws when the write cannot be done: the tensor needs grad while grad mode is on, or it
  // is a broadcast view (unless every element gets the same value).
  void check_inplace(const char* op, bool same_value_everywhere = false) const;
  // Bumps the version after a write (see tensor.cpp).
  Tensor& wrote();
  // Copies `result`, computed out of place, into this tensor: throws, naming op, when it has
  // another shape or a type this one would truncate (see tensor.cpp).
  Tensor& write_back(const char* op, const Tensor& result);
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& out, const Tensor& t);

}  // namespace ctdl

// Primitive view ops (reshape, permute, expand, slice) and copies (contiguous, clone, casts,
// device moves), with their backward rules. A view shares its input's storage; its backward
// maps the gradient back to the input's geometry.
#include "ctdl/autograd/record.h"
#include "ctdl/tensor/dispatch.h"
#include "ctdl/tensor/ops.h"

namespace ctdl {
namespace {

using autograd::record;
using autograd::Saved;
using autograd::SaveOutput;

// Replaces one -1 in `shape` by the size that makes the element count `count`.
Dims infer_shape(const Dims& shape, int64_t count, const char* op) {
  Dims out = shape;
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      CTDL_CHECK(infer < 0, op, ": only one dimension can be -1, got ", shape);
      infer = i;
    } else {
      CTDL_CHECK(shape[i] >= 0, op, ": invalid size ", shape[i], " in shape ", shape);
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    CTDL_CHECK(known != 0 && count % known == 0, op, ": shape ", shape,
               " is invalid for a tensor of ", count, " elements");
    out[infer] = count / known;
  }
  CTDL_CHECK(numel(out) == count, op, ": shape ", shape, " is invalid for a tensor of ", count,
             " elements");
  return out;
}

// Strides that let `new_shape` view memory laid out as (shape, strides), if any exist.
std::optional<Dims> view_strides(const Dims& shape, const Dims& strides, const Dims& new_shape) {
  if (numel(shape) == 0 || shape.empty()) return contiguous_strides(new_shape);
  Dims out = Dims::filled(new_shape.size(), 1);
  int view_d = new_shape.size() - 1;
  int64_t chunk_base_stride = strides.back(), tensor_numel = 1, view_numel = 1;
  for (int d = shape.size() - 1; d >= 0; --d) {
    tensor_numel *= shape[d];
    bool chunk_ends = d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
      out[view_d] = view_numel * chunk_base_stride;
      view_numel *= new_shape[view_d];
      --view_d;
    }
    if (view_numel != tensor_numel) return std::nullopt;
    if (d > 0) {
      chunk_base_stride = strides[d - 1];
      tensor_numel = 1;
      view_numel = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

Tensor record_reshape(const Tensor& x, const Tensor& out) {
  if (!autograd::needs_grad(x)) return out;
  Dims in_shape = x.shape();
  return record("reshape", out, {x}, {}, SaveOutput::No,
                [in_shape](const Tensor& g, const Saved&) { return TensorList{g.reshape(in_shape)}; });
}

}  // namespace

Tensor Tensor::view(const Dims& shape) const {
  Dims target = infer_shape(shape, numel(), "view");
  std::optional<Dims> strides = view_strides(this->shape(), this->strides(), target);
  CTDL_CHECK(strides.has_value(), "view: shape ", shape, " is incompatible with the strides ",
             this->strides(), " of a tensor of shape ", this->shape(), "; use reshape()");
  return record_reshape(*this, dispatch::alias(*this, target, *strides, offset()));
}

Tensor Tensor::reshape(const Dims& shape) const {
  Dims target = infer_shape(shape, numel(), "reshape");
  if (target == this->shape()) return *this;
  std::optional<Dims> strides = view_strides(this->shape(), this->strides(), target);
  if (strides) return record_reshape(*this, dispatch::alias(*this, target, *strides, offset()));
  return contiguous().view(target);
}

Tensor Tensor::permute(const Dims& order) const {
  CTDL_CHECK(order.size() == dim(), "permute: got ", order.size(), " dims ", order,
             " for a tensor of ", dim(), " dimensions");
  Dims shape, strides, inverse = Dims::filled(dim(), -1);
  for (int i = 0; i < dim(); ++i) {
    int d = wrap_dim(order[i], dim(), "permute");
    CTDL_CHECK(inverse[d] < 0, "permute: dimension ", d, " repeated in ", order);
    inverse[d] = i;
    shape.push_back(this->shape()[d]);
    strides.push_back(this->strides()[d]);
  }
  Tensor out = dispatch::alias(*this, shape, strides, offset());
  if (!autograd::needs_grad(*this)) return out;
  return record("permute", out, {*this}, {}, SaveOutput::No,
                [inverse](const Tensor& g, const Saved&) { return TensorList{g.permute(inverse)}; });
}

Tensor Tensor::expand(const Dims& shape) const {
  CTDL_CHECK(shape.size() >= dim(), "expand: cannot expand shape ", this->shape(), " to ", shape);
  Dims target = shape;
  int lead = shape.size() - dim();
  for (int i = 0; i < shape.size(); ++i) {
    if (i >= lead && target[i] == -1) target[i] = this->shape()[i - lead];
    int64_t have = i >= lead ? this->shape()[i - lead] : 1;
    CTDL_CHECK(have == target[i] || have == 1, "expand: cannot expand shape ", this->shape(),
               " to ", shape, " (dimension ", i, ")");
  }
  if (target == this->shape()) return *this;
  Tensor out = dispatch::alias(*this, target, broadcast_strides(this->shape(), strides(), target), offset());
  // The engine sums the gradient back to the input's shape, so backward is the identity.
  if (!autograd::needs_grad(*this)) return out;
  return record("expand", out, {*this}, {}, SaveOutput::No,
                [](const Tensor& g, const Saved&) { return TensorList{g}; });
}

Tensor Tensor::slice(int64_t dim, int64_t start, int64_t end, int64_t step) const {
  int d = wrap_dim(dim, this->dim(), "slice");
  CTDL_CHECK(this->dim() > 0, "slice: cannot slice a 0-d tensor");
  CTDL_CHECK(step > 0, "slice: step must be positive, got ", step);
  int64_t n = shape()[d];
  auto clip = [n](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + n : i, 0, n); };
  start = clip(start);
  end = std::max(clip(end), start);
  Dims new_shape = shape(), new_strides = strides();
  new_shape[d] = (end - start + step - 1) / step;
  new_strides[d] *= step;
  Tensor out = dispatch::alias(*this, new_shape, new_strides, offset() + start * strides()[d]);
  if (!autograd::needs_grad(*this)) return out;
  Dims in_shape = shape();
  return record("slice", out, {*this}, {}, SaveOutput::No, [=](const Tensor& g, const Saved&) {
    return TensorList{slice_scatter_zeros(g, in_shape, d, start, step)};
  });
}

Tensor slice_scatter_zeros(const Tensor& src, const Dims& shape, int64_t dim, int64_t start,
                           int64_t step) {
  int d = wrap_dim(dim, shape.size(), "slice_scatter_zeros");
  Tensor out = dispatch::fill(shape, 0.0, src.dtype(), src.device());
  int64_t end = start + src.shape()[d] * step;
  {
    Tensor window = out.slice(d, start, end, step);  // out has no history yet: a plain view
    CTDL_CHECK(window.shape() == src.shape(), "slice_scatter_zeros: source shape ", src.shape(),
               " does not match the slice shape ", window.shape());
    dispatch::copy_into(window, src);
  }
  if (!autograd::needs_grad(src)) return out;
  return record("slice_scatter", out, {src}, {}, SaveOutput::No, [=](const Tensor& g, const Saved&) {
    return TensorList{g.slice(d, start, end, step)};
  });
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = dispatch::copy(*this);
  if (!autograd::needs_grad(*this)) return out;
  return record("clone", out, {*this}, {}, SaveOutput::No,
                [](const Tensor& g, const Saved&) { return TensorList{g}; });
}

Tensor Tensor::detach() const {
  return dispatch::alias(*this, shape(), strides(), offset());
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == this->dtype()) return *this;
  Tensor out = dispatch::cast(*this, dtype);
  if (!is_floating(dtype) || !autograd::needs_grad(*this)) return out;
  // The engine casts the gradient back to the input's dtype.
  return record("to_dtype", out, {*this}, {}, SaveOutput::No,
                [](const Tensor& g, const Saved&) { return TensorList{g}; });
}

Tensor Tensor::to(Device device) const {
  if (device == this->device()) return *this;
  Tensor out = dispatch::to_device(*this, device);
  if (!autograd::needs_grad(*this)) return out;
  Device source = this->device();
  return record("to_device", out, {*this}, {}, SaveOutput::No,
                [source](const Tensor& g, const Saved&) { return TensorList{g.to(source)}; });
}

// ---- composites of the primitives above ------------------------------------------------------

Tensor Tensor::transpose(int64_t dim0, int64_t dim1) const {
  if (dim() < 2 && dim0 == dim1) return *this;
  int a = wrap_dim(dim0, dim(), "transpose"), b = wrap_dim(dim1, dim(), "transpose");
  Dims order;
  for (int i = 0; i < dim(); ++i) order.push_back(i);
  std::swap(order[a], order[b]);
  return permute(order);
}

Tensor Tensor::t() const {
  CTDL_CHECK(dim() <= 2, "t: expected a tensor of at most 2 dimensions, got shape ", shape());
  return dim() < 2 ? *this : transpose(0, 1);
}

Tensor Tensor::mT() const {
  CTDL_CHECK(dim() >= 2, "mT: expected at least 2 dimensions, got shape ", shape());
  return transpose(-2, -1);
}

Tensor Tensor::narrow(int64_t dim, int64_t start, int64_t length) const {
  int d = wrap_dim(dim, this->dim(), "narrow");
  int64_t n = shape()[d];
  if (start < 0) start += n;
  CTDL_CHECK(start >= 0 && length >= 0 && start + length <= n, "narrow: start ", start,
             " and length ", length, " are out of range for dimension ", d, " of size ", n);
  return slice(d, start, start + length);
}

Tensor Tensor::select(int64_t dim, int64_t index) const {
  int d = wrap_dim(dim, this->dim(), "select");
  int64_t n = shape()[d];
  CTDL_CHECK(index >= -n && index < n, "select: index ", index,
             " is out of range for dimension ", d, " of size ", n);
  if (index < 0) index += n;
  return slice(d, index, index + 1).squeeze(d);
}

Tensor Tensor::squeeze() const {
  Dims shape;
  for (int64_t s : this->shape())
    if (s != 1) shape.push_back(s);
  return reshape(shape);
}

Tensor Tensor::squeeze(int64_t dim) const {
  if (this->dim() == 0) return *this;
  int d = wrap_dim(dim, this->dim(), "squeeze");
  if (shape()[d] != 1) return *this;
  Dims shape = this->shape();
  shape.erase(d);
  return reshape(shape);
}

Tensor Tensor::unsqueeze(int64_t dim) const {
  int d = wrap_dim(dim, this->dim() + 1, "unsqueeze");
  Dims shape = this->shape();
  shape.insert(d, 1);
  return reshape(shape);
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  if (dim() == 0) return reshape({1});
  int a = wrap_dim(start_dim, dim(), "flatten"), b = wrap_dim(end_dim, dim(), "flatten");
  CTDL_CHECK(a <= b, "flatten: start_dim ", start_dim, " comes after end_dim ", end_dim);
  Dims shape;
  for (int i = 0; i < a; ++i) shape.push_back(this->shape()[i]);
  int64_t merged = 1;
  for (int i = a; i <= b; ++i) merged *= this->shape()[i];
  shape.push_back(merged);
  for (int i = b + 1; i < dim(); ++i) shape.push_back(this->shape()[i]);
  return reshape(shape);
}

}  // namespace ctdl

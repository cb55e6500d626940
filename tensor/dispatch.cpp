#include "ctdl/tensor/dispatch.h"

#include <array>
#include <cstring>
#include <vector>

namespace ctdl::dispatch {
namespace {

Backend& backend(const Tensor& t) { return backend_for(t.device()); }

bool is_bool_op(UnaryOp op) {
  return op == UnaryOp::IsNan || op == UnaryOp::IsInf || op == UnaryOp::IsFinite ||
         op == UnaryOp::LogicalNot;
}

bool keeps_dtype(UnaryOp op) {
  return op == UnaryOp::Neg || op == UnaryOp::Abs || op == UnaryOp::Sign || op == UnaryOp::Relu ||
         op == UnaryOp::Clamp;
}

bool is_comparison(BinaryOp op) { return op >= BinaryOp::Eq; }

void check_index(const Tensor& index, const char* op) {
  CTDL_CHECK(index.dtype() == DType::Int64, op, ": index must be int64, got ", index.dtype());
}

// Checks index values against [0, size) when they are readable on the host.
void check_index_range(const Tensor& index, int64_t size, const char* op) {
  if (!index.device().is_cpu() || index.numel() == 0) return;
  Tensor c = index.contiguous();
  const int64_t* p = c.data<int64_t>();
  const int64_t count = c.numel();
  // One pass for the verdict; the loop that names the culprit runs only when it fails.
  bool all_inside = true;
  for (int64_t i = 0; i < count; ++i) all_inside &= (p[i] >= 0) & (p[i] < size);
  if (all_inside) return;
  for (int64_t i = 0; i < count; ++i)
    CTDL_CHECK(p[i] >= 0 && p[i] < size, op, ": index ", p[i], " is out of range for size ", size);
}

}  // namespace

Tensor empty(const Dims& shape, DType dtype, Device device) {
  for (int64_t s : shape) CTDL_CHECK(s >= 0, "empty: negative size in shape ", shape);
  auto impl = std::make_shared<TensorImpl>();
  impl->storage =
      Storage::allocate(static_cast<size_t>(numel(shape) * element_size(dtype)), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor alias(const Tensor& base, const Dims& shape, const Dims& strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

KernelTensor kernel_arg(const Tensor& t) {
  return {t.raw_data(), t.dtype(), t.shape(), t.strides()};
}

KernelTensor kernel_arg(const Tensor& t, const Dims& shape) {
  return {t.raw_data(), t.dtype(), shape, broadcast_strides(t.shape(), t.strides(), shape)};
}

Device common_device(const char* op, std::initializer_list<const Tensor*> tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    if (!t->defined()) continue;
    if (!first)
      first = t;
    else
      CTDL_CHECK(t->device() == first->device(), op, ": expected all tensors on one device, got ",
                 first->device(), " and ", t->device());
  }
  return first ? first->device() : Device::cpu();
}

Tensor fill(const Dims& shape, double value, DType dtype, Device device) {
  Tensor out = empty(shape, dtype, device);
  if (out.numel()) backend(out).fill(kernel_arg(out), value);
  return out;
}

Tensor cast(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  Tensor out = empty(x.shape(), dtype, x.device());
  if (out.numel()) backend(x).copy(kernel_arg(out), kernel_arg(x));
  return out;
}

Tensor copy(const Tensor& x) {
  Tensor out = empty(x.shape(), x.dtype(), x.device());
  if (out.numel()) backend(x).copy(kernel_arg(out), kernel_arg(x));
  return out;
}

void copy_into(const Tensor& dst, const Tensor& src) {
  // Across devices the values travel first: copy_ is how data changes device in place
  // (loading a checkpoint into a model on the GPU, filling a page-locked staging tensor).
  if (src.defined() && dst.defined() && src.device() != dst.device())
    return copy_into(dst, to_device(src, dst.device()));
  CTDL_CHECK(broadcast_shapes(src.shape(), dst.shape(), "copy_") == dst.shape(),
             "copy_: cannot copy a tensor of shape ", src.shape(), " into shape ", dst.shape());
  if (dst.numel()) backend(dst).copy(kernel_arg(dst), kernel_arg(src, dst.shape()));
}

Tensor to_device(const Tensor& x, Device device) {
  if (x.device() == device) return x;
  Tensor src = x.contiguous();
  Tensor out = empty(x.shape(), x.dtype(), device);
  size_t nbytes = static_cast<size_t>(x.numel() * element_size(x.dtype()));
  if (nbytes == 0) return out;
  if (src.device().is_cpu()) {
    backend(out).copy_from_host(out.raw_data(), src.raw_data(), nbytes);
  } else if (device.is_cpu()) {
    backend(src).copy_to_host(out.raw_data(), src.raw_data(), nbytes);
  } else {  // device to device, through the host
    Tensor host = to_device(src, Device::cpu());
    backend(out).copy_from_host(out.raw_data(), host.raw_data(), nbytes);
  }
  return out;
}

Tensor unary(UnaryOp op, const Tensor& x, UnaryParams params) {
  DType out_type = is_bool_op(op)    ? DType::Bool
                   : keeps_dtype(op) ? x.dtype()
                                     : to_floating(x.dtype());
  // The IsNan family reads any dtype; every other kernel reads its output's dtype.
  bool any_input = is_bool_op(op) && op != UnaryOp::LogicalNot;
  Tensor in = any_input ? x : cast(x, out_type);
  Tensor out = empty(x.shape(), out_type, x.device());
  if (out.numel()) backend(x).unary(op, kernel_arg(out), kernel_arg(in), params);
  return out;
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const char* name) {
  common_device(name, {&a, &b});
  Dims shape = broadcast_shapes(a.shape(), b.shape(), name);
  DType compute = promote_types(a.dtype(), b.dtype());
  if (op == BinaryOp::Div || op == BinaryOp::Pow || op == BinaryOp::TanhBackward ||
      op == BinaryOp::SigmoidBackward || op == BinaryOp::ReluBackward)
    compute = to_floating(compute);
  if (op == BinaryOp::LogicalAnd || op == BinaryOp::LogicalOr) compute = DType::Bool;
  DType out_type = is_comparison(op) ? DType::Bool : compute;
  Tensor ca = cast(a, compute), cb = cast(b, compute);
  Tensor out = empty(shape, out_type, a.device());
  if (out.numel() == 0) return out;
  // Operands of the result's shape need no broadcast strides (the common, cheap case).
  auto arg = [&](const Tensor& t) {
    return t.shape() == shape ? kernel_arg(t) : kernel_arg(t, shape);
  };
  backend(a).binary(op, kernel_arg(out), arg(ca), arg(cb));
  return out;
}

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  common_device("where", {&condition, &a, &b});
  CTDL_CHECK(condition.dtype() == DType::Bool, "where: condition must be bool, got ",
             condition.dtype());
  Dims shape =
      broadcast_shapes(broadcast_shapes(condition.shape(), a.shape(), "where"), b.shape(), "where");
  DType type = promote_types(a.dtype(), b.dtype());
  Tensor ca = cast(a, type), cb = cast(b, type);
  Tensor out = empty(shape, type, a.device());
  if (out.numel())
    backend(a).where(kernel_arg(out), kernel_arg(condition, shape), kernel_arg(ca, shape),
                     kernel_arg(cb, shape));
  return out;
}

Tensor linear_combination(const TensorList& terms, const std::vector<double>& coeffs) {
  CTDL_CHECK(!terms.empty() && terms.size() == coeffs.size(),
             "linear_combination: expected one "
             "coefficient per term and at least one term, got ",
             terms.size(), " terms and ", coeffs.size(), " coefficients");
  Dims shape = terms[0].shape();
  DType type = terms[0].dtype();
  for (const Tensor& t : terms) {
    common_device("linear_combination", {&terms[0], &t});
    shape = broadcast_shapes(shape, t.shape(), "linear_combination");
    type = promote_types(type, t.dtype());
  }
  type = to_floating(type);
  Tensor out = empty(shape, type, terms[0].device());
  if (out.numel() == 0) return out;
  // Terms beyond one kernel call's limit are chained: out = 1·out + the next terms. (Cast
  // copies only when a term's type differs: an RK stage's terms all share it.)
  TensorList cast_terms;
  bool all_of_type = true;
  for (const Tensor& t : terms) all_of_type = all_of_type && t.dtype() == type;
  if (!all_of_type) {
    cast_terms.reserve(terms.size());
    for (const Tensor& t : terms) cast_terms.push_back(cast(t, type));
  }
  const TensorList& typed = all_of_type ? terms : cast_terms;
  // On the stack: a vector of these (160 bytes each) grew past malloc's per-thread cache
  // and cost more than the kernel for a Runge–Kutta stage of a small state.
  std::array<KernelTensor, kMaxCombinationTerms> args;
  std::array<double, kMaxCombinationTerms> cs;
  int count = 0;
  for (size_t k = 0; k < terms.size(); ++k) {
    if (count == kMaxCombinationTerms) {
      backend(out).linear_combination(kernel_arg(out), args.data(), cs.data(), count);
      args[0] = kernel_arg(out);
      cs[0] = 1.0;
      count = 1;
    }
    args[count] = kernel_arg(typed[k], shape);
    cs[count++] = coeffs[k];
  }
  backend(out).linear_combination(kernel_arg(out), args.data(), cs.data(), count);
  return out;
}

namespace {

// dst can be written while `other` is read: each of dst's elements has an address of its
// own (not a broadcast view, whose elements share one), other broadcasts to dst's shape,
// its type widens nothing, and it is either dst itself or in other memory.
bool writable_in_place(const Tensor& dst, const Tensor& other, const char* name) {
  if (!is_floating(dst.dtype()) || promote_types(dst.dtype(), other.dtype()) != dst.dtype())
    return false;
  if (dst.device() != other.device()) return false;
  if (!dst.is_contiguous() && !elements_distinct(dst.shape(), dst.strides())) return false;
  if (broadcast_shapes(dst.shape(), other.shape(), name) != dst.shape()) return false;
  bool shares = dst.impl()->storage == other.impl()->storage;
  return !shares || (dst.offset() == other.offset() && dst.strides() == other.strides() &&
                     dst.shape() == other.shape());
}

}  // namespace

bool binary_into(BinaryOp op, const Tensor& dst, const Tensor& other, const char* name) {
  if (op > BinaryOp::Div || !writable_in_place(dst, other, name)) return false;
  if (dst.numel() == 0) return true;
  Tensor o = cast(other, dst.dtype());
  backend(dst).binary(op, kernel_arg(dst), kernel_arg(dst), kernel_arg(o, dst.shape()));
  return true;
}

bool axpby_into(const Tensor& dst, double a, double b, const Tensor& other, const char* name) {
  if (!writable_in_place(dst, other, name)) return false;
  if (dst.numel() == 0) return true;
  Tensor o = cast(other, dst.dtype());
  KernelTensor terms[2] = {kernel_arg(dst), kernel_arg(o, dst.shape())};
  double coeffs[2] = {a, b};
  backend(dst).linear_combination(kernel_arg(dst), terms, coeffs, 2);
  return true;
}

Tensor bias_activation(const Tensor& x, const Tensor& bias, Activation act) {
  common_device("bias_activation", {&x, &bias});
  CTDL_CHECK(broadcast_shapes(x.shape(), bias.shape(), "bias_activation") == x.shape(),
             "bias_activation: bias of shape ", bias.shape(),
             " does not broadcast to the input's shape ", x.shape());
  DType type = to_floating(promote_types(x.dtype(), bias.dtype()));
  Tensor cx = cast(x, type), cb = cast(bias, type);
  Tensor out = empty(x.shape(), type, x.device());
  if (out.numel())
    backend(out).bias_activation(act, kernel_arg(out), kernel_arg(cx), kernel_arg(cb, x.shape()));
  return out;
}

namespace {

// The perceptron's parameters as kernel descriptors; false when one is not a contiguous
// tensor of x's dtype on x's device.
struct MlpOperands {
  std::vector<KernelTensor> weights, biases;
  MlpArgs args;
};

bool mlp_operands(const Tensor& x, const TensorList& weights, const TensorList& biases,
                  Activation act, MlpOperands& ops) {
  if (x.dtype() != DType::Float32 && x.dtype() != DType::Float64) return false;
  auto fits = [&](const Tensor& t) {
    return t.dtype() == x.dtype() && t.device() == x.device() && t.is_contiguous();
  };
  ops.weights.reserve(weights.size());  // (one allocation each, not one per push_back)
  ops.biases.reserve(weights.size());
  for (size_t k = 0; k < weights.size(); ++k) {
    if (!fits(weights[k]) || (biases[k].defined() && !fits(biases[k]))) return false;
    ops.weights.push_back(kernel_arg(weights[k]));
    ops.biases.push_back(biases[k].defined() ? kernel_arg(biases[k]) : KernelTensor{});
  }
  ops.args = {act, static_cast<int>(weights.size()), ops.weights.data(), ops.biases.data()};
  return true;
}

Tensor contiguous_copy(const Tensor& t) { return t.is_contiguous() ? t : copy(t); }

}  // namespace

Tensor mlp(const Tensor& x, const TensorList& weights, const TensorList& biases, Activation act,
           Tensor* kept) {
  MlpOperands ops;
  if (!mlp_operands(x, weights, biases, act, ops)) return {};
  Backend& b = backend(x);
  Tensor in = contiguous_copy(x);
  Tensor out = empty({x.shape()[0], weights.back().shape()[0]}, x.dtype(), x.device());
  Tensor keep;
  if (kept) {
    const Dims shape = b.mlp_kept_shape(ops.args, x.dtype(), x.shape()[0]);
    if (shape.size() > 0) keep = empty(shape, x.dtype(), x.device());
  }
  if (!b.mlp(ops.args, kernel_arg(out), kernel_arg(in),
             keep.defined() ? kernel_arg(keep) : KernelTensor{}))
    return {};
  if (kept) *kept = keep;
  return out;
}

TensorList mlp_backward(const Tensor& grad, const Tensor& x, const TensorList& weights,
                        const TensorList& biases, Activation act, bool want_x,
                        const Tensor& kept) {
  MlpOperands ops;
  if (grad.dtype() != x.dtype() || !mlp_operands(x, weights, biases, act, ops)) return {};
  Tensor in = contiguous_copy(x), g = contiguous_copy(grad);
  TensorList grads = {want_x ? empty(x.shape(), x.dtype(), x.device()) : Tensor()};
  grads.reserve(1 + 2 * weights.size());
  std::vector<KernelTensor> grad_weights, grad_biases(weights.size());
  grad_weights.reserve(weights.size());
  for (const Tensor& w : weights) {
    grads.push_back(empty(w.shape(), w.dtype(), w.device()));
    grad_weights.push_back(kernel_arg(grads.back()));
  }
  for (size_t k = 0; k < biases.size(); ++k)
    if (biases[k].defined()) {
      grads.push_back(empty(biases[k].shape(), x.dtype(), x.device()));
      grad_biases[k] = kernel_arg(grads.back());
    }
  const KernelTensor grad_x = want_x ? kernel_arg(grads[0]) : KernelTensor{};
  if (!backend(x).mlp_backward(ops.args, grad_x, grad_weights.data(), grad_biases.data(),
                               kernel_arg(g), kernel_arg(in),
                               kept.defined() ? kernel_arg(kept) : KernelTensor{}))
    return {};
  return grads;
}

Tensor reduce(ReduceOp op, const Tensor& x, const Dims& dims, bool keepdim, const char* name) {
  // Move the reduced dims last: the kernel reduces a trailing block.
  Dims order, kept_shape, keep_shape;
  std::vector<bool> reduced(x.dim(), false);
  for (int64_t d : dims) reduced[d] = true;
  for (int i = 0; i < x.dim(); ++i)
    if (!reduced[i]) {
      order.push_back(i);
      kept_shape.push_back(x.shape()[i]);
    }
  for (int i = 0; i < x.dim(); ++i) {
    if (reduced[i]) order.push_back(i);
    keep_shape.push_back(reduced[i] ? 1 : x.shape()[i]);
  }
  Dims shape, strides;
  for (int64_t d : order) {
    shape.push_back(x.shape()[d]);
    strides.push_back(x.strides()[d]);
  }
  int64_t reduced_count = 1;
  for (int64_t d : dims) reduced_count *= x.shape()[d];
  // max and min of nothing are undefined, except for bool (all and any: true and false).
  if ((op == ReduceOp::Max || op == ReduceOp::Min) && x.dtype() != DType::Bool)
    CTDL_CHECK(reduced_count > 0 || numel(kept_shape) == 0, name,
               ": cannot reduce over a zero-size dimension (shape ", x.shape(), ", dims ", dims,
               ")");
  DType out_type = x.dtype();
  if ((op == ReduceOp::Sum || op == ReduceOp::Prod) && !is_floating(x.dtype()))
    out_type = DType::Int64;
  Tensor in = cast(x, out_type);
  Tensor permuted = alias(in, shape, strides, in.offset());
  Tensor out = empty(kept_shape, out_type, x.device());
  if (out.numel()) backend(x).reduce(op, kernel_arg(out), kernel_arg(permuted), dims.size());
  return keepdim ? out.view(keep_shape) : out;
}

Tensor arg_reduce(ArgReduceOp op, const Tensor& x, int dim, bool keepdim, const char* name) {
  CTDL_CHECK(x.dim() == 0 || x.shape()[dim] > 0, name,
             ": cannot reduce over a zero-size dimension (shape ", x.shape(), ", dim ", dim, ")");
  Tensor moved = x.dim() == 0 ? x.reshape({1}) : x;
  Dims order, shape, strides, keep_shape;
  for (int i = 0; i < moved.dim(); ++i)
    if (i != dim || x.dim() == 0) order.push_back(i);
  if (x.dim() > 0) order.push_back(dim);
  if (x.dim() == 0) order = {0};
  for (int64_t d : order) {
    shape.push_back(moved.shape()[d]);
    strides.push_back(moved.strides()[d]);
  }
  Dims out_shape(shape.begin(), shape.end() - 1);
  for (int i = 0; i < x.dim(); ++i) keep_shape.push_back(i == dim ? 1 : x.shape()[i]);
  Tensor permuted = alias(moved, shape, strides, moved.offset());
  Tensor out = empty(out_shape, DType::Int64, x.device());
  if (out.numel()) backend(x).arg_reduce(op, kernel_arg(out), kernel_arg(permuted));
  if (x.dim() == 0) return out.reshape({});
  return keepdim ? out.view(keep_shape) : out;
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  common_device("matmul", {&a, &b});
  int64_t m = a.shape()[a.dim() - 2], k = a.shape()[a.dim() - 1];
  int64_t k2 = b.shape()[b.dim() - 2], n = b.shape()[b.dim() - 1];
  CTDL_CHECK(k == k2, "matmul: inner dimensions differ: ", a.shape(), " and ", b.shape());
  Dims batch = broadcast_shapes(Dims(a.shape().begin(), a.shape().end() - 2),
                                Dims(b.shape().begin(), b.shape().end() - 2), "matmul");
  DType type = promote_types(a.dtype(), b.dtype());
  Tensor ca = cast(a, type), cb = cast(b, type);
  Dims out_shape = batch, a_shape = batch, b_shape = batch;
  out_shape.push_back(m), out_shape.push_back(n);
  a_shape.push_back(m), a_shape.push_back(k);
  b_shape.push_back(k), b_shape.push_back(n);
  Tensor out = empty(out_shape, type, a.device());
  if (out.numel() == 0) return out;
  if (k == 0) {
    backend(out).fill(kernel_arg(out), 0.0);
    return out;
  }
  backend(a).matmul(kernel_arg(out), kernel_arg(ca, a_shape), kernel_arg(cb, b_shape));
  return out;
}

Tensor index_select(const Tensor& x, int dim, const Tensor& index) {
  common_device("index_select", {&x, &index});
  check_index(index, "index_select");
  CTDL_CHECK(index.dim() == 1, "index_select: index must be 1-D, got shape ", index.shape());
  check_index_range(index, x.shape()[dim], "index_select");
  Dims shape = x.shape();
  shape[dim] = index.numel();
  Tensor out = empty(shape, x.dtype(), x.device());
  if (out.numel()) backend(x).index_select(kernel_arg(out), kernel_arg(x), dim, kernel_arg(index));
  return out;
}

Tensor index_add_zeros(const Dims& shape, int dim, const Tensor& index, const Tensor& src) {
  check_index(index, "index_add");
  check_index_range(index, shape[dim], "index_add");
  Tensor out = fill(shape, 0.0, src.dtype(), src.device());
  if (src.numel()) backend(src).index_add(kernel_arg(out), dim, kernel_arg(index), kernel_arg(src));
  return out;
}

Tensor gather(const Tensor& x, int dim, const Tensor& index) {
  common_device("gather", {&x, &index});
  check_index(index, "gather");
  CTDL_CHECK(index.dim() == x.dim(), "gather: index has ", index.dim(),
             " dimensions but the input has ", x.dim(), " (shapes ", index.shape(), " and ",
             x.shape(), ")");
  for (int d = 0; d < x.dim(); ++d)
    CTDL_CHECK(d == dim || index.shape()[d] <= x.shape()[d], "gather: index shape ", index.shape(),
               " is larger than input shape ", x.shape(), " in dimension ", d);
  check_index_range(index, x.shape()[dim], "gather");
  Tensor out = empty(index.shape(), x.dtype(), x.device());
  if (out.numel()) backend(x).gather(kernel_arg(out), kernel_arg(x), dim, kernel_arg(index));
  return out;
}

namespace {

// out[..., index[i], ...] += src[i] along dim, in place in `out` (fresh, owned by the caller).
Tensor scatter_add_into(Tensor out, int dim, const Tensor& index, const Tensor& src) {
  check_index(index, "scatter_add");
  CTDL_CHECK(index.dim() == out.dim() && src.dim() == out.dim(),
             "scatter_add: input, index and src must have the same number of dimensions, got ",
             out.shape(), ", ", index.shape(), " and ", src.shape());
  for (int d = 0; d < out.dim(); ++d) {
    CTDL_CHECK(index.shape()[d] <= src.shape()[d], "scatter_add: index shape ", index.shape(),
               " is larger than src shape ", src.shape(), " in dimension ", d);
    CTDL_CHECK(d == dim || index.shape()[d] <= out.shape()[d], "scatter_add: index shape ",
               index.shape(), " is larger than input shape ", out.shape(), " in dimension ", d);
  }
  check_index_range(index, out.shape()[dim], "scatter_add");
  Tensor s = cast(src, out.dtype());
  Tensor s_view = alias(s, index.shape(), s.strides(), s.offset());
  if (index.numel())
    backend(out).scatter_add(kernel_arg(out), dim, kernel_arg(index), kernel_arg(s_view));
  return out;
}

}  // namespace

Tensor scatter_add(const Tensor& x, int dim, const Tensor& index, const Tensor& src) {
  common_device("scatter_add", {&x, &index, &src});
  return scatter_add_into(copy(cast(x, promote_types(x.dtype(), src.dtype()))), dim, index, src);
}

Tensor scatter_add_zeros(const Dims& shape, int dim, const Tensor& index, const Tensor& src) {
  common_device("scatter_add", {&index, &src});
  return scatter_add_into(fill(shape, 0.0, src.dtype(), src.device()), dim, index, src);
}

Tensor unfold(const Tensor& x, const WindowGeometry& g) {
  CTDL_CHECK(x.dim() == 4, "unfold2d: expected input [N, C, H, W], got shape ", x.shape());
  int64_t oh = g.out_h(x.shape()[2]), ow = g.out_w(x.shape()[3]);
  CTDL_CHECK(oh > 0 && ow > 0, "unfold2d: the ", g.kernel_h, "x", g.kernel_w, " window (dilation ",
             g.dilation_h, "x", g.dilation_w, ", padding ", g.pad_h, "x", g.pad_w,
             ") does not fit in an input of shape ", x.shape());
  // Stored channel-major, the images side by side ([C, kh, kw, N, OH, OW] in memory): a
  // convolution's weight gradient then reads the columns of the whole batch as one matrix
  // [C·kh·kw, N·OH·OW] without copying them.
  const int64_t n = x.shape()[0], c = x.shape()[1];
  Tensor out = empty({c, g.kernel_h, g.kernel_w, n, oh, ow}, x.dtype(), x.device())
                   .permute({3, 0, 1, 2, 4, 5});
  if (out.numel()) backend(x).unfold(kernel_arg(out), kernel_arg(x), g);
  return out;
}

Tensor fold(const Tensor& cols, const Dims& input_shape, const WindowGeometry& g) {
  Tensor out = fill(input_shape, 0.0, cols.dtype(), cols.device());
  if (cols.numel()) backend(cols).fold(kernel_arg(out), kernel_arg(cols), g);
  return out;
}

std::pair<Tensor, Tensor> max_pool2d(const Tensor& x, const WindowGeometry& g) {
  CTDL_CHECK(x.dim() == 4, "max_pool2d: expected input [N, C, H, W], got shape ", x.shape());
  CTDL_CHECK(is_floating(x.dtype()), "max_pool2d: expected a floating input, got ", x.dtype());
  int64_t oh = g.out_h(x.shape()[2]), ow = g.out_w(x.shape()[3]);
  CTDL_CHECK(oh > 0 && ow > 0, "max_pool2d: the ", g.kernel_h, "x", g.kernel_w,
             " window (dilation ", g.dilation_h, "x", g.dilation_w, ", padding ", g.pad_h, "x",
             g.pad_w, ") does not fit in an input of shape ", x.shape());
  Dims shape = {x.shape()[0], x.shape()[1], oh, ow};
  Tensor out = empty(shape, x.dtype(), x.device()),
         indices = empty(shape, DType::Int64, x.device());
  if (out.numel()) backend(x).max_pool2d(kernel_arg(out), kernel_arg(indices), kernel_arg(x), g);
  return {out, indices};
}

Tensor random(RandomKind kind, const Dims& shape, DType dtype, Device device, double a, double b,
              Generator* generator) {
  Generator& gen = generator ? *generator : default_generator();
  Tensor out = empty(shape, dtype, device);
  uint64_t offset = gen.reserve(static_cast<uint64_t>(out.numel()));
  if (out.numel()) backend(out).random(kind, kernel_arg(out), gen.seed(), offset, a, b);
  return out;
}

}  // namespace ctdl::dispatch

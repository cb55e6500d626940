// Primitive reductions (sum, prod, amax, amin) with backward rules, and the index-valued
// reductions (argmax, argmin, all, any), which have none.
#include "ctdl/autograd/record.h"
#include "ctdl/tensor/dispatch.h"
#include "ctdl/tensor/ops.h"

namespace ctdl {
namespace {

using autograd::record;
using autograd::Saved;
using autograd::SaveOutput;

// The input's shape with the reduced dims set to 1: the shape of a keepdim result.
Dims keepdim_shape(const Dims& shape, const Dims& dims) {
  Dims out = shape;
  for (int64_t d : dims) out[d] = 1;
  return out;
}

// Brings a reduction's gradient (or output) back to the input's shape.
Tensor expand_back(const Tensor& t, const Dims& keep_shape, const Dims& in_shape) {
  return t.reshape(keep_shape).expand(in_shape);
}

Tensor extreme(ReduceOp op, const char* name, const Tensor& x, const Dims& dims, bool keepdim) {
  Dims wrapped = wrap_dims(dims, x.dim(), name);
  Tensor y = dispatch::reduce(op, x, wrapped, keepdim, name);
  if (!autograd::needs_grad(x)) return y;
  Dims keep = keepdim_shape(x.shape(), wrapped), in_shape = x.shape();
  // The gradient is shared equally among the elements that attain the extreme.
  return record(name, y, {x}, {x}, SaveOutput::Yes, [=](const Tensor& g, const Saved& s) {
    Tensor mask = eq(s[0], expand_back(s.output(), keep, in_shape));
    Tensor count = sum(mask, wrapped, true);
    return TensorList{where(mask, expand_back(g, keep, in_shape) / count, 0.0)};
  });
}

}  // namespace

Tensor sum(const Tensor& x, const Dims& dims, bool keepdim) {
  Dims wrapped = wrap_dims(dims, x.dim(), "sum");
  Tensor y = dispatch::reduce(ReduceOp::Sum, x, wrapped, keepdim, "sum");
  if (!autograd::needs_grad(x)) return y;
  Dims keep = keepdim_shape(x.shape(), wrapped), in_shape = x.shape();
  return record("sum", y, {x}, {}, SaveOutput::No, [=](const Tensor& g, const Saved&) {
    return TensorList{expand_back(g, keep, in_shape)};
  });
}

Tensor prod(const Tensor& x, const Dims& dims, bool keepdim) {
  Dims wrapped = wrap_dims(dims, x.dim(), "prod");
  Tensor y = dispatch::reduce(ReduceOp::Prod, x, wrapped, keepdim, "prod");
  if (!autograd::needs_grad(x)) return y;
  Dims keep = keepdim_shape(x.shape(), wrapped), in_shape = x.shape();
  // d prod / d x_i = prod / x_i, except at zeros: where x_i is the only zero of its slice the
  // derivative is the product of the others; where there are two or more zeros it is 0.
  return record("prod", y, {x}, {x}, SaveOutput::Yes, [=](const Tensor& g, const Saved& s) {
    const Tensor& x = s[0];
    Tensor is_zero = eq(x, scalar_like(0.0, x));
    Tensor zeros_in_slice = sum(is_zero, wrapped, true);
    Tensor prod_of_others = prod(where(is_zero, 1.0, x), wrapped, true);
    Tensor at_zero = where(eq(zeros_in_slice, ones_like(zeros_in_slice)), prod_of_others, 0.0);
    Tensor out = expand_back(s.output(), keep, in_shape);
    Tensor local = where(is_zero, expand_back(at_zero, keep, in_shape), out / where(is_zero, 1.0, x));
    return TensorList{expand_back(g, keep, in_shape) * local};
  });
}

Tensor amax(const Tensor& x, const Dims& dims, bool keepdim) {
  return extreme(ReduceOp::Max, "amax", x, dims, keepdim);
}

Tensor amin(const Tensor& x, const Dims& dims, bool keepdim) {
  return extreme(ReduceOp::Min, "amin", x, dims, keepdim);
}

Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  if (!dim) return dispatch::arg_reduce(ArgReduceOp::ArgMax, x.reshape({-1}), 0, false, "argmax");
  return dispatch::arg_reduce(ArgReduceOp::ArgMax, x, wrap_dim(*dim, x.dim(), "argmax"), keepdim, "argmax");
}

Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  if (!dim) return dispatch::arg_reduce(ArgReduceOp::ArgMin, x.reshape({-1}), 0, false, "argmin");
  return dispatch::arg_reduce(ArgReduceOp::ArgMin, x, wrap_dim(*dim, x.dim(), "argmin"), keepdim, "argmin");
}

Tensor all(const Tensor& x, const Dims& dims, bool keepdim) {
  return dispatch::reduce(ReduceOp::Min, x.to(DType::Bool), wrap_dims(dims, x.dim(), "all"), keepdim, "all");
}

Tensor any(const Tensor& x, const Dims& dims, bool keepdim) {
  return dispatch::reduce(ReduceOp::Max, x.to(DType::Bool), wrap_dims(dims, x.dim(), "any"), keepdim, "any");
}

}  // namespace ctdl

// The layer between ops and backends: checks arguments, allocates outputs, lines operands
// up (broadcasting, dtype promotion, moving reduced dims last) and calls the kernel of the
// tensors' device. Nothing here records autograd history: tensor/ops/*.cpp does that on
// top.
//
//   Tensor c = dispatch::binary(BinaryOp::Add, a, b, "add");   // no graph recorded
#pragma once

#include "ctdl/backends/backend.h"
#include "ctdl/tensor/random.h"
#include "ctdl/tensor/tensor.h"

namespace ctdl::dispatch {

// A new contiguous tensor with uninitialized data.
Tensor empty(const Dims& shape, DType dtype, Device device);
// A tensor sharing `base`'s storage with other geometry (no checks, no autograd).
Tensor alias(const Tensor& base, const Dims& shape, const Dims& strides, int64_t offset);
KernelTensor kernel_arg(const Tensor& t);
// `t` read as if broadcast to `shape`.
KernelTensor kernel_arg(const Tensor& t, const Dims& shape);
// The one device of all defined tensors; throws naming `op` when they differ.
Device common_device(const char* op, std::initializer_list<const Tensor*> tensors);

Tensor fill(const Dims& shape, double value, DType dtype, Device device);
// `x` converted to `dtype` (x itself when it already has that type).
Tensor cast(const Tensor& x, DType dtype);
// A contiguous copy of `x`.
Tensor copy(const Tensor& x);
// dst = src (broadcast to dst's shape and converted to its dtype), in place.
void copy_into(const Tensor& dst, const Tensor& src);
Tensor to_device(const Tensor& x, Device device);

// Output dtype: bool for IsNan/IsInf/IsFinite/LogicalNot; x's type for Neg, Abs, Sign,
// Relu, Clamp; the floating type of x for the rest.
Tensor unary(UnaryOp op, const Tensor& x, UnaryParams params = {});
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const char* name);
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);
// sum_k coeffs[k] * terms[k]: terms broadcast together, promoted to a common floating type.
Tensor linear_combination(const TensorList& terms, const std::vector<double>& coeffs);

// In-place forms: dst = op(dst, other) and dst = a·dst + b·other in one pass over dst's
// memory, when that is safe (dst floating, other of a type that needs no wider result and
// not overlapping dst except as the very same view). They return false, having done
// nothing, otherwise; the caller then computes out of place and copies. Shapes that do not
// broadcast at all throw, naming `name`.
bool binary_into(BinaryOp op, const Tensor& dst, const Tensor& other, const char* name);
bool axpby_into(const Tensor& dst, double a, double b, const Tensor& other, const char* name);
// act(x + bias), bias broadcast to x's shape, in their common floating type.
Tensor bias_activation(const Tensor& x, const Tensor& bias, Activation act);
// The fused perceptron (Backend::mlp) of x [rows, d_in]: layer k is x·weights[k]ᵀ +
// biases[k] (undefined: no bias), all but the last followed by act. Returns an undefined
// tensor when the backend has no kernel for it or the operands do not share x's floating
// dtype and device, so that the caller composes it instead. Given `kept`, it also keeps the
// hidden values there for mlp_backward, in the backend's layout (left undefined when the
// backend cannot).
Tensor mlp(const Tensor& x, const TensorList& weights, const TensorList& biases, Activation act,
           Tensor* kept = nullptr);
// Its backward pass: {grad x (if want_x), grad weights..., grad biases (the defined ones)...}
// from grad [rows, d_out], the hidden values taken from `kept` (what mlp kept for this x) or
// recomputed when it is undefined; empty when the backend has no kernel for it.
TensorList mlp_backward(const Tensor& grad, const Tensor& x, const TensorList& weights,
                        const TensorList& biases, Activation act, bool want_x,
                        const Tensor& kept = {});
// `dims` are wrapped and sorted (empty = all).
Tensor reduce(ReduceOp op, const Tensor& x, const Dims& dims, bool keepdim, const char* name);
Tensor arg_reduce(ArgReduceOp op, const Tensor& x, int dim, bool keepdim, const char* name);
// a [..., M, K] · b [..., K, N], both at least 2-D, batch dims broadcast.
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor index_select(const Tensor& x, int dim, const Tensor& index);
Tensor index_add_zeros(const Dims& shape, int dim, const Tensor& index, const Tensor& src);
Tensor gather(const Tensor& x, int dim, const Tensor& index);
Tensor scatter_add(const Tensor& x, int dim, const Tensor& index, const Tensor& src);
// scatter_add into zeros of `shape`, without first copying a tensor of zeros.
Tensor scatter_add_zeros(const Dims& shape, int dim, const Tensor& index, const Tensor& src);
Tensor unfold(const Tensor& x, const WindowGeometry& g);
Tensor fold(const Tensor& cols, const Dims& input_shape, const WindowGeometry& g);
// Max pooling of x [N, C, H, W]: the maxima and their positions y·W + x in each plane.
std::pair<Tensor, Tensor> max_pool2d(const Tensor& x, const WindowGeometry& g);
Tensor random(RandomKind kind, const Dims& shape, DType dtype, Device device, double a, double b,
              Generator* generator);

}  // namespace ctdl::dispatch

// Every tensor op, differentiable unless noted.
//
//   Tensor x = randn({8, 3}), w = randn({3, 2}, {.requires_grad = true});
//   Tensor y = log_softmax(matmul(x, w), -1);
//   Tensor loss = -y.select(1, 0).mean();
//   loss.backward();                     // w.grad() now holds dloss/dw
//
// Where they live: tensor/ops/*.cpp holds the primitive ops, each with its forward kernel
// call and its backward rule written in tensor ops (so it differentiates again); every
// other op is a composite of primitives in tensor/composites/*.cpp and needs no backward of
// its own. The list of primitives is at the top of tensor/ops/README.md.
#pragma once

#include <optional>
#include <vector>

#include "ctdl/tensor/activation.h"
#include "ctdl/tensor/random.h"
#include "ctdl/tensor/tensor.h"

namespace ctdl {

// ---- factories ---------------------------------------------------------------------------
Tensor empty(const Dims& shape, TensorOptions options = {});
Tensor zeros(const Dims& shape, TensorOptions options = {});
Tensor ones(const Dims& shape, TensorOptions options = {});
Tensor full(const Dims& shape, double value, TensorOptions options = {});
Tensor scalar_tensor(double value, TensorOptions options = {});
Tensor arange(double end, TensorOptions options = {});
Tensor arange(double start, double end, double step = 1.0, TensorOptions options = {});
Tensor linspace(double start, double end, int64_t steps, TensorOptions options = {});
Tensor eye(int64_t n, TensorOptions options = {});
Tensor zeros_like(const Tensor& t, std::optional<DType> dtype = {});
Tensor ones_like(const Tensor& t, std::optional<DType> dtype = {});
Tensor full_like(const Tensor& t, double value, std::optional<DType> dtype = {});
// From host data: `tensor({1.0, 2.0, 3.0})`, `tensor(values, {2, 3})`. The dtype defaults to
// float32 for floating data, int64 for integers and bool for bools.
Tensor tensor(const std::vector<double>& values, const Dims& shape, TensorOptions options = {});
Tensor tensor(const std::vector<float>& values, const Dims& shape, TensorOptions options = {});
Tensor tensor(const std::vector<int64_t>& values, const Dims& shape, TensorOptions options = {});
Tensor tensor(const std::vector<bool>& values, const Dims& shape, TensorOptions options = {});
Tensor tensor(std::initializer_list<double> values, TensorOptions options = {});
Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, TensorOptions options = {});

// ---- random numbers (Philox counter-based; see tensor/random.h) --------------------------
// `generator` defaults to default_generator().
Tensor rand(const Dims& shape, TensorOptions options = {}, Generator* generator = nullptr);
Tensor randn(const Dims& shape, TensorOptions options = {}, Generator* generator = nullptr);
Tensor randint(int64_t low, int64_t high, const Dims& shape, TensorOptions options = {},
               Generator* generator = nullptr);  // int64 unless options say otherwise
Tensor rand_like(const Tensor& t, Generator* generator = nullptr);
Tensor randn_like(const Tensor& t, Generator* generator = nullptr);

// ---- elementwise: unary ------------------------------------------------------------------
Tensor neg(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sign(const Tensor& x);  // gradient zero
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor log1p(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor softplus(const Tensor& x);  // log(1 + exp(x)), computed stably
Tensor pow(const Tensor& x, double exponent);
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi);
Tensor square(const Tensor& x);
Tensor reciprocal(const Tensor& x);
Tensor isnan(const Tensor& x);       // bool, not differentiable
Tensor isinf(const Tensor& x);       // bool, not differentiable
Tensor isfinite(const Tensor& x);    // bool, not differentiable
Tensor logical_not(const Tensor& x); // bool, not differentiable

// ---- elementwise: binary (NumPy broadcasting, dtype promotion as in dtype.h) --------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
// comparisons and logic: bool results, not differentiable
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);
// The scalar forms keep the tensor's dtype (see dtype.h).
Tensor where(const Tensor& condition, const Tensor& a, double b);
Tensor where(const Tensor& condition, double a, const Tensor& b);
// A one-element tensor holding `value`, typed to combine with `like` without widening it.
Tensor scalar_like(double value, const Tensor& like);

// ---- fused (one pass over memory; same values as the composites they replace) -------------
// sum_k coeffs[k] * terms[k], terms broadcast together: axpby, Runge–Kutta stage sums.
Tensor linear_combination(const TensorList& terms, const std::vector<double>& coeffs);
Tensor axpby(double a, const Tensor& x, double b, const Tensor& y);  // a*x + b*y
// act(x + bias), bias broadcast: a layer's bias and activation in one pass.
Tensor bias_activation(const Tensor& x, const Tensor& bias, Activation act);
// The gradient `grad` taken back through act, given act's output y: grad·(1 − y²) for
// tanh, grad·y·(1 − y) for sigmoid, grad where y > 0 for relu. The backward rule of tanh,
// sigmoid and bias_activation, in one pass.
Tensor activation_backward(const Tensor& grad, const Tensor& y, Activation act);
// act(x·weightᵀ + bias): a fully connected layer, weight [out, in], bias [out] or
// undefined, x [..., in]. Its values are those of the composite; it is recorded as one
// node instead of three (transpose, matmul, bias_activation), which matters for small
// layers evaluated hundreds of times per solve (a neural ODE's field).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {},
              Activation act = Activation::None);
// A multilayer perceptron as one op: layer k is linear(·, weights[k], biases[k]), every
// layer but the last followed by act; x [..., in]; biases empty or one per layer (each may
// be undefined). The values are those of the chain of linear layers. It records one node
// that saves only the inputs: the backward pass recomputes the hidden values, so a neural
// ODE's field evaluated hundreds of times per solve keeps no activations. On the CPU, small
// networks (up to 8192 weights) run a block of rows at a time with the hidden values in
// cache; larger ones run as the chain of layers.
Tensor mlp(const Tensor& x, const TensorList& weights, const TensorList& biases = {},
           Activation act = Activation::Tanh);

// ---- reductions (dims = {} means all dims) -----------------------------------------------
Tensor sum(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor prod(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor amax(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
// max and min over dims are amax and amin (the gradient is shared among ties).
inline Tensor max(const Tensor& x, const Dims& dims = {}, bool keepdim = false) { return amax(x, dims, keepdim); }
inline Tensor min(const Tensor& x, const Dims& dims = {}, bool keepdim = false) { return amin(x, dims, keepdim); }
Tensor var(const Tensor& x, const Dims& dims = {}, int64_t correction = 1, bool keepdim = false);
Tensor std(const Tensor& x, const Dims& dims = {}, int64_t correction = 1, bool keepdim = false);
Tensor logsumexp(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
// p-norm over dims; p = 2, 1, any p > 0, or INFINITY.
Tensor norm(const Tensor& x, double p = 2.0, const Dims& dims = {}, bool keepdim = false);
// int64 indices, not differentiable; no dim means the flattened tensor.
Tensor argmax(const Tensor& x, std::optional<int64_t> dim = {}, bool keepdim = false);
Tensor argmin(const Tensor& x, std::optional<int64_t> dim = {}, bool keepdim = false);
Tensor all(const Tensor& x, const Dims& dims = {}, bool keepdim = false);  // bool
Tensor any(const Tensor& x, const Dims& dims = {}, bool keepdim = false);  // bool

// ---- linear algebra -----------------------------------------------------------------------
// 1-D·1-D is a dot product, 2-D·2-D a matrix product, N-D a batched product whose batch dims
// broadcast; a 1-D operand is treated as a row (left) or column (right) vector and its
// dimension removed from the result, as in NumPy.
Tensor matmul(const Tensor& a, const Tensor& b);

// ---- shape ---------------------------------------------------------------------------------
Tensor cat(const TensorList& tensors, int64_t dim = 0);
Tensor stack(const TensorList& tensors, int64_t dim = 0);
// Pieces of `size` along dim (the last may be smaller).
TensorList split(const Tensor& x, int64_t size, int64_t dim = 0);
// Pieces with the given sizes along dim.
TensorList split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim = 0);
TensorList chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);
Tensor flip(const Tensor& x, const Dims& dims);
// The inverse of `slice`: a tensor of `shape` holding zeros except `src` at the slice.
Tensor slice_scatter_zeros(const Tensor& src, const Dims& shape, int64_t dim, int64_t start,
                           int64_t step);

// ---- indexing ------------------------------------------------------------------------------
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// A tensor of `shape`, zero except that rows `index` along dim get `src` added.
Tensor index_add_zeros(const Dims& shape, int64_t dim, const Tensor& index, const Tensor& src);
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);
Tensor one_hot(const Tensor& labels, int64_t num_classes);  // int64, not differentiable

// ---- neural-network building blocks ---------------------------------------------------------
enum class PadMode { Constant, Circular, Reflect, Replicate };
// pads = {last_lo, last_hi, second_last_lo, second_last_hi, ...}, as in PyTorch's F.pad.
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode = PadMode::Constant,
           double value = 0.0);
struct Conv2dOptions {
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;  // zero padding
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t groups = 1;
};
// x [N, C, H, W], weight [O, C/groups, kh, kw], bias [O] or undefined.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {},
              const Conv2dOptions& options = {});
struct Pool2dOptions {
  int64_t kernel_h = 2, kernel_w = 2;
  int64_t stride_h = 0, stride_w = 0;  // 0: equal to the kernel size
  int64_t pad_h = 0, pad_w = 0;
  int64_t dilation_h = 1, dilation_w = 1;
};
Tensor max_pool2d(const Tensor& x, const Pool2dOptions& options);
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& options);  // padding counts as zeros
// im2col: x [N, C, H, W] -> [N, C, kh, kw, OH, OW]; fold is its adjoint (col2im).
Tensor unfold2d(const Tensor& x, const Conv2dOptions& options, int64_t kernel_h, int64_t kernel_w);
Tensor fold2d(const Tensor& cols, const Dims& input_shape, const Conv2dOptions& options);
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

// ---- operators -------------------------------------------------------------------------------
Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);
Tensor operator<(const Tensor& a, const Tensor& b);
Tensor operator<=(const Tensor& a, const Tensor& b);
Tensor operator>(const Tensor& a, const Tensor& b);
Tensor operator>=(const Tensor& a, const Tensor& b);
Tensor operator<(const Tensor& a, double b);
Tensor operator<=(const Tensor& a, double b);
Tensor operator>(const Tensor& a, double b);
Tensor operator>=(const Tensor& a, double b);
Tensor operator&&(const Tensor& a, const Tensor& b);
Tensor operator||(const Tensor& a, const Tensor& b);
Tensor operator!(const Tensor& a);

}  // namespace ctdl

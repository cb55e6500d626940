// The backend interface: memory and kernels, nothing else.
//
// A backend is a small table of functions (ggml's design): allocate and free device memory,
// move bytes to and from the host, and run one kernel per kind of op. Kernels see plain
// descriptors (KernelTensor: pointer, dtype, shape, strides), never a Tensor, so a backend
// knows nothing about autograd. tensor/dispatch.cpp prepares the descriptors (broadcasting,
// output allocation, dtype promotion) and calls the backend of the tensors' device.
//
// Adding a backend: subclass Backend, fill in every method, and register it in
// backends/registry.cpp behind its build option. backends/README.md says more.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ctdl/tensor/activation.h"
#include "ctdl/tensor/device.h"
#include "ctdl/tensor/dtype.h"
#include "ctdl/tensor/shape.h"

namespace ctdl {

// A strided view of device memory as a kernel sees it. `data` already includes the offset;
// strides are in elements and may be 0 (broadcast) but never negative.
struct KernelTensor {
  void* data = nullptr;
  DType dtype = DType::Float32;
  Dims shape;
  Dims strides;

  int64_t numel() const { return ctdl::numel(shape); }
  bool is_contiguous() const { return strides == contiguous_strides(shape) || numel() <= 1; }
  template <class T>
  T* ptr() const { return static_cast<T*>(data); }
};

enum class UnaryOp : uint8_t {
  Neg, Abs, Sign, Exp, Log, Log1p, Sqrt, Rsqrt, Sin, Cos, Tanh, Sigmoid, Relu, Softplus,
  Pow,       // x^p, p = params.a
  Clamp,     // min(max(x, a), b); NaN bounds mean "no bound"
  IsNan, IsInf, IsFinite, LogicalNot,  // bool results
};

enum class BinaryOp : uint8_t {
  Add, Sub, Mul, Div, Pow, Maximum, Minimum,
  TanhBackward,     // a * (1 - b²): the gradient a through tanh, given its output b
  SigmoidBackward,  // a * b * (1 - b): likewise through sigmoid
  ReluBackward,     // b > 0 ? a : 0: likewise through relu
  Eq, Ne, Lt, Le, Gt, Ge, LogicalAnd, LogicalOr,  // bool results
};

enum class ReduceOp : uint8_t { Sum, Prod, Max, Min };
enum class ArgReduceOp : uint8_t { ArgMax, ArgMin };
enum class RandomKind : uint8_t { Uniform, Normal, Integer };

struct UnaryParams {
  double a = 0, b = 0;
};

// Geometry of a 2-D sliding window (im2col), zero padding included.
struct WindowGeometry {
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t out_h(int64_t h) const { return (h + 2 * pad_h - dilation_h * (kernel_h - 1) - 1) / stride_h + 1; }
  int64_t out_w(int64_t w) const { return (w + 2 * pad_w - dilation_w * (kernel_w - 1) - 1) / stride_w + 1; }
};

// A multilayer perceptron for the fused mlp kernels: layer k maps x to x·weights[k]ᵀ +
// biases[k] (weights[k] [d_out, d_in], biases[k] [d_out] or data = null for none), every
// layer but the last followed by `act`. All contiguous, one floating dtype.
struct MlpArgs {
  Activation act = Activation::None;
  int layers = 0;
  const KernelTensor* weights = nullptr;
  const KernelTensor* biases = nullptr;
};

// The most terms one linear_combination kernel call takes (tensor/dispatch.cpp chains
// calls for more).
inline constexpr int kMaxCombinationTerms = 8;

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;

  // Memory. Pointers from allocate() are aligned to 64 bytes.
  virtual void* allocate(size_t nbytes) = 0;
  virtual void deallocate(void* ptr, size_t nbytes) = 0;
  virtual void copy_from_host(void* dst, const void* src, size_t nbytes) = 0;
  virtual void copy_to_host(void* dst, const void* src, size_t nbytes) = 0;
  virtual void synchronize() {}

  // out = in, elementwise over out's shape, converting dtypes (shapes are equal).
  virtual void copy(const KernelTensor& out, const KernelTensor& in) = 0;
  virtual void fill(const KernelTensor& out, double value) = 0;
  // `in` has out's shape (broadcast strides allowed) and, except for the bool-valued ops,
  // out's dtype.
  virtual void unary(UnaryOp op, const KernelTensor& out, const KernelTensor& in,
                     const UnaryParams& params) = 0;
  // a and b have out's shape (broadcast strides) and one common dtype; comparisons and
  // logical ops write a bool `out`.
  virtual void binary(BinaryOp op, const KernelTensor& out, const KernelTensor& a,
                      const KernelTensor& b) = 0;
  // out = cond ? a : b; cond is bool, a and b have out's dtype, all broadcast to out's shape.
  virtual void where(const KernelTensor& out, const KernelTensor& cond, const KernelTensor& a,
                     const KernelTensor& b) = 0;
  // Fused kernels, one pass over memory for what users write often.
  // out = sum_k coeffs[k] * terms[k] for 1 <= count <= kMaxCombinationTerms: axpby
  // (a*x + b*y) and the Runge–Kutta stage combination z + h*(c1*k1 + ... + cs*ks). Terms
  // have out's shape (broadcast strides) and dtype (floating).
  virtual void linear_combination(const KernelTensor& out, const KernelTensor* terms,
                                  const double* coeffs, int count) = 0;
  // out = act(in + bias): in has out's shape, bias out's shape through broadcast strides.
  virtual void bias_activation(Activation act, const KernelTensor& out, const KernelTensor& in,
                               const KernelTensor& bias) = 0;
  // Reduces the last `reduced_dims` dims of `in`; out's shape is in's leading dims.
  virtual void reduce(ReduceOp op, const KernelTensor& out, const KernelTensor& in,
                      int reduced_dims) = 0;
  // Index (int64) of the extreme value along in's last dim; out's shape is in's leading dims.
  virtual void arg_reduce(ArgReduceOp op, const KernelTensor& out, const KernelTensor& in) = 0;
  // out[..., M, N] = a[..., M, K] · b[..., K, N]; batch dims equal (broadcast by strides).
  virtual void matmul(const KernelTensor& out, const KernelTensor& a, const KernelTensor& b) = 0;
  // out = in.index_select(dim, index); index is 1-D int64, checked by the caller.
  virtual void index_select(const KernelTensor& out, const KernelTensor& in, int dim,
                            const KernelTensor& index) = 0;
  // out.index_select(dim, index) += src (accumulating where indices repeat).
  virtual void index_add(const KernelTensor& out, int dim, const KernelTensor& index,
                         const KernelTensor& src) = 0;
  // out[i][j][k] = in[i][index[i][j][k]][k] (for dim = 1); index has out's shape.
  virtual void gather(const KernelTensor& out, const KernelTensor& in, int dim,
                      const KernelTensor& index) = 0;
  // out[i][index[i][j][k]][k] += src[i][j][k] (for dim = 1); index has src's shape.
  virtual void scatter_add(const KernelTensor& out, int dim, const KernelTensor& index,
                           const KernelTensor& src) = 0;
  // im2col: in [N, C, H, W] -> out [N, C, kh, kw, OH, OW].
  virtual void unfold(const KernelTensor& out, const KernelTensor& in, const WindowGeometry& g) = 0;
  // col2im, the adjoint of unfold: out [N, C, H, W] += in [N, C, kh, kw, OH, OW].
  virtual void fold(const KernelTensor& out, const KernelTensor& in, const WindowGeometry& g) = 0;
  // Max pooling: out [N, C, OH, OW] = the largest element of each window of in [N, C, H, W]
  // (padding never wins; NaN does), indices (int64, out's shape) = its position y·W + x in
  // the plane. The backward pass scatters through the indices.
  virtual void max_pool2d(const KernelTensor& out, const KernelTensor& indices,
                          const KernelTensor& in, const WindowGeometry& g) = 0;
  // Optional fused kernels. A backend without one returns false, and the op is composed
  // from the kernels above instead.
  //
  // out [rows, d_out] = the perceptron applied to each row of in [rows, d_in] (contiguous),
  // its hidden values never written to memory, unless `kept` has data: then it gets them,
  // in the backend's own layout, for an mlp_backward that follows soon (kept has the shape
  // mlp_kept_shape gave).
  virtual bool mlp(const MlpArgs&, const KernelTensor& /*out*/, const KernelTensor& /*in*/,
                   const KernelTensor& /*kept*/) {
    return false;
  }
  // The shape of what mlp keeps for `rows` rows of dtype; empty when this backend cannot
  // keep them.
  virtual Dims mlp_kept_shape(const MlpArgs&, DType, int64_t /*rows*/) { return {}; }
  // Its backward pass from grad_out [rows, d_out]: writes grad_in (skipped when its data is
  // null) and the gradient of every weight and bias (grad_weights[k], grad_biases[k]; a null
  // data pointer skips one), summed over rows. The hidden values come from `kept` when it
  // has data (what mlp kept for this input) and are recomputed from in otherwise.
  virtual bool mlp_backward(const MlpArgs&, const KernelTensor& /*grad_in*/,
                            const KernelTensor* /*grad_weights*/,
                            const KernelTensor* /*grad_biases*/,
                            const KernelTensor& /*grad_out*/, const KernelTensor& /*in*/,
                            const KernelTensor& /*kept*/) {
    return false;
  }
  // Element i of `out` (contiguous) gets the i-th number of the Philox stream (seed, offset):
  // Uniform in [a, b), Normal(mean a, std b), Integer in [a, b).
  virtual void random(RandomKind kind, const KernelTensor& out, uint64_t seed, uint64_t offset,
                      double a, double b) = 0;
};

// The backend registered for a device type; throws when none is (e.g. CUDA not built).
Backend& backend_for(Device device);

// Serves every device of `type` with `backend` instead of the built-in one (nullptr
// restores it). For tests: the CUDA suites run the front end (ops, autograd, solvers) on an
// emulated device, CPU kernels behind Device::cuda(0), where no GPU is present, which
// checks that nothing mixes devices or reads device memory on the host.
void override_backend(DeviceType type, Backend* backend);

}  // namespace ctdl

// Elementwise kernels: copy, fill, unary, binary, where and the fused bias_activation
// (linear_combination.cu has the other fused one; elementwise_launch.cuh the machinery).
//
// Every op is a small functor with a __device__ operator(), and one kernel template maps it
// over the output in one of two ways:
//  * dense: the output is contiguous and every input is contiguous, one broadcast value, or a
//    contiguous row repeated along the output (a bias). No index arithmetic beyond a modulo
//    for rows, and 16-byte loads and stores (float4, double2, 16 bools) when every pointer
//    is aligned for them, the last few elements one by one;
//  * strided: any layout; each operand's offset comes from the flat index (Indexer).
// The ops are chosen on the host by a switch, so a kernel exists per (functor, dtypes), not
// per combination of layouts. Values are those of backends/cpu/elementwise.cpp (and of its
// SIMD kernels where the two round differently), and combinations the CPU rejects throw here
// too, on the host, before anything is launched.
#include <cmath>
#include <cstring>
#include <type_traits>

#include "ctdl/backends/cuda/elementwise_launch.cuh"
#include "ctdl/backends/cuda/cuda_backend.h"

namespace ctdl::cuda {
namespace {

// ---- The ops ----

template <class T>
inline constexpr bool kFloating = std::is_floating_point_v<T>;

// One-line ops: a functor whose templated operator() returns the expression of x (unary) or
// of a and b (binary), for whichever dtypes the host dispatch lets through.
#define CTDL_UNARY_OP(NAME, ...) \
  struct NAME {                  \
    template <class T>           \
    __device__ T operator()(T x) const { return __VA_ARGS__; } \
  }
#define CTDL_BINARY_OP(NAME, ...) \
  struct NAME {                   \
    template <class T>            \
    __device__ T operator()(T a, T b) const { return __VA_ARGS__; } \
  }

CTDL_UNARY_OP(Identity, x);
CTDL_UNARY_OP(Negate, -x);
CTDL_UNARY_OP(Sign, static_cast<T>((x > T(0)) - (x < T(0))));  // 0 for NaN, as on the CPU
CTDL_UNARY_OP(Exp, exp(x));
CTDL_UNARY_OP(Log, log(x));
CTDL_UNARY_OP(Log1p, log1p(x));
CTDL_UNARY_OP(Sqrt, sqrt(x));
CTDL_UNARY_OP(Rsqrt, T(1) / sqrt(x));  // not rsqrt(): 1/sqrt rounds exactly as the CPU's
CTDL_UNARY_OP(Sin, sin(x));
CTDL_UNARY_OP(Cos, cos(x));
CTDL_UNARY_OP(Tanh, tanh(x));
CTDL_UNARY_OP(Relu, x > T(0) ? x : T(0));  // 0 for NaN, as on the CPU
// max(x, 0) + log1p(exp(-|x|)): exp never overflows.
CTDL_UNARY_OP(Softplus, (x > T(0) ? x : T(0)) + log1p(exp(-fabs(x))));

CTDL_BINARY_OP(Sub, a - b);
CTDL_BINARY_OP(Div, a / b);
CTDL_BINARY_OP(Pow, pow(a, b));
CTDL_BINARY_OP(TanhBackward, a * (T(1) - b * b));      // a: the gradient, b: tanh's output
CTDL_BINARY_OP(SigmoidBackward, a * b * (T(1) - b));   // b: sigmoid's output
CTDL_BINARY_OP(ReluBackward, b > T(0) ? a : T(0));      // b: relu's output

#undef CTDL_UNARY_OP
#undef CTDL_BINARY_OP

struct Abs {
  template <class T>
  __device__ T operator()(T x) const {
    if constexpr (kFloating<T>)
      return fabs(x);
    else
      return x < 0 ? -x : x;
  }
};
struct Sigmoid {
  template <class T>
  __device__ T operator()(T x) const {
    // Never exponentiate a large positive number.
    if (x >= T(0)) return T(1) / (T(1) + exp(-x));
    const T e = exp(x);
    return e / (T(1) + e);
  }
};
// x^e with the CPU's SIMD kernel's shortcuts for small integer exponents (pow may round
// x·x·x differently in the last bit).
template <class T>
struct PowScalar {
  T e;
  __device__ T operator()(T x) const {
    if (e == T(1)) return x;
    if (e == T(2)) return x * x;
    if (e == T(3)) return x * x * x;
    if (e == T(-1)) return T(1) / x;
    if (e == T(-2)) return T(1) / (x * x);
    return pow(x, e);
  }
};
// NaN inputs stay NaN (both comparisons are false); an absent bound is a NaN in UnaryParams.
template <class T>
struct ClampFloating {
  bool has_lo, has_hi;
  T lo, hi;
  __device__ T operator()(T x) const {
    if (has_lo && x < lo) x = lo;
    if (has_hi && x > hi) x = hi;
    return x;
  }
};
// The CPU compares an int64 with the double bound, then assigns ceil(lo) or floor(hi).
struct ClampInteger {
  bool has_lo, has_hi;
  double lo, hi;
  int64_t lo_value, hi_value;
  __device__ int64_t operator()(int64_t x) const {
    if (has_lo && static_cast<double>(x) < lo) x = lo_value;
    if (has_hi && static_cast<double>(x) > hi) x = hi_value;
    return x;
  }
};
struct LogicalNot {
  __device__ bool operator()(bool x) const { return !x; }
};
struct Classify {  // IsNan, IsInf, IsFinite of a floating input
  UnaryOp op;
  template <class T>
  __device__ bool operator()(T x) const {
    if (op == UnaryOp::IsNan) return isnan(x);
    if (op == UnaryOp::IsInf) return isinf(x);
    return isfinite(x);
  }
};

// On bools, + is or and × is and, as on the CPU.
struct Add {
  template <class T>
  __device__ T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>)
      return a || b;
    else
      return a + b;
  }
};
struct Mul {
  template <class T>
  __device__ T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>)
      return a && b;
    else
      return a * b;
  }
};
// NaN in either operand gives NaN: a's by the test, b's because a > b is then false.
struct Maximum {
  template <class T>
  __device__ T operator()(T a, T b) const {
    if constexpr (kFloating<T>) {
      if (isnan(a)) return a;
    }
    return a > b ? a : b;
  }
};
struct Minimum {
  template <class T>
  __device__ T operator()(T a, T b) const {
    if constexpr (kFloating<T>) {
      if (isnan(a)) return a;
    }
    return a < b ? a : b;
  }
};
// The bool-valued binary ops in one functor: a uniform switch costs nothing next to the
// memory traffic, and one kernel per dtype and layout replaces eight.
struct Compare {
  BinaryOp op;
  template <class T>
  __device__ bool operator()(T a, T b) const {
    switch (op) {
      case BinaryOp::Eq: return a == b;
      case BinaryOp::Ne: return a != b;  // true when either is NaN
      case BinaryOp::Lt: return a < b;
      case BinaryOp::Le: return a <= b;
      case BinaryOp::Gt: return a > b;
      case BinaryOp::Ge: return a >= b;
      case BinaryOp::LogicalAnd: return static_cast<bool>(a) && static_cast<bool>(b);
      default: return static_cast<bool>(a) || static_cast<bool>(b);
    }
  }
};

struct Select {
  template <class T>
  __device__ T operator()(bool c, T a, T b) const { return c ? a : b; }
};
template <class Out>
struct Convert {
  template <class In>
  __device__ Out operator()(In x) const { return static_cast<Out>(x); }
};
template <class T>
struct Constant {
  T value;
  __device__ T operator()() const { return value; }
};
template <class Activate>
struct BiasThen {
  template <class T>
  __device__ T operator()(T x, T bias) const { return Activate{}(x + bias); }
};

// ---- Host-side dispatch ----

const char* unary_name(UnaryOp op) {
  static constexpr const char* kNames[] = {
      "neg",     "abs",  "sign", "exp",      "log",   "log1p", "sqrt",  "rsqrt",    "sin",
      "cos",     "tanh", "sigmoid", "relu",  "softplus", "pow", "clamp", "isnan", "isinf",
      "isfinite", "logical_not"};
  return kNames[static_cast<int>(op)];
}

const char* binary_name(BinaryOp op) {
  static constexpr const char* kNames[] = {
      "add", "sub", "mul", "div", "pow", "maximum", "minimum", "tanh_backward",
      "sigmoid_backward", "relu_backward", "eq", "ne", "lt", "le", "gt", "ge", "logical_and",
      "logical_or"};
  return kNames[static_cast<int>(op)];
}

[[noreturn]] void unsupported(const char* kernel, const char* op, DType dtype) {
  fail(kernel, ": ", op, " is not defined for ", dtype, " tensors");
}

bool is_classification(UnaryOp op) {
  return op == UnaryOp::IsNan || op == UnaryOp::IsInf || op == UnaryOp::IsFinite;
}

// ceil or floor of a clamp bound as the int64 the CPU assigns. Out of range the CPU's cast is
// undefined (x86 gives INT64_MIN); here it saturates.
int64_t integer_bound(double v) {
  if (v >= 9223372036854775808.0) return INT64_MAX;
  if (v < -9223372036854775808.0) return INT64_MIN;
  return static_cast<int64_t>(v);
}

template <class T>
void unary_floating(int device, UnaryOp op, const KernelTensor& out, const KernelTensor& in,
                    const UnaryParams& p) {
  const auto run = [&](const auto& f) { launch_elementwise<T, T>(device, f, out, in); };
  switch (op) {
    case UnaryOp::Neg: return run(Negate{});
    case UnaryOp::Abs: return run(Abs{});
    case UnaryOp::Sign: return run(Sign{});
    case UnaryOp::Exp: return run(Exp{});
    case UnaryOp::Log: return run(Log{});
    case UnaryOp::Log1p: return run(Log1p{});
    case UnaryOp::Sqrt: return run(Sqrt{});
    case UnaryOp::Rsqrt: return run(Rsqrt{});
    case UnaryOp::Sin: return run(Sin{});
    case UnaryOp::Cos: return run(Cos{});
    case UnaryOp::Tanh: return run(Tanh{});
    case UnaryOp::Sigmoid: return run(Sigmoid{});
    case UnaryOp::Relu: return run(Relu{});
    case UnaryOp::Softplus: return run(Softplus{});
    case UnaryOp::Pow: return run(PowScalar<T>{static_cast<T>(p.a)});
    case UnaryOp::Clamp:
      return run(ClampFloating<T>{!std::isnan(p.a), !std::isnan(p.b), static_cast<T>(p.a),
                                  static_cast<T>(p.b)});
    default: unsupported("unary", unary_name(op), out.dtype);
  }
}

void unary_integer(int device, UnaryOp op, const KernelTensor& out, const KernelTensor& in,
                   const UnaryParams& p) {
  const auto run = [&](const auto& f) { launch_elementwise<int64_t, int64_t>(device, f, out, in); };
  switch (op) {
    case UnaryOp::Neg: return run(Negate{});
    case UnaryOp::Abs: return run(Abs{});
    case UnaryOp::Sign: return run(Sign{});
    case UnaryOp::Relu: return run(Relu{});
    case UnaryOp::Clamp: {
      const bool has_lo = !std::isnan(p.a), has_hi = !std::isnan(p.b);
      return run(ClampInteger{has_lo, has_hi, p.a, p.b,
                              has_lo ? integer_bound(std::ceil(p.a)) : 0,
                              has_hi ? integer_bound(std::floor(p.b)) : 0});
    }
    default: unsupported("unary", unary_name(op), out.dtype);
  }
}

// The ops with a value result (Add ... ReluBackward) on operands and output of type T.
template <class T>
void binary_values(int device, BinaryOp op, const KernelTensor& out, const KernelTensor& a,
                   const KernelTensor& b) {
  constexpr bool boolean = std::is_same_v<T, bool>;
  const auto run = [&](const auto& f) { launch_elementwise<T, T, T>(device, f, out, a, b); };
  switch (op) {
    case BinaryOp::Add: return run(Add{});
    case BinaryOp::Mul: return run(Mul{});
    case BinaryOp::Maximum: return run(Maximum{});
    case BinaryOp::Minimum: return run(Minimum{});
    case BinaryOp::ReluBackward: return run(ReluBackward{});
    case BinaryOp::Sub:
      if constexpr (!boolean) return run(Sub{});
      break;
    case BinaryOp::Div:
      if constexpr (kFloating<T>) return run(Div{});
      break;
    case BinaryOp::Pow:
      if constexpr (kFloating<T>) return run(Pow{});
      break;
    case BinaryOp::TanhBackward:
      if constexpr (kFloating<T>) return run(TanhBackward{});
      break;
    case BinaryOp::SigmoidBackward:
      if constexpr (kFloating<T>) return run(SigmoidBackward{});
      break;
    default: break;
  }
  unsupported("binary", binary_name(op), a.dtype);
}

}  // namespace

// ---- The backend's methods ----

void CudaBackend::copy(const KernelTensor& out, const KernelTensor& in) {
  DeviceGuard guard(device_);
  const int64_t n = out.numel();
  if (n == 0) return;
  if (out.dtype == in.dtype && contiguous(out) && contiguous(in)) {
    // x.copy_(x): cudaMemcpy's areas must not overlap, and there is nothing to do.
    if (out.data == in.data) return;
    CTDL_CUDA_CHECK(cudaMemcpyAsync(out.data, in.data, n * element_size(out.dtype),
                                    cudaMemcpyDeviceToDevice, current_stream(device_)));
    return;
  }
  CTDL_DISPATCH_ALL(out.dtype, "copy", [&] {
    using Out = scalar_t;
    CTDL_DISPATCH_ALL(in.dtype, "copy", [&] {
      launch_elementwise<Out, scalar_t>(device_, Convert<Out>{}, out, in);
    });
  });
}

void CudaBackend::fill(const KernelTensor& out, double value) {
  DeviceGuard guard(device_);
  const int64_t n = out.numel();
  if (n == 0) return;
  CTDL_DISPATCH_ALL(out.dtype, "fill", [&] {
    const auto v = static_cast<scalar_t>(value);
    const scalar_t zero{};
    if (contiguous(out) && std::memcmp(&v, &zero, sizeof v) == 0) {  // not -0.0
      CTDL_CUDA_CHECK(cudaMemsetAsync(out.data, 0, n * sizeof v, current_stream(device_)));
      return;
    }
    launch_elementwise<scalar_t>(device_, Constant<scalar_t>{v}, out);
  });
}

void CudaBackend::unary(UnaryOp op, const KernelTensor& out, const KernelTensor& in,
                        const UnaryParams& params) {
  DeviceGuard guard(device_);
  if (out.numel() == 0) return;
  if (is_classification(op)) {
    switch (in.dtype) {
      case DType::Float32: return launch_elementwise<bool, float>(device_, Classify{op}, out, in);
      case DType::Float64: return launch_elementwise<bool, double>(device_, Classify{op}, out, in);
      default: return fill(out, op == UnaryOp::IsFinite ? 1.0 : 0.0);  // integers are finite
    }
  }
  switch (out.dtype) {
    case DType::Float32: return unary_floating<float>(device_, op, out, in, params);
    case DType::Float64: return unary_floating<double>(device_, op, out, in, params);
    case DType::Int64: return unary_integer(device_, op, out, in, params);
    case DType::Bool:
      if (op == UnaryOp::LogicalNot)
        return launch_elementwise<bool, bool>(device_, LogicalNot{}, out, in);
      if (op == UnaryOp::Abs || op == UnaryOp::Relu || op == UnaryOp::Sign || op == UnaryOp::Clamp)
        return copy(out, in);  // the identity on bools
      break;
  }
  unsupported("unary", unary_name(op), out.dtype);
}

void CudaBackend::binary(BinaryOp op, const KernelTensor& out, const KernelTensor& a,
                         const KernelTensor& b) {
  DeviceGuard guard(device_);
  if (out.numel() == 0) return;
  CTDL_DISPATCH_ALL(a.dtype, "binary", [&] {
    if (op >= BinaryOp::Eq)
      launch_elementwise<bool, scalar_t, scalar_t>(device_, Compare{op}, out, a, b);
    else
      binary_values<scalar_t>(device_, op, out, a, b);
  });
}

void CudaBackend::where(const KernelTensor& out, const KernelTensor& cond, const KernelTensor& a,
                        const KernelTensor& b) {
  DeviceGuard guard(device_);
  if (out.numel() == 0) return;
  CTDL_DISPATCH_ALL(out.dtype, "where", [&] {
    launch_elementwise<scalar_t, bool, scalar_t, scalar_t>(device_, Select{}, out, cond, a, b);
  });
}

void CudaBackend::bias_activation(Activation act, const KernelTensor& out, const KernelTensor& in,
                                  const KernelTensor& bias) {
  DeviceGuard guard(device_);
  if (out.numel() == 0) return;
  CTDL_DISPATCH_FLOATING(out.dtype, "bias_activation", [&] {
    using T = scalar_t;
    switch (act) {
      case Activation::None:
        return launch_elementwise<T, T, T>(device_, BiasThen<Identity>{}, out, in, bias);
      case Activation::Relu:
        return launch_elementwise<T, T, T>(device_, BiasThen<Relu>{}, out, in, bias);
      case Activation::Tanh:
        return launch_elementwise<T, T, T>(device_, BiasThen<Tanh>{}, out, in, bias);
      case Activation::Sigmoid:
        return launch_elementwise<T, T, T>(device_, BiasThen<Sigmoid>{}, out, in, bias);
    }
    fail("bias_activation: unknown activation ", static_cast<int>(act));
  });
}

}  // namespace ctdl::cuda
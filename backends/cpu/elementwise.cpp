// Reference elementwise kernels: copy, fill, unary, binary, where.
#include <cmath>

#include "ctdl/backends/cpu/cpu_backend.h"
#include "ctdl/backends/cpu/loops.h"

namespace ctdl::cpu {
namespace {

template <class T>
T apply_unary(UnaryOp op, T x, const UnaryParams& p) {
  if constexpr (std::is_same_v<T, bool>) {
    if (op == UnaryOp::LogicalNot) return !x;
    if (op == UnaryOp::Abs || op == UnaryOp::Relu || op == UnaryOp::Sign || op == UnaryOp::Clamp) return x;
    fail("unary: op ", static_cast<int>(op), " is not defined for bool tensors");
  } else if constexpr (std::is_integral_v<T>) {
    switch (op) {
      case UnaryOp::Neg: return -x;
      case UnaryOp::Abs: return x < 0 ? -x : x;
      case UnaryOp::Sign: return (x > 0) - (x < 0);
      case UnaryOp::Relu: return x > 0 ? x : 0;
      case UnaryOp::Clamp: {
        if (!std::isnan(p.a) && x < p.a) x = static_cast<T>(std::ceil(p.a));
        if (!std::isnan(p.b) && x > p.b) x = static_cast<T>(std::floor(p.b));
        return x;
      }
      default: fail("unary: op ", static_cast<int>(op), " is not defined for int64 tensors");
    }
  } else {
    switch (op) {
      case UnaryOp::Neg: return -x;
      case UnaryOp::Abs: return std::abs(x);
      case UnaryOp::Sign: return static_cast<T>((x > 0) - (x < 0));
      case UnaryOp::Exp: return std::exp(x);
      case UnaryOp::Log: return std::log(x);
      case UnaryOp::Log1p: return std::log1p(x);
      case UnaryOp::Sqrt: return std::sqrt(x);
      case UnaryOp::Rsqrt: return T(1) / std::sqrt(x);
      case UnaryOp::Sin: return std::sin(x);
      case UnaryOp::Cos: return std::cos(x);
      case UnaryOp::Tanh: return std::tanh(x);
      case UnaryOp::Sigmoid: {
        // Never exponentiate a large positive number.
        if (x >= 0) return T(1) / (T(1) + std::exp(-x));
        T e = std::exp(x);
        return e / (T(1) + e);
      }
      case UnaryOp::Relu: return x > 0 ? x : T(0);
      case UnaryOp::Softplus: return std::max(x, T(0)) + std::log1p(std::exp(-std::abs(x)));
      case UnaryOp::Pow: return std::pow(x, static_cast<T>(p.a));
      case UnaryOp::Clamp: {
        if (!std::isnan(p.a) && x < p.a) x = static_cast<T>(p.a);
        if (!std::isnan(p.b) && x > p.b) x = static_cast<T>(p.b);
        return x;
      }
      default: fail("unary: op ", static_cast<int>(op), " has no floating kernel");
    }
  }
}

template <class T>
bool classify(UnaryOp op, T x) {
  if constexpr (std::is_floating_point_v<T>) {
    if (op == UnaryOp::IsNan) return std::isnan(x);
    if (op == UnaryOp::IsInf) return std::isinf(x);
    return std::isfinite(x);
  } else {
    return op == UnaryOp::IsFinite;
  }
}

template <class T>
T apply_binary(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::Add:
      if constexpr (std::is_same_v<T, bool>) return a || b; else return a + b;
    case BinaryOp::Sub:
      if constexpr (std::is_same_v<T, bool>) fail("sub: not defined for bool tensors"); else return a - b;
    case BinaryOp::Mul:
      if constexpr (std::is_same_v<T, bool>) return a && b; else return a * b;
    case BinaryOp::Div:
      if constexpr (std::is_floating_point_v<T>) return a / b; else fail("div: expected floating operands");
    case BinaryOp::Pow:
      if constexpr (std::is_floating_point_v<T>) return std::pow(a, b); else fail("pow: expected floating operands");
    case BinaryOp::Maximum:
      if constexpr (std::is_floating_point_v<T>) { if (std::isnan(a)) return a; }
      return a > b ? a : b;
    case BinaryOp::Minimum:
      if constexpr (std::is_floating_point_v<T>) { if (std::isnan(a)) return a; }
      return a < b ? a : b;
    default: fail("binary: op ", static_cast<int>(op), " does not produce a value");
  }
}

template <class T>
bool compare(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::Eq: return a == b;
    case BinaryOp::Ne: return a != b;
    case BinaryOp::Lt: return a < b;
    case BinaryOp::Le: return a <= b;
    case BinaryOp::Gt: return a > b;
    case BinaryOp::Ge: return a >= b;
    case BinaryOp::LogicalAnd: return a && b;
    case BinaryOp::LogicalOr: return a || b;
    default: fail("binary: op ", static_cast<int>(op), " is not a comparison");
  }
}

}  // namespace

void CpuBackend::copy(const KernelTensor& out, const KernelTensor& in) {
  CTDL_DISPATCH_ALL(out.dtype, "copy", [&] {
    using out_t = scalar_t;
    auto* po = out.ptr<out_t>();
    CTDL_DISPATCH_ALL(in.dtype, "copy", [&] {
      const auto* pi = in.ptr<scalar_t>();
      strided_loop<2>(out.shape, {&out.strides, &in.strides},
                      [&](const auto& o) { po[o[0]] = static_cast<out_t>(pi[o[1]]); });
    });
  });
}

void CpuBackend::fill(const KernelTensor& out, double value) {
  CTDL_DISPATCH_ALL(out.dtype, "fill", [&] {
    auto* po = out.ptr<scalar_t>();
    auto v = static_cast<scalar_t>(value);
    strided_loop<1>(out.shape, {&out.strides}, [&](const auto& o) { po[o[0]] = v; });
  });
}

void CpuBackend::unary(UnaryOp op, const KernelTensor& out, const KernelTensor& in,
                       const UnaryParams& params) {
  if (op == UnaryOp::IsNan || op == UnaryOp::IsInf || op == UnaryOp::IsFinite) {
    bool* po = out.ptr<bool>();
    CTDL_DISPATCH_ALL(in.dtype, "unary", [&] {
      const auto* pi = in.ptr<scalar_t>();
      strided_loop<2>(out.shape, {&out.strides, &in.strides},
                      [&](const auto& o) { po[o[0]] = classify(op, pi[o[1]]); });
    });
    return;
  }
  CTDL_DISPATCH_ALL(out.dtype, "unary", [&] {
    auto* po = out.ptr<scalar_t>();
    const auto* pi = in.ptr<scalar_t>();
    strided_loop<2>(out.shape, {&out.strides, &in.strides},
                    [&](const auto& o) { po[o[0]] = apply_unary<scalar_t>(op, pi[o[1]], params); });
  });
}

void CpuBackend::binary(BinaryOp op, const KernelTensor& out, const KernelTensor& a,
                        const KernelTensor& b) {
  CTDL_DISPATCH_ALL(a.dtype, "binary", [&] {
    const auto* pa = a.ptr<scalar_t>();
    const auto* pb = b.ptr<scalar_t>();
    if (op >= BinaryOp::Eq) {
      bool* po = out.ptr<bool>();
      strided_loop<3>(out.shape, {&out.strides, &a.strides, &b.strides},
                      [&](const auto& o) { po[o[0]] = compare(op, pa[o[1]], pb[o[2]]); });
    } else {
      auto* po = out.ptr<scalar_t>();
      strided_loop<3>(out.shape, {&out.strides, &a.strides, &b.strides},
                      [&](const auto& o) { po[o[0]] = apply_binary(op, pa[o[1]], pb[o[2]]); });
    }
  });
}

void CpuBackend::where(const KernelTensor& out, const KernelTensor& cond, const KernelTensor& a,
                       const KernelTensor& b) {
  const bool* pc = cond.ptr<bool>();
  CTDL_DISPATCH_ALL(out.dtype, "where", [&] {
    auto* po = out.ptr<scalar_t>();
    const auto* pa = a.ptr<scalar_t>();
    const auto* pb = b.ptr<scalar_t>();
    strided_loop<4>(out.shape, {&out.strides, &cond.strides, &a.strides, &b.strides},
                    [&](const auto& o) { po[o[0]] = pc[o[1]] ? pa[o[2]] : pb[o[3]]; });
  });
}

}  // namespace ctdl::cpu

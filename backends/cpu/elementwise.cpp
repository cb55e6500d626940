// Elementwise kernels: copy, fill, unary, binary, where and the fused ones. Floating runs
// that are contiguous or broadcast go to the SIMD kernels (simd/kernels.h); the scalar
// functions below define every op and handle the rest.
#include <cmath>
#include <cstring>

#include "ctdl/backends/cpu/cpu_backend.h"
#include "ctdl/backends/cpu/loops.h"
#include "ctdl/backends/cpu/simd/arch.h"
#include "ctdl/backends/cpu/simd/kernels.h"

namespace ctdl::cpu {
namespace {

template <class T>
T apply_unary(UnaryOp op, T x, const UnaryParams& p) {
  if constexpr (std::is_same_v<T, bool>) {
    if (op == UnaryOp::LogicalNot) return !x;
    if (op == UnaryOp::Abs || op == UnaryOp::Relu || op == UnaryOp::Sign || op == UnaryOp::Clamp)
      return x;
    fail("unary: op ", static_cast<int>(op), " is not defined for bool tensors");
  } else if constexpr (std::is_integral_v<T>) {
    switch (op) {
      case UnaryOp::Neg:
        return -x;
      case UnaryOp::Abs:
        return x < 0 ? -x : x;
      case UnaryOp::Sign:
        return (x > 0) - (x < 0);
      case UnaryOp::Relu:
        return x > 0 ? x : 0;
      case UnaryOp::Clamp: {
        if (!std::isnan(p.a) && x < p.a) x = static_cast<T>(std::ceil(p.a));
        if (!std::isnan(p.b) && x > p.b) x = static_cast<T>(std::floor(p.b));
        return x;
      }
      default:
        fail("unary: op ", static_cast<int>(op), " is not defined for int64 tensors");
    }
  } else {
    switch (op) {
      case UnaryOp::Neg:
        return -x;
      case UnaryOp::Abs:
        return std::abs(x);
      case UnaryOp::Sign:
        return static_cast<T>((x > 0) - (x < 0));
      case UnaryOp::Exp:
        return std::exp(x);
      case UnaryOp::Log:
        return std::log(x);
      case UnaryOp::Log1p:
        return std::log1p(x);
      case UnaryOp::Sqrt:
        return std::sqrt(x);
      case UnaryOp::Rsqrt:
        return T(1) / std::sqrt(x);
      case UnaryOp::Sin:
        return std::sin(x);
      case UnaryOp::Cos:
        return std::cos(x);
      case UnaryOp::Tanh:
        return std::tanh(x);
      case UnaryOp::Sigmoid: {
        // Never exponentiate a large positive number.
        if (x >= 0) return T(1) / (T(1) + std::exp(-x));
        T e = std::exp(x);
        return e / (T(1) + e);
      }
      case UnaryOp::Relu:
        return x > 0 ? x : T(0);
      case UnaryOp::Softplus:
        return std::max(x, T(0)) + std::log1p(std::exp(-std::abs(x)));
      case UnaryOp::Pow:
        return std::pow(x, static_cast<T>(p.a));
      case UnaryOp::Clamp: {
        if (!std::isnan(p.a) && x < p.a) x = static_cast<T>(p.a);
        if (!std::isnan(p.b) && x > p.b) x = static_cast<T>(p.b);
        return x;
      }
      default:
        fail("unary: op ", static_cast<int>(op), " has no floating kernel");
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
      if constexpr (std::is_same_v<T, bool>)
        return a || b;
      else
        return a + b;
    case BinaryOp::Sub:
      if constexpr (std::is_same_v<T, bool>)
        fail("sub: not defined for bool tensors");
      else
        return a - b;
    case BinaryOp::Mul:
      if constexpr (std::is_same_v<T, bool>)
        return a && b;
      else
        return a * b;
    case BinaryOp::Div:
      if constexpr (std::is_floating_point_v<T>)
        return a / b;
      else
        fail("div: expected floating operands");
    case BinaryOp::Pow:
      if constexpr (std::is_floating_point_v<T>)
        return std::pow(a, b);
      else
        fail("pow: expected floating operands");
    case BinaryOp::TanhBackward:
      if constexpr (std::is_floating_point_v<T>)
        return a * (T(1) - b * b);
      else
        fail("activation_backward: expected floating operands");
    case BinaryOp::SigmoidBackward:
      if constexpr (std::is_floating_point_v<T>)
        return a * b * (T(1) - b);
      else
        fail("activation_backward: expected floating operands");
    case BinaryOp::ReluBackward:
      return b > T(0) ? a : T(0);
    case BinaryOp::Maximum:
      if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(a)) return a;
      }
      return a > b ? a : b;
    case BinaryOp::Minimum:
      if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(a)) return a;
      }
      return a < b ? a : b;
    default:
      fail("binary: op ", static_cast<int>(op), " does not produce a value");
  }
}

template <class T>
bool compare(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::Eq:
      return a == b;
    case BinaryOp::Ne:
      return a != b;
    case BinaryOp::Lt:
      return a < b;
    case BinaryOp::Le:
      return a <= b;
    case BinaryOp::Gt:
      return a > b;
    case BinaryOp::Ge:
      return a >= b;
    case BinaryOp::LogicalAnd:
      return a && b;
    case BinaryOp::LogicalOr:
      return a || b;
    default:
      fail("binary: op ", static_cast<int>(op), " is not a comparison");
  }
}

// A run goes to the SIMD kernels when the output is contiguous along it and every input is
// contiguous or broadcast; anything else (a transposed input, int64, bool) takes the scalar
// loop beside it, which computes the same values.
bool simd_friendly(int64_t stride) { return stride == 0 || stride == 1; }

// The number of rows when out and x are contiguous [rows, cols] (after merging dims) with
// bias [cols] repeated along the rows and rows long enough for whole vectors; else 0.
int64_t bias_along_rows(const KernelTensor& out, const KernelTensor& x, const KernelTensor& bias) {
  Layout<3> layout(out.shape, {&out.strides, &x.strides, &bias.strides});
  const Dims& shape = layout.shape;
  if (shape.size() != 2 || shape[1] < 16) return 0;
  const int64_t cols = shape[1];
  const bool rows_contiguous = layout.strides[0][0] == cols && layout.strides[0][1] == 1 &&
                               layout.strides[1][0] == cols && layout.strides[1][1] == 1;
  const bool bias_repeated = layout.strides[2][0] == 0 && layout.strides[2][1] == 1;
  return rows_contiguous && bias_repeated ? shape[0] : 0;
}

}  // namespace

void CpuBackend::copy(const KernelTensor& out, const KernelTensor& in) {
  CTDL_DISPATCH_ALL(out.dtype, "copy", [&] {
    using out_t = scalar_t;
    auto* po = out.ptr<out_t>();
    CTDL_DISPATCH_ALL(in.dtype, "copy", [&] {
      const auto* pi = in.ptr<scalar_t>();
      for_each_run<2>(out.shape, {&out.strides, &in.strides},
                      [&](const auto& o, const auto& s, int64_t n) {
                        out_t* dst = po + o[0];
                        const scalar_t* src = pi + o[1];
                        if constexpr (std::is_same_v<out_t, scalar_t>) {
                          if (s[0] == 1 && s[1] == 1)
                            return (void)std::memcpy(dst, src, n * sizeof(out_t));
                        }
                        if (s[0] == 1 && s[1] == 1) {
                          for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<out_t>(src[i]);
                        } else {
                          for (int64_t i = 0; i < n; ++i)
                            dst[i * s[0]] = static_cast<out_t>(src[i * s[1]]);
                        }
                      });
    });
  });
}

void CpuBackend::fill(const KernelTensor& out, double value) {
  CTDL_DISPATCH_ALL(out.dtype, "fill", [&] {
    auto* po = out.ptr<scalar_t>();
    auto v = static_cast<scalar_t>(value);
    for_each_run<1>(out.shape, {&out.strides}, [&](const auto& o, const auto& s, int64_t n) {
      if (s[0] == 1) return (void)std::fill_n(po + o[0], n, v);
      for (int64_t i = 0; i < n; ++i) po[o[0] + i * s[0]] = v;
    });
  });
}

void CpuBackend::unary(UnaryOp op, const KernelTensor& out, const KernelTensor& in,
                       const UnaryParams& params) {
  if (op == UnaryOp::IsNan || op == UnaryOp::IsInf || op == UnaryOp::IsFinite) {
    bool* po = out.ptr<bool>();
    CTDL_DISPATCH_ALL(in.dtype, "unary", [&] {
      const auto* pi = in.ptr<scalar_t>();
      for_each_run<2>(out.shape, {&out.strides, &in.strides},
                      [&](const auto& o, const auto& s, int64_t n) {
                        for (int64_t i = 0; i < n; ++i)
                          po[o[0] + i * s[0]] = classify(op, pi[o[1] + i * s[1]]);
                      });
    });
    return;
  }
  CTDL_DISPATCH_ALL(out.dtype, "unary", [&] {
    auto* po = out.ptr<scalar_t>();
    const auto* pi = in.ptr<scalar_t>();
    for_each_run<2>(
        out.shape, {&out.strides, &in.strides}, [&](const auto& o, const auto& s, int64_t n) {
          if constexpr (std::is_floating_point_v<scalar_t>) {
            if (s[0] == 1 && s[1] == 1 && op != UnaryOp::LogicalNot)
              return with_simd_arch([&](auto arch) {
                simd::unary<decltype(arch), scalar_t>(op, po + o[0], pi + o[1], n, params);
              });
          }
          for (int64_t i = 0; i < n; ++i)
            po[o[0] + i * s[0]] = apply_unary<scalar_t>(op, pi[o[1] + i * s[1]], params);
        });
  });
}

// +, -, ×, ÷ of a few contiguous elements: a plain loop, cheaper than cutting the tensor
// into runs, and bit-identical to the vector code (IEEE rounds these ops exactly).
template <class T>
bool small_arithmetic(BinaryOp op, const KernelTensor& out, const KernelTensor& a,
                      const KernelTensor& b) {
  constexpr int64_t kSmall = 16;
  if (op > BinaryOp::Div || out.shape.size() > 1 || out.numel() > kSmall) return false;
  int64_t n = out.numel(), sa = a.shape.empty() ? 0 : a.strides[0],
          sb = b.shape.empty() ? 0 : b.strides[0];
  if (n > 1 && ((sa != 1 && sa != 0) || (sb != 1 && sb != 0) || out.strides[0] != 1)) return false;
  T* po = out.ptr<T>();
  const T *pa = a.ptr<T>(), *pb = b.ptr<T>();
  for (int64_t i = 0; i < n; ++i) po[i] = apply_binary(op, pa[i * sa], pb[i * sb]);
  return true;
}

// out[r, j] = f(a[r, j], b[j]) (or with a and b's roles swapped) where rows are only a few
// elements long, as in a [512, 2] + bias [2]: run by run that would be one partial vector
// per row. Instead the short operand is tiled into a buffer covering many rows, and blocks
// of rows go to run(out, a, b, n) as contiguous runs. False when the layout is not that.
template <class T, class Run>
bool tiled_short_rows(const KernelTensor& out, const KernelTensor& a, const KernelTensor& b,
                      Run&& run) {
  constexpr int64_t kShort = 16, kBlock = 512;  // row length below which to tile; tile size
  Layout<3> layout(out.shape, {&out.strides, &a.strides, &b.strides});
  if (layout.shape.size() != 2 || layout.shape[1] >= kShort) return false;
  const int64_t rows = layout.shape[0], c = layout.shape[1];
  auto is = [&](int k, int64_t outer, int64_t inner) {
    return layout.strides[k][0] == outer && layout.strides[k][1] == inner;
  };
  const bool b_short = is(0, c, 1) && is(1, c, 1) && is(2, 0, 1);
  const bool a_short = is(0, c, 1) && is(1, 0, 1) && is(2, c, 1);
  if (!a_short && !b_short) return false;
  const T* full = (b_short ? a : b).template ptr<T>();
  const T* row = (b_short ? b : a).template ptr<T>();
  const int64_t block_rows = std::max<int64_t>(1, kBlock / c);
  T tiled[kBlock + kShort];
  for (int64_t r = 0; r < block_rows; ++r) std::copy_n(row, c, tiled + r * c);
  T* po = out.ptr<T>();
  parallel_chunks(chunk_count(rows, block_rows),
                  std::max<int64_t>(1, kElementwiseGrain / (block_rows * c)),
                  [&](int64_t begin, int64_t end) {
                    for (int64_t k = begin; k < end; ++k) {
                      const int64_t r0 = k * block_rows, n = std::min(block_rows, rows - r0) * c;
                      if (b_short)
                        run(po + r0 * c, full + r0 * c, tiled, n);
                      else
                        run(po + r0 * c, tiled, full + r0 * c, n);
                    }
                  });
  return true;
}

void CpuBackend::binary(BinaryOp op, const KernelTensor& out, const KernelTensor& a,
                        const KernelTensor& b) {
  if (a.dtype == DType::Float32 && small_arithmetic<float>(op, out, a, b)) return;
  if (a.dtype == DType::Float64 && small_arithmetic<double>(op, out, a, b)) return;
  CTDL_DISPATCH_ALL(a.dtype, "binary", [&] {
    const auto* pa = a.ptr<scalar_t>();
    const auto* pb = b.ptr<scalar_t>();
    constexpr bool floating = std::is_floating_point_v<scalar_t>;
    if (op >= BinaryOp::Eq) {
      bool* po = out.ptr<bool>();
      const bool logical = op == BinaryOp::LogicalAnd || op == BinaryOp::LogicalOr;
      for_each_run<3>(out.shape, {&out.strides, &a.strides, &b.strides},
                      [&](const auto& o, const auto& s, int64_t n) {
                        if constexpr (floating) {
                          if (!logical && s[0] == 1 && simd_friendly(s[1]) && simd_friendly(s[2]))
                            return with_simd_arch([&](auto arch) {
                              simd::compare<decltype(arch), scalar_t>(op, po + o[0], pa + o[1],
                                                                      s[1], pb + o[2], s[2], n);
                            });
                        }
                        for (int64_t i = 0; i < n; ++i)
                          po[o[0] + i * s[0]] =
                              compare(op, pa[o[1] + i * s[1]], pb[o[2] + i * s[2]]);
                      });
    } else {
      auto* po = out.ptr<scalar_t>();
      if constexpr (floating) {
        bool tiled = tiled_short_rows<scalar_t>(
            out, a, b, [&](scalar_t* o, const scalar_t* x, const scalar_t* y, int64_t n) {
              with_simd_arch(
                  [&](auto arch) { simd::binary<decltype(arch), scalar_t>(op, o, x, 1, y, 1, n); });
            });
        if (tiled) return;
      }
      for_each_run<3>(out.shape, {&out.strides, &a.strides, &b.strides},
                      [&](const auto& o, const auto& s, int64_t n) {
                        if constexpr (floating) {
                          if (s[0] == 1 && simd_friendly(s[1]) && simd_friendly(s[2]))
                            return with_simd_arch([&](auto arch) {
                              simd::binary<decltype(arch), scalar_t>(op, po + o[0], pa + o[1], s[1],
                                                                     pb + o[2], s[2], n);
                            });
                        }
                        for (int64_t i = 0; i < n; ++i)
                          po[o[0] + i * s[0]] =
                              apply_binary(op, pa[o[1] + i * s[1]], pb[o[2] + i * s[2]]);
                      });
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
    for_each_run<4>(
        out.shape, {&out.strides, &cond.strides, &a.strides, &b.strides},
        [&](const auto& o, const auto& s, int64_t n) {
          if constexpr (std::is_floating_point_v<scalar_t>) {
            if (s[0] == 1 && simd_friendly(s[1]) && simd_friendly(s[2]) && simd_friendly(s[3]))
              return with_simd_arch([&](auto arch) {
                simd::where<decltype(arch), scalar_t>(po + o[0], pc + o[1], s[1], pa + o[2], s[2],
                                                      pb + o[3], s[3], n);
              });
          }
          for (int64_t i = 0; i < n; ++i)
            po[o[0] + i * s[0]] = pc[o[1] + i * s[1]] ? pa[o[2] + i * s[2]] : pb[o[3] + i * s[3]];
        });
  });
}

void CpuBackend::linear_combination(const KernelTensor& out, const KernelTensor* terms,
                                    const double* coeffs, int count) {
  constexpr int N = kMaxCombinationTerms + 1;
  CTDL_CHECK(count >= 1 && count <= kMaxCombinationTerms, "linear_combination: ", count,
             " terms (the kernel takes 1 to ", kMaxCombinationTerms, ")");
  // Unused operand slots repeat the output's strides and are never read.
  std::array<const Dims*, N> strides;
  strides.fill(&out.strides);
  for (int k = 0; k < count; ++k) strides[k + 1] = &terms[k].strides;
  CTDL_DISPATCH_FLOATING(out.dtype, "linear_combination", [&] {
    auto* po = out.ptr<scalar_t>();
    for_each_run<N>(out.shape, strides, [&](const auto& o, const auto& s, int64_t n) {
      const scalar_t* base[kMaxCombinationTerms];
      bool simd = s[0] == 1;
      for (int k = 0; k < count; ++k) {
        base[k] = terms[k].ptr<scalar_t>() + o[k + 1];
        simd = simd && simd_friendly(s[k + 1]);
      }
      if (simd)
        return with_simd_arch([&](auto arch) {
          simd::linear_combination<decltype(arch), scalar_t>(po + o[0], base, s.data() + 1, coeffs,
                                                             count, n);
        });
      for (int64_t i = 0; i < n; ++i) {
        scalar_t acc = 0;
        for (int k = 0; k < count; ++k)
          acc += static_cast<scalar_t>(coeffs[k]) * base[k][i * s[k + 1]];
        po[o[0] + i * s[0]] = acc;
      }
    });
  });
}

void CpuBackend::bias_activation(Activation act, const KernelTensor& out, const KernelTensor& in,
                                 const KernelTensor& bias) {
  CTDL_DISPATCH_FLOATING(out.dtype, "bias_activation", [&] {
    auto* po = out.ptr<scalar_t>();
    const auto* pi = in.ptr<scalar_t>();
    const auto* pb = bias.ptr<scalar_t>();
    // A layer's output, [rows, cols] with the bias along each row: one kernel call per
    // chunk of rows. (Smaller chunks for tanh, so that two threads share a [512, 64] layer,
    // made a neural ODE slower: the halves' data moves between the cores' caches.)
    if (const int64_t rows = bias_along_rows(out, in, bias); rows > 0) {
      const int64_t cols = out.numel() / rows;
      parallel_chunks(rows, std::max<int64_t>(1, kElementwiseGrain / cols),
                      [&](int64_t r0, int64_t r1) {
                        with_simd_arch([&](auto arch) {
                          simd::bias_activation_rows<decltype(arch), scalar_t>(
                              act, po + r0 * cols, pi + r0 * cols, pb, r1 - r0, cols);
                        });
                      });
      return;
    }
    bool tiled = tiled_short_rows<scalar_t>(
        out, in, bias, [&](scalar_t* o, const scalar_t* x, const scalar_t* b, int64_t n) {
          with_simd_arch([&](auto arch) {
            simd::bias_activation<decltype(arch), scalar_t>(act, o, x, b, 1, n);
          });
        });
    if (tiled) return;
    for_each_run<3>(out.shape, {&out.strides, &in.strides, &bias.strides},
                    [&](const auto& o, const auto& s, int64_t n) {
                      if (s[0] == 1 && s[1] == 1 && simd_friendly(s[2]))
                        return with_simd_arch([&](auto arch) {
                          simd::bias_activation<decltype(arch), scalar_t>(act, po + o[0], pi + o[1],
                                                                          pb + o[2], s[2], n);
                        });
                      for (int64_t i = 0; i < n; ++i) {
                        scalar_t x = pi[o[1] + i * s[1]] + pb[o[2] + i * s[2]];
                        switch (act) {
                          case Activation::Relu:
                            x = apply_unary(UnaryOp::Relu, x, {});
                            break;
                          case Activation::Tanh:
                            x = apply_unary(UnaryOp::Tanh, x, {});
                            break;
                          case Activation::Sigmoid:
                            x = apply_unary(UnaryOp::Sigmoid, x, {});
                            break;
                          default:
                            break;
                        }
                        po[o[0] + i * s[0]] = x;
                      }
                    });
  });
}

}  // namespace ctdl::cpu

// Definitions of the SIMD kernels declared in kernels.h. Included only by the
// kernels_<instruction set>.cpp files, which compile it with that set's flags.
//
// Helpers live in an unnamed namespace: each instruction set's file gets its own copy, so
// the linker never picks one compiled for a wider set than the processor has.
#pragma once

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <xsimd/xsimd.hpp>

#include "ctdl/backends/cpu/simd/kernels.h"

namespace ctdl::cpu::simd {
namespace {

template <class Arch, class T>
using Vec = xsimd::batch<T, Arch>;
template <class Arch, class T>
using Mask = xsimd::batch_bool<T, Arch>;

// The partial vector at the end of a run, through a buffer: lanes past count hold `fill`.
template <class Arch, class T>
[[gnu::noinline]] Vec<Arch, T> load_partial(const T* p, int64_t count, T fill) {
  alignas(64) T buffer[Vec<Arch, T>::size];
  for (size_t k = 0; k < Vec<Arch, T>::size; ++k) buffer[k] = fill;
  std::memcpy(buffer, p, count * sizeof(T));
  return Vec<Arch, T>::load_aligned(buffer);
}

template <class Arch, class T>
[[gnu::noinline]] void store_partial(T* p, int64_t count, const Vec<Arch, T>& v) {
  alignas(64) T buffer[Vec<Arch, T>::size];
  v.store_aligned(buffer);
  std::memcpy(p, buffer, count * sizeof(T));
}

// Reads `count` (<= one vector) elements of a run with stride s (0 or 1) starting at i;
// lanes past count hold `fill`. Always inlined: it sits in every kernel's inner loop.
template <class Arch, class T>
[[gnu::always_inline]] inline Vec<Arch, T> load(const T* p, int64_t s, int64_t i, int64_t count,
                                                T fill = T(0)) {
  using V = Vec<Arch, T>;
  if (s == 0) return V(*p);
  if (count == static_cast<int64_t>(V::size)) return V::load_unaligned(p + i);
  return load_partial<Arch, T>(p + i, count, fill);
}

template <class Arch, class T>
[[gnu::always_inline]] inline void store(T* p, int64_t count, const Vec<Arch, T>& v) {
  if (count == static_cast<int64_t>(Vec<Arch, T>::size)) return v.store_unaligned(p);
  store_partial<Arch, T>(p, count, v);
}

// out[i] = f(i, count) vector by vector over a run of n; the tail is one partial vector.
template <class Arch, class T, class F>
void map_run(T* out, int64_t n, F&& f) {
  constexpr int64_t W = Vec<Arch, T>::size;
  int64_t i = 0;
  for (; i + W <= n; i += W) f(i, W).store_unaligned(out + i);
  if (i < n) store<Arch, T>(out + i, n - i, f(i, n - i));
}

template <class Arch, class T, class F>
void map1(T* out, const T* in, int64_t n, F&& f) {
  map_run<Arch, T>(out, n, [&](int64_t i, int64_t c) { return f(load<Arch, T>(in, 1, i, c)); });
}

// Binary maps get the operands' strides as template arguments, so the common contiguous
// case has no per-vector branch.
template <class Arch, class T, int SA, int SB, class F>
void map2_strided(T* out, const T* a, const T* b, int64_t n, F&& f) {
  map_run<Arch, T>(out, n, [&](int64_t i, int64_t c) {
    return f(load<Arch, T>(a, SA, i, c), load<Arch, T>(b, SB, i, c));
  });
}

template <class Arch, class T, class F>
void map2(T* out, const T* a, int64_t sa, const T* b, int64_t sb, int64_t n, F&& f) {
  if (sa && sb) return map2_strided<Arch, T, 1, 1>(out, a, b, n, f);
  if (sa) return map2_strided<Arch, T, 1, 0>(out, a, b, n, f);
  if (sb) return map2_strided<Arch, T, 0, 1>(out, a, b, n, f);
  map2_strided<Arch, T, 0, 0>(out, a, b, n, f);
}

// tanh in float32 as x·P(x²)/Q(x²) on [-9, 9] (beyond, tanh rounds to ±1 in float32):
// one division and nine multiply-adds, 2.2x faster than xsimd::tanh, which computes a
// polynomial and an exponential and blends them. A neural ODE with a tanh layer spends most
// of its forward pass here. The coefficients come from tools/fit_tanh_float.py (a weighted
// least-squares fit of the relative error); over the floats in [0, 9.5] the result is
// within 6 ulp of tanh, 0.7 ulp on average, the largest errors near |x| = 6 where the
// rounding of P and Q shows in a result just below 1 (test_kernels checks the bound).
// float64 keeps xsimd's tanh, accurate to the last digit, for gradient checks.
template <class Arch>
[[gnu::always_inline]] inline Vec<Arch, float> tanh_float(const Vec<Arch, float>& x) {
  using V = Vec<Arch, float>;
  // Clamped with the bound first: x86's max(a, b) and min(a, b) return b when either is
  // NaN, so a NaN x passes through both clamps (and the rational function) unchanged, with
  // no compare-and-select spent on it (5% of this function, which the multiply-add units
  // bound: eleven of its instructions run there).
  const V xc = xsimd::min(V(9.0f), xsimd::max(V(-9.0f), x));
  const V s = xc * xc;
  V p = V(-1.224632862e-11f);
  p = xsimd::fma(p, s, V(3.064263914e-08f));
  p = xsimd::fma(p, s, V(2.803135726e-05f));
  p = xsimd::fma(p, s, V(3.869510288e-03f));
  p = xsimd::fma(p, s, V(1.368085828e-01f));
  p = xsimd::fma(p, s, V(1.0f));
  V q = V(1.289038330e-06f);
  q = xsimd::fma(q, s, V(3.940717423e-04f));
  q = xsimd::fma(q, s, V(2.725016499e-02f));
  q = xsimd::fma(q, s, V(4.701419036e-01f));
  q = xsimd::fma(q, s, V(1.0f));
  // (A division, not an approximate reciprocal and a Newton step: those take the
  // multiply-add units this function is bound by, the division a unit of its own.)
  return xsimd::min(V(1.0f), xsimd::max(V(-1.0f), xc * p / q));
}

// Always inlined: called with a constant `act` inside a loop, the switch folds away and
// the calls of neighbouring outputs interleave.
template <class Arch, class T>
[[gnu::always_inline]] inline Vec<Arch, T> activate(Activation act, const Vec<Arch, T>& x) {
  using V = Vec<Arch, T>;
  switch (act) {
    case Activation::Relu:
      return xsimd::select(x > V(0), x, V(0));
    case Activation::Tanh:
      if constexpr (std::is_same_v<T, float>) return tanh_float<Arch>(x);
      return xsimd::tanh(x);
    case Activation::Sigmoid: {
      // e = exp(-|x|) never overflows; sigmoid(x) = 1/(1+e) for x >= 0, e/(1+e) below.
      V e = xsimd::exp(-xsimd::abs(x));
      V r = V(1) / (V(1) + e);
      return xsimd::select(x >= V(0), r, e * r);
    }
    default:
      return x;
  }
}

// The gradient g taken back through activation A, given the activation's output y: the
// BinaryOp *Backward kernels and the perceptron's backward pass (mlp_impl.h).
template <class Arch, class T, Activation A>
[[gnu::always_inline]] inline Vec<Arch, T> activation_backward(const Vec<Arch, T>& g,
                                                               const Vec<Arch, T>& y) {
  using V = Vec<Arch, T>;
  if constexpr (A == Activation::Tanh) return g * (V(T(1)) - y * y);
  if constexpr (A == Activation::Sigmoid) return g * y * (V(T(1)) - y);
  if constexpr (A == Activation::Relu) return xsimd::select(y > V(T(0)), g, V(T(0)));
  return g;
}

// Scalar std::pow, element by element: xsimd's pow is exp(y·log|x|), which loses digits
// for large exponents and gets pow(0, y <= 0) wrong.
template <class T>
void pow_scalar(T* out, const T* a, int64_t sa, const T* b, int64_t sb, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = std::pow(a[i * sa], b[i * sb]);
}

}  // namespace

template <class Arch, class T>
void unary(UnaryOp op, T* out, const T* in, int64_t n, const UnaryParams& p) {
  using V = Vec<Arch, T>;
  switch (op) {
    case UnaryOp::Neg:
      return map1<Arch, T>(out, in, n, [](V x) { return -x; });
    case UnaryOp::Abs:
      return map1<Arch, T>(out, in, n, [](V x) { return xsimd::abs(x); });
    case UnaryOp::Sign:
      return map1<Arch, T>(out, in, n, [](V x) {
        return xsimd::select(x > V(0), V(1), V(0)) - xsimd::select(x < V(0), V(1), V(0));
      });
    case UnaryOp::Exp:
      return map1<Arch, T>(out, in, n, [](V x) { return xsimd::exp(x); });
    case UnaryOp::Log:
      return map1<Arch, T>(out, in, n, [](V x) { return xsimd::log(x); });
    case UnaryOp::Log1p:
      return map1<Arch, T>(out, in, n, [](V x) { return xsimd::log1p(x); });
    case UnaryOp::Sqrt:
      return map1<Arch, T>(out, in, n, [](V x) { return xsimd::sqrt(x); });
    case UnaryOp::Rsqrt:
      return map1<Arch, T>(out, in, n, [](V x) { return V(1) / xsimd::sqrt(x); });
    case UnaryOp::Sin:
      return map1<Arch, T>(out, in, n, [](V x) { return xsimd::sin(x); });
    case UnaryOp::Cos:
      return map1<Arch, T>(out, in, n, [](V x) { return xsimd::cos(x); });
    case UnaryOp::Tanh:
      return map1<Arch, T>(out, in, n, [](V x) { return activate<Arch, T>(Activation::Tanh, x); });
    case UnaryOp::Sigmoid:
      return map1<Arch, T>(out, in, n,
                           [](V x) { return activate<Arch, T>(Activation::Sigmoid, x); });
    case UnaryOp::Relu:
      return map1<Arch, T>(out, in, n, [](V x) { return activate<Arch, T>(Activation::Relu, x); });
    case UnaryOp::Softplus:
      // max(x, 0) + log1p(exp(-|x|)): exp never overflows.
      return map1<Arch, T>(out, in, n, [](V x) {
        return xsimd::select(x > V(0), x, V(0)) + xsimd::log1p(xsimd::exp(-xsimd::abs(x)));
      });
    case UnaryOp::Pow: {
      // Small integer exponents by multiplication (exact as the scalar pow is, and fast).
      const T e = static_cast<T>(p.a);
      if (e == T(1)) return map1<Arch, T>(out, in, n, [](V x) { return x; });
      if (e == T(2)) return map1<Arch, T>(out, in, n, [](V x) { return x * x; });
      if (e == T(3)) return map1<Arch, T>(out, in, n, [](V x) { return x * x * x; });
      if (e == T(-1)) return map1<Arch, T>(out, in, n, [](V x) { return V(1) / x; });
      if (e == T(-2)) return map1<Arch, T>(out, in, n, [](V x) { return V(1) / (x * x); });
      return pow_scalar(out, in, 1, &e, 0, n);
    }
    case UnaryOp::Clamp: {
      // select keeps NaN inputs NaN; a NaN bound means no bound.
      const bool has_lo = !std::isnan(p.a), has_hi = !std::isnan(p.b);
      const V lo(static_cast<T>(p.a)), hi(static_cast<T>(p.b));
      return map1<Arch, T>(out, in, n, [&](V x) {
        if (has_lo) x = xsimd::select(x < lo, lo, x);
        if (has_hi) x = xsimd::select(x > hi, hi, x);
        return x;
      });
    }
    default:
      no_simd_kernel("unary", static_cast<int>(op));
  }
}

template <class Arch, class T>
void binary(BinaryOp op, T* out, const T* a, int64_t sa, const T* b, int64_t sb, int64_t n) {
  using V = Vec<Arch, T>;
  switch (op) {
    case BinaryOp::Add:
      return map2<Arch, T>(out, a, sa, b, sb, n, [](V x, V y) { return x + y; });
    case BinaryOp::Sub:
      return map2<Arch, T>(out, a, sa, b, sb, n, [](V x, V y) { return x - y; });
    case BinaryOp::Mul:
      return map2<Arch, T>(out, a, sa, b, sb, n, [](V x, V y) { return x * y; });
    case BinaryOp::Div:
      return map2<Arch, T>(out, a, sa, b, sb, n, [](V x, V y) { return x / y; });
    case BinaryOp::Pow:
      return pow_scalar(out, a, sa, b, sb, n);
    case BinaryOp::TanhBackward:
      return map2<Arch, T>(out, a, sa, b, sb, n, [](V g, V y) {
        return activation_backward<Arch, T, Activation::Tanh>(g, y);
      });
    case BinaryOp::ReluBackward:
      return map2<Arch, T>(out, a, sa, b, sb, n, [](V g, V y) {
        return activation_backward<Arch, T, Activation::Relu>(g, y);
      });
    case BinaryOp::SigmoidBackward:
      return map2<Arch, T>(out, a, sa, b, sb, n, [](V g, V y) {
        return activation_backward<Arch, T, Activation::Sigmoid>(g, y);
      });
    // NaN in either operand gives NaN, as in the reference kernels and NumPy. (xsimd's != is
    // the ordered comparison on AVX, false for NaN: NaN tests use xsimd::isnan.)
    case BinaryOp::Maximum:
      return map2<Arch, T>(out, a, sa, b, sb, n, [](V x, V y) {
        return xsimd::select(xsimd::isnan(x), x, xsimd::select(x > y, x, y));
      });
    case BinaryOp::Minimum:
      return map2<Arch, T>(out, a, sa, b, sb, n, [](V x, V y) {
        return xsimd::select(xsimd::isnan(x), x, xsimd::select(x < y, x, y));
      });
    default:
      no_simd_kernel("binary", static_cast<int>(op));
  }
}

template <class Arch, class T>
void compare(BinaryOp op, bool* out, const T* a, int64_t sa, const T* b, int64_t sb, int64_t n) {
  using V = Vec<Arch, T>;
  using M = Mask<Arch, T>;
  constexpr int64_t W = V::size;
  auto test = [op](V x, V y) -> M {
    switch (op) {
      case BinaryOp::Eq:
        return x == y;
      case BinaryOp::Ne:
        return !(x == y);  // true when either is NaN, as IEEE says
      case BinaryOp::Lt:
        return x < y;
      case BinaryOp::Le:
        return x <= y;
      case BinaryOp::Gt:
        return x > y;
      default:
        return x >= y;
    }
  };
  for (int64_t i = 0; i < n; i += W) {
    int64_t c = std::min(W, n - i);
    M m = test(load<Arch, T>(a, sa, i, c), load<Arch, T>(b, sb, i, c));
    if (c == W) {
      m.store_unaligned(out + i);
    } else {
      bool buffer[W];
      m.store_unaligned(buffer);
      std::memcpy(out + i, buffer, c);
    }
  }
}

template <class Arch, class T>
void where(T* out, const bool* cond, int64_t sc, const T* a, int64_t sa, const T* b, int64_t sb,
           int64_t n) {
  using M = Mask<Arch, T>;
  constexpr int64_t W = Vec<Arch, T>::size;
  map_run<Arch, T>(out, n, [&](int64_t i, int64_t c) {
    M m;
    if (sc == 0) {
      m = M(*cond);
    } else if (c == W) {
      m = M::load_unaligned(cond + i);
    } else {
      bool buffer[W] = {};
      std::memcpy(buffer, cond + i, c);
      m = M::load_unaligned(buffer);
    }
    return xsimd::select(m, load<Arch, T>(a, sa, i, c), load<Arch, T>(b, sb, i, c));
  });
}

template <class Arch, class T>
void linear_combination(T* out, const T* const* terms, const int64_t* strides, const double* coeffs,
                        int count, int64_t n) {
  using V = Vec<Arch, T>;
  map_run<Arch, T>(out, n, [&](int64_t i, int64_t c) {
    V acc(0);
    for (int k = 0; k < count; ++k)
      acc =
          xsimd::fma(V(static_cast<T>(coeffs[k])), load<Arch, T>(terms[k], strides[k], i, c), acc);
    return acc;
  });
}

namespace {

// Calls run(f) with f(u, b) = act(u + b) on vectors: the activation is chosen once, outside
// the kernels' loops.
template <class Arch, class T, class Run>
void with_bias_activation(Activation act, Run&& run) {
  using V = Vec<Arch, T>;
  switch (act) {
    case Activation::Relu:
      return run([](V u, V b) { return activate<Arch, T>(Activation::Relu, u + b); });
    case Activation::Tanh:
      return run([](V u, V b) { return activate<Arch, T>(Activation::Tanh, u + b); });
    case Activation::Sigmoid:
      return run([](V u, V b) { return activate<Arch, T>(Activation::Sigmoid, u + b); });
    default:
      return run([](V u, V b) { return u + b; });
  }
}

}  // namespace

template <class Arch, class T>
void bias_activation(Activation act, T* out, const T* x, const T* bias, int64_t sb, int64_t n) {
  with_bias_activation<Arch, T>(act, [&](auto f) { map2<Arch, T>(out, x, 1, bias, sb, n, f); });
}

template <class Arch, class T>
void bias_activation_rows(Activation act, T* out, const T* x, const T* bias, int64_t rows,
                          int64_t cols) {
  with_bias_activation<Arch, T>(act, [&](auto f) {
    for (int64_t r = 0; r < rows; ++r)
      map2_strided<Arch, T, 1, 1>(out + r * cols, x + r * cols, bias, cols, f);
  });
}

namespace {

// Elements per block whose sum or product is formed in T before it joins the double total:
// short enough that T's rounding stays near one ulp of the block's result.
constexpr int64_t kReduceBlock = 1024;
constexpr int64_t kColumnBlock = 64;  // rows per block in reduce_columns

template <class T>
T identity(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum:
      return T(0);
    case ReduceOp::Prod:
      return T(1);
    case ReduceOp::Max:
      return -std::numeric_limits<T>::infinity();
    default:
      return std::numeric_limits<T>::infinity();
  }
}

template <class Arch, class T>
Vec<Arch, T> combine(ReduceOp op, const Vec<Arch, T>& a, const Vec<Arch, T>& b) {
  switch (op) {
    case ReduceOp::Sum:
      return a + b;
    case ReduceOp::Prod:
      return a * b;
    case ReduceOp::Max:
      return xsimd::max(a, b);
    default:
      return xsimd::min(a, b);
  }
}

// Joins a block's result into the double total; NaN wins for max and min.
inline double join(ReduceOp op, double total, double block) {
  switch (op) {
    case ReduceOp::Sum:
      return total + block;
    case ReduceOp::Prod:
      return total * block;
    default:
      if (std::isnan(total) || std::isnan(block)) return std::numeric_limits<double>::quiet_NaN();
      return op == ReduceOp::Max ? std::max(total, block) : std::min(total, block);
  }
}

// The lanes of v joined in order; NaN lanes (flagged in `nan`) make max/min NaN.
template <class Arch, class T>
double horizontal(ReduceOp op, const Vec<Arch, T>& v) {
  alignas(64) T lanes[Vec<Arch, T>::size];
  v.store_aligned(lanes);
  double r = lanes[0];
  for (size_t k = 1; k < Vec<Arch, T>::size; ++k) r = join(op, r, lanes[k]);
  return r;
}

}  // namespace

template <class Arch, class T>
double reduce(ReduceOp op, const T* in, int64_t n) {
  using V = Vec<Arch, T>;
  constexpr int64_t W = V::size;
  const T fill = identity<T>(op);
  const bool track_nan = op == ReduceOp::Max || op == ReduceOp::Min;
  double total = identity<double>(op);
  Mask<Arch, T> nan(false);
  for (int64_t start = 0; start < n; start += kReduceBlock) {
    const int64_t end = std::min(n, start + kReduceBlock);
    // Four independent accumulators keep the adder pipelines busy.
    V acc[4] = {V(fill), V(fill), V(fill), V(fill)};
    int64_t i = start;
    for (; i + 4 * W <= end; i += 4 * W)
      for (int k = 0; k < 4; ++k) {
        V x = V::load_unaligned(in + i + k * W);
        if (track_nan) nan = nan || xsimd::isnan(x);
        acc[k] = combine<Arch, T>(op, acc[k], x);
      }
    for (; i < end; i += W) {
      V x = load<Arch, T>(in, 1, i, std::min(W, end - i), fill);
      if (track_nan) nan = nan || xsimd::isnan(x);
      acc[0] = combine<Arch, T>(op, acc[0], x);
    }
    V block = combine<Arch, T>(op, combine<Arch, T>(op, acc[0], acc[1]),
                               combine<Arch, T>(op, acc[2], acc[3]));
    total = join(op, total, horizontal<Arch, T>(op, block));
  }
  if (track_nan && xsimd::any(nan)) return std::numeric_limits<double>::quiet_NaN();
  return total;
}

template <class Arch, class T>
void reduce_columns(ReduceOp op, double* acc, const T* in, int64_t rows, int64_t row_stride,
                    int64_t cols) {
  using V = Vec<Arch, T>;
  constexpr int64_t W = V::size;
  const T fill = identity<T>(op);
  // Sums and products carry a NaN through by themselves; max and min must be told.
  const bool track_nan = op == ReduceOp::Max || op == ReduceOp::Min;
  // Strips of up to four vectors of columns, walked down the rows in blocks.
  for (int64_t j0 = 0; j0 < cols; j0 += 4 * W) {
    const int64_t width = std::min(4 * W, cols - j0);
    const int vectors = static_cast<int>((width + W - 1) / W);
    for (int64_t r0 = 0; r0 < rows; r0 += kColumnBlock) {
      const int64_t r1 = std::min(rows, r0 + kColumnBlock);
      V block[4] = {V(fill), V(fill), V(fill), V(fill)};
      Mask<Arch, T> nan[4] = {Mask<Arch, T>(false), Mask<Arch, T>(false), Mask<Arch, T>(false),
                              Mask<Arch, T>(false)};
      for (int64_t r = r0; r < r1; ++r) {
        const T* row = in + r * row_stride + j0;
        for (int v = 0; v < vectors; ++v) {
          V x = load<Arch, T>(row, 1, v * W, std::min(W, width - v * W), fill);
          if (track_nan) nan[v] = nan[v] || xsimd::isnan(x);
          block[v] = combine<Arch, T>(op, block[v], x);
        }
      }
      for (int v = 0; v < vectors; ++v) {
        alignas(64) T lanes[W];
        xsimd::select(nan[v], V(std::numeric_limits<T>::quiet_NaN()), block[v])
            .store_aligned(lanes);
        for (int64_t k = 0; k < std::min(W, width - v * W); ++k)
          acc[j0 + v * W + k] = join(op, acc[j0 + v * W + k], lanes[k]);
      }
    }
  }
}

}  // namespace ctdl::cpu::simd

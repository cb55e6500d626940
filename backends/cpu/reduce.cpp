// Reduction kernels. Floating reductions go by runs to the SIMD kernels (sums and products
// formed in short blocks of T and accumulated in double); integer and bool reductions, and
// arg_reduce, use the scalar Reducer.
//
// Results do not depend on the number of threads: one output is either computed whole by
// one thread, or (a single output over many elements) from fixed-size chunks whose partial
// results are combined in chunk order.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ctdl/backends/cpu/cpu_backend.h"
#include "ctdl/backends/cpu/loops.h"
#include "ctdl/backends/cpu/simd/arch.h"
#include "ctdl/backends/cpu/simd/kernels.h"

namespace ctdl::cpu {
namespace {

template <class T>
using Accumulator = std::conditional_t<std::is_floating_point_v<T>, double, T>;

template <class T>
struct Reducer {
  ReduceOp op;
  Accumulator<T> acc{};
  explicit Reducer(ReduceOp op) : op(op) {
    switch (op) {
      case ReduceOp::Sum:
        acc = 0;
        break;
      case ReduceOp::Prod:
        acc = 1;
        break;
      case ReduceOp::Max:
        acc = std::numeric_limits<T>::lowest();
        break;
      case ReduceOp::Min:
        acc = std::numeric_limits<T>::max();
        break;
    }
    if constexpr (std::is_floating_point_v<T>) {
      if (op == ReduceOp::Max) acc = -std::numeric_limits<double>::infinity();
      if (op == ReduceOp::Min) acc = std::numeric_limits<double>::infinity();
    }
  }
  void add(T x) {
    switch (op) {
      case ReduceOp::Sum:
        if constexpr (std::is_same_v<T, bool>)
          acc = acc || x;
        else
          acc += x;
        break;
      case ReduceOp::Prod:
        if constexpr (std::is_same_v<T, bool>)
          acc = acc && x;
        else
          acc *= x;
        break;
      case ReduceOp::Max:
        if constexpr (std::is_floating_point_v<T>) {
          if (std::isnan(x) || std::isnan(acc)) {
            acc = NAN;
            break;
          }
        }
        if (x > acc) acc = x;
        break;
      case ReduceOp::Min:
        if constexpr (std::is_floating_point_v<T>) {
          if (std::isnan(x) || std::isnan(acc)) {
            acc = NAN;
            break;
          }
        }
        if (x < acc) acc = x;
        break;
    }
  }
};

// Splits `in` into its leading (kept) and trailing (reduced) dims.
void split_dims(const KernelTensor& in, int reduced_dims, Dims& outer_shape, Dims& outer_strides,
                Dims& inner_shape, Dims& inner_strides) {
  int kept = in.shape.size() - reduced_dims;
  for (int i = 0; i < in.shape.size(); ++i) {
    (i < kept ? outer_shape : inner_shape).push_back(in.shape[i]);
    (i < kept ? outer_strides : inner_strides).push_back(in.strides[i]);
  }
}

double identity(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum:
      return 0;
    case ReduceOp::Prod:
      return 1;
    case ReduceOp::Max:
      return -std::numeric_limits<double>::infinity();
    default:
      return std::numeric_limits<double>::infinity();
  }
}

double join(ReduceOp op, double total, double part) {
  switch (op) {
    case ReduceOp::Sum:
      return total + part;
    case ReduceOp::Prod:
      return total * part;
    default:
      if (std::isnan(total) || std::isnan(part)) return std::numeric_limits<double>::quiet_NaN();
      return op == ReduceOp::Max ? std::max(total, part) : std::min(total, part);
  }
}

// The reduction of the elements [begin, end) (row-major) of the reduced block at `base`.
template <class T>
double reduce_range(ReduceOp op, const Layout<1>& block, const T* base, int64_t begin,
                    int64_t end) {
  double total = identity(op);
  walk_runs(block, begin, end, [&](const auto& o, const auto& s, int64_t n) {
    if (s[0] == 1) {
      double part = with_simd_arch(
          [&](auto arch) { return simd::reduce<decltype(arch), T>(op, base + o[0], n); });
      total = join(op, total, part);
    } else {
      for (int64_t i = 0; i < n; ++i) total = join(op, total, base[o[0] + i * s[0]]);
    }
  });
  return total;
}

// Sums over leading dims of a row-major tensor ([N, C] -> [C]): the reduced dim is strided
// and the kept one contiguous, so the SIMD kernel runs across the kept elements.
template <class T>
bool reduce_by_columns(ReduceOp op, const KernelTensor& out, const T* in, const Layout<2>& kept,
                       const Layout<1>& reduced) {
  if (reduced.shape.size() != 1 || reduced.inner_stride(0) == 1 || kept.inner_stride(0) != 1 ||
      kept.inner_stride(1) != 1 || kept.shape.back() < 4)
    return false;
  const int64_t rows = reduced.shape[0], row_stride = reduced.strides[0][0];
  constexpr int64_t kColumns = 256;  // kept elements per task
  T* po = out.ptr<T>();
  walk_runs(kept, 0, numel(kept.shape), [&](const auto& o, const auto&, int64_t cols) {
    parallel_items(chunk_count(cols, kColumns), rows * kColumns, [&](int64_t c) {
      const int64_t j0 = c * kColumns, width = std::min(kColumns, cols - j0);
      double acc[kColumns];
      std::fill_n(acc, width, identity(op));
      with_simd_arch([&](auto arch) {
        simd::reduce_columns<decltype(arch), T>(op, acc, in + o[1] + j0, rows, row_stride, width);
      });
      for (int64_t j = 0; j < width; ++j) po[o[0] + j0 + j] = static_cast<T>(acc[j]);
    });
  });
  return true;
}

template <class T>
void reduce_floating(ReduceOp op, const KernelTensor& out, const KernelTensor& in,
                     const Dims& outer_shape, const Dims& outer_strides, const Dims& inner_shape,
                     const Dims& inner_strides) {
  const T* pi = in.ptr<T>();
  T* po = out.ptr<T>();
  const int64_t outputs = numel(outer_shape), per_output = numel(inner_shape);
  if (per_output == 0) {
    for_each_run<1>(outer_shape, {&out.strides}, [&](const auto& o, const auto& s, int64_t n) {
      for (int64_t i = 0; i < n; ++i) po[o[0] + i * s[0]] = static_cast<T>(identity(op));
    });
    return;
  }
  Layout<1> block(inner_shape, {&inner_strides});
  Layout<2> kept(outer_shape, {&out.strides, &outer_strides});
  if (reduce_by_columns<T>(op, out, pi, kept, block)) return;
  if (outputs == 1) {
    // Partial results of kReductionGrain elements each, combined in order below. Long
    // sums give a task up to 16 chunks in a row, keeping at least 64 tasks: a 64 MiB sum
    // as 1024 tasks of 64 KiB paid for oneTBB's scheduling (6-9% of its time in alternating
    // runs). Which chunks a task gets changes no partial result, so no bits either.
    const int64_t chunks = chunk_count(per_output, kReductionGrain);
    const int64_t per_task = std::clamp<int64_t>(chunks / 64, 1, 16);
    std::vector<double> partial(chunks);
    parallel_chunks(chunks, per_task, [&](int64_t first, int64_t last) {
      for (int64_t c = first; c < last; ++c)
        partial[c] = reduce_range<T>(op, block, pi, c * kReductionGrain,
                                     std::min(per_output, (c + 1) * kReductionGrain));
    });
    double total = identity(op);
    for (double p : partial) total = join(op, total, p);
    *po = static_cast<T>(total);
    return;
  }
  for_each_run<2>(
      outer_shape, {&out.strides, &outer_strides},
      [&](const auto& o, const auto& s, int64_t n) {
        for (int64_t i = 0; i < n; ++i)
          po[o[0] + i * s[0]] =
              static_cast<T>(reduce_range<T>(op, block, pi + o[1] + i * s[1], 0, per_output));
      },
      std::max<int64_t>(1, kReductionGrain / per_output));
}

}  // namespace

void CpuBackend::reduce(ReduceOp op, const KernelTensor& out, const KernelTensor& in,
                        int reduced_dims) {
  Dims outer_shape, outer_strides, inner_shape, inner_strides;
  split_dims(in, reduced_dims, outer_shape, outer_strides, inner_shape, inner_strides);
  if (in.dtype == DType::Float32)
    return reduce_floating<float>(op, out, in, outer_shape, outer_strides, inner_shape,
                                  inner_strides);
  if (in.dtype == DType::Float64)
    return reduce_floating<double>(op, out, in, outer_shape, outer_strides, inner_shape,
                                   inner_strides);
  CTDL_DISPATCH_ALL(in.dtype, "reduce", [&] {
    const auto* pi = in.ptr<scalar_t>();
    auto* po = out.ptr<scalar_t>();
    strided_loop<2>(outer_shape, {&out.strides, &outer_strides}, [&](const auto& o) {
      Reducer<scalar_t> r(op);
      const scalar_t* base = pi + o[1];
      strided_loop<1>(inner_shape, {&inner_strides}, [&](const auto& i) { r.add(base[i[0]]); });
      po[o[0]] = static_cast<scalar_t>(r.acc);
    });
  });
}

void CpuBackend::arg_reduce(ArgReduceOp op, const KernelTensor& out, const KernelTensor& in) {
  Dims outer_shape, outer_strides, inner_shape, inner_strides;
  split_dims(in, 1, outer_shape, outer_strides, inner_shape, inner_strides);
  const int64_t n = inner_shape[0], stride = inner_strides[0];
  auto* po = out.ptr<int64_t>();
  CTDL_DISPATCH_ALL(in.dtype, "arg_reduce", [&] {
    const auto* pi = in.ptr<scalar_t>();
    strided_loop<2>(outer_shape, {&out.strides, &outer_strides}, [&](const auto& o) {
      const scalar_t* base = pi + o[1];
      int64_t best = 0;
      for (int64_t k = 1; k < n; ++k) {
        scalar_t v = base[k * stride], b = base[best * stride];
        if constexpr (std::is_floating_point_v<scalar_t>) {
          if (std::isnan(b)) break;  // NaN wins, as in NumPy
          if (std::isnan(v)) {
            best = k;
            break;
          }
        }
        if (op == ArgReduceOp::ArgMax ? v > b : v < b) best = k;
      }
      po[o[0]] = best;
    });
  });
}

}  // namespace ctdl::cpu

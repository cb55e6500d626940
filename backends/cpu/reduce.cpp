// Reference reduction kernels. Floating sums and products accumulate in double.
#include <cmath>
#include <limits>

#include "ctdl/backends/cpu/cpu_backend.h"
#include "ctdl/backends/cpu/loops.h"

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
      case ReduceOp::Sum: acc = 0; break;
      case ReduceOp::Prod: acc = 1; break;
      case ReduceOp::Max: acc = std::numeric_limits<T>::lowest(); break;
      case ReduceOp::Min: acc = std::numeric_limits<T>::max(); break;
    }
    if constexpr (std::is_floating_point_v<T>) {
      if (op == ReduceOp::Max) acc = -std::numeric_limits<double>::infinity();
      if (op == ReduceOp::Min) acc = std::numeric_limits<double>::infinity();
    }
  }
  void add(T x) {
    switch (op) {
      case ReduceOp::Sum:
        if constexpr (std::is_same_v<T, bool>) acc = acc || x; else acc += x;
        break;
      case ReduceOp::Prod:
        if constexpr (std::is_same_v<T, bool>) acc = acc && x; else acc *= x;
        break;
      case ReduceOp::Max:
        if constexpr (std::is_floating_point_v<T>) { if (std::isnan(x) || std::isnan(acc)) { acc = NAN; break; } }
        if (x > acc) acc = x;
        break;
      case ReduceOp::Min:
        if constexpr (std::is_floating_point_v<T>) { if (std::isnan(x) || std::isnan(acc)) { acc = NAN; break; } }
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

}  // namespace

void CpuBackend::reduce(ReduceOp op, const KernelTensor& out, const KernelTensor& in, int reduced_dims) {
  Dims outer_shape, outer_strides, inner_shape, inner_strides;
  split_dims(in, reduced_dims, outer_shape, outer_strides, inner_shape, inner_strides);
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
          if (std::isnan(v)) { best = k; break; }
        }
        if (op == ArgReduceOp::ArgMax ? v > b : v < b) best = k;
      }
      po[o[0]] = best;
    });
  });
}

}  // namespace ctdl::cpu

// The loops CPU kernels are built on: an element-by-element strided walk, and a walk by
// rows that hands contiguous or broadcast runs to the SIMD kernels, on several threads.
//
//   // out[i] = a[i] + b[i] over any shape and strides (0 strides broadcast):
//   strided_loop<3>(out.shape, {&out.strides, &a.strides, &b.strides},
//                   [&](const std::array<int64_t, 3>& o) { po[o[0]] = pa[o[1]] + pb[o[2]]; });
//
//   // the same by runs: offsets of each run's first element, the runs' strides, its length
//   for_each_run<3>(out.shape, {&out.strides, &a.strides, &b.strides},
//                   [&](const auto& o, const auto& s, int64_t n) { ... });
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "ctdl/backends/cpu/parallel.h"
#include "ctdl/tensor/shape.h"

namespace ctdl::cpu {

// Calls fn(offsets) once per element of `shape`, in row-major order, where offsets[k] is the
// element's offset in operand k (whose strides are *strides[k]).
template <int N, class F>
void strided_loop(const Dims& shape, const std::array<const Dims*, N>& strides, F&& fn) {
  if (numel(shape) == 0) return;
  std::array<int64_t, N> offset{};
  const int nd = shape.size();
  if (nd == 0) {
    fn(offset);
    return;
  }
  int64_t index[Dims::kMaxDims] = {};
  const int64_t inner = shape[nd - 1];
  std::array<int64_t, N> inner_stride;
  for (int k = 0; k < N; ++k) inner_stride[k] = (*strides[k])[nd - 1];
  while (true) {
    std::array<int64_t, N> o = offset;
    for (int64_t i = 0; i < inner; ++i) {
      fn(o);
      for (int k = 0; k < N; ++k) o[k] += inner_stride[k];
    }
    int d = nd - 2;
    for (; d >= 0; --d) {
      ++index[d];
      for (int k = 0; k < N; ++k) offset[k] += (*strides[k])[d];
      if (index[d] < shape[d]) break;
      for (int k = 0; k < N; ++k) offset[k] -= (*strides[k])[d] * shape[d];
      index[d] = 0;
    }
    if (d < 0) return;
  }
}

// Strides of a tensor with dimension `dim` removed from the walk (stride 0 there).
inline Dims without_dim(const Dims& strides, int dim) {
  Dims s = strides;
  s[dim] = 0;
  return s;
}

// Strides that make an operand's offset equal the position along `dim`.
inline Dims position_along(int ndim, int dim) {
  Dims s = Dims::filled(ndim, 0);
  s[dim] = 1;
  return s;
}

// A shape with its operands' strides, simplified for walking: size-1 dims dropped and
// neighbouring dims merged where every operand lays them out as one (a contiguous tensor
// becomes one long run). Never empty: a single element is shape {1}.
template <int N>
struct Layout {
  Dims shape;
  std::array<Dims, N> strides;

  Layout(const Dims& full_shape, const std::array<const Dims*, N>& full_strides) {
    for (int d = 0; d < full_shape.size(); ++d) {
      int64_t size = full_shape[d];
      if (size == 1) continue;
      bool merge = !shape.empty();
      for (int k = 0; k < N && merge; ++k)
        merge = strides[k].back() == (*full_strides[k])[d] * size;
      if (merge) {
        shape[shape.size() - 1] *= size;
        for (int k = 0; k < N; ++k) strides[k][strides[k].size() - 1] = (*full_strides[k])[d];
      } else {
        shape.push_back(size);
        for (int k = 0; k < N; ++k) strides[k].push_back((*full_strides[k])[d]);
      }
    }
    if (shape.empty()) {
      shape.push_back(1);
      for (int k = 0; k < N; ++k) strides[k].push_back(0);
    }
  }
  int64_t inner_stride(int k) const { return strides[k].back(); }
};

// Calls run(offsets, inner_strides, length) for the runs along the last dim of `layout`
// that cover the row-major flat range [begin, end).
template <int N, class F>
void walk_runs(const Layout<N>& layout, int64_t begin, int64_t end, F&& run) {
  const Dims& shape = layout.shape;
  const int nd = shape.size();
  int64_t index[Dims::kMaxDims] = {};
  std::array<int64_t, N> offset{}, inner;
  for (int64_t rest = begin, d = nd - 1; d >= 0; --d) {
    index[d] = rest % shape[d];
    rest /= shape[d];
    for (int k = 0; k < N; ++k) offset[k] += index[d] * layout.strides[k][d];
  }
  for (int k = 0; k < N; ++k) inner[k] = layout.inner_stride(k);
  for (int64_t pos = begin; pos < end;) {
    const int64_t length = std::min(shape[nd - 1] - index[nd - 1], end - pos);
    run(offset, inner, length);
    pos += length;
    index[nd - 1] += length;
    for (int k = 0; k < N; ++k) offset[k] += length * inner[k];
    for (int d = nd - 1; d > 0 && index[d] == shape[d]; --d) {
      index[d] = 0;
      ++index[d - 1];
      for (int k = 0; k < N; ++k)
        offset[k] += layout.strides[k][d - 1] - shape[d] * layout.strides[k][d];
    }
  }
}

// Walks every element of `shape` by runs, splitting large tensors over threads in chunks of
// `grain` elements (fewer when each element stands for more work, as an output of a
// reduction does).
template <int N, class F>
void for_each_run(const Dims& shape, const std::array<const Dims*, N>& strides, F&& run,
                  int64_t grain = kElementwiseGrain) {
  const int64_t n = numel(shape);
  if (n == 0) return;
  Layout<N> layout(shape, strides);
  parallel_chunks(n, grain,
                  [&](int64_t begin, int64_t end) { walk_runs(layout, begin, end, run); });
}

}  // namespace ctdl::cpu

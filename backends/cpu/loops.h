// The strided loop every reference CPU kernel is built on.
//
//   // out[i] = a[i] + b[i] over any shape and strides (0 strides broadcast):
//   strided_loop<3>(out.shape, {&out.strides, &a.strides, &b.strides},
//                   [&](const std::array<int64_t, 3>& o) { po[o[0]] = pa[o[1]] + pb[o[2]]; });
#pragma once

#include <array>
#include <cstdint>

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

}  // namespace ctdl::cpu

// Kernel-side helpers shared by the backend's .cu files: strided indexing, launch sizes,
// grid-stride loops.
//
//   Indexer in = Indexer::of(kin);            // host: a KernelTensor as a kernel argument
//   ... in a kernel: scalar_t v = static_cast<const scalar_t*>(in.data)[in.offset(i)];
#pragma once

#include <algorithm>
#include <cstdint>

#include "ctdl/backends/backend.h"
#include "ctdl/backends/cuda/runtime.h"

namespace ctdl::cuda {

inline constexpr int kMaxDims = Dims::kMaxDims;
inline constexpr int kBlockSize = 256;

// A strided view passed by value to kernels: the element offset of linear index i (in
// row-major order over `sizes`). Dims of size 1 are dropped and neighbours that are
// contiguous with each other merged, so most views need one or two divisions.
struct Indexer {
  void* data = nullptr;
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[kMaxDims] = {};

  __host__ __device__ int64_t offset(int64_t linear) const {
    if (ndim <= 1) return ndim == 0 ? 0 : linear * strides[0];  // no division
    int64_t off = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      int64_t size = sizes[d];
      int64_t q = linear / size;
      off += (linear - q * size) * strides[d];
      linear = q;
    }
    return off;
  }

  static Indexer of(const KernelTensor& t) {
    Indexer ix;
    ix.data = t.data;
    for (int d = 0; d < static_cast<int>(t.shape.size()); ++d) {
      if (t.shape[d] == 1) continue;
      if (ix.ndim > 0 && ix.strides[ix.ndim - 1] == t.strides[d] * t.shape[d]) {
        ix.sizes[ix.ndim - 1] *= t.shape[d];
        ix.strides[ix.ndim - 1] = t.strides[d];
      } else {
        ix.sizes[ix.ndim] = t.shape[d];
        ix.strides[ix.ndim] = t.strides[d];
        ++ix.ndim;
      }
    }
    return ix;
  }
};

// Blocks for a grid-stride loop over n elements: enough to fill the device, no more.
inline unsigned grid_for(int64_t n, int block = kBlockSize) {
  int64_t blocks = (n + block - 1) / block;
  return static_cast<unsigned>(std::clamp<int64_t>(blocks, 1, 65535LL * 32));
}

// for (i = first index of this thread; i < n; i += all threads)
#define CTDL_GRID_STRIDE_LOOP(i, n)                                                   \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)

}  // namespace ctdl::cuda

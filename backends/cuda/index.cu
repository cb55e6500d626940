// Index kernels: index_select, index_add, gather, scatter_add, one thread per element of
// the tensor that is walked (out for the selections, src or index for the additions).
//
// Each walk is a strided view over one shape; the operand indexed by `index` is walked
// with the stride of the indexed dim set to 0, and the indexed position times that stride
// is added. The additions accumulate with atomics where indices repeat, so float sums
// over repeated indices may round differently from run to run (the CPU adds in order).
#include <type_traits>

#include "ctdl/backends/cuda/common.cuh"
#include "ctdl/backends/cuda/cuda_backend.h"

namespace ctdl::cuda {
namespace {

// Indexer::offset with the common one-dim case (contiguous or a single stride) divided out.
__device__ __forceinline__ int64_t offset_of(const Indexer& ix, int64_t i) {
  if (ix.ndim == 1) return i * ix.strides[0];
  if (ix.ndim == 0) return 0;
  return ix.offset(i);
}

// *target += value from many threads at once. Bool addition is `or` (the CPU's `+=` on a
// bool), which needs no atomic: every writer stores the same true.
template <class T>
__device__ __forceinline__ void atomic_accumulate(T* target, T value) {
  if constexpr (std::is_same_v<T, bool>) {
    if (value) *target = true;
  } else if constexpr (std::is_same_v<T, int64_t>) {
    // Two's complement: unsigned addition wraps to the same bits as signed.
    atomicAdd(reinterpret_cast<unsigned long long*>(target),
              static_cast<unsigned long long>(value));
  } else {
    atomicAdd(target, value);  // float, and double (sm_60 and later)
  }
}

// `t` walked over `shape` (which may be smaller than t's own) with dim `dim` left out.
Indexer walk(const KernelTensor& t, const Dims& shape, int dim) {
  KernelTensor view = t;
  view.shape = shape;
  if (dim >= 0) view.strides[dim] = 0;
  return Indexer::of(view);
}

Indexer walk(const KernelTensor& t, const Dims& shape) { return walk(t, shape, -1); }

// The elements after `dim` in `shape`: position along dim of linear index i is
// (i / inner) % shape[dim].
int64_t inner_count(const Dims& shape, int dim) {
  int64_t count = 1;
  for (int d = dim + 1; d < static_cast<int>(shape.size()); ++d) count *= shape[d];
  return count;
}

// The common arguments of index_select and index_add: `walked` has the shape of the walk,
// `indexed` is walked with its indexed dim left out; position p along the dim is
// (i / inner) % extent and reads index[p * index_stride].
struct IndexAlongDim {
  Indexer walked, indexed;
  const int64_t* index;
  int64_t index_stride, step, inner, extent, count;
};

template <class T>
__global__ void __launch_bounds__(kBlockSize) index_select_kernel(IndexAlongDim w) {
  T* out = static_cast<T*>(w.walked.data);
  const T* in = static_cast<const T*>(w.indexed.data);
  CTDL_GRID_STRIDE_LOOP(i, w.count) {
    const int64_t p = (i / w.inner) % w.extent;
    out[offset_of(w.walked, i)] =
        in[offset_of(w.indexed, i) + w.index[p * w.index_stride] * w.step];
  }
}

template <class T>
__global__ void __launch_bounds__(kBlockSize) index_add_kernel(IndexAlongDim w) {
  const T* src = static_cast<const T*>(w.walked.data);
  T* out = static_cast<T*>(w.indexed.data);
  CTDL_GRID_STRIDE_LOOP(i, w.count) {
    const int64_t p = (i / w.inner) % w.extent;
    atomic_accumulate(out + offset_of(w.indexed, i) + w.index[p * w.index_stride] * w.step,
                      src[offset_of(w.walked, i)]);
  }
}

// gather and scatter_add: `index` has the walk's shape and says the position along the dim
// in `indexed` for each element; `plain` is the other operand, read or written as it is.
struct IndexPerElement {
  Indexer plain, indexed, index;
  int64_t step, count;
};

template <class T>
__global__ void __launch_bounds__(kBlockSize) gather_kernel(IndexPerElement w) {
  T* out = static_cast<T*>(w.plain.data);
  const T* in = static_cast<const T*>(w.indexed.data);
  const int64_t* index = static_cast<const int64_t*>(w.index.data);
  CTDL_GRID_STRIDE_LOOP(i, w.count) {
    out[offset_of(w.plain, i)] =
        in[offset_of(w.indexed, i) + index[offset_of(w.index, i)] * w.step];
  }
}

template <class T>
__global__ void __launch_bounds__(kBlockSize) scatter_add_kernel(IndexPerElement w) {
  const T* src = static_cast<const T*>(w.plain.data);
  T* out = static_cast<T*>(w.indexed.data);
  const int64_t* index = static_cast<const int64_t*>(w.index.data);
  CTDL_GRID_STRIDE_LOOP(i, w.count) {
    atomic_accumulate(out + offset_of(w.indexed, i) + index[offset_of(w.index, i)] * w.step,
                      src[offset_of(w.plain, i)]);
  }
}

// The walk over `walked` (out of index_select, src of index_add) with `indexed` reached
// through the 1-D index along `dim`.
IndexAlongDim along_dim(const KernelTensor& walked, const KernelTensor& indexed, int dim,
                        const KernelTensor& index) {
  IndexAlongDim w;
  w.walked = walk(walked, walked.shape);
  w.indexed = walk(indexed, walked.shape, dim);
  w.index = index.ptr<const int64_t>();
  w.index_stride = index.strides[0];
  w.step = indexed.strides[dim];
  w.inner = inner_count(walked.shape, dim);
  w.extent = walked.shape[dim];
  w.count = walked.numel();
  return w;
}

// The walk over index's shape, with `indexed` reached through `index` along `dim`.
IndexPerElement per_element(const KernelTensor& plain, const KernelTensor& indexed, int dim,
                            const KernelTensor& index) {
  IndexPerElement w;
  w.plain = walk(plain, index.shape);
  w.indexed = walk(indexed, index.shape, dim);
  w.index = walk(index, index.shape);
  w.step = indexed.strides[dim];
  w.count = index.numel();
  return w;
}

}  // namespace

void CudaBackend::index_select(const KernelTensor& out, const KernelTensor& in, int dim,
                               const KernelTensor& index) {
  DeviceGuard guard(device_);
  if (out.numel() == 0) return;
  const IndexAlongDim w = along_dim(out, in, dim, index);
  cudaStream_t stream = current_stream(device_);
  CTDL_DISPATCH_ALL(out.dtype, "index_select", [&] {
    index_select_kernel<scalar_t><<<grid_for(w.count), kBlockSize, 0, stream>>>(w);
    CTDL_CUDA_CHECK_LAUNCH();
  });
}

void CudaBackend::index_add(const KernelTensor& out, int dim, const KernelTensor& index,
                            const KernelTensor& src) {
  DeviceGuard guard(device_);
  if (src.numel() == 0) return;
  const IndexAlongDim w = along_dim(src, out, dim, index);
  cudaStream_t stream = current_stream(device_);
  CTDL_DISPATCH_ALL(out.dtype, "index_add", [&] {
    index_add_kernel<scalar_t><<<grid_for(w.count), kBlockSize, 0, stream>>>(w);
    CTDL_CUDA_CHECK_LAUNCH();
  });
}

void CudaBackend::gather(const KernelTensor& out, const KernelTensor& in, int dim,
                         const KernelTensor& index) {
  DeviceGuard guard(device_);
  if (out.numel() == 0) return;
  const IndexPerElement w = per_element(out, in, dim, index);
  cudaStream_t stream = current_stream(device_);
  CTDL_DISPATCH_ALL(out.dtype, "gather", [&] {
    gather_kernel<scalar_t><<<grid_for(w.count), kBlockSize, 0, stream>>>(w);
    CTDL_CUDA_CHECK_LAUNCH();
  });
}

void CudaBackend::scatter_add(const KernelTensor& out, int dim, const KernelTensor& index,
                              const KernelTensor& src) {
  DeviceGuard guard(device_);
  if (index.numel() == 0) return;
  const IndexPerElement w = per_element(src, out, dim, index);
  cudaStream_t stream = current_stream(device_);
  CTDL_DISPATCH_ALL(out.dtype, "scatter_add", [&] {
    scatter_add_kernel<scalar_t><<<grid_for(w.count), kBlockSize, 0, stream>>>(w);
    CTDL_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace ctdl::cuda

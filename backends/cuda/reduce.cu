// Reductions: sum, prod, max and min over the trailing dims, argmax and argmin along the
// last dim.
//
// The input is a list of rows (the kept dims) of per_row elements each (the reduced dims).
// Each row is cut into `chunks` pieces, and a unit of work is one piece of one row, reduced
// by a warp, a block or a single thread, whichever suits the layout:
//   * a row whose elements are adjacent in memory goes to a warp (many rows) or to blocks
//     (few rows: then cut into chunks, so that a 16M-element sum still fills the device);
//   * rows that are adjacent to each other while their elements are not ([N, C] summed
//     over N), and very short rows, go one per thread, so that a warp reads 32 neighbouring
//     rows' elements in one transaction.
// A row cut into several chunks leaves one partial result per chunk in a temporary, and a
// second kernel reduces those. Each thread combines a fixed set of elements in a fixed order,
// partial results meet in a fixed tree, and how rows are cut depends on the shapes alone, so
// the same input gives the same bits on every run: no atomics. float32 sums and products
// accumulate in double element by element (the CPU sums short float32 blocks first, so the
// two agree to float32 rounding, not bit for bit), and a NaN anywhere makes max and min NaN.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "ctdl/backends/cuda/common.cuh"
#include "ctdl/backends/cuda/cuda_backend.h"

namespace ctdl::cuda {
namespace {

inline constexpr int kWarp = 32;
inline constexpr int kWarpsPerBlock = kBlockSize / kWarp;
// Rows this short (or shorter) go one per thread.
inline constexpr int64_t kShortRow = 16;
// With at least this many rows a row is never cut: the rows alone fill the device.
inline constexpr int64_t kManyRows = 4096;
// Rows longer than this get a block each rather than a warp.
inline constexpr int64_t kWarpRow = 1024;
// Elements per block-sized chunk of a long row when there are few rows.
inline constexpr int64_t kBlockChunk = 8192;
// The one-thread-per-row kernel cuts rows until about this many threads have work, but
// leaves each at least kThreadSpan elements.
inline constexpr int64_t kTargetThreads = 1 << 17;
inline constexpr int64_t kThreadSpan = 32;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// float32 accumulates in double, as on the CPU; the others in their own type.
template <class T>
struct AccumulatorOf {
  using type = T;
};
template <>
struct AccumulatorOf<float> {
  using type = double;
};
template <class T>
using Accumulator = typename AccumulatorOf<T>::type;

// Indexer::offset with the common one-dim case (contiguous or a single stride) divided out.
__device__ __forceinline__ int64_t offset_of(const Indexer& ix, int64_t i) {
  if (ix.ndim == 1) return i * ix.strides[0];
  if (ix.ndim == 0) return 0;
  return ix.offset(i);
}

template <class T>
__device__ __forceinline__ bool is_nan(T x) {
  if constexpr (std::is_floating_point_v<T>)
    return x != x;
  else
    return false;
}

// Sum and prod of bool are any and all, like the CPU's `acc += x` on a bool; max and min
// of bool are the same two.
template <class T>
__device__ __forceinline__ T combine(ReduceOp op, T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    return op == ReduceOp::Sum || op == ReduceOp::Max ? (a || b) : (a && b);
  } else {
    switch (op) {
      case ReduceOp::Sum:
        return a + b;
      case ReduceOp::Prod:
        return a * b;
      case ReduceOp::Max:
        if (is_nan(a)) return a;
        if (is_nan(b)) return b;
        return b > a ? b : a;
      case ReduceOp::Min:
        if (is_nan(a)) return a;
        if (is_nan(b)) return b;
        return b < a ? b : a;
    }
    return a;
  }
}

// The value a reduction of nothing gives (computed on the host, where numeric_limits is).
template <class T>
T identity(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum:
      return T(0);
    case ReduceOp::Prod:
      return T(1);
    case ReduceOp::Max:
      if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
      return std::numeric_limits<T>::lowest();
    case ReduceOp::Min:
      if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::infinity();
      return std::numeric_limits<T>::max();
  }
  return T(0);
}

template <class T>
__device__ __forceinline__ T shuffle_down(T v, int delta) {
  if constexpr (std::is_same_v<T, bool>)
    return __shfl_down_sync(0xffffffffu, static_cast<int>(v), delta) != 0;
  else
    return __shfl_down_sync(0xffffffffu, v, delta);
}

// Lane 0 gets the reduction of the warp's 32 values, always in the same tree.
template <class Acc>
__device__ __forceinline__ Acc warp_reduce(ReduceOp op, Acc acc) {
  for (int delta = kWarp / 2; delta > 0; delta /= 2)
    acc = combine(op, acc, shuffle_down(acc, delta));
  return acc;
}

// Thread 0 gets the reduction of the block's values. Every thread of the block must call it.
template <class Acc>
__device__ Acc block_reduce(ReduceOp op, Acc acc, Acc empty) {
  __shared__ Acc warp_results[kWarpsPerBlock];
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  acc = warp_reduce(op, acc);
  if (lane == 0) warp_results[warp] = acc;
  __syncthreads();
  if (warp == 0) acc = warp_reduce(op, lane < kWarpsPerBlock ? warp_results[lane] : empty);
  __syncthreads();  // warp_results is reused by the caller's next unit
  return acc;
}

// Rows and how they are cut into units. Unit u of the row kernel is chunk u % chunks of row
// u / chunks; its result goes to element u of `out` (the output, or the partial results).
struct Work {
  Indexer rows;   // where each row starts; data is the input
  Indexer block;  // where each element of a row lies relative to its start
  int64_t row_count = 0, per_row = 0;
  int64_t chunks = 1, chunk_size = 0;
  bool block_per_unit = false;  // else a warp per unit
};

template <class In, class Acc, class Out>
__global__ void __launch_bounds__(kBlockSize)
    reduce_rows_kernel(ReduceOp op, Work work, Acc empty, Indexer out) {
  const int group = work.block_per_unit ? kBlockSize : kWarp;
  const int groups_per_block = kBlockSize / group;
  const int lane = threadIdx.x % group;
  const int64_t units = work.row_count * work.chunks;
  const In* in = static_cast<const In*>(work.rows.data);
  Out* po = static_cast<Out*>(out.data);
  // Every thread of a group sees the same u, so the whole group (block) loops together.
  for (int64_t u = static_cast<int64_t>(blockIdx.x) * groups_per_block + threadIdx.x / group;
       u < units; u += static_cast<int64_t>(gridDim.x) * groups_per_block) {
    const int64_t row = u / work.chunks, begin = (u % work.chunks) * work.chunk_size;
    const int64_t end = min(work.per_row, begin + work.chunk_size);
    const In* base = in + offset_of(work.rows, row);
    Acc acc = empty;
#pragma unroll 4
    for (int64_t k = begin + lane; k < end; k += group)
      acc = combine(op, acc, static_cast<Acc>(base[offset_of(work.block, k)]));
    acc = work.block_per_unit ? block_reduce(op, acc, empty) : warp_reduce(op, acc);
    if (lane == 0) po[offset_of(out, u)] = static_cast<Out>(acc);
  }
}

// One thread per unit; consecutive threads take consecutive rows (of the same chunk), so
// their loads fall side by side when rows are adjacent. The result of chunk c of row r goes
// to element r * chunks + c of `out`.
template <class In, class Acc, class Out>
__global__ void __launch_bounds__(kBlockSize)
    reduce_by_thread_kernel(ReduceOp op, Work work, Acc empty, Indexer out) {
  const In* in = static_cast<const In*>(work.rows.data);
  Out* po = static_cast<Out*>(out.data);
  CTDL_GRID_STRIDE_LOOP(u, work.row_count * work.chunks) {
    const int64_t row = u % work.row_count, chunk = u / work.row_count;
    const int64_t begin = chunk * work.chunk_size;
    const int64_t end = min(work.per_row, begin + work.chunk_size);
    const In* base = in + offset_of(work.rows, row);
    Acc acc = empty;
#pragma unroll 4
    for (int64_t k = begin; k < end; ++k)
      acc = combine(op, acc, static_cast<Acc>(base[offset_of(work.block, k)]));
    po[offset_of(out, row * work.chunks + chunk)] = static_cast<Out>(acc);
  }
}

template <class In, class Acc, class Out>
void launch_reduce(ReduceOp op, const Work& work, bool by_thread, const Indexer& out,
                   cudaStream_t stream) {
  const int64_t units = work.row_count * work.chunks;
  const Acc empty = identity<Acc>(op);
  if (by_thread) {
    reduce_by_thread_kernel<In, Acc, Out>
        <<<grid_for(units), kBlockSize, 0, stream>>>(op, work, empty, out);
  } else {
    const int64_t group = work.block_per_unit ? kBlockSize : kWarp;
    reduce_rows_kernel<In, Acc, Out>
        <<<grid_for(units * group), kBlockSize, 0, stream>>>(op, work, empty, out);
  }
  CTDL_CUDA_CHECK_LAUNCH();
}

// Cuts rows of `per` elements into chunks of at least `min_size`, `chunks` of them at most.
void cut_rows(Work& work, int64_t chunks, int64_t min_size) {
  chunks = std::clamp<int64_t>(chunks, 1, std::max<int64_t>(1, ceil_div(work.per_row, min_size)));
  work.chunk_size = std::max<int64_t>(1, ceil_div(work.per_row, chunks));
  work.chunks = std::max<int64_t>(1, ceil_div(work.per_row, work.chunk_size));
}

Indexer contiguous_indexer(void* data, int64_t n) {
  KernelTensor t;
  t.data = data;
  t.shape = {n};
  t.strides = {1};
  return Indexer::of(t);
}

Indexer view_indexer(void* data, const Dims& shape, const Dims& strides) {
  KernelTensor t;
  t.data = data;
  t.shape = shape;
  t.strides = strides;
  return Indexer::of(t);
}

template <class T>
void reduce_typed(CudaBackend& backend, ReduceOp op, const KernelTensor& out,
                  const KernelTensor& in, int reduced_dims) {
  using Acc = Accumulator<T>;
  cudaStream_t stream = current_stream(backend.device());
  const int kept = static_cast<int>(in.shape.size()) - reduced_dims;
  Dims outer_shape, outer_strides, inner_shape, inner_strides;
  for (int d = 0; d < static_cast<int>(in.shape.size()); ++d) {
    (d < kept ? outer_shape : inner_shape).push_back(in.shape[d]);
    (d < kept ? outer_strides : inner_strides).push_back(in.strides[d]);
  }
  Work work;
  work.rows = view_indexer(in.data, outer_shape, outer_strides);
  work.block = view_indexer(nullptr, inner_shape, inner_strides);
  work.row_count = numel(outer_shape);
  work.per_row = numel(inner_shape);
  const Indexer final_out = view_indexer(out.data, out.shape, out.strides);

  const bool rows_adjacent = work.rows.ndim > 0 && work.rows.strides[work.rows.ndim - 1] == 1;
  const bool elements_apart = work.block.ndim > 0 && work.block.strides[work.block.ndim - 1] != 1;
  const bool by_thread = work.per_row <= kShortRow || (rows_adjacent && elements_apart);
  if (by_thread) {
    cut_rows(work, work.per_row <= kShortRow ? 1 : kTargetThreads / work.row_count, kThreadSpan);
  } else if (work.row_count >= kManyRows) {
    cut_rows(work, 1, 1);
    work.block_per_unit = work.per_row > kWarpRow;
  } else {
    cut_rows(work, ceil_div(work.per_row, kBlockChunk), kBlockChunk);
    work.block_per_unit = true;
  }
  if (work.chunks == 1) return launch_reduce<T, Acc, T>(op, work, by_thread, final_out, stream);

  // Two passes: partial results [row][chunk], then one reduction per row over its chunks.
  const int64_t partial_count = work.row_count * work.chunks;
  const size_t bytes = static_cast<size_t>(partial_count) * sizeof(Acc);
  void* partials = backend.allocate(bytes);
  launch_reduce<T, Acc, Acc>(op, work, by_thread, contiguous_indexer(partials, partial_count),
                             stream);
  Work finish;
  finish.rows = view_indexer(partials, {work.row_count}, {work.chunks});
  finish.block = contiguous_indexer(nullptr, work.chunks);
  finish.row_count = work.row_count;
  finish.per_row = work.chunks;
  cut_rows(finish, 1, 1);
  finish.block_per_unit = work.chunks > kWarpRow / 4;
  launch_reduce<Acc, Acc, T>(op, finish, false, final_out, stream);
  // The memory cache is stream-ordered: the block is not handed out again before the
  // kernels queued above have run.
  backend.deallocate(partials, bytes);
}

// ---- argmax / argmin ----

// A candidate for the extreme: its value and index; index < 0 means none yet.
template <class T>
struct Candidate {
  T value;
  int64_t index;
};

// Whether `a` beats `b`: a NaN beats any number (as in NumPy), and of equal values (or two
// NaNs) the lower index wins, so the answer is the CPU's first extreme whatever the order
// in which candidates meet.
template <class T>
__device__ __forceinline__ bool beats(ArgReduceOp op, const Candidate<T>& a,
                                      const Candidate<T>& b) {
  if (b.index < 0) return true;
  if (a.index < 0) return false;
  const bool a_nan = is_nan(a.value), b_nan = is_nan(b.value);
  if (a_nan || b_nan) return a_nan && b_nan ? a.index < b.index : a_nan;
  if (a.value == b.value) return a.index < b.index;
  return op == ArgReduceOp::ArgMax ? a.value > b.value : a.value < b.value;
}

template <class T>
__device__ __forceinline__ Candidate<T> better(ArgReduceOp op, const Candidate<T>& a,
                                               const Candidate<T>& b) {
  return beats(op, a, b) ? a : b;
}

template <class T>
__device__ __forceinline__ Candidate<T> warp_best(ArgReduceOp op, Candidate<T> c) {
  for (int delta = kWarp / 2; delta > 0; delta /= 2) {
    Candidate<T> other{shuffle_down(c.value, delta), shuffle_down(c.index, delta)};
    c = better(op, c, other);
  }
  return c;
}

// Thread 0 gets the block's best candidate. Every thread of the block must call it.
template <class T>
__device__ Candidate<T> block_best(ArgReduceOp op, Candidate<T> c) {
  __shared__ T values[kWarpsPerBlock];
  __shared__ int64_t indices[kWarpsPerBlock];
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  c = warp_best(op, c);
  if (lane == 0) values[warp] = c.value, indices[warp] = c.index;
  __syncthreads();
  if (warp == 0) {
    Candidate<T> mine{values[0], -1};
    if (lane < kWarpsPerBlock) mine = {values[lane], indices[lane]};
    c = warp_best(op, mine);
  }
  __syncthreads();
  return c;
}

// Units as in reduce_rows_kernel over rows of `in` with elements `stride` apart. With one
// chunk per row the winner's index goes to `out`; otherwise unit u's candidate goes to
// element u of the partial arrays.
template <class T>
__global__ void __launch_bounds__(kBlockSize)
    arg_reduce_kernel(ArgReduceOp op, Work work, int64_t stride, Indexer out, T* partial_values,
                      int64_t* partial_indices) {
  const int group = work.block_per_unit ? kBlockSize : kWarp;
  const int groups_per_block = kBlockSize / group;
  const int lane = threadIdx.x % group;
  const int64_t units = work.row_count * work.chunks;
  const T* in = static_cast<const T*>(work.rows.data);
  for (int64_t u = static_cast<int64_t>(blockIdx.x) * groups_per_block + threadIdx.x / group;
       u < units; u += static_cast<int64_t>(gridDim.x) * groups_per_block) {
    const int64_t row = u / work.chunks, begin = (u % work.chunks) * work.chunk_size;
    const int64_t end = min(work.per_row, begin + work.chunk_size);
    const T* base = in + offset_of(work.rows, row);
    Candidate<T> best{T(), -1};
    for (int64_t k = begin + lane; k < end; k += group)
      best = better(op, best, Candidate<T>{base[k * stride], k});
    best = work.block_per_unit ? block_best(op, best) : warp_best(op, best);
    if (lane != 0) continue;
    if (work.chunks == 1) {
      // An empty row (which the caller rules out) answers 0, as on the CPU.
      static_cast<int64_t*>(out.data)[offset_of(out, row)] = max(best.index, int64_t{0});
    } else {
      partial_values[u] = best.value;
      partial_indices[u] = best.index;
    }
  }
}

// One block per row over its `chunks` partial candidates.
template <class T>
__global__ void __launch_bounds__(kBlockSize)
    arg_finish_kernel(ArgReduceOp op, const T* values, const int64_t* indices, int64_t rows,
                      int64_t chunks, Indexer out) {
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    Candidate<T> best{T(), -1};
    for (int64_t k = threadIdx.x; k < chunks; k += kBlockSize)
      best = better(op, best, Candidate<T>{values[row * chunks + k], indices[row * chunks + k]});
    best = block_best(op, best);
    if (threadIdx.x == 0) static_cast<int64_t*>(out.data)[offset_of(out, row)] = best.index;
  }
}

template <class T>
void arg_reduce_typed(CudaBackend& backend, ArgReduceOp op, const KernelTensor& out,
                      const KernelTensor& in) {
  cudaStream_t stream = current_stream(backend.device());
  const int nd = static_cast<int>(in.shape.size());
  Dims outer_shape(in.shape.begin(), in.shape.end() - 1);
  Dims outer_strides(in.strides.begin(), in.strides.end() - 1);
  Work work;
  work.rows = view_indexer(in.data, outer_shape, outer_strides);
  work.row_count = numel(outer_shape);
  work.per_row = in.shape[nd - 1];
  const int64_t stride = in.strides[nd - 1];
  const Indexer final_out = view_indexer(out.data, out.shape, out.strides);
  if (work.row_count >= kManyRows) {
    cut_rows(work, 1, 1);
    work.block_per_unit = work.per_row > kWarpRow;
  } else {
    cut_rows(work, ceil_div(work.per_row, kBlockChunk), kBlockChunk);
    work.block_per_unit = true;
  }
  const int64_t units = work.row_count * work.chunks;
  const unsigned blocks = grid_for(units * (work.block_per_unit ? kBlockSize : kWarp));
  if (work.chunks == 1) {
    arg_reduce_kernel<T>
        <<<blocks, kBlockSize, 0, stream>>>(op, work, stride, final_out, nullptr, nullptr);
    CTDL_CUDA_CHECK_LAUNCH();
    return;
  }
  const size_t value_bytes = units * sizeof(T), index_bytes = units * sizeof(int64_t);
  T* values = static_cast<T*>(backend.allocate(value_bytes));
  int64_t* indices = static_cast<int64_t*>(backend.allocate(index_bytes));
  arg_reduce_kernel<T>
      <<<blocks, kBlockSize, 0, stream>>>(op, work, stride, final_out, values, indices);
  CTDL_CUDA_CHECK_LAUNCH();
  arg_finish_kernel<T><<<grid_for(work.row_count, 1), kBlockSize, 0, stream>>>(
      op, values, indices, work.row_count, work.chunks, final_out);
  CTDL_CUDA_CHECK_LAUNCH();
  backend.deallocate(values, value_bytes);  // stream-ordered, as in reduce_typed
  backend.deallocate(indices, index_bytes);
}

}  // namespace

void CudaBackend::reduce(ReduceOp op, const KernelTensor& out, const KernelTensor& in,
                         int reduced_dims) {
  DeviceGuard guard(device_);
  if (out.numel() == 0) return;
  CTDL_DISPATCH_ALL(in.dtype, "reduce",
                    [&] { reduce_typed<scalar_t>(*this, op, out, in, reduced_dims); });
}

void CudaBackend::arg_reduce(ArgReduceOp op, const KernelTensor& out, const KernelTensor& in) {
  DeviceGuard guard(device_);
  if (out.numel() == 0) return;
  CTDL_DISPATCH_ALL(in.dtype, "arg_reduce",
                    [&] { arg_reduce_typed<scalar_t>(*this, op, out, in); });
}

}  // namespace ctdl::cuda

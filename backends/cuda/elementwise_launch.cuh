// The elementwise kernels' launch machinery, shared by elementwise.cu and
// linear_combination.cu: 16-byte packs, the dense and strided kernel templates, and
// launch_elementwise, which picks between them (elementwise.cu's header comment says how).
#pragma once

#include <cstdint>
#include <type_traits>

#include "ctdl/backends/cuda/common.cuh"

namespace ctdl::cuda {
namespace {

// ---- Operands and the two kernels ----

// N elements read or written by one 16-byte instruction.
template <class T, int N>
struct alignas(sizeof(T) * N) Pack {
  T v[N];
};

// Elements per 16-byte access, set by the widest operand (float in, bool out: 4).
template <class... T>
constexpr int pack_width() {
  return 16 / static_cast<int>(std::max({sizeof(T)...}));
}

// An input of the dense kernel: element i of the output reads data[i % period], where period
// 0 means contiguous (data[i]), 1 one value broadcast, and more a row repeated along out.
template <class T>
struct Repeating {
  const T* data;
  int64_t period;
};

// i % m for i >= 0 and m > 0, in 32 bits when both fit: 64-bit division is emulated in
// dozens of instructions.
__device__ __forceinline__ int64_t wrap(int64_t i, int64_t m) {
  if (((i | m) >> 32) == 0) return static_cast<uint32_t>(i) % static_cast<uint32_t>(m);
  return i % m;
}

template <class T>
__device__ __forceinline__ T load_one(const Repeating<T>& in, int64_t i) {
  if (in.period == 0) return in.data[i];
  if (in.period == 1) return in.data[0];
  return in.data[wrap(i, in.period)];
}

// Elements [p·N, p·N + N). A row's length is a multiple of N (the host checks), so the pack
// never straddles the row's end.
template <int N, class T>
__device__ __forceinline__ Pack<T, N> load_pack(const Repeating<T>& in, int64_t p) {
  const auto* packs = reinterpret_cast<const Pack<T, N>*>(in.data);
  if (in.period == 0) return packs[p];
  if (in.period == 1) {
    Pack<T, N> splat;
#pragma unroll
    for (int k = 0; k < N; ++k) splat.v[k] = in.data[0];
    return splat;
  }
  return packs[wrap(p, in.period / N)];
}

template <class Op, class Out, int N, class... In>
__device__ __forceinline__ void apply_pack(const Op& op, Pack<Out, N>& out,
                                           const Pack<In, N>&... in) {
#pragma unroll
  for (int k = 0; k < N; ++k) out.v[k] = op(in.v[k]...);
}

template <int N, class Op, class Out, class... In>
__global__ void elementwise_dense(Op op, int64_t n, bool vectorized, Out* out,
                                  Repeating<In>... in) {
  int64_t done = 0;
  if (vectorized) {
    const int64_t packs = n / N;
    auto* out_packs = reinterpret_cast<Pack<Out, N>*>(out);
    CTDL_GRID_STRIDE_LOOP(p, packs) {
      Pack<Out, N> result;
      apply_pack(op, result, load_pack<N>(in, p)...);
      out_packs[p] = result;
    }
    done = packs * N;
  }
  CTDL_GRID_STRIDE_LOOP(t, n - done) {
    const int64_t i = done + t;
    out[i] = op(load_one(in, i)...);
  }
}

// Indexer::offset with 32-bit divisions when the tensor has fewer than 2^32 elements (then
// every size and index fits), none for a one-dim view, and none for the outermost dim.
__device__ __forceinline__ int64_t offset_of(const Indexer& ix, int64_t i, bool narrow) {
  if (ix.ndim == 1) return i * ix.strides[0];
  if (!narrow) return ix.offset(i);
  uint32_t rest = static_cast<uint32_t>(i);
  int64_t offset = 0;
  // Constant indices after unrolling: the Indexer's arrays stay in parameter memory.
#pragma unroll
  for (int d = kMaxDims - 1; d >= 0; --d) {
    if (d >= ix.ndim) continue;
    if (d == 0) {
      offset += static_cast<int64_t>(rest) * ix.strides[0];
      break;
    }
    const uint32_t size = static_cast<uint32_t>(ix.sizes[d]), q = rest / size;
    offset += static_cast<int64_t>(rest - q * size) * ix.strides[d];
    rest = q;
  }
  return offset;
}

// An Indexer that remembers its element type, so that kernels can take a pack of them.
template <class T>
struct Strided {
  Indexer ix;
};

template <class Op, class Out, class... In>
__global__ void elementwise_strided(Op op, int64_t n, Indexer out, Strided<In>... in) {
  const bool narrow = (n >> 32) == 0;
  CTDL_GRID_STRIDE_LOOP(i, n) {
    static_cast<Out*>(out.data)[offset_of(out, i, narrow)] =
        op(static_cast<const In*>(in.ix.data)[offset_of(in.ix, i, narrow)]...);
  }
}

bool aligned(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

// The period (see Repeating) of t read along the flat index of its shape, or -1 when t is
// laid out some other way (transposed, sliced, broadcast along an inner dim).
int64_t period_of(const KernelTensor& t) {
  const Indexer ix = Indexer::of(t);
  if (ix.ndim == 0) return 1;
  if (ix.ndim == 1 && ix.strides[0] == 1) return 0;
  if (ix.ndim == 1 && ix.strides[0] == 0) return 1;
  if (ix.ndim == 2 && ix.strides[0] == 0 && ix.strides[1] == 1) return ix.sizes[1];
  return -1;
}

// Contiguous once size-1 dims, whose strides do not matter, are ignored: a row vector
// transposed into a column ([n, 1], strides [1, n]) is, though is_contiguous() says no.
bool contiguous(const KernelTensor& t) { return t.numel() == 1 || period_of(t) == 0; }

template <int N, class T>
bool vectorizable(const KernelTensor& t) {
  const int64_t period = period_of(t);
  return period == 1 || (period >= 0 && period % N == 0 && aligned(t.data, sizeof(T) * N));
}

// out = op(in...) over out's shape, where Out and In are the operands' C++ types:
// launch_elementwise<float, float, float>(device, Add{}, out, a, b).
template <class Out, class... In, class Op, class... Tensors>
void launch_elementwise(int device, const Op& op, const KernelTensor& out,
                        const Tensors&... in) {
  static_assert(sizeof...(In) == sizeof...(Tensors), "one C++ type per input");
  const int64_t n = out.numel();
  if (n == 0) return;
  cudaStream_t stream = current_stream(device);
  if (contiguous(out) && ((period_of(in) >= 0) && ...)) {
    constexpr int N = pack_width<Out, In...>();
    const bool vectorized =
        aligned(out.data, sizeof(Out) * N) && (vectorizable<N, In>(in) && ...);
    const int64_t work = vectorized ? (n + N - 1) / N : n;
    elementwise_dense<N, Op, Out, In...><<<grid_for(work), kBlockSize, 0, stream>>>(
        op, n, vectorized, out.ptr<Out>(),
        Repeating<In>{in.template ptr<const In>(), period_of(in)}...);
  } else {
    elementwise_strided<Op, Out, In...><<<grid_for(n), kBlockSize, 0, stream>>>(
        op, n, Indexer::of(out), Strided<In>{Indexer::of(in)}...);
  }
  CTDL_CUDA_CHECK_LAUNCH();
}

}  // namespace
}  // namespace ctdl::cuda

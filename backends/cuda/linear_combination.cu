// linear_combination: out = sum_k coeffs[k] * terms[k], for axpby and the Runge–Kutta stage
// sums. The number of terms is known only at run time, so it has kernels of its own (the
// same dense and strided layouts as elementwise.cu's, through elementwise_launch.cuh).
#include "ctdl/backends/cuda/cuda_backend.h"
#include "ctdl/backends/cuda/elementwise_launch.cuh"

namespace ctdl::cuda {
namespace {

// ---- linear_combination: a runtime number of terms, so kernels of its own ----

template <class T>
struct DenseTerms {
  Repeating<T> term[kMaxCombinationTerms];
  T coeff[kMaxCombinationTerms];
  int count;
};

template <class T>
struct StridedTerms {
  Indexer term[kMaxCombinationTerms];
  T coeff[kMaxCombinationTerms];
  int count;
};

// The sum is the CPU's SIMD kernel's for contiguous terms: acc = fma(coeff_k, term_k, acc)
// from acc = 0, in T (the CPU's scalar path for strided terms rounds each product: 1 ulp).
// The loops over k run to the constant bound so that the arrays are indexed by constants
// (registers and parameter memory, not a local copy).
template <int N, class T>
__global__ void combine_dense(DenseTerms<T> terms, int64_t n, bool vectorized, T* out) {
  int64_t done = 0;
  if (vectorized) {
    const int64_t packs = n / N;
    CTDL_GRID_STRIDE_LOOP(p, packs) {
      Pack<T, N> acc;
#pragma unroll
      for (int j = 0; j < N; ++j) acc.v[j] = T(0);
#pragma unroll
      for (int k = 0; k < kMaxCombinationTerms; ++k) {
        if (k >= terms.count) break;
        const Pack<T, N> x = load_pack<N>(terms.term[k], p);
#pragma unroll
        for (int j = 0; j < N; ++j) acc.v[j] = fma(terms.coeff[k], x.v[j], acc.v[j]);
      }
      reinterpret_cast<Pack<T, N>*>(out)[p] = acc;
    }
    done = packs * N;
  }
  CTDL_GRID_STRIDE_LOOP(t, n - done) {
    const int64_t i = done + t;
    T acc = 0;
#pragma unroll
    for (int k = 0; k < kMaxCombinationTerms; ++k) {
      if (k >= terms.count) break;
      acc = fma(terms.coeff[k], load_one(terms.term[k], i), acc);
    }
    out[i] = acc;
  }
}

template <class T>
__global__ void combine_strided(StridedTerms<T> terms, int64_t n, Indexer out) {
  const bool narrow = (n >> 32) == 0;
  CTDL_GRID_STRIDE_LOOP(i, n) {
    T acc = 0;
#pragma unroll
    for (int k = 0; k < kMaxCombinationTerms; ++k) {
      if (k >= terms.count) break;
      const Indexer& ix = terms.term[k];
      acc = fma(terms.coeff[k], static_cast<const T*>(ix.data)[offset_of(ix, i, narrow)], acc);
    }
    static_cast<T*>(out.data)[offset_of(out, i, narrow)] = acc;
  }
}

template <class T>
void launch_combination(int device, const KernelTensor& out, const KernelTensor* terms,
                        const double* coeffs, int count) {
  constexpr int N = pack_width<T>();
  const int64_t n = out.numel();
  cudaStream_t stream = current_stream(device);
  bool dense = contiguous(out), vectorized = aligned(out.data, sizeof(T) * N);
  for (int k = 0; k < count; ++k) {
    dense = dense && period_of(terms[k]) >= 0;
    vectorized = vectorized && vectorizable<N, T>(terms[k]);
  }
  if (dense) {
    DenseTerms<T> dense_terms{};
    dense_terms.count = count;
    for (int k = 0; k < count; ++k) {
      dense_terms.term[k] = {terms[k].ptr<const T>(), period_of(terms[k])};
      dense_terms.coeff[k] = static_cast<T>(coeffs[k]);
    }
    const int64_t work = vectorized ? (n + N - 1) / N : n;
    combine_dense<N, T><<<grid_for(work), kBlockSize, 0, stream>>>(dense_terms, n, vectorized,
                                                                    out.ptr<T>());
  } else {
    StridedTerms<T> strided_terms{};
    strided_terms.count = count;
    for (int k = 0; k < count; ++k) {
      strided_terms.term[k] = Indexer::of(terms[k]);
      strided_terms.coeff[k] = static_cast<T>(coeffs[k]);
    }
    combine_strided<T><<<grid_for(n), kBlockSize, 0, stream>>>(strided_terms, n,
                                                               Indexer::of(out));
  }
  CTDL_CUDA_CHECK_LAUNCH();
}

}  // namespace

void CudaBackend::linear_combination(const KernelTensor& out, const KernelTensor* terms,
                                     const double* coeffs, int count) {
  DeviceGuard guard(device_);
  CTDL_CHECK(count >= 1 && count <= kMaxCombinationTerms, "linear_combination: ", count,
             " terms (the kernel takes 1 to ", kMaxCombinationTerms, ")");
  if (out.numel() == 0) return;
  CTDL_DISPATCH_FLOATING(out.dtype, "linear_combination", [&] {
    launch_combination<scalar_t>(device_, out, terms, coeffs, count);
  });
}

}  // namespace ctdl::cuda

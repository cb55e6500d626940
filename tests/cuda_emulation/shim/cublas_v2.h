// A stand-in for <cublas_v2.h> (tests/cuda_emulation/README.md): the strided-batched GEMMs
// backends/cuda/matmul.cu calls, as plain column-major loops, with cuBLAS's own argument
// checks (a call cuBLAS refuses is refused here, with its status).
#pragma once

#include <cstdint>

#include "cuda_runtime.h"

typedef struct cublasContext* cublasHandle_t;

enum cublasStatus_t {
  CUBLAS_STATUS_SUCCESS = 0,
  CUBLAS_STATUS_NOT_INITIALIZED = 1,
  CUBLAS_STATUS_INVALID_VALUE = 7,
};
enum cublasOperation_t { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1, CUBLAS_OP_C = 2 };

inline const char* cublasGetStatusName(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
  }
  return "CUBLAS_STATUS_UNKNOWN";
}
inline const char* cublasGetStatusString(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
    case CUBLAS_STATUS_INVALID_VALUE: return "an unsupported value or parameter was passed";
  }
  return "unknown status";
}

namespace ctdl_emu {

// C_b = alpha·op(A_b)·op(B_b) + beta·C_b for each batch b; C is m×n, op(A) m×k, op(B) k×n,
// all column-major. With beta = 0, C is not read (it may hold anything, NaN included).
template <class T>
cublasStatus_t gemm_strided_batched(cublasHandle_t handle, cublasOperation_t transa,
                                    cublasOperation_t transb, int64_t m, int64_t n, int64_t k,
                                    const T* alpha, const T* A, int64_t lda, long long stride_a,
                                    const T* B, int64_t ldb, long long stride_b, const T* beta,
                                    T* C, int64_t ldc, long long stride_c, int64_t batch) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  const bool ta = transa != CUBLAS_OP_N, tb = transb != CUBLAS_OP_N;
  auto at_least_one = [](int64_t v) { return v < 1 ? int64_t{1} : v; };
  // cuBLAS's checks: sizes not negative, each leading dimension at least its stored rows.
  if (m < 0 || n < 0 || k < 0 || batch < 0 || lda < at_least_one(ta ? k : m) ||
      ldb < at_least_one(tb ? n : k) || ldc < at_least_one(m))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (m == 0 || n == 0 || batch == 0) return CUBLAS_STATUS_SUCCESS;
  // Whole matrices as cuBLAS reads them must be device memory.
  auto extent = [](int64_t rows, int64_t cols, int64_t ld) { return (cols - 1) * ld + rows; };
  for (int64_t b = 0; b < batch; ++b) {
    const T* a = A + b * stride_a;
    const T* bb = B + b * stride_b;
    T* c = C + b * stride_c;
    if (k > 0 && (!is_device_range(a, sizeof(T) * extent(ta ? k : m, ta ? m : k, lda)) ||
                  !is_device_range(bb, sizeof(T) * extent(tb ? n : k, tb ? k : n, ldb))))
      return CUBLAS_STATUS_INVALID_VALUE;
    if (!is_device_range(c, sizeof(T) * extent(m, n, ldc))) return CUBLAS_STATUS_INVALID_VALUE;
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t i = 0; i < m; ++i) {
        T acc = 0;
        for (int64_t p = 0; p < k; ++p) {
          const T x = ta ? a[p + i * lda] : a[i + p * lda];
          const T y = tb ? bb[j + p * ldb] : bb[p + j * ldb];
          acc += x * y;
        }
        T& out = c[i + j * ldc];
        out = *beta == T(0) ? *alpha * acc : *alpha * acc + *beta * out;
      }
    }
  }
  return CUBLAS_STATUS_SUCCESS;
}

}  // namespace ctdl_emu

inline cublasStatus_t cublasSgemmStridedBatched_64(
    cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int64_t m, int64_t n,
    int64_t k, const float* alpha, const float* A, int64_t lda, long long strideA, const float* B,
    int64_t ldb, long long strideB, const float* beta, float* C, int64_t ldc, long long strideC,
    int64_t batchCount) {
  return ctdl_emu::gemm_strided_batched(handle, transa, transb, m, n, k, alpha, A, lda, strideA, B,
                                        ldb, strideB, beta, C, ldc, strideC, batchCount);
}

inline cublasStatus_t cublasDgemmStridedBatched_64(
    cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int64_t m, int64_t n,
    int64_t k, const double* alpha, const double* A, int64_t lda, long long strideA,
    const double* B, int64_t ldb, long long strideB, const double* beta, double* C, int64_t ldc,
    long long strideC, int64_t batchCount) {
  return ctdl_emu::gemm_strided_batched(handle, transa, transb, m, n, k, alpha, A, lda, strideA, B,
                                        ldb, strideB, beta, C, ldc, strideC, batchCount);
}

// ctdl's own matrix product for the CPU backend, in the style of BLIS/GotoBLAS: no BLAS.
//
//   // C = A · B with A m x k, B k x n, C m x n, all row-major:
//   gemm::gemm<float>(m, n, k, {a, k, 1}, {b, n, 1}, {c, n, 1});
//   // A transposed (A is stored k x m): only its strides change, nothing is copied.
//   gemm::gemm<float>(m, n, k, {a, 1, m}, {b, n, 1}, {c, n, 1});
//
// Large products pack A into MR-row panels and B into NR-column panels (reading any
// strides) and run a register-blocked micro-kernel on the active SIMD level (blocking.h,
// kernels.h). Small or narrow ones (one of m, n, k tiny) skip packing (small_impl.h).
//
// Threads split C into tiles; the sum over k is never split and always runs in the same
// order, so results are bit-identical for any thread count.
#pragma once

#include <cstdint>

namespace ctdl::cpu::gemm {

// A strided matrix: element (i, j) is data[i * rs + j * cs]. Strides may be 0 (broadcast)
// or anything else that is not negative.
template <class T>
struct MatrixRef {
  T* data;
  int64_t rs;
  int64_t cs;
};

// C = A · B (C is written, never read). T is float or double.
template <class T>
void gemm(int64_t m, int64_t n, int64_t k, MatrixRef<const T> a, MatrixRef<const T> b,
          MatrixRef<T> c);

// `count` products of one shape: product i reads a.data + offsets[3 * i] and
// b.data + offsets[3 * i + 1] and writes c.data + offsets[3 * i + 2]. Small products run
// side by side on the threads, large ones one after the other, each on all threads.
template <class T>
void gemm_batched(int64_t count, const int64_t* offsets, int64_t m, int64_t n, int64_t k,
                  MatrixRef<const T> a, MatrixRef<const T> b, MatrixRef<T> c);

// The ways a product can be computed: packed blocks and the micro-kernel, or one of the
// small kernels vectorized along n (Rows), m (Cols) or k (Dots).
enum class Path { Packed, Rows, Cols, Dots };

// The path gemm takes for this product on the active SIMD level; it depends on the shape
// and strides only, never on the thread count. For tests and benchmarks.
template <class T>
Path planned_path(int64_t m, int64_t n, int64_t k, MatrixRef<const T> a, MatrixRef<const T> b,
                  MatrixRef<T> c);

// gemm along the given path, whatever planned_path says: tests run every shape through
// every path this way.
template <class T>
void gemm_along(Path path, int64_t m, int64_t n, int64_t k, MatrixRef<const T> a,
                MatrixRef<const T> b, MatrixRef<T> c);

}  // namespace ctdl::cpu::gemm

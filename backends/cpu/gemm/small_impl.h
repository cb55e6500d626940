// Kernels for products too small or too narrow to pay for packing: the neural ODE's
// [512,2]·[2,64] and [512,64]·[64,2], and the transposed products of their backward pass.
// Included only by the per-instruction-set files (kernels_*.cpp).
#pragma once

#include <cstdint>

#include "ctdl/backends/cpu/gemm/kernels.h"
#include "ctdl/backends/cpu/simd/haddp_lanes.h"

namespace ctdl::cpu::gemm {

// Writes an R x (NV vectors) block of results to C, which has `cols` columns left from here
// (more or fewer than the block). With a unit column stride and whole vectors the stores go
// straight to C, else through a buffer.
template <class Arch, class T, int R, int NV>
inline void store_block(const xsimd::batch<T, Arch> (&acc)[R][NV], int64_t cols, T* c, int64_t c_rs,
                        int64_t c_cs) {
  using V = xsimd::batch<T, Arch>;
  constexpr int W = V::size;
  if (c_cs == 1 && cols >= NV * W) {
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int j = 0; j < NV; ++j) acc[r][j].store_unaligned(c + r * c_rs + j * W);
    return;
  }
  alignas(64) T row[NV * W];
  const int64_t count = cols < NV * W ? cols : NV * W;
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 16
    for (int j = 0; j < NV; ++j) acc[r][j].store_aligned(row + j * W);
    for (int64_t j = 0; j < count; ++j) c[r * c_rs + j * c_cs] = row[j];
  }
}

// R rows of C, NV vectors wide: the sum over p runs in registers, in order, from zero.
template <class Arch, class T, int R, int NV>
inline void rows_block(int64_t k, const T* a, int64_t a_rs, int64_t a_cs, const T* b, int64_t ldb,
                       int64_t cols, T* c, int64_t c_rs, int64_t c_cs) {
  using V = xsimd::batch<T, Arch>;
  constexpr int W = V::size;
  V acc[R][NV];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int j = 0; j < NV; ++j) acc[r][j] = V(T(0));
  for (int64_t p = 0; p < k; ++p) {
    V bv[NV];
#pragma GCC unroll 16
    for (int j = 0; j < NV; ++j) bv[j] = V::load_unaligned(b + p * ldb + j * W);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      V ar(a[r * a_rs + p * a_cs]);
#pragma GCC unroll 16
      for (int j = 0; j < NV; ++j) acc[r][j] = xsimd::fma(ar, bv[j], acc[r][j]);
    }
  }
  store_block<Arch, T, R, NV>(acc, cols, c, c_rs, c_cs);
}

// Rows per block for a strip of NV vectors: as many as the registers hold (R x NV
// accumulators, NV vectors of B, one broadcast of A), so that each vector of B, loaded
// from L2 for the longer strips, serves as many multiply-adds as possible. With 32 vector
// registers: 6 x 4, 8 x 3, 12 x 2, 16 x 1; with 16: 6 x 2, 8 x 1.
template <class Arch, int NV>
inline constexpr int kRowsPerBlock = kVectorBytes<Arch> == 64 ? (NV == 4   ? 6
                                                                 : NV == 3 ? 8
                                                                 : NV == 2 ? 12
                                                                           : 16)
                                                              : (NV >= 2 ? 6 : 8);

// The rows [0, m) of one strip: blocks of kRowsPerBlock rows, then the rest by 4, 2 and 1
// (fewer than 4 are left after the 4s).
template <class Arch, class T, int NV>
inline void rows_strip(int64_t m, int64_t k, const T* a, int64_t a_rs, int64_t a_cs, const T* b,
                       int64_t ldb, int64_t cols, T* c, int64_t c_rs, int64_t c_cs) {
  constexpr int R = kRowsPerBlock<Arch, NV>;
  int64_t i = 0;
  for (; i + R <= m; i += R)
    rows_block<Arch, T, R, NV>(k, a + i * a_rs, a_rs, a_cs, b, ldb, cols, c + i * c_rs, c_rs, c_cs);
  for (; i + 4 <= m; i += 4)
    rows_block<Arch, T, 4, NV>(k, a + i * a_rs, a_rs, a_cs, b, ldb, cols, c + i * c_rs, c_rs, c_cs);
  if (i + 2 <= m) {
    rows_block<Arch, T, 2, NV>(k, a + i * a_rs, a_rs, a_cs, b, ldb, cols, c + i * c_rs, c_rs, c_cs);
    i += 2;
  }
  if (i < m)
    rows_block<Arch, T, 1, NV>(k, a + i * a_rs, a_rs, a_cs, b, ldb, cols, c + i * c_rs, c_rs, c_cs);
}

template <class Arch, class T>
void small_rows(int64_t m, int64_t n, int64_t k, const T* a, int64_t a_rs, int64_t a_cs, const T* b,
                int64_t ldb, T* c, int64_t c_rs, int64_t c_cs) {
  constexpr int W = xsimd::batch<T, Arch>::size;
  constexpr int max_nv = kVectorBytes<Arch> == 64 ? 4 : 2;
  // Strips of nearly equal width (13 vectors: 4, 3, 3, 3, not 4, 4, 4, 1), so that none is
  // left with too few accumulators.
  const int64_t vectors = (n + W - 1) / W;
  const int64_t strips = (vectors + max_nv - 1) / max_nv;
  for (int64_t s = 0, v0 = 0; s < strips; ++s) {
    const int nv = static_cast<int>(vectors / strips + (s < vectors % strips ? 1 : 0));
    const int64_t j0 = v0 * W, cols = n - j0;
    v0 += nv;
    const T* bj = b + j0;
    T* cj = c + j0 * c_cs;
    switch (nv) {
      case 4:
        if constexpr (max_nv >= 4)
          rows_strip<Arch, T, 4>(m, k, a, a_rs, a_cs, bj, ldb, cols, cj, c_rs, c_cs);
        break;
      case 3:
        if constexpr (max_nv >= 3)
          rows_strip<Arch, T, 3>(m, k, a, a_rs, a_cs, bj, ldb, cols, cj, c_rs, c_cs);
        break;
      case 2:
        rows_strip<Arch, T, 2>(m, k, a, a_rs, a_cs, bj, ldb, cols, cj, c_rs, c_cs);
        break;
      default:
        rows_strip<Arch, T, 1>(m, k, a, a_rs, a_cs, bj, ldb, cols, cj, c_rs, c_cs);
    }
  }
}

// The dot products of W / C rows of A with C columns of B (W = lanes per vector): W vector
// partial sums, folded into one vector by xsimd::haddp (lane r * C + j holds element
// (r, j)), then the remaining k % W terms in order.
template <class Arch, class T, int C>
inline void dots_block(int64_t k, const T* a, int64_t lda, const T* bt, int64_t ldbt, T* c,
                       int64_t c_rs, int64_t c_cs) {
  using V = xsimd::batch<T, Arch>;
  constexpr int W = V::size, R = W / C;
  V acc[W];
#pragma GCC unroll 16
  for (int l = 0; l < W; ++l) acc[l] = V(T(0));
  const int64_t kv = k / W * W;
  for (int64_t p = 0; p < kv; p += W) {
    V bv[C];
#pragma GCC unroll 16
    for (int j = 0; j < C; ++j) bv[j] = V::load_unaligned(bt + j * ldbt + p);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      V av = V::load_unaligned(a + r * lda + p);
#pragma GCC unroll 16
      for (int j = 0; j < C; ++j) acc[r * C + j] = xsimd::fma(av, bv[j], acc[r * C + j]);
    }
  }
  alignas(64) T sums[W];
  xsimd::haddp(acc).store_aligned(sums);
  const int* lane = simd::HaddpLanes<Arch, T>::get().of;
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < C; ++j) {
      T s = sums[lane[r * C + j]];
      for (int64_t p = kv; p < k; ++p) s += a[r * lda + p] * bt[j * ldbt + p];
      c[r * c_rs + j * c_cs] = s;
    }
}

// One row of A against C columns, for the rows left over after the full blocks; its
// partial sums go through haddp too, next to zeros.
template <class Arch, class T, int C>
inline void dots_row(int64_t k, const T* a, const T* bt, int64_t ldbt, T* c, int64_t c_cs) {
  using V = xsimd::batch<T, Arch>;
  constexpr int W = V::size;
  V acc[W];
#pragma GCC unroll 16
  for (int l = 0; l < W; ++l) acc[l] = V(T(0));
  const int64_t kv = k / W * W;
  for (int64_t p = 0; p < kv; p += W) {
    V av = V::load_unaligned(a + p);
#pragma GCC unroll 16
    for (int j = 0; j < C; ++j)
      acc[j] = xsimd::fma(av, V::load_unaligned(bt + j * ldbt + p), acc[j]);
  }
  alignas(64) T sums[W];
  xsimd::haddp(acc).store_aligned(sums);
  const int* lane = simd::HaddpLanes<Arch, T>::get().of;
  for (int j = 0; j < C; ++j) {
    T s = sums[lane[j]];
    for (int64_t p = kv; p < k; ++p) s += a[p] * bt[j * ldbt + p];
    c[j * c_cs] = s;
  }
}

template <class Arch, class T, int C>
inline void dots_columns(int64_t m, int64_t k, const T* a, int64_t lda, const T* bt, int64_t ldbt,
                         T* c, int64_t c_rs, int64_t c_cs) {
  constexpr int R = xsimd::batch<T, Arch>::size / C;
  int64_t i = 0;
  for (; i + R <= m; i += R)
    dots_block<Arch, T, C>(k, a + i * lda, lda, bt, ldbt, c + i * c_rs, c_rs, c_cs);
  for (; i < m; ++i) dots_row<Arch, T, C>(k, a + i * lda, bt, ldbt, c + i * c_rs, c_cs);
}

template <class Arch, class T>
void small_dots(int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* bt, int64_t ldbt,
                T* c, int64_t c_rs, int64_t c_cs) {
  int64_t j = 0;
  for (; j + 2 <= n; j += 2)
    dots_columns<Arch, T, 2>(m, k, a, lda, bt + j * ldbt, ldbt, c + j * c_cs, c_rs, c_cs);
  if (j < n) dots_columns<Arch, T, 1>(m, k, a, lda, bt + j * ldbt, ldbt, c + j * c_cs, c_rs, c_cs);
}

}  // namespace ctdl::cpu::gemm

// The packed GEMM's kernels: packing, the register-blocked micro-kernel, the macro-kernel.
// Included only by the per-instruction-set files (kernels_*.cpp); everything here is a
// template on the xsimd architecture, so no wide instruction reaches shared code.
#pragma once

#include <cstdint>

#include "ctdl/backends/cpu/gemm/kernels.h"

namespace ctdl::cpu::gemm {

// The MR x (NV vectors) tile: acc = sum_p a[p] ⊗ b[p] in registers, then written to c (row
// stride ldc, unit column stride), added to what c holds when `add`.
template <class Arch, class T, int MR, int NV>
inline void micro_tile(int64_t kc, const T* __restrict a, const T* __restrict b, T* __restrict c,
                       int64_t ldc, bool add) {
  using V = xsimd::batch<T, Arch>;
  constexpr int W = V::size;
  V acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[i][j] = V(T(0));
  for (int64_t p = 0; p < kc; ++p) {
    V bv[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bv[j] = V::load_aligned(b + j * W);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      V ai(a[i]);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[i][j] = xsimd::fma(ai, bv[j], acc[i][j]);
    }
    a += MR;
    b += NV * W;
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      T* cp = c + i * ldc + j * W;
      V r = acc[i][j];
      if (add) r += V::load_unaligned(cp);
      r.store_unaligned(cp);
    }
}

// A tile cut by the edge of C (or a C with non-unit column stride): the full tile goes to a
// buffer, the valid part to C, with the same additions as micro_tile.
template <class Arch, class T, int MR, int NV>
inline void edge_tile(int64_t kc, const T* a, const T* b, int64_t rows, int64_t cols, T* c,
                      int64_t c_rs, int64_t c_cs, bool add) {
  constexpr int NR = NV * xsimd::batch<T, Arch>::size;
  alignas(64) T tile[MR * NR];
  micro_tile<Arch, T, MR, NV>(kc, a, b, tile, NR, false);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      T& x = c[i * c_rs + j * c_cs];
      x = add ? x + tile[i * NR + j] : tile[i * NR + j];
    }
}

// The loops around the micro-kernel: each MR-row sliver of A (in L1) meets every NR-column
// panel of B in turn.
template <class Arch, class T, int MR, int NV>
inline void macro_kernel_tiles(int64_t mc, int64_t nc, int64_t kc, const T* packed_a,
                               const T* packed_b, T* c, int64_t c_rs, int64_t c_cs, bool add) {
  constexpr int NR = NV * xsimd::batch<T, Arch>::size;
  for (int64_t ir = 0; ir < mc; ir += MR) {
    const int64_t rows = mc - ir < MR ? mc - ir : MR;
    const T* ap = packed_a + ir * kc;
    for (int64_t jr = 0; jr < nc; jr += NR) {
      const int64_t cols = nc - jr < NR ? nc - jr : NR;
      const T* bp = packed_b + jr * kc;
      T* ct = c + ir * c_rs + jr * c_cs;
      if (rows == MR && cols == NR && c_cs == 1)
        micro_tile<Arch, T, MR, NV>(kc, ap, bp, ct, c_rs, add);
      else
        edge_tile<Arch, T, MR, NV>(kc, ap, bp, rows, cols, ct, c_rs, c_cs, add);
    }
  }
}

template <class Arch, class T, int MR>
inline void pack_a_panels(int64_t mc, int64_t kc, const T* a, int64_t rs, int64_t cs, T* out) {
  for (int64_t r0 = 0; r0 < mc; r0 += MR, out += MR * kc) {
    const int64_t rows = mc - r0 < MR ? mc - r0 : MR;
    const T* src = a + r0 * rs;
    if (rows == MR && rs == 1) {
      for (int64_t p = 0; p < kc; ++p)
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i) out[p * MR + i] = src[p * cs + i];
    } else if (rows == MR && cs == 1) {
      // Row-major A: a transpose, read along the rows a few columns at a time.
      constexpr int64_t step = 8;
      int64_t p0 = 0;
      for (; p0 + step <= kc; p0 += step)
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
          for (int64_t p = 0; p < step; ++p) out[(p0 + p) * MR + i] = src[i * rs + p0 + p];
      for (; p0 < kc; ++p0)
        for (int i = 0; i < MR; ++i) out[p0 * MR + i] = src[i * rs + p0];
    } else {
      for (int64_t p = 0; p < kc; ++p)
        for (int64_t i = 0; i < MR; ++i) out[p * MR + i] = i < rows ? src[i * rs + p * cs] : T(0);
    }
  }
}

template <class Arch, class T, int NR>
inline void pack_b_panels(int64_t kc, int64_t nc, const T* b, int64_t rs, int64_t cs, T* out) {
  for (int64_t q0 = 0; q0 < nc; q0 += NR, out += NR * kc) {
    const int64_t cols = nc - q0 < NR ? nc - q0 : NR;
    const T* src = b + q0 * cs;
    if (cols == NR && cs == 1) {
      for (int64_t p = 0; p < kc; ++p)
#pragma GCC unroll 64
        for (int j = 0; j < NR; ++j) out[p * NR + j] = src[p * rs + j];
    } else if (cols == NR && rs == 1) {
      constexpr int64_t step = 8;
      int64_t p0 = 0;
      for (; p0 + step <= kc; p0 += step)
        for (int j = 0; j < NR; ++j)
#pragma GCC unroll 8
          for (int64_t p = 0; p < step; ++p) out[(p0 + p) * NR + j] = src[j * cs + p0 + p];
      for (; p0 < kc; ++p0)
        for (int j = 0; j < NR; ++j) out[p0 * NR + j] = src[j * cs + p0];
    } else {
      for (int64_t p = 0; p < kc; ++p)
        for (int64_t j = 0; j < NR; ++j) out[p * NR + j] = j < cols ? src[p * rs + j * cs] : T(0);
    }
  }
}

template <class Arch, class T>
void pack_a(int64_t mc, int64_t kc, const T* a, int64_t rs, int64_t cs, T* out) {
  pack_a_panels<Arch, T, Blocking<Arch, T>::mr>(mc, kc, a, rs, cs, out);
}

template <class Arch, class T>
void pack_b(int64_t kc, int64_t nc, const T* b, int64_t rs, int64_t cs, T* out) {
  pack_b_panels<Arch, T, Blocking<Arch, T>::nr>(kc, nc, b, rs, cs, out);
}

template <class Arch, class T>
void macro_kernel(int64_t mc, int64_t nc, int64_t kc, const T* packed_a, const T* packed_b, T* c,
                  int64_t c_rs, int64_t c_cs, bool add) {
  using B = Blocking<Arch, T>;
  static_assert(B::nr == B::nv * xsimd::batch<T, Arch>::size);
  macro_kernel_tiles<Arch, T, B::mr, B::nv>(mc, nc, kc, packed_a, packed_b, c, c_rs, c_cs, add);
}

}  // namespace ctdl::cpu::gemm

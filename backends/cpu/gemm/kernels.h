// The GEMM's kernels on raw pointers, one instantiation per instruction set. The driver
// (gemm.cpp) cuts a product into blocks, packs them and calls these; the threads, buffers
// and choices of path live there, so these files stay free of oneTBB and containers.
//
//   // C[0:mc, 0:nc] (+)= A-block · B-block, both already packed:
//   gemm::pack_a<Arch, float>(mc, kc, a, a_rs, a_cs, packed_a);
//   gemm::pack_b<Arch, float>(kc, nc, b, b_rs, b_cs, packed_b);
//   gemm::macro_kernel<Arch, float>(mc, nc, kc, packed_a, packed_b, c, c_rs, c_cs, add);
//
// Element (i, j) of a matrix operand is at data[i * rs + j * cs]; strides may be anything,
// including 0. Defined in kernels_impl.h and small_impl.h, instantiated in
// kernels_sse2.cpp, kernels_avx2.cpp and kernels_avx512.cpp (see simd/arch.h for why).
#pragma once

#include <cstdint>

#include "ctdl/backends/cpu/gemm/blocking.h"

namespace ctdl::cpu::gemm {

// Packs an mc x kc block of A into panels of MR rows: panel r holds, for each p < kc, the MR
// values A[r * MR + i, p]; rows past mc are zeros. Needs round_up(mc, MR) * kc elements.
template <class Arch, class T>
void pack_a(int64_t mc, int64_t kc, const T* a, int64_t rs, int64_t cs, T* out);

// Packs a kc x nc block of B into panels of NR columns: panel q holds, for each p < kc, the
// NR values B[p, q * NR + j]; columns past nc are zeros. Needs kc * round_up(nc, NR) elements.
template <class Arch, class T>
void pack_b(int64_t kc, int64_t nc, const T* b, int64_t rs, int64_t cs, T* out);

// C[0:mc, 0:nc] = A·B, or C += A·B when `add`, from packed blocks of depth kc. Every element
// is the register sum over p in order, then added to C: the same arithmetic for full and
// partial tiles.
template <class Arch, class T>
void macro_kernel(int64_t mc, int64_t nc, int64_t kc, const T* packed_a, const T* packed_b, T* c,
                  int64_t c_rs, int64_t c_cs, bool add);

// Small products without packing A, vectorized along n: C[i, :] = sum_p A[i, p] * B[p, :].
// B's rows are contiguous (stride ldb) and readable up to round_up(n, width) (zeros past n).
template <class Arch, class T>
void small_rows(int64_t m, int64_t n, int64_t k, const T* a, int64_t a_rs, int64_t a_cs, const T* b,
                int64_t ldb, T* c, int64_t c_rs, int64_t c_cs);

// Small products vectorized along k, for narrow outputs: C[i, j] = dot(A[i, :], Bt[j, :]).
// A's rows (stride lda) and Bt's rows (B's columns, stride ldbt) are contiguous.
template <class Arch, class T>
void small_dots(int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* bt, int64_t ldbt,
                T* c, int64_t c_rs, int64_t c_cs);

}  // namespace ctdl::cpu::gemm

// The GEMM's tile and block sizes per instruction set and type, in one place so the driver
// (gemm.cpp, compiled for baseline x86-64) and the kernels (compiled per instruction set)
// agree on them without the driver touching a vector type.
//
//   using B = gemm::Blocking<Avx512Arch, float>;  // B::mr = 14, B::nr = 32, B::kc = 256
//
// The micro-kernel keeps an MR x NR tile of C in registers (NR = NV vectors) and, per step
// along k, loads NV vectors of packed B and broadcasts MR values of packed A. Chosen for
// Zen 4 (32 KiB L1d and 1 MiB L2 per core, 32 MiB L3 shared) by timing:
//
// - Micro-kernel: Zen 4 runs one 512-bit FMA per cycle, so any tile with enough independent
//   accumulators is compute-bound. On one core, float32, 14x2, 12x2, 8x3, 6x4 and 6x2
//   vectors all reached 95-104 GFLOP/s of a ~110 peak. AVX-512 has 32 registers: 14 x 2
//   uses 28 accumulators, 2 for B, 1 for the broadcast; NR = 2 vectors keeps the padding of
//   narrow products' edge tiles small. AVX2 and SSE2 have 16 registers: 6 x 2 vectors (12
//   accumulators), the classic Haswell shape.
// - KC = 256 (depth of a packed block): the MR x KC sliver of A (14 KiB in float32) stays in
//   L1 while it meets the B panels of a tile; long enough that loading and storing the C
//   tile once per block costs ~1%.
// - A tile of C (one task) is about MC rows by kTilePanels panels of B: its KC x 16 NR slice
//   of packed B (512 KiB with AVX-512) stays in L2 while every MR-row sliver of A streams
//   past it; MC = 24 (or 40) slivers amortize the trip of each B panel from L2.
// - NC = 4096 columns of B are packed at once (KC x NC = 4 MiB in float32), shared by all
//   threads from L3.
//
// KC fixes where the sum over k is split, so it is a constant: results never depend on the
// thread count. MC and the tile width only decide which tiles are computed together.
#pragma once

#include <cstdint>

#include "ctdl/backends/cpu/simd/arch.h"

namespace ctdl::cpu::gemm {

template <class Arch>
inline constexpr int kVectorBytes = 16;
template <>
inline constexpr int kVectorBytes<Avx2Arch> = 32;
template <>
inline constexpr int kVectorBytes<Avx512Arch> = 64;

template <class Arch, class T>
struct Blocking {
  static constexpr int width = kVectorBytes<Arch> / sizeof(T);  // elements per vector
  static constexpr int nv = 2;                                  // vectors per tile row
  static constexpr int mr = kVectorBytes<Arch> == 64 ? 14 : 6;
  static constexpr int nr = nv * width;
  static constexpr int64_t kc = 256;
  static constexpr int64_t mc = mr * (kVectorBytes<Arch> == 64 ? 24 : 40);
  static constexpr int64_t tile_panels = 16;
  static constexpr int64_t nc = nr * (4096 / nr);
};

}  // namespace ctdl::cpu::gemm

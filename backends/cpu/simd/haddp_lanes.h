// xsimd::haddp's lane order, probed once: included only by files compiled per instruction
// set (the GEMM's small products and the perceptron's gradient sums use it).
#pragma once

#include <xsimd/xsimd.hpp>

namespace ctdl::cpu::simd {

// Where xsimd::haddp(rows) puts the sum of rows[l]: lane l, except in xsimd 8.1's AVX-512
// float version, which swaps some pairs of lanes. Found once by probing, so a fixed xsimd
// works as well as the one Debian ships.
template <class Arch, class T>
struct HaddpLanes {
  static constexpr int W = xsimd::batch<T, Arch>::size;
  int of[W];

  static const HaddpLanes& get() {
    static const HaddpLanes lanes = [] {
      using V = xsimd::batch<T, Arch>;
      V probe[W];
      for (int l = 0; l < W; ++l) probe[l] = V(T(l));
      alignas(64) T sums[W];
      xsimd::haddp(probe).store_aligned(sums);
      HaddpLanes found{};
      for (int q = 0; q < W; ++q) found.of[static_cast<int>(sums[q]) / W] = q;
      return found;
    }();
    return lanes;
  }
};

}  // namespace ctdl::cpu::simd

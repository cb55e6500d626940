// Which SIMD instruction set the CPU kernels use, chosen at run time.
//
//   cpu::simd_level();                        // the best the processor supports, e.g. Avx512
//   cpu::set_simd_level(cpu::SimdLevel::Sse2); // tests run every kernel path on one machine
//
// The library is compiled for baseline x86-64. Kernels that use wider vectors are templates
// on an xsimd architecture, instantiated once per level in a file of their own compiled with
// that level's flags (see backends/cpu/CMakeLists.txt: ctdl_simd_sources). Those files hold
// only kernels on raw pointers: no oneTBB, no containers, nothing inline that another
// translation unit could share, so no AVX-512 instruction leaks into code run on an older
// processor. The environment variable CTDL_SIMD=sse2|avx2|avx512 lowers the level too.
#pragma once

#include <xsimd/xsimd.hpp>

namespace ctdl::cpu {

enum class SimdLevel { Sse2, Avx2, Avx512 };

// The xsimd architecture of each level. Avx2 includes FMA, Avx512 is AVX-512 F/CD/DQ/BW.
using Sse2Arch = xsimd::sse2;
using Avx2Arch = xsimd::fma3<xsimd::avx2>;
using Avx512Arch = xsimd::avx512bw;

SimdLevel best_simd_level();  // what this processor supports
SimdLevel simd_level();       // what the kernels use now
// Uses `level` from now on; throws ctdl::Error when the processor lacks it.
void set_simd_level(SimdLevel level);
const char* simd_level_name(SimdLevel level);

// Calls fn(Arch{}) with the architecture of the active level: the one place that turns the
// run-time choice into a compile-time type.
template <class F>
decltype(auto) with_simd_arch(F&& fn) {
  switch (simd_level()) {
    case SimdLevel::Avx512:
      return fn(Avx512Arch{});
    case SimdLevel::Avx2:
      return fn(Avx2Arch{});
    default:
      return fn(Sse2Arch{});
  }
}

}  // namespace ctdl::cpu

#include "ctdl/backends/cpu/simd/arch.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "ctdl/backends/cpu/simd/kernels.h"
#include "ctdl/tensor/error.h"

namespace ctdl::cpu {
namespace {

SimdLevel detect() {
  auto a = xsimd::available_architectures();
  if (a.avx512f && a.avx512cd && a.avx512dq && a.avx512bw) return SimdLevel::Avx512;
  if (a.avx2 && a.fma3_avx2) return SimdLevel::Avx2;
  return SimdLevel::Sse2;
}

SimdLevel initial_level() {
  SimdLevel best = best_simd_level();
  const char* env = std::getenv("CTDL_SIMD");
  if (!env || !*env) return best;
  for (SimdLevel l : {SimdLevel::Sse2, SimdLevel::Avx2, SimdLevel::Avx512})
    if (std::strcmp(env, simd_level_name(l)) == 0) return l < best ? l : best;
  throw Error(
      str("CTDL_SIMD: unknown instruction set '", env, "' (expected sse2, avx2 or avx512)"));
}

std::atomic<SimdLevel>& active() {
  static std::atomic<SimdLevel> level{initial_level()};
  return level;
}

}  // namespace

SimdLevel best_simd_level() {
  static const SimdLevel best = detect();
  return best;
}

SimdLevel simd_level() { return active().load(std::memory_order_relaxed); }

void set_simd_level(SimdLevel level) {
  CTDL_CHECK(level <= best_simd_level(), "set_simd_level: this processor does not support ",
             simd_level_name(level), " (best: ", simd_level_name(best_simd_level()), ")");
  active().store(level, std::memory_order_relaxed);
}

const char* simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::Avx512:
      return "avx512";
    case SimdLevel::Avx2:
      return "avx2";
    default:
      return "sse2";
  }
}

}  // namespace ctdl::cpu

namespace ctdl::cpu::simd {

void no_simd_kernel(const char* kernel, int op) {
  fail(kernel, ": op ", op, " has no SIMD kernel");
}

}  // namespace ctdl::cpu::simd

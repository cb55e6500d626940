// The run-time knobs of the CPU backend: instruction set and thread count.
#include <catch2/catch.hpp>

#include "ctdl/backends/cpu/simd/arch.h"
#include "ctdl/tensor/error.h"
#include "ctdl/tensor/threads.h"

using namespace ctdl;

TEST_CASE("the SIMD level can be lowered but not raised above the processor's") {
  cpu::SimdLevel best = cpu::best_simd_level();
  cpu::set_simd_level(cpu::SimdLevel::Sse2);
  CHECK(cpu::simd_level() == cpu::SimdLevel::Sse2);
  cpu::set_simd_level(best);
  CHECK(cpu::simd_level() == best);
  if (best != cpu::SimdLevel::Avx512)
    CHECK_THROWS_WITH(cpu::set_simd_level(cpu::SimdLevel::Avx512),
                      Catch::Contains("does not support avx512"));
}

TEST_CASE("the thread count can be set and read back") {
  int before = num_threads();
  CHECK(before >= 1);
  set_num_threads(1);
  CHECK(num_threads() == 1);
  set_num_threads(before);
  CHECK(num_threads() == before);
  CHECK_THROWS_WITH(set_num_threads(0),
                    Catch::Contains("set_num_threads: expected at least 1 thread, got 0"));
}

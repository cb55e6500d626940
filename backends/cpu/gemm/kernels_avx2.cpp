// The GEMM kernels compiled for avx2 (this file gets the instruction set's flags from
// ctdl_simd_sources in backends/cpu/CMakeLists.txt).
#include "ctdl/backends/cpu/gemm/kernels_impl.h"
#include "ctdl/backends/cpu/gemm/small_impl.h"

namespace ctdl::cpu::gemm {

#define CTDL_GEMM_INSTANTIATE(T)                                                                \
  template void pack_a<Avx2Arch, T>(int64_t, int64_t, const T*, int64_t, int64_t, T*);          \
  template void pack_b<Avx2Arch, T>(int64_t, int64_t, const T*, int64_t, int64_t, T*);          \
  template void macro_kernel<Avx2Arch, T>(int64_t, int64_t, int64_t, const T*, const T*, T*,    \
                                          int64_t, int64_t, bool);                              \
  template void small_rows<Avx2Arch, T>(int64_t, int64_t, int64_t, const T*, int64_t, int64_t,  \
                                        const T*, int64_t, T*, int64_t, int64_t);               \
  template void small_dots<Avx2Arch, T>(int64_t, int64_t, int64_t, const T*, int64_t, const T*, \
                                        int64_t, T*, int64_t, int64_t);
CTDL_GEMM_INSTANTIATE(float)
CTDL_GEMM_INSTANTIATE(double)
#undef CTDL_GEMM_INSTANTIATE

}  // namespace ctdl::cpu::gemm

// The SIMD kernels for sse2 (baseline x86-64, no extra flags; see backends/cpu/CMakeLists.txt).
#include "ctdl/backends/cpu/simd/arch.h"
#include "ctdl/backends/cpu/simd/kernels_impl.h"
#include "ctdl/backends/cpu/simd/mlp_impl.h"

#define CTDL_INSTANTIATE(T)                                                                        \
  template void unary<Sse2Arch, T>(UnaryOp, T*, const T*, int64_t, const UnaryParams&);            \
  template void binary<Sse2Arch, T>(BinaryOp, T*, const T*, int64_t, const T*, int64_t, int64_t);  \
  template void compare<Sse2Arch, T>(BinaryOp, bool*, const T*, int64_t, const T*, int64_t,        \
                                     int64_t);                                                     \
  template void where<Sse2Arch, T>(T*, const bool*, int64_t, const T*, int64_t, const T*, int64_t, \
                                   int64_t);                                                       \
  template void linear_combination<Sse2Arch, T>(T*, const T* const*, const int64_t*,               \
                                                const double*, int, int64_t);                      \
  template void bias_activation<Sse2Arch, T>(Activation, T*, const T*, const T*, int64_t,          \
                                             int64_t);                                             \
  template void bias_activation_rows<Sse2Arch, T>(Activation, T*, const T*, const T*, int64_t, \
                                                    int64_t);  \
  template void mlp_forward<Sse2Arch, T>(const MlpLayers<T>&, T*, const T*, int64_t, T*, T*);      \
  template void mlp_backward<Sse2Arch, T>(const MlpLayers<T>&, T*, T*, const T*, const T*,   \
                                        int64_t, T*, const T*);                                    \
  template double reduce<Sse2Arch, T>(ReduceOp, const T*, int64_t);                                \
  template void reduce_columns<Sse2Arch, T>(ReduceOp, double*, const T*, int64_t, int64_t, int64_t);

namespace ctdl::cpu::simd {
CTDL_INSTANTIATE(float)
CTDL_INSTANTIATE(double)
}  // namespace ctdl::cpu::simd

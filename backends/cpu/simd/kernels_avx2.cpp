// The SIMD kernels for avx2 (-mavx2 -mfma; see backends/cpu/CMakeLists.txt).
#include "ctdl/backends/cpu/simd/arch.h"
#include "ctdl/backends/cpu/simd/kernels_impl.h"
#include "ctdl/backends/cpu/simd/mlp_impl.h"

#define CTDL_INSTANTIATE(T)                                                                        \
  template void unary<Avx2Arch, T>(UnaryOp, T*, const T*, int64_t, const UnaryParams&);            \
  template void binary<Avx2Arch, T>(BinaryOp, T*, const T*, int64_t, const T*, int64_t, int64_t);  \
  template void compare<Avx2Arch, T>(BinaryOp, bool*, const T*, int64_t, const T*, int64_t,        \
                                     int64_t);                                                     \
  template void where<Avx2Arch, T>(T*, const bool*, int64_t, const T*, int64_t, const T*, int64_t, \
                                   int64_t);                                                       \
  template void linear_combination<Avx2Arch, T>(T*, const T* const*, const int64_t*,               \
                                                const double*, int, int64_t);                      \
  template void bias_activation<Avx2Arch, T>(Activation, T*, const T*, const T*, int64_t,          \
                                             int64_t);                                             \
  template void bias_activation_rows<Avx2Arch, T>(Activation, T*, const T*, const T*, int64_t, \
                                                    int64_t);  \
  template void mlp_forward<Avx2Arch, T>(const MlpLayers<T>&, T*, const T*, int64_t, T*, T*);      \
  template void mlp_backward<Avx2Arch, T>(const MlpLayers<T>&, T*, T*, const T*, const T*,   \
                                        int64_t, T*, const T*);                                    \
  template double reduce<Avx2Arch, T>(ReduceOp, const T*, int64_t);                                \
  template void reduce_columns<Avx2Arch, T>(ReduceOp, double*, const T*, int64_t, int64_t, int64_t);

namespace ctdl::cpu::simd {
CTDL_INSTANTIATE(float)
CTDL_INSTANTIATE(double)
}  // namespace ctdl::cpu::simd

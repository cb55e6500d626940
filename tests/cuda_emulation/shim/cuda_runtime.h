// A stand-in for <cuda_runtime.h> that lets g++ compile the CUDA backend's kernels for the
// CPU (tests/cuda_emulation/README.md): the CUDA keywords, the built-in indices, the
// device functions the kernels call (__syncthreads, warp shuffles, atomics, math) and the
// few runtime calls of backends/cuda/*.cu. Only what those files use is here.
//
// A launch (rewritten by rewrite_kernels.py from `k<<<grid, block, smem, stream>>>(args)`
// to `::ctdl_emu::launch(::ctdl_emu::LaunchConfig(grid, block, smem, stream), k, args)`)
// runs the grid's blocks one after another and each block's threads as fibers on the
// calling thread, so that barriers and shuffles wait for the threads they wait for on a GPU.
// __shared__ variables are then static thread_local: one per calling thread, shared by the
// fibers of the block that runs, and left as the last block left them, as on a GPU.
#pragma once

#include <math.h>  // libstdc++'s: the float and double overloads in the global namespace

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static thread_local

struct uint3 {
  unsigned x, y, z;
};
struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
};
struct alignas(16) float4 {
  float x, y, z, w;
};
struct alignas(16) double2 {
  double x, y;
};

// The running thread's indices, set by the scheduler before it resumes a fiber.
inline thread_local uint3 threadIdx;
inline thread_local uint3 blockIdx;
inline thread_local dim3 blockDim;
inline thread_local dim3 gridDim;
inline constexpr int warpSize = 32;

// ---- Runtime types and calls ----

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
};
inline const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
  }
  return "cudaErrorUnknown";
}
inline const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
  }
  return "unknown error";
}

typedef struct CUstream_st* cudaStream_t;
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};
struct cudaDeviceProp {
  char name[256];
  int major, minor, multiProcessorCount;
  size_t totalGlobalMem;
};

namespace ctdl_emu {
// Where launches and runtime calls leave their error (cudaGetLastError reads and clears it).
cudaError_t& last_error();
// Whether [p, p + n) lies inside one live device allocation (emulated_runtime.cpp).
bool is_device_range(const void* p, size_t n);
}  // namespace ctdl_emu

inline cudaError_t cudaGetLastError() {
  cudaError_t e = ctdl_emu::last_error();
  ctdl_emu::last_error() = cudaSuccess;
  return e;
}
inline cudaError_t cudaPeekAtLastError() { return ctdl_emu::last_error(); }

// Streams do not exist here: everything runs at once, in order. What a GPU would reject
// (device memory that is not device memory, overlapping device copies) is rejected.
inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t n, cudaMemcpyKind kind,
                                   cudaStream_t = nullptr) {
  if (n == 0) return cudaSuccess;
  const bool dst_device = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool src_device = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if ((dst_device && !ctdl_emu::is_device_range(dst, n)) ||
      (src_device && !ctdl_emu::is_device_range(src, n)))
    return ctdl_emu::last_error() = cudaErrorInvalidValue;
  const auto* s = static_cast<const char*>(src);
  auto* d = static_cast<char*>(dst);
  if (s < d + n && d < s + n) return ctdl_emu::last_error() = cudaErrorInvalidValue;
  std::memcpy(dst, src, n);
  return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void* p, int value, size_t n, cudaStream_t = nullptr) {
  if (n == 0) return cudaSuccess;
  if (!ctdl_emu::is_device_range(p, n)) return ctdl_emu::last_error() = cudaErrorInvalidValue;
  std::memset(p, value, n);
  return cudaSuccess;
}

// ---- Launches ----

namespace ctdl_emu {

struct LaunchConfig {
  dim3 grid, block;
  size_t shared_bytes;
  cudaStream_t stream;
  LaunchConfig(dim3 g, dim3 b, size_t smem = 0, cudaStream_t s = nullptr)
      : grid(g), block(b), shared_bytes(smem), stream(s) {}
};

// Runs thread_main(context) once per thread of the grid, with threadIdx etc. set; returns
// false (after setting the last error) for a configuration a GPU refuses. Throws when the
// threads of a block cannot all make progress (a barrier or shuffle some never reach).
bool run_grid(const LaunchConfig& config, void (*thread_main)(void*), void* context);

// The barriers: the whole block (__syncthreads) and the calling thread's warp.
void sync_block();
void sync_warp(unsigned mask);
// This thread's lane, and its warp's exchange buffer for the next shuffle (32 slots).
int lane();
uint64_t* exchange_slots();

template <class... P, class... A>
void launch(const LaunchConfig& config, void (*kernel)(P...), A&&... args) {
  static_assert(sizeof...(P) == sizeof...(A), "a kernel argument per parameter");
  // The arguments as the kernel's parameters hold them; each thread gets its own copy.
  struct Context {
    void (*kernel)(P...);
    std::tuple<std::decay_t<P>...> params;
  } context{kernel, std::tuple<std::decay_t<P>...>(std::forward<A>(args)...)};
  run_grid(
      config, [](void* c) {
        auto* ctx = static_cast<Context*>(c);
        std::apply(ctx->kernel, ctx->params);
      },
      &context);
}

template <class T>
T shuffle(unsigned mask, T value, int source_lane) {
  static_assert(sizeof(T) <= sizeof(uint64_t) && std::is_trivially_copyable_v<T>);
  uint64_t* slots = exchange_slots();
  std::memcpy(&slots[lane()], &value, sizeof(T));
  sync_warp(mask);
  T result;
  std::memcpy(&result, &slots[source_lane], sizeof(T));
  return result;
}

}  // namespace ctdl_emu

// ---- Device functions ----

inline void __syncthreads() { ctdl_emu::sync_block(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { ctdl_emu::sync_warp(mask); }

template <class T>
T __shfl_sync(unsigned mask, T v, int src, int width = warpSize) {
  const int lane = ctdl_emu::lane();
  return ctdl_emu::shuffle(mask, v, (lane / width) * width + src % width);
}
template <class T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = warpSize) {
  const int lane = ctdl_emu::lane(), in_segment = lane % width;
  const int source = in_segment + static_cast<int>(delta) < width ? lane + static_cast<int>(delta) : lane;
  return ctdl_emu::shuffle(mask, v, source);
}
template <class T>
T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = warpSize) {
  const int lane = ctdl_emu::lane(), in_segment = lane % width;
  const int source = in_segment >= static_cast<int>(delta) ? lane - static_cast<int>(delta) : lane;
  return ctdl_emu::shuffle(mask, v, source);
}
template <class T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = warpSize) {
  const int lane = ctdl_emu::lane(), source = lane ^ lane_mask;
  return ctdl_emu::shuffle(mask, v, (source / width == lane / width) ? source : lane);
}

// Fibers never run at the same time, so plain read-modify-writes are atomic here.
template <class T>
T atomicAdd(T* address, T value) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, int> ||
                std::is_same_v<T, unsigned> || std::is_same_v<T, unsigned long long>);
  const T old = *address;
  *address = old + value;
  return old;
}

// Rounded as written, never contracted into an fma.
inline double __dadd_rn(double a, double b) {
  volatile double r = a + b;
  return r;
}
inline double __dmul_rn(double a, double b) {
  volatile double r = a * b;
  return r;
}
inline float __fadd_rn(float a, float b) {
  volatile float r = a + b;
  return r;
}
inline float __fmul_rn(float a, float b) {
  volatile float r = a * b;
  return r;
}

// CUDA's integer and floating min/max in the global namespace.
#define CTDL_EMU_MINMAX(T)                              \
  inline T min(T a, T b) { return b < a ? b : a; }      \
  inline T max(T a, T b) { return a < b ? b : a; }
CTDL_EMU_MINMAX(int)
CTDL_EMU_MINMAX(unsigned)
CTDL_EMU_MINMAX(long)
CTDL_EMU_MINMAX(unsigned long)
CTDL_EMU_MINMAX(long long)
CTDL_EMU_MINMAX(unsigned long long)
#undef CTDL_EMU_MINMAX
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }

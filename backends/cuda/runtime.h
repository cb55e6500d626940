// What the CUDA backend's own files share (not installed: it includes the CUDA headers):
// error checks, the current device and stream, the cuBLAS handle, the memory cache.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "ctdl/tensor/error.h"

// Throws a ctdl::Error naming the call, the file and line, and CUDA's message. A failed
// runtime call also leaves its error as this thread's "last error": it is cleared before
// throwing, or the next CTDL_CUDA_CHECK_LAUNCH (cudaGetLastError) would report it again as
// the failure of an unrelated kernel launch after the caller had caught this one. (Sticky
// errors, such as an illegal address, survive the clearing: the context is lost anyway.)
#define CTDL_CUDA_CHECK(call)                                                             \
  do {                                                                                    \
    cudaError_t ctdl_status_ = (call);                                                    \
    if (ctdl_status_ != cudaSuccess) {                                                    \
      cudaGetLastError();                                                                 \
      ::ctdl::fail("CUDA error in ", #call, " (", __FILE__, ":", __LINE__, "): ",         \
                   cudaGetErrorName(ctdl_status_), ": ", cudaGetErrorString(ctdl_status_)); \
    }                                                                                     \
  } while (false)

#define CTDL_CUBLAS_CHECK(call)                                                              \
  do {                                                                                       \
    cublasStatus_t ctdl_status_ = (call);                                                    \
    if (ctdl_status_ != CUBLAS_STATUS_SUCCESS) {                                             \
      cudaGetLastError(); /* a failed launch inside cuBLAS: as in CTDL_CUDA_CHECK */          \
      ::ctdl::fail("cuBLAS error in ", #call, " (", __FILE__, ":", __LINE__, "): ",          \
                   cublasGetStatusName(ctdl_status_), ": ", cublasGetStatusString(ctdl_status_)); \
    }                                                                                        \
  } while (false)

// After a kernel launch: a bad launch configuration shows up here, not at the next sync.
#define CTDL_CUDA_CHECK_LAUNCH() CTDL_CUDA_CHECK(cudaGetLastError())

namespace ctdl::cuda {

// Makes `device` current on this thread for the guard's lifetime (cheap when it already is).
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_;
};

// The stream kernels go to: this thread's current stream of `device`.
cudaStream_t current_stream(int device);
void set_current_stream(int device, cudaStream_t stream);
// True while `stream` is being captured into a graph (host reads are then an error).
bool is_capturing(cudaStream_t stream);

// This thread's cuBLAS handle for `device`, bound to its current stream, with a fixed
// workspace so that cuBLAS never allocates (it may be inside a graph capture).
cublasHandle_t cublas_handle(int device);

// Properties read once per device.
const cudaDeviceProp& properties(int device);

// The memory cache (memory.cpp). Blocks are reused on the stream they were allocated on, so
// stream order alone keeps a reused block from being overwritten while in use.
void* cache_allocate(int device, size_t nbytes);
void cache_free(void* ptr);
// Graph capture pools: while a pool is active on this thread, allocations come from it and
// freed blocks of the pool stay in it; released, its free blocks go back to the cache.
int create_capture_pool();
void set_capture_pool(int pool);  // 0: the shared cache
void release_capture_pool(int pool);

}  // namespace ctdl::cuda

// The CUDA runtime as ctdl users see it: devices, streams, events, CUDA graphs, page-locked
// host memory and the device memory cache. Every function exists in every build; in a
// build without CUDA (CTDL_CUDA=OFF or no nvcc) is_built() and is_available() are false and
// the rest throw a ctdl::Error saying so.
//
//   if (cuda::is_available()) {
//     Tensor x = randn({1024, 1024}).to(Device::cuda(0));
//     Tensor y = matmul(x, x);                 // queued on the current stream
//     cuda::synchronize();                     // wait for it
//   }
//
// Kernels run on the calling thread's current stream of the tensor's device (a stream ctdl
// creates per device, or one set with StreamGuard). Results read on the host (item(),
// to_vector(), .to(Device::cpu())) wait for that stream; nothing else does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "ctdl/tensor/tensor.h"

namespace ctdl::cuda {

// True when ctdl was compiled with its CUDA backend.
bool is_built();
// True when it was, and the driver reports at least one device.
bool is_available();
int device_count();
// "NVIDIA H200 (sm_90, 139 GiB)".
std::string device_description(int device = 0);
// Waits for all work queued on the current stream of `device`.
void synchronize(int device = 0);
// How many times the host has read device memory so far (item(), to_vector(), .to(cpu)):
// each read waits for the stream, so solvers and training loops are checked with it.
int64_t host_read_count();

// A CUDA stream. Stream() creates a new one on `device`; current() is the one kernels are
// queued on now.
class Stream {
 public:
  explicit Stream(int device = 0);
  static Stream current(int device = 0);
  int device() const { return device_; }
  void synchronize() const;
  void* handle() const { return handle_.get(); }  // a cudaStream_t

 private:
  Stream(int device, std::shared_ptr<void> handle) : device_(device), handle_(std::move(handle)) {}
  int device_;
  std::shared_ptr<void> handle_;
};

// Makes `stream` the current stream of its device on this thread until destroyed.
//
// Memory is reused in the order of the stream it was allocated on. A tensor allocated on
// one stream and used by work queued on another must outlive that work (synchronize the
// other stream, or an Event, before the last reference goes), as with PyTorch's
// record_stream.
class StreamGuard {
 public:
  explicit StreamGuard(const Stream& stream);
  ~StreamGuard();
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;

 private:
  int device_;
  void* previous_;
};

// A CUDA event, for ordering streams and timing.
class Event {
 public:
  explicit Event(bool timing = true);
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  void record(const Stream& stream);
  void record() { record(Stream::current()); }
  // Makes `stream` wait (on the device) until this event has happened.
  void block(const Stream& stream) const;
  void synchronize() const;
  // Milliseconds between two recorded events.
  float elapsed_ms(const Event& later) const;

 private:
  void* handle_ = nullptr;
};

// A CUDA graph: the kernels a piece of code queues, recorded once and replayed with one
// launch. Capture records, it does not run: run the code once before (so that one-time
// setup such as library handles happens outside the capture), keep the input tensors and
// write new values into them (copy_) before each replay. Memory allocated while capturing
// comes from a pool private to the graph, so the addresses the graph reads and writes stay
// valid for as long as it lives. Reading a result on the host during capture is an error
// (ODE solves check the state for NaN/Inf at each output time: capture them with
// .check_finite = false). Capture from one thread: other threads' kernels on the same
// stream would join the graph.
//
//   cuda::Graph graph;
//   Tensor zT;
//   graph.capture([&] { zT = ode::odeint(f, z0, times, {.method = "rk4", .step_size = 0.01}); });
//   z0.copy_(next_z0);
//   graph.replay();   // zT now holds the solve from next_z0
class Graph {
 public:
  Graph();
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  void capture(const std::function<void()>& body, int device = 0);
  void replay();
  bool captured() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A CPU tensor in page-locked memory: copies from it to a device run at full bandwidth and
// without staging (data loaders fill one batch here while the previous one is computed).
Tensor pinned_empty(const Dims& shape, DType dtype = DType::Float32);

// The device memory cache: bytes held by live tensors and bytes kept for reuse.
struct CacheStats {
  int64_t allocated_bytes = 0;
  int64_t cached_bytes = 0;
  int64_t device_allocations = 0;  // cudaMalloc calls so far
};
CacheStats cache_stats(int device = 0);
// Returns cached blocks (not held by tensors or graphs) to the driver.
void empty_cache(int device = 0);

}  // namespace ctdl::cuda

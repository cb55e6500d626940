// Devices, streams, events, graphs and the cuBLAS handles: the host side of the CUDA
// backend (cuda.h, runtime.h).
#include <atomic>
#include <mutex>
#include <utility>
#include <vector>

#include "ctdl/backends/cuda/cuda.h"
#include "ctdl/backends/cuda/cuda_backend.h"
#include "ctdl/backends/cuda/runtime.h"

namespace ctdl::cuda {
namespace {

// The stream ctdl creates for each device: non-blocking, so that it neither waits for nor
// holds up the legacy default stream, and capturable into graphs (the default stream is not).
cudaStream_t default_stream(int device) {
  static std::mutex mutex;
  static std::vector<cudaStream_t> streams;
  std::lock_guard lock(mutex);
  if (streams.empty()) streams.assign(static_cast<size_t>(device_count()), nullptr);
  CTDL_CHECK(device >= 0 && device < static_cast<int>(streams.size()), "cuda: device ", device,
             " does not exist (", streams.size(), " devices)");
  if (!streams[device]) {
    DeviceGuard guard(device);
    CTDL_CUDA_CHECK(cudaStreamCreateWithFlags(&streams[device], cudaStreamNonBlocking));
  }
  return streams[device];
}

// Per thread: the stream set by a StreamGuard for each device (null: the default stream).
thread_local std::vector<cudaStream_t> stream_overrides;

std::atomic<int64_t> host_reads{0};

constexpr size_t kCublasWorkspaceBytes = size_t{32} << 20;  // what cuBLAS advises for Hopper

// One thread's cuBLAS handle for one device, the stream it is bound to, and its workspaces:
// one per stream, since two streams' products may run at once and must not share scratch.
struct CublasHandle {
  cublasHandle_t handle = nullptr;
  cudaStream_t stream = nullptr;
  bool bound = false;  // stream is valid
  std::vector<std::pair<cudaStream_t, void*>> workspaces;
};

struct CublasHandles {
  std::vector<CublasHandle> per_device;
  ~CublasHandles() {
    // At thread exit the driver may already be shut down (process exit); leak rather than crash.
  }
};
thread_local CublasHandles cublas_handles;

// The workspace `h` uses on `stream`, allocated on first use (device current).
void* cublas_workspace(CublasHandle& h, cudaStream_t stream) {
  for (auto& [s, workspace] : h.workspaces)
    if (s == stream) return workspace;
  void* workspace = nullptr;
  CTDL_CUDA_CHECK(cudaMalloc(&workspace, kCublasWorkspaceBytes));
  h.workspaces.emplace_back(stream, workspace);
  return workspace;
}

}  // namespace

// ---- devices --------------------------------------------------------------------------

bool is_built() { return true; }

int device_count() {
  static const int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // no driver or no device: clear the error and report none
      return 0;
    }
    return n;
  }();
  return count;
}

bool is_available() { return device_count() > 0; }

const cudaDeviceProp& properties(int device) {
  static std::mutex mutex;
  static std::vector<std::unique_ptr<cudaDeviceProp>> props;
  std::lock_guard lock(mutex);
  if (props.empty()) props.resize(static_cast<size_t>(device_count()));
  CTDL_CHECK(device >= 0 && device < static_cast<int>(props.size()), "cuda: device ", device,
             " does not exist (", props.size(), " devices)");
  if (!props[device]) {
    props[device] = std::make_unique<cudaDeviceProp>();
    CTDL_CUDA_CHECK(cudaGetDeviceProperties(props[device].get(), device));
  }
  return *props[device];
}

std::string device_description(int device) {
  const cudaDeviceProp& p = properties(device);
  return str(p.name, " (sm_", p.major, p.minor, ", ", p.totalGlobalMem >> 30, " GiB, ",
             p.multiProcessorCount, " SMs)");
}

DeviceGuard::DeviceGuard(int device) {
  CTDL_CUDA_CHECK(cudaGetDevice(&previous_));
  if (previous_ != device) CTDL_CUDA_CHECK(cudaSetDevice(device));
}

DeviceGuard::~DeviceGuard() {
  int now = previous_;
  cudaGetDevice(&now);
  if (now != previous_) cudaSetDevice(previous_);
}

// ---- streams --------------------------------------------------------------------------

cudaStream_t current_stream(int device) {
  if (device < static_cast<int>(stream_overrides.size()) && stream_overrides[device])
    return stream_overrides[device];
  return default_stream(device);
}

void set_current_stream(int device, cudaStream_t stream) {
  if (static_cast<int>(stream_overrides.size()) <= device) stream_overrides.resize(device + 1, nullptr);
  stream_overrides[device] = stream;
}

bool is_capturing(cudaStream_t stream) {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  CTDL_CUDA_CHECK(cudaStreamIsCapturing(stream, &status));
  return status != cudaStreamCaptureStatusNone;
}

void synchronize(int device) {
  DeviceGuard guard(device);
  cudaStream_t stream = current_stream(device);
  CTDL_CHECK(!is_capturing(stream), "cuda::synchronize: the stream is being captured into a graph");
  CTDL_CUDA_CHECK(cudaStreamSynchronize(stream));
}

Stream::Stream(int device) : device_(device) {
  DeviceGuard guard(device);
  cudaStream_t s = nullptr;
  CTDL_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  handle_ = std::shared_ptr<void>(s, [](void* p) { cudaStreamDestroy(static_cast<cudaStream_t>(p)); });
}

Stream Stream::current(int device) {
  // Not owned: the default stream lives as long as the process.
  return Stream(device, std::shared_ptr<void>(current_stream(device), [](void*) {}));
}

void Stream::synchronize() const {
  CTDL_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(handle())));
}

StreamGuard::StreamGuard(const Stream& stream) : device_(stream.device()) {
  previous_ = device_ < static_cast<int>(stream_overrides.size()) ? stream_overrides[device_] : nullptr;
  set_current_stream(device_, static_cast<cudaStream_t>(stream.handle()));
}

StreamGuard::~StreamGuard() { set_current_stream(device_, static_cast<cudaStream_t>(previous_)); }

// ---- events ---------------------------------------------------------------------------

Event::Event(bool timing) {
  cudaEvent_t e = nullptr;
  CTDL_CUDA_CHECK(cudaEventCreateWithFlags(&e, timing ? cudaEventDefault : cudaEventDisableTiming));
  handle_ = e;
}

Event::~Event() { cudaEventDestroy(static_cast<cudaEvent_t>(handle_)); }

void Event::record(const Stream& stream) {
  CTDL_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(handle_), static_cast<cudaStream_t>(stream.handle())));
}

void Event::block(const Stream& stream) const {
  CTDL_CUDA_CHECK(cudaStreamWaitEvent(static_cast<cudaStream_t>(stream.handle()),
                                      static_cast<cudaEvent_t>(handle_), 0));
}

void Event::synchronize() const { CTDL_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(handle_))); }

float Event::elapsed_ms(const Event& later) const {
  float ms = 0;
  CTDL_CUDA_CHECK(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(handle_),
                                       static_cast<cudaEvent_t>(later.handle_)));
  return ms;
}

// ---- graphs ---------------------------------------------------------------------------

struct Graph::State {
  int device = 0;
  int pool = 0;
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
};

Graph::Graph() : state_(std::make_unique<State>()) {}

Graph::~Graph() {
  if (state_->exec) cudaGraphExecDestroy(state_->exec);
  if (state_->graph) cudaGraphDestroy(state_->graph);
  if (state_->pool) release_capture_pool(state_->pool);
}

bool Graph::captured() const { return state_->exec != nullptr; }

void Graph::capture(const std::function<void()>& body, int device) {
  CTDL_CHECK(!captured(), "cuda::Graph::capture: this graph is already captured; make a new one");
  DeviceGuard guard(device);
  cudaStream_t stream = current_stream(device);
  state_->device = device;
  // What an attempt that failed after its body (ending or instantiating) left behind.
  if (state_->graph) cudaGraphDestroy(std::exchange(state_->graph, nullptr));
  if (state_->pool) release_capture_pool(std::exchange(state_->pool, 0));
  state_->pool = create_capture_pool();  // released by ~Graph
  // Relaxed: the memory cache may call cudaMalloc while capturing (for the graph's pool).
  CTDL_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed));
  // Only once the capture has begun: were it set before, a failed begin would leave this
  // thread allocating from the graph's pool (never from the shared cache) from then on.
  set_capture_pool(state_->pool);
  try {
    body();
  } catch (...) {
    cudaGraph_t partial = nullptr;
    cudaStreamEndCapture(stream, &partial);
    if (partial) cudaGraphDestroy(partial);
    cudaGetLastError();
    set_capture_pool(0);
    // Nothing captured survives, so the pool goes back now: a second capture() on this graph
    // would otherwise replace its id and keep the blocks of this attempt out of use for good.
    release_capture_pool(state_->pool);
    state_->pool = 0;
    throw;
  }
  set_capture_pool(0);
  CTDL_CUDA_CHECK(cudaStreamEndCapture(stream, &state_->graph));
  CTDL_CUDA_CHECK(cudaGraphInstantiate(&state_->exec, state_->graph, 0));
}

void Graph::replay() {
  CTDL_CHECK(captured(), "cuda::Graph::replay: nothing captured yet");
  DeviceGuard guard(state_->device);
  CTDL_CUDA_CHECK(cudaGraphLaunch(state_->exec, current_stream(state_->device)));
}

// ---- cuBLAS ---------------------------------------------------------------------------

cublasHandle_t cublas_handle(int device) {
  auto& handles = cublas_handles.per_device;
  if (static_cast<int>(handles.size()) <= device) handles.resize(device + 1);
  CublasHandle& h = handles[device];
  DeviceGuard guard(device);
  if (!h.handle) CTDL_CUBLAS_CHECK(cublasCreate(&h.handle));
  const cudaStream_t stream = current_stream(device);
  if (!h.bound || h.stream != stream) {
    CTDL_CUBLAS_CHECK(cublasSetStream(h.handle, stream));
    // cublasSetStream puts the handle back on cuBLAS's default workspace pool, so ours (which
    // keeps cuBLAS from allocating inside a graph capture) is set again after every change.
    CTDL_CUBLAS_CHECK(
        cublasSetWorkspace(h.handle, cublas_workspace(h, stream), kCublasWorkspaceBytes));
    h.stream = stream;
    h.bound = true;
  }
  return h.handle;
}

// ---- the backend's memory and copies --------------------------------------------------

void* CudaBackend::allocate(size_t nbytes) { return cache_allocate(device_, nbytes); }

void CudaBackend::deallocate(void* ptr, size_t) { cache_free(ptr); }

void CudaBackend::copy_from_host(void* dst, const void* src, size_t nbytes) {
  DeviceGuard guard(device_);
  // From pageable memory the copy returns once `src` has been read (staged by the driver);
  // from page-locked memory (pinned_empty) it is asynchronous.
  CTDL_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyHostToDevice, current_stream(device_)));
}

int64_t host_read_count() { return host_reads.load(); }

void CudaBackend::copy_to_host(void* dst, const void* src, size_t nbytes) {
  DeviceGuard guard(device_);
  cudaStream_t stream = current_stream(device_);
  CTDL_CHECK(!is_capturing(stream), "cuda: reading a device tensor on the host (item, to_vector, "
             ".to(cpu)) is not possible while a CUDA graph is being captured (an ODE solve "
             "checks its state for NaN/Inf at each output time: pass .check_finite = false)");
  host_reads.fetch_add(1, std::memory_order_relaxed);
  CTDL_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToHost, stream));
  CTDL_CUDA_CHECK(cudaStreamSynchronize(stream));
}

void CudaBackend::synchronize() { cuda::synchronize(device_); }

Backend& backend(int index) {
  // Never destroyed, like the memory cache: a tensor freed during static destruction at exit
  // (one held by a static constructed before this) still reaches its backend's deallocate.
  static const auto& backends = *[] {
    auto* all = new std::vector<std::unique_ptr<CudaBackend>>;
    for (int d = 0; d < device_count(); ++d) all->push_back(std::make_unique<CudaBackend>(d));
    return all;
  }();
  CTDL_CHECK(index >= 0 && index < static_cast<int>(backends.size()), "device cuda:", index,
             ": no such CUDA device (", backends.size(), " found", backends.empty() ? "; is a GPU and its driver present?" : "", ")");
  return *backends[index];
}

}  // namespace ctdl::cuda

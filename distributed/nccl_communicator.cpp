// The NCCL communicator (nccl_communicator.h). Compiled only with CTDL_NCCL (no_nccl.cpp
// stands in otherwise); the only file that includes <nccl.h>.
#include "ctdl/distributed/nccl_communicator.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

#include "ctdl/backends/cuda/cuda.h"
#include "ctdl/backends/cuda/runtime.h"
#include "ctdl/distributed/launch.h"

namespace ctdl::distributed {

struct NcclCommunicator::State {
  Communicator* bootstrap = nullptr;
  int rank = 0, size = 1, device = 0;
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;   // where every operation is queued
  cudaEvent_t ready = nullptr;     // recorded on the caller's stream; the stream waits for it
  float* barrier_value = nullptr;  // a barrier is an all-reduce of this one float

  ~State() {
    // Plain calls, errors ignored: a destructor must not throw, and at process exit the
    // driver may be gone already.
    if (!comm && !stream && !ready && !barrier_value) return;  // nothing made (no GPU, say)
    int previous = device;
    cudaGetDevice(&previous);
    cudaSetDevice(device);
    if (comm) {
      // Destroy waits for what is still queued, which after a failure may never finish.
      ncclResult_t async = ncclSuccess;
      if (ncclCommGetAsyncError(comm, &async) == ncclSuccess && async == ncclSuccess)
        ncclCommDestroy(comm);
      else
        ncclCommAbort(comm);
    }
    if (barrier_value) cudaFree(barrier_value);
    if (ready) cudaEventDestroy(ready);
    if (stream) cudaStreamDestroy(stream);
    cudaSetDevice(previous);
  }

  std::string where() const { return str("rank ", rank, " of ", size, " (cuda:", device, ")"); }

  void check(ncclResult_t code, const char* op) const {
    if (code == ncclSuccess) return;
    const char* detail = ncclGetLastError(comm);  // comm may be null: the last error of any
    fail("nccl ", op, " on ", where(), ": ", ncclGetErrorString(code),
         detail && *detail ? str(" (", detail, ")") : std::string());
  }

  void check_cuda(cudaError_t code, const char* op) const {
    if (code == cudaSuccess) return;
    fail("nccl ", op, " on ", where(), ": CUDA error ", cudaGetErrorName(code), ": ",
         cudaGetErrorString(code));
  }
};

namespace {

using State = NcclCommunicator::State;

ncclDataType_t nccl_type(DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return ncclFloat32;
    case DType::Float64:
      return ncclFloat64;
    case DType::Int64:
      return ncclInt64;
    default:
      fail("nccl: no NCCL type for ", dtype);
  }
}

// An operation queued on the communicator's stream; done once the event recorded after it
// has happened.
class NcclWork final : public Work {
 public:
  NcclWork(std::shared_ptr<State> state, Tensor buffer, const char* op)
      : state_(std::move(state)), buffer_(std::move(buffer)), op_(op) {
    state_->check_cuda(cudaEventCreateWithFlags(&done_event_, cudaEventDisableTiming), op_);
  }

  ~NcclWork() override {
    if (!done_ && buffer_.defined()) {
      // Dropped in flight: the memory cache may hand the buffer's block out again on the
      // stream it came from, so that stream waits for NCCL to be done with it first.
      try {
        cudaStreamWaitEvent(cuda::current_stream(state_->device), done_event_, 0);
      } catch (...) {
      }
    }
    cudaEventDestroy(done_event_);  // released once it has happened, if it has not yet
  }

  // After the operation has been queued on the communicator's stream.
  void record_done() { state_->check_cuda(cudaEventRecord(done_event_, state_->stream), op_); }

  bool test() override {
    if (done_) return true;
    cudaError_t status = cudaEventQuery(done_event_);
    if (status == cudaSuccess) return done_ = true;
    if (status != cudaErrorNotReady) state_->check_cuda(status, op_);
    // A peer's failure or a network error comes back asynchronously.
    ncclResult_t async = ncclSuccess;
    state_->check(ncclCommGetAsyncError(state_->comm, &async), op_);
    state_->check(async, op_);
    return false;
  }

 private:
  std::shared_ptr<State> state_;
  Tensor buffer_;  // alive while NCCL may read or write it
  const char* op_;
  cudaEvent_t done_event_ = nullptr;
  bool done_ = false;
};

void check_device_buffer(const State& s, const Tensor& buffer, const char* op) {
  CTDL_CHECK(buffer.defined(), "nccl ", op, ": the buffer is an undefined tensor");
  CTDL_CHECK(buffer.device().is_cuda(), "nccl ", op, ": the buffer is on ", buffer.device(),
             "; the nccl communicator takes CUDA tensors (on cuda:", s.device, " for ", s.where(),
             "): move it there, or use distributed::world() for CPU tensors");
  CTDL_CHECK(buffer.device().index == s.device, "nccl ", op, ": the buffer is on ", buffer.device(),
             ", but ", s.where(), " communicates on cuda:", s.device,
             " (one GPU per rank: distributed::local_device())");
  CTDL_CHECK(buffer.is_contiguous(), "nccl ", op, ": the buffer must be contiguous (shape ",
             buffer.shape(), ", strides ", buffer.strides(), ")");
  DType d = buffer.dtype();
  CTDL_CHECK(d == DType::Float32 || d == DType::Float64 || d == DType::Int64, "nccl ", op,
             ": buffers of float32, float64 or int64 only, got ", d);
}

// Makes the communicator's stream wait for what the caller has queued on its current stream
// (the gradient being written into the buffer, say), and returns the operation's Work.
std::unique_ptr<NcclWork> queue_after_caller(const std::shared_ptr<State>& s, const Tensor& buffer,
                                             const char* op) {
  cudaStream_t caller = cuda::current_stream(s->device);
  CTDL_CHECK(!cuda::is_capturing(caller), "nccl ", op, ": not supported inside a CUDA graph ",
             "capture (", s->where(), ")");
  s->check_cuda(cudaEventRecord(s->ready, caller), op);
  s->check_cuda(cudaStreamWaitEvent(s->stream, s->ready, 0), op);
  return std::make_unique<NcclWork>(s, buffer, op);
}

// Queues one NCCL operation on `buffer` after the caller's work: call(data, count, type) when
// the buffer is not empty, then the event that marks it done.
template <class Call>
std::unique_ptr<Work> enqueue(const std::shared_ptr<State>& s, const Tensor& buffer,
                              const char* op, Call call) {
  cuda::DeviceGuard guard(s->device);
  auto work = queue_after_caller(s, buffer, op);
  const auto n = static_cast<size_t>(buffer.numel());
  if (n > 0) s->check(call(buffer.raw_data(), n, nccl_type(buffer.dtype())), op);
  work->record_done();
  return work;
}

}  // namespace

// ---- setting up ---------------------------------------------------------------------------

NcclCommunicator::NcclCommunicator(Communicator& bootstrap, NcclOptions options)
    : state_(std::make_shared<State>()) {
  State& s = *state_;
  s.bootstrap = &bootstrap;
  s.rank = bootstrap.rank();
  s.size = bootstrap.size();
  const int count = cuda::device_count();
  CTDL_CHECK(count > 0, "nccl: rank ", s.rank, " of ", s.size, " has no CUDA device (the ",
             "driver reports none); the nccl communicator needs one GPU per rank");
  s.device = options.device >= 0 ? options.device : local_rank() % count;
  CTDL_CHECK(s.device < count, "nccl: rank ", s.rank, " of ", s.size, " was given cuda:", s.device,
             ", but this machine has ", count, " CUDA devices");

  // Rank 0's unique id names the communicator; everyone needs it before ncclCommInitRank.
  std::string id_bytes;
  if (s.rank == 0) {
    ncclUniqueId id;
    s.check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    id_bytes.assign(id.internal, sizeof id.internal);
  }
  id_bytes = bootstrap.broadcast_bytes(id_bytes, 0);
  CTDL_CHECK(id_bytes.size() == sizeof(ncclUniqueId), "nccl: rank ", s.rank, " received a ",
             "unique id of ", id_bytes.size(), " bytes, not ", sizeof(ncclUniqueId));
  ncclUniqueId id;
  std::memcpy(id.internal, id_bytes.data(), sizeof id.internal);

  cuda::DeviceGuard guard(s.device);
  ncclResult_t init = ncclCommInitRank(&s.comm, s.size, id, s.rank);
  if (init != ncclSuccess) {
    s.comm = nullptr;
    const char* detail = ncclGetLastError(nullptr);
    fail("nccl ncclCommInitRank on ", s.where(), ": ", ncclGetErrorString(init),
         detail && *detail ? str(" (", detail, ")") : std::string(), "; local rank ", local_rank(),
         ", ", count,
         " CUDA devices on this machine (one GPU "
         "per rank: start at most as many ranks per machine as it has GPUs)");
  }
  // The highest priority: reductions overlap backward's kernels and should not queue
  // behind them.
  int least = 0, greatest = 0;
  s.check_cuda(cudaDeviceGetStreamPriorityRange(&least, &greatest), "setup");
  s.check_cuda(cudaStreamCreateWithPriority(&s.stream, cudaStreamNonBlocking, greatest), "setup");
  s.check_cuda(cudaEventCreateWithFlags(&s.ready, cudaEventDisableTiming), "setup");
  s.check_cuda(cudaMalloc(&s.barrier_value, sizeof(float)), "setup");
  s.check_cuda(cudaMemsetAsync(s.barrier_value, 0, sizeof(float), s.stream), "setup");
}

NcclCommunicator::~NcclCommunicator() = default;

int NcclCommunicator::rank() const { return state_->rank; }
int NcclCommunicator::size() const { return state_->size; }
Device NcclCommunicator::device() const { return Device::cuda(state_->device); }

// ---- operations -----------------------------------------------------------------------------

std::unique_ptr<Work> NcclCommunicator::start_all_reduce_sum(const Tensor& buffer) {
  const char* op = "all_reduce_sum";
  State& s = *state_;
  check_device_buffer(s, buffer, op);
  return enqueue(state_, buffer, op, [&s](void* data, size_t n, ncclDataType_t type) {
    return ncclAllReduce(data, data, n, type, ncclSum, s.comm, s.stream);
  });
}

std::unique_ptr<Work> NcclCommunicator::start_broadcast(const Tensor& buffer, int root) {
  const char* op = "broadcast";
  State& s = *state_;
  check_device_buffer(s, buffer, op);
  check_peer(root, op);
  return enqueue(state_, buffer, op, [&s, root](void* data, size_t n, ncclDataType_t type) {
    return ncclBroadcast(data, data, n, type, root, s.comm, s.stream);
  });
}

std::unique_ptr<Work> NcclCommunicator::start_send(const Tensor& buffer, int to, int /*tag*/) {
  const char* op = "send";
  State& s = *state_;
  check_device_buffer(s, buffer, op);
  check_peer(to, op);
  CTDL_CHECK(to != s.rank, "nccl send: rank ", s.rank, " sends to itself, which the nccl ",
             "communicator does not support (its send waits for a receive that would queue "
             "behind it)");
  return enqueue(state_, buffer, op, [&s, to](void* data, size_t n, ncclDataType_t type) {
    return ncclSend(data, n, type, to, s.comm, s.stream);
  });
}

std::unique_ptr<Work> NcclCommunicator::start_recv(const Tensor& buffer, int from, int /*tag*/) {
  const char* op = "recv";
  State& s = *state_;
  check_device_buffer(s, buffer, op);
  check_peer(from, op);
  CTDL_CHECK(from != s.rank, "nccl recv: rank ", s.rank, " receives from itself, which the ",
             "nccl communicator does not support");
  return enqueue(state_, buffer, op, [&s, from](void* data, size_t n, ncclDataType_t type) {
    return ncclRecv(data, n, type, from, s.comm, s.stream);
  });
}

std::unique_ptr<Work> NcclCommunicator::start_barrier() {
  const char* op = "barrier";
  State& s = *state_;
  cuda::DeviceGuard guard(s.device);
  auto work = queue_after_caller(state_, Tensor(), op);
  s.check(
      ncclAllReduce(s.barrier_value, s.barrier_value, 1, ncclFloat32, ncclSum, s.comm, s.stream),
      op);
  work->record_done();
  return work;
}

void NcclCommunicator::abort(int exit_code) {
  std::cout.flush();
  std::cerr.flush();
  if (state_->comm) {
    ncclCommAbort(state_->comm);  // stops the operations in flight, on this rank
    state_->comm = nullptr;
  }
  state_->bootstrap->abort(exit_code);
  std::_Exit(exit_code);  // (the bootstrap's abort does not return either)
}

bool built_with_nccl() { return true; }

}  // namespace ctdl::distributed

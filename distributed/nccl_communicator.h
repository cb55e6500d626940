// The communicator of CUDA tensors: ctdl's collectives and messages through NCCL, one rank
// per GPU. Built with CTDL_NCCL (nccl_communicator.cpp; no_nccl.cpp stands in otherwise).
//
//   // inside distributed::launch, under mpirun: every rank at once (it is a collective)
//   distributed::Communicator& comm = distributed::nccl_world();        // launch.h
//   Tensor g = randn({1024}).to(distributed::local_device());          // this rank's GPU
//   comm.all_reduce_sum_(g);            // queued on the communicator's stream, then waited for
//
// Each rank takes the GPU `local rank mod device count` (launch.h: local_rank()), unless
// told. Rank 0 makes NCCL's unique id and hands it to the others through the bootstrap
// communicator (MPI). Operations run on a stream of the communicator's own: each start_*
// first makes that stream wait for what the caller has queued on its current stream (so a
// gradient is complete before it is summed), and its Work completes when an event recorded
// after the operation has happened (cudaEventQuery), so the watchdog waits as for MPI.
// A finished Work's results are visible to anything queued afterwards, on any stream.
//
// Unlike MPI: buffers must be contiguous CUDA tensors on this rank's device (CPU tensors
// are refused, and so sum() and broadcast_bytes(), which take host values: use world() for
// those); tags are not matched (NCCL delivers the messages between two ranks in the order
// they were sent); and a send waits on the device until its receive runs, so two ranks that
// exchange messages must not both send first.
#pragma once

#include <memory>

#include "ctdl/distributed/communicator.h"

namespace ctdl::distributed {

struct NcclOptions {
  int device = -1;  // the CUDA device of this rank; -1: local_rank() mod the device count
};

class NcclCommunicator final : public Communicator {
 public:
  // Collective over `bootstrap`'s ranks, which must outlive this communicator. Throws when
  // ctdl was built without NCCL or no CUDA device is present.
  explicit NcclCommunicator(Communicator& bootstrap, NcclOptions options = {});
  ~NcclCommunicator() override;
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override;
  int size() const override;
  std::string name() const override { return "nccl"; }
  Device device() const;

  std::unique_ptr<Work> start_all_reduce_sum(const Tensor& buffer) override;
  std::unique_ptr<Work> start_broadcast(const Tensor& buffer, int root) override;
  std::unique_ptr<Work> start_send(const Tensor& buffer, int to, int tag) override;
  std::unique_ptr<Work> start_recv(const Tensor& buffer, int from, int tag) override;
  std::unique_ptr<Work> start_barrier() override;
  // ncclCommAbort (operations in flight stop), then the bootstrap's abort (MPI_Abort).
  [[noreturn]] void abort(int exit_code) override;

  struct State;

 private:
  std::shared_ptr<State> state_;  // shared with the operations in flight
};

// Whether this build has NCCL (CTDL_NCCL).
bool built_with_nccl();

}  // namespace ctdl::distributed

// The collective and point-to-point operations ctdl's parallel training needs, behind a
// small interface. MPI implements it (mpi_communicator.cpp, build option CTDL_MPI); a single
// process is the trivial case (SingleProcess); NCCL implements it for CUDA tensors
// (nccl_communicator.h, build option CTDL_NCCL).
//
//   distributed::Communicator& comm = distributed::world();   // launch.h
//   Tensor g = ...;                       // contiguous, float32/float64/int64, on the CPU
//   comm.all_reduce_sum_(g);              // every rank ends with the sum
//   comm.broadcast_(w, 0);                // every rank ends with rank 0's w
//   if (comm.rank() == 0) comm.send(t, 1, /*tag=*/7);
//   else comm.recv_(t, 0, 7);             // t's shape and dtype say what arrives
//
// The start_* operations return at once with a Work in flight (what overlaps gradient
// reduction with the rest of backward); the blocking forms wait through the watchdog, so a
// dead or stalled peer becomes a RankFailure after the timeout instead of a silent hang.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ctdl/distributed/watchdog.h"
#include "ctdl/tensor/tensor.h"

namespace ctdl::distributed {

// An operation in flight. Its tensors must stay alive, and untouched, until it completes.
class Work {
 public:
  virtual ~Work() = default;
  // Moves the operation along (MPI progresses non-blocking operations only inside MPI
  // calls); true once it has completed.
  virtual bool test() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string name() const = 0;  // "mpi", "single process"

  // Non-blocking operations on a contiguous CPU tensor (float32, float64 or int64). Every
  // rank must start the collectives of a communicator in the same order.
  virtual std::unique_ptr<Work> start_all_reduce_sum(const Tensor& buffer) = 0;
  virtual std::unique_ptr<Work> start_broadcast(const Tensor& buffer, int root) = 0;
  virtual std::unique_ptr<Work> start_send(const Tensor& buffer, int to, int tag) = 0;
  virtual std::unique_ptr<Work> start_recv(const Tensor& buffer, int from, int tag) = 0;
  virtual std::unique_ptr<Work> start_barrier() = 0;
  // Ends the program on every rank, now: the way out once a peer has failed, since
  // collectives in flight cannot be cancelled.
  [[noreturn]] virtual void abort(int exit_code) = 0;

  // Blocking forms: start, then wait under the watchdog.
  void wait(Work& work, const std::string& what);
  void all_reduce_sum_(const Tensor& buffer);
  void broadcast_(const Tensor& buffer, int root);
  void send(const Tensor& buffer, int to, int tag);
  void recv_(const Tensor& buffer, int from, int tag);
  void barrier();
  // Sums of plain numbers over the ranks (metrics, residual norms), in float64.
  std::vector<double> sum(const std::vector<double>& values);
  // The root's bytes on every rank.
  std::string broadcast_bytes(const std::string& bytes, int root);

  Watchdog& watchdog() { return watchdog_; }

 protected:
  // Checks a buffer and a peer rank for the start_* operations (`op` names the operation).
  void check_buffer(const Tensor& buffer, const char* op) const;
  void check_peer(int peer, const char* op) const;

 private:
  Watchdog watchdog_;
};

// One process, rank 0 of 1: collectives are the identity, and a message sent to oneself
// waits in a queue for the matching receive.
class SingleProcess final : public Communicator {
 public:
  SingleProcess();
  ~SingleProcess() override;
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string name() const override { return "single process"; }
  std::unique_ptr<Work> start_all_reduce_sum(const Tensor& buffer) override;
  std::unique_ptr<Work> start_broadcast(const Tensor& buffer, int root) override;
  std::unique_ptr<Work> start_send(const Tensor& buffer, int to, int tag) override;
  std::unique_ptr<Work> start_recv(const Tensor& buffer, int from, int tag) override;
  std::unique_ptr<Work> start_barrier() override;
  [[noreturn]] void abort(int exit_code) override;

  struct Mailbox;

 private:
  std::shared_ptr<Mailbox> mailbox_;
};

// The MPI communicator of all ranks (MPI_COMM_WORLD). MPI must be initialized
// (distributed::launch does it). Throws when ctdl was built without MPI.
std::unique_ptr<Communicator> make_mpi_world();
// Whether this build has MPI (CTDL_MPI).
bool built_with_mpi();

}  // namespace ctdl::distributed

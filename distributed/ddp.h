// Data-parallel training in the manner of PyTorch's DistributedDataParallel: every rank holds
// the whole model and a shard of each batch; gradients are summed over the ranks in buckets
// while backward is still running.
//
//   distributed::Communicator& comm = distributed::world();
//   distributed::DistributedDataParallel ddp(comm, net);      // rank 0's weights everywhere
//   nn::data::DataLoader mine = nn::shard_loader(loader, comm.rank(), comm.size());
//   for (auto [x, y] : mine) {
//     opt.zero_grad();
//     nn::cross_entropy(net(x), y).backward();   // returns with the ranks' mean gradient
//     opt.step();
//   }
//
// How: each parameter's gradient accumulator is wrapped (a post-accumulate hook: it runs
// when backward adds to .grad, never for autograd::grad, so adjoint solvers that call grad()
// inside backward are not mistaken for it). The hook copies weight · gradient into its
// bucket (parameters in reverse order of registration, about the order backward reaches
// them, `bucket_bytes` each); a full bucket starts its non-blocking all-reduce at once, in
// bucket order on every rank, and later hooks move the reductions along. When the last
// parameter has its gradient, backward waits for the buckets (under the watchdog) and
// writes the sums into .grad.
//
// A step in which some parameter gets no gradient (or a rank has no batch) is ended by
// synchronize(), which every rank then calls once per step. Several backward passes for
// one step, double backward through the reduction, and buffers that change in training
// (BatchNorm statistics are broadcast once, at the start, and then stay per rank) are not
// supported.
//
// Reduction order: the sum over ranks is another order of summation than one process's
// mean over the whole batch; float32 parameters agree with single-process training to
// about 1e-6 relative per step (tests/distributed/test_mpi.cpp holds 2e-5 after 10 SGD
// steps).
#pragma once

#include <memory>

#include "ctdl/distributed/communicator.h"
#include "ctdl/nn/module.h"
#include "ctdl/nn/train/parallel.h"

namespace ctdl::distributed {

struct DdpOptions {
  int64_t bucket_bytes = int64_t{1} << 20;  // PyTorch takes 25 MiB; ctdl's models are smaller
  bool broadcast_parameters = true;         // rank 0's parameters and buffers at construction
};

class DistributedDataParallel final : public nn::GradientSync {
 public:
  DistributedDataParallel(Communicator& comm, nn::Module model, DdpOptions options = {});
  // Unwraps the gradient accumulators: the parameters train alone again.
  ~DistributedDataParallel() override;
  DistributedDataParallel(const DistributedDataParallel&) = delete;
  DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;

  void set_gradient_weight(double weight) override;
  void synchronize() override;

  int64_t num_buckets() const;
  // Buckets whose reduction started before backward had reached every parameter, since
  // construction: how much communication overlapped the backward pass.
  int64_t overlapped_buckets() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace ctdl::distributed

// How `ctdl run` and fit_classifier take part in data-parallel training. Under mpirun,
// distributed::launch (distributed/launch.h) installs a DataParallel; in a plain process
// there is none and everything here is the single-process behaviour.
//
//   if (nn::DataParallel* dp = nn::data_parallel()) {
//     data::DataLoader mine = nn::shard_loader(train, dp->rank(), dp->size());
//     std::unique_ptr<nn::GradientSync> sync = dp->sync_gradients(model);  // rank 0's weights
//     for (auto [x, y] : mine) {                                           // everywhere
//       opt.zero_grad();
//       loss(x, y).backward();   // buckets of gradients are summed over the ranks meanwhile
//       sync->synchronize();     // once per step, on every rank
//       opt.step();
//     }
//   }
//   if (nn::is_main_process()) { /* write files */ }
//
// The seam lives here, header-only, so that nn/ needs neither MPI nor distributed/: the
// implementation is distributed::DistributedDataParallel. fit_classifier (fit.cpp) is the
// worked example. An example that asks for none of this runs the same steps on every rank
// (same seeds, same data: the same numbers), and nn::Run lets rank 0 alone write files.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ctdl/nn/data/dataloader.h"
#include "ctdl/nn/module.h"
#include "ctdl/tensor/error.h"

namespace ctdl::nn {

// The gradient reduction of one model across the ranks.
class GradientSync {
 public:
  virtual ~GradientSync() = default;
  // This rank's share of the next step's loss: its gradients are multiplied by `weight`
  // before they are summed over the ranks. Default 1/size (the mean of the ranks'
  // gradients); with batches of different sizes, local examples / global examples.
  virtual void set_gradient_weight(double weight) = 0;
  // Ends the step's reduction; every rank calls it once per step, after its backward or, on
  // a rank with no batch for the step, instead of one (it contributes zeros). A backward
  // that reaches every parameter has already ended it; then this returns at once.
  virtual void synchronize() = 0;
};

class DataParallel {
 public:
  virtual ~DataParallel() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Copies rank 0's parameters and buffers to every rank, then sums the gradients of the
  // model's parameters over the ranks in every backward (until the result is destroyed).
  virtual std::unique_ptr<GradientSync> sync_gradients(Module& model) = 0;
  // Each value summed over the ranks.
  virtual std::vector<double> sum(const std::vector<double>& values) = 0;
  // Rank 0's bytes on every rank (a checkpoint that only rank 0's file system holds).
  virtual std::string broadcast_from_main(const std::string& bytes) = 0;
};

inline DataParallel*& data_parallel_slot() {
  static DataParallel* current = nullptr;
  return current;
}
// Null in a single process.
inline DataParallel* data_parallel() { return data_parallel_slot(); }
inline void set_data_parallel(DataParallel* dp) { data_parallel_slot() = dp; }
// Rank 0, or a single process: the one that writes files and prints.
inline bool is_main_process() { return !data_parallel() || data_parallel()->rank() == 0; }

// What rank `rank` of `ranks` loads of `loader`'s epochs: every ranks-th example of each
// epoch's order, in batches of ceil(batch_size / ranks). When ranks divides the batch size,
// batch b of the shards together is exactly batch b of `loader`. The dataset stays owned by
// `loader`, which must outlive the shard.
inline data::DataLoader shard_loader(const data::DataLoader& loader, int64_t rank, int64_t ranks) {
  data::DataLoaderOptions o = loader.options();
  CTDL_CHECK(o.num_shards == 1, "shard_loader: the loader is already shard ", o.shard, " of ",
             o.num_shards);
  CTDL_CHECK(ranks >= 1 && rank >= 0 && rank < ranks, "shard_loader: rank ", rank, " of ", ranks,
             " does not exist");
  o.num_shards = ranks;
  o.shard = rank;
  o.batch_size = (o.batch_size + ranks - 1) / ranks;
  std::shared_ptr<const data::Dataset> view(std::shared_ptr<const data::Dataset>(),
                                            &loader.dataset());
  return data::DataLoader(view, std::move(o));
}

// Examples in batch b of shard_loader(loader, r, ranks), summed over r: the global batch a
// data-parallel step averages over.
inline int64_t sharded_batch_examples(const data::DataLoader& loader, int64_t ranks, int64_t b) {
  const data::DataLoaderOptions& o = loader.options();
  const int64_t n = loader.dataset().size(), per_rank = (o.batch_size + ranks - 1) / ranks;
  int64_t total = 0;
  for (int64_t r = 0; r < ranks; ++r) {
    int64_t left = n / ranks + (r < n % ranks ? 1 : 0) - b * per_rank;
    int64_t in_batch = std::clamp<int64_t>(left, 0, per_rank);
    if (!(o.drop_last && in_batch < per_rank)) total += in_batch;
  }
  return total;
}

// The steps of a data-parallel epoch: the longest shard's batches, or with drop_last those
// that are complete on every shard (a rank past its shard's end takes part with no batch).
inline int64_t sharded_steps(const data::DataLoader& loader, int64_t ranks) {
  int64_t longest = 0, shortest = INT64_MAX;
  for (int64_t r = 0; r < ranks; ++r) {
    int64_t n = shard_loader(loader, r, ranks).size();
    longest = std::max(longest, n), shortest = std::min(shortest, n);
  }
  return loader.options().drop_last ? shortest : longest;
}

}  // namespace ctdl::nn

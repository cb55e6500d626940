// DataLoader: batches of a dataset, shuffled reproducibly, prepared ahead of the training
// loop.
//
//   nn::data::DataLoader loader(train, {.batch_size = 128, .shuffle = true, .seed = 0});
//   for (int epoch = 0; epoch < epochs; ++epoch) {
//     loader.set_epoch(epoch);                // the order is a function of (seed, epoch)
//     for (auto [x, y] : loader) { ... }      // x [128, ...], y [128]
//   }
//
// Determinism: the order of epoch e depends only on (seed, e), and a random transform of
// example i in epoch e only on (seed, e, i). Threads, prefetching and resuming from a
// checkpoint (set_epoch to the epoch to redo) do not change a single number.
//
// Prefetching: while the training loop works on batch k, a background thread prepares
// batches k+1 .. k+prefetch and hands them over through a oneTBB concurrent_bounded_queue;
// inside a batch, examples that go through get() (and the transform) are loaded in parallel
// with tbb::parallel_for. The producer is a plain thread, not a TBB task, because it blocks
// on the queue and must not hold one of the workers the compute kernels use.
//
// On a GPU: {.device = Device::cuda(0)} delivers batches there (see DataLoaderOptions).
//
// Sharding (data-parallel training): with num_shards = R, shard r sees every R-th example
// of the epoch's order, so the shards partition each epoch.
#pragma once

#include <memory>
#include <vector>

#include "ctdl/nn/data/dataset.h"
#include "ctdl/nn/data/transforms.h"

namespace ctdl::nn::data {

struct DataLoaderOptions {
  int64_t batch_size = 1;
  bool shuffle = false;
  bool drop_last = false;  // drop a last batch smaller than batch_size
  uint64_t seed = 0;
  int64_t prefetch = 2;  // batches prepared ahead; 0 loads each batch when it is asked for
  Transform transform;   // applied to each example's input; empty: none
  int64_t num_shards = 1;
  int64_t shard = 0;
  // Where batches are delivered. For a CUDA device the prefetch thread assembles each batch
  // on the host, stages it in page-locked memory and queues the copy, so the training loop
  // receives device tensors.
  Device device = Device::cpu();
};

class DataLoader {
 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options);
  // A dataset passed by value is moved into shared ownership.
  // clang-format off
  template <class D>
    requires std::is_base_of_v<Dataset, D>
  DataLoader(D dataset, DataLoaderOptions options)
      : DataLoader(std::make_shared<D>(std::move(dataset)), std::move(options)) {}
  // clang-format on

  // Batches per epoch.
  int64_t size() const;
  // Examples per epoch (this shard's).
  int64_t num_examples() const;
  const Dataset& dataset() const { return *dataset_; }
  const DataLoaderOptions& options() const { return options_; }

  // The epoch the next iteration runs (each begin() then advances it by one).
  void set_epoch(int64_t epoch) { epoch_ = epoch; }
  int64_t epoch() const { return epoch_; }
  // The example indices of an epoch in the order they are served (this shard's).
  std::vector<int64_t> order(int64_t epoch) const;
  // Batch b of an epoch, loaded now (what the iterator serves).
  Example batch(int64_t epoch, int64_t b) const;

  class Iterator;
  Iterator begin();
  Iterator end();

 private:
  Example load(int64_t epoch, const std::vector<int64_t>& order, int64_t b) const;
  Example load_on_host(int64_t epoch, const std::vector<int64_t>& order, int64_t b) const;
  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
  int64_t epoch_ = 0;
};

class DataLoader::Iterator {
 public:
  struct Epoch;  // the batches of one pass, and the thread preparing them
  Iterator() = default;
  Iterator(std::shared_ptr<Epoch> epoch);
  const Example& operator*() const { return current_; }
  const Example* operator->() const { return &current_; }
  Iterator& operator++();
  bool operator==(const Iterator& other) const { return index_ == other.index_; }
  // The position in the epoch (0 for the first batch).
  int64_t index() const { return index_; }

 private:
  void load();
  std::shared_ptr<Epoch> epoch_;
  int64_t index_ = -1;  // -1: the end
  Example current_;
};

}  // namespace ctdl::nn::data

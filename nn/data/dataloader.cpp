#include "ctdl/nn/data/dataloader.h"

#include <tbb/concurrent_queue.h>
#include <tbb/parallel_for.h>

#include <atomic>
#include <exception>
#include <thread>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/backends/cuda/cuda.h"
#include "ctdl/tensor/error.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::nn::data {

namespace {

// SplitMix64's finalizer: spreads (seed, epoch, index) into well-mixed generator seeds.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t epoch_seed(uint64_t seed, int64_t epoch) {
  return mix(mix(seed) ^ static_cast<uint64_t>(epoch));
}

}  // namespace

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(std::move(options)) {
  const DataLoaderOptions& o = options_;
  CTDL_CHECK(dataset_ != nullptr, "DataLoader: no dataset");
  CTDL_CHECK(o.batch_size > 0, "DataLoader: batch_size must be positive, got ", o.batch_size);
  CTDL_CHECK(o.prefetch >= 0, "DataLoader: prefetch must be >= 0, got ", o.prefetch);
  CTDL_CHECK(o.num_shards > 0 && o.shard >= 0 && o.shard < o.num_shards, "DataLoader: shard ",
             o.shard, " of ", o.num_shards, " does not exist");
}

int64_t DataLoader::num_examples() const {
  int64_t n = dataset_->size(), r = options_.num_shards;
  return n / r + (options_.shard < n % r ? 1 : 0);
}

int64_t DataLoader::size() const {
  int64_t n = num_examples(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

std::vector<int64_t> DataLoader::order(int64_t epoch) const {
  const int64_t n = dataset_->size();
  std::vector<int64_t> all(n);
  for (int64_t i = 0; i < n; ++i) all[i] = i;
  if (options_.shuffle) {
    // Fisher-Yates with Philox draws keyed by (seed, epoch): the same order on every run.
    uint64_t key = epoch_seed(options_.seed, epoch);
    for (int64_t i = n - 1; i > 0; --i) {
      int64_t j = philox::integer(key, static_cast<uint64_t>(i), 0, i + 1);
      std::swap(all[i], all[j]);
    }
  }
  if (options_.num_shards == 1) return all;
  std::vector<int64_t> mine;
  for (int64_t i = options_.shard; i < n; i += options_.num_shards) mine.push_back(all[i]);
  return mine;
}

Example DataLoader::batch(int64_t epoch, int64_t b) const {
  CTDL_CHECK(b >= 0 && b < size(), "DataLoader::batch: batch ", b, " out of range for ", size(),
             " batches");
  return load(epoch, order(epoch), b);
}

namespace {

// A host tensor on `device`; to a real GPU through page-locked memory, which the driver
// copies from at full bandwidth without staging it again.
Tensor deliver(const Tensor& t, Device device) {
  if (!t.defined() || t.device() == device) return t;
  if (!device.is_cuda() || !cuda::is_available()) return t.to(device);
  Tensor pinned = cuda::pinned_empty(t.shape(), t.dtype());
  pinned.copy_(t);
  // The copy from page-locked memory is asynchronous; freeing `pinned` (cudaFreeHost) waits
  // for the device, so the buffer outlives the copy. This thread is the prefetcher's, so
  // the wait holds up only the next batch's preparation.
  return pinned.to(device);
}

}  // namespace

Example DataLoader::load(int64_t epoch, const std::vector<int64_t>& indices, int64_t b) const {
  Example e = load_on_host(epoch, indices, b);
  if (options_.device.is_cpu()) return e;
  return {deliver(e.input, options_.device), deliver(e.target, options_.device)};
}

Example DataLoader::load_on_host(int64_t epoch, const std::vector<int64_t>& indices, int64_t b) const {
  int64_t begin = b * options_.batch_size;
  int64_t end =
      std::min<int64_t>(begin + options_.batch_size, static_cast<int64_t>(indices.size()));
  std::vector<int64_t> chosen(indices.begin() + begin, indices.begin() + end);
  autograd::NoGradGuard no_grad;
  if (!options_.transform) return dataset_->get_batch(chosen);
  std::vector<Example> examples(chosen.size());
  uint64_t key = epoch_seed(options_.seed, epoch);
  tbb::parallel_for(size_t(0), chosen.size(), [&](size_t k) {
    autograd::NoGradGuard no_grad_here;  // grad mode is per thread
    Example e = dataset_->get(chosen[k]);
    Generator gen(mix(key ^ mix(static_cast<uint64_t>(chosen[k]))));
    e.input = options_.transform(e.input, gen);
    examples[k] = std::move(e);
  });
  return collate(examples);
}

// ---- iteration ----------------------------------------------------------------------------------

struct DataLoader::Iterator::Epoch {
  struct Item {
    Example batch;
    std::exception_ptr error;
  };
  const DataLoader* loader;
  int64_t epoch, batches;
  std::vector<int64_t> order;
  tbb::concurrent_bounded_queue<Item> queue;
  std::atomic<bool> stop{false};
  std::thread producer;

  Epoch(const DataLoader* l, int64_t e)
      : loader(l), epoch(e), batches(l->size()), order(l->order(e)) {
    if (loader->options().prefetch == 0 || batches == 0) return;
    queue.set_capacity(loader->options().prefetch);
    producer = std::thread([this] {
      for (int64_t b = 0; b < batches && !stop; ++b) {
        Item item;
        try {
          item.batch = loader->load(epoch, order, b);
        } catch (...) {
          item.error = std::current_exception();
        }
        bool failed = item.error != nullptr;
        try {
          queue.push(std::move(item));
        } catch (...) {  // aborted: the consumer is gone
          return;
        }
        if (failed) return;
      }
    });
  }

  Example next(int64_t b) {
    if (!producer.joinable()) return loader->load(epoch, order, b);
    Item item;
    queue.pop(item);
    if (item.error) std::rethrow_exception(item.error);
    return std::move(item.batch);
  }

  ~Epoch() {
    if (!producer.joinable()) return;
    // The consumer leaves early: make the producer stop. It checks `stop` before each batch,
    // so at most the push in flight follows; draining the queue leaves room for that push
    // (abort() alone would miss a producer that was not yet waiting).
    stop = true;
    Item dropped;
    while (queue.try_pop(dropped)) {
    }
    queue.abort();
    producer.join();
  }
};

DataLoader::Iterator::Iterator(std::shared_ptr<Epoch> epoch) : epoch_(std::move(epoch)), index_(0) {
  load();
}

void DataLoader::Iterator::load() {
  if (index_ >= epoch_->batches) {
    index_ = -1;
    current_ = {};
    epoch_.reset();
    return;
  }
  current_ = epoch_->next(index_);
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  ++index_;
  load();
  return *this;
}

DataLoader::Iterator DataLoader::begin() {
  return Iterator(std::make_shared<Iterator::Epoch>(this, epoch_++));
}

DataLoader::Iterator DataLoader::end() { return Iterator(); }

}  // namespace ctdl::nn::data

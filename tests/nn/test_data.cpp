// Datasets, the DataLoader (order, determinism, prefetching, sharding) and transforms.
#include <atomic>
#include <set>

#include "ctdl/nn/data/dataloader.h"
#include "ctdl/nn/data/transforms.h"
#include "helpers.h"

using namespace ctdl;
using namespace ctdl::nn::data;
using ctdl::testing::allclose;

namespace {

// Example i has input [i, i] and target i: batches reveal which examples they hold.
TensorDataset numbered(int64_t n) {
  Tensor ids = arange(static_cast<double>(n), {.dtype = DType::Int64});
  return {ids.to(DType::Float32).unsqueeze(1).expand({n, 2}).contiguous(), ids};
}

std::vector<int64_t> targets_of(DataLoader& loader) {
  std::vector<int64_t> out;
  for (auto [x, y] : loader) {
    std::vector<int64_t> t = y.to_vector<int64_t>();
    out.insert(out.end(), t.begin(), t.end());
  }
  return out;
}

}  // namespace

TEST_CASE("batches cover every example once per epoch, in order unless shuffled", "[nn][data]") {
  DataLoader plain(numbered(10), {.batch_size = 4});
  CHECK(plain.size() == 3);
  std::vector<Dims> shapes;
  for (auto [x, y] : plain) shapes.push_back(x.shape());
  CHECK(shapes == std::vector<Dims>{{4, 2}, {4, 2}, {2, 2}});
  CHECK(targets_of(plain) == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});

  DataLoader dropping(numbered(10), {.batch_size = 4, .drop_last = true});
  CHECK(dropping.size() == 2);
  CHECK(targets_of(dropping).size() == 8);

  DataLoader shuffled(numbered(100), {.batch_size = 16, .shuffle = true, .seed = 3});
  std::vector<int64_t> first = targets_of(shuffled),
                       second = targets_of(shuffled);  // epochs 0 and 1
  CHECK(std::set<int64_t>(first.begin(), first.end()).size() == 100);
  CHECK(std::set<int64_t>(second.begin(), second.end()).size() == 100);
  CHECK(first != second);
  std::vector<int64_t> sorted = first;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted != first);
  // Inputs travel with their targets.
  for (auto [x, y] : shuffled) CHECK(allclose(x.select(1, 0), y.to(DType::Float32), 0, 0));
}

TEST_CASE("the order is a function of (seed, epoch) only", "[nn][data]") {
  DataLoaderOptions o{.batch_size = 7, .shuffle = true, .seed = 42};
  DataLoader a(numbered(50), o), b(numbered(50), o);
  std::vector<int64_t> a0 = targets_of(a), a1 = targets_of(a);
  b.set_epoch(1);  // a resumed run starts at epoch 1
  CHECK(targets_of(b) == a1);
  b.set_epoch(0);
  CHECK(targets_of(b) == a0);
  CHECK(b.order(1) == a1);
  o.seed = 43;
  DataLoader c(numbered(50), o);
  CHECK(targets_of(c) != a0);
}

TEST_CASE("prefetching and threads change nothing, random transforms included", "[nn][data]") {
  auto jitter = [](const Tensor& x, Generator& gen) { return x + rand(x.shape(), {}, &gen); };
  DataLoaderOptions o{
      .batch_size = 8, .shuffle = true, .seed = 5, .prefetch = 0, .transform = jitter};
  DataLoader direct(numbered(37), o);
  o.prefetch = 3;
  DataLoader ahead(numbered(37), o);
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::vector<Tensor> xs;
    for (auto [x, y] : direct) xs.push_back(x);
    size_t k = 0;
    for (auto [x, y] : ahead) {
      REQUIRE(k < xs.size());
      CHECK(allclose(x, xs[k++], 0, 0));
    }
    CHECK(k == xs.size());
  }
  // An example's noise depends on its index and the epoch, not on its batch.
  DataLoader other_batches(numbered(37),
                           {.batch_size = 5, .shuffle = true, .seed = 5, .transform = jitter});
  Example by8 = direct.batch(0, 0), by5 = other_batches.batch(0, 0);
  CHECK(allclose(by8.input.narrow(0, 0, 5), by5.input, 0, 0));
  CHECK_FALSE(allclose(direct.batch(1, 0).input, direct.batch(0, 0).input));
}

TEST_CASE("shards partition each epoch", "[nn][data]") {
  std::vector<int64_t> all;
  for (int64_t r = 0; r < 3; ++r) {
    DataLoader shard(numbered(20),
                     {.batch_size = 4, .shuffle = true, .seed = 9, .num_shards = 3, .shard = r});
    CHECK(shard.num_examples() == (r < 2 ? 7 : 6));
    std::vector<int64_t> mine = targets_of(shard);
    all.insert(all.end(), mine.begin(), mine.end());
  }
  std::sort(all.begin(), all.end());
  std::vector<int64_t> expected(20);
  std::iota(expected.begin(), expected.end(), 0);
  CHECK(all == expected);
  CHECK_THROWS_WITH_ALL(DataLoader(numbered(4), {.num_shards = 2, .shard = 2}), "shard 2 of 2");
}

TEST_CASE("errors while loading reach the training loop; stopping early does not hang",
          "[nn][data]") {
  struct Faulty : Dataset {
    int64_t size() const override { return 20; }
    Example get(int64_t i) const override {
      CTDL_CHECK(i != 13, "Faulty: example ", i, " is unreadable");
      return {full({2}, static_cast<double>(i)), scalar_tensor(0.0)};
    }
  };
  for (int64_t prefetch : {0, 2}) {
    DataLoader loader(Faulty(), {.batch_size = 4, .prefetch = prefetch});
    CHECK_THROWS_WITH_ALL(targets_of(loader), "example 13 is unreadable");
    int seen = 0;
    for (auto [x, y] : loader) {  // leave after one batch: the producer must stop cleanly
      ++seen;
      break;
    }
    CHECK(seen == 1);
  }
  // Leaving at every point of the producer's work: while it loads, while it waits on a full
  // queue, right after it pushed.
  DataLoader quick(numbered(64), {.batch_size = 4, .prefetch = 1});
  for (int k = 0; k < 60; ++k) {
    int stop_after = k % 3;
    for (auto [x, y] : quick)
      if (stop_after-- == 0) break;
  }
  CHECK_THROWS_WITH_ALL(collate({{zeros({2}), zeros({})}, {zeros({3}), zeros({})}}),
                        "example 1 of the batch has input [3]");
}

TEST_CASE("transforms: normalize, random crop with padding, flip, grayscale", "[nn][data]") {
  Generator gen(1);
  Tensor img = arange(2 * 4 * 5).reshape({2, 4, 5}).to(DType::Float32);
  Tensor n = transforms::normalize({1.0, 2.0}, {2.0, 4.0})(img, gen);
  CHECK(allclose(n.select(0, 0), (img.select(0, 0) - 1.0) / 2.0, 1e-6, 0));
  CHECK(allclose(n.select(0, 1), (img.select(0, 1) - 2.0) / 4.0, 1e-6, 0));
  CHECK_THROWS_WITH_ALL(transforms::normalize({0, 0, 0}, {1, 1, 1})(img, gen),
                        "3 means for an image with 2 channels");

  // Every crop is a window of the padded image; over many draws every offset appears.
  Tensor padded = pad(img, {1, 1, 1, 1}, PadMode::Constant, -1.0);
  std::set<std::pair<int, int>> offsets;
  auto crop = transforms::random_crop(4, 1, -1.0);
  for (int k = 0; k < 200; ++k) {
    Tensor c = crop(img, gen);
    REQUIRE(c.shape() == Dims{2, 4, 4});
    bool matched = false;
    for (int top = 0; top <= 2 && !matched; ++top)
      for (int left = 0; left <= 3 && !matched; ++left)
        if (allclose(c, padded.narrow(1, top, 4).narrow(2, left, 4), 0, 0)) {
          matched = true;
          offsets.insert({top, left});
        }
    CHECK(matched);
  }
  CHECK(offsets.size() == 12);

  int flipped = 0;
  auto flip_half = transforms::random_horizontal_flip(0.5);
  for (int k = 0; k < 400; ++k) {
    Tensor f = flip_half(img, gen);
    if (!allclose(f, img, 0, 0)) {
      CHECK(allclose(f, flip(img, {2}), 0, 0));
      ++flipped;
    }
  }
  CHECK(flipped > 150);
  CHECK(flipped < 250);

  Tensor rgb = tensor({1.0, 0.0, 0.5, 0.0, 1.0, 0.5, 0.0, 0.0, 0.5}, {.dtype = DType::Float32})
                   .reshape({3, 1, 3});
  Tensor gray = transforms::to_grayscale()(rgb, gen);
  CHECK(gray.shape() == Dims{1, 1, 3});
  CHECK(allclose(gray, tensor({0.299, 0.587, 0.5}, {.dtype = DType::Float32}).reshape({1, 1, 3}),
                 1e-6, 0));
  auto both =
      transforms::compose({transforms::to_grayscale(), transforms::normalize({0.5}, {0.5})});
  CHECK(allclose(both(rgb, gen), (gray - 0.5) / 0.5, 1e-6, 0));
}

TEST_CASE("TensorDataset and Subset", "[nn][data]") {
  TensorDataset d = numbered(10);
  TensorDataset s = d.slice(3, 7);
  CHECK(s.size() == 4);
  CHECK(s.get(0).target.item<int64_t>() == 3);
  Example b = s.get_batch({3, 0});
  CHECK(b.target.to_vector<int64_t>() == std::vector<int64_t>{6, 3});
  Subset sub(std::make_shared<TensorDataset>(d), {9, 1});
  CHECK(sub.get(0).target.item<int64_t>() == 9);
  CHECK(sub.get_batch({1, 0}).target.to_vector<int64_t>() == std::vector<int64_t>{1, 9});
  CHECK_THROWS_WITH_ALL(d.get(10), "index 10 out of range for 10");
  CHECK_THROWS_WITH_ALL(TensorDataset(zeros({3, 2}), zeros({4})), "same first dimension", "[3, 2]",
                        "[4]");
}

// Run on two ranks (mpirun -np 2, tests/distributed/distributed.cmake): data-parallel training
// against one process on the global batch, sharding, and MGRIT and layer-parallel gradients
// against serial propagation. Every rank computes the single-process reference itself.
#include <filesystem>

#include "ctdl/distributed/ddp.h"
#include "ctdl/distributed/launch.h"
#include "ctdl/distributed/layer_parallel.h"
#include "ctdl/nn/train/fit.h"
#include "helpers.h"

using namespace ctdl;
using namespace ctdl::distributed;

namespace {

struct Mlp : nn::Module {
  nn::Linear fc1 = register_module("fc1", nn::Linear(4, 16));
  nn::Linear fc2 = register_module("fc2", nn::Linear(16, 3));
  Tensor operator()(const Tensor& x) const { return fc2(tanh(fc1(x))); }
};

nn::data::TensorDataset toy_data(int64_t n) {
  Generator gen(11);
  Tensor x = randn({n, 4}, {}, &gen);
  Tensor y = argmax(matmul(x, randn({4, 3}, {}, &gen)), 1);
  return nn::data::TensorDataset(x, y);
}

double max_parameter_difference(const nn::Module& a, const nn::Module& b) {
  double d = 0;
  auto pa = a.named_parameters(), pb = b.named_parameters();
  for (size_t i = 0; i < pa.size(); ++i)
    d = std::max(d, testing::max_abs_diff(pa[i].second, pb[i].second));
  return d;
}

// Float32 sums in another order: about 1e-7 relative per step; 2e-5 absolute after a few
// steps of SGD is the documented tolerance (distributed/ddp.h).
constexpr double kReductionTolerance = 2e-5;

}  // namespace

TEST_CASE("ddp: two ranks train like one process on the global batch") {
  Communicator& comm = world();
  REQUIRE(comm.size() == 2);
  auto data = toy_data(96);
  nn::data::DataLoader loader(data, {.batch_size = 16, .shuffle = true, .seed = 3, .prefetch = 0});

  manual_seed(5);
  Mlp alone;
  manual_seed(comm.rank() == 0 ? 5 : 99);  // rank 1 starts elsewhere: DDP broadcasts rank 0's
  Mlp together;
  nn::SGD opt_alone(alone.parameters(), {.lr = 0.1, .momentum = 0.9});
  nn::SGD opt_together(together.parameters(), {.lr = 0.1, .momentum = 0.9});
  DistributedDataParallel ddp(comm, together, {.bucket_bytes = 256});
  CHECK(ddp.num_buckets() >= 3);
  nn::data::DataLoader shard = nn::shard_loader(loader, comm.rank(), comm.size());
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    loader.set_epoch(epoch);
    for (auto [x, y] : loader) {  // one process, the whole batch
      opt_alone.zero_grad();
      nn::cross_entropy(alone(x), y).backward();
      opt_alone.step();
    }
    shard.set_epoch(epoch);
    for (auto [x, y] : shard) {  // this rank's half of it
      opt_together.zero_grad();
      nn::cross_entropy(together(x), y).backward();
      opt_together.step();
    }
  }
  double d = max_parameter_difference(alone, together);
  INFO("largest difference from one process: " << d);
  CHECK(d < kReductionTolerance);
  CHECK(d > 0);  // the reduction really ran in another order (else the test tests nothing)
  // Both ranks hold the same parameters, bit for bit.
  for (const Tensor& p : together.parameters()) {
    Tensor mine = p.detach().clone(), theirs = p.detach().clone();
    comm.broadcast_(theirs, 0);
    CHECK(testing::max_abs_diff(mine, theirs) == 0);
  }
  CHECK(ddp.overlapped_buckets() > 0);
}

TEST_CASE("ddp: fit_classifier under mpirun equals fit_classifier in one process") {
  Communicator& comm = world();
  auto dir = std::filesystem::temp_directory_path() / "ctdl_test_mpi_fit";
  auto data = toy_data(100), test_data = toy_data(40);
  auto train = [&](bool parallel, const std::string& sub) {
    nn::DataParallel* dp = nn::data_parallel();
    if (!parallel) nn::set_data_parallel(nullptr);  // this rank alone
    manual_seed(7);
    Mlp net;
    nn::Adam opt(net.parameters(), {.lr = 1e-2});
    nn::data::DataLoader tl(data, {.batch_size = 20, .shuffle = true, .prefetch = 0});
    nn::data::DataLoader vl(test_data, {.batch_size = 8, .prefetch = 0});
    nn::Run run({.example = "fit", .dir = dir / sub});
    nn::ClassifierResult r = nn::fit_classifier(run, net, net, opt, tl, vl, {.epochs = 2});
    nn::set_data_parallel(dp);
    return std::make_pair(net, r);
  };
  auto [alone, r1] = train(false, "alone" + std::to_string(comm.rank()));
  auto [together, r2] = train(true, "together");
  CHECK(max_parameter_difference(alone, together) < kReductionTolerance);
  CHECK(r2.test_accuracy == Approx(r1.test_accuracy));
  CHECK(r2.train_loss == Approx(r1.train_loss).epsilon(1e-5));
  comm.barrier();
  // Rank 0 alone wrote the run's files.
  if (comm.rank() == 0) {
    CHECK(std::filesystem::exists(dir / "together" / "checkpoint.safetensors"));
    CHECK(std::filesystem::exists(dir / "together" / "metrics.jsonl"));
  }
  comm.barrier();
  if (comm.rank() == 0) std::filesystem::remove_all(dir);
}

TEST_CASE("sharding: the ranks see every example once per epoch") {
  Communicator& comm = world();
  const int64_t n = 37;
  nn::data::TensorDataset data(arange(0, static_cast<double>(n)).reshape({n, 1}),
                               zeros({n}, {.dtype = DType::Int64}));
  nn::data::DataLoader loader(data, {.batch_size = 6, .shuffle = true, .seed = 1, .prefetch = 0});
  nn::data::DataLoader shard = nn::shard_loader(loader, comm.rank(), comm.size());
  for (int64_t epoch : {0, 1, 5}) {
    std::vector<double> counts(n, 0.0);
    shard.set_epoch(epoch);
    for (auto [x, y] : shard)
      for (double v : x.to_vector<double>()) counts[static_cast<size_t>(v)] += 1;
    counts = comm.sum(counts);
    for (int64_t i = 0; i < n; ++i) CHECK(counts[i] == 1.0);
  }
}

TEST_CASE("mgrit: two ranks converge to serial propagation both ways round") {
  Communicator& comm = world();
  manual_seed(2);
  Tensor K0 = randn({4, 4}, {.dtype = DType::Float64}) * 0.8,
         K1 = randn({4, 4}, {.dtype = DType::Float64}) * 0.8;
  const int64_t steps = 64;
  const double h = 1.0 / steps;
  auto residual = [&](int64_t n, const Tensor& u) {
    double t = static_cast<double>(n) / steps;
    return tanh(matmul(u, (K0 * (1 - t) + K1 * t).t()));
  };
  Tensor u0 = randn({5, 4}, {.dtype = DType::Float64});
  Tensor reference = serial_resnet_forward(residual, steps, h, u0);
  for (int levels : {2, 3})
    for (bool fcf : {false, true}) {
      INFO("levels " << levels << ", fcf " << fcf);
      Mgrit mgrit(comm, steps,
                  {.coarsening = 4,
                   .levels = levels,
                   .fcf = fcf,
                   .max_iterations = 30,
                   .tolerance = 1e-12});
      CHECK(mgrit.begin() == comm.rank() * 32);
      std::vector<Tensor> u;
      MgritResult r = mgrit.solve(
          [&](int level, int64_t i, const Tensor& x) {
            int64_t s = mgrit.stride(level);
            return x + residual(i * s, x) * (static_cast<double>(s) * h);
          },
          u0, u);
      CHECK(r.converged);
      for (size_t k = 1; k < r.residuals.size(); ++k) CHECK(r.residuals[k] < r.residuals[k - 1]);
      if (mgrit.holds_end()) CHECK(testing::max_abs_diff(u.back(), reference) < 1e-10);
    }
}

TEST_CASE("layer-parallel: gradients on two ranks equal serial backprop") {
  Communicator& comm = world();
  const int64_t layers = 32;
  const double h = 0.05;
  manual_seed(4);
  std::vector<nn::Linear> blocks;
  for (int64_t n = 0; n < layers; ++n)
    blocks.push_back(nn::Linear(3, 3, {.activation = Activation::Tanh, .dtype = DType::Float64}));
  auto residual = [&](int64_t n, const Tensor& u) { return blocks[n](u); };
  Tensor u0 = randn({4, 3}, {.dtype = DType::Float64});
  // Serial reference on every rank, into .grad; then set aside.
  Tensor x = u0.clone().requires_grad_();
  square(serial_resnet_forward(residual, layers, h, x)).sum().backward();
  std::vector<TensorList> expected;
  for (nn::Linear& b : blocks) {
    TensorList g;
    for (Tensor p : b.parameters()) g.push_back(p.grad()), p.zero_grad();
    expected.push_back(g);
  }
  MgritOptions o{.coarsening = 4, .max_iterations = 30, .tolerance = 1e-13};
  LayerParallelResNet net(comm, layers, h, residual,
                          [&](int64_t n) { return blocks[n].parameters(); },
                          {.forward = o, .backward = o});
  Tensor uN = net.forward(u0);
  Tensor seed = net.holds_output() ? uN * 2.0 : zeros_like(u0);
  Tensor du0 = net.backward(seed);
  if (net.holds_input()) CHECK(testing::max_abs_diff(du0, x.grad()) < 1e-10);
  for (int64_t n = net.first_layer(); n < net.end_layer(); ++n) {
    TensorList params = blocks[n].parameters();
    for (size_t j = 0; j < params.size(); ++j)
      CHECK(testing::max_abs_diff(params[j].grad(), expected[n][j]) < 1e-10);
  }
  // Layers of the other rank got nothing here.
  int64_t other = net.first_layer() == 0 ? layers - 1 : 0;
  CHECK_FALSE(blocks[other].weight.grad().defined());
}

// Run on two ranks, one GPU each (mpirun -np 2, tests/distributed/distributed.cmake): the
// NCCL communicator's collectives and messages on device tensors, and data-parallel
// training of a CUDA model against one process on the global batch. Without NCCL or with
// fewer GPUs than ranks every rank skips, saying why.
#include "ctdl/distributed/ddp.h"
#include "ctdl/distributed/launch.h"
#include "ctdl/distributed/nccl_communicator.h"
#include "helpers.h"

using namespace ctdl;
using namespace ctdl::distributed;

namespace {

// Every rank takes the same decision (one rank skipping alone would leave the other
// waiting in a collective).
bool skip_without_gpus() {
  Communicator& comm = world();
  std::string why;
  if (!built_with_nccl())
    why = "this ctdl was built without NCCL (CTDL_NCCL)";
  else if (cuda::device_count() < comm.size())
    why = str(cuda::device_count(), " CUDA devices for ", comm.size(),
              " ranks (NCCL needs one GPU per rank)");
  if (comm.sum({why.empty() ? 0.0 : 1.0})[0] == 0) return false;
  WARN("skipped: " << (why.empty() ? std::string("another rank has no GPU of its own") : why));
  return true;
}

struct Mlp : nn::Module {
  nn::Linear fc1 = register_module("fc1", nn::Linear(4, 16));
  nn::Linear fc2 = register_module("fc2", nn::Linear(16, 3));
  Tensor operator()(const Tensor& x) const { return fc2(tanh(fc1(x))); }
};

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

}  // namespace

TEST_CASE("nccl: all-reduce and broadcast and messages of device tensors") {
  if (skip_without_gpus()) return;
  Communicator& comm = nccl_world();
  const Device gpu = local_device();
  REQUIRE(gpu.is_cuda());
  REQUIRE(comm.name() == "nccl");
  REQUIRE(comm.size() == 2);
  CHECK(&world_for(gpu) == &comm);
  CHECK(dynamic_cast<NcclCommunicator&>(comm).device() == gpu);
  const int r = comm.rank();

  for (DType dtype : {DType::Float32, DType::Float64, DType::Int64}) {
    INFO("dtype " << dtype);
    Tensor x = (arange(5) + 10.0 * r).to(gpu, dtype);  // rank 0: 0..4, rank 1: 10..14
    comm.all_reduce_sum_(x);
    CHECK(x.device() == gpu);
    CHECK(values(x) == std::vector<double>{10, 12, 14, 16, 18});

    Tensor b = full({3}, 1.0 + r, {.dtype = dtype, .device = gpu});
    comm.broadcast_(b, 1);
    CHECK(values(b) == std::vector<double>{2, 2, 2});
  }

  // The collective waits for what was queued before it on the caller's stream: the sum of
  // freshly computed values, not of what the buffer held before.
  Tensor y = zeros({1000}, {.device = gpu});
  y.copy_(full({1000}, 1.0, {.device = gpu}) * (r + 1.0));
  auto work = comm.start_all_reduce_sum(y);
  comm.wait(*work, "the all-reduce of y");
  CHECK(max(abs(y - 3.0)).item() == 0.0);

  // A message there and back (rank 0 sends first: a NCCL send waits for its receive).
  Tensor m = arange(4, {.dtype = DType::Float64, .device = gpu});
  if (r == 0) {
    comm.send(m * 2.0, 1, 5);
    comm.recv_(m, 1, 6);
    CHECK(values(m) == std::vector<double>{1, 3, 5, 7});
  } else {
    Tensor got = zeros({4}, {.dtype = DType::Float64, .device = gpu});
    comm.recv_(got, 0, 5);
    CHECK(values(got) == std::vector<double>{0, 2, 4, 6});
    comm.send(got + 1.0, 0, 6);
  }
  comm.barrier();

  // Host values and CPU tensors go through world(); the NCCL communicator says so.
  CHECK_THROWS_WITH_ALL(comm.all_reduce_sum_(zeros({2})), "is on cpu", "distributed::world()");
  CHECK(world().sum({1.0})[0] == 2.0);
}

TEST_CASE("nccl: DDP of a CUDA model trains like one process on the global batch") {
  if (skip_without_gpus()) return;
  Communicator& comm = world();
  const Device gpu = local_device();
  Generator gen(11);
  Tensor xs = randn({96, 4}, {}, &gen);
  Tensor ys = argmax(matmul(xs, randn({4, 3}, {}, &gen)), 1);
  nn::data::TensorDataset data(xs, ys);
  nn::data::DataLoader loader(data, {.batch_size = 16, .shuffle = true, .seed = 3, .prefetch = 0});

  manual_seed(5);
  Mlp alone;
  manual_seed(comm.rank() == 0 ? 5 : 99);  // rank 1 starts elsewhere: DDP broadcasts rank 0's
  Mlp together;
  alone.to(gpu);
  together.to(gpu);
  nn::SGD opt_alone(alone.parameters(), {.lr = 0.1, .momentum = 0.9});
  nn::SGD opt_together(together.parameters(), {.lr = 0.1, .momentum = 0.9});
  // What fit_classifier does: the DataParallel of launch() picks NCCL for a CUDA model.
  REQUIRE(nn::data_parallel() != nullptr);
  std::unique_ptr<nn::GradientSync> sync = nn::data_parallel()->sync_gradients(together);
  nn::data::DataLoader shard = nn::shard_loader(loader, comm.rank(), comm.size());
  for (auto [x, y] : loader) {  // one process, the whole batch
    opt_alone.zero_grad();
    nn::cross_entropy(alone(x.to(gpu)), y.to(gpu)).backward();
    opt_alone.step();
  }
  for (auto [x, y] : shard) {  // this rank's half of it
    opt_together.zero_grad();
    nn::cross_entropy(together(x.to(gpu)), y.to(gpu)).backward();
    sync->synchronize();
    opt_together.step();
  }
  auto pa = alone.named_parameters(), pb = together.named_parameters();
  double d = 0;
  for (size_t i = 0; i < pa.size(); ++i) {
    CHECK(pb[i].second.device() == gpu);
    d = std::max(d, testing::max_abs_diff(pa[i].second, pb[i].second));
  }
  INFO("largest difference from one process: " << d);
  CHECK(d < 2e-5);  // float32 sums in another order (distributed/ddp.h)
  // Both ranks hold the same parameters, bit for bit.
  for (const Tensor& p : together.parameters()) {
    Tensor mine = p.detach().clone(), theirs = p.detach().clone();
    nccl_world().broadcast_(theirs, 0);
    CHECK(testing::max_abs_diff(mine, theirs) == 0);
  }
}

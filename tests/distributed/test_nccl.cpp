// The NCCL communicator in one process: what it says without NCCL or a GPU, what it refuses,
// and DDP's buckets on a CUDA model. The two-rank behaviour is in test_nccl_mpi.cpp (run
// under mpirun).
#include "ctdl/distributed/nccl_communicator.h"
#include "cuda/cuda_device.h"

using namespace ctdl;
using namespace ctdl::distributed;

namespace {

struct Net : nn::Module {
  nn::Linear fc1 = register_module("fc1", nn::Linear(3, 8));
  nn::Linear fc2 = register_module("fc2", nn::Linear(8, 2));
  Tensor operator()(const Tensor& x) const { return fc2(tanh(fc1(x))); }
};

class Done final : public Work {
 public:
  bool test() override { return true; }
};

// One rank that takes tensors on any device: collectives are the identity, as for
// SingleProcess, without its CPU check (DDP's buckets are tested here, not a transport).
class AnyDevice final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string name() const override { return "any device"; }
  std::unique_ptr<Work> start_all_reduce_sum(const Tensor& b) override { return seen(b); }
  std::unique_ptr<Work> start_broadcast(const Tensor& b, int) override { return seen(b); }
  std::unique_ptr<Work> start_send(const Tensor& b, int, int) override { return seen(b); }
  std::unique_ptr<Work> start_recv(const Tensor& b, int, int) override { return seen(b); }
  std::unique_ptr<Work> start_barrier() override { return std::make_unique<Done>(); }
  void abort(int exit_code) override { std::_Exit(exit_code); }
  std::vector<Device> devices;  // of every buffer it was given

 private:
  std::unique_ptr<Work> seen(const Tensor& b) {
    devices.push_back(b.device());
    return std::make_unique<Done>();
  }
};

}  // namespace

TEST_CASE("nccl: without NCCL or a GPU making the communicator says why") {
  SingleProcess bootstrap;
  if (!built_with_nccl()) {
    CHECK_THROWS_WITH_ALL(NcclCommunicator(bootstrap), "built without NCCL", "-DCTDL_NCCL");
    CHECK_THROWS_WITH_ALL(nccl_world(), "built without NCCL");
    CHECK_THROWS_WITH_ALL(world_for(Device::cuda(0)), "built without NCCL");
  } else if (!cuda::is_available()) {
    CHECK_THROWS_WITH_ALL(NcclCommunicator(bootstrap), "rank 0 of 1 has no CUDA device",
                          "one GPU per rank");
    CHECK_THROWS_WITH_ALL(nccl_world(), "has no CUDA device");
  } else {
    WARN("skipped: a GPU is present and ctdl has NCCL (the next test case uses them)");
  }
  // The CPU needs none of it.
  CHECK(&world_for(Device::cpu()) == &world());
  if (!cuda::is_available()) CHECK(local_device() == Device::cpu());
}

TEST_CASE("nccl: CPU tensors and other devices and messages to oneself are refused") {
  if (!built_with_nccl() || !cuda::is_available()) {
    WARN("skipped: needs NCCL and a GPU; "
         << (built_with_nccl() ? testing::why_no_gpu() : "this ctdl was built without NCCL"));
    return;
  }
  SingleProcess bootstrap;
  NcclCommunicator comm(bootstrap, {.device = 0});  // one rank: a NCCL communicator of one
  CHECK(comm.name() == "nccl");
  CHECK(comm.device() == Device::cuda(0));
  CHECK_THROWS_WITH_ALL(comm.all_reduce_sum_(zeros({3})), "nccl all_reduce_sum", "is on cpu",
                        "takes CUDA tensors", "distributed::world()");
  CHECK_THROWS_WITH_ALL(comm.broadcast_(zeros({3}), 0), "nccl broadcast", "is on cpu");
  Device gpu = Device::cuda(0);
  CHECK_THROWS_WITH_ALL(comm.all_reduce_sum_(zeros({3, 4}, {.device = gpu}).t()),
                        "must be contiguous");
  CHECK_THROWS_WITH_ALL(comm.all_reduce_sum_(zeros({3}, {.dtype = DType::Bool, .device = gpu})),
                        "float32, float64 or int64 only");
  CHECK_THROWS_WITH_ALL(comm.send(zeros({3}, {.device = gpu}), 0, 1), "sends to itself");
  CHECK_THROWS_WITH_ALL(comm.broadcast_(zeros({3}, {.device = gpu}), 1), "rank 1 does not exist");
  if (cuda::device_count() > 1)
    CHECK_THROWS_WITH_ALL(comm.all_reduce_sum_(zeros({3}, {.device = Device::cuda(1)})),
                          "is on cuda:1", "communicates on cuda:0");

  // On one rank the collectives leave the values as they are.
  Tensor x = arange(6, {.device = gpu});
  comm.all_reduce_sum_(x);
  comm.broadcast_(x, 0);
  comm.barrier();
  CHECK(x.to_vector<double>() == std::vector<double>{0, 1, 2, 3, 4, 5});
  auto work = comm.start_all_reduce_sum(x);
  comm.wait(*work, "an all-reduce of one rank");
  CHECK(work->test());
}

TEST_CASE("ddp: a model on a CUDA device keeps its buckets and gradients there") {
  // On the GPU, or on the emulated device (cuda/cuda_device.h) where there is none.
  manual_seed(2);
  Net net, copy;
  copy.load_state_dict(net.state_dict());
  net.to(testing::gpu());
  Tensor x = randn({16, 3});
  nn::mse_loss(copy(x), zeros({16, 2})).backward();

  AnyDevice comm;
  DistributedDataParallel ddp(comm, net, {.bucket_bytes = 64});
  ddp.set_gradient_weight(0.5);
  nn::mse_loss(net(x.to(testing::gpu())), zeros({16, 2}, {.device = testing::gpu()})).backward();
  ddp.synchronize();
  REQUIRE(comm.devices.size() > 4);  // the parameters' broadcast, then one bucket each
  for (Device d : comm.devices) CHECK(d == testing::gpu());
  auto mine = net.named_parameters(), theirs = copy.named_parameters();
  for (size_t i = 0; i < mine.size(); ++i) {
    CHECK(mine[i].second.grad().device() == testing::gpu());
    CHECK(testing::max_abs_diff(mine[i].second.grad(), theirs[i].second.grad() * 0.5) < 1e-6);
  }
}

// DistributedDataParallel, the data-parallel seam and the watchdog in one process. The
// two-rank behaviour is in test_mpi.cpp (run under mpirun).
#include <chrono>
#include <set>

#include "ctdl/distributed/ddp.h"
#include "ctdl/distributed/launch.h"
#include "helpers.h"

using namespace ctdl;
using namespace ctdl::distributed;

namespace {

struct Net : nn::Module {
  nn::Linear fc1 = register_module("fc1", nn::Linear(3, 8));
  nn::Linear fc2 = register_module("fc2", nn::Linear(8, 2));
  Tensor operator()(const Tensor& x) const { return fc2(tanh(fc1(x))); }
};

class Never final : public Work {
 public:
  bool test() override { return false; }
};

}  // namespace

TEST_CASE("ddp: in one process backward's gradients stay (times the weight)") {
  manual_seed(0);
  Net net, copy;
  copy.load_state_dict(net.state_dict());
  Tensor x = randn({16, 3});
  nn::mse_loss(copy(x), zeros({16, 2})).backward();

  SingleProcess comm;
  DistributedDataParallel ddp(comm, net, {.bucket_bytes = 64});  // a bucket per parameter
  CHECK(ddp.num_buckets() == 4);
  ddp.set_gradient_weight(0.5);
  nn::mse_loss(net(x), zeros({16, 2})).backward();
  ddp.synchronize();  // backward reached every parameter: nothing left to do
  auto mine = net.named_parameters(), theirs = copy.named_parameters();
  for (size_t i = 0; i < mine.size(); ++i)
    CHECK(testing::max_abs_diff(mine[i].second.grad(), theirs[i].second.grad() * 0.5) < 1e-7);
  // The last parameters' buckets started before backward reached the first ones.
  CHECK(ddp.overlapped_buckets() >= 1);
}

TEST_CASE("ddp: a step without backward contributes zeros; autograd::grad passes by") {
  manual_seed(1);
  Net net;
  SingleProcess comm;
  {
    DistributedDataParallel ddp(comm, net);
    ddp.synchronize();  // a rank whose shard ran out
    for (const Tensor& p : net.parameters()) {
      REQUIRE(p.grad().defined());
      CHECK(max(abs(p.grad())).item() == 0.0);
    }
    net.zero_grad();
    // grad() never accumulates into .grad, so the reduction does not see it (the adjoint
    // solvers call it inside backward).
    Tensor loss = net(randn({4, 3})).sum();
    TensorList g = autograd::grad({loss}, net.parameters());
    CHECK(g.size() == 4);
    for (const Tensor& p : net.parameters()) CHECK_FALSE(p.grad().defined());
  }
}

TEST_CASE("ddp: a second backward before the reduction ended is an error naming the parameter") {
  struct Partial : nn::Module {
    nn::Linear used = register_module("used", nn::Linear(2, 2));
    nn::Linear unused = register_module("unused", nn::Linear(2, 2));
  };
  Partial net;
  SingleProcess comm;
  DistributedDataParallel ddp(comm, net);
  Tensor x = randn({3, 2});
  net.used(x).sum().backward();  // "unused" gets no gradient: the step stays open
  CHECK_THROWS_WITH_ALL(net.used(x).sum().backward(), "DistributedDataParallel", "parameter 'used.",
                        "synchronize()");
  ddp.synchronize();
  CHECK(net.unused.weight.grad().defined());
  net.zero_grad();
  net.used(x).sum().backward();
  ddp.synchronize();
  CHECK(net.used.weight.grad().defined());
}

TEST_CASE("ddp: the user's gradient hooks keep running and the model is itself again after") {
  Net net;
  int calls = 0;
  net.fc1.weight.register_hook([&](const Tensor&) {
    ++calls;
    return Tensor();
  });
  SingleProcess comm;
  {
    DistributedDataParallel ddp(comm, net);
    net(randn({2, 3})).sum().backward();
  }
  CHECK(calls == 1);
  net.zero_grad();
  net(randn({2, 3})).sum().backward();
  CHECK(calls == 2);
  CHECK(net.fc1.weight.grad().defined());
}

TEST_CASE("shard_loader: the shards cover every example once per epoch and make the batch") {
  for (int64_t n : {10, 12, 13, 31})
    for (int64_t ranks : {1, 2, 3, 4})
      for (bool drop_last : {false, true}) {
        INFO("n " << n << ", ranks " << ranks << ", drop_last " << drop_last);
        nn::data::TensorDataset data(arange(0, static_cast<double>(n)).reshape({n, 1}),
                                     zeros({n}, {.dtype = DType::Int64}));
        nn::data::DataLoader loader(data, {.batch_size = 4 * ranks,
                                           .shuffle = true,
                                           .drop_last = drop_last,
                                           .seed = 7,
                                           .prefetch = 0});
        const int64_t steps = nn::sharded_steps(loader, ranks);
        CHECK(steps == loader.size());  // the batch size splits evenly
        std::vector<nn::data::DataLoader> shards;
        for (int64_t r = 0; r < ranks; ++r) shards.push_back(nn::shard_loader(loader, r, ranks));
        std::multiset<int64_t> seen;
        for (int64_t b = 0; b < steps; ++b) {
          // Batch b of the shards together is batch b of the whole loader.
          std::multiset<int64_t> together, whole;
          for (auto& shard : shards)
            if (b < shard.size())
              for (double v : shard.batch(3, b).input.to_vector<double>())
                together.insert(static_cast<int64_t>(v));
          for (double v : loader.batch(3, b).input.to_vector<double>())
            whole.insert(static_cast<int64_t>(v));
          CHECK(together == whole);
          CHECK(nn::sharded_batch_examples(loader, ranks, b) == static_cast<int64_t>(whole.size()));
          seen.insert(together.begin(), together.end());
        }
        if (!drop_last) {
          CHECK(static_cast<int64_t>(seen.size()) == n);
          for (int64_t i = 0; i < n; ++i) CHECK(seen.count(i) == 1);
        }
      }
}

TEST_CASE("watchdog: a wait that never ends becomes a RankFailure naming what it waited for") {
  Watchdog dog(0.2);
  Never never;
  auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH_ALL(dog.wait(never, "the all-reduce of gradient bucket 2 of 3", 1, 4),
                        "rank 1 of 4: no answer after 0.2 s",
                        "the all-reduce of gradient bucket 2 of 3", "died or stalls");
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(200));
  CHECK_THROWS_WITH_ALL(Watchdog(-1.0), "timeout must be positive");
}

TEST_CASE("launch: a plain process runs the function and nothing else") {
  REQUIRE_FALSE(launched_by_mpirun());  // CTest does not start this suite under mpirun
  int seen = 0;
  char name[] = "prog";
  char* argv[] = {name, nullptr};
  int status = launch(1, argv, [&](int argc, char**) {
    seen = argc;
    CHECK(nn::data_parallel() == nullptr);
    CHECK(world().size() == 1);
    return 7;
  });
  CHECK(status == 7);
  CHECK(seen == 1);
  SingleProcess comm;
  CHECK(comm.sum({1.5, 2.0}) == std::vector<double>{1.5, 2.0});
  CHECK(comm.broadcast_bytes("abc", 0) == "abc");
  Tensor t = tensor({1.0, 2.0});
  comm.send(t, 0, 5);
  Tensor r = zeros({2});
  comm.recv_(r, 0, 5);
  CHECK(testing::max_abs_diff(r, t) == 0);
  CHECK_THROWS_WITH_ALL(comm.send(t, 1, 5), "send: rank 1 does not exist (1 ranks)");
}

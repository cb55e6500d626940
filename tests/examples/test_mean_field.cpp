// examples/mean_field: the mean-field ResNet against its formula written with loops, block
// orders and switching, the continuum limit, gradients, and a few training steps.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "ctdl/autograd/gradcheck.h"
#include "ctdl/examples/mean_field/model.h"
#include "ctdl/examples/mean_field/train.h"
#include "helpers.h"

using namespace ctdl;
using namespace ctdl::examples::mean_field;

namespace {

constexpr DType f64 = DType::Float64;

// x_{l+1} = x_l + 1/(L·M) Σ_m u_m·tanh(w_m·x_l + b_m), element by element.
std::vector<double> reference(const MeanFieldResNet& net, std::vector<double> x, int64_t n,
                              const std::vector<int64_t>& order) {
  const int64_t d = net.options().dim, L = net.options().depth, M = net.options().width;
  for (int64_t l : order) {
    const MeanFieldBlock& blk = net.blocks[static_cast<size_t>(l)];
    std::vector<double> w = blk.w.to_vector<double>(), b = blk.b.to_vector<double>(),
                        u = blk.u.to_vector<double>(), next = x;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t m = 0; m < M; ++m) {
        double z = b[m];
        for (int64_t k = 0; k < d; ++k) z += w[m * d + k] * x[i * d + k];
        for (int64_t k = 0; k < d; ++k) next[i * d + k] += u[k * M + m] * std::tanh(z) / (L * M);
      }
    x = next;
  }
  return x;
}

}  // namespace

TEST_CASE("mean-field: each block adds 1/(LM) times the sum of its units, in the order given",
          "[examples][mean_field]") {
  manual_seed(1);
  MeanFieldResNet net({.dim = 3, .depth = 4, .width = 5, .dtype = f64});
  Tensor x = randn({6, 3}, {.dtype = f64});
  CHECK(net(x).shape() == Dims{6, 3});
  std::vector<double> want = reference(net, x.to_vector<double>(), 6, {0, 1, 2, 3});
  CHECK(testing::allclose(net(x), tensor(want, {6, 3}, {.dtype = f64}), 1e-12, 1e-12));

  const std::vector<int64_t> shuffled = {2, 0, 3, 1};
  want = reference(net, x.to_vector<double>(), 6, shuffled);
  CHECK(testing::allclose(net.forward(x, shuffled), tensor(want, {6, 3}, {.dtype = f64}), 1e-12,
                          1e-12));
  CHECK(testing::max_abs_diff(net.forward(x, shuffled), net(x)) > 1e-6);  // order matters

  net.swap(0, 2);
  CHECK(net.order() == std::vector<int64_t>{2, 1, 0, 3});
  net.set_order(shuffled);
  CHECK(testing::allclose(net(x), net.forward(x, shuffled), 0, 0));
  CHECK_THROWS_WITH_ALL(net.set_order({0, 0, 1, 2}), "not a permutation");
  CHECK_THROWS_WITH_ALL(net.forward(x, {0, 1}), "an order of 2 blocks");

  MeanFieldClassifier clf(2, 3, {.dim = 4, .depth = 2, .width = 3});
  CHECK(clf(randn({5, 2})).shape() == Dims{5, 3});
  CHECK(clf(randn({5, 1, 1, 2})).shape() == Dims{5, 3});  // flattened
}

TEST_CASE("mean-field: the continuum limit is the ODE the blocks discretize",
          "[examples][mean_field]") {
  manual_seed(2);
  MeanFieldResNet net({.dim = 2, .depth = 3, .width = 4, .dtype = f64});
  Tensor x = randn({5, 2}, {.dtype = f64});
  // RK4 converges as the substeps grow, to something O(1/L) away from the Euler ResNet.
  Tensor fine = net.continuum(x, 32), finer = net.continuum(x, 64);
  CHECK(testing::max_abs_diff(fine, finer) < 1e-10);
  const double gap = testing::max_abs_diff(fine, net(x));
  CHECK(gap > 1e-8);
  CHECK(gap < 0.1);
  // A constant field (w = 0): one Euler step per block is exact.
  for (auto& blk : net.blocks) {
    autograd::NoGradGuard no_grad;
    blk.w.fill_(0.0);
  }
  CHECK(testing::allclose(net.continuum(x, 4), net(x), 1e-12, 1e-12));
}

TEST_CASE("mean-field: gradients pass gradcheck", "[examples][mean_field]") {
  manual_seed(3);
  auto input = [](const Dims& shape) {
    return randn(shape, {.dtype = f64, .requires_grad = true});
  };
  CHECK(autograd::gradcheck(
            [](const TensorList& t) { return TensorList{units_sum(t[0], t[1], t[2], t[3])}; },
            {input({3, 2}), input({4, 2}), input({4}), input({2, 4})})
            .ok);
  MeanFieldResNet net({.dim = 2, .depth = 3, .width = 2, .dtype = f64});
  CHECK(autograd::gradcheck([&](const TensorList& t) { return TensorList{net(t[0])}; },
                            {input({3, 2})})
            .ok);
  CHECK(autograd::gradcheck(
            [&](const TensorList& t) {
              return TensorList{net.forward(t[0], {2, 0, 1})};
            },
            {input({3, 2})})
            .ok);
}

TEST_CASE("mean-field: a few steps of either procedure lower the loss", "[examples][mean_field]") {
  manual_seed(4);
  Tensor x = randn({64, 2});
  Tensor y = (x.select(1, 0) * x.select(1, 1) > 0.0).to(DType::Int64);  // XOR-like quadrants
  nn::data::TensorDataset data(x, y);
  for (Switching how : {Switching::None, Switching::Swap, Switching::Shuffle}) {
    manual_seed(5);
    MeanFieldClassifier net(2, 2, {.dim = 3, .depth = 4, .width = 8});
    const double before = evaluate(net, data).loss;
    std::mt19937_64 rng(0);
    TrainResult r =
        train(net, data, {.epochs = 40, .batch_size = 64, .lr = 0.2, .switching = how}, rng);
    const double after = evaluate(net, data).loss;
    INFO("switching " << static_cast<int>(how) << ": " << before << " -> " << after);
    CHECK(after < 0.8 * before);
    CHECK((r.switches > 0) == (how != Switching::None));
  }
  CHECK(parse_switching("swap") == Switching::Swap);
  CHECK_THROWS_WITH_ALL(parse_switching("sideways"), "none", "swap", "shuffle");
}

TEST_CASE("mean-field: the permutation study measures order sensitivity",
          "[examples][mean_field]") {
  manual_seed(6);
  nn::data::TensorDataset data(randn({20, 2}), zeros({20}, {.dtype = DType::Int64}));
  MeanFieldClassifier one(2, 2, {.dim = 2, .depth = 1, .width = 4});
  PermutationStudy s1 = permutation_study(one, data, 3, 0);
  CHECK(s1.mean_relative_change == 0.0);  // one block: one order
  MeanFieldClassifier deep(2, 2, {.dim = 2, .depth = 6, .width = 4});
  PermutationStudy s = permutation_study(deep, data, 5, 0);
  REQUIRE(s.relative_change.size() == 5);
  CHECK(s.mean_relative_change > 0.0);
  CHECK(s.reversed_relative_change > 0.0);
  // Blocks whose fields commute (all zero but one) make every order the same network.
  for (size_t l = 1; l < 6; ++l) {
    autograd::NoGradGuard no_grad;
    deep.body.blocks[l].u.fill_(0.0);
  }
  CHECK(permutation_study(deep, data, 5, 0).mean_relative_change < 1e-6);
}

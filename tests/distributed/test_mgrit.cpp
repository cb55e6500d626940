// MGRIT and layer-parallel propagation in one process (one block): the numbers MGRIT
// converges to are serial propagation's, its residual falls, parareal is exact after as
// many iterations as there are coarse intervals, and the layer-parallel gradients are
// backprop's. tests/distributed/test_mpi.cpp checks the same across two ranks.
#include "ctdl/distributed/layer_parallel.h"
#include "ctdl/distributed/mgrit.h"
#include "helpers.h"

using namespace ctdl;
using namespace ctdl::distributed;

namespace {

constexpr int64_t kSteps = 64;
constexpr double kH = 1.0 / kSteps;

// A residual network with weights smooth in depth: u + h·tanh(u·K(t)ᵀ + b(t)).
struct Toy {
  Tensor K0, K1, b;
  Toy() {
    manual_seed(3);
    K0 = randn({4, 4}, {.dtype = DType::Float64}) * 0.8;
    K1 = randn({4, 4}, {.dtype = DType::Float64}) * 0.8;
    b = randn({4}, {.dtype = DType::Float64}) * 0.3;
  }
  Tensor residual(int64_t n, const Tensor& u) const {
    double t = static_cast<double>(n) / kSteps;
    return tanh(matmul(u, (K0 * (1 - t) + K1 * t).t()) + b);
  }
  MgritStep step(const Mgrit& mgrit) const {
    return [this, &mgrit](int level, int64_t i, const Tensor& u) {
      int64_t s = mgrit.stride(level);
      return u + residual(i * s, u) * (static_cast<double>(s) * kH);
    };
  }
  Tensor serial(const Tensor& u0) const {
    return serial_resnet_forward([this](int64_t n, const Tensor& u) { return residual(n, u); },
                                 kSteps, kH, u0);
  }
};

}  // namespace

TEST_CASE("mgrit: converges to serial propagation with the residual falling") {
  Toy toy;
  Tensor u0 = randn({5, 4}, {.dtype = DType::Float64});
  Tensor reference = toy.serial(u0);
  SingleProcess comm;
  for (int levels : {2, 3})
    for (bool fcf : {false, true}) {
      INFO("levels " << levels << ", fcf " << fcf);
      Mgrit mgrit(comm, kSteps,
                  {.coarsening = 4,
                   .levels = levels,
                   .fcf = fcf,
                   .max_iterations = 30,
                   .tolerance = 1e-12});
      std::vector<Tensor> u;
      MgritResult r = mgrit.solve(toy.step(mgrit), u0, u);
      CHECK(r.converged);
      REQUIRE(u.size() == kSteps + 1);
      CHECK(testing::max_abs_diff(u.back(), reference) < 1e-10);
      for (size_t k = 1; k < r.residuals.size(); ++k) CHECK(r.residuals[k] < r.residuals[k - 1]);
      // Far fewer iterations than the 16 coarse intervals that make it exact by construction.
      CHECK(r.iterations <= 8);
      // Warm-started from its own solution, there is nothing left to do.
      MgritResult again = mgrit.solve(toy.step(mgrit), u0, u);
      CHECK(again.iterations == 0);
      CHECK(testing::max_abs_diff(u.back(), reference) < 1e-10);
    }
}

TEST_CASE("mgrit: parareal is exact after as many iterations as coarse intervals") {
  Toy toy;
  Tensor u0 = randn({3, 4}, {.dtype = DType::Float64});
  SingleProcess comm;
  // 64 steps, coarsening 16: 4 coarse intervals; with a coarse step far from the fine one
  // (tolerance 0), only the structure makes it exact.
  Mgrit mgrit(comm, kSteps, {.coarsening = 16, .max_iterations = 4, .tolerance = 0});
  std::vector<Tensor> u;
  MgritResult r = mgrit.solve(toy.step(mgrit), u0, u);
  CHECK(r.iterations == 4);
  CHECK(r.residuals.back() < 1e-13);
  CHECK(testing::max_abs_diff(u.back(), toy.serial(u0)) < 1e-13);
  // One level is the plain sweep.
  Mgrit sweep(comm, kSteps, {.levels = 1});
  std::vector<Tensor> s;
  sweep.solve(toy.step(sweep), u0, s);
  CHECK(testing::max_abs_diff(s.back(), toy.serial(u0)) < 1e-14);
}

TEST_CASE("mgrit: layouts that do not fit are refused") {
  SingleProcess comm;
  CHECK_THROWS_WITH_ALL(Mgrit(comm, 60, {.coarsening = 8, .levels = 2}), "multiple of",
                        "coarsening 8");
  CHECK_THROWS_WITH_ALL(Mgrit(comm, 64, {.coarsening = 1}), "coarsening factor");
}

TEST_CASE("layer-parallel: gradients equal backprop through the serial network") {
  Toy toy;
  std::vector<TensorList> params(kSteps);
  // Per-layer parameters: the toy's interpolated weights, made leaves.
  for (int64_t n = 0; n < kSteps; ++n) {
    double t = static_cast<double>(n) / kSteps;
    params[n] = {(toy.K0 * (1 - t) + toy.K1 * t).detach().requires_grad_(),
                 toy.b.clone().requires_grad_()};
  }
  auto residual = [&](int64_t n, const Tensor& u) {
    return tanh(matmul(u, params[n][0].t()) + params[n][1]);
  };
  Tensor u0 = randn({6, 4}, {.dtype = DType::Float64}).requires_grad_();
  Tensor target = randn({6, 4}, {.dtype = DType::Float64});

  // Serial backprop.
  Tensor loss = square(serial_resnet_forward(residual, kSteps, kH, u0) - target).sum();
  TensorList all = {u0};
  for (const TensorList& p : params) all.insert(all.end(), p.begin(), p.end());
  TensorList expected = autograd::grad({loss}, all);

  SingleProcess comm;
  MgritOptions o{.coarsening = 4, .levels = 2, .max_iterations = 30, .tolerance = 1e-13};
  LayerParallelResNet net(comm, kSteps, kH, residual, [&](int64_t n) { return params[n]; },
                          {.forward = o, .backward = o});
  Tensor uN = net.forward(u0.detach());
  Tensor seed = (uN - target) * 2.0;
  Tensor du0 = net.backward(seed);
  CHECK(net.last_forward().converged);
  CHECK(net.last_backward().converged);
  CHECK(testing::max_abs_diff(du0, expected[0]) < 1e-10);
  for (int64_t n = 0; n < kSteps; ++n)
    for (size_t j = 0; j < 2; ++j) {
      INFO("layer " << n << ", parameter " << j);
      REQUIRE(params[n][j].grad().defined());
      CHECK(testing::max_abs_diff(params[n][j].grad(), expected[1 + 2 * n + j]) < 1e-10);
    }
}

TEST_CASE(
    "layer-parallel: a fixed number of iterations gives the same forward with graphs or without") {
  // With gradients on, forward() runs all but the last iteration without recording graphs,
  // then one warm-started iteration that records them; that must be the very same solve.
  Toy toy;
  auto residual = [&](int64_t n, const Tensor& u) {
    double t = static_cast<double>(n) / kSteps;
    return tanh(matmul(u, (toy.K0 * (1 - t) + toy.K1 * t).t()) + toy.b);
  };
  auto no_params = [](int64_t) { return TensorList{}; };
  Tensor u0 = randn({6, 4}, {.dtype = DType::Float64});
  SingleProcess comm;
  MgritOptions o{
      .coarsening = 4, .levels = 2, .max_iterations = 3, .tolerance = 0, .final_relax = false};
  LayerParallelResNet recorded(comm, kSteps, kH, residual, no_params, {.forward = o});
  LayerParallelResNet plain(comm, kSteps, kH, residual, no_params, {.forward = o});
  Tensor a = recorded.forward(u0);  // gradients on: split into 2 + 1 iterations
  Tensor b;
  {
    autograd::NoGradGuard no_grad;  // one solve of 3 iterations
    b = plain.forward(u0);
  }
  CHECK(testing::max_abs_diff(a, b) == 0.0);
  CHECK(recorded.last_forward().iterations == 3);
  CHECK(recorded.last_forward().residuals == plain.last_forward().residuals);
}

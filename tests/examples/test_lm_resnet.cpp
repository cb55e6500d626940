// examples/lm_resnet: the LM step, the network's shapes and learned coefficients, LM-ResNet
// with every k_n = 1 against the ResNet with the same weights, stochastic depth, gradients,
// and a few training steps that lower the loss.
#include <catch2/catch.hpp>

#include "ctdl/autograd/gradcheck.h"
#include "ctdl/examples/lm_resnet/model.h"
#include "helpers.h"

using namespace ctdl;
using namespace ctdl::examples::lm_resnet;

namespace {
constexpr DType f64 = DType::Float64;
}

TEST_CASE("lm-resnet: the LM step and its gradient", "[examples][lm_resnet]") {
  Tensor x = tensor({1.0, 2.0}, {.dtype = f64}), prev = tensor({3.0, -1.0}, {.dtype = f64}),
         f = tensor({0.5, 0.25}, {.dtype = f64}), k = tensor({0.25, -0.5}, {.dtype = f64});
  // f + k·x + (1 − k)·x_prev
  CHECK(testing::allclose(
      lm_step(x, prev, f, k),
      tensor({0.5 + 0.25 + 0.75 * 3.0, 0.25 - 1.0 + 1.5 * -1.0}, {.dtype = f64}), 1e-15, 1e-15));
  // k = 1: the ResNet step; no f: the two-step combination alone.
  CHECK(testing::allclose(lm_step(x, prev, f, ones({2}, {.dtype = f64})), x + f, 1e-15, 1e-15));
  CHECK(testing::allclose(lm_step(x, prev, Tensor(), k), k * x + (1.0 - k) * prev, 1e-15, 1e-15));
  manual_seed(1);
  auto input = [](const Dims& shape) {
    return randn(shape, {.dtype = f64, .requires_grad = true});
  };
  CHECK(autograd::gradcheck(
            [](const TensorList& t) { return TensorList{lm_step(t[0], t[1], t[2], t[3])}; },
            {input({2, 3, 2, 2}), input({2, 3, 2, 2}), input({2, 3, 2, 2}), input({1, 3, 1, 1})})
            .ok);
}

TEST_CASE("lm-resnet: shapes, coefficients and the ResNet it contains", "[examples][lm_resnet]") {
  const LmResNetOptions o{.in_channels = 1, .stages = {2, 2}, .channels = {4, 8}, .stem_stride = 2};
  manual_seed(2);
  LmResNet lm(o);
  LmResNetOptions ro = o;
  ro.lm = false;
  manual_seed(2);
  LmResNet resnet(ro);
  Tensor x = randn({3, 1, 12, 12});
  CHECK(lm(x).shape() == Dims{3, 10});
  CHECK(resnet(x).shape() == Dims{3, 10});
  // Blocks 0 (first) and 2 (downsampling) are ResNet steps; 1 and 3 learn k per channel.
  CHECK_FALSE(lm.k(0).defined());
  CHECK(lm.k(1).shape() == Dims{1, 4, 1, 1});
  CHECK_FALSE(lm.k(2).defined());
  CHECK(lm.k(3).shape() == Dims{1, 8, 1, 1});
  CHECK(lm.num_parameters() == resnet.num_parameters() + 4 + 8);
  for (double k : lm.k_values()) CHECK((k >= -0.1 && k <= 0.0));

  // The same seed gives the same weights (k is drawn last); with k = 1 everywhere the
  // LM-ResNet is the ResNet.
  nn::NamedTensors state = resnet.state_dict();
  state.push_back({"k1", ones({1, 4, 1, 1})});
  state.push_back({"k3", ones({1, 8, 1, 1})});
  lm.load_state_dict(state);
  lm.eval(), resnet.eval();
  CHECK(testing::allclose(lm(x), resnet(x), 1e-6, 1e-6));
  // Any other k gives another network.
  {
    autograd::NoGradGuard no_grad;
    lm.k(3).fill_(0.5);
  }
  CHECK(testing::max_abs_diff(lm(x), resnet(x)) > 1e-4);
}

TEST_CASE("lm-resnet: stochastic depth drops blocks in training only", "[examples][lm_resnet]") {
  manual_seed(3);
  LmResNet net({.in_channels = 1,
                .stages = {5},
                .channels = {4},
                .stochastic_depth = true,
                .survival_last = 0.5});
  CHECK(net.death_rate(0) == 0.0);
  CHECK(net.death_rate(2) == Approx(0.25));
  CHECK(net.death_rate(4) == Approx(0.5));
  Tensor x = randn({2, 1, 6, 6});
  net.eval();
  CHECK(testing::allclose(net(x), net(x), 0, 0));
  net.train();
  bool differs = false;
  for (int i = 0; i < 8 && !differs; ++i) differs = testing::max_abs_diff(net(x), net(x)) > 1e-6;
  CHECK(differs);
  LmResNet plain({.in_channels = 1, .stages = {5}, .channels = {4}});
  CHECK(plain.death_rate(4) == 0.0);
}

TEST_CASE("lm-resnet: the network passes gradcheck", "[examples][lm_resnet]") {
  manual_seed(4);
  LmResNet net({.in_channels = 1, .classes = 3, .stages = {3}, .channels = {2}, .dtype = f64});
  net.eval();  // BatchNorm with its running statistics: a fixed smooth map between ReLUs
  Tensor x = randn({2, 1, 4, 4}, {.dtype = f64, .requires_grad = true});
  CHECK(autograd::gradcheck([&](const TensorList& t) { return TensorList{net(t[0])}; }, {x}).ok);
  // The coefficients get gradients through the whole network.
  net.train();
  nn::cross_entropy(net(x.detach()), tensor(std::vector<int64_t>{0, 2}, {2})).backward();
  REQUIRE(net.k(1).grad().defined());
  CHECK(norm(net.k(2).grad()).item<double>() > 0);
}

TEST_CASE("lm-resnet: a few SGD steps lower the loss of both networks", "[examples][lm_resnet]") {
  // Two classes: horizontal or vertical stripes, in noise (global pooling keeps orientation).
  manual_seed(5);
  Tensor y = randint(0, 2, {32});
  Tensor rows = tensor({0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0}).reshape({1, 1, 8, 1});
  Tensor horizontal = rows.expand({32, 1, 8, 8}), vertical = horizontal.transpose(2, 3);
  Tensor is_h = (y < 1.0).to(DType::Float32).reshape({32, 1, 1, 1});
  Tensor x = horizontal * is_h + vertical * (1.0 - is_h) + randn({32, 1, 8, 8}) * 0.5;
  for (bool lm : {false, true})
    for (bool sd : {false, true}) {
      manual_seed(6);
      LmResNet net({.in_channels = 1,
                    .classes = 2,
                    .stages = {3},
                    .channels = {4},
                    .lm = lm,
                    .stochastic_depth = sd});
      nn::SGD opt(net.parameters(), {.lr = 0.05, .momentum = 0.9});
      // Training-mode losses (batch statistics): the first step's, and the mean of the last 5.
      double before = 0, after = 0;
      const int steps = 30;
      for (int step = 0; step < steps; ++step) {
        Tensor loss = nn::cross_entropy(net(x), y);
        opt.zero_grad();
        loss.backward();
        opt.step();
        if (step == 0) before = loss.item<double>();
        if (step >= steps - 5) after += loss.item<double>() / 5;
      }
      INFO("lm " << lm << ", stochastic depth " << sd << ": " << before << " -> " << after);
      CHECK(after < 0.5 * before);
    }
}

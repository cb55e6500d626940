// examples/ie_resnet: the network's shapes and equations, the implicit-function gradient of
// its implicit blocks against backprop through many fixed-point iterations and against
// finite differences (float64), training steps that lower the loss (standard and
// adversarial), and a short run on MNIST when the shared data is there.
#include <catch2/catch.hpp>

#include "ctdl/examples/ie_resnet/model.h"
#include "ctdl/examples/ie_resnet/training.h"
#include "helpers.h"

using namespace ctdl;
using namespace ctdl::examples::ie_resnet;

namespace {

IeResNet tiny_network(Skip skip, DType dtype, int64_t width = 3, int64_t hidden = 4,
                      int64_t blocks = 2, double step = 0.5, Residual residual = Residual::Mlp) {
  manual_seed(3);
  IeResNet net({.width = width,
                .hidden = hidden,
                .blocks = blocks,
                .step = step,
                .skip = skip,
                .residual = residual,
                .solve = solver_settings("newton", dtype)});
  net.to(dtype);
  return net;
}

// The network computed by hand with each implicit block unrolled into `iterations`
// fixed-point iterations z ← x + h·f(z), all recorded by autograd: backprop through them is
// an independent reference for the implicit-function gradient.
Tensor unrolled(const IeResNet& net, const Tensor& images, int iterations) {
  Tensor x = net.stem_features(images);
  for (size_t k = 0; k < net.f.size(); ++k) {
    Tensor z = x;
    for (int i = 0; i < iterations; ++i) z = x + net.f[k](z) * net.options().step;
    x = z;
  }
  return net.head(x);
}

// A fixed random weighting of the logits: the scalar whose gradients are compared.
Tensor weighted(const Tensor& logits, const Tensor& weights) { return (logits * weights).sum(); }

TensorList gradients(const IeResNet& net, const Tensor& images, const Tensor& loss) {
  TensorList wrt = net.parameters();
  wrt.push_back(images);
  return autograd::grad({loss}, wrt);
}

double max_relative_error(const TensorList& a, const TensorList& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double scale = std::max(1e-3, b[i].abs().max().item<double>());
    worst = std::max(worst, testing::max_abs_diff(a[i], b[i]) / scale);
  }
  return worst;
}

}  // namespace

TEST_CASE("ie-resnet: shapes, and each skip computes its own equation", "[examples][ie_resnet]") {
  IeResNet net = tiny_network(Skip::Implicit, DType::Float32, 8, 8, 2, 1.0);
  Tensor images = rand({5, 1, 28, 28});
  CHECK(net(images).shape() == Dims{5, 10});
  CHECK(net(images.reshape({5, 784})).shape() == Dims{5, 10});
  CHECK(net.num_parameters() == 784 * 8 + 8 + 2 * (8 * 8 + 8 + 8 * 8 + 8) + 8 * 10 + 10);

  Tensor x = net.stem_features(images);
  CHECK(x.shape() == Dims{5, 8});
  Tensor implicit_out = net.block(0, x);
  // x⁺ = x + h·f(x⁺), to the solver's float32 tolerance.
  CHECK(testing::max_abs_diff(implicit_out, x + net.f[0](implicit_out)) < 1e-4);
  CHECK(net.f_evaluations() > 1);  // Newton iterated

  net.set_skip(Skip::Explicit);  // the same parameters, the explicit skip
  Tensor explicit_out = net.block(0, x);
  CHECK(testing::max_abs_diff(explicit_out, x + net.f[0](x)) == 0.0);
  CHECK(testing::max_abs_diff(explicit_out, implicit_out) > 1e-3);
  CHECK(net(images).shape() == Dims{5, 10});

  CHECK(parse_skip("implicit") == Skip::Implicit);
  CHECK_THROWS_WITH_ALL(parse_skip("midpoint"), "ie-resnet", "midpoint");
  CHECK_THROWS_WITH_ALL(solver_settings("bisection", DType::Float32), "newton", "fixed_point");
}

TEST_CASE("ie-resnet: Newton and fixed-point iteration find the same implicit step",
          "[examples][ie_resnet]") {
  IeResNet net = tiny_network(Skip::Implicit, DType::Float64);
  Tensor images = rand({4, 1, 28, 28}, {.dtype = DType::Float64});
  Tensor newton = net(images);
  net.options().solve = solver_settings("fixed_point", DType::Float64, 500);
  CHECK(testing::max_abs_diff(net(images), newton) < 1e-9);
}

TEST_CASE("ie-resnet: the implicit-function gradient equals backprop through the iterations",
          "[examples][ie_resnet]") {
  IeResNet net = tiny_network(Skip::Implicit, DType::Float64);
  Tensor images = rand({3, 1, 28, 28}, {.dtype = DType::Float64, .requires_grad = true});
  Tensor weights = randn({3, 10}, {.dtype = DType::Float64});
  TensorList ift = gradients(net, images, weighted(net(images), weights));
  // h·Lip(f) is well below 1 for this small network, so 200 iterations converge to rounding.
  TensorList backprop = gradients(net, images, weighted(unrolled(net, images, 200), weights));
  CHECK(max_relative_error(ift, backprop) < 1e-8);
  // ... and a few iterations are not the implicit block: the comparison can fail.
  TensorList few = gradients(net, images, weighted(unrolled(net, images, 1), weights));
  CHECK(max_relative_error(few, backprop) > 1e-3);
}

TEST_CASE("ie-resnet: the implicit-function gradient matches finite differences",
          "[examples][ie_resnet]") {
  Residual residual = GENERATE(Residual::Mlp, Residual::Monotone);
  IeResNet net = tiny_network(Skip::Implicit, DType::Float64, 3, 4, 2, 0.5, residual);
  Tensor images = rand({2, 1, 28, 28}, {.dtype = DType::Float64, .requires_grad = true});
  Tensor weights = randn({2, 10}, {.dtype = DType::Float64});
  TensorList grads = gradients(net, images, weighted(net(images), weights));
  nn::NamedTensors params = net.named_parameters();
  auto loss_value = [&] {
    autograd::NoGradGuard no_grad;
    return weighted(net(images), weights).item<double>();
  };
  // Every entry of the blocks' and the head's parameters, and a few pixels; the stem's
  // gradient is the ordinary chain rule through a Linear layer.
  const double eps = 1e-6;
  int checked = 0;
  auto check_entry = [&](Tensor t, const Tensor& grad, int64_t i, const std::string& name) {
    autograd::NoGradGuard no_grad;
    Tensor entry = t.detach().reshape({-1}).narrow(0, i, 1);
    Tensor step = full({1}, eps, {.dtype = DType::Float64});
    entry.add_(step);
    double up = loss_value();
    entry.add_(step, -2.0);
    double down = loss_value();
    entry.add_(step);
    double numerical = (up - down) / (2 * eps);
    double analytical = grad.reshape({-1}).narrow(0, i, 1).item<double>();
    INFO(name << "[" << i << "]: analytical " << analytical << ", numerical " << numerical);
    CHECK(std::abs(analytical - numerical) <= 1e-7 + 1e-5 * std::abs(numerical));
    ++checked;
  };
  int64_t expected = 5;
  for (size_t p = 0; p < params.size(); ++p) {
    if (params[p].first.starts_with("stem")) continue;
    expected += params[p].second.numel();
    for (int64_t i = 0; i < params[p].second.numel(); ++i)
      check_entry(params[p].second, grads[p], i, params[p].first);
  }
  for (int64_t pixel : {0, 300, 407, 1000, 1567}) check_entry(images, grads.back(), pixel, "image");
  // Blocks (mlp: W₁ b₁ W₂ b₂; monotone: W₁ b₁ b₂), head, pixels.
  CHECK(checked == expected);
  CHECK(expected ==
        (residual == Residual::Mlp ? 2 * (12 + 4 + 12 + 3) : 2 * (12 + 4 + 3)) + 40 + 5);
}

TEST_CASE("ie-resnet: with a monotone f the implicit step never amplifies a perturbation",
          "[examples][ie_resnet]") {
  // A large step: h·‖J‖ > 2 somewhere, where forward Euler amplifies and backward Euler damps.
  IeResNet net = tiny_network(Skip::Implicit, DType::Float64, 16, 16, 1, 8.0, Residual::Monotone);
  Tensor x = randn({64, 16}, {.dtype = DType::Float64});
  Tensor delta = randn({64, 16}, {.dtype = DType::Float64}) * 1e-4;
  auto gain = [&](Skip skip) {
    net.set_skip(skip);
    Tensor change = net.block(0, x + delta) - net.block(0, x);
    return (sqrt((change * change).sum({1})) / sqrt((delta * delta).sum({1}))).max().item<double>();
  };
  CHECK(gain(Skip::Implicit) <= 1.0 + 1e-6);
  CHECK(gain(Skip::Explicit) > 1.5);
  CHECK(parse_residual("monotone") == Residual::Monotone);
  CHECK_THROWS_WITH_ALL(parse_residual("conv"), "ie-resnet", "mlp", "monotone");
}

TEST_CASE("ie-resnet: training steps lower the loss, standard and adversarial",
          "[examples][ie_resnet]") {
  manual_seed(11);
  // Ten random binary templates with noise: classes far apart, even for the attack.
  std::vector<int64_t> classes(64);
  for (int64_t i = 0; i < 64; ++i) classes[i] = i % 10;
  Tensor labels = tensor(classes, {64});
  Tensor templates = (rand({10, 784}) > 0.5).to(DType::Float32);
  Tensor images =
      (index_select(templates, 0, labels) * 0.7 + rand({64, 784}) * 0.3).reshape({64, 1, 28, 28});
  for (bool adversarial : {false, true}) {
    INFO("adversarial " << adversarial);
    IeResNet net = tiny_network(Skip::Implicit, DType::Float32, 16, 16, 2, 1.0);
    nn::Adam optimizer(net.parameters(), {.lr = 1e-2});
    TrainOptions options{.adversarial = adversarial, .epsilon = 0.02, .pgd_steps = 2};
    Generator rng(5);
    double first = train_step(net, optimizer, images, labels, options, rng), last = first;
    for (int step = 0; step < 30; ++step)
      last = train_step(net, optimizer, images, labels, options, rng);
    CHECK(last < 0.5 * first);
    for (const Tensor& p : net.parameters()) CHECK(std::isfinite(p.abs().sum().item<double>()));
  }
}

TEST_CASE("ie-resnet: a short MNIST run trains, and PGD is the stronger attack",
          "[examples][ie_resnet][data]") {
  std::string dir = testing::shared_data_dir("mnist");
  if (dir.empty()) {
    WARN("skipped: ../shared/data/mnist is absent");
    return;
  }
  nn::data::Mnist mnist = nn::data::load_mnist(dir);
  nn::data::TensorDataset train = mnist.train.slice(0, 1000), test = mnist.test.slice(0, 200);
  IeResNet net = tiny_network(Skip::Implicit, DType::Float32, 32, 32, 2, 1.0);
  std::vector<double> accuracies;
  train_network(net, train, test, {.epochs = 2, .batch_size = 100, .lr = 3e-3},
                [&](int64_t, double, double accuracy) { accuracies.push_back(accuracy); });
  REQUIRE(accuracies.size() == 2);
  Robustness r = evaluate_robustness(
      net, test, test,
      {.epsilon = 0.1, .epsilons = {0.0, 0.1, 0.3}, .pgd_steps = 10, .batch_size = 100});
  CHECK(std::abs(r.clean - accuracies.back()) <= 0.01);  // batches of 100 here, 500 there
  CHECK(r.clean > 0.7);
  CHECK(r.pgd_curve[0] == r.clean);  // a zero-radius attack changes nothing
  CHECK(r.pgd == r.pgd_curve[1]);
  CHECK(r.pgd <= r.fgsm);
  CHECK(r.pgd_curve[2] <= r.pgd);
  CHECK(r.pgd < r.clean);
  CHECK(r.f_evaluations_per_block > 1.0);
  CHECK(r.stage_gain_random > 0.0);
  CHECK(r.stage_gain_pgd > 0.0);
  CHECK(std::isfinite(r.stage_gain_random + r.stage_gain_pgd));
}

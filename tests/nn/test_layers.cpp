// Layers and their function forms against references written with plain loops, and their
// gradients against finite differences.
#include "ctdl/nn/nn.h"
#include "ctdl/ode/odeint.h"
#include "helpers.h"

using namespace ctdl;
using ctdl::testing::allclose;

namespace {

const TensorOptions f64{.dtype = DType::Float64};

// Direct 2-D cross-correlation with zero padding and stride, from the definition.
std::vector<double> naive_conv(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride,
                               int64_t pad, Dims* out_shape) {
  int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3), o = w.size(0), k = w.size(2);
  int64_t oh = (h + 2 * pad - k) / stride + 1, ow = (wd + 2 * pad - k) / stride + 1;
  std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>(),
                      bv = b.to_vector<double>();
  std::vector<double> out(n * o * oh * ow);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t oc = 0; oc < o; ++oc)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t z = 0; z < ow; ++z) {
          double s = bv[oc];
          for (int64_t ic = 0; ic < c; ++ic)
            for (int64_t p = 0; p < k; ++p)
              for (int64_t q = 0; q < k; ++q) {
                int64_t r = y * stride + p - pad, col = z * stride + q - pad;
                if (r < 0 || r >= h || col < 0 || col >= wd) continue;
                s += xv[((i * c + ic) * h + r) * wd + col] * wv[((oc * c + ic) * k + p) * k + q];
              }
          out[((i * o + oc) * oh + y) * ow + z] = s;
        }
  *out_shape = {n, o, oh, ow};
  return out;
}

}  // namespace

TEST_CASE("Linear computes x·Wᵀ + b with PyTorch's default initialization bounds", "[nn][layers]") {
  manual_seed(0);
  nn::Linear fc(5, 3, {.dtype = DType::Float64});
  Tensor x = randn({4, 5}, f64);
  std::vector<double> xv = x.to_vector<double>(), w = fc.weight.to_vector<double>(),
                      b = fc.bias.to_vector<double>();
  std::vector<double> expected;
  for (int i = 0; i < 4; ++i)
    for (int o = 0; o < 3; ++o) {
      double s = b[o];
      for (int k = 0; k < 5; ++k) s += xv[i * 5 + k] * w[o * 5 + k];
      expected.push_back(s);
    }
  CHECK(allclose(fc(x), tensor(expected, {4, 3}, f64), 1e-12, 1e-12));
  double bound = 1 / std::sqrt(5.0);
  CHECK(fc.weight.abs().max().item() <= bound);
  CHECK(fc.bias.abs().max().item() <= bound);
  CHECK_THROWS_WITH_ALL(fc(randn({4, 6}, f64)), "Linear: expected input [..., 5], got [4, 6]");
  nn::Linear no_bias(5, 3, {.bias = false});
  CHECK_FALSE(no_bias.bias.defined());
  CHECK(no_bias.parameters().size() == 1);
}

TEST_CASE("Linear's fused activation equals the activation applied to its output", "[nn][layers]") {
  manual_seed(1);
  Tensor x = randn({4, 5}, f64);
  for (Activation act : {Activation::Relu, Activation::Tanh, Activation::Sigmoid}) {
    for (bool bias : {true, false}) {
      INFO("activation " << static_cast<int>(act) << ", bias " << bias);
      nn::Linear fused(5, 3, {.bias = bias, .activation = act, .dtype = DType::Float64});
      nn::Linear plain(5, 3, {.bias = bias, .dtype = DType::Float64});
      plain.weight.detach().copy_(fused.weight);
      if (bias) plain.bias.detach().copy_(fused.bias);
      Tensor y = plain(x);
      Tensor expected = act == Activation::Relu   ? relu(y)
                        : act == Activation::Tanh ? tanh(y)
                                                  : sigmoid(y);
      CHECK(allclose(fused(x), expected, 1e-14, 1e-14));
      // The fused layer's parameter gradients equal the unfused ones.
      fused(x).square().sum().backward();
      expected.square().sum().backward();
      CHECK(allclose(fused.weight.grad(), plain.weight.grad(), 1e-12, 1e-12));
      if (bias) CHECK(allclose(fused.bias.grad(), plain.bias.grad(), 1e-12, 1e-12));
    }
  }
}

TEST_CASE("MLP names its layers fc1, fc2, ... and equals the chain of Linear layers, also as "
          "an ODE field", "[nn][layers]") {
  manual_seed(2);
  nn::MLP f({2, 16, 8, 2}, {.activation = Activation::Tanh, .dtype = DType::Float64});
  std::vector<std::string> names;
  for (auto& [name, p] : f.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias",
                                          "fc3.weight", "fc3.bias"});
  auto chain = [&](const Tensor& z) {
    return f.layers[2](tanh(f.layers[1](tanh(f.layers[0](z)))));
  };
  Tensor z0 = randn({300, 2}, f64);
  CHECK(allclose(f(z0), chain(z0), 1e-13, 1e-13));
  // Backprop through 20 RK4 steps: the fused field's gradients equal the chain's.
  auto solve = [&](const ode::TensorField& field) {
    Tensor z = z0.detach().requires_grad_(true);
    Tensor zs = ode::odeint(field, z, {0.0, 1.0},
                            {.solver = ode::RK4{.step_size = 0.05}, .params = f.parameters()});
    TensorList wrt = {z};
    for (const Tensor& p : f.parameters()) wrt.push_back(p);
    return autograd::grad({square(zs.select(0, 1)).sum()}, wrt);
  };
  TensorList fused = solve(f);
  TensorList plain = solve([&](double, const Tensor& z) { return chain(z); });
  for (size_t i = 0; i < fused.size(); ++i) {
    INFO("gradient " << i);
    CHECK(allclose(fused[i], plain[i], 1e-11, 1e-12));
  }
  CHECK_THROWS_WITH(nn::MLP({3}), Catch::Contains("MLP: dims"));
  CHECK_THROWS_WITH(f(randn({4, 3}, f64)), Catch::Contains("MLP: expected input [..., 2]"));
}

TEST_CASE("Conv2d matches a direct convolution; circular padding wraps", "[nn][layers]") {
  manual_seed(1);
  nn::Conv2d conv(2, 3, 3, {.stride = 2, .padding = 1, .dtype = DType::Float64});
  Tensor x = randn({2, 2, 7, 6}, f64);
  Dims shape;
  std::vector<double> expected = naive_conv(x, conv.weight, conv.bias, 2, 1, &shape);
  CHECK(allclose(conv(x), tensor(expected, shape, f64), 1e-10, 1e-12));

  // Circular padding: convolving the periodically tiled input without padding gives the same.
  nn::Conv2d periodic(
      1, 2, 3,
      {.padding = 1, .bias = false, .padding_mode = PadMode::Circular, .dtype = DType::Float64});
  Tensor u = randn({1, 1, 5, 5}, f64);
  Tensor tiled = cat({u.narrow(2, 4, 1), u, u.narrow(2, 0, 1)}, 2);
  tiled = cat({tiled.narrow(3, 4, 1), tiled, tiled.narrow(3, 0, 1)}, 3);
  std::vector<double> expected_periodic =
      naive_conv(tiled, periodic.weight, zeros({2}, f64), 1, 0, &shape);
  CHECK(allclose(periodic(u), tensor(expected_periodic, shape, f64), 1e-10, 1e-12));
}

TEST_CASE("BatchNorm normalizes with batch statistics and tracks running ones", "[nn][layers]") {
  manual_seed(2);
  nn::BatchNorm2d bn(3, {.momentum = 0.25, .dtype = DType::Float64});
  Tensor x = randn({4, 3, 2, 5}, f64) * 3.0 + 1.0;
  Tensor y = bn(x);
  // Per channel: mean 0, biased variance 1 (up to eps).
  Tensor m = y.mean({0, 2, 3}), v = var(y, {0, 2, 3}, 0);
  CHECK(allclose(m, zeros({3}, f64), 0, 1e-12));
  CHECK(allclose(v, ones({3}, f64), 1e-4, 0));
  // Running statistics: 0.75·initial + 0.25·batch, the variance unbiased (n = 40 per channel).
  std::vector<double> xv = x.to_vector<double>();
  for (int c = 0; c < 3; ++c) {
    double s = 0, ss = 0;
    for (int i = 0; i < 4; ++i)
      for (int k = 0; k < 10; ++k) s += xv[(i * 3 + c) * 10 + k];
    double mean = s / 40;
    for (int i = 0; i < 4; ++i)
      for (int k = 0; k < 10; ++k) ss += std::pow(xv[(i * 3 + c) * 10 + k] - mean, 2);
    CHECK(bn.running_mean.to_vector<double>()[c] == Approx(0.25 * mean).epsilon(1e-12));
    CHECK(bn.running_var.to_vector<double>()[c] == Approx(0.75 + 0.25 * ss / 39).epsilon(1e-12));
  }
  CHECK(bn.num_batches_tracked.item<int64_t>() == 1);
  // Evaluation: (x - running_mean) / sqrt(running_var + eps) · weight + bias.
  bn.eval();
  Tensor rm = bn.running_mean.reshape({1, 3, 1, 1}), rv = bn.running_var.reshape({1, 3, 1, 1});
  CHECK(allclose(bn(x), (x - rm) / sqrt(rv + 1e-5), 1e-12, 1e-12));
  CHECK(bn.num_batches_tracked.item<int64_t>() == 1);
  CHECK_THROWS_WITH_ALL(bn(randn({4, 2, 2, 2}, f64)), "BatchNorm2d", "3 channels");
  nn::BatchNorm1d bn1(4);
  CHECK(bn1(randn({8, 4})).shape() == Dims{8, 4});
  CHECK(bn1(randn({8, 4, 3})).shape() == Dims{8, 4, 3});
}

TEST_CASE("LayerNorm and GroupNorm normalize over the right elements", "[nn][layers]") {
  manual_seed(3);
  Tensor x = randn({2, 4, 3, 3}, f64) * 2.0 + 0.5;
  nn::LayerNorm ln({3, 3}, {.dtype = DType::Float64});
  Tensor y = ln(x);
  CHECK(allclose(y.mean({2, 3}), zeros({2, 4}, f64), 0, 1e-12));
  CHECK(allclose(var(y, {2, 3}, 0), ones({2, 4}, f64), 1e-4, 0));
  nn::GroupNorm gn(2, 4, {.dtype = DType::Float64});
  {
    autograd::NoGradGuard no_grad;
    gn.weight.copy_(tensor({1.0, 2.0, 3.0, 4.0}, f64));
    gn.bias.copy_(tensor({0.0, 1.0, 0.0, -1.0}, f64));
  }
  Tensor g = gn(x);
  // Group 0 = channels 0 and 1: undo the affine map, then check its statistics.
  Tensor group0 = cat({g.narrow(1, 0, 1), (g.narrow(1, 1, 1) - 1.0) / 2.0}, 1);
  CHECK(allclose(group0.mean({1, 2, 3}), zeros({2}, f64), 0, 1e-12));
  CHECK(allclose(var(group0, {1, 2, 3}, 0), ones({2}, f64), 1e-4, 0));
  CHECK_THROWS_WITH_ALL(nn::GroupNorm(3, 4), "3 groups do not divide 4 channels");
}

TEST_CASE("normalization, activation and pooling functions pass gradcheck", "[nn][layers]") {
  manual_seed(4);
  auto input = [](const Dims& shape) {
    return randn(shape, {.dtype = DType::Float64, .requires_grad = true});
  };
  namespace F = nn::functional;
  Tensor x = input({3, 2, 3, 3}), w = input({2}), b = input({2});
  Tensor rm = zeros({2}, f64), rv = ones({2}, f64);
  CHECK(autograd::gradcheck(
            [&](const TensorList& t) {
              return TensorList{F::batch_norm(t[0], {}, {}, t[1], t[2], true)};
            },
            {x, w, b})
            .ok);
  CHECK(autograd::gradcheck([&](const TensorList& t) { return TensorList{F::layer_norm(t[0], 2)}; },
                            {x})
            .ok);
  CHECK(autograd::gradcheck(
            [&](const TensorList& t) { return TensorList{F::group_norm(t[0], 2, t[1], t[2])}; },
            {x, w, b})
            .ok);
  for (auto f : {F::gelu, F::silu})
    CHECK(autograd::gradcheck([&](const TensorList& t) { return TensorList{f(t[0])}; }, {x}).ok);
  CHECK(
      autograd::gradcheck([&](const TensorList& t) { return TensorList{F::elu(t[0] * 50.0)}; }, {x})
          .ok);
  CHECK(
      autograd::gradcheck(
          [&](const TensorList& t) { return TensorList{F::adaptive_avg_pool2d(t[0], 2, 2)}; }, {x})
          .ok);
}

TEST_CASE("activations match their formulas", "[nn][layers]") {
  Tensor x = tensor({-3.0, -0.5, 0.0, 0.5, 3.0}, f64);
  std::vector<double> v = x.to_vector<double>();
  auto apply = [&](auto f) {
    std::vector<double> o;
    for (double a : v) o.push_back(f(a));
    return tensor(o, {5}, f64);
  };
  CHECK(allclose(nn::LeakyReLU(0.2)(x), apply([](double a) { return a > 0 ? a : 0.2 * a; }), 1e-15,
                 0));
  CHECK(allclose(nn::ELU(1.5)(x), apply([](double a) { return a > 0 ? a : 1.5 * std::expm1(a); }),
                 1e-12, 0));
  CHECK(allclose(nn::SiLU()(x), apply([](double a) { return a / (1 + std::exp(-a)); }), 1e-12, 0));
  // The tanh form of GELU is within 1e-3 of the exact x·Φ(x).
  CHECK(allclose(nn::GELU()(x),
                 apply([](double a) { return a * 0.5 * std::erfc(-a / std::sqrt(2.0)); }), 0,
                 1e-3));
  CHECK(allclose(nn::Sequential(nn::ReLU(), nn::Tanh(), nn::Sigmoid(), nn::Softplus())(x),
                 softplus(sigmoid(tanh(relu(x)))), 0, 0));
  CHECK(allclose(nn::LogSoftmax(0)(x).exp().sum(), ones({}, f64), 1e-12, 0));
}

TEST_CASE("pooling layers and Flatten", "[nn][layers]") {
  Tensor x = arange(2 * 3 * 5 * 7, f64).reshape({2, 3, 5, 7});
  std::vector<double> v = x.to_vector<double>();
  // Adaptive pooling to 2x3 over 5x7: rows {0..2, 2..4}, columns {0..2, 2..4, 4..6}.
  Tensor y = nn::AdaptiveAvgPool2d(2, 3)(x);
  REQUIRE(y.shape() == Dims{2, 3, 2, 3});
  std::vector<double> expected;
  for (int nc = 0; nc < 6; ++nc)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) {
        int r0 = i * 5 / 2, r1 = ((i + 1) * 5 + 1) / 2, c0 = j * 7 / 3, c1 = ((j + 1) * 7 + 2) / 3;
        double s = 0;
        for (int r = r0; r < r1; ++r)
          for (int c = c0; c < c1; ++c) s += v[(nc * 5 + r) * 7 + c];
        expected.push_back(s / ((r1 - r0) * (c1 - c0)));
      }
  CHECK(allclose(y, tensor(expected, {2, 3, 2, 3}, f64), 1e-12, 0));
  CHECK(allclose(nn::AdaptiveAvgPool2d(1, 1)(x), x.mean({2, 3}, true), 1e-12, 0));
  CHECK(nn::MaxPool2d(2)(x).shape() == Dims{2, 3, 2, 3});
  CHECK(nn::MaxPool2d(2)(x).select(3, 0).select(2, 0).select(1, 0).select(0, 0).item() == v[7 + 1]);
  CHECK(nn::AvgPool2d(3, {.stride = 1, .padding = 1})(x).shape() == x.shape());
  CHECK(nn::Flatten()(x).shape() == Dims{2, 105});
  CHECK(nn::Flatten(0, 1)(x).shape() == Dims{6, 5, 7});
}

TEST_CASE("Dropout: drop rate, scaling, identity in evaluation, seeded masks", "[nn][layers]") {
  nn::Dropout drop(0.3);
  Tensor x = ones({20000});
  manual_seed(5);
  Tensor y = drop(x);
  double dropped = eq(y, zeros_like(y)).to(DType::Float64).mean().item();
  CHECK(dropped == Approx(0.3).margin(0.02));
  CHECK(y.max().item() == Approx(1 / 0.7));
  CHECK(y.mean().item() == Approx(1.0).margin(0.03));
  manual_seed(5);
  CHECK(allclose(drop(x), y, 0, 0));
  drop.eval();
  CHECK(drop(x).same(x));
}

TEST_CASE("initializers draw from the documented distributions, reproducibly", "[nn][init]") {
  Tensor w = empty({400, 300});
  Generator gen(11);
  nn::init::kaiming_uniform_(w, {.nonlinearity = nn::init::Nonlinearity::ReLU}, &gen);
  double bound = std::sqrt(2.0) * std::sqrt(3.0 / 300);
  CHECK(w.abs().max().item() <= bound);
  CHECK(w.abs().max().item() > 0.99 * bound);
  CHECK(ctdl::std(w).item() == Approx(std::sqrt(2.0 / 300)).epsilon(0.02));
  nn::init::kaiming_normal_(
      w, {.mode = nn::init::FanMode::FanOut, .nonlinearity = nn::init::Nonlinearity::ReLU}, &gen);
  CHECK(ctdl::std(w).item() == Approx(std::sqrt(2.0 / 400)).epsilon(0.02));
  CHECK(w.mean().item() == Approx(0).margin(0.002));
  nn::init::xavier_uniform_(w, 1.0, &gen);
  CHECK(w.abs().max().item() <= std::sqrt(6.0 / 700));
  nn::init::xavier_normal_(w, 2.0, &gen);
  CHECK(ctdl::std(w).item() == Approx(2.0 * std::sqrt(2.0 / 700)).epsilon(0.02));
  // Convolution weights: fan_in = in·k·k.
  Tensor k = empty({16, 8, 3, 3});
  CHECK(nn::init::fans(k) == std::pair<int64_t, int64_t>{72, 144});
  // The same generator state gives the same weights.
  Generator g1(3), g2(3);
  Tensor a = empty({5, 5}), b = empty({5, 5});
  nn::init::xavier_normal_(a, 1.0, &g1);
  nn::init::xavier_normal_(b, 1.0, &g2);
  CHECK(allclose(a, b, 0, 0));
  nn::init::constant_(a, 0.25);
  CHECK(a.to_vector<double>() == std::vector<double>(25, 0.25));
  CHECK(nn::init::calculate_gain(nn::init::Nonlinearity::Tanh) == Approx(5.0 / 3));
  CHECK_THROWS_WITH_ALL(nn::init::fans(empty({3})), "at least 2 dimensions");
}

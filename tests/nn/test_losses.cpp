// Losses against formulas evaluated with plain doubles, and their gradients.
#include "ctdl/nn/nn.h"
#include "helpers.h"

using namespace ctdl;
using ctdl::testing::allclose;

namespace {
const TensorOptions f64{.dtype = DType::Float64};
}

TEST_CASE("cross_entropy and nll_loss equal -log softmax at the target, with smoothing",
          "[nn][losses]") {
  manual_seed(0);
  Tensor logits = randn({5, 4}, f64) * 3.0;
  Tensor target = tensor(std::vector<int64_t>{0, 3, 1, 1, 2}, {5});
  std::vector<double> z = logits.to_vector<double>();
  for (double eps : {0.0, 0.1}) {
    double total = 0;
    std::vector<double> per_row;
    for (int i = 0; i < 5; ++i) {
      double m = *std::max_element(z.begin() + 4 * i, z.begin() + 4 * i + 4), s = 0;
      for (int c = 0; c < 4; ++c) s += std::exp(z[4 * i + c] - m);
      double lse = m + std::log(s), smooth = 0;
      for (int c = 0; c < 4; ++c) smooth += (lse - z[4 * i + c]) / 4;
      int t = static_cast<int>(target.to_vector<int64_t>()[i]);
      double row = (1 - eps) * (lse - z[4 * i + t]) + eps * smooth;
      per_row.push_back(row);
      total += row;
    }
    CHECK(nn::cross_entropy(logits, target, {.label_smoothing = eps}).item() ==
          Approx(total / 5).epsilon(1e-12));
    CHECK(allclose(nn::cross_entropy(logits, target,
                                     {.label_smoothing = eps, .reduction = nn::Reduction::None}),
                   tensor(per_row, {5}, f64), 1e-12, 0));
  }
  CHECK(nn::nll_loss(log_softmax(logits, 1), target, nn::Reduction::Sum).item() ==
        Approx(nn::cross_entropy(logits, target, {.reduction = nn::Reduction::Sum}).item())
            .epsilon(1e-12));
  // Huge logits stay finite.
  CHECK(std::isfinite(nn::cross_entropy(logits * 1e4, target).item()));
  // Spatial targets [N, d] with scores [N, C, d].
  Tensor spatial = randn({2, 3, 4}, f64);
  Tensor labels = tensor(std::vector<int64_t>{0, 1, 2, 0, 2, 2, 1, 0}, {2, 4});
  Tensor flat = spatial.permute({0, 2, 1}).reshape({8, 3});
  CHECK(nn::cross_entropy(spatial, labels).item() ==
        Approx(nn::cross_entropy(flat, labels.reshape({8})).item()));
  Tensor w = logits.detach().clone().requires_grad_();
  CHECK(autograd::gradcheck(
            [&](const TensorList& t) {
              return TensorList{nn::cross_entropy(t[0], target, {.label_smoothing = 0.2})};
            },
            {w})
            .ok);
}

TEST_CASE("cross_entropy names bad targets", "[nn][losses]") {
  Tensor logits = zeros({3, 4});
  CHECK_THROWS_WITH_ALL(nn::cross_entropy(logits, tensor(std::vector<int64_t>{0, 4, 1}, {3})),
                        "class indices must be in [0, 4)", "from 0 to 4");
  CHECK_THROWS_WITH_ALL(nn::cross_entropy(logits, zeros({3})), "int64");
  CHECK_THROWS_WITH_ALL(nn::cross_entropy(logits, tensor(std::vector<int64_t>{0, 1}, {2})),
                        "targets of shape [2] do not match scores [3, 4]");
}

TEST_CASE("binary cross-entropy with logits is stable and matches its formula", "[nn][losses]") {
  std::vector<double> x = {-50.0, -2.0, 0.0, 1.5, 60.0}, y = {0.0, 1.0, 0.5, 1.0, 0.0};
  double total = 0;
  for (int i = 0; i < 5; ++i) {
    // log(1 + e^x) written stably for the reference.
    auto log1pexp = [](double v) {
      return v > 0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v));
    };
    total += y[i] * log1pexp(-x[i]) + (1 - y[i]) * log1pexp(x[i]);
  }
  Tensor logits = tensor(x, {5}, f64), target = tensor(y, {5}, f64);
  CHECK(nn::binary_cross_entropy_with_logits(logits, target).item() ==
        Approx(total / 5).epsilon(1e-12));
  Tensor pw = tensor({2.0, 2.0, 2.0, 2.0, 2.0}, f64);
  Tensor weighted = nn::binary_cross_entropy_with_logits(logits, target, nn::Reduction::None, pw);
  CHECK(weighted.to_vector<double>()[1] == Approx(2 * std::log1p(std::exp(2.0))).epsilon(1e-12));
  Tensor v = tensor({-3.0, 0.2, 4.0}, {.dtype = DType::Float64, .requires_grad = true});
  Tensor t = tensor({1.0, 0.0, 0.3}, f64);
  CHECK(autograd::gradcheck(
            [&](const TensorList& in) {
              return TensorList{nn::binary_cross_entropy_with_logits(in[0], t)};
            },
            {v})
            .ok);
}

TEST_CASE("mse and huber losses", "[nn][losses]") {
  Tensor a = tensor({0.0, 1.0, 3.0, -2.5}, f64), b = tensor({0.5, 1.0, 0.0, 0.0}, f64);
  CHECK(nn::mse_loss(a, b).item() == Approx((0.25 + 0 + 9 + 6.25) / 4));
  CHECK(nn::mse_loss(a, b, nn::Reduction::Sum).item() == Approx(15.5));
  // delta 1: 0.5·0.25, 0, 1·(3 - 0.5), 1·(2.5 - 0.5)
  CHECK(nn::huber_loss(a, b).item() == Approx((0.125 + 0 + 2.5 + 2.0) / 4));
  CHECK(nn::huber_loss(a, b, 3.0, nn::Reduction::Sum).item() ==
        Approx(0.125 + 0 + 3 * 1.5 + 0.5 * 6.25));
  CHECK_THROWS_WITH_ALL(nn::mse_loss(a, zeros({3}, f64)), "mse_loss", "[4]", "[3]");
}

TEST_CASE("accuracy counts argmax hits", "[nn][losses]") {
  Tensor logits = tensor({{0.1, 0.9}, {0.8, 0.2}, {0.3, 0.7}});
  Tensor target = tensor(std::vector<int64_t>{1, 1, 1}, {3});
  CHECK(nn::count_correct(logits, target) == 2);
  CHECK(nn::accuracy(logits, target) == Approx(2.0 / 3));
}

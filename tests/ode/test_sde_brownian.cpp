// Brownian motion: the virtual tree's path does not depend on the order of queries or on
// threads; increments, bridges and Lévy areas have the variances the theory gives.
#include <algorithm>
#include <random>
#include <thread>

#include "sde_helpers.h"

using namespace ctdl;
using namespace ctdl::testing;
using ode::sde::BrownianOptions;

namespace {

double variance(const Tensor& x) { return square(x - x.mean()).mean().item(); }
double correlation(const Tensor& a, const Tensor& b) {
  Tensor x = a - a.mean(), y = b - b.mean();
  return (x * y).mean().item() / std::sqrt(variance(a) * variance(b));
}

// Sample statistics of N normals: |var / expected - 1| within 5 standard errors (√(2/N)).
void check_variance(const Tensor& x, double expected, const char* what) {
  const double n = static_cast<double>(x.numel());
  INFO(what << ": variance " << variance(x) << ", expected " << expected);
  CHECK(std::abs(variance(x) / expected - 1) < 5 * std::sqrt(2 / n));
  CHECK(std::abs(x.mean().item()) < 5 * std::sqrt(expected / n));
}

std::vector<std::shared_ptr<ode::sde::BrownianMotion>> every_kind(Dims shape, bool levy) {
  BrownianOptions o{.t0 = 0, .t1 = 1, .shape = shape, .seed = 11, .levy_area = levy};
  return {std::make_shared<ode::sde::VirtualBrownianTree>(o),
          std::make_shared<ode::sde::BrownianInterval>(o)};
}

}  // namespace

TEST_CASE("a virtual Brownian tree's path does not depend on the order of queries or on threads",
          "[sde][brownian]") {
  std::vector<double> times;
  for (int i = 0; i <= 200; ++i) times.push_back(std::pow(i / 200.0, 1.3));  // not dyadic
  times.push_back(0.375);
  for (bool levy : {false, true}) {
    auto in_order = tree({3, 2}, 5, 1.0, levy), shuffled = tree({3, 2}, 5, 1.0, levy),
         threaded = tree({3, 2}, 5, 1.0, levy);
    std::vector<Tensor> a(times.size()), b(times.size()), c(times.size());
    for (size_t i = 0; i < times.size(); ++i) a[i] = in_order->value(times[i]);
    std::vector<size_t> order(times.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), std::mt19937(3));
    for (size_t i : order) b[i] = shuffled->value(times[i]);
    std::vector<std::thread> threads;
    for (size_t k = 0; k < 4; ++k)
      threads.emplace_back([&, k] {
        for (size_t i = k; i < times.size(); i += 4) c[i] = threaded->value(times[i]);
      });
    for (std::thread& t : threads) t.join();
    double worst = 0;
    for (size_t i = 0; i < times.size(); ++i)
      worst = std::max({worst, max_abs_diff(a[i], b[i]), max_abs_diff(a[i], c[i])});
    CHECK(worst == 0.0);
    // An increment asked for twice, with other queries in between, is the same.
    Tensor first = in_order->increment(0.3, 0.31);
    in_order->value(0.9);
    CHECK(max_abs_diff(first, in_order->increment(0.3, 0.31)) == 0.0);
    CHECK(max_abs_diff(in_order->increment(0.31, 0.3), -first) == 0.0);
  }
  CHECK(max_abs_diff(tree({3, 2}, 5)->value(0.5), tree({3, 2}, 6)->value(0.5)) > 0.0);
}

TEST_CASE(
    "Brownian increments are independent with variance t - s, and bridges have the "
    "bridge variance",
    "[sde][brownian]") {
  const int64_t n = 40000;
  for (auto& bm : every_kind({n, 1}, false)) {
    // The interval is asked for the ends first, so 0.45 is sampled from the bridge between them.
    Tensor ws = bm->value(0.2), wu = bm->value(0.7), wt = bm->value(0.45);
    check_variance(wu - ws, 0.5, "W(0.7) - W(0.2)");
    check_variance(bm->increment(0.1, 0.35), 0.25, "W(0.35) - W(0.1)");
    check_variance(wt - (ws + wu) * 0.5, 0.25 * 0.25 / 0.5, "bridge residual at 0.45");
    CHECK(std::abs(correlation(bm->increment(0.1, 0.35), bm->increment(0.35, 0.8))) <
          5 / std::sqrt(static_cast<double>(n)));
    CHECK(std::abs(correlation(wu - ws, ws)) < 5 / std::sqrt(static_cast<double>(n)));
  }
  // The tree's own bisection: the midpoint's residual has variance (u - s)/4.
  auto t = tree({n, 1}, 2);
  check_variance(t->value(0.5) - t->value(1.0) * 0.5, 0.25, "root midpoint");
  check_variance(t->value(0.375) - (t->value(0.25) + t->value(0.5)) * 0.5, 0.0625, "depth 3");
}

TEST_CASE("space-time Lévy areas have variance h/12, are independent of the increment and add up",
          "[sde][brownian]") {
  const int64_t n = 40000;
  for (auto& bm : every_kind({n, 1}, true)) {
    for (auto [s, u] : {std::pair{0.25, 0.5}, std::pair{0.1, 0.35}, std::pair{0.0, 1.0}}) {
      ode::sde::Increment inc = bm->increment_with_area(s, u);
      check_variance(inc.w, u - s, "W over the interval");
      check_variance(inc.h, (u - s) / 12, "Lévy area");
      CHECK(std::abs(correlation(inc.w, inc.h)) < 5 / std::sqrt(static_cast<double>(n)));
      // H over [s, u] from its two halves: (h1 H1 + h2 H2 + (h2 W1 - h1 W2)/2) / h.
      double m = s + 0.3 * (u - s), h = u - s, h1 = m - s, h2 = u - m;
      ode::sde::Increment a = bm->increment_with_area(s, m), b = bm->increment_with_area(m, u);
      Tensor joined = (a.h * h1 + b.h * h2 + (a.w * h2 - b.w * h1) * 0.5) / h;
      CHECK(max_abs_diff(joined, inc.h) < 1e-9);
      CHECK(max_abs_diff(a.w + b.w, inc.w) < 1e-12);
      // Reversed, the increment changes sign and the area does not.
      ode::sde::Increment back = bm->increment_with_area(u, s);
      CHECK(max_abs_diff(back.w, -inc.w) == 0.0);
      CHECK(max_abs_diff(back.h, inc.h) < 1e-12);
    }
  }
  CHECK_THROWS_WITH_ALL(tree({2, 1}, 1)->increment_with_area(0.0, 0.5), "levy_area");
}

TEST_CASE("a stored Brownian path answers on its grid only", "[sde][brownian]") {
  auto path = ode::sde::BrownianPath::sample({.t1 = 2.0, .shape = {20000, 2}, .seed = 9}, 64);
  check_variance(path->increment(0.5, 1.5).narrow(1, 0, 1), 1.0, "sampled path increment");
  CHECK_THROWS_WITH_ALL(path->value(0.01), "BrownianPath", "t=0.01", "not one of the stored times");
  CHECK_THROWS_WITH_ALL(path->value(2.5), "outside [0, 2]");
  // A given path is replayed exactly (shifted to start at 0).
  Tensor w = tensor({1.0, 1.5, 0.5, 2.0}, kF64).reshape({4, 1, 1});
  ode::sde::BrownianPath given({0.0, 0.1, 0.2, 0.3}, w);
  CHECK(given.increment(0.1, 0.3).item() == Approx(0.5));
  CHECK(given.value(0.2).item() == Approx(-0.5));
}

TEST_CASE(
    "a Brownian interval gives the same path for the same queries and keeps what it was "
    "asked",
    "[sde][brownian]") {
  BrownianOptions o{.t1 = 1, .shape = {4, 3}, .seed = 21};
  ode::sde::BrownianInterval a(o), b(o);
  for (int k = 0; k < 50; ++k)
    CHECK(max_abs_diff(a.increment(k * 0.02, (k + 1) * 0.02),
                       b.increment(k * 0.02, (k + 1) * 0.02)) == 0.0);
  CHECK(a.stored_points() == 51);
  // A backward solve reaching the same times by another rounding sees the same increments.
  double t = 1.0;
  for (int k = 50; k > 40; --k) t -= 0.02;
  CHECK(max_abs_diff(a.value(t), a.value(0.8)) == 0.0);
  CHECK(a.stored_points() == 51);
}

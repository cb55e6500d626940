// examples/durr: PSNR on known pairs, the noise model, the policy's stopping rule (within the
// step limit, the same choices stepping as along a precomputed trajectory), and short
// trainings of the unit, the DnCNN-style baseline and the Q-function that must lower their
// losses. The data reader is checked on the shared CIFAR-10 archive when it is there.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <set>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/examples/durr/data.h"
#include "ctdl/examples/durr/model.h"
#include "helpers.h"

using namespace ctdl;
using namespace ctdl::examples::durr;

namespace {

// Smooth synthetic images [n, 1, s, s] in [0.2, 0.8]: sums of two random plane waves.
Tensor smooth_images(int64_t n, int64_t s, uint64_t seed) {
  Generator g(seed);
  std::vector<double> f = rand({n, 6}, {}, &g).to_vector<double>(), v;
  for (int64_t i = 0; i < n; ++i) {
    const double* p = &f[static_cast<size_t>(6 * i)];
    for (int64_t r = 0; r < s; ++r)
      for (int64_t c = 0; c < s; ++c)
        v.push_back(0.5 + 0.15 * std::sin(p[0] * 1.2 * r + p[1] * 0.8 * c + 6 * p[2]) +
                    0.15 * std::cos(p[3] * 0.9 * r - p[4] * 1.1 * c + 6 * p[5]));
  }
  return tensor(v, {n, 1, s, s}, {.dtype = DType::Float32});
}

double unit_mse(const RestorationUnit& unit, const Tensor& clean, const Tensor& noisy,
                int64_t steps) {
  autograd::NoGradGuard no_grad;
  return nn::mse_loss(unit.unroll(noisy, steps), clean).item<double>();
}

// The mean squared TD error over every transition of `memory` (γ = 1, as q_learning_step).
double td_error(const StopPolicy& policy, const StopPolicy& target, const Transitions& memory) {
  autograd::NoGradGuard no_grad;
  const int64_t t = memory.rewards.size(1);
  double sum = 0;
  for (int64_t k = 0; k < t; ++k) {
    Tensor now = memory.states.select(1, k), next = memory.states.select(1, k + 1);
    Tensor y = memory.rewards.select(1, k);
    if (k + 1 < t) y = y + clamp(target.q_continue(next), 0.0, std::nullopt);
    sum += square(policy.q_continue(now) - y).mean().item<double>();
  }
  return sum / static_cast<double>(t);
}

}  // namespace

TEST_CASE("durr: PSNR of known pairs, clamped to [0, 1]", "[examples][durr]") {
  Tensor clean = cat({full({1, 1, 4, 4}, 0.5), full({1, 1, 4, 4}, 0.5), full({1, 1, 4, 4}, 0.95)});
  Tensor x = cat({full({1, 1, 4, 4}, 0.6), full({1, 1, 4, 4}, 0.49), full({1, 1, 4, 4}, 1.1)});
  std::vector<double> db = psnr(x, clean).to_vector<double>();
  REQUIRE(db.size() == 3);
  CHECK(db[0] == Approx(20.0).margin(1e-4));                          // MSE 0.01
  CHECK(db[1] == Approx(40.0).margin(1e-3));                          // MSE 1e-4
  CHECK(db[2] == Approx(10 * std::log10(1 / 0.0025)).margin(1e-4));  // 1.1 counts as 1.0
  // Half the pixels off by 0.2: MSE 0.02.
  Tensor half = cat({full({1, 1, 2, 4}, 0.7), full({1, 1, 2, 4}, 0.5)}, 2);
  CHECK(psnr(half, full({1, 1, 4, 4}, 0.5)).item<double>() ==
        Approx(10 * std::log10(50.0)).margin(1e-4));
}

TEST_CASE("durr: noise of the requested level; terminal times", "[examples][durr]") {
  Generator g(3);
  Tensor clean = full({4, 1, 64, 64}, 0.3);
  Tensor noisy = add_noise(clean, tensor({10.0, 20.0, 40.0, 80.0}, {.dtype = DType::Float32}), &g);
  std::vector<double> sd = ctdl::std((noisy - clean) * 255.0, {1, 2, 3}).to_vector<double>();
  CHECK(sd[0] == Approx(10).epsilon(0.04));
  CHECK(sd[1] == Approx(20).epsilon(0.04));
  CHECK(sd[2] == Approx(40).epsilon(0.04));
  CHECK(sd[3] == Approx(80).epsilon(0.04));
  CHECK(terminal_steps(15, 10) == 2);
  CHECK(terminal_steps(34, 10) == 3);
  CHECK(terminal_steps(50, 10) == 5);
  CHECK(terminal_steps(75, 10) == 8);
  CHECK(terminal_steps(3, 10) == 1);  // at least one step
}

TEST_CASE("durr: the policy stops within the maximum number of steps", "[examples][durr]") {
  manual_seed(11);
  RestorationUnit unit({.width = 8, .layers = 3});
  StopPolicy policy({.width = 4});
  Tensor clean = smooth_images(6, 12, 1);
  Tensor y = add_noise(clean, tensor({5.0, 10.0, 20.0, 30.0, 40.0, 60.0}, {.dtype = DType::Float32}));
  const int64_t max_steps = 5;
  TensorList path;
  {
    autograd::NoGradGuard no_grad;
    path = unit.trajectory(y, max_steps);
  }
  auto set_bias = [&](double b) {
    autograd::NoGradGuard no_grad;
    policy.head.bias.copy_(full({1}, b));
  };

  SECTION("a policy that always continues runs to the limit") {
    set_bias(1e3);
    Restoration r = restore(unit, policy, y, max_steps);
    for (int64_t s : r.steps) CHECK(s == max_steps);
    CHECK(testing::max_abs_diff(r.restored, path.back()) < 1e-6);
  }
  SECTION("a policy that always stops returns the input") {
    set_bias(-1e3);
    Restoration r = restore(unit, policy, y, max_steps);
    for (int64_t s : r.steps) CHECK(s == 0);
    CHECK(testing::max_abs_diff(r.restored, y) == 0);
  }
  SECTION("mixed decisions: each image stops where the rule says, never past the limit") {
    // Centre Q on its median over the trajectory, so that some states continue and some stop.
    std::vector<float> q;
    for (const Tensor& x : path)
      for (float v : policy.q_continue(x).detach().to_vector<float>()) q.push_back(v);
    std::sort(q.begin(), q.end());
    set_bias(policy.head.bias.item<double>() - q[q.size() / 2]);
    Restoration r = restore(unit, policy, y, max_steps);
    std::vector<int64_t> along = stopping_steps(policy, path);
    CHECK(r.steps == along);
    std::set<int64_t> distinct(r.steps.begin(), r.steps.end());
    CHECK(distinct.size() >= 2);
    for (size_t i = 0; i < r.steps.size(); ++i) {
      CHECK(r.steps[i] >= 0);
      CHECK(r.steps[i] <= max_steps);
      Tensor want = path[static_cast<size_t>(r.steps[i])].select(0, static_cast<int64_t>(i));
      CHECK(testing::max_abs_diff(r.restored.select(0, static_cast<int64_t>(i)), want) < 1e-5);
    }
  }
}

TEST_CASE("durr: a few training steps lower the losses", "[examples][durr]") {
  manual_seed(5);
  Tensor clean = smooth_images(8, 12, 2);
  Generator g(9);
  Tensor noisy = add_noise(clean, full({1}, 30.0), &g);

  RestorationUnit unit({.width = 8, .layers = 3});
  nn::Adam opt(unit.parameters(), {.lr = 5e-3});
  double before = unit_mse(unit, clean, noisy, 3);
  for (int i = 0; i < 30; ++i) train_unit_step(unit, opt, clean, noisy, 3);
  double after = unit_mse(unit, clean, noisy, 3);
  double noisy_mse = nn::mse_loss(noisy, clean).item<double>();
  INFO("unit MSE " << before << " -> " << after << ", noisy images " << noisy_mse);
  CHECK(after < 0.6 * before);
  CHECK(after < 0.7 * noisy_mse);  // better than doing nothing, by a margin

  DnCNN dncnn(8, 3);
  nn::Adam opt_d(dncnn.parameters(), {.lr = 5e-3});
  double d_before, d_after;
  {
    autograd::NoGradGuard no_grad;
    d_before = nn::mse_loss(dncnn(noisy), clean).item<double>();
  }
  for (int i = 0; i < 30; ++i) train_dncnn_step(dncnn, opt_d, clean, noisy);
  {
    autograd::NoGradGuard no_grad;
    d_after = nn::mse_loss(dncnn(noisy), clean).item<double>();
  }
  INFO("DnCNN MSE " << d_before << " -> " << d_after);
  CHECK(d_after < 0.5 * d_before);

  // Q-learning on the trained unit's trajectories, the target network held fixed: the TD
  // error over the whole replay memory falls. Rewards are PSNR gains between states.
  Transitions memory = collect_transitions(unit, clean, noisy, 4);
  REQUIRE(memory.states.shape() == Dims{8, 5, 1, 12, 12});
  REQUIRE(memory.rewards.shape() == Dims{8, 4});
  Tensor gain = psnr(memory.states.select(1, 2), clean) - psnr(memory.states.select(1, 1), clean);
  CHECK(testing::max_abs_diff(memory.rewards.select(1, 1), gain) < 1e-4);
  StopPolicy policy({.width = 4}), target({.width = 4});
  target.load_state_dict(policy.state_dict());
  nn::Adam opt_q(policy.parameters(), {.lr = 1e-2});
  double td_before = td_error(policy, target, memory);
  for (int i = 0; i < 40; ++i) q_learning_step(policy, target, opt_q, memory, 16);
  double td_after = td_error(policy, target, memory);
  INFO("TD error " << td_before << " -> " << td_after);
  CHECK(td_after < 0.5 * td_before);
}

TEST_CASE("durr: grayscale CIFAR-10 images and crops", "[examples][durr]") {
  std::string dir = testing::shared_data_dir("cifar10-jpg");
  if (dir.empty()) {
    WARN("skipped: ../shared/data/cifar10-jpg is absent");
    return;
  }
  Tensor images = load_gray_images(dir + "/cifar10-test-jpg.tar.gz", 20);
  REQUIRE(images.shape() == Dims{20, 1, 32, 32});
  CHECK(amin(images).item<double>() >= 0.0);
  CHECK(amax(images).item<double>() <= 1.0);
  CHECK(ctdl::std(images).item<double>() > 0.05);
  manual_seed(1);
  Tensor crops = random_crops(images, 7, 24);
  REQUIRE(crops.shape() == Dims{7, 1, 24, 24});
  CHECK(amax(crops).item<double>() <= 1.0);
}

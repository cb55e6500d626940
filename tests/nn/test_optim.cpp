// Optimizers against scalar re-implementations of PyTorch's update formulas, L-BFGS on
// problems with known minimizers, schedules, clipping, and state round trips.
#include <functional>

#include "ctdl/nn/nn.h"
#include "helpers.h"

using namespace ctdl;
using ctdl::testing::allclose;

namespace {

const TensorOptions f64{.dtype = DType::Float64};

// f(p) = 0.5·Σ a_i p_i² - Σ b_i p_i, gradient a_i p_i - b_i: an elementwise problem, so each
// coordinate can be followed by a scalar reference.
const std::vector<double> kA = {1.0, 3.0, 0.5, 2.0}, kB = {1.0, -2.0, 0.25, 0.0};

Tensor quadratic_loss(const Tensor& p) {
  return (tensor(kA, {4}, f64) * p * p * 0.5 - tensor(kB, {4}, f64) * p).sum();
}

// Runs `steps` updates of opt on the quadratic starting from p0; returns p.
Tensor run(const std::function<nn::Optimizer*(Tensor&)>& make, int steps) {
  Tensor p = tensor({0.5, -1.0, 2.0, 1.5}, f64).requires_grad_();
  std::unique_ptr<nn::Optimizer> opt(make(p));
  for (int s = 0; s < steps; ++s) {
    opt->zero_grad();
    quadratic_loss(p).backward();
    opt->step();
  }
  return p.detach();
}

// The same trajectory with a scalar update rule `update(i, p_i, g_i, step)`.
Tensor reference(const std::function<double(int, double, double, int)>& update, int steps) {
  std::vector<double> p = {0.5, -1.0, 2.0, 1.5};
  for (int s = 1; s <= steps; ++s)
    for (int i = 0; i < 4; ++i) p[i] = update(i, p[i], kA[i] * p[i] - kB[i], s);
  return tensor(p, {4}, f64);
}

}  // namespace

TEST_CASE("SGD with momentum, dampening, Nesterov and weight decay follows PyTorch's rule",
          "[nn][optim]") {
  for (bool nesterov : {false, true}) {
    double lr = 0.1, mu = 0.9, wd = 0.01, damp = nesterov ? 0.0 : 0.3;
    std::vector<double> buf(4);
    Tensor expected = reference(
        [&](int i, double p, double g, int step) {
          g += wd * p;
          buf[i] = step == 1 ? g : mu * buf[i] + (1 - damp) * g;
          return p - lr * (nesterov ? g + mu * buf[i] : buf[i]);
        },
        7);
    Tensor got = run(
        [&](Tensor& p) {
          return new nn::SGD({p}, {.lr = lr,
                                   .momentum = mu,
                                   .dampening = damp,
                                   .weight_decay = wd,
                                   .nesterov = nesterov});
        },
        7);
    CHECK(allclose(got, expected, 1e-13, 1e-15));
  }
  CHECK_THROWS_WITH_ALL(nn::SGD({zeros({1}, {.requires_grad = true})}, {.nesterov = true}),
                        "Nesterov");
}

TEST_CASE("Adam, AdamW and RMSprop follow PyTorch's rules", "[nn][optim]") {
  const double lr = 0.05, b1 = 0.8, b2 = 0.99, eps = 1e-8, wd = 0.1;
  for (bool decoupled : {false, true}) {
    std::vector<double> m(4), v(4);
    Tensor expected = reference(
        [&](int i, double p, double g, int t) {
          if (decoupled)
            p *= 1 - lr * wd;
          else
            g += wd * p;
          m[i] = b1 * m[i] + (1 - b1) * g;
          v[i] = b2 * v[i] + (1 - b2) * g * g;
          double mh = m[i] / (1 - std::pow(b1, t)), vh = v[i] / (1 - std::pow(b2, t));
          return p - lr * mh / (std::sqrt(vh) + eps);
        },
        9);
    nn::AdamOptions o{.lr = lr, .beta1 = b1, .beta2 = b2, .eps = eps, .weight_decay = wd};
    Tensor got = run(
        [&](Tensor& p) -> nn::Optimizer* {
          if (decoupled) return new nn::AdamW({p}, o);
          return new nn::Adam({p}, o);
        },
        9);
    CHECK(allclose(got, expected, 1e-12, 1e-14));
  }
  for (bool centered : {false, true}) {
    const double alpha = 0.9, mu = 0.5;
    std::vector<double> sq(4), ga(4), buf(4);
    Tensor expected = reference(
        [&](int i, double p, double g, int) {
          g += wd * p;
          sq[i] = alpha * sq[i] + (1 - alpha) * g * g;
          double avg = std::sqrt(sq[i]) + eps;
          if (centered) {
            ga[i] = alpha * ga[i] + (1 - alpha) * g;
            avg = std::sqrt(sq[i] - ga[i] * ga[i]) + eps;
          }
          buf[i] = mu * buf[i] + g / avg;
          return p - lr * buf[i];
        },
        9);
    Tensor got = run(
        [&](Tensor& p) {
          return new nn::RMSprop({p}, {.lr = lr,
                                       .alpha = alpha,
                                       .eps = eps,
                                       .weight_decay = wd,
                                       .momentum = mu,
                                       .centered = centered});
        },
        9);
    CHECK(allclose(got, expected, 1e-12, 1e-14));
  }
}

TEST_CASE("parameters without a gradient are left alone", "[nn][optim]") {
  Tensor used = ones({2}, {.requires_grad = true}), unused = ones({2}, {.requires_grad = true});
  nn::Adam opt({used, unused}, {.lr = 0.1});
  (used * 3.0).sum().backward();
  opt.step();
  CHECK(unused.to_vector<double>() == std::vector<double>{1, 1});
  CHECK(used.to_vector<double>()[0] == Approx(0.9));
}

TEST_CASE("an optimizer restored from its state continues exactly", "[nn][optim]") {
  auto make = [](Tensor& p) { return new nn::Adam({p}, {.lr = 0.05}); };
  Tensor straight = run(make, 10);
  // Five steps, save, a fresh optimizer on a copy of the parameters loads the state, five more.
  Tensor p = tensor({0.5, -1.0, 2.0, 1.5}, f64).requires_grad_();
  nn::Adam first({p}, {.lr = 0.05});
  for (int s = 0; s < 5; ++s) {
    first.zero_grad();
    quadratic_loss(p).backward();
    first.step();
  }
  nn::NamedTensors saved = first.state_dict();
  Tensor q = p.detach().clone().requires_grad_();
  nn::Adam second({q}, {.lr = 0.5});  // a different lr: the state's replaces it
  second.load_state_dict(saved);
  CHECK(second.steps() == 5);
  CHECK(second.lr() == 0.05);
  for (int s = 0; s < 5; ++s) {
    second.zero_grad();
    quadratic_loss(q).backward();
    second.step();
  }
  CHECK(allclose(q.detach(), straight, 0, 0));
  // A state for other shapes is refused with every problem named.
  nn::Adam wrong({zeros({3}, {.requires_grad = true})});
  CHECK_THROWS_WITH_ALL(wrong.load_state_dict(saved, "ckpt"),
                        "'0.exp_avg' has shape [4] in ckpt but [3]",
                        "'0.exp_avg_sq' has shape [4]");
}

TEST_CASE("L-BFGS finds the minimizers of a quadratic and of Rosenbrock's function",
          "[nn][optim]") {
  // Quadratic: the exact minimizer is b / a.
  Tensor p = zeros({4}, {.dtype = DType::Float64, .requires_grad = true});
  nn::LBFGS opt({p}, {.max_iter = 50, .tolerance_grad = 1e-12, .tolerance_change = 1e-14});
  auto closure = [&] {
    opt.zero_grad();
    Tensor loss = quadratic_loss(p);
    loss.backward();
    return loss;
  };
  opt.step(closure);
  std::vector<double> minimizer;
  for (int i = 0; i < 4; ++i) minimizer.push_back(kB[i] / kA[i]);
  // (The loss-change test stops it once f changes by < 1e-14, i.e. at errors near 1e-7.)
  CHECK(allclose(p.detach(), tensor(minimizer, {4}, f64), 1e-6, 1e-6));

  // Rosenbrock from (-1.5, 2): the minimum is at (1, 1).
  Tensor xy = tensor({-1.5, 2.0}, f64).requires_grad_();
  nn::LBFGSOptions wolfe_options{.max_iter = 5,
                                 .tolerance_grad = 1e-10,
                                 .tolerance_change = 1e-14,
                                 .line_search = nn::LineSearch::StrongWolfe};
  nn::LBFGS wolfe({xy}, wolfe_options);
  auto rosenbrock = [&](nn::Optimizer& o) {
    return [&] {
      o.zero_grad();
      Tensor x = xy.select(0, 0), y = xy.select(0, 1);
      Tensor loss = square(1.0 - x) + square(y - x * x) * 100.0;
      loss.backward();
      return loss;
    };
  };
  for (int outer = 0; outer < 2; ++outer) wolfe.step(rosenbrock(wolfe));
  // Mid-way, the state round-trips: a restored L-BFGS takes exactly the same next step.
  Tensor before = xy.detach().clone();
  nn::NamedTensors state = wolfe.state_dict();
  wolfe.step(rosenbrock(wolfe));
  Tensor after = xy.detach().clone();
  CHECK_FALSE(allclose(after, before, 0, 1e-6));
  {
    autograd::NoGradGuard no_grad;
    xy.copy_(before);
  }
  nn::LBFGS restored({xy}, wolfe_options);
  restored.load_state_dict(state);
  restored.step(rosenbrock(restored));
  CHECK(allclose(xy.detach(), after, 0, 0));
  for (int outer = 0; outer < 60; ++outer) restored.step(rosenbrock(restored));
  CHECK(allclose(xy.detach(), tensor({1.0, 1.0}, f64), 1e-6, 1e-6));
  CHECK(restored.function_evaluations() < 300);
  CHECK_THROWS_WITH_ALL(restored.step(), "needs a closure");
}

TEST_CASE("epoch schedules give their closed-form rates", "[nn][optim]") {
  Tensor p = zeros({1}, {.requires_grad = true});
  auto rates = [&](nn::EpochScheduler& s, nn::Optimizer& opt, int n) {
    std::vector<double> out = {opt.lr()};
    for (int e = 0; e < n; ++e) s.step(), out.push_back(opt.lr());
    return out;
  };
  nn::SGD a({p}, {.lr = 1.0});
  nn::StepLR step(a, 2, 0.5);
  CHECK(rates(step, a, 5) == std::vector<double>{1, 1, 0.5, 0.5, 0.25, 0.25});
  nn::SGD b({p}, {.lr = 1.0});
  nn::MultiStepLR multi(b, {1, 3}, 0.1);
  std::vector<double> r = rates(multi, b, 4);
  CHECK(r[0] == 1.0);
  CHECK(r[1] == Approx(0.1));
  CHECK(r[3] == Approx(0.01));
  CHECK(r[4] == Approx(0.01));
  nn::SGD c({p}, {.lr = 2.0});
  nn::ExponentialLR expo(c, 0.5);
  CHECK(rates(expo, c, 3) == std::vector<double>{2, 1, 0.5, 0.25});
  nn::SGD d({p}, {.lr = 1.0});
  nn::CosineAnnealingLR cosine(d, 4, 0.2);
  r = rates(cosine, d, 4);
  CHECK(r[2] == Approx(0.6));  // halfway: the midpoint of 1 and 0.2
  CHECK(r[4] == Approx(0.2));
  CHECK(r[1] == Approx(0.2 + 0.8 * (1 + std::cos(M_PI / 4)) / 2));
  // Restoring the epoch count restores the rate.
  nn::SGD e({p}, {.lr = 1.0});
  nn::CosineAnnealingLR again(e, 4, 0.2);
  again.load_state_dict(cosine.state_dict());
  CHECK(e.lr() == Approx(0.2));
  CHECK(again.epoch() == 4);
}

TEST_CASE("ReduceLROnPlateau cuts the rate after `patience` epochs without improvement",
          "[nn][optim]") {
  Tensor p = zeros({1}, {.requires_grad = true});
  nn::SGD opt({p}, {.lr = 1.0});
  nn::ReduceLROnPlateau plateau(opt, {.factor = 0.5, .patience = 2, .cooldown = 1, .min_lr = 0.2});
  std::vector<double> lrs;
  for (double metric : {5.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0}) {
    plateau.step(metric);
    lrs.push_back(opt.lr());
  }
  // Improvements at epochs 0 and 1; three bad epochs (2, 3, 4) exceed patience 2 at epoch 4;
  // one cooldown epoch (5), then three more bad ones (6, 7, 8); then the floor 0.2 holds.
  CHECK(lrs == std::vector<double>{1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25});
  // Not below min_lr.
  for (int i = 0; i < 10; ++i) plateau.step(4.0);
  CHECK(opt.lr() == 0.2);
}

TEST_CASE("clip_grad_norm_ scales the joint gradient to the bound", "[nn][optim]") {
  Tensor a = zeros({2}, {.requires_grad = true}), b = zeros({1}, {.requires_grad = true});
  ((a * tensor({3.0, 0.0})).sum() + (b * 4.0).sum())
      .backward();  // gradients (3, 0) and (4): norm 5
  double norm = nn::clip_grad_norm_({a, b}, 1.0);
  CHECK(norm == Approx(5.0));
  CHECK(a.grad().to_vector<double>()[0] == Approx(0.6).epsilon(1e-5));
  CHECK(b.grad().item() == Approx(0.8).epsilon(1e-5));
  CHECK(nn::clip_grad_norm_({a, b}, 10.0) ==
        Approx(1.0).epsilon(1e-5));  // below the bound: unchanged
  CHECK(b.grad().item() == Approx(0.8).epsilon(1e-5));
  CHECK(nn::clip_grad_norm_({a, b}, 1.0, INFINITY) == Approx(0.8).epsilon(1e-5));
  nn::clip_grad_value_({a, b}, 0.7);
  CHECK(b.grad().item() == Approx(0.7));
  CHECK(a.grad().to_vector<double>()[0] == Approx(0.6).epsilon(1e-5));
}

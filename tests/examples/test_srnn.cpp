// examples/srnn: the spring chain against its exact solution and its energy, the models'
// steps against hand-written leapfrog and Euler steps, gradients (gradcheck through the
// Hessians the rollout differentiates), short trainings that lower the loss, and initial
// state optimization.
#include <catch2/catch.hpp>
#include <cmath>

#include "../helpers.h"
#include "ctdl/autograd/gradcheck.h"
#include "ctdl/examples/srnn/chain.h"
#include "ctdl/examples/srnn/models.h"

using namespace ctdl;
using namespace ctdl::examples::srnn;

namespace {

const TensorOptions f64{.dtype = DType::Float64};

Tensor grad_of(const nn::Sequential& net, const Tensor& x) {
  Tensor leaf = x.detach().requires_grad_();
  return autograd::grad({net(leaf).sum()}, {leaf})[0];
}

}  // namespace

TEST_CASE("srnn: one mass between two walls oscillates as cos and sin", "[examples][srnn]") {
  manual_seed(0);
  SpringChain chain = SpringChain::random(1);
  ChainData d = simulate(chain, {.trajectories = 3, .steps = 30, .noise = 0.0});
  REQUIRE(d.clean.shape() == Dims{31, 3, 2});
  const double m = chain.masses.item(), k = chain.springs.sum().item();
  const double w = std::sqrt(k / m);
  std::vector<double> z = d.clean.to_vector<double>();
  for (int64_t b = 0; b < 3; ++b) {
    const double q0 = z[static_cast<size_t>(b * 2)], p0 = z[static_cast<size_t>(b * 2 + 1)];
    for (int64_t i = 0; i <= 30; i += 10) {
      const double t = 0.1 * static_cast<double>(i);
      const double q = q0 * std::cos(w * t) + p0 / (m * w) * std::sin(w * t);
      CHECK(z[static_cast<size_t>((i * 3 + b) * 2)] == Approx(q).margin(1e-4));
    }
  }
  CHECK(ctdl::testing::max_abs_diff(d.noisy, d.clean) == 0);
}

TEST_CASE("srnn: the chain's force is minus the gradient of its energy, which is conserved",
          "[examples][srnn]") {
  manual_seed(1);
  SpringChain chain = SpringChain::random(4);
  CHECK(chain.springs.size(0) == 5);
  Tensor q = randn({3, 4}, f64).requires_grad_(), p = randn({3, 4}, f64);
  Tensor dV = autograd::grad({chain.energy(q, p).sum()}, {q})[0];
  CHECK(ctdl::testing::max_abs_diff(chain.potential_gradient(q.detach()), dV) < 1e-12);
  ChainData d = simulate(chain, {.trajectories = 4, .steps = 50, .noise = 0.3});
  auto energy_at = [&](int64_t i) {
    Tensor z = d.clean.select(0, i).to(DType::Float64);
    return chain.energy(z.narrow(-1, 0, 4), z.narrow(-1, 4, 4));
  };
  Tensor e0 = energy_at(0), e1 = energy_at(50);
  CHECK(amax(abs(e1 - e0) / e0).item() < 1e-4);
  // The noise has the asked-for size.
  CHECK(ctdl::std(d.noisy - d.clean).item() == Approx(0.3).epsilon(0.1));
}

TEST_CASE("srnn: rollouts have the right shapes and steps", "[examples][srnn]") {
  manual_seed(2);
  const double h = 0.1;
  Tensor q0 = randn({3, 4}, f64), p0 = randn({3, 4}, f64);
  for (const char* name : {"srnn", "hnn", "euler_rnn", "srnn_iso"}) {
    ChainModel m(model_spec(name), 4, 8);
    m.to(DType::Float64);
    TensorList path = m.rollout(q0, p0, 5, h);
    REQUIRE(path.size() == 2);
    CHECK(path[0].shape() == Dims{6, 3, 4});
    CHECK(path[1].shape() == Dims{6, 3, 4});
    CHECK(predict(m, cat({q0, p0}, -1), 5, h).shape() == Dims{6, 3, 8});
    // The first step, by hand.
    Tensor q1, p1;
    if (m.spec.integrator == "leapfrog") {
      Tensor half = p0 - grad_of(m.potential, q0) * (h / 2);
      q1 = q0 + grad_of(m.kinetic, half) * h;
      p1 = half - grad_of(m.potential, q1) * (h / 2);
    } else if (m.spec.hamiltonian) {
      q1 = q0 + grad_of(m.kinetic, p0) * h;
      p1 = p0 - grad_of(m.potential, q0) * h;
    } else {
      Tensor d = m.vector_field(cat({q0, p0}, -1));
      q1 = q0 + d.narrow(-1, 0, 4) * h;
      p1 = p0 + d.narrow(-1, 4, 4) * h;
    }
    INFO(name);
    CHECK(ctdl::testing::max_abs_diff(path[0].select(0, 1), q1) < 1e-12);
    CHECK(ctdl::testing::max_abs_diff(path[1].select(0, 1), p1) < 1e-12);
  }
  ChainModel srnn(model_spec("srnn"), 4, 8);
  CHECK(srnn.hamiltonian(randn({3, 4}), randn({3, 4})).shape() == Dims{3});
  CHECK_THROWS(model_spec("lstm"));
}

TEST_CASE("srnn: the leapfrog rollout is symplectic and its gradients pass gradcheck",
          "[examples][srnn]") {
  manual_seed(3);
  ChainModel m(model_spec("srnn"), 2, 6);
  m.to(DType::Float64);
  // Symplectic: the Jacobian M of (q0, p0) -> (q3, p3) satisfies MᵀΩM = Ω.
  Tensor z0 = randn({4}, f64);
  Tensor M = autograd::jacobian(
      [&m](const Tensor& z) {
        TensorList path = m.rollout(z.narrow(0, 0, 2).unsqueeze(0), z.narrow(0, 2, 2).unsqueeze(0),
                                    3, 0.1);
        return cat({path[0].select(0, 3), path[1].select(0, 3)}, -1).squeeze(0);
      },
      z0);
  Tensor omega = tensor({{0, 0, 1, 0}, {0, 0, 0, 1}, {-1, 0, 0, 0}, {0, -1, 0, 0}}, f64);
  CHECK(ctdl::testing::max_abs_diff(matmul(matmul(M.t(), omega), M), omega) < 1e-10);

  Tensor q0 = randn({2, 2}, f64).requires_grad_(), p0 = randn({2, 2}, f64).requires_grad_();
  auto f = [&m](const TensorList& in) { return m.rollout(in[0], in[1], 3, 0.1); };
  autograd::GradcheckResult g = autograd::gradcheck(f, {q0, p0});
  INFO(g.message);
  CHECK(g.ok);
  // Parameters: central differences in a few weights of V against backward.
  Tensor obs = randn({4, 2, 4}, f64);
  auto loss = [&] { return training_loss(m, obs, obs.select(0, 0), 0.1); };
  Tensor w = m.potential.at("0.weight");
  w.zero_grad();
  loss().backward();
  std::vector<double> grad = w.grad().to_vector<double>();
  double* data = w.data<double>();
  for (size_t i : {size_t{0}, size_t{3}, size_t{7}}) {
    autograd::NoGradGuard no_grad;
    const double keep = data[i], h = 1e-6;
    data[i] = keep + h;
    const double up = loss().item();
    data[i] = keep - h;
    const double down = loss().item();
    data[i] = keep;
    CHECK(grad[i] == Approx((up - down) / (2 * h)).epsilon(1e-6).margin(1e-9));
  }
}

TEST_CASE("srnn: a few training steps lower the loss of every model", "[examples][srnn]") {
  manual_seed(4);
  SpringChain chain = SpringChain::random(3);
  ChainData d = simulate(chain, {.trajectories = 32, .steps = 8, .noise = 0.05});
  for (const char* name : {"srnn", "hnn", "euler_rnn"}) {
    manual_seed(5);
    ChainModel m(model_spec(name), 3, 32);
    nn::Adam opt(m.parameters(), {.lr = 1e-2});
    Tensor z0 = d.noisy.select(0, 0);
    const double first = training_loss(m, d.noisy, z0, 0.1).item();
    for (int step = 0; step < 60; ++step) {
      Tensor l = training_loss(m, d.noisy, z0, 0.1);
      opt.zero_grad();
      l.backward();
      opt.step();
    }
    const double last = training_loss(m, d.noisy, z0, 0.1).item();
    INFO(name << ": loss " << first << " -> " << last);
    CHECK(last < 0.5 * first);
  }
}

TEST_CASE("srnn: initial state optimization fits the observations better than the noisy start",
          "[examples][srnn]") {
  manual_seed(6);
  SpringChain chain = SpringChain::random(2);
  ChainData d = simulate(chain, {.trajectories = 8, .steps = 10, .noise = 0.3});
  // An untrained model: ISO must lower its own objective and leave the parameters alone.
  ChainModel m(model_spec("srnn_iso"), 2, 8);
  Tensor start = d.noisy.select(0, 0);
  auto fit = [&](const Tensor& z0) {
    autograd::NoGradGuard no_grad;
    return nn::mse_loss(predict(m, z0, 10, 0.1), d.noisy).item();
  };
  nn::NamedTensors before = m.state_dict();
  std::vector<Tensor> copies;
  for (auto& [name, t] : before) copies.push_back(t.clone());
  Tensor z0 = optimize_initial_state(m, d.noisy, start, 0.1, 10);
  CHECK(z0.shape() == start.shape());
  CHECK(!z0.requires_grad());
  CHECK(fit(z0) < 0.9 * fit(start));
  size_t i = 0;
  for (auto& [name, t] : m.state_dict()) {
    CHECK(ctdl::testing::max_abs_diff(t, copies[i++]) == 0);
    CHECK(t.requires_grad());
  }
}

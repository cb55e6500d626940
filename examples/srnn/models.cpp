#include "models.h"

#include "ctdl/autograd/functional.h"
#include "ctdl/autograd/grad_mode.h"
#include "ctdl/nn/optim/lbfgs.h"

namespace ctdl::examples::srnn {
namespace {

nn::Sequential mlp(int64_t in, int64_t hidden, int64_t out) {
  return nn::Sequential(nn::Linear(in, hidden, {.activation = Activation::Tanh}),
                        nn::Linear(hidden, hidden, {.activation = Activation::Tanh}),
                        nn::Linear(hidden, out));
}

// ∂(Σ_b net(x)_b)/∂x: the gradient of a scalar energy, batched. Recorded (create_graph) when
// grad mode is on, so a loss on the rollout reaches the energy's parameters.
Tensor energy_gradient(const nn::Sequential& net, const Tensor& x) {
  auto [out, grads] =
      autograd::vjp([&net](const TensorList& v) { return TensorList{net(v[0])}; }, {x},
                    {ones({x.size(0), 1}, {.dtype = x.dtype()})}, autograd::grad_enabled());
  return grads[0];
}

// Model parameters frozen for as long as this lives (initial state optimization).
class FrozenParameters {
 public:
  explicit FrozenParameters(const nn::Module& m) {
    for (Tensor p : m.parameters())
      if (p.requires_grad()) frozen_.push_back(p), p.requires_grad_(false);
  }
  ~FrozenParameters() {
    for (Tensor& p : frozen_) p.requires_grad_(true);
  }
  FrozenParameters(const FrozenParameters&) = delete;
  FrozenParameters& operator=(const FrozenParameters&) = delete;

 private:
  TensorList frozen_;
};

}  // namespace

ModelSpec model_spec(const std::string& name) {
  if (name == "srnn") return {.name = name, .integrator = "leapfrog"};
  if (name == "srnn_iso")
    return {.name = name, .integrator = "leapfrog", .initial_state_optimization = true};
  if (name == "hnn") return {.name = name, .integrator = "euler", .recurrent = false};
  if (name == "euler_rnn") return {.name = name, .hamiltonian = false, .integrator = "euler"};
  fail("srnn: unknown model \"", name, "\": choose srnn, srnn_iso, hnn or euler_rnn");
}

ChainModel::ChainModel(ModelSpec s, int64_t masses, int64_t hidden)
    : nn::Module("ChainModel"), spec(std::move(s)) {
  if (spec.hamiltonian) {
    kinetic = register_module("kinetic", mlp(masses, hidden, 1));
    potential = register_module("potential", mlp(masses, hidden, 1));
  } else {
    vector_field = register_module("vector_field", mlp(2 * masses, hidden, 2 * masses));
  }
}

ode::Field ChainModel::field() const {
  if (spec.hamiltonian) {
    // Separable: dq/dt depends on p alone and dp/dt on q alone, which leapfrog requires.
    return [K = kinetic, V = potential](double, const ode::State& z) -> ode::State {
      return {energy_gradient(K, z[1]), -energy_gradient(V, z[0])};
    };
  }
  return [F = vector_field](double, const ode::State& z) -> ode::State {
    Tensor d = F(cat({z[0], z[1]}, -1));
    const int64_t n = z[0].size(-1);
    return {d.narrow(-1, 0, n), d.narrow(-1, n, n)};
  };
}

TensorList ChainModel::rollout(const Tensor& q0, const Tensor& p0, int64_t steps, double dt) const {
  std::vector<double> times;
  for (int64_t i = 0; i <= steps; ++i) times.push_back(dt * static_cast<double>(i));
  ode::Solver solver = spec.integrator == "leapfrog" ? ode::Solver(ode::Leapfrog{.step_size = dt})
                                                     : ode::Solver(ode::Euler{.step_size = dt});
  // A model that blows up over a long rollout (Euler on an oscillator gains energy) is
  // measured as such, not stopped.
  solver.control().check_finite = false;
  // Backprop through the steps: the recurrent network's backpropagation through time.
  return ode::odeint(field(), {q0, p0}, times, {.solver = solver});
}

Tensor ChainModel::hamiltonian(const Tensor& q, const Tensor& p) const {
  CTDL_CHECK(spec.hamiltonian, "srnn: model ", spec.name, " has no Hamiltonian");
  return (kinetic(p) + potential(q)).squeeze(-1);
}

Tensor predict(const ChainModel& model, const Tensor& z0, int64_t steps, double dt) {
  const int64_t n = z0.size(-1) / 2;
  TensorList path = model.rollout(z0.narrow(-1, 0, n), z0.narrow(-1, n, n), steps, dt);
  return cat({path[0], path[1]}, -1);
}

Tensor training_loss(const ChainModel& model, const Tensor& obs, const Tensor& z0, double dt) {
  const int64_t T = obs.size(0) - 1, B = obs.size(1), d = obs.size(2);
  if (model.spec.recurrent) return nn::mse_loss(predict(model, z0, T, dt), obs);
  Tensor from = obs.narrow(0, 0, T).reshape({T * B, d});
  Tensor to = obs.narrow(0, 1, T).reshape({T * B, d});
  return nn::mse_loss(predict(model, from, 1, dt).select(0, 1), to);
}

Tensor optimize_initial_state(const ChainModel& model, const Tensor& obs, const Tensor& start,
                              double dt, int64_t iterations) {
  FrozenParameters frozen(model);
  autograd::EnableGradGuard grad_on;
  Tensor z0 = start.detach().clone().requires_grad_();
  nn::LBFGS opt({z0}, {.max_iter = iterations, .line_search = nn::LineSearch::StrongWolfe});
  const int64_t T = obs.size(0) - 1;
  opt.step([&] {
    opt.zero_grad();
    Tensor loss = nn::mse_loss(predict(model, z0, T, dt), obs);
    loss.backward();
    return loss;
  });
  return z0.detach();
}

}  // namespace ctdl::examples::srnn

// The models of the `srnn` example: one learned vector field on the state {q, p}, stepped by
// an ode/ solver with one step per observation interval, so that a rollout is a recurrent
// network whose cell is the integrator step.
//
//   srnn        H(q, p) = K(p) + V(q), K and V MLPs; leapfrog (ode::Leapfrog); trained over
//               whole trajectories (Chen et al. 2020's symplectic RNN)
//   hnn         the same H; one Euler step; trained on single steps between observations
//               (a Hamiltonian neural network, Greydanus et al. 2019, as the paper's baseline)
//   euler_rnn   an MLP (q, p) ↦ (dq/dt, dp/dt) with no Hamiltonian structure; Euler steps;
//               trained over whole trajectories (the paper's recurrent "O-NET")
//   srnn_iso    srnn, with the initial state of every trajectory optimized (initial state
//               optimization, ISO) before each prediction, and in training if asked
//
//   ChainModel srnn(model_spec("srnn"), /*masses=*/5, /*hidden=*/64);
//   TensorList path = srnn.rollout(q0, p0, /*steps=*/200, /*dt=*/0.1);  // {qs, ps}: [201, B, 5]
#pragma once

#include <string>

#include "ctdl/nn/nn.h"
#include "ctdl/ode/ode.h"

namespace ctdl::examples::srnn {

struct ModelSpec {
  std::string name;
  bool hamiltonian = true;      // H = K(p) + V(q); otherwise a free MLP field
  std::string integrator;       // "leapfrog" or "euler"
  bool recurrent = true;        // loss over whole trajectories; otherwise single steps
  bool initial_state_optimization = false;
};
// srnn, hnn, euler_rnn or srnn_iso; throws naming the choices otherwise.
ModelSpec model_spec(const std::string& name);

struct ChainModel : nn::Module {
  ChainModel(ModelSpec spec, int64_t masses, int64_t hidden);
  // dq/dt = ∂H/∂p, dp/dt = −∂H/∂q (the gradients by autograd, recorded when grad mode is
  // on so that training differentiates through them), or the MLP's output.
  ode::Field field() const;
  // {qs, ps} [steps + 1, B, n] from q0, p0 [B, n], one integrator step per dt.
  TensorList rollout(const Tensor& q0, const Tensor& p0, int64_t steps, double dt) const;
  // H at {q, p} [B, n] -> [B] (Hamiltonian models only).
  Tensor hamiltonian(const Tensor& q, const Tensor& p) const;

  ModelSpec spec;
  nn::Sequential kinetic, potential;  // hamiltonian: K(p), V(q), each [B, n] -> [B, 1]
  nn::Sequential vector_field;        // otherwise: [q | p] -> [dq/dt | dp/dt]
};

// The loss the model trains on, over observations obs [T + 1, B, 2n] ([q | p]) from the
// initial state z0 [B, 2n]: the mean squared error of the rollout (recurrent), or of one
// step from every observation to the next (single step; z0 is then not used).
Tensor training_loss(const ChainModel& model, const Tensor& obs, const Tensor& z0, double dt);

// The [B, 2n] rollout from z0 as one tensor [steps + 1, B, 2n].
Tensor predict(const ChainModel& model, const Tensor& z0, int64_t steps, double dt);

// Initial state optimization: the z0 [B, 2n] whose rollout best fits obs [T + 1, B, 2n]
// (mean squared error), by L-BFGS from `start`. The model's parameters are left untouched.
Tensor optimize_initial_state(const ChainModel& model, const Tensor& obs, const Tensor& start,
                              double dt, int64_t iterations);

}  // namespace ctdl::examples::srnn

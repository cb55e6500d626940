// CheckpointAdjoint: keep a few states in the forward pass; in the backward pass recompute
// each segment from its checkpoint and backpropagate through it (ANODE, Gholami et al.
// 2019; ACA, Zhuang et al. 2020). The exact gradient of the discretization.
//
//   ode::odeint(f, z0, {0.0, 1.0}, {.solver = ode::RK4{.step_size = 1e-3},
//                                   .grad = ode::CheckpointAdjoint{.checkpoints = 8,
//                                       .placement = ode::CheckpointPlacement::Binomial},
//                                   .params = params});
//
// Memory and cost, for N steps and K checkpoints:
//  - checkpoints = 0: every step's state is kept, each step recomputed alone (ACA):
//    N states + one step's graph; one extra forward pass.
//  - Uniform, K > 0: K evenly spaced states, each segment of N/K steps recorded at once:
//    K states + N/K steps' graphs; one extra forward pass.
//  - Binomial, K > 0: Griewank's revolve schedule, K states + one step's graph whatever N
//    is; the forward is recomputed about r times where C(K + r, K) >= N.
// With adaptive steps the accepted steps are replayed exactly.
#pragma once

#include "ctdl/ode/scheme.h"

namespace ctdl::ode {

enum class CheckpointPlacement { Uniform, Binomial };

struct CheckpointAdjoint {
  int64_t checkpoints = 0;
  CheckpointPlacement placement = CheckpointPlacement::Uniform;
  std::string name() const { return "checkpoint_adjoint"; }
  TensorList solve(const Problem& p) const;
};

}  // namespace ctdl::ode

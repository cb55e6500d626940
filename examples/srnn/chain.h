// The spring chain of the SRNN paper (Chen, Zhang, Arjovsky & Bottou, ICLR 2020, §5): n
// masses on a line, each tied to its neighbours by springs and the two ends tied to walls,
//
//   H(q, p) = Σᵢ pᵢ² / (2mᵢ) + ½ Σᵢ₌₀ⁿ kᵢ (qᵢ₊₁ − qᵢ)²,   q₀ = qₙ₊₁ = 0 (the walls),
//
// with random masses and spring constants (drawn once per dataset, as in the paper's code:
// m ~ max(N(1, ¼²), 0.2), k ~ 5·max(N(1, ¼²), 0.2)) and random initial states q, p ~ U(±2.5).
//
//   manual_seed(0);
//   SpringChain chain = SpringChain::random(5);
//   ChainData d = simulate(chain, {.trajectories = 64, .steps = 20});
//   // d.clean, d.noisy: [21, 64, 10], the state [q | p] every Δt = 0.1; ground truth by
//   // leapfrog at Δt = 0.001, observation noise N(0, 0.2²) on every coordinate
#pragma once

#include "ctdl/ode/ode.h"

namespace ctdl::examples::srnn {

struct SpringChain {
  Tensor masses;   // [n], float64
  Tensor springs;  // [n + 1], float64: springs[i] joins mass i − 1 and mass i (walls at the ends)

  static SpringChain random(int64_t n);
  int64_t size() const { return masses.size(0); }
  // ∂V/∂q for q [B, n].
  Tensor potential_gradient(const Tensor& q) const;
  Tensor energy(const Tensor& q, const Tensor& p) const;  // [B]
  // Hamilton's equations on the state {q, p}: {p / m, −∂V/∂q}.
  ode::Field field() const;
};

struct SimulateOptions {
  int64_t trajectories = 64;
  int64_t steps = 20;        // observations after the first
  double dt = 0.1;           // between observations
  double fine_dt = 0.001;    // the leapfrog step of the ground truth
  double noise = 0.2;        // standard deviation of the observation noise
  double amplitude = 2.5;    // initial q, p ~ U(−amplitude, amplitude)
};

struct ChainData {
  Tensor clean, noisy;  // [steps + 1, trajectories, 2n] float32, the state [q | p]
};

// Trajectories of the chain from random initial states, drawn from default_generator().
ChainData simulate(const SpringChain& chain, const SimulateOptions& options);

}  // namespace ctdl::examples::srnn

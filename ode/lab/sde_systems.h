// The lab's SDE test systems, with their exact pathwise solutions where there is one: tests,
// the lab and the gradient study (examples/sde_study) build on these.
//
//   ode::lab::SdeSystem s = ode::lab::gbm(mu, sigma, ode::sde::SdeType::Ito);  // [d] each
//   Tensor zs = ode::sdeint(s.sde, z0, {0.0, 1.0}, {.dt = 1e-3, .brownian = bm});
//   Tensor exact = s.exact(z0, 1.0, bm->value(1.0));       // X(1) on the same path
//   // autograd through `exact` gives the exact pathwise gradient (dX_T/dμ = T·X_T, ...)
//
// Parameters are leaves that require grad (float64 unless a dtype is given); `exact` is
// written in tensor ops of them, so differentiating it is the reference gradient.
#pragma once

#include <map>

#include "ctdl/ode/sde/sde.h"

namespace ctdl::ode::lab {

struct SdeSystem {
  std::string type;
  sde::SDE sde;
  TensorList params;
  std::vector<std::string> names;
  // X(t) from X(t0) = z0 and the Brownian increment w = W(t) - W(t0); empty when the
  // solution is not a function of W(t) alone.
  std::function<Tensor(const Tensor& z0, double t, const Tensor& w)> exact;
  double t0 = 0;
};

// Geometric Brownian motion dX = μX dt + σX dW (diagonal noise), μ and σ per dimension ([d]):
// X_t = X0·exp((μ - σ²/2)t + σW_t) (Itô) or X0·exp(μt + σW_t) (Stratonovich).
SdeSystem gbm(const Tensor& mu, const Tensor& sigma, sde::SdeType type);
// Ornstein–Uhlenbeck dX = θ(μ - X) dt + σ dW (additive noise, [d] each).
SdeSystem ou(const Tensor& theta, const Tensor& mu, const Tensor& sigma);
// Li et al. 2020, example 2: dX = -p² sin X cos³X dt + p cos²X dW (Itô, diagonal),
// X_t = arctan(p W_t + tan X0).
SdeSystem sine_cosine(const Tensor& p);
// Li et al. 2020, example 3: dX = (β/√(1+t) - X/(2(1+t))) dt + αβ/√(1+t) dW (additive,
// time-inhomogeneous), X_t = X0/√(1+t) + β(t + αW_t)/√(1+t).
SdeSystem linear_inhomogeneous(const Tensor& alpha, const Tensor& beta);

// Drift and diffusion MLPs with the ODE lab's weight layout (fc1.weight [out, in], ...), named
// "drift.fc1.weight", "diffusion.fc1.weight", ... Drift dims [d, ..., d]; diffusion dims
// [d, ..., d] (diagonal, scalar) or [d, ..., d·m] (general; reshaped to [batch, d, m]).
// diffusion_output: "none", "sigmoid" or "softplus" on the diffusion's last layer.
struct MlpSpec {
  std::vector<int64_t> dims;
  std::string activation = "tanh";
  std::map<std::string, Tensor> weights;
};
SdeSystem mlp_sde(const MlpSpec& drift, const MlpSpec& diffusion,
                  const std::string& diffusion_output, sde::Noise noise, sde::SdeType type,
                  DType dtype);

}  // namespace ctdl::ode::lab

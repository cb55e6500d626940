// A stochastic differential equation dz = f(t, z) dt + g(t, z) dW, and how the ODE machinery
// sees one.
//
//   ode::SDE gbm{.drift = [mu](double, const Tensor& z) { return z * mu; },
//                .diffusion = [sigma](double, const Tensor& z) { return z * sigma; },
//                .noise = ode::sde::Noise::Diagonal,
//                .type = ode::sde::SdeType::Ito};
//   Tensor zs = ode::sdeint(gbm, z0, {0.0, 1.0}, {.dt = 1e-3});   // ode/sde/sdeint.h
//
// States are [batch, d]. What g returns depends on the noise type:
//   Diagonal  [batch, d]     one Brownian motion per state entry; g_i may depend on z_i only
//                            (Milstein and the Itô-Stratonovich conversion rely on it)
//   Scalar    [batch, d]     (or [batch, d, 1]) one Brownian motion shared by all entries
//   Additive  [batch, d, m]  g does not depend on z (it may depend on t)
//   General   [batch, d, m]  anything
// and the Brownian motion W has shape [batch, m] (m = d for diagonal noise, 1 for scalar).
//
// Why an SDE is also an ode::Field: the solvers are ode::Methods, so odeint's integration
// loop, ode::Backprop, ode::CheckpointAdjoint and ode::ReversibleAdjoint (through
// DiscreteBackward) work on SDEs unchanged. The field an SDE method receives answers two
// questions:
//   F(t, {z})      -> {f(t, z), g(t, z)}          the raw diffusion (Milstein, SRA1, ...)
//   F(t, {z, dW})  -> {f(t, z), g(t, z)·dW}       drift and noise product
// The stochastic adjoint's augmented SDE [z, a, dL/dθ] has no diffusion matrix worth forming,
// only products (vector-Jacobian products with dW), so it answers the second question only;
// solvers that need nothing else (Euler-Heun, Heun, midpoint) can solve it.
#pragma once

#include <functional>

#include "ctdl/ode/state.h"

namespace ctdl::ode::sde {

enum class Noise { Diagonal, Scalar, Additive, General };
enum class SdeType { Ito, Stratonovich };

using Term = std::function<Tensor(double t, const Tensor& z)>;

struct SDE {
  Term drift;      // f(t, z): z's shape
  Term diffusion;  // g(t, z): shape by noise type (above)
  Noise noise = Noise::Diagonal;
  SdeType type = SdeType::Ito;
  // m, the Brownian motion's size for additive and general noise; 0: read off g(t0, z0).
  int64_t brownian_size = 0;
};

const char* name(Noise noise);
const char* name(SdeType type);
Noise parse_noise(const std::string& name);       // "diagonal", "scalar", "additive", "general"
SdeType parse_sde_type(const std::string& name);  // "ito", "stratonovich"

// g·dW for a diffusion of the given noise type: dW is [batch, m].
Tensor noise_product(Noise noise, const Tensor& g, const Tensor& dw);
// The tensor c with <c, g> = <a, g·dW> for every g: the cotangent that turns a
// vector-Jacobian product of g into one of g·dW (a is z's shape).
Tensor noise_cotangent(Noise noise, const Tensor& a, const Tensor& dw, const Dims& g_shape);
// m for this SDE and initial state (evaluates g once for additive and general noise).
int64_t brownian_size(const SDE& sde, double t0, const Tensor& z0);

// The SDE as the two-question field described above, checking the shapes f and g return.
Field as_field(const SDE& sde);

}  // namespace ctdl::ode::sde

namespace ctdl::ode {
using sde::SDE;
}

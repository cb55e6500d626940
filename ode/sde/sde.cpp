#include "ctdl/ode/sde/sde.h"

#include "ctdl/autograd/grad_mode.h"

namespace ctdl::ode::sde {

const char* name(Noise noise) {
  switch (noise) {
    case Noise::Diagonal:
      return "diagonal";
    case Noise::Scalar:
      return "scalar";
    case Noise::Additive:
      return "additive";
    case Noise::General:
      return "general";
  }
  return "?";
}

const char* name(SdeType type) { return type == SdeType::Ito ? "ito" : "stratonovich"; }

Noise parse_noise(const std::string& s) {
  for (Noise n : {Noise::Diagonal, Noise::Scalar, Noise::Additive, Noise::General})
    if (s == name(n)) return n;
  fail("sde: unknown noise type \"", s, "\" (known: diagonal, scalar, additive, general)");
}

SdeType parse_sde_type(const std::string& s) {
  if (s == "ito") return SdeType::Ito;
  CTDL_CHECK(s == "stratonovich", "sde: unknown SDE type \"", s, "\" (known: ito, stratonovich)");
  return SdeType::Stratonovich;
}

Tensor noise_product(Noise noise, const Tensor& g, const Tensor& dw) {
  if (noise == Noise::Diagonal || noise == Noise::Scalar)
    return g.dim() == dw.dim() + 1 ? (g * dw.unsqueeze(-1)).squeeze(-1) : g * dw;
  return matmul(g, dw.unsqueeze(-1)).squeeze(-1);
}

Tensor noise_cotangent(Noise noise, const Tensor& a, const Tensor& dw, const Dims& g_shape) {
  if (noise == Noise::Diagonal) return a * dw;
  if (noise == Noise::Scalar) {
    Tensor c = a * dw;  // dw is [batch, 1]
    return static_cast<int64_t>(g_shape.size()) == a.dim() + 1 ? c.unsqueeze(-1) : c;
  }
  return a.unsqueeze(-1) * dw.unsqueeze(-2);  // [batch, d, m]
}

int64_t brownian_size(const SDE& sde, double t0, const Tensor& z0) {
  switch (sde.noise) {
    case Noise::Diagonal:
      return z0.size(-1);
    case Noise::Scalar:
      return 1;
    default:
      break;
  }
  if (sde.brownian_size > 0) return sde.brownian_size;
  autograd::NoGradGuard no_grad;
  Tensor g = sde.diffusion(t0, z0.detach());
  CTDL_CHECK(g.dim() == z0.dim() + 1, "sdeint: with ", name(sde.noise),
             " noise the diffusion must return [batch, d, m]; got shape ", g.shape(),
             " for a state of shape ", z0.shape());
  return g.size(-1);
}

Field as_field(const SDE& sde) {
  CTDL_CHECK(sde.drift && sde.diffusion, "sdeint: the SDE needs both a drift and a diffusion");
  return [sde](double t, const State& in) -> State {
    CTDL_CHECK(in.size() == 1 || in.size() == 2,
               "sde: the field of an SDE takes {z} or {z, dW}, got ", in.size(), " tensors");
    const Tensor& z = in[0];
    Tensor f = sde.drift(t, z), g = sde.diffusion(t, z);
    CTDL_CHECK(f.defined() && f.shape() == z.shape(), "sdeint: the drift returned shape ",
               f.defined() ? str(f.shape()) : std::string("(undefined)"), " for a state of shape ",
               z.shape(), " at t=", t);
    CTDL_CHECK(g.defined(), "sdeint: the diffusion returned an undefined tensor at t=", t);
    const bool matrix = sde.noise == Noise::Additive || sde.noise == Noise::General;
    bool ok =
        matrix ? g.dim() == z.dim() + 1 && Dims(g.shape().begin(), g.shape().end() - 1) == z.shape()
               : g.shape() == z.shape() ||
                     (sde.noise == Noise::Scalar && g.dim() == z.dim() + 1 && g.size(-1) == 1);
    CTDL_CHECK(ok, "sdeint: with ", name(sde.noise), " noise the diffusion must return ",
               matrix ? "[batch, d, m]" : "the state's shape", "; got ", g.shape(),
               " for a state of shape ", z.shape(), " at t=", t);
    if (in.size() == 1) return {f, g};
    return {f, noise_product(sde.noise, g, in[1])};
  };
}

}  // namespace ctdl::ode::sde

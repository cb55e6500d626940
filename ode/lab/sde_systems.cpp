#include "ctdl/ode/lab/sde_systems.h"

#include <cmath>

namespace ctdl::ode::lab {
namespace {

Tensor leaf(const Tensor& t) { return t.detach().requires_grad_(); }

// [..., d] -> [..., d, d] with v on the diagonal: additive noise written as a matrix.
Tensor diagonal_matrix(const Tensor& v) {
  return v.unsqueeze(-1) * eye(v.size(-1), {.dtype = v.dtype()});
}

// arctan, which ctdl has no op for: x0 = atan(y) on the host (a constant), then one Newton
// step for tan x = y, x0 - sin x0 cos x0 + y cos² x0. At the root that is x0 again, and its
// derivative in y is cos² x0 = 1 / (1 + y²): exact values and exact first derivatives.
Tensor arctan(const Tensor& y) {
  std::vector<double> v = y.detach().to(DType::Float64).contiguous().to_vector<double>();
  for (double& x : v) x = std::atan(x);
  Tensor x0 = tensor(v, y.shape(), {.dtype = DType::Float64}).to(y.dtype());
  Tensor c = cos(x0);
  return x0 - sin(x0) * c + y * square(c);
}

// An MLP term from the lab's weights: fc_i(x) = x·Wᵀ + b with the activation between layers.
sde::Term mlp_term(const MlpSpec& spec, const std::string& prefix, const std::string& output,
                   DType dtype, SdeSystem& into) {
  CTDL_CHECK(spec.dims.size() >= 2, "system.", prefix, ".dims: give at least [in, out]");
  const std::string& act = spec.activation;
  CTDL_CHECK(act == "tanh" || act == "relu" || act == "softplus", "system.", prefix,
             ".activation: expected \"tanh\", \"relu\" or \"softplus\", got \"", act, "\"");
  CTDL_CHECK(output == "none" || output == "sigmoid" || output == "softplus", "system.", prefix,
             ".output: expected \"none\", \"sigmoid\" or \"softplus\", got \"", output, "\"");
  std::vector<std::pair<Tensor, Tensor>> layers;
  for (size_t i = 0; i + 1 < spec.dims.size(); ++i) {
    std::string name = "fc" + std::to_string(i + 1);
    auto w = spec.weights.find(name + ".weight");
    CTDL_CHECK(w != spec.weights.end(), "system.", prefix, ".weights.", name,
               ".weight: missing (shape [", spec.dims[i + 1], ", ", spec.dims[i], "])");
    CTDL_CHECK(w->second.shape() == Dims({spec.dims[i + 1], spec.dims[i]}), "system.", prefix,
               ".weights.", name, ".weight: expected shape [", spec.dims[i + 1], ", ", spec.dims[i],
               "] (PyTorch's [out, in]), got ", w->second.shape());
    Tensor W = leaf(w->second.to(dtype)), b;
    into.params.push_back(W);
    into.names.push_back(prefix + "." + name + ".weight");
    auto bias = spec.weights.find(name + ".bias");
    if (bias != spec.weights.end()) {
      CTDL_CHECK(bias->second.shape() == Dims({spec.dims[i + 1]}), "system.", prefix, ".weights.",
                 name, ".bias: expected shape [", spec.dims[i + 1], "], got ",
                 bias->second.shape());
      b = leaf(bias->second.to(dtype));
      into.params.push_back(b);
      into.names.push_back(prefix + "." + name + ".bias");
    }
    layers.push_back({W, b});
  }
  for (const auto& [key, value] : spec.weights) {
    bool used = false;
    for (const std::string& n : into.names) used = used || n == prefix + "." + key;
    CTDL_CHECK(used, "system.", prefix, ".weights.", key, ": not a parameter of a ",
               spec.dims.size() - 1, "-layer MLP (expected fc1.weight, fc1.bias, ...)");
  }
  return [layers, act, output](double, const Tensor& z) {
    Tensor x = z;
    for (size_t i = 0; i < layers.size(); ++i) {
      x = matmul(x, layers[i].first.t());
      if (layers[i].second.defined()) x = x + layers[i].second;
      if (i + 1 < layers.size())
        x = act == "tanh" ? tanh(x) : act == "relu" ? relu(x) : softplus(x);
    }
    return output == "sigmoid" ? sigmoid(x) : output == "softplus" ? softplus(x) : x;
  };
}

}  // namespace

SdeSystem gbm(const Tensor& mu, const Tensor& sigma, sde::SdeType type) {
  Tensor m = leaf(mu), s = leaf(sigma);
  SdeSystem out{.type = "gbm",
                .sde = {.drift = [m](double, const Tensor& z) { return z * m; },
                        .diffusion = [s](double, const Tensor& z) { return z * s; },
                        .noise = sde::Noise::Diagonal,
                        .type = type},
                .params = {m, s},
                .names = {"mu", "sigma"}};
  const bool ito = type == sde::SdeType::Ito;
  out.exact = [m, s, ito](const Tensor& z0, double t, const Tensor& w) {
    Tensor rate = ito ? m - square(s) * 0.5 : m;
    return z0 * exp(rate * t + s * w);
  };
  return out;
}

SdeSystem ou(const Tensor& theta, const Tensor& mu, const Tensor& sigma) {
  Tensor th = leaf(theta), m = leaf(mu), s = leaf(sigma);
  return {.type = "ou",
          .sde = {.drift = [th, m](double, const Tensor& z) { return th * (m - z); },
                  .diffusion = [s](double,
                                   const Tensor& z) { return diagonal_matrix(zeros_like(z) + s); },
                  .noise = sde::Noise::Additive,
                  .type = sde::SdeType::Ito},
          .params = {th, m, s},
          .names = {"theta", "mu", "sigma"}};
}

SdeSystem sine_cosine(const Tensor& p) {
  Tensor pp = leaf(p);
  SdeSystem out{
      .type = "sine_cosine",
      .sde = {.drift = [pp](double,
                            const Tensor& z) { return -square(pp) * sin(z) * pow(cos(z), 3.0); },
              .diffusion = [pp](double, const Tensor& z) { return pp * square(cos(z)); },
              .noise = sde::Noise::Diagonal,
              .type = sde::SdeType::Ito},
      .params = {pp},
      .names = {"p"}};
  out.exact = [pp](const Tensor& z0, double, const Tensor& w) {
    Tensor y = pp * w + sin(z0) / cos(z0);
    return arctan(y);
  };
  return out;
}

SdeSystem linear_inhomogeneous(const Tensor& alpha, const Tensor& beta) {
  Tensor a = leaf(alpha), b = leaf(beta);
  SdeSystem out{
      .type = "linear_inhomogeneous",
      .sde = {.drift =
                  [b](double t, const Tensor& z) {
                    return b * (1.0 / std::sqrt(1 + t)) - z * (0.5 / (1 + t));
                  },
              .diffusion =
                  [a, b](double t, const Tensor& z) {
                    return diagonal_matrix(zeros_like(z) + a * b * (1.0 / std::sqrt(1 + t)));
                  },
              .noise = sde::Noise::Additive,
              .type = sde::SdeType::Ito},
      .params = {a, b},
      .names = {"alpha", "beta"}};
  out.exact = [a, b](const Tensor& z0, double t, const Tensor& w) {
    return (z0 + b * (a * w + t)) * (1.0 / std::sqrt(1 + t));
  };
  return out;
}

SdeSystem mlp_sde(const MlpSpec& drift, const MlpSpec& diffusion,
                  const std::string& diffusion_output, sde::Noise noise, sde::SdeType type,
                  DType dtype) {
  SdeSystem s{.type = "mlp"};
  CTDL_CHECK(!drift.dims.empty() && drift.dims.front() == drift.dims.back(),
             "system.drift.dims: the drift maps R^d to R^d, so dims must start and end with d");
  const int64_t d = drift.dims.front();
  CTDL_CHECK(!diffusion.dims.empty() && diffusion.dims.front() == d,
             "system.diffusion.dims: must start with the state size ", d);
  CTDL_CHECK(noise != sde::Noise::Additive,
             "system.noise: an MLP diffusion depends on z, so additive noise does not apply");
  const int64_t out = diffusion.dims.back();
  int64_t m = 0;
  if (noise == sde::Noise::General) {
    CTDL_CHECK(out % d == 0, "system.diffusion.dims: with general noise the diffusion's output is ",
               "d·m; ", out, " is not a multiple of d = ", d);
    m = out / d;
  } else {
    CTDL_CHECK(out == d, "system.diffusion.dims: with ", sde::name(noise),
               " noise the diffusion's output has the state size ", d, ", got ", out);
  }
  sde::Term f = mlp_term(drift, "drift", "none", dtype, s);
  sde::Term g = mlp_term(diffusion, "diffusion", diffusion_output, dtype, s);
  if (noise == sde::Noise::General)
    g = [g, d, m](double t, const Tensor& z) {
      Dims shape(z.shape().begin(), z.shape().end() - 1);
      shape.push_back(d);
      shape.push_back(m);
      return g(t, z).reshape(shape);
    };
  s.sde = {.drift = f, .diffusion = g, .noise = noise, .type = type, .brownian_size = m};
  return s;
}

}  // namespace ctdl::ode::lab

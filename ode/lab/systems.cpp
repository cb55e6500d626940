#include "ctdl/ode/lab/systems.h"

namespace ctdl::ode::lab {
namespace {

Tensor parameter(double value, DType dtype) {
  return scalar_tensor(value, {.dtype = dtype, .requires_grad = true});
}

Tensor column(const Tensor& z, int64_t i) { return z.narrow(-1, i, 1); }

}  // namespace

System mlp(const std::vector<int64_t>& dims, const std::string& activation,
           const std::map<std::string, Tensor>& weights, DType dtype) {
  CTDL_CHECK(dims.size() >= 2 && dims.front() == dims.back(),
             "system.dims: an ODE's MLP maps R^d to R^d, "
             "so dims must start and end with the same size");
  CTDL_CHECK(activation == "tanh" || activation == "relu" || activation == "softplus",
             "system.activation: expected \"tanh\", \"relu\" or \"softplus\", got \"", activation,
             "\"");
  System s{.type = "mlp", .dim = dims.front()};
  struct Layer {
    Tensor w, b;
  };
  std::vector<Layer> layers;
  for (size_t i = 0; i + 1 < dims.size(); ++i) {
    std::string name = "fc" + std::to_string(i + 1);
    auto w = weights.find(name + ".weight");
    CTDL_CHECK(w != weights.end(), "system.weights.", name, ".weight: missing (shape [",
               dims[i + 1], ", ", dims[i], "])");
    CTDL_CHECK(w->second.shape() == Dims({dims[i + 1], dims[i]}), "system.weights.", name,
               ".weight: expected shape [", dims[i + 1], ", ", dims[i],
               "] (PyTorch's [out, in]), got ", w->second.shape());
    Layer layer{w->second.to(dtype).detach().requires_grad_(), Tensor()};
    s.params.push_back(layer.w);
    s.names.push_back(name + ".weight");
    auto b = weights.find(name + ".bias");
    if (b != weights.end()) {
      CTDL_CHECK(b->second.shape() == Dims({dims[i + 1]}), "system.weights.", name,
                 ".bias: expected shape [", dims[i + 1], "], got ", b->second.shape());
      layer.b = b->second.to(dtype).detach().requires_grad_();
      s.params.push_back(layer.b);
      s.names.push_back(name + ".bias");
    }
    layers.push_back(layer);
  }
  for (const auto& [key, value] : weights) {
    bool used = false;
    for (const std::string& n : s.names) used = used || n == key;
    CTDL_CHECK(used, "system.weights.", key, ": not a parameter of a ", dims.size() - 1,
               "-layer MLP (expected fc1.weight, fc1.bias, ...)");
  }
  s.f = [layers, activation](double, const Tensor& z) {
    Tensor x = z;
    for (size_t i = 0; i < layers.size(); ++i) {
      x = matmul(x, layers[i].w.t());
      if (layers[i].b.defined()) x = x + layers[i].b;
      if (i + 1 < layers.size())
        x = activation == "tanh" ? tanh(x) : activation == "relu" ? relu(x) : softplus(x);
    }
    return x;
  };
  return s;
}

System linear(const Tensor& A) {
  CTDL_CHECK(A.dim() == 2 && A.size(0) == A.size(1),
             "system.A: expected a square matrix, got shape ", A.shape());
  Tensor a = A.detach().requires_grad_();
  return {.type = "linear",
          .f = [a](double, const Tensor& z) { return matmul(z, a.t()); },
          .params = {a},
          .names = {"A"},
          .dim = A.size(0)};
}

System vanderpol(double mu, DType dtype) {
  Tensor m = parameter(mu, dtype);
  auto f = [m](double, const Tensor& z) {
    Tensor x = column(z, 0), y = column(z, 1);
    return cat({y, m * (1.0 - x * x) * y - x}, -1);
  };
  return {.type = "vanderpol", .f = f, .params = {m}, .names = {"mu"}, .dim = 2};
}

System lotka_volterra(double alpha, double beta, double gamma, double delta, DType dtype) {
  Tensor a = parameter(alpha, dtype), b = parameter(beta, dtype), g = parameter(gamma, dtype),
         d = parameter(delta, dtype);
  auto f = [a, b, g, d](double, const Tensor& z) {
    Tensor x = column(z, 0), y = column(z, 1);
    return cat({a * x - b * x * y, d * x * y - g * y}, -1);
  };
  return {.type = "lotka_volterra",
          .f = f,
          .params = {a, b, g, d},
          .names = {"alpha", "beta", "gamma", "delta"},
          .dim = 2};
}

System harmonic(double k, double m, DType dtype) {
  Tensor kk = parameter(k, dtype), mm = parameter(m, dtype);
  auto f = [kk, mm](double, const Tensor& z) {
    int64_t n = z.size(-1) / 2;
    return cat({z.narrow(-1, n, n) / mm, -kk * z.narrow(-1, 0, n)}, -1);
  };
  return {.type = "harmonic", .f = f, .params = {kk, mm}, .names = {"k", "m"}, .dim = 0};
}

System kepler(DType) {
  auto f = [](double, const Tensor& z) {
    Tensor q = z.narrow(-1, 0, 2), p = z.narrow(-1, 2, 2);
    Tensor r2 = (q * q).sum({-1}, true);
    return cat({p, -q * pow(r2, -1.5)}, -1);
  };
  return {.type = "kepler", .f = f, .params = {}, .names = {}, .dim = 4};
}

Tensor harmonic_energy(const Tensor& z, double k, double m) {
  int64_t n = z.size(-1) / 2;
  Tensor q = z.narrow(-1, 0, n), p = z.narrow(-1, n, n);
  return (p * p).sum({-1}) / (2 * m) + (q * q).sum({-1}) * (k / 2);
}

Tensor kepler_energy(const Tensor& z) {
  Tensor q = z.narrow(-1, 0, 2), p = z.narrow(-1, 2, 2);
  return (p * p).sum({-1}) / 2.0 - rsqrt((q * q).sum({-1}));
}

}  // namespace ctdl::ode::lab

#include "ctdl/ode/state.h"

#include <cmath>

namespace ctdl::ode {

State axpy(const State& y, double a, const State& x) {
  if (a == 0.0) return y;
  State out;
  out.reserve(y.size());
  for (size_t i = 0; i < y.size(); ++i) out.push_back(ctdl::axpby(1.0, y[i], a, x[i]));
  return out;
}

// z + h·Σ c_j k_j in one pass per component (the fused linear_combination kernel): the
// stage sums of every Runge–Kutta method go through here.
State combine(const State& base, double h, const std::vector<double>& coefficients,
              const std::vector<State>& terms, size_t formed) {
  State out = base;
  TensorList parts;  // one list for every component (an adjoint's state has several)
  std::vector<double> weights;
  parts.reserve(coefficients.size() + 1);  // (grown from one term, they reallocated thrice)
  weights.reserve(coefficients.size() + 1);
  for (size_t i = 0; i < out.size() && i < formed; ++i) {
    parts.assign(1, base[i]);
    weights.assign(1, 1.0);
    for (size_t j = 0; j < coefficients.size(); ++j) {
      if (coefficients[j] == 0.0) continue;
      parts.push_back(terms[j][i]);
      weights.push_back(h * coefficients[j]);
    }
    if (parts.size() > 1) out[i] = linear_combination(parts, weights);
  }
  return out;
}

State add(const State& a, const State& b) {
  State out;
  out.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) out.push_back(a[i] + b[i]);
  return out;
}

State sub(const State& a, const State& b) {
  State out;
  out.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) out.push_back(a[i] - b[i]);
  return out;
}

State scale(const State& x, double a) {
  State out;
  out.reserve(x.size());
  for (const Tensor& t : x) out.push_back(t * a);
  return out;
}

State zeros_like(const State& x) {
  State out;
  for (const Tensor& t : x) out.push_back(ctdl::zeros_like(t));
  return out;
}

State detach(const State& x) {
  State out;
  for (const Tensor& t : x) out.push_back(t.detach());
  return out;
}

State leaves(const State& x) {
  State out;
  for (const Tensor& t : x) out.push_back(t.detach().requires_grad_());
  return out;
}

Tensor dot(const State& a, const State& b) {
  Tensor acc;
  for (size_t i = 0; i < a.size(); ++i) {
    Tensor d = (a[i] * b[i]).sum();
    acc = acc.defined() ? acc + d : d;
  }
  return acc.defined() ? acc : zeros({}, {.dtype = DType::Float64});
}

double rms_norm(const State& x) {
  int64_t n = numel(x);
  if (n == 0) return 0.0;
  Tensor acc;
  for (const Tensor& t : x) {
    Tensor s = square(t).sum().to(DType::Float64);
    acc = acc.defined() ? acc + s : s;
  }
  return std::sqrt(acc.item<double>() / static_cast<double>(n));
}

bool all_finite(const State& x) {
  if (x.empty()) return true;
  Tensor ok;
  for (const Tensor& t : x) {
    Tensor a = all(isfinite(t));
    ok = ok.defined() ? logical_and(ok, a) : a;
  }
  return ok.item<bool>();
}

int64_t numel(const State& x) {
  int64_t n = 0;
  for (const Tensor& t : x) n += t.numel();
  return n;
}

void check_same_layout(const State& a, const State& b, const char* op) {
  CTDL_CHECK(a.size() == b.size(), op, ": expected a state of ", a.size(), " tensors, got ",
             b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CTDL_CHECK(a[i].shape() == b[i].shape(), op, ": component ", i, " has shape ", b[i].shape(),
               " but the state has shape ", a[i].shape());
    CTDL_CHECK(a[i].dtype() == b[i].dtype(), op, ": component ", i, " is ", b[i].dtype(),
               " but the state is ", a[i].dtype());
  }
}

}  // namespace ctdl::ode

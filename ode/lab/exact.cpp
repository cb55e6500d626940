#include "ctdl/ode/lab/exact.h"

#include <cmath>

#include "ctdl/autograd/engine.h"
#include "ctdl/autograd/grad_mode.h"

namespace ctdl::ode::lab {
namespace {

using Matrix = std::vector<double>;

Matrix multiply(const Matrix& a, const Matrix& b, int64_t n) {
  Matrix c(n * n, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < n; ++k)
      for (int64_t j = 0; j < n; ++j) c[i * n + j] += a[i * n + k] * b[k * n + j];
  return c;
}

Matrix to_matrix(const Tensor& t) { return t.contiguous().to_vector<double>(); }

Tensor to_tensor(const Matrix& m, int64_t rows, int64_t cols) {
  return tensor(m, {rows, cols}, {.dtype = DType::Float64});
}

}  // namespace

std::vector<double> expm(const std::vector<double>& M, int64_t n) {
  double norm = 0;
  for (int64_t i = 0; i < n; ++i) {
    double row = 0;
    for (int64_t j = 0; j < n; ++j) row += std::abs(M[i * n + j]);
    norm = std::max(norm, row);
  }
  int squarings = norm > 0.25 ? static_cast<int>(std::ceil(std::log2(norm / 0.25))) : 0;
  double scale = std::ldexp(1.0, -squarings);
  Matrix X(M.size()), result(n * n, 0.0), term(n * n, 0.0);
  for (size_t i = 0; i < M.size(); ++i) X[i] = M[i] * scale;
  for (int64_t i = 0; i < n; ++i) result[i * n + i] = term[i * n + i] = 1.0;
  for (int k = 1; k <= 30; ++k) {  // ‖X‖ <= 1/4: the terms fall below 1e-17 long before 30
    term = multiply(term, X, n);
    for (double& v : term) v /= k;
    for (size_t i = 0; i < result.size(); ++i) result[i] += term[i];
  }
  for (int s = 0; s < squarings; ++s) result = multiply(result, result, n);
  return result;
}

LinearReference linear_exact(const Tensor& A, const Tensor& z0, const std::vector<double>& times,
                             const std::function<Tensor(const TensorList&)>& loss) {
  const int64_t d = A.size(0);
  Matrix a = to_matrix(A.to(DType::Float64));
  Tensor z0d = z0.detach().to(DType::Float64);
  LinearReference ref;
  std::vector<Matrix> E;
  TensorList states;
  for (double t : times) {
    Matrix scaled(a);
    for (double& v : scaled) v *= t - times[0];
    E.push_back(expm(scaled, d));
    states.push_back(matmul(z0d, to_tensor(E.back(), d, d).t()).detach().requires_grad_());
  }
  TensorList G;
  {
    autograd::EnableGradGuard grad_on;
    Tensor L = loss(states);
    ref.loss = L.item<double>();
    G = autograd::grad({L}, states, {}, {.allow_unused = true});
  }
  ref.grad_z0 = zeros_like(z0d);
  ref.grad_A = zeros({d, d}, {.dtype = DType::Float64});
  for (size_t k = 0; k < times.size(); ++k) {
    if (!G[k].defined()) continue;
    ref.grad_z0 = ref.grad_z0 + matmul(G[k], to_tensor(E[k], d, d));
    double tau = times[k] - times[0];
    if (tau == 0) continue;
    // Block [[τAᵀ, C], [0, τAᵀ]] with C = G_kᵀ z0; exp's upper-right block is L(τAᵀ, C).
    Matrix C = to_matrix(matmul(G[k].t(), z0d));
    Matrix block(4 * d * d, 0.0);
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < d; ++j) {
        block[i * 2 * d + j] = block[(i + d) * 2 * d + j + d] = tau * a[j * d + i];
        block[i * 2 * d + j + d] = C[i * d + j];
      }
    Matrix Eb = expm(block, 2 * d);
    Matrix L(d * d);
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < d; ++j) L[i * d + j] = tau * Eb[i * 2 * d + j + d];
    ref.grad_A = ref.grad_A + to_tensor(L, d, d);
  }
  for (Tensor& s : states) s = s.detach();
  ref.states = states;
  return ref;
}

}  // namespace ctdl::ode::lab

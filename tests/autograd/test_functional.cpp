// vjp, jvp, linearize and jacobian.
#include "helpers.h"

using namespace ctdl;
using ctdl::testing::allclose;

namespace {

Tensor w = randn({3, 3}, {.dtype = DType::Float64});

TensorList f(const TensorList& x) { return {tanh(matmul(x[0], w)), (x[0] * x[0]).sum()}; }

// J of x -> tanh(x W) for a row vector x: diag(1 - y^2) W^T, laid out [out, in].
Tensor exact_jacobian(const Tensor& x) {
  Tensor y = tanh(matmul(x, w));
  return (1.0 - y * y).unsqueeze(1) * w.t();
}

}  // namespace

TEST_CASE("vjp and jvp agree with the explicit Jacobian", "[autograd][functional]") {
  Tensor x = randn({3}, {.dtype = DType::Float64});
  Tensor u = randn({3}, {.dtype = DType::Float64}), v = randn({3}, {.dtype = DType::Float64});
  Tensor J = exact_jacobian(x);
  auto [y, vjps] = autograd::vjp(f, {x}, {v, ones({}, {.dtype = DType::Float64})});
  CHECK(allclose(vjps[0], matmul(v, J) + 2.0 * x, 1e-12, 1e-12));
  auto [y2, jvps] = autograd::jvp(f, {x}, {u});
  CHECK(allclose(jvps[0], matmul(J, u), 1e-12, 1e-12));
  CHECK(jvps[1].item() == Approx((2.0 * x * u).sum().item()).epsilon(1e-12));
  CHECK(allclose(autograd::jacobian([](const Tensor& x) { return f({x})[0]; }, x), J, 1e-12, 1e-12));
}

TEST_CASE("a linearization answers many Jacobian-vector products", "[autograd][functional]") {
  Tensor x = randn({3}, {.dtype = DType::Float64});
  autograd::Linearization lin = autograd::linearize(f, {x});
  Tensor J = exact_jacobian(x);
  for (int i = 0; i < 3; ++i) {
    Tensor u = randn({3}, {.dtype = DType::Float64});
    CHECK(allclose(lin.jvp({u})[0], matmul(J, u), 1e-12, 1e-12));
    CHECK(allclose(lin.vjp({u, zeros({}, {.dtype = DType::Float64})})[0], matmul(u, J), 1e-12, 1e-12));
  }
}

TEST_CASE("jvp with create_graph is differentiable (Hessian-vector products)", "[autograd][functional]") {
  Tensor x = randn({4}, {.dtype = DType::Float64, .requires_grad = true});
  auto energy = [](const TensorList& in) { return TensorList{(pow(in[0], 4.0)).sum()}; };
  Tensor u = randn({4}, {.dtype = DType::Float64});
  auto [e, grads] = autograd::vjp(energy, {x}, {ones({}, {.dtype = DType::Float64})}, true);
  Tensor hvp = autograd::grad({(grads[0] * u).sum()}, {x})[0];
  CHECK(allclose(hvp, 12.0 * x.detach() * x.detach() * u, 1e-12, 1e-12));
}

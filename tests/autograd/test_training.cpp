// End-to-end: a two-layer network fitted to sin(x) with hand-written Adam.
#include "helpers.h"

using namespace ctdl;

TEST_CASE("a 2-layer MLP fits sin(x) on [-pi, pi] to a loss below 1e-3", "[autograd][training]") {
  Generator gen(42);
  Tensor x = linspace(-M_PI, M_PI, 200).reshape({200, 1});
  Tensor y = sin(x);
  TensorList p = {randn({1, 32}, {}, &gen), zeros({32}), randn({32, 1}, {}, &gen) * 0.2, zeros({1})};
  for (Tensor& t : p) t.requires_grad_();
  TensorList m, v;
  for (const Tensor& t : p) m.push_back(zeros_like(t)), v.push_back(zeros_like(t));
  double loss_value = 0;
  for (int step = 1; step <= 1500; ++step) {
    Tensor loss = square(matmul(tanh(matmul(x, p[0]) + p[1]), p[2]) + p[3] - y).mean();
    for (Tensor& t : p) t.zero_grad();
    loss.backward();
    loss_value = loss.item();
    autograd::NoGradGuard no_grad;
    for (size_t i = 0; i < p.size(); ++i) {
      Tensor g = p[i].grad();
      m[i] = m[i] * 0.9 + g * 0.1;
      v[i] = v[i] * 0.999 + g * g * 0.001;
      Tensor mh = m[i] / (1 - std::pow(0.9, step)), vh = v[i] / (1 - std::pow(0.999, step));
      p[i].sub_(mh * 0.01 / (sqrt(vh) + 1e-8));
    }
  }
  INFO("final loss " << loss_value);
  CHECK(loss_value < 1e-3);
}

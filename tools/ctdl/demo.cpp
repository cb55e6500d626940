// `ctdl demo`: the README's main job. Fits a two-layer network to sin(x) on [-pi, pi] with
// plain tensor code and Adam written out by hand, printing the loss as it falls.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "commands.h"
#include "ctdl/ctdl.h"

namespace ctdl::cli {

int demo(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (!std::strcmp(argv[i], "--help")) {
      std::cout << "usage: ctdl demo\n\nFits y = sin(x) with a 1-64-1 tanh network and prints the loss.\n";
      return 0;
    }
  manual_seed(0);
  Tensor x = linspace(-M_PI, M_PI, 256).reshape({256, 1});
  Tensor y = sin(x);
  TensorList params = {randn({1, 64}) * 1.0, zeros({64}), randn({64, 1}) * 0.125, zeros({1})};
  for (Tensor& p : params) p.requires_grad_();
  TensorList m, v;
  for (const Tensor& p : params) m.push_back(zeros_like(p)), v.push_back(zeros_like(p));
  const double lr = 0.01, b1 = 0.9, b2 = 0.999;
  std::cout << "fitting sin(x) on [-pi, pi] with a 1-64-1 tanh network (Adam, lr " << lr << ")\n";
  for (int step = 1; step <= 2000; ++step) {
    Tensor hidden = tanh(matmul(x, params[0]) + params[1]);
    Tensor loss = square(matmul(hidden, params[2]) + params[3] - y).mean();
    for (Tensor& p : params) p.zero_grad();
    loss.backward();
    autograd::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) {
      Tensor g = params[i].grad();
      m[i] = m[i] * b1 + g * (1 - b1);
      v[i] = v[i] * b2 + g * g * (1 - b2);
      Tensor m_hat = m[i] / (1 - std::pow(b1, step)), v_hat = v[i] / (1 - std::pow(b2, step));
      params[i].sub_(m_hat * lr / (sqrt(v_hat) + 1e-8));
    }
    if (step == 1 || step % 250 == 0) std::printf("step %5d   loss %.6f\n", step, loss.item<double>());
  }
  return 0;
}

}  // namespace ctdl::cli

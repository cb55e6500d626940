// A neural ODE, trained: dz/dt = f(z) with f a 2-32-2 tanh network, so that the flow of
// [0, 1] carries points of the unit circle to a rotated, shrunken circle. The gradient of
// the loss comes from the adjoint scheme named on the command line (default: backsolve):
//   build/bin/example_neural_ode [backprop|backsolve|checkpoint|symplectic]
#include <ctdl/ctdl.h>
#include <ctdl/ode/ode.h>

#include <cmath>
#include <cstring>
#include <iostream>

using namespace ctdl;

int main(int argc, char** argv) {
  const char* which = argc > 1 ? argv[1] : "backsolve";
  ode::Grad grad = !std::strcmp(which, "backprop") ? ode::Grad(ode::Backprop{})
                   : !std::strcmp(which, "checkpoint")
                       ? ode::Grad(ode::CheckpointAdjoint{.checkpoints = 4})
                   : !std::strcmp(which, "symplectic") ? ode::Grad(ode::SymplecticAdjoint{})
                                                       : ode::Grad(ode::BacksolveAdjoint{});
  manual_seed(0);
  Tensor angle = linspace(0, 2 * M_PI, 64).reshape({64, 1});
  Tensor z0 = cat({cos(angle), sin(angle)}, 1);
  Tensor target = cat({cos(angle + 1.0), sin(angle + 1.0)}, 1) * 0.6;

  TensorList params = {randn({2, 32}) * 0.5, zeros({32}), randn({32, 2}) * 0.1, zeros({2})};
  for (Tensor& p : params) p.requires_grad_();
  auto f = [params](double, const Tensor& z) {
    return matmul(tanh(matmul(z, params[0]) + params[1]), params[2]) + params[3];
  };

  TensorList m, v;  // Adam's moments
  for (const Tensor& p : params) m.push_back(zeros_like(p)), v.push_back(zeros_like(p));
  for (int step = 1; step <= 300; ++step) {
    Tensor zs = ode::odeint(
        f, z0, {0.0, 1.0}, {.solver = ode::RK4{.step_size = 0.05}, .grad = grad, .params = params});
    Tensor loss = square(zs.select(0, 1) - target).mean();
    for (Tensor& p : params) p.zero_grad();
    loss.backward();
    autograd::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) {
      Tensor g = params[i].grad();
      m[i] = m[i] * 0.9 + g * 0.1;
      v[i] = v[i] * 0.999 + g * g * 0.001;
      params[i].sub_(m[i] / (1 - std::pow(0.9, step)) * 0.02 /
                     (sqrt(v[i] / (1 - std::pow(0.999, step))) + 1e-8));
    }
    if (step == 1 || step % 50 == 0)
      std::cout << "step " << step << "  loss " << loss.item() << "\n";
  }
  return 0;
}

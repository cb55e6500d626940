// A neural ODE, trained: dz/dt = f(z) with f a 2-32-2 tanh network, so that the flow of
// [0, 1] carries points of the unit circle to a rotated, shrunken circle. The model is an
// nn::ODEBlock around the network; its gradient comes from the scheme named on the command
// line (default: backsolve):
//   build/bin/example_neural_ode [backprop|backsolve|checkpoint|symplectic]
// It runs as a test: it fails unless the loss falls to a tenth of where it started.
#include <ctdl/ctdl.h>

#include <cmath>
#include <cstring>
#include <iostream>

using namespace ctdl;

struct Dynamics : nn::Module {
  nn::Linear fc1 = register_module("fc1", nn::Linear(2, 32));
  nn::Linear fc2 = register_module("fc2", nn::Linear(32, 2));
  Tensor operator()(double /*t*/, const Tensor& z) const { return fc2(tanh(fc1(z))); }
};

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

  nn::ODEBlock model(Dynamics(), {.solver = ode::RK4{.step_size = 0.05}, .grad = grad});
  nn::Adam opt(model.parameters(), {.lr = 0.02});
  double first = 0, last = 0;
  for (int step = 1; step <= 300; ++step) {
    Tensor loss = nn::mse_loss(model(z0), target);  // model(z0) = z(1)
    opt.zero_grad();
    loss.backward();
    opt.step();
    last = loss.item();
    if (step == 1) first = last;
    if (step == 1 || step % 50 == 0) std::cout << "step " << step << "  loss " << last << "\n";
  }
  if (!(last < 0.1 * first)) {
    std::cerr << "neural_ode (" << grad.name() << "): the loss went from " << first << " to "
              << last << ", not below a tenth\n";
    return 1;
  }
  return 0;
}

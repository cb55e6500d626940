// A user's program built against an installed ctdl.
#include <ctdl/ctdl.h>

#include <iostream>

int main() {
  using namespace ctdl;
  Tensor x = scalar_tensor(3.0, {.dtype = DType::Float64, .requires_grad = true});
  Tensor y = x * x;
  y.backward();
  std::cout << "gradient " << x.grad().item() << "\n";
  // The model DSL and the data loader (oneTBB underneath) link from the installed package.
  nn::Linear fc(2, 1);
  nn::data::DataLoader loader(nn::data::TensorDataset(ones({4, 2}), zeros({4})), {.batch_size = 2});
  int batches = 0;
  for (auto [xb, yb] : loader) batches += fc(xb).size(0) == 2;
  std::cout << "batches " << batches << "\n";
  // The ode/ headers installed and usable (exp(1) by rk4).
  Tensor e = ode::odeint([](double, const Tensor& z) { return z; }, ones({1}, {.dtype = DType::Float64}),
                         {0.0, 1.0}, {.solver = ode::RK4{.step_size = 0.01}});
  std::cout << "ode " << e.select(0, 1).item() << "\n";
}

// A user's program built against an installed ctdl.
#include <ctdl/ctdl.h>

#include <iostream>

int main() {
  using namespace ctdl;
  Tensor x = scalar_tensor(3.0, {.dtype = DType::Float64, .requires_grad = true});
  Tensor y = x * x;
  y.backward();
  std::cout << "gradient " << x.grad().item() << "\n";
}

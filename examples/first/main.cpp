// The README's first program: a small network fitted to sin(x) with plain tensor code.
#include <ctdl/ctdl.h>
#include <iostream>
using namespace ctdl;

int main() {
  Tensor x = linspace(-3.14, 3.14, 128).reshape({128, 1}), y = sin(x);
  Tensor w1 = randn({1, 32}).requires_grad_(), b1 = zeros({32}, {.requires_grad = true});
  Tensor w2 = (randn({32, 1}) * 0.2).requires_grad_();
  for (int step = 0; step < 500; ++step) {
    Tensor loss = square(matmul(tanh(matmul(x, w1) + b1), w2) - y).mean();
    loss.backward();
    autograd::NoGradGuard no_grad;            // the update itself is not recorded
    for (Tensor* p : {&w1, &b1, &w2}) {
      p->sub_(p->grad() * 0.05);
      p->zero_grad();
    }
    if (step % 100 == 0) std::cout << step << " " << loss.item() << "\n";
  }
  manual_seed(0);
  Tensor a = randn({2, 3, 4});
  Tensor c = softmax(a, -1).sum({0, 2}, true);  // [1, 3, 1]
  std::cout << c << "\n";
  Tensor xs = tensor({0.5, 2.0}, {.dtype = DType::Float64, .requires_grad = true});
  Tensor ys = pow(xs, 3.0).sum();
  Tensor dy = autograd::grad({ys}, {xs}, {}, {.create_graph = true})[0];   // 3x²
  Tensor d2y = autograd::grad({dy.sum()}, {xs})[0];                        // 6x
  auto [out, jv] = autograd::jvp([](const TensorList& v) { return TensorList{tanh(v[0])}; },
                                 {xs}, {ones_like(xs)});
  std::cout << dy << "\n" << d2y << "\n" << jv[0] << "\n";
}

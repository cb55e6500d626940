#include "bench_workloads.h"

#include "ctdl/ctdl.h"

namespace ctdl::cli::benchmarks {

namespace {

constexpr int64_t k16M = int64_t{1} << 24;

Prepared matmul_square(int64_t n, DType dtype, Device device) {
  Tensor a = randn({n, n}, {.dtype = dtype, .device = device});
  Tensor b = randn({n, n}, {.dtype = dtype, .device = device});
  return {.repetition = [a, b] { matmul(a, b); }, .flops = 2.0 * n * n * n};
}

Prepared axpby(Device device) {
  Tensor x = randn({k16M}, {.device = device}), y = randn({k16M}, {.device = device});
  // axpby is ctdl's fused a·x + b·y (one pass). ctdl has no out= arguments: z is a new
  // tensor each time (PyTorch's peer reuses one), served by the allocator's cache (the
  // CPU's, or the device memory cache on a GPU).
  return {.repetition = [x, y] { Tensor z = axpby(2.0, x, 3.0, y); },
          .bytes = 3.0 * sizeof(float) * k16M};
}

// A plain copy of 2^24 float32 elements (read once, written once): the bandwidth axpby_16M
// is measured against (on a GPU the target is axpby at 80% or more of this copy's gbps).
Prepared device_copy(Device device) {
  Tensor x = randn({k16M}, {.device = device});
  return {.repetition = [x] { Tensor y = x.clone(); }, .bytes = 2.0 * sizeof(float) * k16M};
}

Prepared sum_all(Device device) {
  Tensor x = randn({k16M}, {.device = device});
  return {.repetition = [x] { x.sum(); }, .bytes = 1.0 * sizeof(float) * k16M};
}

// On a GPU: 10,000 kernel launches, so what this measures there is the cost of one.
Prepared tiny_add(Device device) {
  Tensor a = randn({2}, {.device = device}), b = randn({2}, {.device = device});
  return {.repetition = [a, b] {
    autograd::NoGradGuard no_grad;
    for (int i = 0; i < 10000; ++i) Tensor c = a + b;
  }};
}

// `steps` training steps of a classifier: cross-entropy, SGD with momentum 0.9, lr 0.01.
// The model moves to the device of x before its optimizer is made.
Prepared train_steps(nn::Sequential model, Tensor x, Tensor labels, int steps) {
  model.to(x.device());
  auto opt =
      std::make_shared<nn::SGD>(model.parameters(), nn::SGDOptions{.lr = 0.01, .momentum = 0.9});
  return {.repetition = [model, x, labels, opt, steps] {
    for (int i = 0; i < steps; ++i) {
      opt->zero_grad();
      nn::cross_entropy(model(x), labels).backward();
      opt->step();
    }
  }};
}

Prepared mlp_steps(Device device) {
  nn::Sequential mlp(nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 256), nn::ReLU(),
                     nn::Linear(256, 10));
  return train_steps(mlp, randn({128, 784}, {.device = device}),
                     randint(0, 10, {128}, {.device = device}), 10);
}

Prepared cnn_step(Device device) {
  nn::Sequential cnn(nn::Conv2d(1, 32, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2),
                     nn::Conv2d(32, 64, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2),
                     nn::Flatten(), nn::Linear(3136, 10));
  return train_steps(cnn, randn({64, 1, 28, 28}, {.device = device}),
                     randint(0, 10, {64}, {.device = device}), 1);
}

// 100 RK4 steps over [0, 1] from a batch of 512, loss = sum of z(1)²; the gradient with
// respect to the parameters and z(0) by `scheme`. Like peer_torch.py, gradients accumulate
// across repetitions.
Prepared neural_ode(ode::Grad scheme, Device device, int64_t batch = 512) {
  // f(t, z) = W2·tanh(W1·z + b1) + b2, z in R², 64 hidden units: one fused mlp op.
  nn::MLP f({2, 64, 2});
  f.to(device);
  Tensor z0 = randn({batch, 2}, {.device = device, .requires_grad = true});
  auto stats = std::make_shared<ode::Stats>();
  return {.repetition =
              [f, z0, scheme, stats] {
                Tensor zs = ode::odeint(f, z0, {0.0, 1.0},
                                        {.solver = ode::RK4{.step_size = 0.01},
                                         .grad = scheme,
                                         .params = f.parameters(),
                                         .stats = stats});
                square(zs.select(0, 1)).sum().backward();
              },
          .ode_stats = stats};
}

// PDE-Net: learned 5×5 finite-difference filters on a periodic grid, mixed by a 1×1 conv.
Prepared pdenet_step(Device device) {
  nn::Conv2d filters(1, 15, 5, {.padding = 2, .bias = false, .padding_mode = PadMode::Circular});
  nn::Conv2d mix(15, 1, 1, {.bias = false});
  filters.to(device);
  mix.to(device);
  Tensor x = randn({16, 1, 64, 64}, {.device = device});
  Tensor target = randn({16, 1, 64, 64}, {.device = device});
  return {.repetition = [filters, mix, x, target]() mutable {
    filters.zero_grad();
    mix.zero_grad();
    nn::mse_loss(mix(filters(x)), target).backward();
  }};
}

}  // namespace

const std::vector<Workload>& workloads() {
  static const std::vector<Workload> all = {
      {"matmul_n512", "C = A·B, float32 512×512",
       [](Device d) { return matmul_square(512, DType::Float32, d); }},
      {"matmul_n1024", "C = A·B, float32 1024×1024",
       [](Device d) { return matmul_square(1024, DType::Float32, d); }},
      {"matmul_n2048", "C = A·B, float32 2048×2048",
       [](Device d) { return matmul_square(2048, DType::Float32, d); }},
      {"matmul_f64_n1024", "C = A·B, float64 1024×1024",
       [](Device d) { return matmul_square(1024, DType::Float64, d); }},
      {"axpby_16M", "z = 2·x + 3·y over 2^24 float32 elements", axpby},
      // Not in WORKLOADS.md: the copy bandwidth axpby_16M's gbps is compared with.
      {"copy_16M", "y = x.clone() of 2^24 float32 elements: the device's copy bandwidth",
       device_copy},
      {"sum_16M", "the sum of 2^24 float32 elements", sum_all},
      {"tiny_add_x10000", "10,000 additions of two [2] tensors under NoGradGuard", tiny_add},
      {"mlp_step_x10", "10 SGD steps of a 784-256-256-10 MLP, batch 128, cross-entropy", mlp_steps},
      {"cnn_step", "one SGD step of a 2-conv MNIST CNN, batch 64, cross-entropy", cnn_step},
      {"node_rk4_backprop",
       "neural ODE, 100 RK4 steps, batch 512, gradient by backprop through the solver",
       [](Device d) { return neural_ode(ode::Backprop{}, d); }},
      {"node_rk4_adjoint",
       "the same neural ODE, gradient by the backsolve adjoint on the same RK4 grid",
       [](Device d) { return neural_ode(ode::BacksolveAdjoint{}, d); }},
      {"pdenet_step", "PDE-Net: circular 5×5 conv to 15 channels, 1×1 mix, MSE, backward",
       pdenet_step},
      // Not in WORKLOADS.md: the same neural ODE on small batches, where the cost per op
      // (dispatch, autograd, an interpreter's overhead in a peer) outweighs the arithmetic.
      // bench/node_batch_sweep.py times PyTorch on them.
      {"node_rk4_backprop_b1", "node_rk4_backprop with a batch of 1",
       [](Device d) { return neural_ode(ode::Backprop{}, d, 1); }},
      {"node_rk4_backprop_b16", "node_rk4_backprop with a batch of 16",
       [](Device d) { return neural_ode(ode::Backprop{}, d, 16); }},
      {"node_rk4_adjoint_b16", "node_rk4_adjoint with a batch of 16",
       [](Device d) { return neural_ode(ode::BacksolveAdjoint{}, d, 16); }},
      {"node_rk4_backprop_b64", "node_rk4_backprop with a batch of 64",
       [](Device d) { return neural_ode(ode::Backprop{}, d, 64); }},
  };
  return all;
}

}  // namespace ctdl::cli::benchmarks

// A newcomer's program: write a model, train it, plot it, save it and load it back.
// (The README walks through it; built as build/bin/example_model.)
#include <ctdl/ctdl.h>
#include <ctdl/nn/train/metrics.h>
#include <ctdl/nn/train/plot.h>

#include <filesystem>
#include <iostream>

using namespace ctdl;

// 1. A model is a struct. Members are registered where they are declared, so the struct
//    knows its parameters by name: fc1.weight, fc1.bias, fc2.weight, fc2.bias.
struct Net : nn::Module {
  nn::Linear fc1 = register_module("fc1", nn::Linear(1, 32));
  nn::Linear fc2 = register_module("fc2", nn::Linear(32, 1));
  Tensor operator()(const Tensor& x) const { return fc2(tanh(fc1(x))); }
};

int main() {
  manual_seed(0);
  std::filesystem::create_directories("runs/fit");

  // 2. Data: noisy samples of sin(3x), served in shuffled batches of 64.
  Tensor x = rand({512, 1}) * 4.0 - 2.0;
  Tensor y = sin(x * 3.0) + randn({512, 1}) * 0.05;
  nn::data::DataLoader loader(nn::data::TensorDataset(x, y), {.batch_size = 64, .shuffle = true});

  // 3. Training: the optimizer holds the parameters; each step is forward, backward, update.
  Net net;
  nn::Adam opt(net.parameters(), {.lr = 1e-2});
  nn::MetricsLog log("runs/fit/metrics.jsonl");
  for (int epoch = 1; epoch <= 100; ++epoch) {
    double total = 0;
    for (auto [xb, yb] : loader) {
      Tensor loss = nn::mse_loss(net(xb), yb);
      opt.zero_grad();
      loss.backward();
      opt.step();
      total += loss.item();
    }
    log.write({{"epoch", epoch}, {"train_loss", total / loader.size()}});
    if (epoch % 25 == 0)
      std::cout << "epoch " << epoch << "  loss " << total / loader.size() << "\n";
  }

  // 4. Plot: every key with "loss" in its name, against the epoch, into runs/fit/loss.png.
  nn::plot_metrics("runs/fit");

  // 5. Save, and load into a fresh model (names, shapes and dtypes are checked).
  nn::save(net, "runs/fit/net.safetensors");
  Net copy;
  nn::load(copy, "runs/fit/net.safetensors");
  std::cout << "reloaded model's loss: " << nn::mse_loss(copy(x), y).item() << "\n";
}

// `ctdl demo`: the README's main job. A tour of the model DSL in about a minute: a module
// written as a plain struct, data in a DataLoader, training with an optimizer and a
// schedule, metrics and plots in a run directory, a checkpoint saved and loaded back, and
// L-BFGS on a small regression. Each step prints what it does; the code below is meant to be
// read alongside.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "ctdl/ctdl.h"
#include "ctdl/nn/data/dataloader.h"
#include "ctdl/nn/io/checkpoint.h"
#include "ctdl/nn/nn.h"
#include "ctdl/nn/train/metrics.h"
#include "ctdl/nn/train/plot.h"
#include "ctdl/nn/train/progress.h"

namespace ctdl::cli {

namespace {

void step(int n, const std::string& what) { std::cout << "\n== " << n << ". " << what << "\n"; }

// Two interleaved spirals: points of class c wind around the origin, offset by half a turn.
nn::data::TensorDataset spirals(int64_t n, uint64_t seed) {
  Generator gen(seed);
  Tensor t = rand({n}, {.dtype = DType::Float64}, &gen) * 3.0 * M_PI + 0.5;  // angle
  Tensor label = randint(0, 2, {n}, {}, &gen);
  Tensor angle = t + label.to(DType::Float64) * M_PI;
  Tensor r = t / (3.5 * M_PI);
  Tensor xy = stack({r * cos(angle), r * sin(angle)}, 1) +
              randn({n, 2}, {.dtype = DType::Float64}, &gen) * 0.02;
  return {xy.to(DType::Float32), label};
}

// 1. A model is a struct: members are registered where they are declared.
struct SpiralNet : nn::Module {
  nn::Linear input = register_module("input", nn::Linear(2, 64));
  nn::Sequential blocks = register_module("blocks", nn::Sequential());
  nn::Linear output = register_module("output", nn::Linear(64, 2));

  explicit SpiralNet(int depth) {
    for (int i = 0; i < depth; ++i)  // residual blocks x + f(x), a ResNet: Euler steps of an ODE
      blocks.push_back(
          nn::Residual(nn::Sequential(nn::Linear(64, 64), nn::Tanh(), nn::Linear(64, 64))));
  }
  Tensor operator()(const Tensor& x) const { return output(tanh(blocks(tanh(input(x))))); }
};

}  // namespace

int demo(int argc, char** argv) {
  std::string out = "runs/demo";
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::cout
          << "usage: ctdl demo [--out DIR]\n\nA one-minute tour of ctdl's model DSL: defines a "
             "residual network as a\n"
             "struct, trains it on two spirals with Adam and a cosine schedule, logs metrics and\n"
             "plots them to DIR (default runs/demo), saves and reloads a checkpoint, and fits\n"
             "sin(x) with L-BFGS. Read tools/ctdl/demo.cpp alongside.\n";
      return 0;
    }
    if (!std::strcmp(argv[i], "--out") && i + 1 < argc) {
      out = argv[++i];
      continue;
    }
    std::cerr << "ctdl demo: unexpected argument '" << argv[i] << "' (ctdl demo --help)\n";
    return 2;
  }
  std::filesystem::create_directories(out);
  std::filesystem::remove(out + "/metrics.jsonl");
  manual_seed(0);

  step(1, "a model is a struct of registered members (tools/ctdl/demo.cpp, SpiralNet)");
  SpiralNet net(3);
  std::cout << net << net.num_parameters() << " parameters; the first ones by name:\n";
  for (const auto& [name, p] : net.named_parameters())
    if (name.rfind("blocks.0", 0) == 0) std::cout << "  " << name << " " << p.shape() << "\n";

  step(2, "data: two spirals in a DataLoader (shuffled, seeded, prefetched)");
  nn::data::TensorDataset train_set = spirals(2000, 1), test_set = spirals(1000, 2);
  nn::data::DataLoader train(train_set, {.batch_size = 100, .shuffle = true, .seed = 0});
  nn::data::DataLoader test(test_set, {.batch_size = 500});
  std::cout << train_set.size() << " training points, " << test_set.size() << " test points, "
            << train.size() << " batches per epoch\n";

  step(3, "training: Adam, a cosine schedule, cross-entropy; metrics to " + out + "/metrics.jsonl");
  const int epochs = 30;
  nn::Adam opt(net.parameters(), {.lr = 3e-3});
  nn::CosineAnnealingLR schedule(opt, epochs);
  nn::MetricsLog metrics(out + "/metrics.jsonl");
  auto accuracy_on = [&](nn::data::DataLoader& loader) {
    autograd::NoGradGuard no_grad;  // evaluation records no graph
    net.eval();
    int64_t correct = 0, n = 0;
    for (auto [x, y] : loader) correct += nn::count_correct(net(x), y), n += y.size(0);
    net.train();
    return static_cast<double>(correct) / n;
  };
  for (int epoch = 0; epoch < epochs; ++epoch) {
    nn::ProgressBar bar(
        train.size(), {.label = "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(epochs),
                       .plain_line_seconds = 1e9});
    double loss_sum = 0;
    for (auto [x, y] : train) {
      Tensor loss = nn::cross_entropy(net(x), y);
      opt.zero_grad();
      loss.backward();
      opt.step();
      loss_sum += loss.item();
      bar.step(x.size(0), {{"loss", loss.item()}});
    }
    schedule.step();
    double acc = accuracy_on(test);
    metrics.write(
        {{"epoch", epoch + 1}, {"train_loss", loss_sum / train.size()}, {"test_accuracy", acc}});
    if (epoch % 5 == 4 || epoch == 0) bar.finish({{"test_accuracy", acc}});
  }
  double accuracy = accuracy_on(test);
  std::cout << "test accuracy " << accuracy << "\n";

  step(4, "checkpoint: save to safetensors, load into a fresh model, same predictions");
  std::string path = out + "/spiral.safetensors";
  nn::save_checkpoint(path, {.model = &net,
                             .optimizer = &opt,
                             .scheduler = &schedule,
                             .metadata = {{"epochs", std::to_string(epochs)}}});
  SpiralNet restored(3);  // different random weights...
  nn::Adam restored_opt(restored.parameters(), {.lr = 3e-3});
  nn::load_checkpoint(path, {.model = &restored, .optimizer = &restored_opt});  // ...until loaded
  net.eval(), restored.eval();
  Tensor probe = test_set.inputs().narrow(0, 0, 5);
  double difference = (restored(probe) - net(probe)).abs().max().item();
  std::cout << path << ": " << std::filesystem::file_size(path)
            << " bytes; largest difference between the "
            << "two models' outputs: " << difference << "\n";
  try {
    SpiralNet deeper(4);
    nn::load_checkpoint(path, {.model = &deeper});
  } catch (const Error& e) {
    std::cout << "loading into a deeper model is refused, every mismatch named:\n"
              << e.what() << "\n";
  }

  step(5, "plots: loss and accuracy curves with gnuplot");
  try {
    for (const std::string& png : nn::plot_metrics(out)) std::cout << "wrote " << png << "\n";
  } catch (const Error& e) {
    std::cout << "(no plots: " << e.what() << ")\n";
  }

  step(6, "L-BFGS: fit sin(x) with a small network, a closure re-evaluating the loss");
  nn::Sequential fit(nn::Linear(1, 16), nn::Tanh(), nn::Linear(16, 1));
  Tensor x = linspace(-M_PI, M_PI, 64).reshape({64, 1}), y = sin(x);
  nn::LBFGS lbfgs(fit.parameters(), {.max_iter = 15, .line_search = nn::LineSearch::StrongWolfe});
  for (int round = 1; round <= 4; ++round) {  // each step() runs up to 15 L-BFGS iterations
    Tensor loss = lbfgs.step([&] {
      lbfgs.zero_grad();
      Tensor l = nn::mse_loss(fit(x), y);
      l.backward();
      return l;
    });
    std::cout << "round " << round << ": loss before " << loss.item() << ", after "
              << nn::mse_loss(fit(x), y).item() << " (" << lbfgs.function_evaluations()
              << " evaluations so far)\n";
  }

  std::cout
      << "\nNext: 'ctdl list' shows the examples, 'ctdl run mnist-mlp --quick' trains one, and\n"
         "README.md walks through writing your own.\n";
  return accuracy > 0.9 ? 0 : 1;
}

}  // namespace ctdl::cli

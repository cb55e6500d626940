// mean-field-resnet: the mean-field ResNet of Lu, Ma, Lu, Lu & Ying (ICML 2020), model.h,
// trained by particle SGD (the discretization of the paper's Wasserstein gradient flow) and
// by the paper's order-switching procedure, train.h. The run:
//
//   1. two spirals in the plane: training loss after a fixed budget against depth L and width
//      M (toy_loss_vs_depth.png, toy_loss_vs_width.png; the decision regions of the largest
//      network in toy_decision.png);
//   2. MNIST (8,000 / 2,000, see examples/mnist/README.md): the same grid
//      (mnist_loss_vs_depth.png, mnist_loss_vs_width.png);
//   3. MNIST again, one depth and width, trained twice from the same start with the same
//      batches: plainly and with order switching (loss.png, accuracy.png from metrics.jsonl).
//      Then both networks run with their blocks in random orders: how far the logits move,
//      and what is left of the accuracy (permutation_change.png, permutation_accuracy.png);
//   4. the trained network against its continuum limit dX/dt = E_{θ∼ρ(t)} σ(X; θ) solved
//      with RK4 (the ResNet is that ODE's forward Euler discretization).
//
//   build/bin/ctdl run mean-field-resnet --quick
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <numbers>
#include <random>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/nn/data/mnist.h"
#include "ctdl/nn/nn.h"
#include "ctdl/nn/train/example.h"
#include "ctdl/nn/train/plot.h"
#include "ctdl/nn/train/run.h"
#include "model.h"
#include "train.h"

namespace ctdl::examples::mean_field {
namespace {

using nn::Json;

struct MeanFieldConfig {
  // 1. two spirals (full-batch steps: epochs of one batch)
  int64_t toy_points = 800;
  int64_t toy_dim = 4;
  std::vector<int64_t> toy_depths = {1, 2, 4, 8, 16, 32};
  std::vector<int64_t> toy_widths = {2, 4, 8, 32};
  int64_t toy_steps = 1000;
  int64_t toy_seeds = 3;  // each grid point: the mean of this many trainings
  double toy_lr = 0.01;
  double toy_outer_lr = 0.05;  // sgd only
  // 2. and 3. MNIST
  int64_t mnist_dim = 64;
  bool learn_embedding = false;  // see MeanFieldClassifier (model.h)
  std::vector<int64_t> mnist_depths = {1, 2, 4, 8, 16, 32};
  std::vector<int64_t> mnist_widths = {4, 16, 64};
  int64_t mnist_epochs = 20;
  int64_t train_limit = 0;  // train on the first N images only (0: all)
  int64_t holdout = 2000;   // held out when the folder has only the t10k files
  int64_t batch_size = 128;
  // adam: one Adam over all trained parameters. sgd: the units move with lr·L·M (mean-field
  // scaling, their gradients carry 1/(L·M)), the read-out with outer_lr; see the README.
  std::string optimizer = "adam";
  double lr = 0.02;
  double outer_lr = 0.05;  // sgd only
  double momentum = 0.9;   // sgd only
  // 3. order switching
  int64_t switch_depth = 16;
  int64_t switch_width = 16;
  int64_t switch_epochs = 20;
  std::string switching = "swap";  // swap | shuffle
  double switch_probability = 1.0;
  int64_t permutations = 20;
  // 4. continuum limit
  int64_t continuum_substeps = 8;
  int64_t seed = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(
    MeanFieldConfig, toy_points, toy_dim, toy_depths, toy_widths, toy_steps, toy_seeds, toy_lr,
    toy_outer_lr, mnist_dim, learn_embedding, mnist_depths, mnist_widths, mnist_epochs, train_limit,
    holdout, batch_size, optimizer, lr, outer_lr, momentum, switch_depth, switch_width,
    switch_epochs, switching, switch_probability, permutations, continuum_substeps, seed)

// Two interleaved spirals of two turns in [-1, 1]², with a little noise; labels 0 and 1.
nn::data::TensorDataset two_spirals(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(0, 1);
  std::normal_distribution<double> noise(0, 0.03);
  std::vector<double> xy;
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = i % 2;
    const double t = 0.1 + 0.9 * uniform(rng),
                 angle = 4 * std::numbers::pi * t + c * std::numbers::pi;
    xy.push_back(t * std::cos(angle) + noise(rng));
    xy.push_back(t * std::sin(angle) + noise(rng));
    labels.push_back(c);
  }
  return {tensor(xy, {n, 2}), tensor(labels, {n})};
}

std::string key(int64_t L, int64_t M) {
  return "L=" + std::to_string(L) + ",M=" + std::to_string(M);
}

// Trains fresh networks for every (L, M) and returns the final training losses (on the whole
// training set, after training; the mean over `repeats` seeds); plots them against L and M.
Json loss_grid(nn::Run& run, const std::string& name, const nn::data::TensorDataset& train_set,
               const nn::data::TensorDataset* test_set, int64_t inputs, int64_t classes,
               int64_t dim, const std::vector<int64_t>& depths, const std::vector<int64_t>& widths,
               TrainOptions options, uint64_t seed, int64_t repeats, bool learn_embedding,
               MeanFieldClassifier* keep_last = nullptr) {
  Json losses = Json::object(), accuracies = Json::object();
  std::vector<std::vector<double>> table(widths.size(), std::vector<double>(depths.size()));
  for (size_t j = 0; j < widths.size(); ++j)
    for (size_t i = 0; i < depths.size(); ++i) {
      const int64_t L = depths[i], M = widths[j];
      double loss = 0, accuracy = 0;
      auto t0 = std::chrono::steady_clock::now();
      for (int64_t r = 0; r < repeats; ++r) {  // the mean over `repeats` seeds
        manual_seed(seed + r);
        MeanFieldClassifier net(inputs, classes, {.dim = dim, .depth = L, .width = M},
                                learn_embedding);
        std::mt19937_64 rng(seed + r);
        options.seed = seed + r;
        train(net, train_set, options, rng);
        const double l = evaluate(net, train_set).loss;
        loss += l / static_cast<double>(repeats);
        if (test_set) accuracy += evaluate(net, *test_set).accuracy / static_cast<double>(repeats);
        run.log(
            {{"grid", name}, {"depth", L}, {"width", M}, {"seed", seed + r}, {"final_loss", l}});
        if (keep_last) *keep_last = net;
      }
      table[j][i] = loss;
      losses[key(L, M)] = loss;
      std::string line = name + " " + key(L, M) + ": training loss " + std::to_string(loss);
      if (test_set) {
        accuracies[key(L, M)] = accuracy;
        line += ", held-out accuracy " + std::to_string(accuracy);
      }
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::cout << line
                << (repeats > 1 ? " (mean of " + std::to_string(repeats) + " seeds, " : " (") << s
                << " s)\n";
    }
  std::vector<nn::Series> by_depth, by_width;
  for (size_t j = 0; j < widths.size(); ++j) {
    nn::Series s{.title = "M = " + std::to_string(widths[j]), .style = "linespoints"};
    for (size_t i = 0; i < depths.size(); ++i)
      s.x.push_back(static_cast<double>(depths[i])), s.y.push_back(table[j][i]);
    by_depth.push_back(s);
  }
  for (size_t i = 0; i < depths.size(); ++i) {
    nn::Series s{.title = "L = " + std::to_string(depths[i]), .style = "linespoints"};
    for (size_t j = 0; j < widths.size(); ++j)
      s.x.push_back(static_cast<double>(widths[j])), s.y.push_back(table[j][i]);
    by_width.push_back(s);
  }
  const std::string title = name + ": training loss after the same budget";
  nn::plot_lines((run.dir() / (name + "_loss_vs_depth.png")).string(), by_depth,
                 {.title = title, .xlabel = "depth L", .ylabel = "cross-entropy", .log_y = true});
  nn::plot_lines((run.dir() / (name + "_loss_vs_width.png")).string(), by_width,
                 {.title = title,
                  .xlabel = "width M (units per block)",
                  .ylabel = "cross-entropy",
                  .log_y = true});
  Json out = {{"train_loss", losses}};
  if (test_set) out["test_accuracy"] = accuracies;
  return out;
}

// P(class 1) of a 2-D classifier over [-1.2, 1.2]² as an image.
void plot_decision(nn::Run& run, const MeanFieldClassifier& net, const std::string& title) {
  autograd::NoGradGuard no_grad;
  const int64_t n = 120;
  Tensor g = linspace(-1.2, 1.2, n);
  Tensor ys = flip(g, {0}).unsqueeze(1).expand({n, n}), xs = g.unsqueeze(0).expand({n, n});
  Tensor points = stack({xs.reshape({n * n}), ys.reshape({n * n})}, 1);
  Tensor p = softmax(net(points), 1).select(1, 1).reshape({n, n});
  nn::plot_image((run.dir() / "toy_decision.png").string(), p, {.title = title});
}

void run_mean_field(nn::Run& run, const MeanFieldConfig& c) {
  const auto seed = static_cast<uint64_t>(c.seed);
  TrainOptions base{.batch_size = c.batch_size,
                    .optimizer = c.optimizer,
                    .lr = c.lr,
                    .outer_lr = c.outer_lr,
                    .momentum = c.momentum,
                    .seed = seed};

  // ---- 1. two spirals: loss against depth and width -----------------------------------------
  nn::data::TensorDataset spirals = two_spirals(c.toy_points, seed);
  TrainOptions toy = base;
  toy.epochs = c.toy_steps, toy.batch_size = c.toy_points, toy.lr = c.toy_lr,
  toy.outer_lr = c.toy_outer_lr;
  MeanFieldClassifier largest(2, 2, {.dim = c.toy_dim, .depth = 1, .width = 1});
  Json toy_grid = loss_grid(run, "toy", spirals, nullptr, 2, 2, c.toy_dim, c.toy_depths,
                            c.toy_widths, toy, seed, c.toy_seeds, c.learn_embedding, &largest);
  plot_decision(run, largest,
                "two spirals: P(class 1), L = " + std::to_string(largest.body.options().depth) +
                    ", M = " + std::to_string(largest.body.options().width));
  run.set_metric("toy_train_loss", toy_grid["train_loss"]);

  // ---- 2. MNIST: loss against depth and width --------------------------------------------
  nn::data::Mnist mnist = nn::data::load_mnist(
      run.data_dir("mnist"), {.holdout = c.holdout, .train_limit = c.train_limit});
  run.note(mnist.description);
  auto normalized = [](const nn::data::TensorDataset& d) {
    return nn::data::TensorDataset((d.inputs() - 0.1307) / 0.3081, d.targets());
  };
  nn::data::TensorDataset train_set = normalized(mnist.train), test_set = normalized(mnist.test);
  TrainOptions digits = base;
  digits.epochs = c.mnist_epochs;
  Json mnist_grid = loss_grid(run, "mnist", train_set, &test_set, 784, 10, c.mnist_dim,
                              c.mnist_depths, c.mnist_widths, digits, seed, 1, c.learn_embedding);
  run.set_metric("mnist_train_loss", mnist_grid["train_loss"]);
  run.set_metric("mnist_test_accuracy", mnist_grid["test_accuracy"]);

  // ---- 3. order switching: the same start, the same batches, two procedures ---------------
  const MeanFieldOptions shape{
      .dim = c.mnist_dim, .depth = c.switch_depth, .width = c.switch_width};
  manual_seed(seed + 1);
  MeanFieldClassifier plain(784, 10, shape, c.learn_embedding),
      switched(784, 10, shape, c.learn_embedding);
  switched.load_state_dict(plain.state_dict(), "the plain network's initial state");
  Json switch_record = Json::object();
  auto trained = [&](MeanFieldClassifier& net, Switching how, const std::string& name) {
    TrainOptions o = digits;
    o.epochs = c.switch_epochs;
    o.switching = how;
    o.switch_probability = c.switch_probability;
    o.on_epoch = [&](int64_t epoch, double loss) {
      const double accuracy = evaluate(net, test_set).accuracy;
      run.log({{"epoch", epoch + 1},
               {"train_loss_" + name, loss},
               {"test_accuracy_" + name, accuracy}});
      std::cout << name << " epoch " << epoch + 1 << ": training loss " << loss
                << ", held-out accuracy " << accuracy << "\n";
    };
    std::mt19937_64 rng(seed + 2);
    TrainResult r = train(net, train_set, o, rng);
    PermutationStudy s = permutation_study(net, test_set, c.permutations, seed + 3);
    const Evaluation e = evaluate(net, test_set);
    switch_record[name] = {{"test_accuracy", e.accuracy},
                           {"test_loss", e.loss},
                           {"order_switches", r.switches},
                           {"permuted_relative_change", s.mean_relative_change},
                           {"permuted_test_accuracy", s.mean_accuracy},
                           {"permuted_test_loss", s.mean_loss},
                           {"reversed_relative_change", s.reversed_relative_change},
                           {"reversed_test_accuracy", s.reversed_accuracy}};
    std::cout << name << ": held-out accuracy " << e.accuracy << "; blocks in " << c.permutations
              << " random orders: logits move by " << s.mean_relative_change
              << " (relative), accuracy " << s.mean_accuracy << "\n";
    return s;
  };
  PermutationStudy plain_study = trained(plain, Switching::None, "plain");
  PermutationStudy switch_study = trained(switched, parse_switching(c.switching), "switching");
  auto series = [](const std::string& title, std::vector<double> v) {
    nn::Series s{.title = title, .style = "linespoints"};
    std::sort(v.begin(), v.end());
    for (size_t k = 0; k < v.size(); ++k)
      s.x.push_back(static_cast<double>(k + 1)), s.y.push_back(v[k]);
    return s;
  };
  const std::string depth_width =
      "L = " + std::to_string(c.switch_depth) + ", M = " + std::to_string(c.switch_width);
  nn::plot_lines((run.dir() / "permutation_change.png").string(),
                 {series("plain training", plain_study.relative_change),
                  series("order switching (" + c.switching + ")", switch_study.relative_change)},
                 {.title = "MNIST, " + depth_width + ": blocks in random orders (sorted)",
                  .xlabel = "permutation",
                  .ylabel = "relative change of the logits"});
  nn::plot_lines((run.dir() / "permutation_accuracy.png").string(),
                 {series("plain training", plain_study.accuracy),
                  series("order switching (" + c.switching + ")", switch_study.accuracy)},
                 {.title = "MNIST, " + depth_width + ": held-out accuracy, blocks in random orders",
                  .xlabel = "permutation",
                  .ylabel = "accuracy"});
  run.set_metric("order_switching", switch_record);
  const double ratio = switch_study.mean_relative_change / plain_study.mean_relative_change;
  run.set_metric("permuted_change_ratio", ratio);
  run.set_metric("switching_less_sensitive", ratio < 1.0);

  // ---- 4. the continuum limit of the trained (plain) network ------------------------------
  {
    autograd::NoGradGuard no_grad;
    Tensor discrete = plain(test_set.inputs());
    Tensor ode = plain.continuum(test_set.inputs(), c.continuum_substeps);
    const double diff = norm(ode - discrete).item<double>() / norm(discrete).item<double>();
    const double accuracy = static_cast<double>(nn::count_correct(ode, test_set.targets())) /
                            static_cast<double>(test_set.size());
    run.set_metric("continuum_relative_difference", diff);
    run.set_metric("continuum_test_accuracy", accuracy);
    std::cout << "continuum limit (RK4, " << c.continuum_substeps
              << " steps a block): logits differ from the ResNet's by " << diff
              << " (relative), held-out accuracy " << accuracy << "\n";
  }

  run.set_paper("loss_vs_depth_and_width",
                "the mean-field limit's gradient flow reaches a global minimum (zero loss when "
                "the model can interpolate); larger L and M approach it (Theorems; no table)");
  run.set_paper("order_switching",
                "a training procedure that switches the order of residual blocks, proposed from "
                "the continuum model (the paper reports its accuracy on benchmarks, not a "
                "permutation-sensitivity figure)");
}

const nn::RegisterExample<MeanFieldConfig> registration{{
    .name = "mean-field-resnet",
    .description = "the mean-field ResNet of Lu et al. 2020: loss against depth and width on "
                   "two spirals and MNIST, order switching against block permutations "
                   "(target: switching lowers the permutation sensitivity)",
    .quick = {{"toy_depths", {1, 4, 16}},
              {"toy_widths", {2, 8, 32}},
              {"toy_steps", 600},
              {"mnist_depths", {1, 4, 16}},
              {"mnist_widths", {4, 16}},
              {"mnist_epochs", 10},
              {"switch_epochs", 10}},
    .run = run_mean_field,
}};

}  // namespace
}  // namespace ctdl::examples::mean_field

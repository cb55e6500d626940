// ie-resnet: implicit against explicit Euler skip connections under adversarial attack
// (Li, He & Lin, "Implicit Euler Skip Connections: Enhancing Adversarial Robustness via
// Numerical Stability", ICML 2020), on MNIST.
//
// Four networks with the same architecture, the same initial parameters and the same data
// order: {explicit skips x⁺ = x + h·f(x), implicit skips x⁺ = x + h·f(x⁺)} × {standard
// training, PGD adversarial training}. Each is then attacked on held-out images by FGSM and
// by PGD (L∞, pixels in [0, 1]); the attacks differentiate through the implicit blocks by the
// implicit function theorem, so they see the exact gradient of the network, not a masked one.
// The paper's claim: implicit skips are the more robust, with and without adversarial
// training.
//
//   build/bin/ctdl run ie-resnet --quick       # the four networks, 5 epochs each
//   build/bin/ctdl run ie-resnet --quick --set residual=monotone --set step=4   # stiff blocks
//   build/bin/ctdl run ie-resnet --set solver=fixed_point --set skips='["implicit"]'
#include <chrono>
#include <iostream>

#include "ctdl/nn/data/mnist.h"
#include "ctdl/nn/io/checkpoint.h"
#include "ctdl/nn/train/example.h"
#include "ctdl/nn/train/plot.h"
#include "ctdl/nn/train/run.h"
#include "model.h"
#include "training.h"

namespace ctdl::examples::ie_resnet {
namespace {

struct IeResNetConfig {
  // The networks to train: every skip with every training.
  std::vector<std::string> skips = {"explicit", "implicit"};
  std::vector<std::string> trainings = {"standard", "adversarial"};
  // The network (model.h).
  int64_t width = 64, hidden = 64, blocks = 3;
  std::string residual = "mlp";   // f of each block: mlp | monotone (model.h)
  double step = 1.0;              // h of the skips
  std::string solver = "newton";  // implicit blocks: newton | fixed_point
  int64_t solver_max_iters = 50;
  // Training: AdamW with a cosine schedule, as the MNIST examples.
  int64_t epochs = 10;
  int64_t batch_size = 128;
  double lr = 2e-3;
  double weight_decay = 0.0;
  // Adversarial training (Madry et al.): every batch replaced by its PGD attack.
  double train_epsilon = 0.1;
  int64_t train_pgd_steps = 5;
  // Evaluation: FGSM and PGD at `epsilon`, and PGD at each of `epsilons` for the plot.
  double epsilon = 0.1;
  std::vector<double> epsilons = {0.02, 0.05, 0.1, 0.15, 0.2, 0.3};
  int64_t pgd_steps = 20;
  int64_t attack_images = 0;  // attack the first N held-out images (0: all)
  int64_t holdout = 2000;     // held out when the folder has only the t10k files
  int64_t train_limit = 0;    // train on the first N images only (0: all)
  int64_t seed = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(IeResNetConfig, skips, trainings, width, hidden,
                                                blocks, residual, step, solver, solver_max_iters,
                                                epochs, batch_size, lr, weight_decay, train_epsilon,
                                                train_pgd_steps, epsilon, epsilons, pgd_steps,
                                                attack_images, holdout, train_limit, seed)

// The paper's figures for MNIST were not at hand when this example was written; what it
// reports is its claim and its attack settings (see README.md).
void record_paper(nn::Run& run) {
  run.set_paper("claim",
                "ResNets with implicit Euler skips are more robust than the same ResNets with "
                "explicit skips under FGSM and PGD, with and without adversarial training "
                "(MNIST, CIFAR-10, CIFAR-100)");
  run.set_paper("figures",
                "not reproduced here: the paper's tables were not at hand when this example was "
                "written (examples/ie_resnet/README.md)");
  run.set_paper("cifar_pgd_training", "epsilon 8/255, step 2/255 (evaluation: step 1/255)");
}

void run_ie_resnet(nn::Run& run, const IeResNetConfig& c) {
  nn::data::Mnist mnist = nn::data::load_mnist(
      run.data_dir("mnist"), {.holdout = c.holdout, .train_limit = c.train_limit});
  run.note(mnist.description);
  nn::data::TensorDataset train_set = mnist.train;
  nn::data::TensorDataset test_set = mnist.test;
  nn::data::TensorDataset attack_set = c.attack_images > 0 && c.attack_images < test_set.size()
                                           ? test_set.slice(0, c.attack_images)
                                           : test_set;
  record_paper(run);

  std::vector<nn::Series> curves;
  for (const std::string& training : c.trainings) {
    CTDL_CHECK(training == "standard" || training == "adversarial",
               "ie-resnet: trainings must be \"standard\" or \"adversarial\", got \"", training,
               "\"");
    for (const std::string& skip : c.skips) {
      const std::string tag = skip + (training == "adversarial" ? "_at" : "");
      // The same seed before each network: explicit and implicit start from the same
      // parameters, and their loaders serve the same batches.
      manual_seed(static_cast<uint64_t>(c.seed));
      IeResNetOptions options{
          .width = c.width,
          .hidden = c.hidden,
          .blocks = c.blocks,
          .step = c.step,
          .skip = parse_skip(skip),
          .residual = parse_residual(c.residual),
          .solve = solver_settings(c.solver, DType::Float32, static_cast<int>(c.solver_max_iters))};
      IeResNet net(options);
      std::cout << "== " << tag << ": " << net.num_parameters() << " parameters\n";

      TrainOptions train{.epochs = c.epochs,
                         .batch_size = c.batch_size,
                         .lr = c.lr,
                         .weight_decay = c.weight_decay,
                         .adversarial = training == "adversarial",
                         .epsilon = c.train_epsilon,
                         .pgd_steps = c.train_pgd_steps,
                         .seed = static_cast<uint64_t>(c.seed)};
      auto t0 = std::chrono::steady_clock::now();
      train_network(net, train_set, test_set, train,
                    [&](int64_t epoch, double loss, double accuracy) {
                      run.log({{"epoch", epoch},
                               {tag + "_train_loss", loss},
                               {tag + "_test_accuracy", accuracy}});
                    });
      double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      nn::save(net, (run.dir() / (tag + ".safetensors")).string());

      Robustness r = evaluate_robustness(net, test_set, attack_set,
                                         {.epsilon = c.epsilon,
                                          .epsilons = c.epsilons,
                                          .pgd_steps = c.pgd_steps,
                                          .seed = static_cast<uint64_t>(c.seed)});
      std::cout << tag << ": clean " << r.clean << ", FGSM " << r.fgsm << ", PGD-" << c.pgd_steps
                << " " << r.pgd << " at epsilon " << c.epsilon << "; stage gain "
                << r.stage_gain_random << " (random), " << r.stage_gain_pgd << " (PGD); trained in "
                << train_s << " s\n";
      run.set_metric(tag + "_clean_accuracy", r.clean);
      run.set_metric(tag + "_fgsm_accuracy", r.fgsm);
      run.set_metric(tag + "_pgd_accuracy", r.pgd);
      run.set_metric(tag + "_train_s", train_s);
      run.set_metric(tag + "_forward_ms_per_500", r.forward_ms);
      run.set_metric(tag + "_stage_gain_random", r.stage_gain_random);
      run.set_metric(tag + "_stage_gain_pgd", r.stage_gain_pgd);
      if (net.skip() == Skip::Implicit)
        run.set_metric(tag + "_f_evaluations_per_block", r.f_evaluations_per_block);
      nn::Series curve{.title = tag, .style = "linespoints"};
      for (size_t i = 0; i < c.epsilons.size(); ++i) {
        curve.x.push_back(c.epsilons[i]);
        curve.y.push_back(r.pgd_curve[i]);
      }
      curves.push_back(curve);
    }
  }
  run.set_metric("attack_images", attack_set.size());
  run.set_metric("test_images", test_set.size());
  run.set_metric("train_images", train_set.size());
  nn::plot_lines((run.dir() / "robustness.png").string(), curves,
                 {.title = "PGD-" + std::to_string(c.pgd_steps) + " accuracy on held-out images",
                  .xlabel = "epsilon (L-infinity, pixels in [0, 1])",
                  .ylabel = "accuracy"});
}

const nn::RegisterExample<IeResNetConfig> registration{{
    .name = "ie-resnet",
    .description = "implicit against explicit Euler skips on MNIST under FGSM and PGD, with and "
                   "without adversarial training (Li, He & Lin 2020)",
    .quick = {{"epochs", 5}, {"train_pgd_steps", 3}, {"attack_images", 1000}},
    .run = run_ie_resnet,
}};

}  // namespace
}  // namespace ctdl::examples::ie_resnet

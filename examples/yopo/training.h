// What the YOPO examples share: the config, the data (MNIST or CIFAR-10), the evaluation
// (clean and PGD accuracy on held-out images) and the training loop, which times the
// training steps alone, on the CPU or a GPU.
//
//   ctdl run yopo-mnist --quick        # YOPO-5-10, SmallCNN (mnist.cpp)
//   ctdl run pgd-mnist --quick         # PGD-40 adversarial training (Madry et al.)
//   ctdl run yopo-compare              # reads both runs: speed-up and robust accuracy vs time
//   ctdl run yopo-cifar                # YOPO-5-3, PreAct-ResNet18 (cifar.cpp; meant for a GPU)
//   ctdl run pgd-cifar                 # PGD-10 adversarial training
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ctdl/examples/yopo/yopo.h"
#include "ctdl/nn/train/run.h"

namespace ctdl::examples::yopo {

// The defaults are the MNIST experiment's (mnist.cpp); cifar.cpp changes them.
struct AdversarialConfig {
  std::string method = "yopo";    // yopo | pgd | free (fixed by the example that runs it)
  std::string dataset = "mnist";  // mnist (SmallCNN) | cifar10 (PreAct-ResNet18), likewise
  int64_t epochs = 40;
  int64_t batch_size = 256;  // the paper's
  // SGD with momentum, as in the paper; YOPO divides the learning rate by m.
  double lr = 0.1;
  double momentum = 0.9;
  double weight_decay = 5e-4;
  // The learning rate is multiplied by 0.1 at each of these fractions of the training
  // batches (the paper's YOPO schedule: epochs 30, 35, 39 of 40).
  std::vector<double> lr_milestones = {0.75, 0.875, 0.975};
  double epsilon = 0.3;
  double step = 0.01;       // σ, for training and evaluation attacks
  int64_t yopo_m = 5;       // YOPO-m-n
  int64_t yopo_n = 10;
  int64_t pgd_steps = 40;   // PGD-k training
  int64_t free_replays = 8; // Free adversarial training: each batch replayed m times
  int64_t eval_steps = 40;  // PGD-40 evaluation
  double dropout = 0.5;
  // The robust-accuracy-vs-time curve: every curve_every batches (0: at each epoch's end),
  // on the first curve_images held-out images. The final evaluation uses eval_images
  // (0: every held-out image).
  int64_t curve_every = 0;
  int64_t curve_images = 500;
  int64_t eval_images = 0;
  int64_t eval_batch = 500;
  int64_t holdout = 2000;    // MNIST: held out when the folder has only the t10k files
  int64_t train_limit = 0;   // train on N images only (0: all)
  // CIFAR-10: PreAct-ResNet18's first-stage channels (the paper's 64), and random crops (4
  // pixels of zero padding) with horizontal flips of the training images.
  int64_t width = 64;
  bool augment = true;
  // cpu | cuda | auto (cuda when there is one).
  std::string device = "cpu";
  int64_t seed = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(AdversarialConfig, method, dataset, epochs,
                                                batch_size, lr, momentum, weight_decay,
                                                lr_milestones, epsilon, step, yopo_m, yopo_n,
                                                pgd_steps, free_replays, eval_steps, dropout,
                                                curve_every,
                                                curve_images, eval_images, eval_batch, holdout,
                                                train_limit, width, augment, device, seed)

struct Evaluation {
  double clean_accuracy = 0, robust_accuracy = 0;
  // The same on the first `curve_images` of them (the curve's subset).
  double clean_subset = 0, robust_subset = 0;
};

// "cpu", "cuda" or "auto" (cuda when this build and machine have a GPU). "cuda" without
// one throws, saying why.
Device parse_device(const std::string& name);

// Clean and PGD accuracy of `net` (its forward pass: split.rest(split.layer_one(x)), in
// evaluation mode) on the first `count` images (0: all), on the images' device, with a fixed
// attack seed per batch so every run faces the same random starts.
Evaluation evaluate(nn::Module& net, const LayerOneSplit& split, const Tensor& images,
                    const Tensor& labels, int64_t count, int64_t subset,
                    const AdversarialConfig& config);

// Trains with config.method and records everything in `run`.
void train_adversarially(nn::Run& run, const AdversarialConfig& config);

}  // namespace ctdl::examples::yopo

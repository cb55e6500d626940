// Training (standard or PGD-adversarial) and the robustness evaluation of ie-resnet.
//
//   IeResNet net({.skip = Skip::Implicit});
//   train_network(net, train_set, test_set, {.epochs = 2, .adversarial = true});
//   Robustness r = evaluate_robustness(net, test_set, test_set, {.epsilon = 0.1});
//   // r.clean, r.fgsm, r.pgd: accuracies on clean, FGSM and PGD images
//
// Adversarial training is Madry et al.'s: every batch is replaced by its PGD attack at
// `epsilon` (random start, step 2.5·ε/steps) before the update. The attacks come from
// nn/adversarial/attacks.h and see the network through its loss only.
#pragma once

#include <functional>
#include <vector>

#include "ctdl/nn/data/dataset.h"
#include "ctdl/nn/optim/optimizer.h"
#include "model.h"

namespace ctdl::examples::ie_resnet {

struct TrainOptions {
  int64_t epochs = 10;
  int64_t batch_size = 128;
  double lr = 2e-3;  // AdamW, cosine schedule to 0 over the epochs
  double weight_decay = 0.0;
  bool adversarial = false;
  double epsilon = 0.1;  // of the training attack (L∞, pixels)
  int64_t pgd_steps = 5;
  uint64_t seed = 0;  // data order and the attacks' random starts
};

// Called after each epoch with the epoch (from 1), the mean training loss (on the images the
// update saw: attacked ones under adversarial training) and the clean test accuracy.
using EpochCallback = std::function<void(int64_t epoch, double train_loss, double test_accuracy)>;

void train_network(IeResNet& net, const nn::data::TensorDataset& train,
                   const nn::data::TensorDataset& test, const TrainOptions& options,
                   const EpochCallback& on_epoch = {});

// One update on a batch (attacked first under adversarial training); returns its loss.
double train_step(IeResNet& net, nn::Optimizer& optimizer, const Tensor& images,
                  const Tensor& labels, const TrainOptions& options, Generator& attack_rng);

// Clean accuracy over a dataset, without gradients.
double clean_accuracy(const IeResNet& net, const nn::data::TensorDataset& data,
                      int64_t batch_size = 500);

struct AttackOptions {
  double epsilon = 0.1;          // FGSM and PGD, the headline figures
  std::vector<double> epsilons;  // PGD only, for the accuracy-against-ε curve
  int64_t pgd_steps = 20;        // step 2.5·ε/steps, random start
  uint64_t seed = 0;
  int64_t batch_size = 500;
};

struct Robustness {
  double clean = 0, fgsm = 0, pgd = 0;
  std::vector<double> pgd_curve;       // one per AttackOptions::epsilons
  double forward_ms = 0;               // one clean forward of a batch, without gradients
  double f_evaluations_per_block = 0;  // per block and forward (the implicit solver's iterations)
  // How the residual stage S passes on a perturbation δ of its input x: the mean over images
  // of ‖S(x + δ) − S(x)‖ / ‖δ‖, for a random δ with ‖δ‖ = 1% of ‖x‖, and for the δ that the
  // PGD attack at `epsilon` makes (δ = stem(x_adv) − stem(x)).
  double stage_gain_random = 0, stage_gain_pgd = 0;
};

// Clean accuracy on `test`, attacked accuracies on `attacked` (a part of it, attacks being
// costly).
Robustness evaluate_robustness(IeResNet& net, const nn::data::TensorDataset& test,
                               const nn::data::TensorDataset& attacked,
                               const AttackOptions& options);

}  // namespace ctdl::examples::ie_resnet

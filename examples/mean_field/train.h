// Training and probing a MeanFieldClassifier: the two procedures of the example (plain
// particle SGD, and the same with order switching) and the permutation study.
//
//   MeanFieldClassifier net(2, 2, {.dim = 4, .depth = 8, .width = 16});
//   std::mt19937_64 rng(0);
//   TrainResult r = train(net, data, {.epochs = 100, .batch_size = 1000, .lr = 0.5,
//                                     .switching = Switching::Swap}, rng);
//   PermutationStudy s = permutation_study(net, test, 20, rng);   // s.relative_change ...
#pragma once

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "ctdl/nn/data/dataset.h"
#include "model.h"

namespace ctdl::examples::mean_field {

enum class Switching {
  None,     // plain training: the blocks keep their places
  Swap,     // after a step, with probability p two blocks chosen at random trade places
  Shuffle,  // after a step, with probability p the blocks take a random order
};
Switching parse_switching(const std::string& name);  // "none" | "swap" | "shuffle"

struct TrainOptions {
  int64_t epochs = 10;
  int64_t batch_size = 128;
  // The mean-field time step: the units' parameters move with lr·L·M (their gradients carry
  // the factor 1/(L·M)), the embedding and read-out with outer_lr. "adam": one Adam over all
  // (scale-free, so no factor).
  std::string optimizer = "sgd";
  double lr = 0.1;
  double outer_lr = 0.0;  // the embedding's and read-out's (sgd); 0: lr
  double momentum = 0.9;
  Switching switching = Switching::None;
  double switch_probability = 1.0;
  uint64_t seed = 0;  // the data order
  // Called after every epoch with (epoch, mean training loss of the epoch).
  std::function<void(int64_t, double)> on_epoch;
};

struct TrainResult {
  double last_epoch_loss = 0;  // mean over the last epoch's batches
  int64_t switches = 0;        // how many times the order changed
};

TrainResult train(MeanFieldClassifier& net, const nn::data::TensorDataset& data,
                  const TrainOptions& options, std::mt19937_64& rng);

// Cross-entropy and accuracy over a whole dataset, in the network's current order or a given
// one, without gradients.
struct Evaluation {
  double loss = 0, accuracy = 0;
  Tensor logits;
};
Evaluation evaluate(const MeanFieldClassifier& net, const nn::data::TensorDataset& data,
                    const std::vector<int64_t>* order = nullptr);

// How much the output changes when the blocks run in `count` random orders:
// relative_change[k] = ‖logits_π − logits‖ / ‖logits‖ over the dataset, and the accuracy and
// loss in that order.
struct PermutationStudy {
  std::vector<double> relative_change, accuracy, loss;
  double mean_relative_change = 0, mean_accuracy = 0, mean_loss = 0;
  double reversed_relative_change = 0, reversed_accuracy = 0;  // the blocks in reverse order
};
PermutationStudy permutation_study(const MeanFieldClassifier& net,
                                   const nn::data::TensorDataset& data, int64_t count,
                                   uint64_t seed);

}  // namespace ctdl::examples::mean_field

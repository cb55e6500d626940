#include "train.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/nn/data/dataloader.h"
#include "ctdl/tensor/error.h"

namespace ctdl::examples::mean_field {

Switching parse_switching(const std::string& name) {
  if (name == "none") return Switching::None;
  if (name == "swap") return Switching::Swap;
  if (name == "shuffle") return Switching::Shuffle;
  fail("mean-field: switching must be \"none\", \"swap\" or \"shuffle\", got \"", name, "\"");
}

namespace {

// The order-switching step: the paper's procedure moves whole blocks to other depths while
// training, so that a block's parameters are trained at many depths (in the continuum limit
// the units at depth t move in t as well as in θ).
void switch_order(MeanFieldResNet& body, Switching how, double probability, std::mt19937_64& rng,
                  int64_t& switches) {
  const int64_t L = body.options().depth;
  if (how == Switching::None || L < 2) return;
  if (std::uniform_real_distribution<double>(0, 1)(rng) >= probability) return;
  if (how == Switching::Swap) {
    std::uniform_int_distribution<int64_t> pick(0, L - 1);
    int64_t i = pick(rng), j = pick(rng);
    while (j == i) j = pick(rng);
    body.swap(i, j);
  } else {
    std::vector<int64_t> order = body.order();
    std::shuffle(order.begin(), order.end(), rng);
    body.set_order(order);
  }
  ++switches;
}

}  // namespace

TrainResult train(MeanFieldClassifier& net, const nn::data::TensorDataset& data,
                  const TrainOptions& o, std::mt19937_64& rng) {
  const MeanFieldOptions& shape = net.body.options();
  const double particles = static_cast<double>(shape.depth * shape.width);
  std::vector<std::unique_ptr<nn::Optimizer>> optimizers;
  if (o.optimizer == "sgd") {
    optimizers.push_back(std::make_unique<nn::SGD>(
        net.particle_parameters(), nn::SGDOptions{.lr = o.lr * particles, .momentum = o.momentum}));
    optimizers.push_back(std::make_unique<nn::SGD>(
        net.outer_parameters(),
        nn::SGDOptions{.lr = o.outer_lr > 0 ? o.outer_lr : o.lr, .momentum = o.momentum}));
  } else if (o.optimizer == "adam") {
    TensorList all = net.particle_parameters(), outer = net.outer_parameters();
    all.insert(all.end(), outer.begin(), outer.end());
    optimizers.push_back(std::make_unique<nn::Adam>(all, nn::AdamOptions{.lr = o.lr}));
  } else {
    fail("mean-field: optimizer must be \"sgd\" or \"adam\", got \"", o.optimizer, "\"");
  }

  nn::data::DataLoader loader(
      data, {.batch_size = o.batch_size, .shuffle = true, .seed = o.seed, .prefetch = 0});
  TrainResult result;
  net.train();
  for (int64_t epoch = 0; epoch < o.epochs; ++epoch) {
    loader.set_epoch(epoch);
    double sum = 0;
    int64_t batches = 0;
    for (auto [x, y] : loader) {
      Tensor loss = nn::cross_entropy(net(x), y);
      for (auto& opt : optimizers) opt->zero_grad();
      loss.backward();
      for (auto& opt : optimizers) opt->step();
      switch_order(net.body, o.switching, o.switch_probability, rng, result.switches);
      sum += loss.item<double>();
      ++batches;
    }
    result.last_epoch_loss = sum / static_cast<double>(batches);
    CTDL_CHECK(std::isfinite(result.last_epoch_loss), "mean-field: the training loss diverged (",
               result.last_epoch_loss, ") at epoch ", epoch + 1, " with L = ", shape.depth,
               ", M = ", shape.width, "; lower lr");
    if (o.on_epoch) o.on_epoch(epoch, result.last_epoch_loss);
  }
  return result;
}

Evaluation evaluate(const MeanFieldClassifier& net, const nn::data::TensorDataset& data,
                    const std::vector<int64_t>* order) {
  autograd::NoGradGuard no_grad;
  Evaluation e;
  e.logits = order ? net.with_order(data.inputs(), *order) : net(data.inputs());
  e.loss = nn::cross_entropy(e.logits, data.targets()).item<double>();
  e.accuracy = static_cast<double>(nn::count_correct(e.logits, data.targets())) /
               static_cast<double>(data.size());
  return e;
}

PermutationStudy permutation_study(const MeanFieldClassifier& net,
                                   const nn::data::TensorDataset& data, int64_t count,
                                   uint64_t seed) {
  PermutationStudy s;
  const Evaluation base = evaluate(net, data);
  const double base_norm = norm(base.logits).item<double>();
  auto change = [&](const Evaluation& e) {
    return norm(e.logits - base.logits).item<double>() / base_norm;
  };
  std::mt19937_64 rng(seed);  // the same permutations for every network of the same depth
  std::vector<int64_t> order = net.body.order();
  for (int64_t k = 0; k < count; ++k) {
    std::vector<int64_t> shuffled = order;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    Evaluation e = evaluate(net, data, &shuffled);
    s.relative_change.push_back(change(e));
    s.accuracy.push_back(e.accuracy);
    s.loss.push_back(e.loss);
  }
  auto mean = [](const std::vector<double>& v) {
    return v.empty() ? 0.0
                     : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  };
  s.mean_relative_change = mean(s.relative_change);
  s.mean_accuracy = mean(s.accuracy);
  s.mean_loss = mean(s.loss);
  std::vector<int64_t> reversed(order.rbegin(), order.rend());
  Evaluation r = evaluate(net, data, &reversed);
  s.reversed_relative_change = change(r);
  s.reversed_accuracy = r.accuracy;
  return s;
}

}  // namespace ctdl::examples::mean_field

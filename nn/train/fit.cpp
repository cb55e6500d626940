#include "ctdl/nn/train/fit.h"

#include <algorithm>
#include <optional>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/nn/losses.h"
#include "ctdl/nn/train/parallel.h"
#include "ctdl/nn/train/progress.h"
#include "ctdl/tensor/error.h"

namespace ctdl::nn {

std::pair<double, double> evaluate_classifier(const std::function<Tensor(const Tensor&)>& forward,
                                              data::DataLoader& loader) {
  autograd::NoGradGuard no_grad;
  double loss_sum = 0;
  int64_t correct = 0, seen = 0;
  loader.set_epoch(0);
  for (auto [x, y] : loader) {
    Tensor logits = forward(x);
    loss_sum += cross_entropy(logits, y, {.reduction = Reduction::Sum}).item<double>();
    correct += count_correct(logits, y);
    seen += y.size(0);
  }
  CTDL_CHECK(seen > 0, "evaluate_classifier: the loader is empty");
  return {loss_sum / seen, static_cast<double>(correct) / seen};
}

ClassifierResult fit_classifier(Run& run, Module& model,
                                const std::function<Tensor(const Tensor&)>& forward,
                                Optimizer& optimizer, data::DataLoader& train,
                                data::DataLoader& test, const ClassifierOptions& o) {
  ClassifierResult result;
  int64_t start = run.resume({.model = &model, .optimizer = &optimizer, .scheduler = o.schedule});
  // Data-parallel (under mpirun, nn/train/parallel.h): each rank trains on its shard of every
  // batch, weighs its gradients by its share of the batch's examples, and the ranks' sums of
  // the figures are reported. In one process: the loaders themselves, and no reduction.
  DataParallel* dp = data_parallel();
  const int64_t ranks = dp ? dp->size() : 1, rank = dp ? dp->rank() : 0;
  std::optional<data::DataLoader> train_shard, test_shard;
  std::unique_ptr<GradientSync> sync;
  if (dp) {
    train_shard.emplace(shard_loader(train, rank, ranks));
    test_shard.emplace(shard_loader(test, rank, ranks));
    sync = dp->sync_gradients(model);
  }
  data::DataLoader& local = train_shard ? *train_shard : train;
  auto evaluate = [&] {
    if (!dp) return evaluate_classifier(forward, test);
    data::DataLoader& mine = *test_shard;
    auto [loss, accuracy] = evaluate_classifier(forward, mine);
    const double n = static_cast<double>(mine.num_examples());
    std::vector<double> sums = dp->sum({loss * n, accuracy * n, n});
    return std::pair<double, double>{sums[0] / sums[2], sums[1] / sums[2]};
  };
  const int64_t batches = dp ? sharded_steps(train, ranks) : train.size();
  const int64_t log_every = o.log_every > 0 ? o.log_every : std::max<int64_t>(1, batches / 10);
  for (int64_t epoch = start; epoch < o.epochs; ++epoch) {
    model.train();
    local.set_epoch(epoch);
    ProgressBar bar(batches, {.label = str("epoch ", epoch + 1, "/", o.epochs)});
    double loss_sum = 0, window_sum = 0;
    int64_t correct = 0, seen = 0, window = 0, b = 0;
    auto step = [&] {  // the update, once the gradients are everyone's
      if (sync) sync->synchronize();
      if (o.clip_grad_norm > 0) clip_grad_norm_(optimizer.params(), o.clip_grad_norm);
      optimizer.step();
    };
    for (auto [x, y] : local) {
      if (b == batches) break;
      if (o.on_batch) o.on_batch(epoch, b);
      Tensor logits = forward(x);
      Tensor loss = cross_entropy(logits, y, {.label_smoothing = o.label_smoothing});
      int64_t n = y.size(0);
      if (sync)
        sync->set_gradient_weight(static_cast<double>(n) / sharded_batch_examples(train, ranks, b));
      optimizer.zero_grad();
      loss.backward();
      step();
      // The figures reported are plain cross-entropy, comparable with the test loss, even
      // when the objective is smoothed.
      double l = o.label_smoothing > 0 ? cross_entropy(logits.detach(), y).item<double>()
                                       : loss.item<double>();
      loss_sum += l * n, window_sum += l, seen += n, ++window, ++b;
      correct += count_correct(logits.detach(), y);
      bar.step(n, {{"loss", loss_sum / seen}});
      if (b % log_every == 0 || b == batches) {
        run.log({{"epoch", epoch + static_cast<double>(b) / batches},
                 {"step", epoch * batches + b},
                 {"train_loss_batch", window_sum / window}});
        window_sum = 0, window = 0;
      }
    }
    for (; b < batches; ++b) {  // this rank's shard ran out: it takes part with no examples
      optimizer.zero_grad();
      step();
    }
    if (dp) {
      std::vector<double> sums =
          dp->sum({loss_sum, static_cast<double>(correct), static_cast<double>(seen)});
      loss_sum = sums[0];
      correct = static_cast<int64_t>(sums[1]);
      seen = static_cast<int64_t>(sums[2]);
    }
    double lr = optimizer.lr();
    if (o.schedule) o.schedule->step();
    auto [test_loss, test_accuracy] = evaluate();
    result = {loss_sum / seen, static_cast<double>(correct) / seen, test_loss, test_accuracy,
              epoch + 1};
    bar.finish({{"test_loss", test_loss}, {"test_accuracy", test_accuracy}});
    run.log({{"epoch", epoch + 1},
             {"train_loss", result.train_loss},
             {"train_accuracy", result.train_accuracy},
             {"test_loss", test_loss},
             {"test_accuracy", test_accuracy},
             {"lr", lr}});
    run.save_checkpoint(epoch + 1,
                        {.model = &model, .optimizer = &optimizer, .scheduler = o.schedule});
  }
  if (start >= o.epochs) {  // resumed a finished run: report its figures again
    auto [test_loss, test_accuracy] = evaluate();
    result.test_loss = test_loss, result.test_accuracy = test_accuracy, result.epochs = o.epochs;
  }
  run.set_metric("test_accuracy", result.test_accuracy);
  run.set_metric("test_loss", result.test_loss);
  run.set_metric("train_loss", result.train_loss);
  run.set_metric("epochs", result.epochs);
  if (dp) run.set_metric("ranks", ranks);
  return result;
}

}  // namespace ctdl::nn

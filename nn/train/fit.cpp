#include "ctdl/nn/train/fit.h"

#include <algorithm>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/nn/losses.h"
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
  const int64_t batches = train.size();
  const int64_t log_every = o.log_every > 0 ? o.log_every : std::max<int64_t>(1, batches / 10);
  for (int64_t epoch = start; epoch < o.epochs; ++epoch) {
    model.train();
    train.set_epoch(epoch);
    ProgressBar bar(batches, {.label = str("epoch ", epoch + 1, "/", o.epochs)});
    double loss_sum = 0, window_sum = 0;
    int64_t correct = 0, seen = 0, window = 0, b = 0;
    for (auto [x, y] : train) {
      if (o.on_batch) o.on_batch(epoch, b);
      Tensor logits = forward(x);
      Tensor loss = cross_entropy(logits, y, {.label_smoothing = o.label_smoothing});
      optimizer.zero_grad();
      loss.backward();
      if (o.clip_grad_norm > 0) clip_grad_norm_(optimizer.params(), o.clip_grad_norm);
      optimizer.step();
      // The figures reported are plain cross-entropy, comparable with the test loss, even
      // when the objective is smoothed.
      double l = o.label_smoothing > 0 ? cross_entropy(logits.detach(), y).item<double>()
                                       : loss.item<double>();
      int64_t n = y.size(0);
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
    double lr = optimizer.lr();
    if (o.schedule) o.schedule->step();
    auto [test_loss, test_accuracy] = evaluate_classifier(forward, test);
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
    auto [test_loss, test_accuracy] = evaluate_classifier(forward, test);
    result.test_loss = test_loss, result.test_accuracy = test_accuracy, result.epochs = o.epochs;
  }
  run.set_metric("test_accuracy", result.test_accuracy);
  run.set_metric("test_loss", result.test_loss);
  run.set_metric("train_loss", result.train_loss);
  run.set_metric("epochs", result.epochs);
  return result;
}

}  // namespace ctdl::nn

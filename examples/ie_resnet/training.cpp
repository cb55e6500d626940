#include "training.h"

#include <chrono>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/nn/adversarial/attacks.h"
#include "ctdl/nn/data/dataloader.h"
#include "ctdl/nn/losses.h"
#include "ctdl/nn/optim/scheduler.h"
#include "ctdl/nn/train/progress.h"
#include "ctdl/tensor/error.h"

namespace ctdl::examples::ie_resnet {
namespace {

// Madry et al.'s PGD step for a given radius and number of steps.
nn::PgdOptions pgd_options(double epsilon, int64_t steps) {
  return {.epsilon = epsilon,
          .step = 2.5 * epsilon / static_cast<double>(steps),
          .steps = steps,
          .random_start = true};
}

nn::LossOfInput loss_of(const IeResNet& net, const Tensor& labels) {
  return [net, labels](const Tensor& x) { return nn::cross_entropy(net(x), labels); };
}

int64_t correct(const IeResNet& net, const Tensor& images, const Tensor& labels) {
  autograd::NoGradGuard no_grad;
  return nn::count_correct(net(images), labels);
}

// Σ over images of ‖S(x + δ) − S(x)‖ / ‖δ‖ for the residual stage S.
double stage_gain_sum(const IeResNet& net, const Tensor& x, const Tensor& delta) {
  autograd::NoGradGuard no_grad;
  Tensor change = net.stage(x + delta) - net.stage(x);
  auto row_norm = [](const Tensor& t) { return sqrt((t * t).sum({1})); };
  return (row_norm(change) / row_norm(delta)).sum().item<double>();
}

}  // namespace

double train_step(IeResNet& net, nn::Optimizer& optimizer, const Tensor& images,
                  const Tensor& labels, const TrainOptions& o, Generator& attack_rng) {
  Tensor x = images;
  if (o.adversarial) {
    nn::FrozenParameters frozen(net.parameters());  // the attack needs ∂loss/∂x only
    nn::PgdOptions pgd = pgd_options(o.epsilon, o.pgd_steps);
    pgd.generator = &attack_rng;
    x = nn::pgd(loss_of(net, labels), images, pgd);
  }
  Tensor loss = nn::cross_entropy(net(x), labels);
  optimizer.zero_grad();
  loss.backward();
  optimizer.step();
  return loss.item<double>();
}

double clean_accuracy(const IeResNet& net, const nn::data::TensorDataset& data,
                      int64_t batch_size) {
  nn::data::DataLoader loader(data, {.batch_size = batch_size, .prefetch = 0});
  int64_t right = 0;
  for (auto [x, y] : loader) right += correct(net, x, y);
  return static_cast<double>(right) / static_cast<double>(data.size());
}

void train_network(IeResNet& net, const nn::data::TensorDataset& train,
                   const nn::data::TensorDataset& test, const TrainOptions& o,
                   const EpochCallback& on_epoch) {
  nn::data::DataLoader loader(train, {.batch_size = o.batch_size, .shuffle = true, .seed = o.seed});
  nn::AdamW optimizer(net.parameters(), {.lr = o.lr, .weight_decay = o.weight_decay});
  nn::CosineAnnealingLR schedule(optimizer, o.epochs);
  Generator attack_rng(o.seed + 1);
  for (int64_t epoch = 0; epoch < o.epochs; ++epoch) {
    loader.set_epoch(epoch);
    nn::ProgressBar bar(loader.size(), {.label = str("epoch ", epoch + 1, "/", o.epochs)});
    double loss_sum = 0;
    int64_t seen = 0;
    for (auto [x, y] : loader) {
      double loss = train_step(net, optimizer, x, y, o, attack_rng);
      loss_sum += loss * static_cast<double>(y.size(0));
      seen += y.size(0);
      bar.step(y.size(0), {{"loss", loss_sum / static_cast<double>(seen)}});
    }
    schedule.step();
    double accuracy = clean_accuracy(net, test);
    bar.finish({{"test_accuracy", accuracy}});
    if (on_epoch) on_epoch(epoch + 1, loss_sum / static_cast<double>(seen), accuracy);
  }
}

Robustness evaluate_robustness(IeResNet& net, const nn::data::TensorDataset& test,
                               const nn::data::TensorDataset& attacked, const AttackOptions& o) {
  Robustness r;
  // Clean accuracy, the cost of a forward pass and the solver's iterations.
  net.reset_f_evaluations();
  auto t0 = std::chrono::steady_clock::now();
  r.clean = clean_accuracy(net, test, o.batch_size);
  const double batches = static_cast<double>((test.size() + o.batch_size - 1) / o.batch_size);
  r.forward_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() /
      batches;
  r.f_evaluations_per_block = static_cast<double>(net.f_evaluations()) /
                              (batches * static_cast<double>(net.options().blocks));

  // The attacks, batch by batch; PGD's random start is seeded by the batch.
  nn::data::DataLoader loader(attacked, {.batch_size = o.batch_size, .prefetch = 0});
  std::vector<double> epsilons = o.epsilons;
  bool headline_in_curve = false;
  for (double e : epsilons) headline_in_curve = headline_in_curve || e == o.epsilon;
  if (!headline_in_curve) epsilons.push_back(o.epsilon);
  std::vector<int64_t> pgd_right(epsilons.size(), 0);
  int64_t fgsm_right = 0, b = 0;
  double gain_random = 0, gain_pgd = 0;
  Generator direction_rng(o.seed + 2);
  nn::ProgressBar bar(loader.size(), {.label = "attacks"});
  nn::FrozenParameters frozen(net.parameters());
  for (auto [x, y] : loader) {
    nn::LossOfInput loss = loss_of(net, y);
    fgsm_right += correct(net, nn::fgsm(loss, x, o.epsilon), y);
    for (size_t i = 0; i < epsilons.size(); ++i) {
      nn::PgdOptions pgd = pgd_options(epsilons[i], o.pgd_steps);
      pgd.seed = o.seed + static_cast<uint64_t>(b);
      Tensor x_adv = nn::pgd(loss, x, pgd);
      pgd_right[i] += correct(net, x_adv, y);
      if (epsilons[i] == o.epsilon) {
        autograd::NoGradGuard no_grad;
        Tensor clean = net.stem_features(x);
        Tensor noise = randn(clean.shape(), {}, &direction_rng);
        Tensor scale = sqrt((clean * clean).sum({1}, true) / (noise * noise).sum({1}, true));
        gain_random += stage_gain_sum(net, clean, noise * scale * 0.01);
        gain_pgd += stage_gain_sum(net, clean, net.stem_features(x_adv) - clean);
      }
    }
    bar.step(y.size(0));
    ++b;
  }
  const double n = static_cast<double>(attacked.size());
  r.fgsm = static_cast<double>(fgsm_right) / n;
  for (size_t i = 0; i < epsilons.size(); ++i) {
    double accuracy = static_cast<double>(pgd_right[i]) / n;
    if (i < o.epsilons.size()) r.pgd_curve.push_back(accuracy);
    if (epsilons[i] == o.epsilon) r.pgd = accuracy;
  }
  r.stage_gain_random = gain_random / n;
  r.stage_gain_pgd = gain_pgd / n;
  bar.finish({{"fgsm", r.fgsm}, {"pgd", r.pgd}});
  return r;
}

}  // namespace ctdl::examples::ie_resnet

// lm-resnet and lm-resnet-cifar10: LM-ResNet (Lu, Zhong, Li & Dong, ICML 2018; model.h)
// against a ResNet of the same depth and width, trained from the same seed on the same
// batches, one after the other:
//
//   build/bin/ctdl run lm-resnet --quick           # MNIST on the CPU, a few minutes
//   build/bin/ctdl run lm-resnet-cifar10           # CIFAR-10, ResNet-20 sized (meant for a GPU)
//
// The run reports both networks' held-out accuracy (summary.json "metrics": test_accuracy_lm,
// test_accuracy_resnet, and their mean and spread over `seeds` when that is above 1), the
// learned k_n, and plots loss.png and accuracy.png (both networks, first seed) and k.png.
// stochastic_depth=true trains both networks with stochastic depth.
#include <chrono>
#include <cmath>
#include <iostream>
#include <memory>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/nn/data/dataloader.h"
#include "ctdl/nn/data/image_folder.h"
#include "ctdl/nn/data/mnist.h"
#include "ctdl/nn/nn.h"
#include "ctdl/nn/train/example.h"
#include "ctdl/nn/train/plot.h"
#include "ctdl/nn/train/progress.h"
#include "ctdl/nn/train/run.h"
#include "model.h"

namespace ctdl::examples::lm_resnet {
namespace {

struct LmConfig {
  std::vector<int64_t> stages = {3, 3};      // blocks per stage
  std::vector<int64_t> channels = {16, 32};  // channels per stage
  int64_t stem_stride = 2;                   // MNIST: 28×28 -> 14×14 before the blocks
  int64_t epochs = 15;
  int64_t seeds = 3;  // both networks trained from seeds seed .. seed + seeds − 1
  int64_t batch_size = 64;
  double lr = 0.05;  // SGD, momentum 0.9
  double weight_decay = 1e-4;
  std::string schedule = "cosine";  // cosine | step (÷10 at 50% and 75% of the epochs)
  bool stochastic_depth = false;
  double survival_last = 0.5;
  double k_low = -0.1, k_high = 0.0;  // k_n's initial range
  int64_t crop_padding = 2;           // random shifts by up to this many pixels
  int64_t holdout = 2000;             // MNIST: held out when only the t10k files are there
  int64_t train_limit = 0;            // train on N examples only (0: all)
  std::string device = "cpu";         // cpu | cuda | auto (cuda when there is one)
  int64_t prefetch = 2;
  int64_t seed = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(LmConfig, stages, channels, stem_stride, epochs,
                                                seeds, batch_size, lr, weight_decay, schedule,
                                                stochastic_depth, survival_last, k_low, k_high,
                                                crop_padding, holdout, train_limit, device,
                                                prefetch, seed)

// CIFAR-10 (GPU-sized): the paper's setting for ResNet-20 / LM-ResNet-20 (three stages of 3
// blocks, 16/32/64 channels, 160 epochs, lr ÷10 at epochs 80 and 120, weight decay 1e-4,
// random crops with 4 pixels of padding and horizontal flips).
struct LmCifarConfig : LmConfig {
  LmCifarConfig() {
    stages = {3, 3, 3};
    channels = {16, 32, 64};
    stem_stride = 1;
    epochs = 160;
    batch_size = 128;
    lr = 0.1;
    seeds = 1;
    schedule = "step";
    crop_padding = 4;
    device = "auto";
  }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(LmCifarConfig, stages, channels, stem_stride,
                                                epochs, seeds, batch_size, lr, weight_decay,
                                                schedule, stochastic_depth, survival_last, k_low,
                                                k_high, crop_padding, holdout, train_limit, device,
                                                prefetch, seed)

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::cpu();
  if (name == "cuda") return Device::cuda(0);
  if (name == "auto") return device_available(Device::cuda(0)) ? Device::cuda(0) : Device::cpu();
  fail("lm-resnet: device must be \"cpu\", \"cuda\" or \"auto\", got \"", name, "\"");
}

struct Data {
  std::unique_ptr<nn::data::DataLoader> train, test;
  int64_t in_channels = 1, train_size = 0, test_size = 0;
};

// Every `step`-th example, so that a limited CIFAR-10 still has every class.
std::shared_ptr<nn::data::Subset> spread(std::shared_ptr<const nn::data::Dataset> d, int64_t n) {
  std::vector<int64_t> idx;
  const int64_t step = std::max<int64_t>(1, d->size() / n);
  for (int64_t i = 0; i < d->size() && static_cast<int64_t>(idx.size()) < n; i += step)
    idx.push_back(i);
  return std::make_shared<nn::data::Subset>(d, idx);
}

Data mnist_data(nn::Run& run, const LmConfig& c) {
  constexpr double kMean = 0.1307, kStd = 0.3081;
  nn::data::Mnist mnist = nn::data::load_mnist(
      run.data_dir("mnist"), {.holdout = c.holdout, .train_limit = c.train_limit});
  run.note(mnist.description);
  nn::data::TensorDataset train((mnist.train.inputs() - kMean) / kStd, mnist.train.targets()),
      test((mnist.test.inputs() - kMean) / kStd, mnist.test.targets());
  nn::data::DataLoaderOptions o{.batch_size = c.batch_size,
                                .shuffle = true,
                                .seed = static_cast<uint64_t>(c.seed),
                                .prefetch = c.prefetch};
  if (c.crop_padding > 0)
    o.transform = nn::data::transforms::random_crop(28, c.crop_padding, -kMean / kStd);
  Data d{.in_channels = 1, .train_size = train.size(), .test_size = test.size()};
  d.train = std::make_unique<nn::data::DataLoader>(train, o);
  d.test = std::make_unique<nn::data::DataLoader>(
      test, nn::data::DataLoaderOptions{.batch_size = 500, .prefetch = c.prefetch});
  return d;
}

Data cifar_data(nn::Run& run, const LmConfig& c) {
  const std::string dir = run.data_dir("cifar10-jpg");
  auto train = std::make_shared<nn::data::ImageFolder>(dir + "/cifar10-train-jpg.tar.gz");
  auto test = std::make_shared<nn::data::ImageFolder>(dir + "/cifar10-test-jpg.tar.gz");
  std::shared_ptr<const nn::data::Dataset> train_set = train;
  if (c.train_limit > 0 && c.train_limit < train->size()) {
    train_set = spread(train, c.train_limit);
    run.note("training on " + std::to_string(train_set->size()) + " of the 50,000 images");
  }
  run.note("CIFAR-10 from the JPEG archives in " + dir + " (50,000 / 10,000)");
  namespace T = nn::data::transforms;
  nn::data::Transform normalize = T::normalize({0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616});
  nn::data::DataLoaderOptions o{
      .batch_size = c.batch_size,
      .shuffle = true,
      .seed = static_cast<uint64_t>(c.seed),
      .prefetch = c.prefetch,
      .transform =
          T::compose({normalize, T::random_crop(32, c.crop_padding), T::random_horizontal_flip()})};
  Data d{.in_channels = 3, .train_size = train_set->size(), .test_size = test->size()};
  d.train = std::make_unique<nn::data::DataLoader>(train_set, o);
  d.test = std::make_unique<nn::data::DataLoader>(
      test, nn::data::DataLoaderOptions{
                .batch_size = 500, .prefetch = c.prefetch, .transform = normalize});
  return d;
}

struct Result {
  double test_accuracy = 0, test_loss = 0, train_loss = 0, seconds = 0;
  std::vector<double> k;
};

std::pair<double, double> evaluate(const LmResNet& net, nn::data::DataLoader& loader,
                                   Device device) {
  autograd::NoGradGuard no_grad;
  double loss = 0;
  int64_t correct = 0, seen = 0;
  loader.set_epoch(0);
  for (auto [x, y] : loader) {
    Tensor logits = net(x.to(device));
    Tensor target = y.to(device);
    loss += nn::cross_entropy(logits, target, {.reduction = nn::Reduction::Sum}).item<double>();
    correct += nn::count_correct(logits, target);
    seen += y.size(0);
  }
  return {loss / static_cast<double>(seen),
          static_cast<double>(correct) / static_cast<double>(seen)};
}

// One network, trained from `seed` (initialization, stochastic depth) on the loader's batches.
Result train(nn::Run& run, const LmConfig& c, Data& data, bool lm, uint64_t seed, bool log) {
  const Device device = parse_device(c.device);
  const std::string name = lm ? "lm" : "resnet";
  manual_seed(seed);
  LmResNet net({.in_channels = data.in_channels,
                .stages = c.stages,
                .channels = c.channels,
                .stem_stride = c.stem_stride,
                .lm = lm,
                .stochastic_depth = c.stochastic_depth,
                .survival_last = c.survival_last,
                .k_low = c.k_low,
                .k_high = c.k_high,
                .device = device});
  nn::SGD opt(net.parameters(), {.lr = c.lr, .momentum = 0.9, .weight_decay = c.weight_decay});
  std::unique_ptr<nn::EpochScheduler> schedule;
  if (c.schedule == "cosine")
    schedule = std::make_unique<nn::CosineAnnealingLR>(opt, c.epochs);
  else if (c.schedule == "step")
    schedule = std::make_unique<nn::MultiStepLR>(
        opt, std::vector<int64_t>{c.epochs / 2, c.epochs * 3 / 4}, 0.1);
  else
    fail("lm-resnet: schedule must be \"cosine\" or \"step\", got \"", c.schedule, "\"");
  if (log)
    std::cout << (lm ? "LM-ResNet" : "ResNet") << ": " << net.num_blocks() << " blocks, "
              << net.num_parameters() << " parameters\n";

  Result r;
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t epoch = 0; epoch < c.epochs; ++epoch) {
    net.train();
    data.train->set_epoch(epoch);
    nn::ProgressBar bar(data.train->size(),
                        {.label = str(name, " seed ", seed, " epoch ", epoch + 1, "/", c.epochs)});
    double sum = 0;
    int64_t seen = 0;
    for (auto [x, y] : *data.train) {
      Tensor loss = nn::cross_entropy(net(x.to(device)), y.to(device));
      opt.zero_grad();
      loss.backward();
      opt.step();
      const double l = loss.item<double>();
      sum += l * static_cast<double>(y.size(0));
      seen += y.size(0);
      bar.step(y.size(0), {{"loss", sum / static_cast<double>(seen)}});
    }
    schedule->step();
    net.eval();
    auto [test_loss, test_accuracy] = evaluate(net, *data.test, device);
    r.train_loss = sum / static_cast<double>(seen);
    r.test_loss = test_loss, r.test_accuracy = test_accuracy;
    bar.finish({{"test_accuracy", test_accuracy}});
    if (log)
      run.log({{"epoch", epoch + 1},
               {"train_loss_" + name, r.train_loss},
               {"test_loss_" + name, test_loss},
               {"test_accuracy_" + name, test_accuracy}});
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.k = net.k_values();
  return r;
}

std::pair<double, double> mean_and_std(const std::vector<double>& v) {
  double m = 0, s = 0;
  for (double x : v) m += x;
  m /= static_cast<double>(v.size());
  for (double x : v) s += (x - m) * (x - m);
  return {m, v.size() > 1 ? std::sqrt(s / static_cast<double>(v.size() - 1)) : 0.0};
}

void compare(nn::Run& run, const LmConfig& c, Data data, const std::string& dataset) {
  CTDL_CHECK(c.seeds >= 1, "lm-resnet: seeds must be at least 1, got ", c.seeds);
  run.note(str("device: ", parse_device(c.device)));
  std::vector<double> acc_lm, acc_resnet;
  Result first_lm;
  for (int64_t s = 0; s < c.seeds; ++s) {
    const auto seed = static_cast<uint64_t>(c.seed + s);
    // The same seed for both: the same initial weights wherever the networks agree (k_n is
    // drawn after all other parameters), the same batches and shifts.
    Result resnet = train(run, c, data, false, seed, s == 0);
    Result lm = train(run, c, data, true, seed, s == 0);
    std::cout << "seed " << seed << ": held-out accuracy ResNet " << resnet.test_accuracy
              << ", LM-ResNet " << lm.test_accuracy << " (" << resnet.seconds << " s, "
              << lm.seconds << " s)\n";
    acc_resnet.push_back(resnet.test_accuracy);
    acc_lm.push_back(lm.test_accuracy);
    if (s == 0) {
      first_lm = lm;
      run.set_metric("seconds_resnet", resnet.seconds);
      run.set_metric("seconds_lm", lm.seconds);
    }
  }
  auto [m_lm, s_lm] = mean_and_std(acc_lm);
  auto [m_res, s_res] = mean_and_std(acc_resnet);
  run.set_metric("test_accuracy_lm", m_lm);
  run.set_metric("test_accuracy_resnet", m_res);
  run.set_metric("lm_minus_resnet", m_lm - m_res);
  run.set_metric("lm_beats_resnet", m_lm > m_res);
  if (c.seeds > 1) {
    run.set_metric("test_accuracy_lm_std", s_lm);
    run.set_metric("test_accuracy_resnet_std", s_res);
    run.set_metric("test_accuracy_lm_per_seed", acc_lm);
    run.set_metric("test_accuracy_resnet_per_seed", acc_resnet);
  }
  run.set_metric("dataset", dataset);
  auto [k_mean, k_std] = first_lm.k.empty() ? std::pair{0.0, 0.0} : mean_and_std(first_lm.k);
  run.set_metric("k_mean", k_mean);
  run.set_metric("k_std", k_std);
  if (!first_lm.k.empty()) {
    nn::Series ks{.title = "k_n per channel, blocks in order", .style = "points"};
    for (size_t i = 0; i < first_lm.k.size(); ++i)
      ks.x.push_back(static_cast<double>(i)), ks.y.push_back(first_lm.k[i]);
    nn::plot_lines((run.dir() / "k.png").string(), {ks},
                   {.title = "LM-ResNet: learned k_n (x_{n+1} = (1-k) x_{n-1} + k x_n + f(x_n))",
                    .xlabel = "channel (blocks in order)",
                    .ylabel = "k"});
  }

  // The paper's CIFAR-10 test errors (Table 1; the ResNet rows are He et al. 2016's). The
  // paper reports no MNIST figure: its claim is the ordering, LM-ResNet ahead at equal depth.
  run.set_paper("claim", "LM-ResNet beats the ResNet of the same depth (CIFAR-10, Table 1)");
  run.set_paper("cifar10_test_error_percent", {{"ResNet-20", 8.75},
                                               {"LM-ResNet-20", 8.33},
                                               {"ResNet-32", 7.51},
                                               {"LM-ResNet-32", 7.18},
                                               {"ResNet-44", 7.17},
                                               {"LM-ResNet-44", 6.66},
                                               {"ResNet-56", 6.97},
                                               {"LM-ResNet-56", 6.31}});
}

void run_mnist(nn::Run& run, const LmConfig& c) { compare(run, c, mnist_data(run, c), "mnist"); }
void run_cifar(nn::Run& run, const LmCifarConfig& c) {
  compare(run, c, cifar_data(run, c), "cifar10");
}

const nn::RegisterExample<LmConfig> mnist_registration{{
    .name = "lm-resnet",
    .description = "LM-ResNet (Lu et al. 2018) against a ResNet of the same depth and width on "
                   "MNIST (target: LM-ResNet's held-out accuracy at least the ResNet's)",
    .quick = {{"stages", {4}}, {"channels", {16}}, {"epochs", 5}, {"seeds", 1}},
    .run = run_mnist,
}};

const nn::RegisterExample<LmCifarConfig> cifar_registration{{
    .name = "lm-resnet-cifar10",
    .description = "LM-ResNet-20 against ResNet-20 on CIFAR-10 (GPU-sized: 160 epochs; paper: "
                   "8.33% against 8.75% test error)",
    .quick = {{"epochs", 2}, {"train_limit", 5000}},
    .run = run_cifar,
}};

}  // namespace
}  // namespace ctdl::examples::lm_resnet

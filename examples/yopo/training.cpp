#include "ctdl/examples/yopo/training.h"

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <optional>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/backends/cuda/cuda.h"
#include "ctdl/examples/yopo/preact_resnet.h"
#include "ctdl/examples/yopo/small_cnn.h"
#include "ctdl/nn/data/dataloader.h"
#include "ctdl/nn/data/image_folder.h"
#include "ctdl/nn/data/mnist.h"
#include "ctdl/nn/train/plot.h"

namespace ctdl::examples::yopo {
namespace {

// CPU seconds of this process (every thread), to set beside wall time on a shared machine.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double now_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// The fraction of correct rows, as a vector of 0/1 per row.
std::vector<double> hits(const Tensor& logits, const Tensor& labels) {
  autograd::NoGradGuard no_grad;
  return eq(argmax(logits, 1), labels).to(DType::Float64).to_vector<double>();
}

double mean_of(const std::vector<double>& v, size_t begin, size_t end) {
  double s = 0;
  for (size_t i = begin; i < end; ++i) s += v[i];
  return end > begin ? s / static_cast<double>(end - begin) : 0.0;
}

// lr · 0.1^(milestones passed) at this fraction of the training batches.
double scheduled_lr(double lr, const std::vector<double>& milestones, double progress) {
  for (double m : milestones)
    if (progress >= m) lr *= 0.1;
  return lr;
}

// Training examples (augmented as the loader serves them) and the held-out images as tensors
// on the training device.
struct AdversarialData {
  std::shared_ptr<const nn::data::Dataset> train;
  nn::data::Transform augment;  // empty: none
  Tensor test_x, test_y;
};

AdversarialData mnist_data(nn::Run& run, const AdversarialConfig& c) {
  nn::data::Mnist mnist = nn::data::load_mnist(
      run.data_dir("mnist"), {.holdout = c.holdout, .train_limit = c.train_limit});
  run.note(mnist.description);
  return {std::make_shared<nn::data::TensorDataset>(mnist.train), {}, mnist.test.inputs(),
          mnist.test.targets()};
}

// The folder's indices taking the classes in turn (its first image of each class, then its
// second, ...): the folder is sorted by class, and this way every prefix, such as the
// curve's first curve_images test images or a train_limit, holds all classes evenly.
std::vector<int64_t> classes_in_turn(const nn::data::ImageFolder& folder) {
  std::vector<std::vector<int64_t>> by_class(folder.classes().size());
  for (int64_t i = 0; i < folder.size(); ++i)
    by_class.at(static_cast<size_t>(folder.label(i))).push_back(i);
  std::vector<int64_t> order;
  for (size_t k = 0; order.size() < static_cast<size_t>(folder.size()); ++k)
    for (const std::vector<int64_t>& members : by_class)
      if (k < members.size()) order.push_back(members[k]);
  return order;
}

// The first `count` examples of `order` (0: all), decoded in parallel by a DataLoader.
std::pair<Tensor, Tensor> load_all(std::shared_ptr<const nn::data::ImageFolder> folder,
                                   std::vector<int64_t> order, int64_t count) {
  if (count > 0 && count < static_cast<int64_t>(order.size()))
    order.resize(static_cast<size_t>(count));
  nn::data::DataLoader loader(std::make_shared<nn::data::Subset>(folder, std::move(order)),
                              {.batch_size = 1000});
  TensorList images, labels;
  for (auto [x, y] : loader) {
    images.push_back(x);
    labels.push_back(y);
  }
  return {cat(images), cat(labels)};
}

AdversarialData cifar_data(nn::Run& run, const AdversarialConfig& c) {
  const std::string dir = run.data_dir("cifar10-jpg");
  auto train = std::make_shared<nn::data::ImageFolder>(dir + "/cifar10-train-jpg.tar.gz");
  auto test = std::make_shared<nn::data::ImageFolder>(dir + "/cifar10-test-jpg.tar.gz");
  run.note("CIFAR-10 from the JPEG archives in " + dir + " (" + std::to_string(train->size()) +
           " training, " + std::to_string(test->size()) + " test images)");
  AdversarialData d;
  d.train = train;
  if (c.train_limit > 0 && c.train_limit < train->size()) {
    std::vector<int64_t> order = classes_in_turn(*train);
    order.resize(static_cast<size_t>(c.train_limit));
    d.train = std::make_shared<nn::data::Subset>(train, std::move(order));
    run.note("training on " + std::to_string(c.train_limit) + " of them only (classes in turn)");
  }
  // Only the test images that will be evaluated are decoded.
  const int64_t needed = c.eval_images > 0 ? std::max(c.eval_images, c.curve_images) : 0;
  std::tie(d.test_x, d.test_y) = load_all(test, classes_in_turn(*test), needed);
  if (c.augment) {
    namespace T = nn::data::transforms;
    d.augment = T::compose({T::random_crop(32, 4), T::random_horizontal_flip()});
    run.note("augmentation: random 32x32 crops of the 4-pixel zero-padded image, horizontal flips");
  }
  return d;
}

}  // namespace

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::cpu();
  if (name == "auto") return device_available(Device::cuda(0)) ? Device::cuda(0) : Device::cpu();
  CTDL_CHECK(name == "cuda", "yopo: device must be \"cpu\", \"cuda\" or \"auto\", got \"", name,
             "\"");
  CTDL_CHECK(device_available(Device::cuda(0)), "yopo: device \"cuda\" was asked for, but ",
             cuda::is_built() ? "this machine shows no GPU"
                              : "this build has no CUDA backend (configure with CTDL_CUDA=ON)",
             "; use device=cpu, or device=auto to take a GPU only when there is one");
  return Device::cuda(0);
}

Evaluation evaluate(nn::Module& net, const LayerOneSplit& split, const Tensor& images,
                    const Tensor& labels, int64_t count, int64_t subset,
                    const AdversarialConfig& c) {
  int64_t total = images.shape()[0];
  if (count <= 0 || count > total) count = total;
  auto forward = [&split](const Tensor& x) { return split.rest(split.layer_one(x)); };
  net.eval();
  nn::FrozenParameters frozen(net.parameters());
  std::vector<double> clean, robust;
  for (int64_t begin = 0, b = 0; begin < count; begin += c.eval_batch, ++b) {
    int64_t size = std::min(c.eval_batch, count - begin);
    Tensor x = images.narrow(0, begin, size), y = labels.narrow(0, begin, size);
    {
      autograd::NoGradGuard no_grad;
      std::vector<double> h = hits(forward(x), y);
      clean.insert(clean.end(), h.begin(), h.end());
    }
    nn::LossOfInput loss = [&](const Tensor& xi) { return nn::cross_entropy(forward(xi), y); };
    Tensor x_adv = nn::pgd(loss, x,
                           {.epsilon = c.epsilon,
                            .step = c.step,
                            .steps = c.eval_steps,
                            .random_start = true,
                            .seed = 1000003u + static_cast<uint64_t>(b)});
    autograd::NoGradGuard no_grad;
    std::vector<double> h = hits(forward(x_adv), y);
    robust.insert(robust.end(), h.begin(), h.end());
  }
  net.train();
  size_t sub = static_cast<size_t>(std::min(subset <= 0 ? count : subset, count));
  return {mean_of(clean, 0, clean.size()), mean_of(robust, 0, robust.size()),
          mean_of(clean, 0, sub), mean_of(robust, 0, sub)};
}

namespace {

// The training loop of both methods, for any network marked at its first layer (`split`),
// whose parameters and data are on `device`.
void train_network(nn::Run& run, const AdversarialConfig& c, const AdversarialData& data,
                   nn::Module& net, const LayerOneSplit& split, Device device) {
  const bool yopo = c.method == "yopo", free = c.method == "free";
  Tensor free_delta;  // Free AT's perturbation, kept from batch to batch
  auto forward = [&split](const Tensor& x) { return split.rest(split.layer_one(x)); };
  const Tensor test_x = data.test_x.to(device), test_y = data.test_y.to(device);
  nn::data::DataLoader loader(data.train, {.batch_size = c.batch_size,
                                           .shuffle = true,
                                           .seed = static_cast<uint64_t>(c.seed),
                                           .transform = data.augment,
                                           .device = device});
  // The paper's YOPO divides the learning rate by m: the step adds up m rounds' gradients.
  const double base_lr = yopo ? c.lr / static_cast<double>(c.yopo_m) : c.lr;
  nn::SGD opt(net.parameters(),
              {.lr = base_lr, .momentum = c.momentum, .weight_decay = c.weight_decay});
  Generator attack_generator(static_cast<uint64_t>(c.seed) + 7919u);
  std::cout << net << net.num_parameters() << " parameters on " << device << ", " << loader.size()
            << " batches of " << c.batch_size << " per epoch, "
            << (yopo   ? "YOPO-" + std::to_string(c.yopo_m) + "-" + std::to_string(c.yopo_n)
                : free ? "free (m = " + std::to_string(c.free_replays) + ") adversarial"
                       : "PGD-" + std::to_string(c.pgd_steps))
            << " training\n";
  // Kernels on a GPU are queued: a timed step ends when its work is done.
  auto wait_for_device = [device] {
    if (device.is_cuda()) cuda::synchronize(device.index);
  };

  const int64_t total_batches = c.epochs * loader.size();
  int64_t batches = 0, full_passes = 0, layer_one_passes = 0;
  double train_seconds = 0, train_cpu_seconds = 0;
  std::vector<double> curve_t, curve_acc;
  // A point of the curve: the robust accuracy on the first curve_images held-out images.
  auto curve_point = [&](double epoch, std::optional<Evaluation> done = std::nullopt) {
    Evaluation e =
        done ? Evaluation{done->clean_subset, done->robust_subset, 0, 0}
             : evaluate(net, split, test_x, test_y, c.curve_images, c.curve_images, c);
    curve_t.push_back(train_seconds);
    curve_acc.push_back(e.robust_accuracy);
    run.log({{"epoch", epoch},
             {"train_seconds", train_seconds},
             {"train_cpu_seconds", train_cpu_seconds},
             {"full_passes", full_passes},
             {"layer_one_passes", layer_one_passes},
             {"curve_clean_accuracy", e.clean_accuracy},
             {"curve_robust_accuracy", e.robust_accuracy}});
    std::cout << "  epoch " << epoch << ": " << train_seconds << " s training, clean "
              << e.clean_accuracy << ", PGD-" << c.eval_steps << " " << e.robust_accuracy
              << " (first " << c.curve_images << " held-out images)\n";
  };
  curve_point(0.0);

  for (int64_t epoch = 0; epoch < c.epochs; ++epoch) {
    loader.set_epoch(epoch);
    double loss_sum = 0, acc_sum = 0;
    int64_t seen = 0, in_epoch = 0;
    for (auto [x, y] : loader) {
      opt.set_lr(scheduled_lr(base_lr, c.lr_milestones,
                              static_cast<double>(batches) / static_cast<double>(total_batches)));
      double t0 = now_seconds(), cpu0 = cpu_seconds();
      const Tensor labels = y;
      LossOfOutput loss = [&labels](const Tensor& out) { return nn::cross_entropy(out, labels); };
      double batch_loss = 0, batch_acc = 0;
      if (yopo) {
        Tensor eta = random_perturbation(x, c.epsilon, &attack_generator);
        opt.zero_grad();
        YopoRounds r = yopo_rounds(split, loss, x, eta,
                                   {.m = c.yopo_m, .n = c.yopo_n, .epsilon = c.epsilon,
                                    .step = c.step});
        opt.step();
        full_passes += r.full_passes;
        layer_one_passes += r.layer_one_passes;
        batch_loss = r.loss;
        batch_acc = nn::accuracy(r.outputs.back(), labels);
      } else if (free) {
        // Free adversarial training (Shafahi et al. 2019): each backward pass gives both
        // the weights' gradient, for an SGD step, and the input's, for an FGSM step of the
        // perturbation, which carries over to the next batch.
        if (!free_delta.defined() || free_delta.shape() != x.shape()) free_delta = zeros_like(x);
        for (int64_t replay = 0; replay < c.free_replays; ++replay) {
          Tensor x_adv = clamp(x + free_delta, 0.0, 1.0).detach().requires_grad_();
          opt.zero_grad();
          Tensor out = forward(x_adv);
          Tensor value = loss(out);
          value.backward();
          opt.step();
          free_delta = clamp(free_delta + sign(x_adv.grad()) * c.epsilon, -c.epsilon, c.epsilon).detach();
          batch_loss = value.item<double>();
          batch_acc = nn::accuracy(out, labels);
        }
        full_passes += c.free_replays;
      } else {
        Tensor x_adv;
        {
          net.eval();
          nn::FrozenParameters frozen(net.parameters());
          nn::LossOfInput attack_loss = [&](const Tensor& xi) { return loss(forward(xi)); };
          x_adv = nn::pgd(attack_loss, x,
                          {.epsilon = c.epsilon, .step = c.step, .steps = c.pgd_steps,
                           .generator = &attack_generator});
          net.train();
        }
        opt.zero_grad();
        Tensor out = forward(x_adv);
        Tensor value = loss(out);
        value.backward();
        opt.step();
        full_passes += c.pgd_steps + 1;
        batch_loss = value.item<double>();
        batch_acc = nn::accuracy(out, labels);
      }
      wait_for_device();
      train_seconds += now_seconds() - t0;
      train_cpu_seconds += cpu_seconds() - cpu0;
      ++batches;
      ++in_epoch;
      int64_t n = x.shape()[0];
      loss_sum += batch_loss * static_cast<double>(n);
      acc_sum += batch_acc * static_cast<double>(n);
      seen += n;
      double at = static_cast<double>(epoch) +
                  static_cast<double>(in_epoch) / static_cast<double>(loader.size());
      if (batches % std::max<int64_t>(1, loader.size() / 8) == 0)
        run.log({{"epoch", at}, {"train_loss", batch_loss}, {"lr", opt.lr()}});
      if (c.curve_every > 0 && batches % c.curve_every == 0 && in_epoch < loader.size())
        curve_point(at);
    }
    std::cout << "epoch " << epoch + 1 << "/" << c.epochs << ": adversarial train loss "
              << loss_sum / static_cast<double>(seen) << ", accuracy "
              << acc_sum / static_cast<double>(seen) << "\n";
    run.log({{"epoch", epoch + 1},
             {"train_loss_epoch", loss_sum / static_cast<double>(seen)},
             {"train_adversarial_accuracy", acc_sum / static_cast<double>(seen)}});
    if (epoch + 1 < c.epochs) curve_point(static_cast<double>(epoch + 1));
  }

  // The final evaluation; its first curve_images images give the curve's last point.
  Evaluation final = evaluate(net, split, test_x, test_y, c.eval_images, c.curve_images, c);
  curve_point(static_cast<double>(c.epochs), final);
  int64_t evaluated = c.eval_images > 0 ? std::min(c.eval_images, test_x.shape()[0]) : test_x.shape()[0];
  std::cout << "held-out (" << evaluated << " images): clean " << final.clean_accuracy << ", PGD-"
            << c.eval_steps << " " << final.robust_accuracy << "; " << train_seconds
            << " s of training (" << train_cpu_seconds << " s CPU)\n";
  run.set_metric("clean_accuracy", final.clean_accuracy);
  run.set_metric("robust_accuracy", final.robust_accuracy);
  run.set_metric("train_seconds", train_seconds);
  run.set_metric("train_cpu_seconds", train_cpu_seconds);
  run.set_metric("full_passes", full_passes);
  run.set_metric("layer_one_passes", layer_one_passes);
  run.set_metric("batches", batches);
  run.set_metric("eval_images", evaluated);
  run.set_metric("train_images", data.train->size());
  if (c.dataset == "mnist") {
    // The paper's MNIST results (its Table 1, full 60,000-image training set, PGD-40
    // evaluation): PGD-40 training 99.49% clean, 96.56% robust; YOPO-5-10 99.46%, 96.27%.
    run.set_paper("clean_accuracy", yopo ? 0.9946 : 0.9949);
    run.set_paper("robust_accuracy", yopo ? 0.9627 : 0.9656);
  }
  run.note("robust accuracy: PGD-" + std::to_string(c.eval_steps) + ", eps " +
           std::to_string(c.epsilon) + ", step " + std::to_string(c.step) +
           ", random start; train_seconds counts the training steps only (no evaluation)");
  run.save_checkpoint(c.epochs, {.model = &net, .optimizer = &opt});
  nn::plot_lines((run.dir() / "robust_vs_time.png").string(),
                 {{.title = yopo ? "YOPO" : "PGD", .x = curve_t, .y = curve_acc,
                   .style = "linespoints"}},
                 {.title = "robust accuracy (PGD-" + std::to_string(c.eval_steps) + ", first " +
                           std::to_string(c.curve_images) + " held-out images)",
                  .xlabel = "training wall time (s)",
                  .ylabel = "robust accuracy"});
}

}  // namespace

void train_adversarially(nn::Run& run, const AdversarialConfig& c) {
  CTDL_CHECK(c.method == "yopo" || c.method == "pgd" || c.method == "free",
             "yopo: method must be \"yopo\", \"pgd\" or \"free\", got \"", c.method, "\"");
  CTDL_CHECK(c.dataset == "mnist" || c.dataset == "cifar10",
             "yopo: dataset must be \"mnist\" or \"cifar10\", got \"", c.dataset, "\"");
  const Device device = parse_device(c.device);
  run.note("device: " + str(device));
  manual_seed(static_cast<uint64_t>(c.seed));
  if (c.dataset == "mnist") {
    AdversarialData data = mnist_data(run, c);
    SmallCnn net(c.dropout);
    net.to(device);
    train_network(run, c, data, net, split_at_layer_one(net), device);
  } else {
    AdversarialData data = cifar_data(run, c);
    PreActResNet18 net({.width = c.width});
    net.to(device);
    train_network(run, c, data, net, split_at_layer_one(net), device);
  }
}

}  // namespace ctdl::examples::yopo

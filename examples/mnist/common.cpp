#include "common.h"

#include <iostream>

#include "ctdl/nn/data/dataloader.h"
#include "ctdl/nn/data/mnist.h"
#include "ctdl/nn/train/fit.h"

namespace ctdl::examples::mnist {

// The usual normalization of MNIST pixels.
constexpr double kMean = 0.1307, kStd = 0.3081;

void train_module(nn::Run& run, nn::Module& net,
                  const std::function<Tensor(const Tensor&)>& forward, const MnistConfig& c) {
  nn::data::Mnist mnist = nn::data::load_mnist(
      run.data_dir("mnist"), {.holdout = c.holdout, .train_limit = c.train_limit});
  run.note(mnist.description);
  // Normalized once, up front: the loaders then batch with one index_select.
  auto normalized = [](const nn::data::TensorDataset& d) {
    return nn::data::TensorDataset((d.inputs() - kMean) / kStd, d.targets());
  };
  nn::data::TensorDataset train_set = normalized(mnist.train), test_set = normalized(mnist.test);

  nn::data::DataLoaderOptions train_options{.batch_size = c.batch_size,
                                            .shuffle = true,
                                            .seed = static_cast<uint64_t>(c.seed),
                                            .prefetch = c.prefetch};
  if (c.crop_padding > 0)  // shift by up to crop_padding pixels, filling with the background value
    train_options.transform = nn::data::transforms::random_crop(28, c.crop_padding, -kMean / kStd);
  nn::data::DataLoader train_loader(train_set, train_options);
  nn::data::DataLoader test_loader(test_set, {.batch_size = 500, .prefetch = c.prefetch});

  std::unique_ptr<nn::Optimizer> opt;
  if (c.optimizer == "adam")
    opt = std::make_unique<nn::AdamW>(net.parameters(),
                                      nn::AdamOptions{.lr = c.lr, .weight_decay = c.weight_decay});
  else if (c.optimizer == "sgd")
    opt = std::make_unique<nn::SGD>(
        net.parameters(),
        nn::SGDOptions{
            .lr = c.lr, .momentum = 0.9, .weight_decay = c.weight_decay, .nesterov = true});
  else
    fail("mnist: optimizer must be \"adam\" or \"sgd\", got \"", c.optimizer, "\"");
  nn::CosineAnnealingLR schedule(*opt, c.epochs);

  std::cout << net << net.num_parameters() << " parameters, " << train_loader.size()
            << " batches of " << c.batch_size << " per epoch\n";
  nn::fit_classifier(
      run, net, forward, *opt, train_loader, test_loader,
      {.epochs = c.epochs, .schedule = &schedule, .label_smoothing = c.label_smoothing});
  run.set_metric("train_images", train_set.size());
  run.set_metric("test_images", test_set.size());
}

}  // namespace ctdl::examples::mnist

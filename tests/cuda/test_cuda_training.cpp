// Training on the device with the model DSL: modules, losses, optimizers and the data
// loader, step for step against the same training on the CPU.
#include "cuda/cuda_device.h"

namespace ctdl::testing {
namespace {

// Four steps of a small CNN + MLP classifier with Adam; returns the losses and the final
// parameters (on the CPU).
std::pair<std::vector<double>, TensorList> train(Device device) {
  manual_seed(21);
  nn::Sequential model(nn::Conv2d(1, 4, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2),
                       nn::Flatten(), nn::Linear(4 * 4 * 4, 16), nn::Tanh(), nn::Linear(16, 3));
  model.to(DType::Float64);
  model.to(device);
  nn::Adam opt(model.parameters(), {.lr = 1e-2});
  Tensor images = randn({24, 1, 8, 8}, {.dtype = DType::Float64});
  Tensor labels = randint(0, 3, {24});
  nn::data::DataLoader loader(nn::data::TensorDataset(images, labels),
                              {.batch_size = 8, .shuffle = true, .seed = 5, .device = device});
  std::vector<double> losses;
  for (int epoch = 0; epoch < 2; ++epoch) {
    loader.set_epoch(epoch);
    for (auto [x, y] : loader) {
      CHECK(x.device() == device);
      CHECK(y.device() == device);
      opt.zero_grad();
      Tensor loss = nn::cross_entropy(model(x), y);
      loss.backward();
      opt.step();
      losses.push_back(loss.item());
    }
  }
  TensorList params;
  for (const Tensor& p : model.parameters()) {
    CHECK(p.device() == device);
    params.push_back(p.detach().to(Device::cpu()));
  }
  return {losses, params};
}

TEST_CASE("cuda: training a model on the device matches the CPU step for step", "[cuda][nn]") {
  auto [cpu_losses, cpu_params] = train(Device::cpu());
  auto [dev_losses, dev_params] = train(gpu());
  REQUIRE(dev_losses.size() == cpu_losses.size());
  for (size_t i = 0; i < cpu_losses.size(); ++i) CHECK(dev_losses[i] == Approx(cpu_losses[i]).epsilon(1e-9));
  for (size_t i = 0; i < cpu_params.size(); ++i) CHECK(allclose(dev_params[i], cpu_params[i], 1e-8, 1e-10));
}

}  // namespace
}  // namespace ctdl::testing

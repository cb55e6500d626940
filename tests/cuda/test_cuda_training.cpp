// Training on the device with the model DSL: modules, losses, optimizers and the data
// loader, step for step against the same training on the CPU.
#include <filesystem>

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

TEST_CASE("cuda: a model on the device saves and loads its weights across devices", "[cuda][nn]") {
  manual_seed(8);
  nn::Sequential model(nn::Linear(5, 7), nn::Tanh(), nn::Linear(7, 2));
  model.to(gpu());
  const std::string path = (std::filesystem::temp_directory_path() / "ctdl_cuda_weights.safetensors").string();
  nn::save(model, path);
  Tensor x = randn({3, 5});
  Tensor expected = model(x.to(gpu())).to(Device::cpu());
  // Into a model on the CPU, and into another model on the device.
  nn::Sequential on_cpu(nn::Linear(5, 7), nn::Tanh(), nn::Linear(7, 2));
  nn::load(on_cpu, path);
  CHECK(allclose(on_cpu(x), expected, 1e-6, 1e-6));
  nn::Sequential on_device(nn::Linear(5, 7), nn::Tanh(), nn::Linear(7, 2));
  on_device.to(gpu());
  nn::load(on_device, path);
  for (const Tensor& p : on_device.parameters()) CHECK(p.device() == gpu());
  CHECK(allclose(on_device(x.to(gpu())).to(Device::cpu()), expected, 1e-6, 1e-6));
  std::filesystem::remove(path);
}

TEST_CASE("cuda: copy_ moves values between devices", "[cuda]") {
  Tensor host = randn({4, 3});
  Tensor dev = zeros({4, 3}, {.device = gpu()});
  dev.copy_(host);
  CHECK(dev.device() == gpu());
  CHECK(dev.to(Device::cpu()).to_vector<double>() == host.to_vector<double>());
  Tensor back = zeros({4, 3});
  back.copy_(dev * 2.0);
  CHECK(allclose(back, host * 2.0));
}

}  // namespace
}  // namespace ctdl::testing

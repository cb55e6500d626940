// examples/yopo and nn/adversarial: the attacks (exact on a linear loss, PGD raises the loss
// and stays in the ε-ball and [0, 1]), YOPO's costate identity and gradient accumulation,
// the paper's SmallCNN and PreAct-ResNet18, the CIFAR-10 configurations, and tiny runs of
// yopo-mnist, pgd-mnist and yopo-compare on MNIST and of yopo-cifar and pgd-cifar on CIFAR-10.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "ctdl/examples/yopo/preact_resnet.h"
#include "ctdl/examples/yopo/small_cnn.h"
#include "ctdl/examples/yopo/training.h"
#include "ctdl/examples/yopo/yopo.h"
#include "ctdl/nn/nn.h"
#include "ctdl/nn/train/example.h"
#include "ctdl/nn/train/run.h"
#include "helpers.h"

using namespace ctdl;
using namespace ctdl::examples::yopo;
using ctdl::testing::allclose;
using ctdl::testing::max_abs_diff;
namespace fs = std::filesystem;

namespace {

// A small network marked at its first layer (tanh, so the costate identity is tested on a
// smooth first layer as well as SmallCnn's ReLU one).
struct TinyMarked : nn::Module {
  nn::Conv2d conv1 = register_module("conv1", nn::Conv2d(1, 3, 3));
  nn::Conv2d conv2 = register_module("conv2", nn::Conv2d(3, 4, 3));
  nn::Linear fc = register_module("fc", nn::Linear(4 * 2 * 2, 5));
  Tensor layer_one(const Tensor& x) const { return tanh(conv1(x)); }
  Tensor rest(const Tensor& z) const { return fc(relu(conv2(z)).flatten(1)); }
  TensorList layer_one_parameters() const { return conv1.parameters(); }
  Tensor operator()(const Tensor& x) const { return rest(layer_one(x)); }
};

double loss_at(const nn::LossOfInput& loss, const Tensor& x) {
  autograd::NoGradGuard no_grad;
  return loss(x).item<double>();
}

}  // namespace

TEST_CASE("attacks: FGSM and PGD find the exact maximizer of a linear loss",
          "[examples][yopo][attacks]") {
  Generator g(3);
  Tensor x = rand({4, 1, 5, 5}, {}, &g), a = randn({4, 1, 5, 5}, {}, &g);
  nn::LossOfInput loss = [&a](const Tensor& xi) { return (a * xi).sum(); };
  // The maximizer of <a, x'> over the ε-ball and [0, 1]: every pixel as far as it may go in
  // the direction of its coefficient's sign.
  const double eps = 0.3;
  Tensor best = clamp(x + sign(a) * eps, 0.0, 1.0);
  CHECK(max_abs_diff(nn::fgsm(loss, x, eps), best) < 1e-6);
  // From any random start, 8 steps of 0.1 cross the ball (width 0.6).
  Tensor x_pgd = nn::pgd(loss, x, {.epsilon = eps, .step = 0.1, .steps = 8, .seed = 5});
  CHECK(max_abs_diff(x_pgd, best) < 1e-6);
  CHECK_FALSE(x_pgd.requires_grad());
  // Too few steps from the clean point (no random start) stop part of the way.
  Tensor x_short =
      nn::pgd(loss, x, {.epsilon = eps, .step = 0.1, .steps = 2, .random_start = false});
  CHECK(max_abs_diff(x_short, clamp(x + sign(a) * 0.2, 0.0, 1.0)) < 1e-6);
  // Other boxes: [-1, 1].
  Tensor y = x * 2.0 - 1.0;
  CHECK(max_abs_diff(nn::fgsm(loss, y, eps, -1.0, 1.0), clamp(y + sign(a) * eps, -1.0, 1.0)) <
        1e-6);
  CHECK_THROWS_WITH_ALL(nn::pgd(loss, x, {.epsilon = -0.1}), "pgd", "epsilon");
  CHECK_THROWS_WITH_ALL(nn::fgsm([](const Tensor& xi) { return xi * 2.0; }, x, eps), "fgsm",
                        "one-element");
}

TEST_CASE("attacks: PGD raises the loss and stays inside the eps-ball and [0, 1]",
          "[examples][yopo][attacks]") {
  manual_seed(11);
  TinyMarked net;
  Generator g(4);
  Tensor x = rand({16, 1, 6, 6}, {}, &g), labels = randint(0, 5, {16}, {}, &g);
  nn::LossOfInput loss = [&](const Tensor& xi) { return nn::cross_entropy(net(xi), labels); };
  const double eps = 0.3;
  nn::PgdOptions o{.epsilon = eps, .step = 0.03, .steps = 20, .seed = 9};
  Tensor x_pgd;
  {
    nn::FrozenParameters frozen(net.parameters());
    for (const Tensor& p : net.parameters()) CHECK_FALSE(p.requires_grad());
    x_pgd = nn::pgd(loss, x, o);
  }
  for (const Tensor& p : net.parameters()) {
    CHECK(p.requires_grad());     // restored
    CHECK_FALSE(p.grad().defined());  // an attack leaves the weights' gradients alone
  }
  double clean = loss_at(loss, x), attacked = loss_at(loss, x_pgd);
  nn::PgdOptions start_only = o;
  start_only.steps = 0;
  double random = loss_at(loss, nn::pgd(loss, x, start_only));
  INFO("clean " << clean << ", random start " << random << ", PGD-20 " << attacked);
  CHECK(attacked > clean + 0.05);
  CHECK(attacked > random + 0.05);
  CHECK(attacked >= loss_at(loss, nn::fgsm(loss, x, eps)) - 1e-6);
  CHECK(amax(abs(x_pgd - x)).item<double>() <= eps + 1e-6);
  CHECK(amin(x_pgd).item<double>() >= 0.0);
  CHECK(amax(x_pgd).item<double>() <= 1.0);
  // Seeded: the same seed gives the same attack, another seed another random start.
  CHECK(max_abs_diff(nn::pgd(loss, x, o), x_pgd) == 0.0);
  nn::PgdOptions other = o;
  other.seed = 10;
  CHECK(max_abs_diff(nn::pgd(loss, x, other), x_pgd) > 0.0);
  // A generator stream moves on between calls.
  Generator stream(1);
  other.generator = &stream;
  other.steps = 0;
  CHECK(max_abs_diff(nn::pgd(loss, x, other), nn::pgd(loss, x, other)) > 0.0);
  // ε = 0 leaves the input where it is.
  CHECK(max_abs_diff(nn::pgd(loss, x, {.epsilon = 0.0, .steps = 3}), x) == 0.0);
}

TEST_CASE("yopo: the input gradient through the frozen costate equals backpropagation",
          "[examples][yopo]") {
  manual_seed(2);
  TinyMarked net;
  net.to(DType::Float64);
  LayerOneSplit split = split_at_layer_one(net);
  Generator g(6);
  Tensor x = rand({5, 1, 6, 6}, {.dtype = DType::Float64}, &g);
  Tensor labels = randint(0, 5, {5}, {}, &g);
  LossOfOutput loss = [&](const Tensor& out) { return nn::cross_entropy(out, labels); };

  Costate c = full_pass(split, loss, x);
  CHECK(c.p.shape() == Dims{5, 3, 4, 4});
  Tensor through_costate = layer_one_input_gradient(split, c.p, x);
  Tensor leaf = x.detach().requires_grad_();
  Tensor backprop = autograd::grad({loss(net(leaf))}, {leaf})[0];
  CHECK(allclose(through_costate, backprop, 1e-10, 1e-14));
  CHECK(max_abs_diff(backprop, zeros_like(backprop)) > 1e-4);  // not trivially zero
  // Away from the point where p was taken the two differ: p is frozen, not recomputed.
  Tensor moved = x + 0.2;
  Tensor leaf2 = moved.detach().requires_grad_();
  Tensor backprop2 = autograd::grad({loss(net(leaf2))}, {leaf2})[0];
  CHECK(max_abs_diff(layer_one_input_gradient(split, c.p, moved), backprop2) > 1e-6);
  // The same identity on the paper's network (ReLU first layer), with a nonzero last layer.
  manual_seed(3);
  SmallCnn cnn(0.0);
  cnn.to(DType::Float64);
  nn::init::normal_(cnn.fc3.weight, 0.0, 0.1);
  Tensor images = rand({2, 1, 28, 28}, {.dtype = DType::Float64}, &g);
  Tensor digits = tensor(std::vector<int64_t>{3, 7}, {2});
  LossOfOutput cnn_loss = [&](const Tensor& out) { return nn::cross_entropy(out, digits); };
  LayerOneSplit cnn_split = split_at_layer_one(cnn);
  Costate cc = full_pass(cnn_split, cnn_loss, images);
  Tensor leaf3 = images.detach().requires_grad_();
  Tensor full = autograd::grad({cnn_loss(cnn(leaf3))}, {leaf3})[0];
  CHECK(allclose(layer_one_input_gradient(cnn_split, cc.p, images), full, 1e-10, 1e-14));
}

TEST_CASE("yopo: m rounds accumulate the sum of the individual rounds' gradients",
          "[examples][yopo]") {
  manual_seed(5);
  TinyMarked net;
  net.to(DType::Float64);
  LayerOneSplit split = split_at_layer_one(net);
  Generator g(8);
  Tensor x = rand({6, 1, 6, 6}, {.dtype = DType::Float64}, &g);
  Tensor labels = randint(0, 5, {6}, {}, &g);
  LossOfOutput loss = [&](const Tensor& out) { return nn::cross_entropy(out, labels); };
  YopoOptions o{.m = 3, .n = 4, .epsilon = 0.3, .step = 0.05};
  Tensor eta = random_perturbation(x, o.epsilon, &g);

  for (Tensor p : net.parameters()) p.zero_grad();
  YopoRounds r = yopo_rounds(split, loss, x, eta, o);
  CHECK(r.full_passes == 3);
  CHECK(r.layer_one_passes == 12);
  REQUIRE(r.inputs.size() == 3);
  TensorList accumulated;
  for (const Tensor& p : net.parameters()) accumulated.push_back(p.grad().clone());

  // Each round separately, from the input it saw.
  TensorList summed;
  for (const Tensor& p : net.parameters()) summed.push_back(zeros_like(p));
  for (const Tensor& input : r.inputs) {
    for (Tensor p : net.parameters()) p.zero_grad();
    full_pass(split, loss, input);
    TensorList params = net.parameters();
    for (size_t i = 0; i < params.size(); ++i) summed[i] = summed[i] + params[i].grad();
  }
  for (size_t i = 0; i < summed.size(); ++i) CHECK(allclose(accumulated[i], summed[i], 1e-12, 1e-14));
  // The rounds saw different inputs (η moved), all inside the ball and the box, and the
  // first is the projected starting point.
  CHECK(max_abs_diff(r.inputs[0], nn::project_linf(x + eta, x, o.epsilon)) == 0.0);
  CHECK(max_abs_diff(r.inputs[1], r.inputs[0]) > 0.0);
  for (const Tensor& input : {r.inputs[1], r.inputs[2], r.adversarial}) {
    CHECK(amax(abs(input - x)).item<double>() <= o.epsilon + 1e-12);
    CHECK(amin(input).item<double>() >= 0.0);
    CHECK(amax(input).item<double>() <= 1.0);
  }
  // The cheap updates raise the loss as the full gradient would, here to above the start's.
  autograd::NoGradGuard no_grad;
  CHECK(loss(net(r.adversarial)).item<double>() > loss(net(r.inputs[0])).item<double>());
}

TEST_CASE("yopo: SmallCnn is the paper's network", "[examples][yopo]") {
  manual_seed(0);
  SmallCnn net;
  CHECK(net.num_parameters() == 312202);  // 320 + 9248 + 18496 + 36928 + 205000 + 40200 + 2010
  Tensor out = net(rand({3, 1, 28, 28}));
  CHECK(out.shape() == Dims{3, 10});
  CHECK(net.layer_one(rand({1, 1, 28, 28})).shape() == Dims{1, 32, 26, 26});
  CHECK(max_abs_diff(out, zeros_like(out)) == 0.0);  // the last layer starts at zero
}

TEST_CASE("yopo: PreAct-ResNet18 is the paper's CIFAR-10 network, marked at its first convolution",
          "[examples][yopo]") {
  manual_seed(0);
  // 11,171,146 = conv1 1,728 + stages 147,968 + 525,184 + 2,098,944 + 8,392,192 + fc 5,130
  // (the authors' network: no bias in the convolutions, no BN-ReLU before the pooling).
  CHECK(PreActResNet18().num_parameters() == 11171146);

  PreActResNet18 net({.width = 4});
  net.to(DType::Float64);
  Generator g(12);
  Tensor x = rand({3, 3, 32, 32}, {.dtype = DType::Float64}, &g);
  TensorList first = net.layer_one_parameters();
  REQUIRE(first.size() == 1);  // the first convolution's weight, no bias
  CHECK(first[0].shape() == Dims{4, 3, 3, 3});
  Tensor z = net.layer_one(x);
  CHECK(z.shape() == Dims{3, 4, 32, 32});
  CHECK(net.layer4[0].shortcut.size() == 1);  // projections where the shape changes
  CHECK(net.layer1[0].shortcut.size() == 0);
  // layer_one then rest is the whole network, written out here block by block.
  for (bool training : {true, false}) {
    net.train(training);
    Tensor h = net.conv1(x);
    for (const auto* layer : {&net.layer1, &net.layer2, &net.layer3, &net.layer4})
      for (const PreActBlock& b : *layer) {
        Tensor a = relu(b.bn1(h));
        Tensor skip = b.shortcut.size() > 0 ? b.shortcut[0](a) : h;
        h = b.conv2(relu(b.bn2(b.conv1(a)))) + skip;
      }
    CHECK(h.shape() == Dims{3, 32, 4, 4});
    Tensor expected = net.fc(mean(h, {2, 3}));
    Tensor out = net.rest(net.layer_one(x));
    CHECK(out.shape() == Dims{3, 10});
    CHECK(max_abs_diff(out, expected) < 1e-12);
    CHECK(max_abs_diff(net(x), expected) < 1e-12);
  }
  // YOPO's identity holds through the batch-normalized network (training mode couples the
  // batch's images through the batch statistics, and backpropagation sees that too).
  net.train();
  Tensor labels = tensor(std::vector<int64_t>{1, 4, 9}, {3});
  LossOfOutput loss = [&](const Tensor& out) { return nn::cross_entropy(out, labels); };
  LayerOneSplit split = split_at_layer_one(net);
  Costate c = full_pass(split, loss, x);
  Tensor leaf = x.detach().requires_grad_();
  Tensor backprop = autograd::grad({loss(net(leaf))}, {leaf})[0];
  CHECK(allclose(layer_one_input_gradient(split, c.p, x), backprop, 1e-10, 1e-14));
  CHECK(max_abs_diff(backprop, zeros_like(backprop)) > 1e-6);
}

TEST_CASE("yopo: the CIFAR-10 configurations are the paper's", "[examples][yopo]") {
  const nn::ExampleEntry* yopo = nn::find_example("yopo-cifar");
  const nn::ExampleEntry* pgd = nn::find_example("pgd-cifar");
  REQUIRE(yopo != nullptr);
  REQUIRE(pgd != nullptr);
  for (const nn::ExampleEntry* e : {yopo, pgd}) {
    const nn::Json& d = e->defaults;
    INFO(e->name << ": " << d.dump());
    CHECK(d["epsilon"].get<double>() == 8.0 / 255.0);
    CHECK(d["step"].get<double>() == 2.0 / 255.0);
    CHECK(d["eval_steps"] == 20);
    CHECK(d["batch_size"] == 256);
    CHECK(d["width"] == 64);
    CHECK(d["train_limit"] == 0);  // all 50,000 training images
    CHECK(d["eval_images"] == 0);  // all 10,000 test images
    CHECK(d["augment"] == true);
    CHECK(d["device"] == "auto");
    CHECK(d["weight_decay"].get<double>() == 5e-4);
    CHECK_FALSE(d.contains("dropout"));  // SmallCNN's, not PreAct-ResNet18's
    nn::Json quick = d;
    CHECK_NOTHROW(nn::merge_config(quick, e->quick, "--quick"));
    CHECK(quick["epochs"] == 1);
    CHECK(quick["train_limit"] == 1000);
  }
  // YOPO-5-3 at 0.2/5 = 0.04 (the authors' 0.1·2/K), 36 epochs; PGD-10 at 0.05, 105 epochs.
  CHECK(yopo->defaults["yopo_m"] == 5);
  CHECK(yopo->defaults["yopo_n"] == 3);
  CHECK(yopo->defaults["epochs"] == 36);
  CHECK(yopo->defaults["lr"].get<double>() / 5.0 == Approx(0.04));
  CHECK(pgd->defaults["pgd_steps"] == 10);
  CHECK(pgd->defaults["epochs"] == 105);
  CHECK(pgd->defaults["lr"].get<double>() == 0.05);
  // The device: "auto" falls back to the CPU, "cuda" without a GPU says why.
  CHECK(parse_device("cpu") == Device::cpu());
  CHECK(parse_device("auto") ==
        (device_available(Device::cuda(0)) ? Device::cuda(0) : Device::cpu()));
  if (!device_available(Device::cuda(0)))
    CHECK_THROWS_WITH_ALL(parse_device("cuda"), "cuda", "device=cpu");
  CHECK_THROWS_WITH_ALL(parse_device("gpu"), "device must be", "gpu");
}

// Runs the registered example `name` with `overrides` merged into its defaults (in order),
// writing to `dir`, and returns the summary.json it leaves there.
nlohmann::json run_example(const std::string& name, const std::vector<nn::Json>& overrides,
                           const fs::path& dir, const std::string& data = {}) {
  const nn::ExampleEntry* e = nn::find_example(name);
  REQUIRE(e != nullptr);
  nn::Json config = e->defaults;
  for (const nn::Json& o : overrides) nn::merge_config(config, o, "test");
  nn::Run run({.example = name, .dir = dir, .config = config, .data = data});
  e->run(run, config);
  run.write_summary(0.0);
  return nlohmann::json::parse(std::ifstream(dir / "summary.json"));
}

TEST_CASE("ctdl run yopo-mnist, pgd-mnist and yopo-compare run end to end on a few images",
          "[examples][yopo][mnist]") {
  std::string dir = ctdl::testing::shared_data_dir("mnist");
  if (dir.empty()) {
    WARN("skipped: ../shared/data/mnist is absent");
    return;
  }
  fs::path out = fs::temp_directory_path() / ("ctdl_test_yopo_" + std::to_string(getpid()));
  fs::remove_all(out);
  const nn::Json tiny = {{"epochs", 1},        {"batch_size", 32},   {"train_limit", 64},
                         {"yopo_m", 2},        {"yopo_n", 2},        {"pgd_steps", 2},
                         {"eval_steps", 2},    {"curve_images", 20}, {"eval_images", 40},
                         {"curve_every", 1}};
  for (const char* name : {"yopo-mnist", "pgd-mnist"}) {
    nlohmann::json summary = run_example(name, {tiny}, out / name, dir);
    INFO(summary.dump());
    const nlohmann::json& m = summary["metrics"];
    bool yopo = std::string(name) == "yopo-mnist";
    CHECK(m["batches"].get<int64_t>() == 2);
    CHECK(m["full_passes"].get<int64_t>() == (yopo ? 2 * 2 : 2 * 3));
    CHECK(m["layer_one_passes"].get<int64_t>() == (yopo ? 2 * 4 : 0));
    CHECK(m["eval_images"].get<int64_t>() == 40);
    double robust = m["robust_accuracy"].get<double>(), clean = m["clean_accuracy"].get<double>();
    CHECK(robust >= 0.0);
    CHECK(robust <= clean);
    CHECK(m["train_seconds"].get<double>() > 0.0);
    CHECK(fs::exists(out / name / "robust_vs_time.png"));
  }
  nlohmann::json summary =
      run_example("yopo-compare",
                  {{{"yopo_run", (out / "yopo-mnist").string()}, {"pgd_run", (out / "pgd-mnist").string()}}},
                  out / "compare");
  INFO(summary.dump());
  CHECK(summary["metrics"].contains("time_ratio_to_target"));
  CHECK(summary["metrics"]["pgd_train_seconds"].get<double>() > 0.0);
  CHECK(fs::exists(out / "compare" / "robust_vs_time.png"));
  fs::remove_all(out);
}

TEST_CASE("ctdl run free-mnist replays each batch m times, one full pass each",
          "[examples][yopo][mnist]") {
  std::string dir = ctdl::testing::shared_data_dir("mnist");
  if (dir.empty()) {
    WARN("skipped: ../shared/data/mnist is absent");
    return;
  }
  fs::path out = fs::temp_directory_path() / ("ctdl_test_free_" + std::to_string(getpid()));
  fs::remove_all(out);
  const nn::ExampleEntry* e = nn::find_example("free-mnist");
  REQUIRE(e != nullptr);
  CHECK(e->defaults["free_replays"].get<int64_t>() == 8);
  CHECK(e->defaults["epochs"].get<int64_t>() == 7);
  nlohmann::json summary = run_example(
      "free-mnist",
      {{{"epochs", 1}, {"batch_size", 32}, {"train_limit", 64}, {"free_replays", 3},
        {"eval_steps", 2}, {"curve_images", 20}, {"eval_images", 40}, {"curve_every", 1}}},
      out, dir);
  INFO(summary.dump());
  const nlohmann::json& m = summary["metrics"];
  CHECK(m["batches"].get<int64_t>() == 2);
  CHECK(m["full_passes"].get<int64_t>() == 2 * 3);  // one full pass per replay, nothing else
  CHECK(m["layer_one_passes"].get<int64_t>() == 0);
  CHECK(m["robust_accuracy"].get<double>() <= m["clean_accuracy"].get<double>());
  fs::remove_all(out);
}

TEST_CASE("ctdl run yopo-cifar and pgd-cifar run end to end on a few images",
          "[examples][yopo][cifar]") {
  std::string dir = ctdl::testing::shared_data_dir("cifar10-jpg");
  if (dir.empty()) {
    WARN("skipped: ../shared/data/cifar10-jpg is absent");
    return;
  }
  fs::path out = fs::temp_directory_path() / ("ctdl_test_yopo_cifar_" + std::to_string(getpid()));
  fs::remove_all(out);
  const nn::Json tiny = {{"epochs", 1},       {"batch_size", 10},    {"train_limit", 20},
                         {"width", 2},        {"eval_steps", 2},     {"curve_images", 10},
                         {"eval_images", 20}, {"device", "cpu"}};
  for (const char* name : {"yopo-cifar", "pgd-cifar"}) {
    bool yopo = std::string(name) == "yopo-cifar";
    nlohmann::json summary = run_example(
        name, {tiny, yopo ? nn::Json{{"yopo_m", 2}, {"yopo_n", 2}} : nn::Json{{"pgd_steps", 2}}},
        out / name, dir);
    INFO(summary.dump());
    const nlohmann::json& m = summary["metrics"];
    CHECK(m["batches"].get<int64_t>() == 2);
    CHECK(m["train_images"].get<int64_t>() == 20);
    CHECK(m["full_passes"].get<int64_t>() == (yopo ? 2 * 2 : 2 * 3));
    CHECK(m["layer_one_passes"].get<int64_t>() == (yopo ? 2 * 4 : 0));
    CHECK(m["eval_images"].get<int64_t>() == 20);
    double robust = m["robust_accuracy"].get<double>(), clean = m["clean_accuracy"].get<double>();
    CHECK(robust >= 0.0);
    CHECK(robust <= clean + 0.05 + 1e-12);  // one image in 20 may flip either way
    CHECK(fs::exists(out / name / "robust_vs_time.png"));
  }
  fs::remove_all(out);
}

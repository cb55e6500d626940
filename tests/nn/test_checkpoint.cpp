// safetensors files, checkpoints of model + optimizer + schedule, atomic writes, and
// malformed files.
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "ctdl/nn/io/atomic_file.h"
#include "ctdl/nn/io/checkpoint.h"
#include "ctdl/nn/nn.h"
#include "helpers.h"

using namespace ctdl;
using ctdl::testing::allclose;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / ("ctdl_test_" + std::to_string(getpid()) + "_" + name)) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

struct Net : nn::Module {
  nn::Linear fc1 = register_module("fc1", nn::Linear(3, 8));
  nn::BatchNorm1d bn = register_module("bn", nn::BatchNorm1d(8));
  nn::Linear fc2 = register_module("fc2", nn::Linear(8, 2));
  Tensor operator()(const Tensor& x) const { return fc2(relu(bn(fc1(x)))); }
};

}  // namespace

TEST_CASE("safetensors round-trips every dtype, shape and layout with metadata",
          "[nn][checkpoint]") {
  TempDir dir("st");
  manual_seed(0);
  nn::NamedTensors in = {
      {"a", randn({3, 4})},
      {"b.transposed", randn({2, 5}, {.dtype = DType::Float64}).t()},
      {"c", tensor(std::vector<int64_t>{-(int64_t(1) << 50), 3}, {2})},
      {"d", tensor(std::vector<bool>{true, false, true}, {3})},
      {"scalar", scalar_tensor(2.5)},
      {"empty", zeros({0, 7})},
  };
  nn::save_safetensors(dir / "x.safetensors", in, {{"epoch", "3"}});
  std::string bytes = slurp(dir / "x.safetensors");
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  CHECK(n % 8 == 0);  // the data starts 8-byte aligned
  nn::Safetensors out = nn::load_safetensors(dir / "x.safetensors");
  REQUIRE(out.tensors.size() == in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    CHECK(out.tensors[i].first == in[i].first);
    CHECK(out.tensors[i].second.dtype() == in[i].second.dtype());
    CHECK(out.tensors[i].second.shape() == in[i].second.shape());
    CHECK(allclose(out.tensors[i].second, in[i].second, 0, 0));
  }
  CHECK(out.metadata == nn::Metadata{{"epoch", "3"}});
  CHECK_THROWS_WITH_ALL(nn::save_safetensors(dir / "y", {{"a", zeros({1})}, {"a", zeros({1})}}),
                        "'a' is used twice");
  CHECK_FALSE(fs::exists(dir / "y"));
}

TEST_CASE("a model saved and loaded computes the same; a different model is refused in full",
          "[nn][checkpoint]") {
  TempDir dir("model");
  manual_seed(1);
  Net net;
  net(randn({16, 3}));  // move BatchNorm's running statistics away from their initial values
  net.eval();
  nn::save(net, dir / "net.safetensors", {{"note", "hello"}});
  Net other;
  other.eval();
  Tensor x = randn({4, 3});
  CHECK_FALSE(allclose(other(x), net(x)));
  CHECK(nn::load(other, dir / "net.safetensors").at("note") == "hello");
  CHECK(allclose(other(x), net(x), 0, 0));
  CHECK(allclose(other.bn.running_mean, net.bn.running_mean, 0, 0));

  struct Wider : nn::Module {
    nn::Linear fc1 = register_module("fc1", nn::Linear(3, 9));
    nn::Linear fc3 = register_module("fc3", nn::Linear(9, 2));
  } wider;
  std::string path = dir / "net.safetensors";
  CHECK_THROWS_WITH_ALL(nn::load(wider, path), "mismatches between", path.c_str(),
                        "'fc1.weight' has shape [8, 3]", "but [9, 3]", "missing 'fc3.weight'",
                        "unexpected 'fc2.weight'", "unexpected 'bn.running_var'");
}

TEST_CASE("a checkpoint restores model, optimizer and schedule: training continues identically",
          "[nn][checkpoint]") {
  TempDir dir("ckpt");
  manual_seed(2);
  Tensor x = randn({32, 3}), y = randn({32, 2});
  auto train = [&](Net& net, nn::Adam& opt, nn::StepLR& schedule, int epochs) {
    for (int e = 0; e < epochs; ++e) {
      for (int b = 0; b < 4; ++b) {
        Tensor loss = nn::mse_loss(net(x.narrow(0, 8 * b, 8)), y.narrow(0, 8 * b, 8));
        opt.zero_grad();
        loss.backward();
        opt.step();
      }
      schedule.step();
    }
  };
  manual_seed(3);
  Net straight;
  nn::Adam opt1(straight.parameters(), {.lr = 0.01});
  nn::StepLR sched1(opt1, 2, 0.5);
  train(straight, opt1, sched1, 6);

  manual_seed(3);
  Net first;
  nn::Adam opt2(first.parameters(), {.lr = 0.01});
  nn::StepLR sched2(opt2, 2, 0.5);
  train(first, opt2, sched2, 3);
  nn::save_checkpoint(
      dir / "ckpt.safetensors",
      {.model = &first, .optimizer = &opt2, .scheduler = &sched2, .metadata = {{"epoch", "3"}}});
  manual_seed(99);  // a fresh process: different initial weights, fresh optimizer and schedule
  Net resumed;
  nn::Adam opt3(resumed.parameters(), {.lr = 0.01});
  nn::StepLR sched3(opt3, 2, 0.5);
  nn::Metadata meta = nn::load_checkpoint(
      dir / "ckpt.safetensors", {.model = &resumed, .optimizer = &opt3, .scheduler = &sched3});
  CHECK(meta.at("epoch") == "3");
  CHECK(opt3.lr() == opt2.lr());
  CHECK(opt3.steps() == 12);
  train(resumed, opt3, sched3, 3);

  for (size_t i = 0; i < straight.state_dict().size(); ++i)
    CHECK(allclose(resumed.state_dict()[i].second, straight.state_dict()[i].second, 0, 0));

  // Only the model, from a training checkpoint.
  Net inference;
  nn::load_checkpoint(dir / "ckpt.safetensors", {.model = &inference});
  CHECK(allclose(inference.fc1.weight, first.fc1.weight, 0, 0));
  // Every part's problems in one error: another optimizer kind and a model of other shapes.
  struct Small : nn::Module {
    nn::Linear fc1 = register_module("fc1", nn::Linear(3, 4));
  } small;
  nn::SGD sgd(small.parameters(), {.momentum = 0.9});
  std::string path = dir / "ckpt.safetensors",
              between = "between " + path + " and the model and optimizer:";
  CHECK_THROWS_WITH_ALL(nn::load_checkpoint(path, {.model = &small, .optimizer = &sgd}),
                        "'model.fc1.weight' has shape [8, 3]", "unexpected 'model.fc2.bias'",
                        "unexpected 'optimizer.0.exp_avg'", "missing 'optimizer.0.momentum_buffer'",
                        between.c_str());
  CHECK(small.fc1.weight.shape() == Dims{4, 3});
}

TEST_CASE("a crash in the middle of a save leaves the previous file intact", "[nn][checkpoint]") {
  TempDir dir("atomic");
  std::string path = dir / "ckpt.safetensors";
  nn::save_safetensors(path, {{"w", ones({1000})}});
  std::string before = slurp(path);
  // A child process starts writing a new version and dies (no commit, no destructors).
  pid_t child = fork();
  if (child == 0) {
    nn::AtomicFile file(path);
    std::string partial(5000, 'x');
    file.write(partial.data(), partial.size());
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(slurp(path) == before);
  CHECK(nn::load_safetensors(path).tensors.at(0).second.sum().item() == 1000.0);
  // An exception during a save: the same, and the temporary file is cleaned up.
  try {
    nn::AtomicFile file(path);
    file.write("abc", 3);
    throw std::runtime_error("simulated failure");
  } catch (const std::runtime_error&) {
  }
  CHECK(slurp(path) == before);
  int leftovers = 0;
  for (const auto& entry : fs::directory_iterator(dir.path))
    leftovers += entry.path().string().find(".tmp.") != std::string::npos;
  CHECK(leftovers == 1);  // only the killed child's
  // A committed write replaces it.
  nn::save_safetensors(path, {{"w", zeros({2})}});
  CHECK(nn::load_safetensors(path).tensors.at(0).second.shape() == Dims{2});
}

TEST_CASE("malformed safetensors files give errors with file and offset", "[nn][checkpoint]") {
  TempDir dir("bad_st");
  std::string path = dir / "bad.safetensors";
  nn::save_safetensors(path,
                       {{"a", ones({2, 2})}, {"b", tensor(std::vector<bool>{true, false}, {2})}});
  std::string good = slurp(path);
  uint64_t n;
  std::memcpy(&n, good.data(), 8);
  std::string header = good.substr(8, n);
  auto with_header = [&](std::string h) {
    h.append((8 - h.size() % 8) % 8, ' ');
    uint64_t len = h.size();
    return std::string(reinterpret_cast<const char*>(&len), 8) + h + good.substr(8 + n);
  };
  auto expect = [&](const std::string& bytes, std::vector<const char*> fragments) {
    spit(path, bytes);
    try {
      nn::load_safetensors(path);
      FAIL("no error");
    } catch (const Error& e) {
      std::string what = e.what();
      INFO(what);
      CHECK(what.find(path) != std::string::npos);
      for (const char* f : fragments) CHECK(what.find(f) != std::string::npos);
    }
  };
  expect(good.substr(0, 5), {"truncated: 5 bytes", "offset 0"});
  expect(good.substr(0, 8 + n - 3), {"header length at offset 0 says"});
  expect(good.substr(0, good.size() - 1),
         {"'b'", "not within the 17 data bytes", "truncated or corrupt"});
  std::string broken = header;
  broken[5] = '}';
  expect(with_header(broken), {"JSON header is invalid near offset"});
  expect(with_header(R"({"a": {"dtype": "F16", "shape": [2, 2], "data_offsets": [0, 8]}})"),
         {"'a'", "unsupported dtype \"F16\""});
  expect(with_header(R"({"a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 16]}})"),
         {"'a'", "hold 16 bytes but F32 [2, 3] needs 24"});
  expect(
      with_header(
          R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})"),
      {"'a' and 'b' overlap at data offset 4"});
  expect(
      with_header(
          R"({"a": {"dtype": "F32", "shape": [4294967296, 4294967296, 4294967296], "data_offsets": [0, 0]}})"),
      {"holds more data than the file"});
  expect(with_header(R"({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})"),
         {"not a non-negative integer"});
  expect(with_header(R"([1, 2])"), {"not a JSON object"});
  // A BOOL byte that is neither 0 nor 1.
  std::string bad_bool = good;
  bad_bool[bad_bool.size() - 1] = 7;
  expect(bad_bool, {"'b' has the byte 7 at offset"});
  CHECK_THROWS_WITH_ALL(nn::load_safetensors(dir / "absent"), "cannot open");
}

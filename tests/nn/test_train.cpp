// Training tools: configs, the progress bar, metrics files, plots, the example registry and
// `ctdl run` end to end — including a run interrupted mid-epoch and resumed, which must end
// with exactly the parameters of an uninterrupted one.
#include <unistd.h>

#include <fstream>

#include "ctdl/nn/data/dataloader.h"
#include "ctdl/nn/io/checkpoint.h"
#include "ctdl/nn/nn.h"
#include "ctdl/nn/train/example.h"
#include "ctdl/nn/train/fit.h"
#include "ctdl/nn/train/plot.h"
#include "ctdl/nn/train/progress.h"
#include "ctdl/nn/train/run.h"
#include "helpers.h"

using namespace ctdl;
using ctdl::testing::allclose;
namespace fs = std::filesystem;
using nn::Json;

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

// ---- a tiny example registered in this test program, run through the real command ---------------

struct TinyConfig {
  int64_t epochs = 4;
  int64_t batch_size = 16;
  double lr = 0.05;
  int64_t seed = 7;
  int64_t interrupt_epoch = -1;  // throw in the middle of this epoch (a simulated crash)
  std::vector<int64_t> hidden = {16};
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TinyConfig, epochs, batch_size, lr, seed,
                                                interrupt_epoch, hidden)

// Three Gaussian blobs in the plane.
nn::data::TensorDataset blobs(int64_t n, uint64_t seed) {
  Generator gen(seed);
  Tensor labels = randint(0, 3, {n}, {}, &gen);
  Tensor centers = tensor({{2.0, 0.0}, {-1.0, 1.7}, {-1.0, -1.7}});
  Tensor x = index_select(centers, 0, labels) + randn({n, 2}, {}, &gen) * 0.6;
  return {x, labels};
}

struct TinyNet : nn::Module {
  nn::Sequential body;
  explicit TinyNet(const std::vector<int64_t>& hidden) {
    body = register_module("body", nn::Sequential());
    int64_t width = 2;
    for (int64_t h : hidden) {
      body.push_back(nn::Linear(width, h));
      body.push_back(nn::Tanh());
      body.push_back(nn::Dropout(0.2));  // consumes random numbers: resuming must restore them
      width = h;
    }
    body.push_back(nn::Linear(width, 3));
  }
  Tensor operator()(const Tensor& x) const { return body(x); }
};

void train_tiny(nn::Run& run, const TinyConfig& c) {
  manual_seed(static_cast<uint64_t>(c.seed));
  TinyNet net(c.hidden);
  nn::data::DataLoader train(
      blobs(200, 1), {.batch_size = c.batch_size, .shuffle = true, .seed = 3, .prefetch = 2});
  nn::data::DataLoader test(blobs(100, 2), {.batch_size = 50});
  nn::SGD opt(net.parameters(), {.lr = c.lr, .momentum = 0.9});
  nn::StepLR schedule(opt, 2, 0.5);
  nn::fit_classifier(run, net, net, opt, train, test,
                     {.epochs = c.epochs,
                      .schedule = &schedule,
                      .label_smoothing = 0.05,
                      .on_batch = [&](int64_t epoch, int64_t batch) {
                        CTDL_CHECK(!(epoch == c.interrupt_epoch && batch == 5),
                                   "tiny: simulated crash in epoch ", epoch, " batch ", batch);
                      }});
  run.set_paper("test_accuracy", 1.0);
}

const nn::RegisterExample<TinyConfig> tiny{{
    .name = "tiny-blobs",
    .description = "three Gaussian blobs, a small MLP (a test of the run machinery)",
    .quick = {{"epochs", 2}, {"hidden", {8}}},
    .run = train_tiny,
}};

// Runs the command as `ctdl run ARGS...` would.
int ctdl_run(std::vector<std::string> args) {
  args.insert(args.begin(), "run");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return nn::run_example_command(static_cast<int>(argv.size()), argv.data());
}

std::vector<Json> epoch_records(const std::string& dir) {
  std::vector<Json> out;
  for (Json& r : nn::read_metrics(dir + "/metrics.jsonl"))
    if (r.contains("test_accuracy")) out.push_back(r);
  return out;
}

}  // namespace

TEST_CASE("configs: unknown keys and wrong types are errors naming the key", "[nn][train]") {
  Json config = {
      {"epochs", 10}, {"lr", 1e-3}, {"name", "adam"}, {"model", {{"width", 64}, {"act", "tanh"}}}};
  nn::merge_config(config, {{"lr", 1}, {"model", {{"width", 128}}}},
                   "a.json");  // an integer fits a float
  CHECK(config["lr"].is_number_float());
  CHECK(config["lr"] == 1.0);
  CHECK(config["model"]["width"] == 128);
  CHECK(config["model"]["act"] == "tanh");
  CHECK_THROWS_WITH_ALL(nn::merge_config(config, {{"epoch", 3}}, "a.json"),
                        "a.json: unknown key 'epoch'", "known: epochs, lr, model, name");
  CHECK_THROWS_WITH_ALL(nn::merge_config(config, {{"model", {{"depth", 3}}}}, "b.json"),
                        "unknown key 'model.depth'", "known in 'model': act, width");
  CHECK_THROWS_WITH_ALL(nn::merge_config(config, {{"epochs", 2.5}}, "--set epochs=2.5"),
                        "--set epochs=2.5: 'epochs' must be an integer, got 2.5");
  CHECK_THROWS_WITH_ALL(nn::merge_config(config, {{"lr", "fast"}}, "c"),
                        "'lr' must be a number, got \"fast\"");
  CHECK_THROWS_WITH_ALL(nn::merge_config(config, {{"model", 3}}, "c"), "'model' must be an object");
  CHECK(nn::parse_assignment("lr=0.5") == Json{{"lr", 0.5}});
  CHECK(nn::parse_assignment("name=sgd") == Json{{"name", "sgd"}});
  CHECK(nn::parse_assignment("model.width=[1,2]") == Json{{"model", {{"width", {1, 2}}}}});
  CHECK(nn::parse_assignment("s=\"3\"") == Json{{"s", "3"}});
  CHECK_THROWS_WITH_ALL(nn::parse_assignment("lr"), "expected KEY=VALUE");
  CHECK_THROWS_WITH_ALL(nn::parse_assignment("a..b=1"), "empty part in the key 'a..b'");
}

TEST_CASE("the progress bar redraws on a terminal and prints plain lines elsewhere",
          "[nn][train]") {
  std::ostringstream plain, term;
  nn::ProgressBar a(
      4, {.label = "epoch 1/2", .out = &plain, .terminal = false, .plain_line_seconds = 0});
  nn::ProgressBar b(4, {.label = "epoch 1/2", .out = &term, .terminal = true, .redraw_seconds = 0});
  for (int i = 0; i < 4; ++i) {
    a.step(10, {{"loss", 1.0 / (i + 1)}});
    b.step(10, {{"loss", 1.0 / (i + 1)}});
  }
  a.finish({{"test_accuracy", 0.5}});
  b.finish();
  CHECK(plain.str().find('\r') == std::string::npos);
  CHECK(plain.str().find("epoch 1/2 1/4  loss 1.0000") != std::string::npos);
  CHECK(plain.str().find("ETA") != std::string::npos);
  CHECK(plain.str().find("epoch 1/2 4/4 in 0:00  loss 0.2500  test_accuracy 0.5000") !=
        std::string::npos);
  CHECK(term.str().find("\repoch 1/2 [=======>") != std::string::npos);
  CHECK(term.str().find("] 4/4  loss 0.2500") != std::string::npos);
  CHECK(nn::format_duration(3725) == "1:02:05");
  CHECK(nn::format_duration(59.6) == "1:00");
}

TEST_CASE("metrics files: JSON lines appended, read back, bad lines named", "[nn][train]") {
  TempDir dir("metrics");
  {
    nn::MetricsLog log(dir / "m.jsonl");
    log.write({{"epoch", 1}, {"loss", 0.5}});
  }
  nn::MetricsLog again(dir / "m.jsonl");  // appends
  again.write({{"epoch", 2}, {"loss", 0.25}});
  std::vector<Json> records = nn::read_metrics(dir / "m.jsonl");
  REQUIRE(records.size() == 2);
  CHECK(records[1]["loss"] == 0.25);
  CHECK_THROWS_WITH_ALL(again.write(Json::array()), "must be a JSON object");
  std::ofstream(dir / "m.jsonl", std::ios::app) << "{broken\n";
  std::string where = dir / "m.jsonl:3";
  CHECK_THROWS_WITH_ALL(nn::read_metrics(dir / "m.jsonl"), where.c_str());
}

TEST_CASE("ctdl run: config, metrics, summary, checkpoint and plots in the run directory",
          "[nn][train]") {
  TempDir dir("run");
  std::string out = dir / "tiny";
  REQUIRE(ctdl_run({"tiny-blobs", "--quick", "--set", "lr=0.1", "--out", out}) == 0);
  Json config = nn::read_json_file(out + "/config.json");
  CHECK(config["example"] == "tiny-blobs");
  CHECK(config["config"]["epochs"] == 2);        // from --quick
  CHECK(config["config"]["hidden"] == Json{8});  // from --quick
  CHECK(config["config"]["lr"] == 0.1);          // from --set
  Json summary = nn::read_json_file(out + "/summary.json");
  for (const char* key : {"example", "config", "metrics", "paper", "wall_s"})
    CHECK(summary.contains(key));
  CHECK(summary["metrics"]["test_accuracy"].get<double>() > 0.8);  // blobs are easy
  CHECK(summary["paper"]["test_accuracy"] == 1.0);
  CHECK(epoch_records(out).size() == 2);
  // The checkpoint holds the trained model: evaluating it reproduces the reported accuracy.
  TinyNet net({8});
  nn::load_checkpoint(out + "/checkpoint.safetensors", {.model = &net});
  net.eval();
  nn::data::DataLoader test(blobs(100, 2), {.batch_size = 50});
  CHECK(nn::evaluate_classifier(net, test).second ==
        summary["metrics"]["test_accuracy"].get<double>());
  if (std::system("command -v gnuplot > /dev/null 2>&1") == 0) {
    CHECK(fs::file_size(out + "/loss.png") > 1000);
    CHECK(fs::file_size(out + "/accuracy.png") > 1000);
  } else {
    WARN("gnuplot is not installed: plots not checked");
  }
  // Config errors name the key and stop before running.
  CHECK_THROWS_WITH_ALL(ctdl_run({"tiny-blobs", "--set", "epochz=3", "--out", out}),
                        "unknown key 'epochz'");
  CHECK_THROWS_WITH_ALL(ctdl_run({"tiny-blobs", "--set", "hidden=3", "--out", out}),
                        "'hidden' must be an array");
  CHECK_THROWS_WITH_ALL(ctdl_run({"tiny-blobs", "--set", "hidden=[\"a\"]", "--out", out}),
                        "config of tiny-blobs");
  std::ofstream(dir / "bad.json") << R"({"lr": true})";
  CHECK_THROWS_WITH_ALL(ctdl_run({"tiny-blobs", "--config", dir / "bad.json"}),
                        "bad.json: 'lr' must be a number");
  CHECK_THROWS_WITH_ALL(ctdl_run({"no-such-example"}), "no example named 'no-such-example'",
                        "tiny-blobs");
  CHECK_THROWS_WITH_ALL(ctdl_run({"tiny-blobs", "--frobnicate"}), "unknown option '--frobnicate'");
}

TEST_CASE(
    "an interrupted run resumed from its checkpoint ends with the uninterrupted run's parameters",
    "[nn][train]") {
  TempDir dir("resume");
  std::string straight = dir / "straight", broken = dir / "broken";
  REQUIRE(ctdl_run({"tiny-blobs", "--out", straight}) == 0);
  // Crash in the middle of epoch 2 (0-based): the checkpoint of epoch 2 survives.
  CHECK_THROWS_WITH_ALL(ctdl_run({"tiny-blobs", "--set", "interrupt_epoch=2", "--out", broken}),
                        "simulated crash in epoch 2 batch 5");
  CHECK(epoch_records(broken).size() == 2);
  // Resume: the saved config (with interrupt_epoch=2) is the base, so the crash is switched off.
  REQUIRE(ctdl_run({"tiny-blobs", "--resume", "--set", "interrupt_epoch=-1", "--out", broken}) ==
          0);
  nn::Safetensors a = nn::load_safetensors(straight + "/checkpoint.safetensors");
  nn::Safetensors b = nn::load_safetensors(broken + "/checkpoint.safetensors");
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    INFO(a.tensors[i].first);
    CHECK(a.tensors[i].first == b.tensors[i].first);
    CHECK(allclose(a.tensors[i].second, b.tensors[i].second, 0, 0));  // bit for bit
  }
  CHECK(a.metadata.at("rng_offset") == b.metadata.at("rng_offset"));
  // The metrics hold each epoch once, with the same figures.
  std::vector<Json> ra = epoch_records(straight), rb = epoch_records(broken);
  REQUIRE(ra.size() == 4);
  REQUIRE(rb.size() == 4);
  for (size_t i = 0; i < 4; ++i) {
    CHECK(rb[i]["epoch"] == ra[i]["epoch"]);
    CHECK(rb[i]["test_loss"] == ra[i]["test_loss"]);
  }
  // Resuming with a model of another shape is refused, naming the entries.
  CHECK_THROWS_WITH_ALL(
      ctdl_run({"tiny-blobs", "--resume", "--set", "hidden=[9]", "--out", broken}),
      "'model.body.0.weight' has shape [16, 2]", "but [9, 2]");
}

TEST_CASE("every registered example's --quick config is valid", "[nn][train]") {
  for (const nn::ExampleEntry* e : nn::registered_examples()) {
    INFO(e->name);
    Json config = e->defaults;
    CHECK_NOTHROW(nn::merge_config(config, e->quick, "--quick"));
    CHECK_NOTHROW(e->check(config));
    CHECK_FALSE(e->description.empty());
  }
}

TEST_CASE("plot_lines and plot_image write PNG files with gnuplot", "[nn][train]") {
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) {
    WARN("skipped: gnuplot is not installed");
    return;
  }
  TempDir dir("plot");
  nn::plot_lines(dir / "l.png", {{.title = "y = x^2", .x = {0, 1, 2}, .y = {0, 1, 4}}},
                 {.title = "t", .log_y = true});
  CHECK(fs::file_size(dir / "l.png") > 1000);
  nn::plot_image(dir / "i.png", randn({8, 12}), {.title = "noise"});
  CHECK(fs::file_size(dir / "i.png") > 1000);
  CHECK_THROWS_WITH_ALL(nn::plot_metrics(dir.path.string()), "metrics.jsonl does not exist");
}

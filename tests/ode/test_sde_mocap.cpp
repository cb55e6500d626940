// The latent SDE example's data and a few iterations of it, on the shared CMU mocap file;
// skipped, saying why, when ../shared/data/mocap is absent.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../../examples/latent_sde/mocap.h"
#include "ctdl/nn/train/example.h"
#include "ctdl/nn/train/run.h"
#include "sde_helpers.h"

using namespace ctdl;
using namespace ctdl::testing;
namespace fs = std::filesystem;

TEST_CASE("the MAT-file reader reads mocap35.mat in row-major order", "[sde][mocap]") {
  std::string dir = shared_data_dir("mocap");
  if (dir.empty()) {
    WARN("skipped: ../shared/data/mocap (mocap35.mat) is absent");
    return;
  }
  auto vars = examples::latent_sde::read_mat(dir + "/mocap35.mat");
  REQUIRE(vars.count("Xtr"));
  CHECK(vars["Xtr"].shape() == Dims({16, 300, 50}));
  CHECK(vars["Xval"].shape() == Dims({3, 300, 50}));
  CHECK(vars["Xtest"].shape() == Dims({4, 300, 50}));
  // The file's first two doubles, read off its bytes: MATLAB stores column-major, so they are
  // Xtr[0, 0, 0] and Xtr[1, 0, 0].
  CHECK(vars["Xtr"].select(0, 0).select(0, 0).select(0, 0).item() == 0.0061490999999998935);
  CHECK(vars["Xtr"].select(0, 1).select(0, 0).select(0, 0).item() == -0.022411633333332456);
  examples::latent_sde::Mocap m = examples::latent_sde::load_mocap(dir);
  CHECK(m.test.size(0) == 4);
  CHECK_THROWS_WITH_ALL(examples::latent_sde::load_mocap("/nonexistent"), "mocap35.mat", "ODE2VAE",
                        "--data");
}

TEST_CASE("ctdl run latent-sde trains for a few iterations and reports the test MSE",
          "[sde][mocap]") {
  std::string dir = shared_data_dir("mocap");
  if (dir.empty()) {
    WARN("skipped: ../shared/data/mocap (mocap35.mat) is absent");
    return;
  }
  const nn::ExampleEntry* e = nn::find_example("latent-sde");
  REQUIRE(e != nullptr);
  fs::path out = fs::temp_directory_path() / "ctdl_test_latent_sde";
  fs::remove_all(out);
  for (const char* model : {"sde", "ode"}) {
    nn::Json config = e->defaults;
    nn::merge_config(config,
                     {{"model", model},
                      {"iterations", 2},
                      {"eval_every", 2},
                      {"window", 20},
                      {"val_samples", 2},
                      {"test_samples", 2}},
                     "test");
    nn::Run run({.example = "latent-sde", .dir = out, .config = config, .data = dir});
    e->run(run, config);
    run.write_summary(0.0);
    nlohmann::json summary = nlohmann::json::parse(std::ifstream(out / "summary.json"));
    INFO(summary.dump());
    double mse = summary["metrics"]["test_mse"].get<double>();
    CHECK(std::isfinite(mse));
    CHECK(mse > 0);
    CHECK(summary["paper"]["test_mse"].get<double>() ==
          (std::string(model) == "sde" ? 4.03 : 5.98));
  }
  fs::remove_all(out);
}

// One run of an example: its directory and what goes in it.
//
//   void train(nn::Run& run, const MyConfig& config) {
//     auto mnist = nn::data::load_mnist(run.data_dir("mnist"));
//     run.note(mnist.description);
//     ... build model, opt ...
//     int64_t start = run.resume({.model = &net, .optimizer = &opt});   // 0, or epochs done
//     for (int64_t epoch = start; epoch < config.epochs; ++epoch) {
//       ... train ...
//       run.log({{"epoch", epoch + 1}, {"train_loss", loss}, {"test_accuracy", acc}});
//       run.save_checkpoint(epoch + 1, {.model = &net, .optimizer = &opt});
//     }
//     run.set_metric("test_accuracy", acc);
//     run.set_paper("test_accuracy", 0.99);
//   }
//
// RUN_DIR (`--out`, default runs/NAME) receives:
//   config.json          the full configuration the run used
//   metrics.jsonl        run.log() records, one JSON object per line
//   checkpoint.safetensors   the last save_checkpoint(): model, optimizer, schedule, plus the
//                        epoch, the random generator's state and the config in its metadata
//   summary.json         {"example", "config", "metrics", "paper", "wall_s", "notes"}
//   loss.png, accuracy.png   drawn from metrics.jsonl when the run ends (nn/train/plot.h)
//
// Under mpirun (data-parallel training, nn/train/parallel.h) every rank runs the example and
// rank 0 alone writes RUN_DIR; resume() gives every rank rank 0's checkpoint.
//
// Resuming (`ctdl run NAME --out DIR --resume`): the saved config.json is used again (with
// any --set on top), resume() loads the checkpoint and restores default_generator(), and
// metrics.jsonl is cut back to the checkpoint's epoch. A loop that is a function of (seed,
// epoch) — DataLoader::set_epoch — then ends with the parameters of an uninterrupted run.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "ctdl/nn/io/checkpoint.h"
#include "ctdl/nn/train/config.h"
#include "ctdl/nn/train/metrics.h"

namespace ctdl::nn {

struct RunOptions {
  std::string example;
  std::filesystem::path dir;
  Json config = Json::object();
  std::string data;  // --data; empty: $CTDL_DATA, then the shared data folder
  bool quick = false;
  bool resume = false;  // continue from dir/checkpoint.safetensors if it is there
};

class Run {
 public:
  // Creates the directory; a fresh run (not resume) clears metrics and checkpoint left by an
  // earlier run there.
  explicit Run(RunOptions options);

  const std::filesystem::path& dir() const { return o_.dir; }
  const Json& config() const { return o_.config; }
  bool quick() const { return o_.quick; }
  const std::string& example() const { return o_.example; }

  // The folder of a dataset: --data DIR (DIR/name when that is a folder, else DIR itself),
  // else $CTDL_DATA likewise, else the shared data folder next to the source tree. Throws,
  // saying what was tried, when none exists.
  std::string data_dir(const std::string& name) const;

  // Appends a record to metrics.jsonl (with "time_s" since the run started).
  void log(Json record);
  // A headline figure (summary.json "metrics"), and the paper's figure for it ("paper").
  void set_metric(const std::string& key, Json value);
  void set_paper(const std::string& key, Json value);
  // Printed now and kept in summary.json "notes" (e.g. which data split was used).
  void note(const std::string& text);

  std::filesystem::path checkpoint_path() const { return o_.dir / "checkpoint.safetensors"; }
  void save_checkpoint(int64_t epoch, const CheckpointParts& parts);
  // With --resume and a checkpoint present: loads it into the targets, restores the default
  // random generator, trims metrics.jsonl to its epoch and returns that epoch. Otherwise 0.
  int64_t resume(const CheckpointTargets& targets);

  double elapsed_seconds() const;
  // Writes summary.json (the runner calls it when the example returns).
  void write_summary(double wall_s) const;

 private:
  RunOptions o_;
  std::unique_ptr<MetricsLog> metrics_;
  Json results_ = Json::object(), paper_ = Json::object(), notes_ = Json::array();
  std::chrono::steady_clock::time_point start_;
};

// `ctdl run ...` and `ctdl list`: parse the arguments, run, report. They return the exit
// status; a program of your own that registers examples can call them from its main().
int run_example_command(int argc, char** argv);
int list_examples_command(int argc, char** argv);

}  // namespace ctdl::nn

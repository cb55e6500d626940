// A progress bar for training loops: on a terminal it redraws one line; when the output is
// not a terminal (a log file, CI) it prints a plain line now and then instead.
//
//   nn::ProgressBar bar(loader.size(), {.label = "epoch 3/10"});
//   for (auto [x, y] : loader) {
//     ...
//     bar.step(x.size(0), {{"loss", loss.item()}});
//   }
//   bar.finish({{"test_accuracy", 0.981}});
//   // epoch 3/10 [==============>       ] 45/63  loss 0.2143  12,345 samples/s  ETA 0:02
//   // epoch 3/10 63/63 in 5.1s  loss 0.1987  test_accuracy 0.981  12,410 samples/s
#pragma once

#include <chrono>
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ctdl::nn {

using Values = std::vector<std::pair<std::string, double>>;

struct ProgressOptions {
  std::string label;
  std::ostream* out = &std::cout;
  std::optional<bool> terminal;      // default: whether stdout is a terminal (and out is std::cout)
  double redraw_seconds = 0.1;       // on a terminal
  double plain_line_seconds = 15.0;  // otherwise
  int width = 30;                    // of the bar, in characters
};

class ProgressBar {
 public:
  ProgressBar(int64_t total_steps, ProgressOptions options = {});
  // One more step done, covering `samples` examples; `values` are shown (the latest wins).
  void step(int64_t samples, const Values& values = {});
  // The closing line, with the epoch's figures.
  void finish(const Values& values = {});
  int64_t steps_done() const { return done_; }

 private:
  using Clock = std::chrono::steady_clock;
  std::string status(bool final) const;
  double elapsed() const;

  int64_t total_, done_ = 0, samples_ = 0;
  ProgressOptions o_;
  bool terminal_;
  Values values_;
  Clock::time_point start_, last_draw_;
};

// "0:07", "1:02:03"
std::string format_duration(double seconds);

}  // namespace ctdl::nn

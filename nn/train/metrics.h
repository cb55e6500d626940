// Metrics as JSON lines: one object per line, appended and flushed as training goes, so a
// crash loses nothing already logged and `ctdl plot` can draw a run while it is running.
//
//   nn::MetricsLog log("runs/mlp/metrics.jsonl");
//   log.write({{"epoch", 1}, {"train_loss", 0.31}, {"test_accuracy", 0.95}});
//   std::vector<nlohmann::json> records = nn::read_metrics("runs/mlp/metrics.jsonl");
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ctdl::nn {

class MetricsLog {
 public:
  explicit MetricsLog(std::string path);  // appends to what is there
  void write(const nlohmann::json& record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

// Every record of a metrics file; a line that is not a JSON object is an Error naming the
// file and the line.
std::vector<nlohmann::json> read_metrics(const std::string& path);

}  // namespace ctdl::nn

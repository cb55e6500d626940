#include "ctdl/nn/train/metrics.h"

#include <cstring>

#include "ctdl/tensor/error.h"

namespace ctdl::nn {

MetricsLog::MetricsLog(std::string path) : path_(std::move(path)), out_(path_, std::ios::app) {
  CTDL_CHECK(out_.good(), "MetricsLog: cannot open '", path_,
             "' for appending: ", std::strerror(errno));
}

void MetricsLog::write(const nlohmann::json& record) {
  CTDL_CHECK(record.is_object(), "MetricsLog: a record must be a JSON object, got ", record.dump());
  out_ << record.dump() << "\n" << std::flush;
  CTDL_CHECK(out_.good(), "MetricsLog: writing '", path_, "' failed");
}

std::vector<nlohmann::json> read_metrics(const std::string& path) {
  std::ifstream in(path);
  CTDL_CHECK(in.good(), "read_metrics: cannot open '", path, "': ", std::strerror(errno));
  std::vector<nlohmann::json> records;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    CTDL_CHECK(!record.is_discarded() && record.is_object(), "read_metrics: ", path, ":", number,
               ": not a JSON object: ", line.substr(0, 80));
    records.push_back(std::move(record));
  }
  return records;
}

}  // namespace ctdl::nn

#include "ctdl/nn/train/run.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "ctdl/nn/io/atomic_file.h"
#include "ctdl/nn/train/parallel.h"
#include "ctdl/tensor/error.h"
#include "ctdl/tensor/random.h"

#ifndef CTDL_SHARED_DATA_DIR
#define CTDL_SHARED_DATA_DIR ""
#endif

namespace ctdl::nn {

namespace fs = std::filesystem;

Run::Run(RunOptions options) : o_(std::move(options)), start_(std::chrono::steady_clock::now()) {
  fs::create_directories(o_.dir);
  if (!is_main_process()) return;  // data-parallel: rank 0 alone writes (nn/train/parallel.h)
  if (!o_.resume) {
    fs::remove(o_.dir / "metrics.jsonl");
    fs::remove(checkpoint_path());
  }
  write_file_atomically((o_.dir / "config.json").string(),
                        Json{{"example", o_.example}, {"config", o_.config}}.dump(2) + "\n");
  metrics_ = std::make_unique<MetricsLog>((o_.dir / "metrics.jsonl").string());
}

double Run::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Run::data_dir(const std::string& name) const {
  std::vector<std::string> tried;
  auto pick = [&](const std::string& root, bool root_itself) -> std::string {
    if (root.empty()) return "";
    fs::path sub = fs::path(root) / name;
    tried.push_back(sub.string());
    if (fs::is_directory(sub)) return fs::weakly_canonical(sub).string();
    if (root_itself && fs::is_directory(root)) return fs::weakly_canonical(root).string();
    if (root_itself) tried.push_back(root);
    return "";
  };
  if (!o_.data.empty()) {
    std::string d = pick(o_.data, true);
    CTDL_CHECK(!d.empty(), "data: --data ", o_.data, " is not a folder");
    return d;
  }
  const char* env = std::getenv("CTDL_DATA");
  if (env && *env) {
    std::string d = pick(env, true);
    CTDL_CHECK(!d.empty(), "data: CTDL_DATA=", env, " is not a folder");
    return d;
  }
  std::string d = pick(CTDL_SHARED_DATA_DIR, false);
  if (!d.empty()) return d;
  std::string list;
  for (const std::string& t : tried) list += " " + t;
  fail("data: no '", name, "' data found (tried", list.empty() ? " nothing" : list,
       "); pass --data DIR (the "
       "dataset's folder, or a folder with a '",
       name, "' sub-folder) or set CTDL_DATA");
}

void Run::log(Json record) {
  if (!metrics_) return;  // a rank other than 0
  record["time_s"] = std::round(elapsed_seconds() * 1000) / 1000;
  metrics_->write(record);
}

void Run::set_metric(const std::string& key, Json value) { results_[key] = std::move(value); }
void Run::set_paper(const std::string& key, Json value) { paper_[key] = std::move(value); }

void Run::note(const std::string& text) {
  if (is_main_process()) std::cout << text << "\n";
  notes_.push_back(text);
}

void Run::save_checkpoint(int64_t epoch, const CheckpointParts& parts) {
  if (!is_main_process()) return;
  CheckpointParts p = parts;
  Generator& gen = default_generator();
  p.metadata["epoch"] = std::to_string(epoch);
  p.metadata["example"] = o_.example;
  p.metadata["config"] = o_.config.dump();
  p.metadata["rng_seed"] = std::to_string(gen.seed());
  p.metadata["rng_offset"] = std::to_string(gen.offset());
  nn::save_checkpoint(checkpoint_path().string(), p);
}

int64_t Run::resume(const CheckpointTargets& targets) {
  std::string source = checkpoint_path().string();
  bool found = o_.resume && fs::exists(checkpoint_path());
  // Data-parallel: every rank resumes from rank 0's checkpoint, which only rank 0's file
  // system may hold; the others load a copy of its bytes.
  fs::path copy;
  if (DataParallel* dp = data_parallel(); dp && dp->size() > 1) {
    std::string bytes;
    if (dp->rank() == 0 && found) {
      std::ifstream in(source, std::ios::binary);
      std::ostringstream content;
      content << in.rdbuf();
      bytes = content.str();
      CTDL_CHECK(in && !bytes.empty(), "resume: cannot read ", source);
    }
    bytes = dp->broadcast_from_main(bytes);
    found = !bytes.empty();
    if (found && dp->rank() != 0) {
      copy = fs::temp_directory_path() /
             ("ctdl-resume-" + std::to_string(::getpid()) + ".safetensors");
      write_file_atomically(copy.string(), bytes);
      source = copy.string();
    }
  }
  if (!found) return 0;
  Metadata meta = load_checkpoint(source, targets);
  if (!copy.empty()) fs::remove(copy);
  CTDL_CHECK(meta.count("epoch") && meta.count("rng_seed") && meta.count("rng_offset"),
             "resume: ", checkpoint_path().string(),
             " lacks the epoch or random-generator state (not written by Run)");
  int64_t epoch = std::stoll(meta.at("epoch"));
  Generator& gen = default_generator();
  gen.manual_seed(std::stoull(meta.at("rng_seed")));
  gen.set_offset(std::stoull(meta.at("rng_offset")));
  if (!is_main_process()) return epoch;
  // Records written after the checkpoint belong to the epoch being redone.
  fs::path file = o_.dir / "metrics.jsonl";
  std::vector<Json> kept;
  for (Json& r : read_metrics(file.string()))
    if (!r.contains("epoch") || !r["epoch"].is_number() ||
        r["epoch"].get<double>() <= static_cast<double>(epoch))
      kept.push_back(std::move(r));
  std::string text;
  for (const Json& r : kept) text += r.dump() + "\n";
  metrics_.reset();
  write_file_atomically(file.string(), text);
  metrics_ = std::make_unique<MetricsLog>(file.string());
  note("resumed from " + checkpoint_path().string() + " after epoch " + std::to_string(epoch));
  return epoch;
}

void Run::write_summary(double wall_s) const {
  if (!is_main_process()) return;
  Json summary = {{"example", o_.example},
                  {"config", o_.config},
                  {"metrics", results_},
                  {"paper", paper_},
                  {"wall_s", std::round(wall_s * 100) / 100},
                  {"notes", notes_}};
  write_file_atomically((o_.dir / "summary.json").string(), summary.dump(2) + "\n");
}

}  // namespace ctdl::nn

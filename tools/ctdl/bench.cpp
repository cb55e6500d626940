// `ctdl bench`: times the reference workloads (bench_workloads.h) and prints one JSON object
// per workload per line, the format ../shared/bench/compare.py reads next to PyTorch's:
//   {"workload": "matmul_n512", "median_ms": 3.1, "min_ms": 3.0, "reps": 7, "gflops": 86.6, ...}
// Each workload is prepared untimed, run once to warm up, then timed `reps` times.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "bench_workloads.h"
#include "commands.h"
#include "ctdl/ctdl.h"
#include "ctdl/tensor/threads.h"

namespace ctdl::cli {

namespace {

using json = nlohmann::ordered_json;  // keys in the order written: workload first

const char* const kUsage = "usage: ctdl bench [--only NAME,NAME] [--reps N] [--list]\n";

void help() {
  std::cout
      << kUsage
      << "\nTimes ctdl on the reference workloads of ../shared/bench/WORKLOADS.md and prints\n"
         "one JSON object per workload per line: workload, median_ms, min_ms, reps,\n"
         "threads, peak_bytes (the most memory one repetition allocated beyond what was\n"
         "live before it) and, where they apply, gflops, gbps, nfe (evaluations of an ODE's\n"
         "right-hand side, forward and backward) and nfe_backward. Each workload runs once\n"
         "untimed first.\n"
         "All cores are used unless CTDL_NUM_THREADS says otherwise.\n\n"
         "  --only NAME,NAME  these workloads only (see --list)\n"
         "  --reps N          timed repetitions per workload (default 7)\n"
         "  --list            the workloads, one a line\n\n"
         "Side by side with PyTorch:\n"
         "  python3 ../shared/bench/compare.py -- build/bin/ctdl bench\n";
}

std::vector<std::string> split_names(const std::string& list) {
  std::vector<std::string> names;
  std::stringstream in(list);
  for (std::string name; std::getline(in, name, ',');)
    if (!name.empty()) names.push_back(name);
  return names;
}

// The workloads named in `only` (all of them when it is empty), in the usual order.
std::vector<const benchmarks::Workload*> select(const std::vector<std::string>& only) {
  std::string unknown, known;
  for (const std::string& name : only) {
    bool found = std::any_of(benchmarks::workloads().begin(), benchmarks::workloads().end(),
                             [&](const benchmarks::Workload& w) { return name == w.name; });
    if (!found) unknown += (unknown.empty() ? "'" : ", '") + name + "'";
  }
  for (const benchmarks::Workload& w : benchmarks::workloads())
    known += (known.empty() ? "" : ", ") + std::string(w.name);
  CTDL_CHECK(unknown.empty(), "unknown workload ", unknown, " (known: ", known, ")");
  std::vector<const benchmarks::Workload*> chosen;
  for (const benchmarks::Workload& w : benchmarks::workloads())
    if (only.empty() || std::find(only.begin(), only.end(), w.name) != only.end())
      chosen.push_back(&w);
  return chosen;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;  // as Python's statistics.median
}

json measure(const benchmarks::Workload& w, int reps) {
  benchmarks::Prepared p = w.prepare();
  p.repetition();  // warm-up
  std::vector<double> ms;
  int64_t peak = 0;
  for (int i = 0; i < reps; ++i) {
    reset_peak_memory();
    const int64_t live = memory_stats().live_bytes;
    auto start = std::chrono::steady_clock::now();
    p.repetition();
    auto stop = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
    peak = std::max(peak, memory_stats().peak_bytes - live);
  }
  const double med = median(ms);
  json out = {{"workload", w.name},
              {"median_ms", med},
              {"min_ms", *std::min_element(ms.begin(), ms.end())},
              {"reps", reps},
              {"threads", num_threads()},
              {"peak_bytes", peak}};
  if (p.flops > 0) out["gflops"] = p.flops / med / 1e6;
  if (p.bytes > 0) out["gbps"] = p.bytes / med / 1e6;
  if (p.ode_stats) {
    out["nfe"] = p.ode_stats->nfe;
    out["nfe_backward"] = p.ode_stats->nfe_backward();
  }
  return out;
}

}  // namespace

int bench(int argc, char** argv) {
  std::vector<std::string> only;
  int reps = 7;
  bool list = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help();
      return 0;
    }
    if (arg == "--list") {
      list = true;
    } else if (arg == "--only" || arg == "--reps") {
      CTDL_CHECK(i + 1 < argc, "option ", arg, " needs a value");
      std::string value = argv[++i];
      if (arg == "--only") {
        only = split_names(value);
        CTDL_CHECK(!only.empty(), "--only needs at least one workload name");
      } else {
        char* end = nullptr;
        long n = std::strtol(value.c_str(), &end, 10);
        CTDL_CHECK(*end == '\0' && n >= 1 && n <= 1000000,
                   "--reps must be a positive integer, got \"", value, "\"");
        reps = static_cast<int>(n);
      }
    } else {
      std::cerr << "ctdl bench: unexpected argument '" << arg << "'\n" << kUsage;
      return 2;
    }
  }
  std::vector<const benchmarks::Workload*> chosen = select(only);
  if (list) {
    for (const benchmarks::Workload* w : chosen)
      std::cout << w->name
                << std::string(
                       std::max<size_t>(20, std::strlen(w->name) + 2) - std::strlen(w->name), ' ')
                << w->description << "\n";
    return 0;
  }
  manual_seed(0);
  for (const benchmarks::Workload* w : chosen) std::cout << measure(*w, reps).dump() << std::endl;
  return 0;
}

}  // namespace ctdl::cli

// `ctdl bench`: times the reference workloads (bench_workloads.h) and prints one JSON object
// per workload per line, the format ../shared/bench/compare.py reads next to PyTorch's:
//   {"workload": "matmul_n512", "median_ms": 3.1, "min_ms": 3.0, "reps": 7, "threads": 2,
//    "device": "cpu", "peak_bytes": 0, "gflops": 86.6, ...}
// Each workload is prepared untimed on the device of --device, run once to warm up, then
// timed `reps` times. On a GPU the clock stops after cuda::synchronize(), once the
// repetition's kernels have finished, not when they were queued.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "bench_workloads.h"
#include "commands.h"
#include "ctdl/backends/cuda/cuda.h"
#include "ctdl/ctdl.h"
#include "ctdl/tensor/threads.h"

namespace ctdl::cli {

namespace {

using json = nlohmann::ordered_json;  // keys in the order written: workload first

const char* const kUsage =
    "usage: ctdl bench [--device cpu|cuda[:N]] [--only NAME,NAME] [--reps N] [--list]\n";

void help() {
  std::cout
      << kUsage
      << "\nTimes ctdl on the reference workloads of ../shared/bench/WORKLOADS.md and prints\n"
         "one JSON object per workload per line: workload, median_ms, min_ms, reps,\n"
         "threads, device, peak_bytes (the most memory one repetition allocated beyond what\n"
         "was live before it) and, where they apply, gflops, gbps, nfe (evaluations of an\n"
         "ODE's right-hand side, forward and backward) and nfe_backward. Each workload runs\n"
         "once untimed first.\n"
         "All cores are used unless CTDL_NUM_THREADS says otherwise.\n\n"
         "  --device DEVICE   where the tensors, models and optimizers live: cpu (default),\n"
         "                    cuda or cuda:N (needs a build with CTDL_CUDA and a GPU); on a\n"
         "                    GPU each repetition is timed until cuda::synchronize() returns,\n"
         "                    and the GPU's description is printed once on stderr\n"
         "  --only NAME,NAME  these workloads only (see --list)\n"
         "  --reps N          timed repetitions per workload (default 7)\n"
         "  --list            the workloads, one a line\n\n"
         "A workload that fails (an operation the device does not have, say) prints\n"
         "{\"workload\": ..., \"device\": ..., \"error\": ...} and the others still run; the\n"
         "exit status is then 1.\n\n"
         "Side by side with PyTorch:\n"
         "  python3 ../shared/bench/compare.py -- build/bin/ctdl bench\n"
         "  python3 bench/compare_cuda.py -- build/bin/ctdl bench --device cuda\n";
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

// "cpu", "cuda" (device 0) or "cuda:N".
Device parse_device(const std::string& text) {
  if (text == "cpu") return Device::cpu();
  if (text == "cuda") return Device::cuda(0);
  if (text.rfind("cuda:", 0) == 0 && text.size() > 5) {
    char* end = nullptr;
    long index = std::strtol(text.c_str() + 5, &end, 10);
    if (*end == '\0' && text[5] >= '0' && text[5] <= '9' && index <= 1024)
      return Device::cuda(static_cast<int>(index));
  }
  fail("--device must be cpu, cuda or cuda:N, got \"", text, "\"");
}

// Throws a one-line error naming `device` and why it cannot be used.
void require_available(Device device) {
  if (device.is_cpu()) return;
  CTDL_CHECK(cuda::is_built(), "device ", device,
             " is not available: this build of ctdl has no CUDA backend (configure with "
             "-DCTDL_CUDA=ON and the CUDA toolkit installed)");
  if (device_available(device)) return;
  const int count = cuda::device_count();
  if (count == 0) fail("device ", device, " is not available: the CUDA driver reports no GPU");
  fail("device ", device, " is not available: this machine has ", count, " GPU",
       count == 1 ? "" : "s", " (cuda:0", count == 1 ? "" : str("..cuda:", count - 1), ")");
}

// Waits for the work queued on `device` (nothing to wait for on the CPU).
void wait_for(Device device) {
  if (device.is_cuda()) cuda::synchronize(device.index);
}

json measure(const benchmarks::Workload& w, Device device, int reps) {
  benchmarks::Prepared p = w.prepare(device);
  wait_for(device);  // inputs made
  p.repetition();    // warm-up
  wait_for(device);
  std::vector<double> ms;
  int64_t peak = 0;
  for (int i = 0; i < reps; ++i) {
    reset_peak_memory();
    const int64_t live = memory_stats().live_bytes;
    auto start = std::chrono::steady_clock::now();
    p.repetition();
    wait_for(device);
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
              {"device", str(device)},
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
  Device device = Device::cpu();
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help();
      return 0;
    }
    if (arg == "--list") {
      list = true;
    } else if (arg == "--only" || arg == "--reps" || arg == "--device") {
      CTDL_CHECK(i + 1 < argc, "option ", arg, " needs a value");
      std::string value = argv[++i];
      if (arg == "--device") {
        device = parse_device(value);
      } else if (arg == "--only") {
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
  require_available(device);
  if (device.is_cuda())
    std::cerr << "ctdl bench: " << device << " is " << cuda::device_description(device.index)
              << "\n";
  manual_seed(0);
  int failed = 0;
  for (const benchmarks::Workload* w : chosen) {
    json line;
    try {
      line = measure(*w, device, reps);
    } catch (const std::exception& e) {
      // One workload the device cannot run yet should not hide the others' timings.
      std::cerr << "ctdl bench: " << w->name << " on " << device << " failed: " << e.what()
                << "\n";
      line = {{"workload", w->name}, {"device", str(device)}, {"error", e.what()}};
      ++failed;
    }
    std::cout << line.dump() << std::endl;
  }
  return failed ? 1 : 0;
}

}  // namespace ctdl::cli

// The workloads of `ctdl bench`: those of ../shared/bench/WORKLOADS.md, each doing per
// repetition what peer_torch.py does in PyTorch, written the way a ctdl user would write
// it (tensor ops, the nn/ model DSL, ode::odeint), so that the timings measure what users
// get.
//
//   for (const benchmarks::Workload& w : benchmarks::workloads()) {
//     benchmarks::Prepared p = w.prepare(Device::cpu());  // inputs, model, optimizer: untimed
//     p.repetition();                                     // one timed repetition
//   }
//
// prepare(device) puts every tensor, model and optimizer of the workload on `device`. On a
// GPU a repetition only queues its kernels: the caller waits for them (cuda::synchronize)
// before stopping the clock.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "ctdl/ode/integrate.h"
#include "ctdl/tensor/device.h"

namespace ctdl::cli::benchmarks {

struct Prepared {
  std::function<void()> repetition;
  double flops = 0;  // floating-point operations per repetition: reported as gflops
  double bytes = 0;  // bytes read and written per repetition: reported as gbps
  std::shared_ptr<ode::Stats> ode_stats;  // the last repetition's solver counters: nfe
};

struct Workload {
  const char* name;
  const char* description;
  std::function<Prepared(Device)> prepare;
};

// In the order of WORKLOADS.md.
const std::vector<Workload>& workloads();

}  // namespace ctdl::cli::benchmarks

// The thread limit: oneTBB's global_control, set from CTDL_NUM_THREADS or set_num_threads.
#include <tbb/global_control.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "ctdl/tensor/error.h"
#include "ctdl/tensor/threads.h"

namespace ctdl {
namespace {

struct ThreadLimit {
  std::mutex mutex;  // around replacing `control`
  std::atomic<int> threads{1};  // read without the lock, by every parallel kernel
  std::unique_ptr<tbb::global_control> control;

  ThreadLimit() {
    int n = static_cast<int>(std::thread::hardware_concurrency());
    if (const char* env = std::getenv("CTDL_NUM_THREADS"); env && *env) {
      char* end = nullptr;
      long v = std::strtol(env, &end, 10);
      CTDL_CHECK(*end == '\0' && v >= 1 && v <= 4096,
                 "CTDL_NUM_THREADS: expected a positive integer, got '", env, "'");
      n = static_cast<int>(v);
    }
    apply(n < 1 ? 1 : n);
  }
  void apply(int n) {
    control =
        std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, n);
    threads.store(n, std::memory_order_relaxed);
  }
};

ThreadLimit& limit() {
  static ThreadLimit l;
  return l;
}

}  // namespace

int num_threads() { return limit().threads.load(std::memory_order_relaxed); }

void set_num_threads(int n) {
  CTDL_CHECK(n >= 1, "set_num_threads: expected at least 1 thread, got ", n);
  ThreadLimit& l = limit();
  std::lock_guard lock(l.mutex);
  l.apply(n);
}

namespace cpu {
void ensure_thread_limit() { limit(); }
}  // namespace cpu

}  // namespace ctdl

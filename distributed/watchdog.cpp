#include "ctdl/distributed/watchdog.h"

#include <chrono>
#include <cstdlib>
#include <thread>

#include "ctdl/distributed/communicator.h"

namespace ctdl::distributed {

double Watchdog::default_timeout() {
  const char* env = std::getenv("CTDL_DIST_TIMEOUT");
  if (!env || !*env) return 300.0;
  char* end = nullptr;
  double s = std::strtod(env, &end);
  CTDL_CHECK(end && *end == '\0' && s > 0, "CTDL_DIST_TIMEOUT: expected a positive number of ",
             "seconds, got '", env, "'");
  return s;
}

Watchdog::Watchdog(double timeout_seconds) { set_timeout(timeout_seconds); }

void Watchdog::set_timeout(double seconds) {
  CTDL_CHECK(seconds > 0, "Watchdog: the timeout must be positive, got ", seconds, " s");
  timeout_ = seconds;
}

void Watchdog::wait(Work& work, const std::string& what, int rank, int size) const {
  using Clock = std::chrono::steady_clock;
  // Most answers come within microseconds: test a few times before looking at the clock.
  for (int i = 0; i < 64; ++i)
    if (work.test()) return;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(timeout_);
  auto pause = std::chrono::microseconds(5);
  while (!work.test()) {
    auto now = Clock::now();
    if (now >= deadline)
      throw RankFailure(str("rank ", rank, " of ", size, ": no answer after ", timeout_,
                            " s while waiting for ", what,
                            ": another rank has died or stalls (the timeout is "
                            "$CTDL_DIST_TIMEOUT seconds, 300 by default)"));
    if (now - start < std::chrono::milliseconds(2)) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(1000));
    }
  }
}

}  // namespace ctdl::distributed

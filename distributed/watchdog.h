// Waiting with a deadline: what keeps a rank from hanging forever when a peer has died or
// stalls.
//
//   distributed::Watchdog dog(10.0);                  // seconds; default $CTDL_DIST_TIMEOUT or 300
//   dog.wait(work, "all-reduce of gradient bucket 2", comm.rank(), comm.size());
//   // throws distributed::RankFailure("rank 0 of 2: no answer after 10 s while waiting for
//   //   all-reduce of gradient bucket 2: another rank has died or stalls ...")
//
// MPI's own waits block without a limit, so every wait in distributed/ polls a non-blocking
// operation instead: a short spin for the common quick answer, then sleeps that back off to
// 1 ms, so that a waiting rank leaves the cores to ranks still computing. A collective in
// flight cannot be cancelled: after a RankFailure the program should end every rank
// (Communicator::abort, which distributed::launch does), not go on.
#pragma once

#include <string>

#include "ctdl/tensor/error.h"

namespace ctdl::distributed {

class Work;

// A peer did not answer within the watchdog's timeout.
class RankFailure : public Error {
 public:
  using Error::Error;
};

class Watchdog {
 public:
  // $CTDL_DIST_TIMEOUT (seconds, > 0) if set, else 300.
  static double default_timeout();

  explicit Watchdog(double timeout_seconds = default_timeout());
  double timeout() const { return timeout_; }
  void set_timeout(double seconds);

  // Polls `work` until it completes; throws RankFailure naming `what`, this rank and the
  // timeout once `timeout()` seconds have passed without completion.
  void wait(Work& work, const std::string& what, int rank, int size) const;

 private:
  double timeout_;
};

}  // namespace ctdl::distributed

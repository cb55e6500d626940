// A two-rank training run in which rank 1 fails at step 3, for failure.cmake:
//
//   mpirun -np 2 distributed_failure MODE RUN_DIR    MODE: exit | stall | crash | none
//   distributed_failure check RUN_DIR                 (one process) the checkpoint loads
//
// exit: rank 1 leaves its loop and finalizes MPI; stall: it sleeps; crash: it dies without
// finalizing. Rank 0 saves a checkpoint after every completed step (nn::Run, rank 0 only),
// and must stop with a clear error within CTDL_DIST_TIMEOUT instead of hanging.
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include "ctdl/ctdl.h"
#include "ctdl/nn/train/run.h"

using namespace ctdl;

namespace {

struct Net : nn::Module {
  nn::Linear fc = register_module("fc", nn::Linear(4, 2));
};

int train(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: distributed_failure exit|stall|crash|none|check RUN_DIR\n";
    return 2;
  }
  const std::string mode = argv[1];
  manual_seed(0);
  Net net;
  nn::SGD opt(net.parameters(), {.lr = 0.1});
  nn::Run run({.example = "failure", .dir = argv[2], .resume = mode == "check"});
  if (mode == "check") {
    int64_t epoch = run.resume({.model = &net, .optimizer = &opt});
    std::cout << "checkpoint of step " << epoch << " loads\n";
    return epoch > 0 ? 0 : 1;
  }
  distributed::Communicator& comm = distributed::world();
  distributed::DistributedDataParallel ddp(comm, net);
  for (int64_t step = 1; step <= 6; ++step) {
    if (comm.rank() == 1 && step == 3) {
      if (mode == "exit") return 0;
      if (mode == "stall") std::this_thread::sleep_for(std::chrono::seconds(600));
      if (mode == "crash") std::_Exit(3);
    }
    opt.zero_grad();
    square(net.fc(randn({8, 4}))).mean().backward();  // returns once the ranks have summed
    opt.step();
    run.save_checkpoint(step, {.model = &net, .optimizer = &opt});
    std::cout << "step " << step << " done\n" << std::flush;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return distributed::launch(argc, argv, train); }

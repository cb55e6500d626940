// `ctdl list`, `ctdl run` and `ctdl plot`: thin wrappers of nn/train, where the example
// registry and the run directory live (so a program of your own can offer the same).
#include <cstring>
#include <iostream>

#include "commands.h"
#include "ctdl/distributed/launch.h"
#include "ctdl/nn/train/plot.h"
#include "ctdl/nn/train/run.h"

namespace ctdl::cli {

int list(int argc, char** argv) { return nn::list_examples_command(argc, argv); }

// Under mpirun every rank runs the example, data-parallel where it trains with
// fit_classifier (distributed/launch.h); launched plainly, this is just the run.
int run(int argc, char** argv) { return distributed::launch(argc, argv, nn::run_example_command); }

int plot(int argc, char** argv) {
  if (argc != 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    bool help = argc == 2;
    (help ? std::cout : std::cerr)
        << "usage: ctdl plot RUN_DIR\n\nDraws RUN_DIR/metrics.jsonl with gnuplot: loss.png (every "
           "key with "
           "'loss' in its name),\naccuracy.png ('acc') and lr.png ('lr'), against the epoch.\n";
    return help ? 0 : 2;
  }
  for (const std::string& png : nn::plot_metrics(argv[1])) std::cout << png << "\n";
  return 0;
}

}  // namespace ctdl::cli

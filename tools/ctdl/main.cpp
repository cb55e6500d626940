// ctdl: the command-line entry point.
//
//   ctdl demo          a short tour of the model DSL
//   ctdl list          the registered examples
//   ctdl run EXAMPLE   run one (see nn/train/run.h)
//   ctdl plot RUN_DIR  draw its curves
//   ctdl lab FILE      compares ODE gradient schemes on a problem (ode/lab/)
//   ctdl bench         times the reference workloads (../shared/bench/WORKLOADS.md)
//   ctdl help          the list of commands
#include <cstring>
#include <exception>
#include <iostream>

#include "commands.h"
#include "ctdl/tensor/error.h"

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(int argc, char** argv);
};

const Command kCommands[] = {
    {"demo", "a short tour of the model DSL: build, train, checkpoint, plot", ctdl::cli::demo},
    {"list", "the examples 'ctdl run' knows", ctdl::cli::list},
    {"run", "run an example: ctdl run EXAMPLE [--quick] [--set KEY=VALUE] [--out DIR]",
     ctdl::cli::run},
    {"plot", "draw a run's loss and accuracy curves: ctdl plot RUN_DIR", ctdl::cli::plot},
    {"lab", "compares ODE solvers and gradient schemes on a problem file (JSON)", ctdl::cli::lab},
    {"bench", "times the benchmark workloads, one JSON line each", ctdl::cli::bench},
};

int usage(std::ostream& out) {
  out << "usage: ctdl COMMAND [ARGS...]\n\ncommands:\n";
  for (const Command& c : kCommands)
    out << "  " << c.name << std::string(10 - std::strlen(c.name), ' ') << c.summary << "\n";
  out << "\n'ctdl COMMAND --help' describes a command.\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(std::cerr);
    return 2;
  }
  const char* name = argv[1];
  if (!std::strcmp(name, "help") || !std::strcmp(name, "--help") || !std::strcmp(name, "-h"))
    return usage(std::cout);
  for (const Command& c : kCommands) {
    if (std::strcmp(c.name, name) != 0) continue;
    try {
      return c.run(argc - 1, argv + 1);
    } catch (const ctdl::Error& e) {
      std::cerr << "ctdl " << name << ": " << e.what() << "\n";
      return 1;
    } catch (const std::exception& e) {
      std::cerr << "ctdl " << name << ": unexpected error: " << e.what() << "\n";
      return 1;
    }
  }
  std::cerr << "ctdl: unknown command '" << name << "'\n\n";
  usage(std::cerr);
  return 2;
}

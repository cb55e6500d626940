// `ctdl lab PROBLEM.json`: compare solvers and gradient schemes on one ODE problem. The
// work is ode::lab::run (ode/lab/lab.h); this is the command-line wrapper.
#include "ctdl/ode/lab/lab.h"

#include <cstring>
#include <iostream>

#include "commands.h"

namespace ctdl::cli {

int lab(int argc, char** argv) {
  const char* path = nullptr;
  bool table = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::cout
          << "usage: ctdl lab PROBLEM.json [--table]\n\n"
             "Runs one ODE problem under each solver and gradient scheme listed in the file and\n"
             "prints one JSON object: the reference gradient, and for each run its loss, "
             "gradients,\n"
             "grad_rel_error, nfe_forward, nfe_backward, steps, peak_bytes and wall_ms.\n"
             "--table prints the runs as a Markdown table instead. Examples: examples/lab/*.json;\n"
             "the format is in README.md, section \"The adjoint lab\".\n";
      return 0;
    }
    if (!std::strcmp(argv[i], "--table"))
      table = true;
    else if (!path)
      path = argv[i];
    else {
      std::cerr << "ctdl lab: unexpected argument '" << argv[i] << "'\n";
      return 2;
    }
  }
  if (!path) {
    std::cerr << "usage: ctdl lab PROBLEM.json [--table]\n";
    return 2;
  }
  std::string result = ode::lab::run_file(path);
  std::cout << (table ? ode::lab::markdown_table(result) : result + "\n");
  return 0;
}

}  // namespace ctdl::cli

// The MPI tests' main: Catch2 on every rank inside distributed::launch. A test fails when it
// fails on any rank. Run by CTest as `mpirun -np 2 test_distributed_mpi "test name"`.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "ctdl/distributed/launch.h"

int main(int argc, char** argv) {
  return ctdl::distributed::launch(
      argc, argv,
      [](int argc, char** argv) {
        int failed = Catch::Session().run(argc, argv);
        double everywhere = ctdl::distributed::world().sum({static_cast<double>(failed)})[0];
        return everywhere > 0 ? 1 : 0;
      },
      {.quiet_workers = false});
}

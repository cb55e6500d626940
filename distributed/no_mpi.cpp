// Stands in for mpi_communicator.cpp in a build without MPI (CTDL_MPI off, or MPI not found).
#include "ctdl/distributed/communicator.h"

namespace ctdl::distributed {

std::unique_ptr<Communicator> make_mpi_world() {
  fail("distributed: this ctdl was built without MPI (configure with -DCTDL_MPI=ON and Open MPI ",
       "installed: libopenmpi-dev, openmpi-bin)");
}
bool built_with_mpi() { return false; }

namespace mpi {
void init(int*, char***) { make_mpi_world(); }
void finalize() {}
}  // namespace mpi

}  // namespace ctdl::distributed

// Stands in for nccl_communicator.cpp in a build without NCCL (CTDL_NCCL off, or no CUDA
// backend, NCCL or MPI): the communicator cannot be made, and says why.
#include <cstdlib>

#include "ctdl/distributed/nccl_communicator.h"

namespace ctdl::distributed {

struct NcclCommunicator::State {};

NcclCommunicator::NcclCommunicator(Communicator&, NcclOptions) {
  fail(
      "distributed: this ctdl was built without NCCL, so CUDA tensors cannot be reduced over "
      "the ranks (configure with -DCTDL_NCCL=AUTO or ON, with the CUDA backend, NCCL (nccl.h, "
      "libnccl) and MPI installed)");
}
NcclCommunicator::~NcclCommunicator() = default;
int NcclCommunicator::rank() const { return 0; }
int NcclCommunicator::size() const { return 1; }
Device NcclCommunicator::device() const { return Device::cpu(); }
std::unique_ptr<Work> NcclCommunicator::start_all_reduce_sum(const Tensor&) { return nullptr; }
std::unique_ptr<Work> NcclCommunicator::start_broadcast(const Tensor&, int) { return nullptr; }
std::unique_ptr<Work> NcclCommunicator::start_send(const Tensor&, int, int) { return nullptr; }
std::unique_ptr<Work> NcclCommunicator::start_recv(const Tensor&, int, int) { return nullptr; }
std::unique_ptr<Work> NcclCommunicator::start_barrier() { return nullptr; }
void NcclCommunicator::abort(int exit_code) { std::_Exit(exit_code); }

bool built_with_nccl() { return false; }

}  // namespace ctdl::distributed

// Running a program on the ranks that mpirun starts.
//
//   int main(int argc, char** argv) {
//     return distributed::launch(argc, argv, [](int argc, char** argv) {
//       distributed::Communicator& comm = distributed::world();
//       std::cout << "rank " << comm.rank() << " of " << comm.size() << "\n";
//       return 0;
//     });
//   }
//
// Under mpirun (Open MPI's OMPI_COMM_WORLD_SIZE, or PMI_SIZE / PMIX_RANK, in the
// environment) launch() starts MPI, makes world() the communicator of all ranks, gives each
// rank its share of the node's cores (unless CTDL_NUM_THREADS says otherwise), installs the
// nn::DataParallel that `ctdl run` and fit_classifier use (nn/train/parallel.h), silences
// std::cout on ranks other than 0, runs fn and finalizes MPI. An exception on any rank is
// printed as "rank R of N: what" on stderr and ends every rank at once (MPI_Abort) instead
// of leaving the others waiting for it; when a rank dies or stalls, the watchdog's
// RankFailure on the others ends the job the same way.
//
// Launched plainly, it calls fn(argc, argv) and nothing else.
//
// On GPUs (one rank per GPU): each rank computes on local_device(), and nccl_world() sums
// CUDA tensors through NCCL (a build with CTDL_NCCL). world_for(device) picks the
// communicator for a device; the DataParallel that launch() installs does so for the
// model's parameters, so fit_classifier on a CUDA model reduces its gradients through NCCL.
//
//   Device device = distributed::local_device();     // cuda:(local rank mod GPUs), or cpu
//   net.to(device);
//   distributed::DistributedDataParallel ddp(distributed::world_for(device), net);
#pragma once

#include <functional>

#include "ctdl/distributed/communicator.h"

namespace ctdl::distributed {

struct LaunchOptions {
  bool quiet_workers = true;  // std::cout of ranks other than 0 goes nowhere
};

// Whether this process was started by mpirun (or another PMI launcher).
bool launched_by_mpirun();

int launch(int argc, char** argv, const std::function<int(int, char**)>& fn,
           LaunchOptions options = {});

// The ranks of this program: MPI_COMM_WORLD inside launch() under mpirun, else one process.
Communicator& world();

// This rank's index among the ranks on its machine: $OMPI_COMM_WORLD_LOCAL_RANK (Open MPI),
// $MPI_LOCALRANKID (MPICH), $SLURM_LOCALID or $LOCAL_RANK; otherwise world().rank().
int local_rank();
// Where this rank computes: CUDA device local_rank() mod the device count when a GPU is
// present, else the CPU.
Device local_device();
// world()'s ranks as a NCCL communicator of CUDA tensors (nccl_communicator.h), made on the
// first call: a collective, so every rank makes its first call at the same point of the
// program. Inside launch() it lives until fn returns. Throws when ctdl was built without
// NCCL (CTDL_NCCL) or this rank has no GPU.
Communicator& nccl_world();
// The communicator for tensors on `device`: nccl_world() for a CUDA device, else world().
Communicator& world_for(Device device);

}  // namespace ctdl::distributed

#include "ctdl/distributed/launch.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <streambuf>
#include <thread>

#include "ctdl/backends/cuda/cuda.h"
#include "ctdl/distributed/ddp.h"
#include "ctdl/distributed/nccl_communicator.h"
#include "ctdl/nn/train/parallel.h"
#include "ctdl/tensor/threads.h"

namespace ctdl::distributed {

namespace mpi {  // mpi_communicator.cpp, or no_mpi.cpp
void init(int* argc, char*** argv);
void finalize();
}  // namespace mpi

namespace {

std::unique_ptr<Communicator>& world_slot() {
  static std::unique_ptr<Communicator> world;
  return world;
}

// Made by nccl_world(). Never destroyed at exit (the CUDA driver may be gone by then):
// launch() destroys it before MPI's end.
std::unique_ptr<Communicator>& nccl_slot() {
  static auto* nccl = new std::unique_ptr<Communicator>();
  return *nccl;
}

int env_int(const char* name, int otherwise) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : otherwise;
}

// nn::DataParallel over a communicator: what `ctdl run` sees of the ranks.
class CommunicatorDataParallel final : public nn::DataParallel {
 public:
  explicit CommunicatorDataParallel(Communicator& comm) : comm_(comm) {}
  int rank() const override { return comm_.rank(); }
  int size() const override { return comm_.size(); }
  std::unique_ptr<nn::GradientSync> sync_gradients(nn::Module& model) override {
    // A model on a GPU reduces its gradients through NCCL (the parameters' device decides).
    TensorList params = model.parameters();
    Communicator& comm =
        params.empty() || params[0].device().is_cpu() ? comm_ : world_for(params[0].device());
    return std::make_unique<DistributedDataParallel>(comm, model);
  }
  std::vector<double> sum(const std::vector<double>& values) override { return comm_.sum(values); }
  std::string broadcast_from_main(const std::string& bytes) override {
    return comm_.broadcast_bytes(bytes, 0);
  }

 private:
  Communicator& comm_;
};

struct NullBuffer : std::streambuf {
  int overflow(int c) override { return c; }
};

}  // namespace

bool launched_by_mpirun() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (const char* v = std::getenv(name); v && *v) return true;
  return false;
}

Communicator& world() {
  std::unique_ptr<Communicator>& w = world_slot();
  if (!w) w = std::make_unique<SingleProcess>();
  return *w;
}

int local_rank() {
  for (const char* name :
       {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID", "LOCAL_RANK"})
    if (const char* v = std::getenv(name); v && *v) return std::atoi(v);
  return world().rank();
}

Device local_device() {
  if (!cuda::is_available()) return Device::cpu();
  return Device::cuda(local_rank() % cuda::device_count());
}

Communicator& nccl_world() {
  std::unique_ptr<Communicator>& nccl = nccl_slot();
  if (!nccl) nccl = std::make_unique<NcclCommunicator>(world());
  return *nccl;
}

Communicator& world_for(Device device) { return device.is_cuda() ? nccl_world() : world(); }

int launch(int argc, char** argv, const std::function<int(int, char**)>& fn,
           LaunchOptions options) {
  if (!launched_by_mpirun()) return fn(argc, argv);

  mpi::init(&argc, &argv);
  world_slot() = make_mpi_world();
  Communicator& comm = *world_slot();
  // One rank per core is the usual placement; each rank's kernels then stay on its share.
  if (!std::getenv("CTDL_NUM_THREADS")) {
    int local = std::max(1, env_int("OMPI_COMM_WORLD_LOCAL_SIZE", 1));
    int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    set_num_threads(std::max(1, cores / local));
  }
  NullBuffer null_buffer;
  std::streambuf* cout_buffer = std::cout.rdbuf();
  if (options.quiet_workers && comm.rank() != 0) std::cout.rdbuf(&null_buffer);
  CommunicatorDataParallel data_parallel(comm);
  nn::set_data_parallel(&data_parallel);

  int status = 0;
  try {
    status = fn(argc, argv);
  } catch (const std::exception& e) {
    std::cout.rdbuf(cout_buffer);
    const std::string prefix = str("rank ", comm.rank(), " of ", comm.size(), ": ");
    std::string what = e.what();
    if (what.rfind(prefix, 0) != 0) what = prefix + what;  // the watchdog's says it already
    std::cerr << what << "\n" << prefix << "stopping every rank\n";
    // NCCL's operations in flight are aborted first (its abort then ends MPI's ranks).
    if (nccl_slot()) nccl_slot()->abort(1);
    comm.abort(1);
  }
  nn::set_data_parallel(nullptr);
  std::cout.flush();
  std::cout.rdbuf(cout_buffer);
  nccl_slot().reset();  // it holds on to world() (its bootstrap)
  world_slot().reset();
  mpi::finalize();
  return status;
}

}  // namespace ctdl::distributed

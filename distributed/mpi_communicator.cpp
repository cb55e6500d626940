// The MPI communicator: ctdl's operations as MPI's non-blocking calls on MPI_COMM_WORLD.
// Compiled only with CTDL_MPI (no_mpi.cpp stands in otherwise); the only file that includes
// <mpi.h>.
#define OMPI_SKIP_MPICXX 1  // MPI's C interface only: its C++ bindings are deprecated
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <iostream>

#include "ctdl/distributed/communicator.h"

namespace ctdl::distributed {

namespace {

void check_mpi(int code, const char* op) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  fail(op, ": MPI error: ", std::string(text, static_cast<size_t>(length)));
}

MPI_Datatype mpi_type(DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return MPI_FLOAT;
    case DType::Float64:
      return MPI_DOUBLE;
    case DType::Int64:
      return MPI_INT64_T;
    default:
      fail("mpi: no MPI type for ", dtype);
  }
}

int count_of(const Tensor& t, const char* op) {
  CTDL_CHECK(t.numel() <= INT32_MAX, op, ": ", t.numel(), " values are more than one MPI call ",
             "takes (", INT32_MAX, ")");
  return static_cast<int>(t.numel());
}

class MpiWork final : public Work {
 public:
  // Keeps the buffer alive while MPI may still read or write it.
  explicit MpiWork(Tensor buffer, const char* op) : buffer_(std::move(buffer)), op_(op) {}
  MPI_Request* request() { return &request_; }
  bool test() override {
    if (done_) return true;
    int flag = 0;
    check_mpi(MPI_Test(&request_, &flag, MPI_STATUS_IGNORE), op_);
    return done_ = flag != 0;
  }

 private:
  Tensor buffer_;
  const char* op_;
  MPI_Request request_ = MPI_REQUEST_NULL;
  bool done_ = false;
};

class MpiWorld final : public Communicator {
 public:
  MpiWorld() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    CTDL_CHECK(initialized, "mpi: MPI is not initialized (distributed::launch does it)");
    // Errors come back as codes, and so as ctdl::Errors, instead of aborting inside MPI.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return "mpi"; }

  std::unique_ptr<Work> start_all_reduce_sum(const Tensor& buffer) override {
    check_buffer(buffer, "all_reduce_sum");
    auto work = std::make_unique<MpiWork>(buffer, "all_reduce_sum");
    check_mpi(MPI_Iallreduce(MPI_IN_PLACE, buffer.raw_data(), count_of(buffer, "all_reduce_sum"),
                             mpi_type(buffer.dtype()), MPI_SUM, MPI_COMM_WORLD, work->request()),
              "all_reduce_sum");
    return work;
  }
  std::unique_ptr<Work> start_broadcast(const Tensor& buffer, int root) override {
    check_buffer(buffer, "broadcast");
    check_peer(root, "broadcast");
    auto work = std::make_unique<MpiWork>(buffer, "broadcast");
    check_mpi(MPI_Ibcast(buffer.raw_data(), count_of(buffer, "broadcast"), mpi_type(buffer.dtype()),
                         root, MPI_COMM_WORLD, work->request()),
              "broadcast");
    return work;
  }
  std::unique_ptr<Work> start_send(const Tensor& buffer, int to, int tag) override {
    check_buffer(buffer, "send");
    check_peer(to, "send");
    auto work = std::make_unique<MpiWork>(buffer, "send");
    check_mpi(MPI_Isend(buffer.raw_data(), count_of(buffer, "send"), mpi_type(buffer.dtype()), to,
                        tag, MPI_COMM_WORLD, work->request()),
              "send");
    return work;
  }
  std::unique_ptr<Work> start_recv(const Tensor& buffer, int from, int tag) override {
    check_buffer(buffer, "recv");
    check_peer(from, "recv");
    auto work = std::make_unique<MpiWork>(buffer, "recv");
    check_mpi(MPI_Irecv(buffer.raw_data(), count_of(buffer, "recv"), mpi_type(buffer.dtype()), from,
                        tag, MPI_COMM_WORLD, work->request()),
              "recv");
    return work;
  }
  std::unique_ptr<Work> start_barrier() override {
    auto work = std::make_unique<MpiWork>(Tensor(), "barrier");
    check_mpi(MPI_Ibarrier(MPI_COMM_WORLD, work->request()), "barrier");
    return work;
  }
  [[noreturn]] void abort(int exit_code) override {
    std::cout.flush();
    std::cerr.flush();
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::_Exit(exit_code);  // MPI_Abort does not return; this keeps [[noreturn]] honest
  }

 private:
  int rank_ = 0, size_ = 1;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_world() { return std::make_unique<MpiWorld>(); }
bool built_with_mpi() { return true; }

// What launch.cpp needs of MPI itself, kept here so that only this file includes <mpi.h>.
namespace mpi {

void init(int* argc, char*** argv) {
  int provided = 0;
  // Only the main thread calls MPI (the DataLoader's and oneTBB's threads never do).
  check_mpi(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
}

void finalize() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

}  // namespace mpi

}  // namespace ctdl::distributed

#include "ctdl/distributed/communicator.h"

#include <cstdlib>
#include <cstring>
#include <deque>
#include <iostream>
#include <map>

#include "ctdl/tensor/ops.h"

namespace ctdl::distributed {

// ---- blocking forms ---------------------------------------------------------------------------

void Communicator::wait(Work& work, const std::string& what) {
  watchdog_.wait(work, what, rank(), size());
}

void Communicator::all_reduce_sum_(const Tensor& buffer) {
  auto work = start_all_reduce_sum(buffer);
  wait(*work, str("all-reduce of ", buffer.numel(), " values"));
}

void Communicator::broadcast_(const Tensor& buffer, int root) {
  auto work = start_broadcast(buffer, root);
  wait(*work, str("broadcast of ", buffer.numel(), " values from rank ", root));
}

void Communicator::send(const Tensor& buffer, int to, int tag) {
  Tensor data = buffer.contiguous();
  auto work = start_send(data, to, tag);
  wait(*work, str("rank ", to, " to receive message ", tag));
}

void Communicator::recv_(const Tensor& buffer, int from, int tag) {
  auto work = start_recv(buffer, from, tag);
  wait(*work, str("message ", tag, " from rank ", from));
}

void Communicator::barrier() {
  auto work = start_barrier();
  wait(*work, "a barrier");
}

std::vector<double> Communicator::sum(const std::vector<double>& values) {
  if (size() == 1 || values.empty()) return values;
  Tensor t = tensor(values, {static_cast<int64_t>(values.size())}, {.dtype = DType::Float64});
  all_reduce_sum_(t);
  return t.to_vector<double>();
}

std::string Communicator::broadcast_bytes(const std::string& bytes, int root) {
  if (size() == 1) return bytes;
  Tensor n = tensor(std::vector<int64_t>{static_cast<int64_t>(bytes.size())}, {1});
  broadcast_(n, root);
  const int64_t count = n.item<int64_t>();
  if (count == 0) return {};  // (an empty tensor has no storage to copy into or out of)
  // Packed into int64 words (there is no byte dtype).
  Tensor words = zeros({(count + 7) / 8}, {.dtype = DType::Int64});
  if (rank() == root) std::memcpy(words.raw_data(), bytes.data(), bytes.size());
  broadcast_(words, root);
  return std::string(static_cast<const char*>(words.raw_data()), static_cast<size_t>(count));
}

void Communicator::check_buffer(const Tensor& buffer, const char* op) const {
  CTDL_CHECK(buffer.defined(), op, ": the buffer is an undefined tensor");
  CTDL_CHECK(buffer.is_contiguous(), op, ": the buffer must be contiguous (shape ", buffer.shape(),
             ", strides ", buffer.strides(), ")");
  CTDL_CHECK(buffer.device().is_cpu(), op, ": the buffer is on ", buffer.device(), "; the ", name(),
             " communicator takes CPU tensors (CUDA tensors: distributed::nccl_world())");
  DType d = buffer.dtype();
  CTDL_CHECK(d == DType::Float32 || d == DType::Float64 || d == DType::Int64, op,
             ": buffers of float32, float64 or int64 only, got ", d);
}

void Communicator::check_peer(int peer, const char* op) const {
  CTDL_CHECK(peer >= 0 && peer < size(), op, ": rank ", peer, " does not exist (", size(),
             " ranks)");
}

// ---- a single process ---------------------------------------------------------------------------

namespace {

class Done final : public Work {
 public:
  bool test() override { return true; }
};

}  // namespace

struct SingleProcess::Mailbox {
  std::map<int, std::deque<Tensor>> by_tag;  // messages sent to oneself, by tag
};

namespace {

class LocalRecv final : public Work {
 public:
  LocalRecv(std::shared_ptr<SingleProcess::Mailbox> box, Tensor buffer, int tag)
      : box_(std::move(box)), buffer_(std::move(buffer)), tag_(tag) {}
  bool test() override {
    if (done_) return true;
    auto& queue = box_->by_tag[tag_];
    if (queue.empty()) return false;
    Tensor message = std::move(queue.front());
    queue.pop_front();
    CTDL_CHECK(message.numel() == buffer_.numel() && message.dtype() == buffer_.dtype(),
               "recv: message ", tag_, " has ", message.numel(), " values of ", message.dtype(),
               ", the buffer ", buffer_.numel(), " of ", buffer_.dtype());
    std::memcpy(
        buffer_.raw_data(), message.raw_data(),
        static_cast<size_t>(message.numel()) * static_cast<size_t>(element_size(message.dtype())));
    return done_ = true;
  }

 private:
  std::shared_ptr<SingleProcess::Mailbox> box_;
  Tensor buffer_;
  int tag_;
  bool done_ = false;
};

}  // namespace

SingleProcess::SingleProcess() : mailbox_(std::make_shared<Mailbox>()) {}
SingleProcess::~SingleProcess() = default;

std::unique_ptr<Work> SingleProcess::start_all_reduce_sum(const Tensor& buffer) {
  check_buffer(buffer, "all_reduce_sum");
  return std::make_unique<Done>();
}

std::unique_ptr<Work> SingleProcess::start_broadcast(const Tensor& buffer, int root) {
  check_buffer(buffer, "broadcast");
  check_peer(root, "broadcast");
  return std::make_unique<Done>();
}

std::unique_ptr<Work> SingleProcess::start_send(const Tensor& buffer, int to, int tag) {
  check_buffer(buffer, "send");
  check_peer(to, "send");
  mailbox_->by_tag[tag].push_back(buffer.clone());
  return std::make_unique<Done>();
}

std::unique_ptr<Work> SingleProcess::start_recv(const Tensor& buffer, int from, int tag) {
  check_buffer(buffer, "recv");
  check_peer(from, "recv");
  return std::make_unique<LocalRecv>(mailbox_, buffer, tag);
}

std::unique_ptr<Work> SingleProcess::start_barrier() { return std::make_unique<Done>(); }

void SingleProcess::abort(int exit_code) {
  std::cerr.flush();
  std::_Exit(exit_code);
}

}  // namespace ctdl::distributed

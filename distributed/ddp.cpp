#include "ctdl/distributed/ddp.h"

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/autograd/node.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::distributed {

struct DistributedDataParallel::State {
  struct Param {
    Tensor tensor;
    std::string name;
    size_t bucket = 0;
    int64_t offset = 0;                        // in the bucket, in elements
    bool ready = false;                        // its gradient of this step is in the bucket
    Tensor before;                             // .grad before this step's backward added to it
    std::shared_ptr<autograd::Node> original;  // the accumulator it had before
  };
  struct Bucket {
    Tensor buffer;  // the bucket's gradients, flat
    std::vector<size_t> params;
    size_t waiting = 0;  // parameters without their gradient yet
    std::unique_ptr<Work> work;
  };

  Communicator* comm = nullptr;
  std::vector<Param> params;
  std::vector<Bucket> buckets;
  double weight = 1.0;
  size_t ready = 0;        // parameters with their gradient this step
  size_t next_bucket = 0;  // the next bucket to start, in order
  bool ended_by_backward = false;
  int64_t overlapped = 0;

  Tensor slot(const Param& p) {
    return buckets[p.bucket].buffer.narrow(0, p.offset, p.tensor.numel()).view(p.tensor.shape());
  }

  void start_ready_buckets() {
    // In bucket order on every rank: collectives must be started in the same order.
    while (next_bucket < buckets.size() && buckets[next_bucket].waiting == 0) {
      Bucket& b = buckets[next_bucket++];
      b.work = comm->start_all_reduce_sum(b.buffer);
      if (ready < params.size()) ++overlapped;
    }
    for (Bucket& b : buckets)
      if (b.work) b.work->test();  // MPI moves non-blocking collectives only inside MPI calls
  }

  // A post-accumulate hook: backward has just added `g` to p's .grad.
  void on_gradient(size_t i, const Tensor& g, const Tensor& before) {
    Param& p = params[i];
    CTDL_CHECK(!p.ready, "DistributedDataParallel: parameter '", p.name,
               "' received a second gradient before the ranks had summed the first: call "
               "synchronize() once per step (after a backward that leaves some parameter "
               "without a gradient; several backward passes per step are not supported)");
    autograd::NoGradGuard no_grad;
    slot(p).copy_(weight == 1.0 ? g : g * weight);
    p.before = before;
    p.ready = true;
    ++ready;
    --buckets[p.bucket].waiting;
    start_ready_buckets();
    if (ready == params.size()) {
      finish();
      ended_by_backward = true;
    }
  }

  // Starts what is left (zeros for parameters without a gradient), waits, writes .grad.
  void finish() {
    autograd::NoGradGuard no_grad;
    for (Param& p : params)
      if (!p.ready) {
        slot(p).fill_(0.0);
        p.before = p.tensor.grad();
        p.ready = true;
        --buckets[p.bucket].waiting;
      }
    ready = params.size();
    start_ready_buckets();
    for (size_t k = 0; k < buckets.size(); ++k)
      comm->wait(*buckets[k].work,
                 str("the all-reduce of gradient bucket ", k + 1, " of ", buckets.size(), " (",
                     buckets[k].params.size(), " parameters)"));
    for (Param& p : params) {
      Tensor sum = slot(p).clone();
      p.tensor.set_grad(p.before.defined() ? p.before + sum : sum);
      p.before = Tensor();
      p.ready = false;
    }
    for (Bucket& b : buckets) {
      b.work.reset();
      b.waiting = b.params.size();
    }
    ready = 0;
    next_bucket = 0;
  }
};

namespace {

// Stands in for a parameter's AccumulateGrad: accumulates exactly as it does, then tells the
// DDP state. The engine runs it only when backward accumulates into .grad.
class ReducingAccumulator final : public autograd::Node {
 public:
  ReducingAccumulator(const Tensor& leaf, std::weak_ptr<DistributedDataParallel::State> state,
                      size_t index)
      : Node("AccumulateGrad"),
        inner_(std::make_shared<autograd::AccumulateGrad>(leaf.impl_ptr())),
        state_(std::move(state)),
        index_(index) {}

  TensorList apply(TensorList&& grads) override {
    std::shared_ptr<TensorImpl> leaf = inner_->leaf();
    Tensor g = grads.empty() ? Tensor() : grads[0];
    Tensor before = leaf ? Tensor(leaf->grad) : Tensor();
    inner_->apply(std::move(grads));
    auto state = state_.lock();
    if (state && leaf && g.defined()) state->on_gradient(index_, g.detach(), before);
    return {};
  }

 private:
  std::shared_ptr<autograd::AccumulateGrad> inner_;
  std::weak_ptr<DistributedDataParallel::State> state_;
  size_t index_;
};

}  // namespace

DistributedDataParallel::DistributedDataParallel(Communicator& comm, nn::Module model,
                                                 DdpOptions options)
    : state_(std::make_shared<State>()) {
  CTDL_CHECK(options.bucket_bytes > 0,
             "DistributedDataParallel: bucket_bytes must be positive, got ", options.bucket_bytes);
  State& s = *state_;
  s.comm = &comm;
  s.weight = 1.0 / comm.size();
  if (options.broadcast_parameters) {
    autograd::NoGradGuard no_grad;
    for (const nn::NamedTensors& group : {model.named_parameters(), model.named_buffers()})
      for (const auto& [name, t] : group) {
        Tensor buffer = t.is_contiguous() ? t : t.contiguous();
        comm.broadcast_(buffer, 0);
        if (!buffer.same(t)) Tensor(t).copy_(buffer);
      }
  }
  for (const auto& [name, t] : model.named_parameters()) {
    if (!t.requires_grad()) continue;
    CTDL_CHECK(t.dtype() == DType::Float32 || t.dtype() == DType::Float64,
               "DistributedDataParallel: parameter '", name, "' is ", t.dtype(),
               "; float32 or float64 only");
    s.params.push_back({.tensor = t, .name = name});
  }
  // Buckets of one dtype and device each (the parameters' device: NCCL reduces CUDA
  // tensors in place), filled from the last parameter back.
  std::vector<int64_t> sizes;
  for (size_t k = s.params.size(); k-- > 0;) {
    State::Param& p = s.params[k];
    const DType dtype = p.tensor.dtype();
    const Device device = p.tensor.device();
    const int64_t n = p.tensor.numel();
    bool fits = !s.buckets.empty() && s.buckets.back().buffer.dtype() == dtype &&
                s.buckets.back().buffer.device() == device &&
                (sizes.back() + n) * element_size(dtype) <= options.bucket_bytes;
    if (!fits) {
      s.buckets.push_back({.buffer = zeros({0}, {.dtype = dtype, .device = device})});
      sizes.push_back(0);
    }
    p.bucket = s.buckets.size() - 1;
    p.offset = sizes.back();
    sizes.back() += n;
    s.buckets.back().params.push_back(k);
  }
  for (size_t b = 0; b < s.buckets.size(); ++b)
    s.buckets[b].buffer = zeros(
        {sizes[b]}, {.dtype = s.buckets[b].buffer.dtype(), .device = s.buckets[b].buffer.device()});
  for (State::Bucket& b : s.buckets) b.waiting = b.params.size();
  for (size_t k = 0; k < s.params.size(); ++k) {
    State::Param& p = s.params[k];
    TensorImpl* impl = p.tensor.impl();
    p.original = impl->grad_accumulator;
    auto wrapped = std::make_shared<ReducingAccumulator>(p.tensor, state_, k);
    if (p.original) wrapped->pre_hooks = p.original->pre_hooks;  // the user's hooks stay
    impl->grad_accumulator = wrapped;
  }
}

DistributedDataParallel::~DistributedDataParallel() {
  for (State::Param& p : state_->params) {
    TensorImpl* impl = p.tensor.impl();
    auto hooks = impl->grad_accumulator ? impl->grad_accumulator->pre_hooks
                                        : decltype(impl->grad_accumulator->pre_hooks){};
    if (!p.original && !hooks.empty())
      p.original = std::make_shared<autograd::AccumulateGrad>(p.tensor.impl_ptr());
    if (p.original) p.original->pre_hooks = std::move(hooks);
    impl->grad_accumulator = p.original;
  }
}

void DistributedDataParallel::set_gradient_weight(double weight) { state_->weight = weight; }

void DistributedDataParallel::synchronize() {
  State& s = *state_;
  if (s.ready > 0 || !s.ended_by_backward) s.finish();
  s.ended_by_backward = false;
}

int64_t DistributedDataParallel::num_buckets() const {
  return static_cast<int64_t>(state_->buckets.size());
}

int64_t DistributedDataParallel::overlapped_buckets() const { return state_->overlapped; }

}  // namespace ctdl::distributed

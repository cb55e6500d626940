// cuda.h in a build without the CUDA backend: nothing is available, and what needs a
// device says how to get one.
#include "ctdl/backends/cuda/cuda.h"

namespace ctdl::cuda {
namespace {

[[noreturn]] void not_built(const char* what) {
  fail(what, ": this build of ctdl has no CUDA backend (configure with -DCTDL_CUDA=ON and the "
       "CUDA toolkit installed)");
}

}  // namespace

bool is_built() { return false; }
bool is_available() { return false; }
int device_count() { return 0; }
std::string device_description(int) { not_built("cuda::device_description"); }
void synchronize(int) { not_built("cuda::synchronize"); }
int64_t host_read_count() { return 0; }

Stream::Stream(int) { not_built("cuda::Stream"); }
Stream Stream::current(int) { not_built("cuda::Stream::current"); }
void Stream::synchronize() const { not_built("cuda::Stream::synchronize"); }
StreamGuard::StreamGuard(const Stream&) { not_built("cuda::StreamGuard"); }
StreamGuard::~StreamGuard() = default;

Event::Event(bool) { not_built("cuda::Event"); }
Event::~Event() = default;
void Event::record(const Stream&) { not_built("cuda::Event::record"); }
void Event::block(const Stream&) const { not_built("cuda::Event::block"); }
void Event::synchronize() const { not_built("cuda::Event::synchronize"); }
float Event::elapsed_ms(const Event&) const { not_built("cuda::Event::elapsed_ms"); }

struct Graph::State {};
Graph::Graph() = default;
Graph::~Graph() = default;
void Graph::capture(const std::function<void()>&, int) { not_built("cuda::Graph::capture"); }
void Graph::replay() { not_built("cuda::Graph::replay"); }
bool Graph::captured() const { return false; }

Tensor pinned_empty(const Dims&, DType) { not_built("cuda::pinned_empty"); }
CacheStats cache_stats(int) { return {}; }
void empty_cache(int) {}

}  // namespace ctdl::cuda

// The device itself: copies, random numbers, the memory cache, streams, events, graphs,
// page-locked memory, and the errors a user meets.
#include "cuda/cuda_device.h"
#include "ctdl/ode/ode.h"

namespace ctdl::testing {
namespace {

TEST_CASE("cuda: tensors of every dtype go to the device and back unchanged", "[cuda]") {
  const Device device = gpu();
  manual_seed(3);
  Tensor f = randn({5, 7});
  for (const Tensor& host : {f, f.to(DType::Float64), (f * 10).to(DType::Int64), gt(f, zeros_like(f))}) {
    Tensor d = host.to(device);
    CHECK(d.device() == device);
    CHECK(d.dtype() == host.dtype());
    CHECK(d.to(Device::cpu()).to_vector<double>() == host.to_vector<double>());
    // A strided view is copied as the values it shows.
    Tensor t = host.t().to(device);
    CHECK(t.to(Device::cpu()).to_vector<double>() == host.t().to_vector<double>());
  }
}

TEST_CASE("cuda: random numbers on the device are the CPU's stream", "[cuda]") {
  const Device device = gpu();
  for (DType dtype : {DType::Float32, DType::Float64}) {
    Generator a(42), b(42);
    CHECK(rand({1000}, {.dtype = dtype}, &a).to_vector<double>() ==
          rand({1000}, {.dtype = dtype, .device = device}, &b).to(Device::cpu()).to_vector<double>());
    // Box–Muller through the device's log and cos: equal to rounding.
    Tensor cpu_normal = randn({1000}, {.dtype = dtype}, &a);
    Tensor dev_normal = randn({1000}, {.dtype = dtype, .device = device}, &b);
    CHECK(allclose(dev_normal.to(Device::cpu()), cpu_normal, 1e-6, 1e-6));
    CHECK(a.offset() == b.offset());
  }
  Generator a(7), b(7);
  CHECK(randint(0, 10, {500}, {}, &a).to_vector<double>() ==
        randint(0, 10, {500}, {.device = device}, &b).to(Device::cpu()).to_vector<double>());
}

TEST_CASE("cuda: tensors on different devices are refused, naming both", "[cuda][errors]") {
  Tensor a = ones({3}).to(gpu()), b = ones({3});
  CHECK_THROWS_WITH_ALL(a + b, "add", "cuda:0", "cpu");
  CHECK_THROWS_WITH_ALL(a.data<float>(), "data", "cuda:0");
}

TEST_CASE("cuda: the memory cache reuses blocks across iterations", "[cuda][memory]") {
  CTDL_REQUIRE_GPU();
  Tensor w = randn({256, 256}).to(gpu());
  auto step = [&] {
    Tensor x = randn({128, 256}, {.device = gpu()});
    return tanh(matmul(x, w)).sum().item();
  };
  step();
  step();
  int64_t before = cuda::cache_stats().device_allocations;
  for (int i = 0; i < 10; ++i) step();
  CHECK(cuda::cache_stats().device_allocations == before);
  cuda::empty_cache();
  CHECK(cuda::cache_stats().cached_bytes == 0);
}

TEST_CASE("cuda: work on a second stream is ordered by an event", "[cuda][streams]") {
  CTDL_REQUIRE_GPU();
  Tensor x = randn({1 << 20}).to(gpu());
  Tensor y;
  cuda::Stream side(0);
  cuda::Event done;
  {
    cuda::StreamGuard guard(side);
    y = exp(x) * 2.0;
    done.record(side);
  }
  done.block(cuda::Stream::current());
  Tensor z = y + 1.0;
  CHECK(allclose(z.to(Device::cpu()), exp(x.to(Device::cpu())) * 2.0 + 1.0, 1e-5, 1e-5));
  cuda::Event start, stop;
  start.record();
  Tensor big = matmul(randn({512, 512}, {.device = gpu()}), randn({512, 512}, {.device = gpu()}));
  stop.record();
  stop.synchronize();
  CHECK(start.elapsed_ms(stop) >= 0.0f);
}

TEST_CASE("cuda: a captured fixed-step ODE solve replays with new inputs", "[cuda][graphs][ode]") {
  CTDL_REQUIRE_GPU();
  manual_seed(5);
  Tensor w = (randn({16, 16}) * 0.3).to(gpu());
  ode::TensorField f = [w](double, const Tensor& z) { return tanh(matmul(z, w)); };
  const ode::Options options{.solver = ode::RK4{.step_size = 0.05, .check_finite = false}};
  autograd::NoGradGuard no_grad;
  Tensor z0 = randn({64, 16}).to(gpu());
  Tensor eager = ode::odeint(f, z0, {0.0, 1.0}, options);  // also warms up cuBLAS
  cuda::Graph graph;
  Tensor captured;
  graph.capture([&] { captured = ode::odeint(f, z0, {0.0, 1.0}, options); });
  graph.replay();
  CHECK(allclose(captured.to(Device::cpu()), eager.to(Device::cpu()), 1e-6, 1e-6));
  Tensor next = randn({64, 16});
  z0.copy_(next.to(gpu()));
  int64_t reads = cuda::host_read_count();
  graph.replay();
  CHECK(cuda::host_read_count() == reads);  // one launch, nothing read back
  Tensor expected = ode::odeint(f, next.to(gpu()), {0.0, 1.0}, options);
  CHECK(allclose(captured.to(Device::cpu()), expected.to(Device::cpu()), 1e-6, 1e-6));
}

TEST_CASE("cuda: reading the host during a capture fails clearly", "[cuda][graphs][errors]") {
  CTDL_REQUIRE_GPU();
  Tensor x = ones({4}).to(gpu());
  cuda::Graph graph;
  CHECK_THROWS_WITH_ALL(graph.capture([&] { (void)(x * 2.0).sum().item(); }), "captured",
                        "check_finite");
  CHECK_FALSE(graph.captured());
  CHECK((x * 2.0).sum().item() == 8.0);  // the stream works again after the failed capture
}

TEST_CASE("cuda: page-locked host memory copies to the device", "[cuda][memory]") {
  CTDL_REQUIRE_GPU();
  Tensor pinned = cuda::pinned_empty({1000});
  CHECK(pinned.device() == Device::cpu());
  float* p = pinned.data<float>();
  for (int i = 0; i < 1000; ++i) p[i] = static_cast<float>(i);
  Tensor d = pinned.to(gpu());
  CHECK(d.sum().item() == 499500.0);
}

TEST_CASE("cuda: a device that does not exist is named in the error", "[cuda][errors]") {
  CTDL_REQUIRE_GPU();
  int n = cuda::device_count();
  const std::string name = str("cuda:", n);
  CHECK_THROWS_WITH_ALL(zeros({2}, {.device = Device::cuda(n)}), name.c_str(), "no such CUDA device");
  CHECK_FALSE(cuda::device_description(0).empty());
}

TEST_CASE("cuda: without the backend or a device, the runtime says so", "[cuda][errors]") {
  if (real_gpu()) {
    CHECK(cuda::device_count() >= 1);
    return;
  }
  CHECK_FALSE(cuda::is_available());
  CHECK(cuda::device_count() == 0);
  if (!cuda::is_built()) CHECK_THROWS_WITH_ALL(cuda::Stream(0), "cuda::Stream", "CTDL_CUDA");
}

}  // namespace
}  // namespace ctdl::testing

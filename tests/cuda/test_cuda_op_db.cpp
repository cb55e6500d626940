// Every op of the op database on the device against the CPU: forward values in float32 and
// float64, and gradients (float64) of a random projection of the outputs. One test case
// per op: "cuda op <name>".
#include <deque>

#include "cuda/cuda_device.h"
#include "tensor/op_db.h"

namespace ctdl::testing {
namespace {

TensorList to_device(const TensorList& list, Device device, bool requires_grad) {
  TensorList out;
  for (const Tensor& t : list) {
    Tensor c = t.detach().to(device);
    if (requires_grad && c.is_floating_point()) c.requires_grad_();
    out.push_back(c);
  }
  return out;
}

// sum_i <outputs_i, weights_i> over the floating outputs: a scalar whose gradient is a
// random vector-Jacobian product of the op.
Tensor projection(const TensorList& outputs, const TensorList& weights) {
  Tensor loss;
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (!outputs[i].is_floating_point() || !outputs[i].requires_grad()) continue;
    Tensor term = (outputs[i] * weights[i].to(outputs[i].device())).sum();
    loss = loss.defined() ? loss + term : term;
  }
  return loss;
}

void check_op_on_device(const OpInfo& op) {
  const Device device = gpu();
  for (DType dtype : {DType::Float32, DType::Float64}) {
    const bool single = dtype == DType::Float32;
    // The device sums in another order (and uses its own math library): float32 gets a
    // looser tolerance than the CPU-against-reference check.
    const double rtol = single ? std::max(op.rtol_float32, 1e-4) : 1e-9;
    const double atol = single ? std::max(op.atol_float32, 1e-4) : 1e-9;
    for (const Sample& s : op.samples(dtype)) {
      INFO("cuda op " << op.name << " [" << dtype << "] on " << s.description);
      const bool grads = op.differentiable && !single;
      TensorList cpu_leaves = to_device(s.inputs, Device::cpu(), grads);
      TensorList dev_leaves = to_device(s.inputs, device, grads);
      TensorList expected = op.op(s.args(cpu_leaves));
      TensorList got = op.op(s.args(dev_leaves));
      REQUIRE(got.size() == expected.size());
      for (size_t i = 0; i < got.size(); ++i) {
        INFO("output " << i);
        CHECK(got[i].device() == device);
        CHECK(got[i].dtype() == expected[i].dtype());
        Tensor host = got[i].to(Device::cpu());
        INFO("device: " << host << "\ncpu: " << expected[i]);
        CHECK(allclose(host, expected[i], rtol, atol));
      }
      if (!grads) continue;
      TensorList weights;
      for (const Tensor& e : expected) weights.push_back(e.is_floating_point() ? randn_like(e) : Tensor());
      Tensor cpu_loss = projection(expected, weights), dev_loss = projection(got, weights);
      if (!cpu_loss.defined()) continue;
      TensorList cpu_inputs, dev_inputs;
      for (size_t i = 0; i < cpu_leaves.size(); ++i) {
        if (!cpu_leaves[i].requires_grad()) continue;
        cpu_inputs.push_back(cpu_leaves[i]);
        dev_inputs.push_back(dev_leaves[i]);
      }
      TensorList cpu_grads = autograd::grad({cpu_loss}, cpu_inputs, {}, {.allow_unused = true});
      TensorList dev_grads = autograd::grad({dev_loss}, dev_inputs, {}, {.allow_unused = true});
      for (size_t i = 0; i < cpu_grads.size(); ++i) {
        INFO("gradient of input " << i);
        REQUIRE(cpu_grads[i].defined() == dev_grads[i].defined());
        if (!cpu_grads[i].defined()) continue;
        CHECK(dev_grads[i].device() == device);
        CHECK(allclose(dev_grads[i].to(Device::cpu()), cpu_grads[i], 1e-8, 1e-9));
      }
    }
  }
}

class CudaOpInvoker : public Catch::ITestInvoker {
 public:
  explicit CudaOpInvoker(const OpInfo* op) : op_(op) {}
  void invoke() const override {
    manual_seed(11);
    check_op_on_device(*op_);
  }

 private:
  const OpInfo* op_;
};

struct Registrar {
  std::deque<std::string> names;  // Catch keeps non-owning references to these
  Registrar() {
    for (const OpInfo& op : op_database()) {
      names.push_back("cuda op " + op.name);
      Catch::getMutableRegistryHub().registerTest(
          Catch::makeTestCase(new CudaOpInvoker(&op), "", Catch::NameAndTags{names.back(), "[cuda][op_db]"},
                              CATCH_INTERNAL_LINEINFO));
    }
  }
};
const Registrar registrar;

}  // namespace
}  // namespace ctdl::testing

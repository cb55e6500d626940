// The generic suites over the op database. Each op gets its own test cases, registered at
// start-up: "op <name>: forward", "op <name>: gradcheck", "op <name>: gradgradcheck".
#include <deque>

#include "helpers.h"
#include "tensor/op_db.h"

namespace ctdl::testing {
namespace {

std::string describe(const OpInfo& op, DType dtype, const Sample& s) {
  return str(op.name, " [", dtype, "] on ", s.description);
}

TensorList with_grad(const TensorList& leaves) {
  TensorList out;
  for (const Tensor& t : leaves) {
    Tensor c = t.detach();
    if (c.is_floating_point()) c.requires_grad_();
    out.push_back(c);
  }
  return out;
}

void check_forward(const OpInfo& op) {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    for (const Sample& s : op.samples(dtype)) {
      INFO(describe(op, dtype, s));
      TensorList args = s.args(s.inputs);
      TensorList out = op.op(args);
      TensorList expected = op.reference(args);
      REQUIRE(out.size() == expected.size());
      for (size_t i = 0; i < out.size(); ++i) {
        INFO("output " << i << ": got " << out[i] << "\nexpected " << expected[i]);
        CHECK(out[i].shape() == expected[i].shape());
        if (out[i].is_floating_point() && op.name != "to_dtype") CHECK(out[i].dtype() == dtype);
        bool single = dtype == DType::Float32 || out[i].dtype() == DType::Float32;
        double rtol = single ? op.rtol_float32 : 1e-10;
        double atol = single ? op.atol_float32 : 1e-10;
        CHECK(allclose(out[i], expected[i], rtol, atol));
      }
    }
  }
}

void check_gradients(const OpInfo& op, bool second_order) {
  for (const Sample& s : op.samples(DType::Float64)) {
    INFO(describe(op, DType::Float64, s));
    autograd::TensorFunction f = [&](const TensorList& leaves) { return op.op(s.args(leaves)); };
    TensorList leaves = with_grad(s.inputs);
    autograd::GradcheckResult r = second_order ? autograd::gradgradcheck(f, leaves, op.grad_options)
                                               : autograd::gradcheck(f, leaves, op.grad_options);
    INFO(r.message);
    CHECK(r.ok);
  }
}

// Registers one Catch test case per (op, suite).
class OpTestInvoker : public Catch::ITestInvoker {
 public:
  OpTestInvoker(const OpInfo* op, int suite) : op_(op), suite_(suite) {}
  void invoke() const override {
    if (suite_ == 0) check_forward(*op_);
    else check_gradients(*op_, suite_ == 2);
  }

 private:
  const OpInfo* op_;
  int suite_;
};

struct Registrar {
  std::deque<std::string> names;  // Catch keeps non-owning references to these
  Registrar() {
    for (const OpInfo& op : op_database()) {
      const char* suites[] = {"forward", "gradcheck", "gradgradcheck"};
      for (int suite = 0; suite < 3; ++suite) {
        if (suite >= 1 && !op.differentiable) continue;
        if (suite == 2 && !op.twice_differentiable) continue;
        names.push_back("op " + op.name + ": " + suites[suite]);
        Catch::getMutableRegistryHub().registerTest(Catch::makeTestCase(
            new OpTestInvoker(&op, suite), "", Catch::NameAndTags{names.back(), "[op_db]"},
            CATCH_INTERNAL_LINEINFO));
      }
    }
  }
};
const Registrar registrar;

TEST_CASE("the op database covers enough ops", "[op_db]") {
  int ops = 0, differentiable = 0, twice = 0;
  for (const OpInfo& op : op_database()) {
    ++ops;
    differentiable += op.differentiable;
    twice += op.differentiable && op.twice_differentiable;
  }
  INFO(ops << " ops, " << differentiable << " differentiable, " << twice << " gradgradchecked");
  CHECK(ops >= 45);
  CHECK(twice >= 15);
}

}  // namespace
}  // namespace ctdl::testing

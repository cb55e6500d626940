// Bad input throws ctdl::Error naming the op and the values at fault.
#include <functional>
#include <type_traits>

#include "helpers.h"

using namespace ctdl;

TEST_CASE("shape mismatches name the op and the shapes", "[errors]") {
  CHECK_THROWS_WITH_ALL(ones({2, 3}) + ones({4}), "add", "[2, 3]", "[4]", "broadcast");
  CHECK_THROWS_WITH_ALL(matmul(ones({2, 3}), ones({4, 5})), "matmul", "[2, 3]", "[4, 5]");
  CHECK_THROWS_WITH_ALL(ones({6}).reshape({4, -1}), "reshape", "[4, -1]", "6 elements");
  CHECK_THROWS_WITH_ALL(cat({ones({2, 3}), ones({2, 4})}, 0), "cat", "[2, 4]", "[2, 3]");
  CHECK_THROWS_WITH_ALL(conv2d(ones({1, 3, 5, 5}), ones({4, 2, 3, 3})), "conv2d", "[1, 3, 5, 5]",
                        "[4, 2, 3, 3]");
  CHECK_THROWS_WITH_ALL(ones({3}).expand({2, 4}), "expand", "[3]", "[2, 4]");
}

TEST_CASE("dimension and index errors name the range", "[errors]") {
  CHECK_THROWS_WITH_ALL(ones({2, 3}).sum({2}), "sum", "dimension 2", "-2 to 1");
  CHECK_THROWS_WITH_ALL(ones({2, 3}).select(0, 5), "select", "index 5", "size 2");
  CHECK_THROWS_WITH_ALL(index_select(ones({2, 3}), 1, tensor(std::vector<int64_t>{0, 3}, {2})),
                        "index_select", "index 3", "size 3");
  CHECK_THROWS_WITH_ALL(gather(ones({2, 3}), 1, tensor(std::vector<int64_t>{0, -1}, {2, 1})),
                        "gather", "-1");
  CHECK_THROWS_WITH_ALL(ones({2}).permute({0, 0}), "permute");
  CHECK_THROWS_WITH_ALL(amax(zeros({0, 3}), {0}), "amax", "zero-size");
}

TEST_CASE("dtype errors name the dtypes", "[errors]") {
  CHECK_THROWS_WITH_ALL(index_select(ones({2}), 0, ones({1})), "index_select", "int64", "float32");
  CHECK_THROWS_WITH_ALL(where(ones({2}), ones({2}), ones({2})), "where", "bool", "float32");
  CHECK_THROWS_WITH_ALL(ones({2}, {.dtype = DType::Int64}).requires_grad_(), "requires_grad_",
                        "int64");
  CHECK_THROWS_WITH_ALL(ones({2}).data<double>(), "data", "float32", "float64");
}

TEST_CASE("in-place ops name the op, the shapes and the dtypes they refuse", "[errors]") {
  Tensor x = zeros({2, 3});
  CHECK_THROWS_WITH_ALL(x.add_(ones({4})), "add_", "[2, 3]", "[4]", "broadcast");
  CHECK_THROWS_WITH_ALL(x.mul_(ones({3, 3})), "mul_", "[2, 3]", "[3, 3]");
  // The other operand broadcasts, never the tensor written: [2, 3] + [4, 2, 3] is [4, 2, 3].
  CHECK_THROWS_WITH_ALL(x.add_(ones({4, 2, 3})), "add_", "[4, 2, 3]", "[2, 3]");
  CHECK_THROWS_WITH_ALL(x.div_(ones({4, 2, 3})), "div_", "[4, 2, 3]", "[2, 3]");
  // A floating result into an integer tensor would be truncated: refused (as in PyTorch).
  Tensor i = tensor(std::vector<int64_t>{1, 2, 3}, {3});
  CHECK_THROWS_WITH_ALL(i.add_(ones({3})), "add_", "float32", "int64", "truncated");
  CHECK_THROWS_WITH_ALL(i.mul_(0.5), "mul_", "float32", "int64");
  CHECK_THROWS_WITH_ALL(i.add_(i, 0.5), "add_", "int64");
  CHECK_THROWS_WITH_ALL(i.div_(i), "div_", "int64");  // true division: a float result
  CHECK(i.to_vector<int64_t>() == std::vector<int64_t>{1, 2, 3});  // nothing written
  i.mul_(2.0).add_(i);  // integral results stay allowed
  CHECK(i.to_vector<int64_t>() == std::vector<int64_t>{4, 8, 12});
  Tensor f = zeros({3});
  f.add_(ones({3}, {.dtype = DType::Float64}));  // a wider float into float32: rounded, allowed
  CHECK(f.to_vector<double>() == std::vector<double>{1, 1, 1});
  // A write refused changes nothing, its version included: a graph that saved the tensor
  // still backpropagates.
  Tensor w = ones({4}, {.requires_grad = true});
  Tensor idx = tensor(std::vector<int64_t>{0, 2}, {2});
  Tensor picked = index_select(w, 0, idx);  // saves idx for its backward pass
  CHECK_THROWS(idx.add_(ones({2})));
  CHECK_THROWS(idx.mul_(ones({3})));
  picked.sum().backward();
  CHECK(w.grad().to_vector<double>() == std::vector<double>{1, 0, 1, 0});
}

TEST_CASE("autograd errors", "[errors]") {
  Tensor x = ones({3}, {.requires_grad = true});
  CHECK_THROWS_WITH_ALL((x * 2.0).backward(), "backward", "[3]", "one-element");
  CHECK_THROWS_WITH_ALL((x * 2.0).backward(ones({2})), "backward", "[2]", "[3]");
  CHECK_THROWS_WITH_ALL(ones({1}).backward(), "backward", "does not require grad");
}

TEST_CASE("mixing devices is refused", "[errors]") {
  // A zero-size tensor needs no memory, so it can name a CUDA device even without a GPU.
  Tensor on_gpu = empty({0}, {.device = Device::cuda(0)});
  CHECK_THROWS_WITH_ALL(ones({0}) + on_gpu, "add", "one device", "cpu", "cuda:0");
  CHECK_THROWS_WITH_ALL(cat({ones({0}), on_gpu}), "cat", "cuda:0");
  if (!device_available(Device::cuda(0)))
    CHECK_THROWS_WITH_ALL(ones({2}).to(Device::cuda(0)), "cuda");
}

TEST_CASE("errors are std::exceptions whose message starts with the op", "[errors]") {
  STATIC_REQUIRE(std::is_base_of_v<std::exception, ctdl::Error>);
  auto message = [](const std::function<void()>& f) -> std::string {
    try {
      f();
    } catch (const std::exception& e) {
      return e.what();
    }
    return "(nothing thrown)";
  };
  Tensor x = ones({3}, {.requires_grad = true});
  CHECK_THAT(message([] { (void)(ones({2, 3}) + ones({4})); }), Catch::StartsWith("add: "));
  CHECK_THAT(message([] { (void)(ones({2, 3}) * ones({4})); }), Catch::StartsWith("mul: "));
  CHECK_THAT(message([] {
               (void)matmul(ones({2, 3}), ones({4, 5}));
             }),
             Catch::StartsWith("matmul: "));
  CHECK_THAT(message([] { (void)ones({6}).reshape({4, -1}); }), Catch::StartsWith("reshape: "));
  CHECK_THAT(message([] { (void)ones({2, 3}).select(0, 5); }), Catch::StartsWith("select: "));
  CHECK_THAT(message([] {
               (void)cat({ones({2, 3}), ones({2, 4})}, 0);
             }),
             Catch::StartsWith("cat: "));
  CHECK_THAT(message([&] { (x * 2.0).backward(); }), Catch::StartsWith("backward: "));
}

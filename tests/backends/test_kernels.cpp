// The CPU kernels' paths, each against a plain double loop: contiguous runs (SIMD),
// strided and broadcast operands, tails shorter than a vector, sizes 0 and 1, float32 and
// float64, at every instruction set the processor has and on one or several threads.
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "ctdl/backends/cpu/simd/arch.h"
#include "ctdl/ctdl.h"
#include "ctdl/tensor/dispatch.h"
#include "ctdl/tensor/threads.h"
#include "helpers.h"
#include "tensor/op_db.h"

using namespace ctdl;

namespace {

std::vector<cpu::SimdLevel> levels() {
  std::vector<cpu::SimdLevel> out;
  for (auto l : {cpu::SimdLevel::Sse2, cpu::SimdLevel::Avx2, cpu::SimdLevel::Avx512})
    if (l <= cpu::best_simd_level()) out.push_back(l);
  return out;
}

// Runs fn once per available SIMD level, restoring the best level afterwards.
void for_each_level(const std::function<void()>& fn) {
  for (cpu::SimdLevel l : levels()) {
    cpu::set_simd_level(l);
    INFO("SIMD level " << cpu::simd_level_name(l));
    fn();
  }
  cpu::set_simd_level(cpu::best_simd_level());
}

// Lengths around every vector width (4, 8, 16 lanes), the reduction block (1024) and the
// threading grain (32768).
const std::vector<int64_t> kLengths = {0, 1, 3, 7, 8, 9, 15, 16, 17, 33, 63, 1025, 4099, 40000};

double rel_tol(DType t) { return t == DType::Float32 ? 2e-6 : 1e-14; }

void check_close(const Tensor& got, const std::vector<double>& want, double rtol, double atol = 0) {
  REQUIRE(got.numel() == static_cast<int64_t>(want.size()));
  std::vector<double> g = got.to_vector<double>();
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::isnan(want[i])) {
      INFO("element " << i);
      CHECK(std::isnan(g[i]));
      continue;
    }
    if (std::abs(g[i] - want[i]) > atol + rtol * std::abs(want[i])) {
      FAIL_CHECK("element " << i << " of " << want.size() << ": got " << g[i] << ", expected "
                            << want[i]);
      return;
    }
  }
}

struct UnaryCase {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> ref;
  double lo, hi;  // input range
  double ulps;    // allowed error in units of the dtype's epsilon
};

std::vector<UnaryCase> unary_cases() {
  return {
      {"neg", [](auto& x) { return -x; }, [](double x) { return -x; }, -5, 5, 0},
      {"abs", [](auto& x) { return abs(x); }, [](double x) { return std::abs(x); }, -5, 5, 0},
      {"sign", [](auto& x) { return sign(x); }, [](double x) { return double((x > 0) - (x < 0)); },
       -5, 5, 0},
      {"exp", [](auto& x) { return exp(x); }, [](double x) { return std::exp(x); }, -20, 20, 4},
      {"log", [](auto& x) { return log(x); }, [](double x) { return std::log(x); }, 1e-3, 100, 4},
      {"log1p", [](auto& x) { return log1p(x); }, [](double x) { return std::log1p(x); }, -0.9, 10,
       4},
      {"sqrt", [](auto& x) { return sqrt(x); }, [](double x) { return std::sqrt(x); }, 0, 100, 2},
      {"rsqrt", [](auto& x) { return rsqrt(x); }, [](double x) { return 1 / std::sqrt(x); }, 0.01,
       100, 4},
      {"sin", [](auto& x) { return sin(x); }, [](double x) { return std::sin(x); }, -10, 10, 8},
      {"cos", [](auto& x) { return cos(x); }, [](double x) { return std::cos(x); }, -10, 10, 8},
      {"tanh", [](auto& x) { return tanh(x); }, [](double x) { return std::tanh(x); }, -10, 10, 8},
      {"sigmoid", [](auto& x) { return sigmoid(x); },
       [](double x) { return 1 / (1 + std::exp(-x)); }, -30, 30, 8},
      {"relu", [](auto& x) { return relu(x); }, [](double x) { return x > 0 ? x : 0; }, -5, 5, 0},
      {"softplus", [](auto& x) { return softplus(x); },
       [](double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }, -30, 30, 8},
      {"pow 2", [](auto& x) { return pow(x, 2.0); }, [](double x) { return x * x; }, -5, 5, 2},
      {"pow 3", [](auto& x) { return pow(x, 3.0); }, [](double x) { return x * x * x; }, -5, 5, 4},
      {"pow -1", [](auto& x) { return pow(x, -1.0); }, [](double x) { return 1 / x; }, 0.5, 5, 2},
      {"pow 1.5", [](auto& x) { return pow(x, 1.5); }, [](double x) { return std::pow(x, 1.5); }, 0,
       5, 4},
      {"clamp", [](auto& x) { return clamp(x, -1.0, 2.0); },
       [](double x) { return std::min(std::max(x, -1.0), 2.0); }, -5, 5, 0},
  };
}

}  // namespace

TEST_CASE("unary kernels: contiguous (SIMD) and strided paths agree with the reference") {
  for_each_level([] {
    for (const UnaryCase& c : unary_cases())
      for (DType dtype : {DType::Float32, DType::Float64})
        for (int64_t n : kLengths) {
          INFO(c.name << " [" << dtype << "] n=" << n);
          manual_seed(n);
          Tensor x = rand({n}, {.dtype = dtype}) * (c.hi - c.lo) + c.lo;
          std::vector<double> want;
          for (double v : x.to_vector<double>()) want.push_back(c.ref(v));
          double tol = std::max(c.ulps, 1.0) * rel_tol(dtype);
          check_close(c.op(x), want, tol, tol);
          // The same values read through a stride-2 view take the scalar path.
          Tensor wide = stack({x, x}, 1).select(1, 0);
          REQUIRE((wide.numel() <= 1 || wide.strides()[0] == 2));
          check_close(c.op(wide), want, tol, tol);
        }
  });
}

// float32 tanh is a rational approximation (kernels_impl.h, tanh_float): over a dense sweep
// of [-10, 10], with the region near |x| = 6 where its error peaks sampled float by float,
// it stays within 6 ulp of tanh at every instruction set, is odd, saturates at exactly ±1
// and passes NaN on. (SSE2 has no fused multiply-add: its rounding differs a little.)
TEST_CASE("float32 tanh is within 6 ulp of tanh, odd, and exactly ±1 beyond ±9") {
  std::vector<float> xs;
  for (int i = -200000; i <= 200000; ++i) xs.push_back(static_cast<float>(i) * 5e-5f);
  for (float v = 5.5f; v < 6.5f; v = std::nextafter(v, 7.0f)) xs.push_back(v);
  for (float v : {1e-30f, 1e-8f, 3e-4f, 8.9f, 9.0f, 9.1f, 20.0f, 1e30f}) xs.push_back(v);
  const int64_t n = static_cast<int64_t>(xs.size());
  const float inf = std::numeric_limits<float>::infinity();
  for_each_level([&] {
    Tensor x = tensor(xs, {n});
    std::vector<float> y = tanh(x).to_vector<float>(), neg = tanh(-x).to_vector<float>();
    double worst = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double exact = std::tanh(static_cast<double>(xs[i]));
      const float rounded = static_cast<float>(exact);
      const double ulp = std::nextafter(rounded, 2.0f) - rounded;
      worst = std::max(worst, std::abs(y[i] - exact) / ulp);
      if (neg[i] != -y[i]) FAIL_CHECK("tanh(-x) != -tanh(x) at x = " << xs[i]);
    }
    INFO("largest error " << worst << " ulp");
    CHECK(worst <= 6.0);
    std::vector<float> edge =
        tanh(tensor(std::vector<float>{9.5f, -9.5f, 1e30f, std::nanf(""), inf, -inf,
                                       -std::nanf("")},
                    {7}))
            .to_vector<float>();
    CHECK(edge[0] == 1.0f);
    CHECK(edge[1] == -1.0f);
    CHECK(edge[2] == 1.0f);
    CHECK(std::isnan(edge[3]));
    CHECK(edge[4] == 1.0f);
    CHECK(edge[5] == -1.0f);
    CHECK(std::isnan(edge[6]));
  });
}

TEST_CASE(
    "binary kernels: contiguous, scalar-broadcast, row/column-broadcast and transposed operands") {
  using BinaryFn = std::function<Tensor(const Tensor&, const Tensor&)>;
  struct Case {
    const char* name;
    BinaryFn op;
    std::function<double(double, double)> ref;
  };
  std::vector<Case> cases = {
      {"add", [](auto& a, auto& b) { return a + b; }, [](double a, double b) { return a + b; }},
      {"sub", [](auto& a, auto& b) { return a - b; }, [](double a, double b) { return a - b; }},
      {"mul", [](auto& a, auto& b) { return a * b; }, [](double a, double b) { return a * b; }},
      {"div", [](auto& a, auto& b) { return a / b; }, [](double a, double b) { return a / b; }},
      {"maximum", [](auto& a, auto& b) { return maximum(a, b); },
       [](double a, double b) { return std::max(a, b); }},
      {"minimum", [](auto& a, auto& b) { return minimum(a, b); },
       [](double a, double b) { return std::min(a, b); }},
      {"pow", [](auto& a, auto& b) { return pow(a, b); },
       [](double a, double b) { return std::pow(a, b); }},
      {"lt", [](auto& a, auto& b) { return lt(a, b); },
       [](double a, double b) { return double(a < b); }},
      {"ge", [](auto& a, auto& b) { return ge(a, b); },
       [](double a, double b) { return double(a >= b); }},
      {"eq", [](auto& a, auto& b) { return eq(a, b); },
       [](double a, double b) { return double(a == b); }},
  };
  for_each_level([&] {
    for (const Case& c : cases)
      for (DType dtype : {DType::Float32, DType::Float64})
        for (int64_t n : {int64_t{1}, int64_t{5}, int64_t{17}, int64_t{70}, int64_t{300}}) {
          INFO(c.name << " [" << dtype << "] n=" << n);
          manual_seed(n);
          // Positive operands (pow), with some exact ties (eq, maximum).
          Tensor a = rand({3, n}, {.dtype = dtype}) + 0.5, b = rand({3, n}, {.dtype = dtype}) + 0.5;
          b.narrow(1, 0, 1).copy_(a.narrow(1, 0, 1));
          Tensor row = rand({n}, {.dtype = dtype}) + 0.5,
                 col = rand({3, 1}, {.dtype = dtype}) + 0.5;
          Tensor s = scalar_tensor(1.25, {.dtype = dtype});
          auto av = a.to_vector<double>(), bv = b.to_vector<double>(), rv = row.to_vector<double>(),
               cv = col.to_vector<double>();
          std::vector<double> same, with_row, with_col, with_scalar, scalar_first, transposed;
          for (int64_t i = 0; i < 3; ++i)
            for (int64_t j = 0; j < n; ++j) {
              double x = av[i * n + j];
              same.push_back(c.ref(x, bv[i * n + j]));
              with_row.push_back(c.ref(x, rv[j]));
              with_col.push_back(c.ref(x, cv[i]));
              with_scalar.push_back(c.ref(x, 1.25));
              scalar_first.push_back(c.ref(1.25, x));
            }
          for (int64_t j = 0; j < n; ++j)
            for (int64_t i = 0; i < 3; ++i)
              transposed.push_back(c.ref(av[i * n + j], bv[i * n + j]));
          double tol = 4 * rel_tol(dtype);
          check_close(c.op(a, b), same, tol, tol);
          check_close(c.op(a, row), with_row, tol, tol);
          check_close(c.op(a, col), with_col, tol, tol);
          check_close(c.op(a, s), with_scalar, tol, tol);
          check_close(c.op(s, a), scalar_first, tol, tol);
          check_close(c.op(a.t(), b.t()), transposed, tol, tol);
        }
  });
}

TEST_CASE("NaN propagates through maximum, minimum and max/min reductions on every path") {
  for_each_level([] {
    for (DType dtype : {DType::Float32, DType::Float64})
      for (int64_t n : {int64_t{1}, int64_t{9}, int64_t{40}, int64_t{5000}}) {
        INFO("[" << dtype << "] n=" << n);
        Tensor x = rand({n}, {.dtype = dtype});
        Tensor y = x.clone();
        y.narrow(0, n / 2, 1).fill_(std::numeric_limits<double>::quiet_NaN());
        CHECK(std::isnan(y.amax().item()));
        CHECK(std::isnan(y.amin().item()));
        CHECK(std::isnan(y.sum().item()));
        CHECK(isnan(maximum(y, x)).sum().item() == 1);
        CHECK(isnan(minimum(x, y)).sum().item() == 1);
        CHECK(ne(y, y).sum().item() == 1);  // NaN != NaN
        CHECK(eq(y, y).sum().item() == n - 1);
        Tensor cols = stack({x, y, x, x}, 0);  // [4, n]: column reduction path
        CHECK(isnan(cols.amax({0})).sum().item() == 1);
      }
  });
}

TEST_CASE("reductions: whole tensor, trailing dims, leading dims (columns), and strided inputs") {
  for_each_level([] {
    for (DType dtype : {DType::Float32, DType::Float64})
      for (int64_t n :
           {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{33}, int64_t{1025}, int64_t{70000}}) {
        INFO("[" << dtype << "] n=" << n);
        manual_seed(n + 1);
        Tensor x = rand({n}, {.dtype = dtype}) + 0.5;
        auto v = x.to_vector<double>();
        double sum = 0, mx = -INFINITY, mn = INFINITY, prod = 1;
        for (double e : v) sum += e, mx = std::max(mx, e), mn = std::min(mn, e);
        for (int64_t i = 0; i < std::min<int64_t>(n, 30); ++i) prod *= v[i];
        double tol = 4 * rel_tol(dtype);
        CHECK(x.sum().item() == Approx(sum).epsilon(tol));
        if (n > 0) {
          CHECK(x.amax().item() == mx);
          CHECK(x.amin().item() == mn);
        }
        CHECK(ctdl::prod(x.narrow(0, 0, std::min<int64_t>(n, 30))).item() ==
              Approx(prod).epsilon(tol));

        // A matrix [m, k] reduced over rows (trailing dim), over columns (leading dim), and
        // the same through its transpose.
        int64_t m = 5, k = n / 5 + 3;
        Tensor a = rand({m, k}, {.dtype = dtype});
        auto av = a.to_vector<double>();
        std::vector<double> rows(m, 0.0), cols(k, 0.0), col_max(k, -INFINITY);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < k; ++j) {
            rows[i] += av[i * k + j];
            cols[j] += av[i * k + j];
            col_max[j] = std::max(col_max[j], av[i * k + j]);
          }
        check_close(a.sum({1}), rows, tol);
        check_close(a.sum({0}), cols, tol);
        check_close(a.amax({0}), col_max, 0);
        check_close(a.t().sum({0}), rows, tol);
        check_close(a.t().sum({1}), cols, tol);
      }
  });
}

TEST_CASE("sum of an empty dimension is zero and prod is one") {
  Tensor x = zeros({3, 0});
  CHECK(x.sum({1}).to_vector<double>() == std::vector<double>{0, 0, 0});
  CHECK(ctdl::prod(x, {1}).to_vector<double>() == std::vector<double>{1, 1, 1});
}

TEST_CASE("float32 sums of many elements keep double accuracy in the blocks' totals") {
  // 2^24 + 1 ones: a float accumulator stops counting at 2^24.
  Tensor x = ones({(int64_t{1} << 24) + 1});
  CHECK(x.sum().item() == double((int64_t{1} << 24)));  // the float32 result rounds to 2^24
  CHECK(x.sum().to(DType::Float64).item() == Approx(double((int64_t{1} << 24) + 1)).epsilon(1e-7));
  Tensor y = full({3000000}, 0.1);
  CHECK(y.sum().item() == Approx(300000.0).epsilon(1e-6));
}

TEST_CASE("fused kernels: linear_combination, axpby and bias_activation match their composites") {
  for_each_level([] {
    for (DType dtype : {DType::Float32, DType::Float64})
      for (int64_t n : {int64_t{1}, int64_t{13}, int64_t{100}, int64_t{40000}}) {
        INFO("[" << dtype << "] n=" << n);
        manual_seed(n);
        double tol = 8 * rel_tol(dtype);
        TensorList ks;
        std::vector<double> cs;
        for (int k = 0; k < 11; ++k) {  // more terms than one kernel call takes
          ks.push_back(randn({2, n}, {.dtype = dtype}));
          cs.push_back(0.1 * (k + 1) * (k % 2 ? -1 : 1));
        }
        Tensor composite = zeros({2, n}, {.dtype = dtype});
        for (int k = 0; k < 11; ++k) composite = composite + ks[k] * cs[k];
        check_close(linear_combination(ks, cs), composite.to_vector<double>(), tol, tol);
        // Broadcast and strided terms take the general path.
        Tensor row = randn({n}, {.dtype = dtype}), tr = randn({n, 2}, {.dtype = dtype});
        check_close(linear_combination({ks[0], row, tr.t()}, {1.0, 0.5, -2.0}),
                    (ks[0] + row * 0.5 - tr.t() * 2.0).to_vector<double>(), tol, tol);
        check_close(axpby(2.0, ks[1], 3.0, ks[2]), (ks[1] * 2.0 + ks[2] * 3.0).to_vector<double>(),
                    tol, tol);

        Tensor x = randn({3, n}, {.dtype = dtype}), b = randn({n}, {.dtype = dtype});
        check_close(bias_activation(x, b, Activation::None), (x + b).to_vector<double>(), tol, tol);
        check_close(bias_activation(x, b, Activation::Relu), relu(x + b).to_vector<double>(), tol,
                    tol);
        check_close(bias_activation(x, b, Activation::Tanh), tanh(x + b).to_vector<double>(), tol,
                    tol);
        check_close(bias_activation(x, b, Activation::Sigmoid), sigmoid(x + b).to_vector<double>(),
                    tol, tol);
        Tensor per_row = randn({3, 1}, {.dtype = dtype});
        check_close(bias_activation(x, per_row, Activation::Tanh),
                    tanh(x + per_row).to_vector<double>(), tol, tol);
      }
  });
}

namespace {

// A perceptron with random weights (and biases where has_bias says) on `rows` random rows,
// and a random mix for the loss sum(out · mix).
struct RandomPerceptron {
  Tensor x, mix;
  TensorList weights, biases;
};

RandomPerceptron random_perceptron(const Dims& dims, const std::vector<bool>& has_bias,
                                   DType dtype, int64_t rows) {
  manual_seed(rows);
  auto opts = TensorOptions{.dtype = dtype, .requires_grad = true};
  RandomPerceptron p;
  p.x = randn({rows, dims[0]}, opts);
  for (int k = 0; k + 1 < dims.size(); ++k) {
    p.weights.push_back(randn({dims[k + 1], dims[k]}, opts) * 0.5);
    p.biases.push_back(has_bias[k] ? randn({dims[k + 1]}, opts) : Tensor());
  }
  p.mix = randn({rows, dims.back()}, {.dtype = dtype});
  return p;
}

// A perceptron's output and its gradients with respect to x and every parameter, for
// loss = sum(out · mix): through the fused op or through a chain of layers.
TensorList perceptron_and_grads(bool fused, const RandomPerceptron& p, Activation act) {
  Tensor out;
  if (fused) {
    out = mlp(p.x, p.weights, p.biases, act);
  } else {
    out = p.x;
    for (size_t k = 0; k < p.weights.size(); ++k)
      out = linear(out, p.weights[k], p.biases[k],
                   k + 1 < p.weights.size() ? act : Activation::None);
  }
  TensorList wrt = {p.x};
  wrt.insert(wrt.end(), p.weights.begin(), p.weights.end());
  for (const Tensor& b : p.biases)
    if (b.defined()) wrt.push_back(b);
  TensorList result = autograd::grad({(out * p.mix).sum()}, wrt);
  result.insert(result.begin(), out.detach());
  return result;
}

}  // namespace

TEST_CASE("mlp: the fused row-lane kernels match a chain of linear layers, forward and backward") {
  struct Net {
    Dims dims;
    std::vector<bool> has_bias;
  };
  // A neural ODE's field, a deeper one with a layer without bias and odd widths, and one
  // with more weights than the row-lane kernels take (the composite runs it).
  const std::vector<Net> nets = {{{2, 64, 2}, {true, true}},
                                 {{3, 7, 5, 4}, {true, false, true}},
                                 {{40, 128, 70}, {true, true}}};
  for_each_level([&] {
    for (DType dtype : {DType::Float32, DType::Float64})
      for (const Net& net : nets)
        for (Activation act : {Activation::Tanh, Activation::Relu, Activation::Sigmoid})
          // a partial block, one chunk, several chunks with a short last one
          for (int64_t rows : {1, 17, 300, 5001}) {
            INFO("[" << dtype << "] dims " << net.dims << ", activation " << static_cast<int>(act)
                     << ", rows " << rows);
            const RandomPerceptron p = random_perceptron(net.dims, net.has_bias, dtype, rows);
            TensorList fused = perceptron_and_grads(true, p, act);
            TensorList chain = perceptron_and_grads(false, p, act);
            REQUIRE(fused.size() == chain.size());
            // Sums over up to 5001 rows in another order: float32 keeps ~5 digits of them.
            const double tol = dtype == DType::Float32 ? 2e-4 : 1e-11;
            for (size_t i = 0; i < fused.size(); ++i) {
              INFO("result " << i << " (0: output, 1: grad x, then weights, biases)");
              const double scale = chain[i].abs().amax().item<double>() + 1;
              CHECK(testing::allclose(fused[i], chain[i], 0, tol * scale));
            }
          }
  });
}

// Under KeepIntermediatesGuard (a backward pass that follows at once) the fused kernels keep
// the hidden values instead of recomputing them: the same arithmetic on the same values, so
// the same bits. A network without a hidden layer keeps nothing; the composite (too many
// weights) keeps nothing either.
TEST_CASE("mlp: kept hidden values give the same bits as recomputing them") {
  struct Net {
    Dims dims;
    std::vector<bool> has_bias;
    bool keeps;
  };
  const std::vector<Net> nets = {{{2, 64, 2}, {true, true}, true},
                                 {{3, 7, 5, 4}, {true, false, true}, true},
                                 {{4, 3}, {true}, false},
                                 {{40, 128, 70}, {true, true}, false}};
  for_each_level([&] {
    for (DType dtype : {DType::Float32, DType::Float64})
      for (const Net& net : nets)
        for (int64_t rows : {1, 17, 300, 5001}) {
          INFO("[" << dtype << "] dims " << net.dims << ", rows " << rows);
          const RandomPerceptron p = random_perceptron(net.dims, net.has_bias, dtype, rows);
          TensorList recomputed = perceptron_and_grads(true, p, Activation::Tanh);
          TensorList kept;
          {
            autograd::KeepIntermediatesGuard keep;
            kept = perceptron_and_grads(true, p, Activation::Tanh);
          }
          REQUIRE(kept.size() == recomputed.size());
          for (size_t i = 0; i < kept.size(); ++i) {
            INFO("result " << i << " (0: output, 1: grad x, then weights, biases)");
            CHECK(kept[i].to_vector<double>() == recomputed[i].to_vector<double>());
          }
          // Whether the kernel kept anything, and how much: per panel of 16 blocks of rows,
          // the hidden features' vectors at a stride of 17 vectors.
          Tensor hidden;
          {
            autograd::NoGradGuard no_grad;
            dispatch::mlp(p.x, p.weights, p.biases, Activation::Tanh, &hidden);
          }
          CHECK(hidden.defined() == net.keeps);
          if (hidden.defined()) {
            const int64_t bytes = cpu::simd_level() == cpu::SimdLevel::Avx512 ? 64
                                  : cpu::simd_level() == cpu::SimdLevel::Avx2 ? 32
                                                                               : 16;
            const int64_t lanes = bytes / element_size(dtype);
            int64_t features = 0;
            for (int k = 1; k + 1 < net.dims.size(); ++k) features += net.dims[k];
            const int64_t panels = (rows + 16 * lanes - 1) / (16 * lanes);
            REQUIRE(hidden.dim() == 4);
            CHECK(hidden.shape()[0] * hidden.shape()[1] >= panels);
            CHECK(hidden.shape()[2] == features);
            CHECK(hidden.shape()[3] == 17 * lanes);
          }
        }
  });
}

// Kept at one vector width, used at another (tests switch SIMD levels): the backward pass
// sees a layout it was not made for and recomputes instead.
TEST_CASE("mlp: hidden values kept at another SIMD level are recomputed, not misread") {
  const std::vector<cpu::SimdLevel> all = levels();
  if (all.size() < 2) {
    WARN("skipped: this CPU has one SIMD level, nothing to switch between");
    return;
  }
  manual_seed(5);
  auto opts = TensorOptions{.requires_grad = true};
  Tensor x = randn({300, 2}, opts), w1 = randn({64, 2}, opts), b1 = randn({64}, opts),
         w2 = randn({2, 64}, opts) * 0.3;
  auto grads = [&](cpu::SimdLevel forward, cpu::SimdLevel backward) {
    cpu::set_simd_level(forward);
    Tensor y;
    {
      autograd::KeepIntermediatesGuard keep;
      y = mlp(x, {w1, w2}, {b1, Tensor()}, Activation::Tanh);
    }
    cpu::set_simd_level(backward);
    TensorList g = autograd::grad({(y * y).sum()}, {x, w1, b1, w2});
    cpu::set_simd_level(cpu::best_simd_level());
    return g;
  };
  for (cpu::SimdLevel a : all)
    for (cpu::SimdLevel b : all) {
      if (a == b) continue;
      INFO("forward at " << cpu::simd_level_name(a) << ", backward at " << cpu::simd_level_name(b));
      TensorList mixed = grads(a, b), same = grads(a, a);
      for (size_t i = 0; i < mixed.size(); ++i)
        CHECK(testing::allclose(mixed[i], same[i], 1e-4, 1e-4));
    }
}

TEST_CASE("fused ops have gradients (gradcheck and gradgradcheck in float64)") {
  manual_seed(3);
  auto opts = TensorOptions{.dtype = DType::Float64, .requires_grad = true};
  Tensor x = randn({4, 5}, opts), y = randn({5}, opts), z = randn({4, 1}, opts);
  auto combination = [](const TensorList& v) {
    return TensorList{linear_combination(v, {0.5, -2.0, 3.0})};
  };
  CHECK(autograd::gradcheck(combination, {x, y, z}).ok);
  CHECK(autograd::gradgradcheck(combination, {x, y, z}).ok);
  for (Activation act :
       {Activation::None, Activation::Tanh, Activation::Sigmoid, Activation::Relu}) {
    INFO("activation " << static_cast<int>(act));
    auto f = [act](const TensorList& v) { return TensorList{bias_activation(v[0], v[1], act)}; };
    CHECK(autograd::gradcheck(f, {x, y}).ok);
    if (act != Activation::Relu) CHECK(autograd::gradgradcheck(f, {x, y}).ok);
  }
}

TEST_CASE(
    "activation_backward is the gradient through tanh, sigmoid and relu, and differentiates "
    "again") {
  manual_seed(4);
  auto opts = TensorOptions{.dtype = DType::Float64, .requires_grad = true};
  Tensor g = randn({3, 7}, opts), y = rand({3, 7}, opts) * 1.8 - 0.9;
  auto gv = g.to_vector<double>(), yv = y.to_vector<double>();
  std::vector<double> t, s, r;
  for (size_t i = 0; i < gv.size(); ++i) {
    t.push_back(gv[i] * (1 - yv[i] * yv[i]));
    s.push_back(gv[i] * yv[i] * (1 - yv[i]));
    r.push_back(yv[i] > 0 ? gv[i] : 0.0);
  }
  check_close(activation_backward(g, y, Activation::Tanh), t, 1e-15, 1e-15);
  check_close(activation_backward(g, y, Activation::Sigmoid), s, 1e-15, 1e-15);
  check_close(activation_backward(g, y, Activation::Relu), r, 0);
  for (Activation act : {Activation::Tanh, Activation::Sigmoid}) {
    INFO("activation " << static_cast<int>(act));
    auto f = [act](const TensorList& v) {
      return TensorList{activation_backward(v[0], v[1], act)};
    };
    CHECK(autograd::gradcheck(f, {g, y}).ok);
    CHECK(autograd::gradgradcheck(f, {g, y}).ok);
  }
  // tanh's third derivative goes through it: d³/dx³ tanh = -2(1 - y²)(1 - 3y²).
  Tensor x = tensor({0.3, -1.2}, {.dtype = DType::Float64, .requires_grad = true});
  Tensor d1 = autograd::grad({tanh(x).sum()}, {x}, {}, {.create_graph = true})[0];
  Tensor d2 = autograd::grad({d1.sum()}, {x}, {}, {.create_graph = true})[0];
  Tensor d3 = autograd::grad({d2.sum()}, {x})[0];
  std::vector<double> want;
  for (double v : x.to_vector<double>()) {
    double yy = std::tanh(v);
    want.push_back(-2 * (1 - yy * yy) * (1 - 3 * yy * yy));
  }
  check_close(d3, want, 1e-12, 1e-12);
}

TEST_CASE("fused ops report bad arguments") {
  CHECK_THROWS_WITH(
      linear_combination({ones({2}), ones({3})}, {1.0, 1.0}),
      Catch::Contains("linear_combination") && Catch::Contains("[2]") && Catch::Contains("[3]"));
  CHECK_THROWS_WITH(linear_combination({ones({2})}, {1.0, 2.0}),
                    Catch::Contains("linear_combination: expected one coefficient per term"));
  CHECK_THROWS_WITH(bias_activation(ones({2, 3}), ones({4}), Activation::Relu),
                    Catch::Contains("bias_activation") && Catch::Contains("[4]"));
}

TEST_CASE("results are identical on one thread and on several") {
  int before = num_threads();
  auto run = [] {
    manual_seed(11);
    Tensor x = randn({1 << 20}), m = randn({3000, 257});
    TensorList out = {x.sum(),
                      // chunks that do not fill the last task, the last chunk short
                      randn({1000003}).sum(),
                      m.sum({0}),
                      m.sum({1}),
                      m.amax({0}),
                      exp(x),
                      x * 2.0 + 1.0,
                      linear_combination({x, exp(x)}, {0.3, 0.7}),
                      m.mean(),
                      m.t().contiguous(),
                      // a layer's rows, cut between threads in chunks of rows
                      bias_activation(m, m.select(0, 0), Activation::Tanh),
                      bias_activation(m, m.select(0, 1), Activation::Relu)};
    // The fused perceptron's gradients, summed over chunks of rows.
    Tensor w1 = randn({64, 257}, {.requires_grad = true}) * 0.1, w2 = randn({2, 64}) * 0.1;
    Tensor b1 = randn({64}, {.requires_grad = true}), mx = m.detach().requires_grad_(true);
    Tensor y = mlp(mx, {w1, w2}, {b1, Tensor()}, Activation::Tanh);
    TensorList grads = autograd::grad({(y * y).sum()}, {mx, w1, b1});
    out.push_back(y);
    out.insert(out.end(), grads.begin(), grads.end());
    return out;
  };
  set_num_threads(1);
  TensorList one = run();
  set_num_threads(std::max(2, before));
  TensorList many = run();
  set_num_threads(before);
  for (size_t i = 0; i < one.size(); ++i) {
    INFO("result " << i);
    CHECK(one[i].to_vector<double>() == many[i].to_vector<double>());
  }
}

TEST_CASE("the op database's forward values hold at every SIMD level") {
  for_each_level([] {
    for (const testing::OpInfo& op : testing::op_database())
      for (DType dtype : {DType::Float32, DType::Float64})
        for (const testing::Sample& s : op.samples(dtype)) {
          INFO(op.name << " [" << dtype << "] on " << s.description);
          TensorList args = s.args(s.inputs);
          TensorList out = op.op(args), expected = op.reference(args);
          REQUIRE(out.size() == expected.size());
          for (size_t i = 0; i < out.size(); ++i) {
            bool single = dtype == DType::Float32 || out[i].dtype() == DType::Float32;
            double rtol = single ? op.rtol_float32 : 1e-10, atol = single ? op.atol_float32 : 1e-10;
            CHECK(testing::allclose(out[i], expected[i], rtol, atol));
          }
        }
  });
}

TEST_CASE("in-place ops write into their tensor, and stay right when the operand overlaps it") {
  Tensor x = arange(6.0).to(DType::Float32), y = ones({6});
  const void* storage = x.raw_data();
  x.add_(y, 2.0);  // one pass, straight into x
  CHECK(x.raw_data() == storage);
  CHECK(x.to_vector<double>() == std::vector<double>{2, 3, 4, 5, 6, 7});
  x.mul_(0.5);
  CHECK(x.to_vector<double>() == std::vector<double>{1, 1.5, 2, 2.5, 3, 3.5});
  x.add_(x);  // the operand is the very same view
  CHECK(x.to_vector<double>() == std::vector<double>{2, 3, 4, 5, 6, 7});
  // Shifted views of one storage: the result must be as if the operand were read first.
  Tensor z = arange(6.0).to(DType::Float64);
  z.narrow(0, 1, 5).add_(z.narrow(0, 0, 5));
  CHECK(z.to_vector<double>() == std::vector<double>{0, 1, 3, 5, 7, 9});
  Tensor w = arange(6.0).to(DType::Float64);
  w.narrow(0, 0, 5).mul_(w.narrow(0, 1, 5));
  CHECK(w.to_vector<double>() == std::vector<double>{0, 2, 6, 12, 20, 5});
  // Broadcast operand, transposed destination, and a wider operand type (falls back).
  Tensor m = zeros({3, 2}).t();
  m.add_(tensor(std::vector<double>{1.0, 2.0, 3.0}, {3}).to(DType::Float32), -1.0);
  CHECK(m.contiguous().to_vector<double>() == std::vector<double>{-1, -2, -3, -1, -2, -3});
  Tensor f = ones({2});
  f.div_(tensor(std::vector<double>{4.0, 8.0}, {2}, {.dtype = DType::Float64}));
  CHECK(f.dtype() == DType::Float32);
  CHECK(f.to_vector<double>() == std::vector<double>{0.25, 0.125});
}

TEST_CASE(
    "max_pool2d: the first maximum wins, NaN wins, and an all -inf window still has a winner") {
  const double inf = std::numeric_limits<double>::infinity(),
               nan = std::numeric_limits<double>::quiet_NaN();
  // One 2x4 plane, two 2x2 windows: [1 3 | nan 0] over [3 2 | 5 -1] and [-inf -inf] ...
  Tensor x = tensor(std::vector<double>{1, 3, nan, 0, 3, 2, 5, -1}, {1, 1, 2, 4},
                    {.dtype = DType::Float64});
  x.requires_grad_();
  Tensor y = max_pool2d(x, {});
  auto v = y.to_vector<double>();
  CHECK(v[0] == 3);
  CHECK(std::isnan(v[1]));
  y.sum().backward();
  // The gradient goes to the first 3 (position 1, not 4) and to the NaN.
  CHECK(x.grad().to_vector<double>() == std::vector<double>{0, 1, 1, 0, 0, 0, 0, 0});
  Tensor z = full({1, 1, 2, 2}, -inf, {.dtype = DType::Float64, .requires_grad = true});
  Tensor pooled = max_pool2d(z, {});
  CHECK(pooled.item() == -inf);
  pooled.sum().backward();
  CHECK(z.grad().to_vector<double>() == std::vector<double>{1, 0, 0, 0});
}

TEST_CASE("max_pool2d: the 2x2 fast path picks the same winners as the general path") {
  // Small integers make ties common; a column-major copy of the same values takes the
  // general path (its elements are not contiguous along a row). Rows of 7, 75 (more than
  // the fast path's span of 64 windows) and 5 windows.
  for (DType dtype : {DType::Float32, DType::Float64})
    for (Dims shape : {Dims{2, 3, 8, 14}, Dims{1, 2, 4, 151}, Dims{1, 1, 6, 10}}) {
      INFO(dtype << " " << shape);
      manual_seed(7);
      Tensor x = randint(0, 4, shape).to(dtype);
      Tensor strided = x.mT().contiguous().mT();
      REQUIRE(strided.strides()[3] != 1);
      Tensor a = x.detach().requires_grad_(), b = strided.detach().requires_grad_();
      Tensor ya = max_pool2d(a, {}), yb = max_pool2d(b, {});
      CHECK(ya.to_vector<double>() == yb.to_vector<double>());
      (ya * arange(static_cast<double>(ya.numel())).to(dtype).reshape(ya.shape())).sum().backward();
      (yb * arange(static_cast<double>(yb.numel())).to(dtype).reshape(yb.shape())).sum().backward();
      CHECK(a.grad().to_vector<double>() == b.grad().to_vector<double>());
    }
}

TEST_CASE("short rows broadcast against a long tensor ([1000, 3] + [3]) go through a tiled run") {
  for_each_level([] {
    for (DType dtype : {DType::Float32, DType::Float64})
      for (int64_t c : {2, 3, 7, 15}) {
        INFO("[" << dtype << "] c=" << c);
        manual_seed(c);
        Tensor x = randn({1000, c}, {.dtype = dtype}), b = randn({c}, {.dtype = dtype});
        auto xv = x.to_vector<double>(), bv = b.to_vector<double>();
        std::vector<double> sum, diff, act;
        for (int64_t r = 0; r < 1000; ++r)
          for (int64_t j = 0; j < c; ++j) {
            sum.push_back(xv[r * c + j] + bv[j]);
            diff.push_back(bv[j] - xv[r * c + j]);
            act.push_back(std::tanh(xv[r * c + j] + bv[j]));
          }
        double tol = 8 * rel_tol(dtype);
        check_close(x + b, sum, tol, tol);
        check_close(b - x, diff, tol, tol);  // the short operand first
        check_close(bias_activation(x, b, Activation::Tanh), act, tol, tol);
      }
  });
}

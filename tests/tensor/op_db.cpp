#include "tensor/op_db.h"

#include <cmath>
#include <limits>

#include "tensor/reference.h"

namespace ctdl::testing {
namespace {

using reference::Host;

// ---- input generators ------------------------------------------------------------------------

uint64_t next_seed = 1;

// Values uniform in [lo, hi).
Tensor uniform(const Dims& shape, DType dtype, double lo = -2.0, double hi = 2.0) {
  Generator g(next_seed++);
  return rand(shape, {.dtype = dtype}, &g) * (hi - lo) + lo;
}

// Values with |x| in [0.2, 2]: away from the kinks of abs, relu, clamp, sign.
Tensor away_from_zero(const Dims& shape, DType dtype) {
  Tensor u = uniform(shape, dtype, 0.2, 2.0);
  Generator g(next_seed++);
  Tensor s = sign(rand(shape, {.dtype = dtype}, &g) - 0.5);
  return u * s;
}

// Distinct values at least 0.05 apart (no ties for max, min, sorting-like ops).
Tensor distinct(const Dims& shape, DType dtype) {
  int64_t n = numel(shape);
  std::vector<double> v(n);
  Generator g(next_seed++);
  std::vector<double> keys = rand({n}, {.dtype = DType::Float64}, &g).to_vector<double>();
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return keys[a] < keys[b]; });
  for (int64_t i = 0; i < n; ++i)
    v[order[i]] = -1.5 + 3.0 * static_cast<double>(i) / std::max<int64_t>(n, 1) + 0.01 * keys[i];
  return tensor(v, shape, {.dtype = dtype});
}

using Gen = std::function<Tensor(const Dims&, DType)>;
Gen gen_uniform(double lo, double hi) {
  return [lo, hi](const Dims& s, DType t) { return uniform(s, t, lo, hi); };
}

Ops identity_layout() { return nullptr; }
Ops transposed() {
  return [](const TensorList& x) {
    TensorList y = x;
    y[0] = x[0].t();
    return y;
  };
}

// The standard samples of a one-input op.
std::vector<Sample> unary_samples(DType dtype, const Gen& gen) {
  return {
      {"contiguous [3, 4]", {gen({3, 4}, dtype)}, identity_layout()},
      {"transposed [4, 3]^T", {gen({4, 3}, dtype)}, transposed()},
      {"strided slice of [3, 8]",
       {gen({3, 8}, dtype)},
       [](const TensorList& x) { return TensorList{x[0].slice(1, 0, 8, 2)}; }},
      {"expanded [1, 4] -> [3, 4]",
       {gen({1, 4}, dtype)},
       [](const TensorList& x) {
         return TensorList{x[0].expand({3, 4})};
       }},
      {"0-d", {gen({}, dtype)}, identity_layout()},
      {"zero-size [0, 3]", {gen({0, 3}, dtype)}, identity_layout()},
  };
}

// The standard samples of a two-input elementwise op.
std::vector<Sample> binary_samples(DType dtype, const Gen& gen_a, const Gen& gen_b) {
  return {
      {"same shape [3, 4]", {gen_a({3, 4}, dtype), gen_b({3, 4}, dtype)}, identity_layout()},
      {"broadcast [3, 1] and [1, 4]",
       {gen_a({3, 1}, dtype), gen_b({1, 4}, dtype)},
       identity_layout()},
      {"broadcast [4] and [2, 3, 4]",
       {gen_a({4}, dtype), gen_b({2, 3, 4}, dtype)},
       identity_layout()},
      {"0-d and [3]", {gen_a({}, dtype), gen_b({3}, dtype)}, identity_layout()},
      {"both transposed",
       {gen_a({4, 3}, dtype), gen_b({4, 3}, dtype)},
       [](const TensorList& x) {
         return TensorList{x[0].t(), x[1].t()};
       }},
      {"zero-size [0, 4] and [4]", {gen_a({0, 4}, dtype), gen_b({4}, dtype)}, identity_layout()},
  };
}

// ---- entry builders ----------------------------------------------------------------------------

OpInfo unary(std::string name, std::function<Tensor(const Tensor&)> op,
             std::function<double(double)> ref, Gen gen = gen_uniform(-2, 2)) {
  OpInfo info;
  info.name = std::move(name);
  info.op = [op](const TensorList& x) { return TensorList{op(x[0])}; };
  info.reference = [ref](const TensorList& x) {
    return TensorList{reference::map(Host::of(x[0]), ref).to_tensor(DType::Float64)};
  };
  info.samples = [gen](DType t) { return unary_samples(t, gen); };
  return info;
}

OpInfo binary(std::string name, std::function<Tensor(const Tensor&, const Tensor&)> op,
              std::function<double(double, double)> ref, Gen gen_a = gen_uniform(-2, 2),
              Gen gen_b = gen_uniform(-2, 2)) {
  OpInfo info;
  info.name = std::move(name);
  info.op = [op](const TensorList& x) { return TensorList{op(x[0], x[1])}; };
  info.reference = [ref](const TensorList& x) {
    return TensorList{
        reference::zip(Host::of(x[0]), Host::of(x[1]), ref).to_tensor(DType::Float64)};
  };
  info.samples = [gen_a, gen_b](DType t) { return binary_samples(t, gen_a, gen_b); };
  return info;
}

// The dims/keepdim combinations a reduction is tested with, for an input of `rank` dims.
struct ReductionCase {
  Dims dims;
  bool keepdim;
};
std::vector<ReductionCase> reduction_cases(int rank) {
  if (rank == 0) return {{{}, false}, {{}, true}};
  if (rank == 2) return {{{}, false}, {{1}, false}, {{0}, true}, {{-1}, true}};
  return {{{}, false}, {{1}, false}, {{0, 2}, true}, {{-1}, true}, {{0, 1, 2}, false}};
}

// A reduction: every sample is reduced over each of reduction_cases(rank).
// `with_scalar` adds a 0-d sample (not for std: its derivative is infinite there);
// `with_empty` a zero-size one (for the reductions defined on no elements: sum, prod, ...).
OpInfo reduction(std::string name, std::function<Tensor(const Tensor&, const Dims&, bool)> op,
                 std::function<Host(const Host&, const Dims&, bool)> ref,
                 Gen gen = gen_uniform(-2, 2), bool with_scalar = true, bool with_empty = false) {
  OpInfo info;
  info.name = std::move(name);
  info.samples = [gen, with_scalar, with_empty](DType t) {
    std::vector<Sample> s = {{"[2, 3, 4]", {gen({2, 3, 4}, t)}, identity_layout()},
                             {"transposed [4, 3]^T", {gen({4, 3}, t)}, transposed()}};
    if (with_scalar) s.push_back({"0-d", {gen({}, t)}, identity_layout()});
    if (with_empty) s.push_back({"zero-size [0, 3]", {gen({0, 3}, t)}, identity_layout()});
    return s;
  };
  info.op = [op](const TensorList& x) {
    TensorList out;
    for (const ReductionCase& c : reduction_cases(x[0].dim()))
      out.push_back(op(x[0], c.dims, c.keepdim));
    return out;
  };
  info.reference = [ref](const TensorList& x) {
    TensorList out;
    Host h = Host::of(x[0]);
    for (const ReductionCase& c : reduction_cases(x[0].dim()))
      out.push_back(ref(h, c.dims, c.keepdim).to_tensor(DType::Float64));
    return out;
  };
  return info;
}

double relu_ref(double x) { return x > 0 ? x : 0; }
double sigmoid_ref(double x) { return 1 / (1 + std::exp(-x)); }

// A fully connected layer on the host: act(rows · weightᵀ + bias), bias undefined for none;
// the reference of linear and of each layer of mlp.
Host reference_layer(const Host& rows, const Tensor& weight, const Tensor& bias, Activation act) {
  Host pre = reference::matmul(rows, Host::of(weight.t()));
  if (bias.defined()) pre = reference::zip(pre, Host::of(bias), std::plus<>());
  if (act == Activation::None) return pre;
  return reference::map(pre, [act](double v) {
    return act == Activation::Tanh ? std::tanh(v) : act == Activation::Sigmoid ? sigmoid_ref(v) : v;
  });
}

Tensor int_tensor(std::vector<int64_t> v, const Dims& shape) { return tensor(v, shape); }

std::vector<OpInfo> build() {
  std::vector<OpInfo> db;
  auto add = [&](OpInfo info) { db.push_back(std::move(info)); };
  using T = const Tensor&;

  // ---- unary ----
  add(unary(
      "neg", [](T x) { return -x; }, [](double x) { return -x; }));
  add(unary(
      "abs", [](T x) { return abs(x); }, [](double x) { return std::abs(x); }, away_from_zero));
  add(unary(
      "exp", [](T x) { return exp(x); }, [](double x) { return std::exp(x); }));
  add(unary(
      "log", [](T x) { return log(x); }, [](double x) { return std::log(x); },
      gen_uniform(0.3, 3)));
  add(unary(
      "log1p", [](T x) { return log1p(x); }, [](double x) { return std::log1p(x); },
      gen_uniform(-0.5, 3)));
  add(unary(
      "sqrt", [](T x) { return sqrt(x); }, [](double x) { return std::sqrt(x); },
      gen_uniform(0.3, 3)));
  add(unary(
      "rsqrt", [](T x) { return rsqrt(x); }, [](double x) { return 1 / std::sqrt(x); },
      gen_uniform(0.3, 3)));
  add(unary(
      "sin", [](T x) { return sin(x); }, [](double x) { return std::sin(x); }));
  add(unary(
      "cos", [](T x) { return cos(x); }, [](double x) { return std::cos(x); }));
  add(unary(
      "tanh", [](T x) { return tanh(x); }, [](double x) { return std::tanh(x); }));
  add(unary(
      "sigmoid", [](T x) { return sigmoid(x); }, sigmoid_ref));
  add(unary(
      "relu", [](T x) { return relu(x); }, relu_ref, away_from_zero));
  add(unary(
      "softplus", [](T x) { return softplus(x); },
      [](double x) { return std::log1p(std::exp(x)); }));
  add(unary(
      "pow_scalar", [](T x) { return pow(x, 2.5); }, [](double x) { return std::pow(x, 2.5); },
      gen_uniform(0.3, 2)));
  add(unary(
      "pow_negative_scalar", [](T x) { return pow(x, -1.5); },
      [](double x) { return std::pow(x, -1.5); }, gen_uniform(0.3, 2)));
  add(unary(
      "clamp", [](T x) { return clamp(x, -1.0, 1.0); },
      [](double x) { return std::clamp(x, -1.0, 1.0); },
      [](const Dims& s, DType t) {  // keep away from the bounds
        Tensor v = away_from_zero(s, t);
        return where(abs(abs(v) - 1.0) < 0.1, v * 0.5, v);
      }));
  add(unary(
      "square", [](T x) { return square(x); }, [](double x) { return x * x; }));
  add(unary(
      "reciprocal", [](T x) { return reciprocal(x); }, [](double x) { return 1 / x; },
      away_from_zero));
  {
    OpInfo sign_op = unary(
        "sign", [](T x) { return sign(x); }, [](double x) { return double((x > 0) - (x < 0)); },
        away_from_zero);
    sign_op.differentiable = false;
    add(sign_op);
  }

  // ---- binary ----
  add(binary(
      "add", [](T a, T b) { return a + b; }, std::plus<>()));
  add(binary(
      "sub", [](T a, T b) { return a - b; }, std::minus<>()));
  add(binary(
      "mul", [](T a, T b) { return a * b; }, std::multiplies<>()));
  add(binary(
      "div", [](T a, T b) { return a / b; }, std::divides<>(), gen_uniform(-2, 2), away_from_zero));
  add(binary(
      "pow", [](T a, T b) { return pow(a, b); }, [](double a, double b) { return std::pow(a, b); },
      gen_uniform(0.3, 2), gen_uniform(-1.5, 1.5)));
  add(binary(
      "maximum", [](T a, T b) { return maximum(a, b); },
      [](double a, double b) { return std::max(a, b); }, distinct,
      [](const Dims& s, DType t) { return distinct(s, t) + 0.021; }));
  add(binary(
      "minimum", [](T a, T b) { return minimum(a, b); },
      [](double a, double b) { return std::min(a, b); }, distinct,
      [](const Dims& s, DType t) { return distinct(s, t) + 0.021; }));
  add(unary(
      "add_scalar", [](T a) { return a + 1.5; }, [](double a) { return a + 1.5; }));
  add(unary(
      "rsub_scalar", [](T a) { return 2.0 - a; }, [](double a) { return 2.0 - a; }));
  add(unary(
      "rdiv_scalar", [](T b) { return 3.0 / b; }, [](double b) { return 3.0 / b; },
      away_from_zero));
  struct Cmp {
    const char* name;
    std::function<Tensor(T, T)> op;
    std::function<double(double, double)> ref;
  };
  for (const Cmp& c : std::vector<Cmp>{
           {"eq", [](T a, T b) { return eq(a, b); },
            [](double a, double b) { return double(a == b); }},
           {"ne", [](T a, T b) { return ne(a, b); },
            [](double a, double b) { return double(a != b); }},
           {"lt", [](T a, T b) { return a < b; }, [](double a, double b) { return double(a < b); }},
           {"le", [](T a, T b) { return a <= b; },
            [](double a, double b) { return double(a <= b); }},
           {"gt", [](T a, T b) { return a > b; }, [](double a, double b) { return double(a > b); }},
           {"ge", [](T a, T b) { return a >= b; },
            [](double a, double b) { return double(a >= b); }}}) {
    // Rounded values so that equality actually happens.
    Gen rounded = [](const Dims& s, DType t) {
      return tensor(std::vector<double>([&] {
                      auto v = uniform(s, DType::Float64, -2, 2).to_vector<double>();
                      for (double& x : v) x = std::round(x);
                      return v;
                    }()),
                    s, {.dtype = t});
    };
    OpInfo info = binary(c.name, c.op, c.ref, rounded, rounded);
    info.differentiable = false;
    add(info);
  }
  {
    OpInfo info;
    info.name = "where";
    info.op = [](const TensorList& x) { return TensorList{where(x[0] > 0.0, x[1], x[2])}; };
    info.reference = [](const TensorList& x) {
      Host c = reference::map(Host::of(x[0]), [](double v) { return double(v > 0); });
      return TensorList{
          reference::where(c, Host::of(x[1]), Host::of(x[2])).to_tensor(DType::Float64)};
    };
    info.samples = [](DType t) {
      return std::vector<Sample>{{"same shape",
                                  {uniform({3, 4}, t), uniform({3, 4}, t), uniform({3, 4}, t)},
                                  identity_layout()},
                                 {"broadcast condition [3, 1], a [4], b 0-d",
                                  {uniform({3, 1}, t), uniform({4}, t), uniform({}, t)},
                                  identity_layout()},
                                 {"transposed a",
                                  {uniform({3, 4}, t), uniform({4, 3}, t), uniform({3, 4}, t)},
                                  [](const TensorList& x) {
                                    return TensorList{x[0], x[1].t(), x[2]};
                                  }}};
    };
    add(info);
  }

  // ---- reductions ----
  auto sum_ref = [](const Host& h, const Dims& d, bool k) {
    return reference::reduce(h, d, k, 0.0, std::plus<>());
  };
  add(reduction(
      "sum", [](T x, const Dims& d, bool k) { return sum(x, d, k); }, sum_ref, gen_uniform(-2, 2),
      true, true));
  add(reduction(
      "mean", [](T x, const Dims& d, bool k) { return mean(x, d, k); },
      [](const Host& h, const Dims& d, bool k) {
        return reference::reduce(h, d, k, 0.0, std::plus<>(),
                                 [](double s, int64_t n) { return s / n; });
      },
      gen_uniform(-2, 2), true, true));  // NaN over no elements, as in NumPy
  add(reduction(
      "prod", [](T x, const Dims& d, bool k) { return prod(x, d, k); },
      [](const Host& h, const Dims& d, bool k) {
        return reference::reduce(h, d, k, 1.0, std::multiplies<>());
      },
      [](const Dims& s, DType t) { return away_from_zero(s, t) * 0.5 + sign(uniform(s, t)) * 0.6; },
      true, true));
  add(reduction(
      "amax", [](T x, const Dims& d, bool k) { return amax(x, d, k); },
      [](const Host& h, const Dims& d, bool k) {
        return reference::reduce(h, d, k, -INFINITY,
                                 [](double a, double b) { return std::max(a, b); });
      },
      distinct));
  add(reduction(
      "amin", [](T x, const Dims& d, bool k) { return amin(x, d, k); },
      [](const Host& h, const Dims& d, bool k) {
        return reference::reduce(h, d, k, INFINITY,
                                 [](double a, double b) { return std::min(a, b); });
      },
      distinct));
  add(reduction(
      "var", [](T x, const Dims& d, bool k) { return var(x, d, 1, k); },
      [](const Host& h, const Dims& d, bool k) { return reference::var(h, d, 1, k); },
      gen_uniform(-2, 2), false));
  add(reduction(
      "std", [](T x, const Dims& d, bool k) { return ctdl::std(x, d, 0, k); },
      [](const Host& h, const Dims& d, bool k) {
        return reference::map(reference::var(h, d, 0, k), [](double v) { return std::sqrt(v); });
      },
      gen_uniform(-2, 2), false));
  add(reduction(
      "logsumexp", [](T x, const Dims& d, bool k) { return logsumexp(x, d, k); },
      [](const Host& h, const Dims& d, bool k) {
        return reference::map(
            reference::reduce(h, d, k, 0.0, [](double a, double b) { return a + std::exp(b); }),
            [](double s) { return std::log(s); });
      }));
  add(reduction(
      "norm_2", [](T x, const Dims& d, bool k) { return norm(x, 2.0, d, k); },
      [](const Host& h, const Dims& d, bool k) {
        return reference::map(
            reference::reduce(h, d, k, 0.0, [](double a, double b) { return a + b * b; }),
            [](double s) { return std::sqrt(s); });
      }));
  add(reduction(
      "norm_3", [](T x, const Dims& d, bool k) { return norm(x, 3.0, d, k); },
      [](const Host& h, const Dims& d, bool k) {
        return reference::map(
            reference::reduce(h, d, k, 0.0,
                              [](double a, double b) { return a + std::pow(std::abs(b), 3); }),
            [](double s) { return std::cbrt(s); });
      },
      away_from_zero));
  for (bool is_max : {true, false}) {
    OpInfo info;
    info.name = is_max ? "argmax" : "argmin";
    info.differentiable = false;
    info.op = [is_max](const TensorList& x) {
      return TensorList{is_max ? argmax(x[0], 1) : argmin(x[0], 1),
                        is_max ? argmax(x[0], -1, true) : argmin(x[0], -1, true),
                        is_max ? argmax(x[0]) : argmin(x[0])};
    };
    info.reference = [is_max](const TensorList& x) {
      Host h = Host::of(x[0]);
      Host flat{{static_cast<int64_t>(h.v.size())}, h.v};
      return TensorList{
          reference::arg_extreme(h, 1, false, is_max).to_tensor(DType::Float64),
          reference::arg_extreme(h, h.shape.size() - 1, true, is_max).to_tensor(DType::Float64),
          reference::arg_extreme(flat, 0, false, is_max).to_tensor(DType::Float64).reshape({})};
    };
    info.samples = [](DType t) {
      return std::vector<Sample>{{"[2, 3, 4]", {distinct({2, 3, 4}, t)}, identity_layout()},
                                 {"transposed", {distinct({4, 3}, t)}, transposed()}};
    };
    add(info);
  }

  // ---- matmul ----
  {
    OpInfo info;
    info.name = "matmul";
    info.op = [](const TensorList& x) { return TensorList{matmul(x[0], x[1])}; };
    info.reference = [](const TensorList& x) {
      Tensor a = x[0].dim() == 1 ? x[0].unsqueeze(0) : x[0],
             b = x[1].dim() == 1 ? x[1].unsqueeze(1) : x[1];
      Tensor r = reference::matmul(Host::of(a), Host::of(b)).to_tensor(DType::Float64);
      if (x[1].dim() == 1) r = r.squeeze(-1);
      if (x[0].dim() == 1) r = r.squeeze(x[1].dim() == 1 ? -1 : -2);
      return TensorList{r};
    };
    info.samples = [](DType t) {
      return std::vector<Sample>{
          {"[3, 4] x [4, 5]", {uniform({3, 4}, t), uniform({4, 5}, t)}, identity_layout()},
          {"vector . vector", {uniform({4}, t), uniform({4}, t)}, identity_layout()},
          {"matrix x vector", {uniform({3, 4}, t), uniform({4}, t)}, identity_layout()},
          {"vector x matrix", {uniform({4}, t), uniform({4, 2}, t)}, identity_layout()},
          {"batched broadcast [2, 1, 3, 4] x [3, 4, 2]",
           {uniform({2, 1, 3, 4}, t), uniform({3, 4, 2}, t)},
           identity_layout()},
          {"transposed operands",
           {uniform({4, 3}, t), uniform({5, 4}, t)},
           [](const TensorList& x) {
             return TensorList{x[0].t(), x[1].t()};
           }},
          {"inner size 0", {uniform({3, 0}, t), uniform({0, 2}, t)}, identity_layout()},
          // An operand without a batch of its own gets its gradient as one product summed
          // over the other's batch (a conv weight, a Linear weight on 3-D input).
          {"shared matrix [3, 4] x [2, 3, 4, 5]", {uniform({3, 4}, t), uniform({2, 3, 4, 5}, t)},
           identity_layout()},
          {"shared [1, 3, 4] x [2, 4, 5]", {uniform({1, 3, 4}, t), uniform({2, 4, 5}, t)},
           identity_layout()},
          {"[2, 3, 4] x shared transposed [4, 5]",
           {uniform({2, 3, 4}, t), uniform({5, 4}, t)},
           [](const TensorList& x) {
             return TensorList{x[0], x[1].t()};
           }},
          // The batched operand's gradient then comes as one product too, here laid out
          // transposed like the operand.
          {"shared [3, 4] x transposed batch [2, 4, 5]",
           {uniform({3, 4}, t), uniform({2, 5, 4}, t)},
           [](const TensorList& x) {
             return TensorList{x[0], x[1].mT()};
           }},
      };
    };
    add(info);
  }

  // ---- views and shape ops ----
  auto doubled_last = [](Dims s) {
    s[s.size() - 1] *= 2;
    return s;
  };
  auto view_op = [&](std::string name, std::function<Tensor(const Tensor&)> op,
                     std::function<Host(const Host&)> ref, Dims shape = {2, 3, 4}) {
    OpInfo info;
    info.name = std::move(name);
    info.op = [op](const TensorList& x) { return TensorList{op(x[0])}; };
    info.reference = [ref](const TensorList& x) {
      return TensorList{ref(Host::of(x[0])).to_tensor(DType::Float64)};
    };
    info.samples = [shape, doubled_last](DType t) {
      return std::vector<Sample>{
          {"contiguous", {uniform(shape, t)}, identity_layout()},
          {"from a transposed copy",
           {uniform(shape, t)},
           [](const TensorList& x) { return TensorList{x[0].mT().contiguous().mT()}; }},
          {"from a sliced view", {uniform(doubled_last(shape), t)}, [](const TensorList& x) {
             return TensorList{x[0].slice(-1, 1, x[0].size(-1), 2)};
           }}};
    };
    return info;
  };
  auto reshaped = [](const Dims& s) {
    return [s](const Host& h) {
      Host o = h;
      o.shape = s;
      return o;
    };
  };
  add(view_op(
      "reshape",
      [](T x) {
        return x.reshape({4, -1});
      },
      reshaped({4, 6})));
  add(view_op(
      "flatten", [](T x) { return x.flatten(1); }, reshaped({2, 12})));
  add(view_op(
      "unsqueeze", [](T x) { return x.unsqueeze(1); }, reshaped({2, 1, 3, 4})));
  add(view_op(
      "squeeze", [](T x) { return x.unsqueeze(0).squeeze(); }, reshaped({2, 3, 4})));
  add(view_op(
      "permute",
      [](T x) {
        return x.permute({2, 0, 1});
      },
      [](const Host& h) {
        return reference::permute(h, {2, 0, 1});
      }));
  add(view_op(
      "transpose", [](T x) { return x.transpose(0, 2); },
      [](const Host& h) {
        return reference::permute(h, {2, 1, 0});
      }));
  add(view_op(
      "slice_step", [](T x) { return x.slice(2, 1, 4, 2); },
      [](const Host& h) { return reference::slice(h, 2, 1, 4, 2); }));
  add(view_op(
      "narrow", [](T x) { return x.narrow(1, 1, 2); },
      [](const Host& h) { return reference::slice(h, 1, 1, 3, 1); }));
  add(view_op(
      "select", [](T x) { return x.select(1, -1); },
      [](const Host& h) {
        Host s = reference::slice(h, 1, 2, 3, 1);
        s.shape = {2, 4};
        return s;
      }));
  add(view_op(
      "expand",
      [](T x) {
        return x.expand({3, 2, 3, 4});
      },
      [](const Host& h) {
        return reference::cat({h, h, h}, 0);
      },
      {1, 2, 3, 4}));
  add(view_op(
      "contiguous", [](T x) { return x.contiguous(); }, [](const Host& h) { return h; }));
  add(view_op(
      "clone", [](T x) { return x.clone(); }, [](const Host& h) { return h; }));
  add(view_op(
      "flip",
      [](T x) {
        return flip(x, {0, 2});
      },
      [](const Host& h) {
        Host o = h;
        reference::for_each_index(h.shape, [&](const reference::Index& i) {
          reference::Index j = i;
          j[0] = h.shape[0] - 1 - i[0];
          j[2] = h.shape[2] - 1 - i[2];
          o.at(i) = h.at(j);
        });
        return o;
      }));
  {
    OpInfo info = view_op(
        "to_dtype",
        [](T x) { return x.to(x.dtype() == DType::Float32 ? DType::Float64 : DType::Float32); },
        [](const Host& h) { return h; });
    info.rtol_float32 = 1e-6;
    // float64 -> float32 rounds the output; the op is linear, so a wide step is exact.
    info.grad_options = {.eps = 1e-2, .atol = 1e-4};
    add(info);
  }
  {
    OpInfo info;
    info.name = "cat";
    info.op = [](const TensorList& x) { return TensorList{cat({x[0], x[1], x[2]}, 1)}; };
    info.reference = [](const TensorList& x) {
      return TensorList{reference::cat({Host::of(x[0]), Host::of(x[1]), Host::of(x[2])}, 1)
                            .to_tensor(DType::Float64)};
    };
    info.samples = [](DType t) {
      return std::vector<Sample>{
          {"three pieces",
           {uniform({2, 1, 3}, t), uniform({2, 2, 3}, t), uniform({2, 3, 3}, t)},
           identity_layout()},
          {"with an empty piece and a transposed one",
           {uniform({2, 0, 3}, t), uniform({3, 2, 2}, t), uniform({2, 1, 3}, t)},
           [](const TensorList& x) {
             return TensorList{x[0], x[1].permute({2, 1, 0}).slice(2, 0, 3), x[2]};
           }}};
    };
    add(info);
  }
  {
    OpInfo info;
    info.name = "stack";
    info.op = [](const TensorList& x) { return TensorList{stack({x[0], x[1]}, -1)}; };
    info.reference = [](const TensorList& x) {
      Host a = Host::of(x[0].unsqueeze(-1)), b = Host::of(x[1].unsqueeze(-1));
      return TensorList{reference::cat({a, b}, a.shape.size() - 1).to_tensor(DType::Float64)};
    };
    info.samples = [](DType t) {
      return std::vector<Sample>{
          {"two [3, 4]", {uniform({3, 4}, t), uniform({3, 4}, t)}, identity_layout()}};
    };
    add(info);
  }
  {
    OpInfo info;
    info.name = "split";
    info.op = [](const TensorList& x) { return split(x[0], 2, 1); };
    info.reference = [](const TensorList& x) {
      Host h = Host::of(x[0]);
      return TensorList{reference::slice(h, 1, 0, 2, 1).to_tensor(DType::Float64),
                        reference::slice(h, 1, 2, 4, 1).to_tensor(DType::Float64),
                        reference::slice(h, 1, 4, 5, 1).to_tensor(DType::Float64)};
    };
    info.samples = [](DType t) {
      return std::vector<Sample>{
          {"[3, 5] in pieces of 2", {uniform({3, 5}, t)}, identity_layout()}};
    };
    add(info);
  }

  // ---- indexing ----
  {
    OpInfo info;
    info.name = "index_select";
    info.op = [](const TensorList& x) { return TensorList{index_select(x[0], 1, x[1])}; };
    info.reference = [](const TensorList& x) {
      return TensorList{reference::index_select(Host::of(x[0]), 1, x[1].to_vector<int64_t>())
                            .to_tensor(DType::Float64)};
    };
    info.samples = [](DType t) {
      return std::vector<Sample>{
          {"repeated indices",
           {uniform({3, 4}, t), int_tensor({3, 0, 3, 1, 2}, {5})},
           identity_layout()},
          {"transposed input", {uniform({4, 3}, t), int_tensor({2, 2}, {2})}, transposed()},
          {"no indices", {uniform({3, 4}, t), int_tensor({}, {0})}, identity_layout()}};
    };
    add(info);
  }
  {
    OpInfo info;
    info.name = "gather";
    info.op = [](const TensorList& x) { return TensorList{gather(x[0], 1, x[1])}; };
    info.reference = [](const TensorList& x) {
      return TensorList{
          reference::gather(Host::of(x[0]), 1, Host::of(x[1])).to_tensor(DType::Float64)};
    };
    info.samples = [](DType t) {
      return std::vector<Sample>{
          {"[3, 4] with a [3, 2] index",
           {uniform({3, 4}, t), int_tensor({0, 3, 1, 1, 2, 0}, {3, 2})},
           identity_layout()},
          {"transposed input", {uniform({4, 3}, t), int_tensor({3, 3, 0}, {3, 1})}, transposed()}};
    };
    add(info);
  }
  {
    OpInfo info;
    info.name = "scatter_add";
    info.op = [](const TensorList& x) { return TensorList{scatter_add(x[0], 1, x[1], x[2])}; };
    info.reference = [](const TensorList& x) {
      return TensorList{reference::scatter_add(Host::of(x[0]), 1, Host::of(x[1]), Host::of(x[2]))
                            .to_tensor(DType::Float64)};
    };
    info.samples = [](DType t) {
      return std::vector<Sample>{
          {"collisions",
           {uniform({3, 4}, t), int_tensor({0, 0, 1, 3, 3, 3}, {3, 2}), uniform({3, 2}, t)},
           identity_layout()}};
    };
    add(info);
  }
  {
    OpInfo info;
    info.name = "masked_fill";
    info.op = [](const TensorList& x) { return TensorList{masked_fill(x[0], x[1] > 0.0, -3.0)}; };
    info.reference = [](const TensorList& x) {
      Host m = reference::map(Host::of(x[1]), [](double v) { return double(v > 0); });
      Host fill = Host::zeros({});
      fill.v[0] = -3.0;
      return TensorList{reference::where(m, fill, Host::of(x[0])).to_tensor(DType::Float64)};
    };
    info.samples = [](DType t) {
      return std::vector<Sample>{
          {"broadcast mask", {uniform({3, 4}, t), uniform({4}, t)}, identity_layout()}};
    };
    add(info);
  }
  {
    OpInfo info;
    info.name = "one_hot";
    info.differentiable = false;
    info.op = [](const TensorList& x) { return TensorList{one_hot(x[0], 4)}; };
    info.reference = [](const TensorList& x) {
      std::vector<int64_t> labels = x[0].to_vector<int64_t>();
      Host h = Host::zeros({static_cast<int64_t>(labels.size()), 4});
      for (size_t i = 0; i < labels.size(); ++i) h.at({static_cast<int64_t>(i), labels[i]}) = 1;
      return TensorList{h.to_tensor(DType::Float64)};
    };
    info.samples = [](DType) {
      return std::vector<Sample>{{"labels", {int_tensor({2, 0, 3, 3, 1}, {5})}, identity_layout()}};
    };
    add(info);
  }

  // ---- neural-network blocks ----
  for (PadMode mode :
       {PadMode::Constant, PadMode::Circular, PadMode::Reflect, PadMode::Replicate}) {
    static const char* names[] = {"pad_constant", "pad_circular", "pad_reflect", "pad_replicate"};
    OpInfo info;
    info.name = names[static_cast<int>(mode)];
    info.op = [mode](const TensorList& x) {
      return TensorList{pad(x[0], {1, 2, 2, 0}, mode, 0.5)};
    };
    info.reference = [mode](const TensorList& x) {
      return TensorList{
          reference::pad(Host::of(x[0]), {1, 2, 2, 0}, mode, 0.5).to_tensor(DType::Float64)};
    };
    info.samples = [](DType t) {
      return std::vector<Sample>{{"[2, 3, 4]", {uniform({2, 3, 4}, t)}, identity_layout()},
                                 {"transposed [4, 3]^T", {uniform({4, 3}, t)}, transposed()}};
    };
    add(info);
  }
  {
    OpInfo info;
    info.name = "conv2d";
    struct Case {
      Conv2dOptions o;
      Dims x, w;
      bool bias;
    };
    static const std::vector<Case> cases = {
        {{}, {2, 3, 5, 5}, {4, 3, 3, 3}, true},
        {{.stride_h = 2, .stride_w = 1, .pad_h = 1, .pad_w = 2}, {1, 2, 5, 4}, {3, 2, 3, 2}, false},
        {{.pad_h = 1, .pad_w = 1, .dilation_h = 2, .dilation_w = 2},
         {1, 2, 5, 5},
         {2, 2, 2, 2},
         true},
        {{.groups = 2}, {1, 4, 4, 4}, {6, 2, 3, 3}, true}};
    info.op = [](const TensorList& x) {
      size_t c = static_cast<size_t>(x[3].to_vector<int64_t>()[0]);
      return TensorList{conv2d(x[0], x[1], cases[c].bias ? x[2] : Tensor(), cases[c].o)};
    };
    info.reference = [](const TensorList& x) {
      size_t c = static_cast<size_t>(x[3].to_vector<int64_t>()[0]);
      Host b = Host::of(x[2]);
      return TensorList{reference::conv2d(Host::of(x[0]), Host::of(x[1]),
                                          cases[c].bias ? &b : nullptr, cases[c].o)
                            .to_tensor(DType::Float64)};
    };
    info.samples = [](DType t) {
      std::vector<Sample> s;
      const char* names[] = {"plain 3x3 with bias", "stride 2x1, padding 1x2", "dilation 2",
                             "groups 2"};
      for (size_t c = 0; c < cases.size(); ++c)
        s.push_back({names[c],
                     {uniform(cases[c].x, t), uniform(cases[c].w, t), uniform({cases[c].w[0]}, t),
                      int_tensor({static_cast<int64_t>(c)}, {1})},
                     identity_layout()});
      return s;
    };
    info.rtol_float32 = 1e-4;
    add(info);
  }
  for (bool is_max : {true, false}) {
    OpInfo info;
    info.name = is_max ? "max_pool2d" : "avg_pool2d";
    static const std::vector<Pool2dOptions> cases = {
        {.kernel_h = 2, .kernel_w = 2},
        {.kernel_h = 3, .kernel_w = 2, .stride_h = 1, .stride_w = 2, .pad_h = 1, .pad_w = 1}};
    info.op = [is_max](const TensorList& x) {
      TensorList out;
      for (const auto& o : cases) out.push_back(is_max ? max_pool2d(x[0], o) : avg_pool2d(x[0], o));
      return out;
    };
    info.reference = [is_max](const TensorList& x) {
      TensorList out;
      for (const auto& o : cases)
        out.push_back(reference::pool2d(Host::of(x[0]), o, is_max).to_tensor(DType::Float64));
      return out;
    };
    info.samples = [](DType t) {
      return std::vector<Sample>{{"[2, 2, 5, 6]", {distinct({2, 2, 5, 6}, t)}, identity_layout()}};
    };
    add(info);
  }
  for (bool log_form : {false, true}) {
    OpInfo info;
    info.name = log_form ? "log_softmax" : "softmax";
    info.op = [log_form](const TensorList& x) {
      return TensorList{log_form ? log_softmax(x[0], -1) : softmax(x[0], -1),
                        log_form ? log_softmax(x[0], 0) : softmax(x[0], 0)};
    };
    info.reference = [log_form](const TensorList& x) {
      Host h = Host::of(x[0]);
      return TensorList{
          reference::softmax(h, h.shape.size() - 1, log_form).to_tensor(DType::Float64),
          reference::softmax(h, 0, log_form).to_tensor(DType::Float64)};
    };
    info.samples = [](DType t) {
      return std::vector<Sample>{{"[3, 5]", {uniform({3, 5}, t, -3, 3)}, identity_layout()},
                                 {"large logits", {uniform({2, 4}, t, 80, 90)}, identity_layout()},
                                 {"transposed", {uniform({5, 3}, t)}, transposed()}};
    };
    add(info);
  }
  {
    OpInfo info;
    info.name = "unfold2d_fold2d";
    Conv2dOptions o{.stride_h = 2, .stride_w = 1, .pad_h = 1, .pad_w = 0};
    info.op = [o](const TensorList& x) {
      Tensor cols = unfold2d(x[0], o, 2, 3);
      return TensorList{cols, fold2d(cols * cols, x[0].shape(), o)};
    };
    info.reference = [o](const TensorList& x) {
      // unfold as conv2d with one-hot filters; fold checked against the adjoint identity below
      Host h = Host::of(x[0]);
      int64_t n = h.shape[0], c = h.shape[1];
      Host cols = Host::zeros({n, c, 2, 3, (h.shape[2] + 2 - 2) / 2 + 1, h.shape[3] - 2});
      reference::for_each_index(cols.shape, [&](const reference::Index& i) {
        int64_t y = i[4] * 2 - 1 + i[2], xx = i[5] + i[3];
        cols.at(i) = (y >= 0 && y < h.shape[2]) ? h.at({i[0], i[1], y, xx}) : 0.0;
      });
      Host folded = Host::zeros(h.shape);
      reference::for_each_index(cols.shape, [&](const reference::Index& i) {
        int64_t y = i[4] * 2 - 1 + i[2], xx = i[5] + i[3];
        if (y >= 0 && y < h.shape[2]) folded.at({i[0], i[1], y, xx}) += cols.at(i) * cols.at(i);
      });
      return TensorList{cols.to_tensor(DType::Float64), folded.to_tensor(DType::Float64)};
    };
    info.samples = [](DType t) {
      return std::vector<Sample>{{"[1, 2, 5, 4]", {uniform({1, 2, 5, 4}, t)}, identity_layout()}};
    };
    add(info);
  }
  // ---- the rest of ops.h: scalar forms, norms, logic, views by dim, backward helpers ----
  add(unary(
      "mul_scalar", [](T a) { return a * -2.5; }, [](double a) { return a * -2.5; }));
  add(unary(
      "sub_scalar", [](T a) { return a - 0.75; }, [](double a) { return a - 0.75; }));
  add(unary(
      "div_scalar", [](T a) { return a / 4.0; }, [](double a) { return a / 4.0; }));
  add(reduction(
      "norm_1", [](T x, const Dims& d, bool k) { return norm(x, 1.0, d, k); },
      [](const Host& h, const Dims& d, bool k) {
        return reference::reduce(h, d, k, 0.0, [](double a, double b) { return a + std::abs(b); });
      },
      away_from_zero, true, true));
  add(reduction(
      "norm_inf", [](T x, const Dims& d, bool k) { return norm(x, INFINITY, d, k); },
      [](const Host& h, const Dims& d, bool k) {
        return reference::reduce(h, d, k, 0.0,
                                 [](double a, double b) { return std::max(a, std::abs(b)); });
      },
      [](const Dims& s, DType t) {
        return (distinct(s, t) + 1.6) * sign(uniform(s, t));
      }));  // distinct |x| >= 0.1
  {
    OpInfo info;
    info.name = "where_scalar";
    info.op = [](const TensorList& x) {
      return TensorList{where(x[0] > 0.0, x[1], -0.5), where(x[0] > 0.0, 2.0, x[1])};
    };
    info.reference = [](const TensorList& x) {
      Host c = reference::map(Host::of(x[0]), [](double v) { return double(v > 0); });
      Host lo = Host::zeros({}), hi = Host::zeros({});
      lo.v[0] = -0.5;
      hi.v[0] = 2.0;
      return TensorList{reference::where(c, Host::of(x[1]), lo).to_tensor(DType::Float64),
                        reference::where(c, hi, Host::of(x[1])).to_tensor(DType::Float64)};
    };
    info.samples = [](DType t) {
      return std::vector<Sample>{
          {"condition [4] broadcast over [3, 4]",
           {uniform({4}, t), uniform({3, 4}, t)},
           identity_layout()},
          {"transposed values", {uniform({3, 4}, t), uniform({4, 3}, t)}, [](const TensorList& x) {
             return TensorList{x[0], x[1].t()};
           }}};
    };
    add(info);
  }
  for (bool is_and : {true, false}) {
    OpInfo info = binary(
        is_and ? "logical_and" : "logical_or",
        [is_and](T a, T b) {
          return is_and ? logical_and(a > 0.0, b > 0.0) : logical_or(a > 0.0, b > 0.0);
        },
        [is_and](double a, double b) {
          return is_and ? double(a > 0 && b > 0) : double(a > 0 || b > 0);
        });
    info.differentiable = false;
    add(info);
  }
  {
    OpInfo info = unary(
        "logical_not", [](T x) { return logical_not(x > 0.0); },
        [](double x) { return double(!(x > 0)); });
    info.differentiable = false;
    add(info);
  }
  {
    // Inputs with some infinities and NaNs (the rest uniform).
    Gen special = [](const Dims& s, DType t) {
      Tensor u = uniform(s, t, -3, 3);
      return where(u > 2.0, INFINITY, where(u < -2.0, NAN, where(u < -1.5, -INFINITY, u)));
    };
    OpInfo isnan_op = unary(
        "isnan", [](T x) { return isnan(x); }, [](double x) { return double(std::isnan(x)); },
        special);
    OpInfo isinf_op = unary(
        "isinf", [](T x) { return isinf(x); }, [](double x) { return double(std::isinf(x)); },
        special);
    OpInfo isfinite_op = unary(
        "isfinite", [](T x) { return isfinite(x); },
        [](double x) { return double(std::isfinite(x)); }, special);
    for (OpInfo* o : {&isnan_op, &isinf_op, &isfinite_op}) {
      o->differentiable = false;
      add(*o);
    }
  }
  for (bool is_all : {true, false}) {
    OpInfo info = reduction(
        is_all ? "all" : "any",
        [is_all](T x, const Dims& d, bool k) {
          return is_all ? all(x > -1.0, d, k) : any(x > 1.0, d, k);
        },
        [is_all](const Host& h, const Dims& d, bool k) {
          return is_all
                     ? reference::reduce(h, d, k, 1.0,
                                         [](double a, double b) { return double(a && b > -1.0); })
                     : reference::reduce(h, d, k, 0.0,
                                         [](double a, double b) { return double(a || b > 1.0); });
        },
        gen_uniform(-2, 2), true, true);
    info.differentiable = false;
    add(info);
  }
  add(view_op(
      "view",
      [](T x) {
        return x.view({2, 3, 2, 2});
      },
      reshaped({2, 3, 2, 2})));
  add(view_op("squeeze_dim", [](T x) { return x.squeeze(1); }, reshaped({2, 3, 4}), {2, 1, 3, 4}));
  add(view_op(
      "mT", [](T x) { return x.mT(); },
      [](const Host& h) {
        return reference::permute(h, {0, 2, 1});
      }));
  {
    OpInfo info;
    info.name = "chunk";
    info.op = [](const TensorList& x) { return chunk(x[0], 3, 0); };
    info.reference = [](const TensorList& x) {
      Host h = Host::of(x[0]);
      return TensorList{reference::slice(h, 0, 0, 3, 1).to_tensor(DType::Float64),
                        reference::slice(h, 0, 3, 6, 1).to_tensor(DType::Float64),
                        reference::slice(h, 0, 6, 7, 1).to_tensor(DType::Float64)};
    };
    info.samples = [](DType t) {
      return std::vector<Sample>{{"[7, 2] in 3 chunks", {uniform({7, 2}, t)}, identity_layout()},
                                 {"transposed [2, 7]^T", {uniform({2, 7}, t)}, transposed()}};
    };
    add(info);
  }
  {
    OpInfo info;
    info.name = "split_sizes";
    info.op = [](const TensorList& x) { return split(x[0], std::vector<int64_t>{1, 0, 3, 1}, 1); };
    info.reference = [](const TensorList& x) {
      Host h = Host::of(x[0]);
      return TensorList{reference::slice(h, 1, 0, 1, 1).to_tensor(DType::Float64),
                        reference::slice(h, 1, 1, 1, 1).to_tensor(DType::Float64),
                        reference::slice(h, 1, 1, 4, 1).to_tensor(DType::Float64),
                        reference::slice(h, 1, 4, 5, 1).to_tensor(DType::Float64)};
    };
    info.samples = [](DType t) {
      return std::vector<Sample>{
          {"[2, 5] in pieces 1, 0, 3, 1", {uniform({2, 5}, t)}, identity_layout()}};
    };
    add(info);
  }
  {
    OpInfo info;
    info.name = "index_add_zeros";
    info.op = [](const TensorList& x) {
      return TensorList{index_add_zeros({3, 5}, 1, x[1], x[0])};
    };
    info.reference = [](const TensorList& x) {
      Host src = Host::of(x[0]), out = Host::zeros({3, 5});
      std::vector<int64_t> index = x[1].to_vector<int64_t>();
      for (int64_t i = 0; i < 3; ++i)
        for (size_t j = 0; j < index.size(); ++j)
          out.at({i, index[j]}) += src.at({i, static_cast<int64_t>(j)});
      return TensorList{out.to_tensor(DType::Float64)};
    };
    info.samples = [](DType t) {
      return std::vector<Sample>{
          {"repeated indices",
           {uniform({3, 4}, t), int_tensor({4, 0, 4, 2}, {4})},
           identity_layout()},
          {"transposed source", {uniform({2, 3}, t), int_tensor({1, 1}, {2})}, transposed()}};
    };
    add(info);
  }
  {
    OpInfo info;
    info.name = "slice_scatter_zeros";
    info.op = [](const TensorList& x) {
      return TensorList{slice_scatter_zeros(x[0], {3, 8}, 1, 1, 2)};
    };
    info.reference = [](const TensorList& x) {
      Host src = Host::of(x[0]), out = Host::zeros({3, 8});
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 4; ++j) out.at({i, 1 + 2 * j}) = src.at({i, j});
      return TensorList{out.to_tensor(DType::Float64)};
    };
    info.samples = [](DType t) {
      return std::vector<Sample>{
          {"[3, 4] into every other column of [3, 8]", {uniform({3, 4}, t)}, identity_layout()},
          {"transposed source", {uniform({4, 3}, t)}, transposed()}};
    };
    add(info);
  }
  // ---- fused primitives (the same values as the composites they replace) ----
  add(binary(
      "axpby", [](T a, T b) { return axpby(1.5, a, -0.5, b); },
      [](double a, double b) { return 1.5 * a - 0.5 * b; }));
  {
    OpInfo info;
    info.name = "linear_combination";
    static const std::vector<double> coeffs = {0.5, -2.0, 3.0, 1.0};
    info.op = [](const TensorList& x) { return TensorList{linear_combination(x, coeffs)}; };
    info.reference = [](const TensorList& x) {
      Host acc = reference::map(Host::of(x[0]), [](double v) { return coeffs[0] * v; });
      for (size_t k = 1; k < x.size(); ++k) {
        double c = coeffs[k];
        acc = reference::zip(acc, Host::of(x[k]), [c](double s, double v) { return s + c * v; });
      }
      return TensorList{acc.to_tensor(DType::Float64)};
    };
    info.samples = [](DType t) {
      return std::vector<Sample>{
          {"four [3, 4]",
           {uniform({3, 4}, t), uniform({3, 4}, t), uniform({3, 4}, t), uniform({3, 4}, t)},
           identity_layout()},
          {"broadcast [3, 1], [4], 0-d and a transposed [4, 3]",
           {uniform({3, 1}, t), uniform({4}, t), uniform({}, t), uniform({4, 3}, t)},
           [](const TensorList& x) {
             return TensorList{x[0], x[1], x[2], x[3].t()};
           }}};
    };
    add(info);
  }
  for (Activation act :
       {Activation::None, Activation::Relu, Activation::Tanh, Activation::Sigmoid}) {
    static const char* names[] = {"bias_activation_none", "bias_activation_relu",
                                  "bias_activation_tanh", "bias_activation_sigmoid"};
    OpInfo info;
    info.name = names[static_cast<int>(act)];
    info.op = [act](const TensorList& x) { return TensorList{bias_activation(x[0], x[1], act)}; };
    info.reference = [act](const TensorList& x) {
      Host pre = reference::zip(Host::of(x[0]), Host::of(x[1]), std::plus<>());
      return TensorList{reference::map(pre, [act](double v) {
                          switch (act) {
                            case Activation::Relu:
                              return relu_ref(v);
                            case Activation::Tanh:
                              return std::tanh(v);
                            case Activation::Sigmoid:
                              return sigmoid_ref(v);
                            default:
                              return v;
                          }
                        }).to_tensor(DType::Float64)};
    };
    // |x| >= 0.2 and |bias| <= 0.1: x + bias stays away from relu's kink.
    info.samples = [](DType t) {
      return std::vector<Sample>{{"[3, 4] + bias [4]",
                                  {away_from_zero({3, 4}, t), uniform({4}, t, -0.1, 0.1)},
                                  identity_layout()},
                                 {"transposed [4, 3]^T + bias [3, 1]",
                                  {away_from_zero({4, 3}, t), uniform({3, 1}, t, -0.1, 0.1)},
                                  transposed()},
                                 {"[2, 3, 4] + 0-d bias",
                                  {away_from_zero({2, 3, 4}, t), uniform({}, t, -0.1, 0.1)},
                                  identity_layout()},
                                 {"zero-size [0, 4] + bias [4]",
                                  {away_from_zero({0, 4}, t), uniform({4}, t, -0.1, 0.1)},
                                  identity_layout()}};
    };
    add(info);
  }
  // linear: act(x·Wᵀ + b) recorded as one node; against the reference product. (relu is
  // left to bias_activation's entry: a product's values cannot be kept off its kink.)
  for (Activation act : {Activation::None, Activation::Tanh, Activation::Sigmoid}) {
    static const char* names[] = {"linear_none", "", "linear_tanh", "linear_sigmoid"};
    OpInfo info;
    info.name = names[static_cast<int>(act)];
    info.op = [act](const TensorList& x) {
      return TensorList{linear(x[0], x[1], x.size() > 2 ? x[2] : Tensor(), act)};
    };
    info.reference = [act](const TensorList& x) {
      const int64_t in = x[1].shape()[1], out = x[1].shape()[0];
      Dims shape = x[0].shape();
      shape[shape.size() - 1] = out;
      Host y = reference_layer(Host::of(x[0].reshape({-1, in})), x[1],
                               x.size() > 2 ? x[2] : Tensor(), act);
      return TensorList{y.to_tensor(DType::Float64).reshape(shape)};
    };
    info.samples = [](DType t) {
      return std::vector<Sample>{
          {"[3, 4] by W [5, 4] + b [5]", {uniform({3, 4}, t), uniform({5, 4}, t), uniform({5}, t)},
           identity_layout()},
          {"[2, 3, 4] (batch dims) + b", {uniform({2, 3, 4}, t), uniform({5, 4}, t), uniform({5}, t)},
           identity_layout()},
          {"vector [4], no bias", {uniform({4}, t), uniform({5, 4}, t)}, identity_layout()},
          {"transposed input and weight",
           {uniform({4, 3}, t), uniform({4, 5}, t), uniform({5}, t)},
           [](const TensorList& x) { return TensorList{x[0].t(), x[1].t(), x[2]}; }},
          {"zero rows [0, 4]", {uniform({0, 4}, t), uniform({5, 4}, t), uniform({5}, t)},
           identity_layout()}};
    };
    add(info);
  }
  // mlp: a perceptron as one op (on the CPU the row-lane kernels of backends/cpu/simd/mlp.h,
  // whose backward pass recomputes the hidden values); against the chain of reference
  // layers. Args: x, then per layer the weight and the bias (an empty tensor: no bias).
  for (Activation act : {Activation::Tanh, Activation::Sigmoid, Activation::None}) {
    static const char* names[] = {"mlp_none", "", "mlp_tanh", "mlp_sigmoid"};
    OpInfo info;
    info.name = names[static_cast<int>(act)];
    auto layers = [](const TensorList& x) {
      TensorList weights, biases;
      for (size_t k = 1; k + 1 < x.size(); k += 2) {
        weights.push_back(x[k]);
        biases.push_back(x[k + 1].numel() ? x[k + 1] : Tensor());
      }
      return std::pair{weights, biases};
    };
    info.op = [act, layers](const TensorList& x) {
      auto [weights, biases] = layers(x);
      return TensorList{mlp(x[0], weights, biases, act)};
    };
    info.reference = [act, layers](const TensorList& x) {
      auto [weights, biases] = layers(x);
      Dims shape = x[0].shape();
      Host h = Host::of(x[0].reshape({-1, shape[shape.size() - 1]}));
      for (size_t k = 0; k < weights.size(); ++k)
        h = reference_layer(h, weights[k], biases[k],
                            k + 1 < weights.size() ? act : Activation::None);
      shape[shape.size() - 1] = weights.back().shape()[0];
      return TensorList{h.to_tensor(DType::Float64).reshape(shape)};
    };
    info.samples = [](DType t) {
      auto none = [t] { return uniform({0}, t); };  // no bias
      return std::vector<Sample>{
          {"[3, 2] -> 5 -> 2", {uniform({3, 2}, t), uniform({5, 2}, t), uniform({5}, t),
                                uniform({2, 5}, t), uniform({2}, t)}, identity_layout()},
          {"[2, 3, 4] (batch dims) -> 6 -> 3 -> 2, middle layer without bias",
           {uniform({2, 3, 4}, t), uniform({6, 4}, t), uniform({6}, t), uniform({3, 6}, t), none(),
            uniform({2, 3}, t), uniform({2}, t)}, identity_layout()},
          {"[37, 3] (a partial block of rows) -> 9 -> 1",
           {uniform({37, 3}, t), uniform({9, 3}, t), uniform({9}, t), uniform({1, 9}, t),
            uniform({1}, t)}, identity_layout()},
          {"one layer [4, 3] -> 2", {uniform({4, 3}, t), uniform({2, 3}, t), uniform({2}, t)},
           identity_layout()},
          {"transposed input and weights",
           {uniform({3, 5}, t), uniform({3, 4}, t), uniform({4}, t), uniform({4, 2}, t), uniform({2}, t)},
           [](const TensorList& x) { return TensorList{x[0].t(), x[1].t(), x[2], x[3].t(), x[4]}; }},
          {"zero rows [0, 2]", {uniform({0, 2}, t), uniform({5, 2}, t), uniform({5}, t),
                                uniform({2, 5}, t), uniform({2}, t)}, identity_layout()}};
    };
    add(info);
  }
  // The backward rules of the activations as an op (grad, y): differentiable in both.
  add(binary(
      "activation_backward_tanh",
      [](T g, T y) { return activation_backward(g, y, Activation::Tanh); },
      [](double g, double y) { return g * (1 - y * y); }));
  add(binary(
      "activation_backward_sigmoid",
      [](T g, T y) { return activation_backward(g, y, Activation::Sigmoid); },
      [](double g, double y) { return g * y * (1 - y); }));
  add(binary(
      "activation_backward_relu",
      [](T g, T y) { return activation_backward(g, y, Activation::Relu); },
      [](double g, double y) { return y > 0 ? g : 0.0; }, gen_uniform(-2, 2), away_from_zero));
  return db;
}

}  // namespace

const std::vector<OpInfo>& op_database() {
  static const std::vector<OpInfo> db = build();
  return db;
}

}  // namespace ctdl::testing

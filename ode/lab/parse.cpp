// Reading a lab problem from JSON, every error naming the key path at fault.
#include <nlohmann/json.hpp>

#include "ctdl/ode/lab/spec.h"

namespace ctdl::ode::lab {
namespace {

using json = nlohmann::json;

// A JSON value and the path that reached it ("runs[2].grad_options.checkpoints").
class Node {
 public:
  Node(const json& j, std::string path) : j_(j), path_(std::move(path)) {}
  const std::string& path() const { return path_; }
  const json& raw() const { return j_; }

  bool has(const std::string& key) const { return j_.is_object() && j_.contains(key); }
  Node at(const std::string& key) const {
    CTDL_CHECK(j_.is_object(), path_, ": expected an object, got ", j_.type_name());
    CTDL_CHECK(j_.contains(key), child(key), ": missing");
    return {j_.at(key), child(key)};
  }
  std::optional<Node> find(const std::string& key) const {
    if (!has(key)) return std::nullopt;
    return at(key);
  }
  size_t size() const {
    CTDL_CHECK(j_.is_array(), path_, ": expected a list, got ", j_.type_name());
    return j_.size();
  }
  Node at(size_t i) const { return {j_.at(i), path_ + "[" + std::to_string(i) + "]"}; }

  double number() const {
    CTDL_CHECK(j_.is_number(), path_, ": expected a number, got ", j_.type_name());
    return j_.get<double>();
  }
  std::string text() const {
    CTDL_CHECK(j_.is_string(), path_, ": expected a string, got ", j_.type_name());
    return j_.get<std::string>();
  }
  std::vector<double> numbers() const {
    std::vector<double> out;
    for (size_t i = 0; i < size(); ++i) out.push_back(at(i).number());
    return out;
  }
  // Nested lists of numbers as a float64 tensor; ragged lists are reported where they break.
  Tensor array() const {
    Dims shape;
    for (const json* p = &j_; p->is_array(); p = &p->at(0)) {
      shape.push_back(static_cast<int64_t>(p->size()));
      if (p->empty()) break;
    }
    std::vector<double> values;
    collect(*this, shape, 0, values);
    return tensor(values, shape, {.dtype = DType::Float64});
  }
  void check_keys(std::initializer_list<const char*> known) const {
    CTDL_CHECK(j_.is_object(), path_, ": expected an object, got ", j_.type_name());
    for (const auto& [key, value] : j_.items()) {
      bool ok = false;
      std::string list;
      for (const char* k : known)
        ok = ok || key == k, list += (list.empty() ? "" : ", ") + std::string(k);
      CTDL_CHECK(ok, child(key), ": unknown key (known here: ", list, ")");
    }
  }
  std::string child(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }

 private:
  static void collect(const Node& n, const Dims& shape, size_t depth, std::vector<double>& out) {
    if (static_cast<int64_t>(depth) == static_cast<int64_t>(shape.size())) {
      out.push_back(n.number());
      return;
    }
    CTDL_CHECK(n.raw().is_array() && static_cast<int64_t>(n.raw().size()) == shape[depth], n.path(),
               ": expected a list of ", shape[depth],
               " entries (the array is not rectangular), got ",
               n.raw().is_array() ? std::to_string(n.raw().size()) + " entries"
                                  : std::string(n.raw().type_name()));
    for (size_t i = 0; i < n.raw().size(); ++i) collect(n.at(i), shape, depth + 1, out);
  }

  const json& j_;
  std::string path_;
};

NamedOptions options_of(const Node& n, NamedOptions into) {
  CTDL_CHECK(n.raw().is_object(), n.path(), ": expected an object, got ", n.raw().type_name());
  for (const auto& [key, value] : n.raw().items()) {
    if (value.is_boolean())
      into.set(key, value.get<bool>());
    else if (value.is_number())
      into.set(key, value.get<double>());
    else if (value.is_string())
      into.set(key, value.get<std::string>());
    else
      fail(n.child(key), ": expected a number, a string or true/false, got ", value.type_name());
  }
  return into;
}

RunSpec parse_run(const Node& n, const std::string& default_name) {
  n.check_keys(
      {"name", "solver", "rtol", "atol", "step_size", "grad", "grad_options", "solver_options"});
  RunSpec r{.path = n.path(),
            .name = default_name,
            .solver = "",
            .grad = "backprop",
            .solver_options = NamedOptions(n.path()),
            .grad_options = NamedOptions(n.child("grad_options"))};
  if (auto name = n.find("name")) r.name = name->text();
  r.solver = n.at("solver").text();
  if (auto grad = n.find("grad")) r.grad = grad->text();
  for (const char* key : {"rtol", "atol", "step_size"})
    if (auto v = n.find(key)) r.solver_options.set(key, v->number());
  if (auto so = n.find("solver_options")) r.solver_options = options_of(*so, r.solver_options);
  if (auto go = n.find("grad_options")) r.grad_options = options_of(*go, r.grad_options);
  std::vector<std::string> solvers = solver_names(), schemes = scheme_names();
  auto known = [](const std::vector<std::string>& v) {
    std::string s;
    for (const std::string& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  CTDL_CHECK(std::find(solvers.begin(), solvers.end(), r.solver) != solvers.end(),
             n.child("solver"), ": unknown solver \"", r.solver, "\" (known: ", known(solvers),
             ")");
  CTDL_CHECK(std::find(schemes.begin(), schemes.end(), r.grad) != schemes.end(), n.child("grad"),
             ": unknown gradient scheme \"", r.grad, "\" (known: ", known(schemes), ")");
  return r;
}

double constant(const Node& system, const char* key, double fallback, ProblemSpec& spec) {
  double v = system.has(key) ? system.at(key).number() : fallback;
  spec.constants[key] = v;
  return v;
}

void parse_system(const Node& s, ProblemSpec& spec) {
  spec.system = s.at("type").text();
  const std::string& type = spec.system;
  if (type == "mlp") {
    s.check_keys({"type", "dims", "activation", "weights"});
    for (double d : s.at("dims").numbers()) spec.dims.push_back(static_cast<int64_t>(d));
    spec.activation = s.has("activation") ? s.at("activation").text() : "tanh";
    Node w = s.at("weights");
    CTDL_CHECK(w.raw().is_object(), w.path(), ": expected an object of named arrays");
    for (const auto& [key, value] : w.raw().items())
      spec.weights[key] = Node(value, w.child(key)).array();
  } else if (type == "linear") {
    s.check_keys({"type", "A"});
    spec.A = s.at("A").array();
    CTDL_CHECK(spec.A.dim() == 2 && spec.A.size(0) == spec.A.size(1), s.child("A"),
               ": expected a square matrix, got shape ", spec.A.shape());
  } else if (type == "vanderpol") {
    s.check_keys({"type", "mu"});
    constant(s, "mu", 1.0, spec);
  } else if (type == "lotka_volterra") {
    s.check_keys({"type", "alpha", "beta", "gamma", "delta"});
    constant(s, "alpha", 1.5, spec), constant(s, "beta", 1.0, spec);
    constant(s, "gamma", 3.0, spec), constant(s, "delta", 1.0, spec);
  } else if (type == "harmonic") {
    s.check_keys({"type", "k", "m"});
    constant(s, "k", 1.0, spec), constant(s, "m", 1.0, spec);
  } else if (type == "kepler") {
    s.check_keys({"type"});
  } else {
    fail(s.child("type"), ": unknown system \"", type,
         "\" (known: mlp, linear, vanderpol, lotka_volterra, "
         "harmonic, kepler)");
  }
}

}  // namespace

ProblemSpec parse_problem(const std::string& text) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    fail("lab: the problem is not valid JSON: ", e.what());
  }
  Node root(doc, "");
  root.check_keys({"kind", "dtype", "system", "z0", "t", "loss", "runs", "reference", "comment"});
  ProblemSpec spec;
  std::string dtype = root.has("dtype") ? root.at("dtype").text() : "float64";
  CTDL_CHECK(dtype == "float32" || dtype == "float64",
             "dtype: expected \"float32\" or \"float64\", got \"", dtype, "\"");
  spec.dtype = dtype == "float32" ? DType::Float32 : DType::Float64;
  parse_system(root.at("system"), spec);

  spec.z0 = root.at("z0").array();
  CTDL_CHECK(spec.z0.dim() == 2 && spec.z0.size(0) > 0,
             "z0: expected a batch of states [[...], ...], got shape ", spec.z0.shape());
  const int64_t d = spec.z0.size(1);
  int64_t want = spec.system == "mlp"        ? spec.dims.front()
                 : spec.system == "linear"   ? spec.A.size(0)
                 : spec.system == "kepler"   ? 4
                 : spec.system == "harmonic" ? (d % 2 ? -1 : d)
                                             : 2;
  CTDL_CHECK(want == d, "z0: each state has ", d, " entries but the ", spec.system,
             " system needs ", want < 0 ? std::string("an even number") : std::to_string(want));

  spec.t = root.at("t").numbers();
  CTDL_CHECK(spec.t.size() >= 2, "t: expected [t0, t1] or a longer list of times, got ",
             spec.t.size(), " value(s)");
  for (size_t i = 1; i < spec.t.size(); ++i)
    CTDL_CHECK(spec.t[i] > spec.t[i - 1], "t[", i, "]: times must increase (", spec.t[i - 1],
               " then ", spec.t[i], ")");

  Node loss = root.at("loss");
  loss.check_keys({"type", "targets"});
  spec.loss = loss.at("type").text();
  if (spec.loss == "mse") {
    spec.targets = loss.at("targets").array();
    Dims expected{static_cast<int64_t>(spec.t.size() - 1), spec.z0.size(0), d};
    CTDL_CHECK(spec.targets.shape() == expected, loss.child("targets"),
               ": expected one target batch per "
               "time after t0, shape ",
               expected, ", got ", spec.targets.shape());
  } else {
    CTDL_CHECK(spec.loss == "sum_squares", loss.child("type"),
               ": expected \"sum_squares\" or \"mse\", got \"", spec.loss, "\"");
    CTDL_CHECK(!loss.has("targets"), loss.child("targets"), ": only the mse loss takes targets");
  }

  Node runs = root.at("runs");
  for (size_t i = 0; i < runs.size(); ++i)
    spec.runs.push_back(parse_run(runs.at(i), "run " + std::to_string(i)));
  if (auto ref = root.find("reference")) spec.reference = parse_run(*ref, "reference");

  make_system(spec, spec.dtype);  // shape errors in the weights now, before anything runs
  return spec;
}

System make_system(const ProblemSpec& spec, DType dtype) {
  const auto& c = spec.constants;
  if (spec.system == "mlp") return mlp(spec.dims, spec.activation, spec.weights, dtype);
  if (spec.system == "linear") return linear(spec.A.to(dtype));
  if (spec.system == "vanderpol") return vanderpol(c.at("mu"), dtype);
  if (spec.system == "lotka_volterra")
    return lotka_volterra(c.at("alpha"), c.at("beta"), c.at("gamma"), c.at("delta"), dtype);
  if (spec.system == "harmonic") return harmonic(c.at("k"), c.at("m"), dtype);
  return kepler(dtype);
}

Tensor lab_loss(const ProblemSpec& spec, const Tensor& trajectory) {
  const int64_t T = trajectory.size(0);
  if (spec.loss == "mse")
    return square(trajectory.narrow(0, 1, T - 1) - spec.targets.to(trajectory.dtype())).mean();
  return square(trajectory.select(0, T - 1)).sum();
}

}  // namespace ctdl::ode::lab

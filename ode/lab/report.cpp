#include "ctdl/ode/lab/report.h"

#include <cmath>

#include "ctdl/tensor/ops.h"

namespace ctdl::ode::lab {

json to_json(const Tensor& t) {
  std::vector<double> v = t.contiguous().to_vector<double>();
  if (t.dim() == 0) return v[0];
  std::function<json(size_t, size_t&)> build = [&](size_t dim, size_t& at) -> json {
    json out = json::array();
    for (int64_t i = 0; i < t.size(dim); ++i)
      out.push_back(dim + 1 == static_cast<size_t>(t.dim()) ? json(v[at++]) : build(dim + 1, at));
    return out;
  };
  size_t at = 0;
  return build(0, at);
}

json grads_json(const Outcome& o) {
  json g = json::object();
  for (size_t i = 0; i < o.grads.size(); ++i) g[o.names[i]] = to_json(o.grads[i]);
  return g;
}

double relative_error(const TensorList& g, const TensorList& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    Tensor a = g[i].to(DType::Float64), b = ref[i].to(DType::Float64);
    num += square(a - b).sum().item<double>();
    den += square(b).sum().item<double>();
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

json report_run(json entry, const std::function<Outcome()>& execute, const Outcome& ref) {
  try {
    Outcome o = execute();
    entry["loss"] = o.loss;
    entry["grads"] = grads_json(o);
    entry["grad_rel_error"] = relative_error(o.grads, ref.grads);
    entry.update(o.fields);
  } catch (const Error& e) {
    entry["error"] = e.what();
  }
  return entry;
}

}  // namespace ctdl::ode::lab

#include "symnet.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ctdl/tensor/error.h"

namespace ctdl::examples::pdenet {

Polynomial polynomial_product(const Polynomial& a, const Polynomial& b, double drop) {
  Polynomial out;
  for (const auto& [ma, ca] : a)
    for (const auto& [mb, cb] : b) {
      Monomial m(ma.size());
      for (size_t i = 0; i < m.size(); ++i) m[i] = ma[i] + mb[i];
      out[m] += ca * cb;
    }
  std::erase_if(out, [&](const auto& term) { return std::abs(term.second) <= drop; });
  return out;
}

std::string monomial_name(const Monomial& m, const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i] == 0) continue;
    if (!s.empty()) s += "*";
    s += names[i];
    if (m[i] > 1) s.append("^").append(std::to_string(m[i]));
  }
  return s.empty() ? "1" : s;
}

std::string to_string(const Polynomial& p, const std::vector<std::string>& names, double prune) {
  std::vector<std::pair<Monomial, double>> terms(p.begin(), p.end());
  std::erase_if(terms, [&](const auto& t) { return std::abs(t.second) < prune; });
  std::sort(terms.begin(), terms.end(),
            [](const auto& a, const auto& b) { return std::abs(a.second) > std::abs(b.second); });
  std::string s;
  for (const auto& [m, c] : terms) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4f", std::abs(c));
    s += s.empty() ? (c < 0 ? "-" : "") : (c < 0 ? " - " : " + ");
    s += buf;
    std::string name = monomial_name(m, names);
    if (name != "1") s.append(" ").append(name);
  }
  return s.empty() ? "0" : s;
}

SymNet::SymNet(std::vector<std::string> input_names, int64_t hidden_layers)
    : Module("SymNet"), names_(std::move(input_names)), hidden_(hidden_layers) {
  const int64_t d = static_cast<int64_t>(names_.size());
  CTDL_CHECK(d > 0 && hidden_layers >= 0, "SymNet: needs inputs and hidden_layers >= 0");
  TensorOptions t{.dtype = DType::Float64};
  for (int64_t k = 0; k <= hidden_layers; ++k) {
    bool last = k == hidden_layers;
    std::string name = last ? "output" : "layer" + std::to_string(k);
    weights.push_back(register_parameter(name + "_weight", zeros({last ? 1 : 2, d + k}, t)));
    biases.push_back(register_parameter(name + "_bias", zeros({last ? 1 : 2}, t)));
  }
}

Tensor SymNet::operator()(const Tensor& x) const {
  CTDL_CHECK(x.dim() == 2 && x.size(1) == static_cast<int64_t>(names_.size()),
             "SymNet: expected inputs [P, ", names_.size(), "], got ", x.shape());
  Tensor z = x;
  for (int64_t k = 0; k < hidden_; ++k) {
    Tensor ab = matmul(z, weights[k].t()) + biases[k];  // [P, 2]
    z = cat({z, ab.narrow(1, 0, 1) * ab.narrow(1, 1, 1)}, 1);
  }
  return (matmul(z, weights[hidden_].t()) + biases[hidden_]).select(1, 0);
}

Polynomial SymNet::expand(double drop) const {
  const size_t d = names_.size();
  std::vector<Polynomial> z;
  for (size_t i = 0; i < d; ++i) {
    Monomial m(d, 0);
    m[i] = 1;
    z.push_back({{m, 1.0}});
  }
  auto affine = [&](const std::vector<double>& w, double b) {
    Polynomial p;
    if (b != 0.0) p[Monomial(d, 0)] = b;
    for (size_t i = 0; i < z.size(); ++i)
      for (const auto& [m, c] : z[i]) p[m] += w[i] * c;
    std::erase_if(p, [&](const auto& t) { return std::abs(t.second) <= drop; });
    return p;
  };
  for (int64_t k = 0; k <= hidden_; ++k) {
    std::vector<double> w = weights[k].to_vector<double>(), b = biases[k].to_vector<double>();
    const size_t width = z.size();
    if (k == hidden_) return affine(w, b[0]);
    Polynomial a = affine(std::vector<double>(w.begin(), w.begin() + width), b[0]);
    Polynomial c = affine(std::vector<double>(w.begin() + width, w.end()), b[1]);
    z.push_back(polynomial_product(a, c, drop));
  }
  return {};
}

}  // namespace ctdl::examples::pdenet

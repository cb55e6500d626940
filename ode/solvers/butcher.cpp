#include "ctdl/ode/solvers/butcher.h"

#include <cmath>

#include "ctdl/tensor/error.h"

namespace ctdl::ode {

bool ButcherTableau::fsal() const {
  size_t s = stages();
  if (s < 2 || c.back() != 1.0 || a.back().size() != s - 1 || b.back() != 0.0) return false;
  for (size_t j = 0; j + 1 < s; ++j)
    if (a.back()[j] != b[j]) return false;
  return true;
}

void ButcherTableau::validate() const {
  size_t s = stages();
  CTDL_CHECK(s > 0, "ButcherTableau '", name, "': b is empty");
  CTDL_CHECK(c.size() == s && a.size() == s, "ButcherTableau '", name, "': ", s, " weights b but ",
             c.size(), " nodes c and ", a.size(), " rows a");
  CTDL_CHECK(b_error.empty() || b_error.size() == s, "ButcherTableau '", name, "': b_error has ",
             b_error.size(), " entries, expected ", s);
  double total = 0;
  for (double w : b) total += w;
  CTDL_CHECK(std::abs(total - 1.0) < 1e-12, "ButcherTableau '", name, "': the weights b sum to ",
             total, ", not 1");
  for (size_t i = 0; i < s; ++i) {
    CTDL_CHECK(a[i].size() == i, "ButcherTableau '", name, "': row ", i, " of a has ", a[i].size(),
               " entries; an explicit method has ", i);
    double row = 0;
    for (double v : a[i]) row += v;
    CTDL_CHECK(std::abs(row - c[i]) < 1e-12, "ButcherTableau '", name, "': row ", i,
               " of a sums to ", row, " but c[", i, "] = ", c[i]);
  }
}

const ButcherTableau& euler_tableau() {
  static const ButcherTableau t{.name = "euler", .order = 1, .c = {0}, .a = {{}}, .b = {1}};
  return t;
}

const ButcherTableau& midpoint_tableau() {
  static const ButcherTableau t{
      .name = "midpoint", .order = 2, .c = {0, 0.5}, .a = {{}, {0.5}}, .b = {0, 1}};
  return t;
}

const ButcherTableau& heun_tableau() {
  static const ButcherTableau t{
      .name = "heun", .order = 2, .c = {0, 1}, .a = {{}, {1}}, .b = {0.5, 0.5}};
  return t;
}

const ButcherTableau& rk4_tableau() {
  static const ButcherTableau t{.name = "rk4",
                                .order = 4,
                                .c = {0, 0.5, 0.5, 1},
                                .a = {{}, {0.5}, {0, 0.5}, {0, 0, 1}},
                                .b = {1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6}};
  return t;
}

const ButcherTableau& bosh3_tableau() {
  static const ButcherTableau t{.name = "bosh3",
                                .order = 3,
                                .error_order = 2,
                                .c = {0, 0.5, 0.75, 1},
                                .a = {{}, {0.5}, {0, 0.75}, {2.0 / 9, 1.0 / 3, 4.0 / 9}},
                                .b = {2.0 / 9, 1.0 / 3, 4.0 / 9, 0},
                                .b_error = {7.0 / 24, 1.0 / 4, 1.0 / 3, 1.0 / 8}};
  return t;
}

namespace {

// Dormand–Prince's dense output as in torchdiffeq and Shampine (1986): the quartic through
// z0, z1, z0', z1' and a fifth-order value at the midpoint, z0 + h Σ mid_i k_i.
std::vector<double> dopri5_dense(double theta) {
  static const double mid[7] = {
      6025192743.0 / 30085553152.0 / 2,     0,
      51252292925.0 / 65400821598.0 / 2,    -2691868925.0 / 45128329728.0 / 2,
      187940372067.0 / 1594534317056.0 / 2, -1776094331.0 / 19743644256.0 / 2,
      11237099.0 / 235043384.0 / 2};
  const std::vector<double>& b = dopri5_tableau().b;
  // q(θ) = aθ + bθ² + cθ³ + dθ⁴ with q(0) = 0, q'(0) = D0, q(1) = Δ1, q'(1) = D1, q(½) = Δm:
  // with r1 = Δ1 - D0, r2 = D1 - D0, r3 = Δm - D0/2:
  //   d = 16r3 - 8r1 + 2r2, c = 14r1 - 3r2 - 32r3, b = -5r1 + r2 + 16r3.
  // Every quantity is a combination of the stages, so are the weights.
  double t2 = theta * theta, t3 = t2 * theta, t4 = t3 * theta;
  std::vector<double> w(7);
  for (int i = 0; i < 7; ++i) {
    double D0 = i == 0 ? 1.0 : 0.0, D1 = i == 6 ? 1.0 : 0.0;
    double d1 = b[i], dm = mid[i];
    double r1 = d1 - D0, r2 = D1 - D0, r3 = dm - D0 / 2;
    double qd = 16 * r3 - 8 * r1 + 2 * r2, qc = 14 * r1 - 3 * r2 - 32 * r3,
           qb = -5 * r1 + r2 + 16 * r3;
    w[i] = D0 * theta + qb * t2 + qc * t3 + qd * t4;
  }
  return w;
}

}  // namespace

const ButcherTableau& dopri5_tableau() {
  static const ButcherTableau t{
      .name = "dopri5",
      .order = 5,
      .error_order = 4,
      .c = {0, 0.2, 0.3, 0.8, 8.0 / 9, 1, 1},
      .a = {{},
            {0.2},
            {3.0 / 40, 9.0 / 40},
            {44.0 / 45, -56.0 / 15, 32.0 / 9},
            {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
            {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
            {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84}},
      .b = {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0},
      .b_error = {5179.0 / 57600, 0, 7571.0 / 16695, 393.0 / 640, -92097.0 / 339200, 187.0 / 2100,
                  1.0 / 40},
      .dense = dopri5_dense};
  return t;
}

const ButcherTableau& tsit5_tableau() {
  // Tsitouras (2011), Table 1. The error weights are given as b - b̂ in the paper; b̂ is
  // stored here.
  static const ButcherTableau t = [] {
    ButcherTableau m{
        .name = "tsit5",
        .order = 5,
        .error_order = 4,
        .c = {0, 0.161, 0.327, 0.9, 0.9800255409045097, 1, 1},
        .a = {{},
              {0.161},
              {-0.008480655492356989, 0.335480655492357},
              {2.897153057105493, -6.359448489975075, 4.3622954328695815},
              {5.325864828439257, -11.748883564062828, 7.4955393428898365, -0.09249506636175525},
              {5.86145544294642, -12.92096931784711, 8.159367898576159, -0.071584973281401,
               -0.028269050394068383},
              {0.09646076681806523, 0.01, 0.4798896504144996, 1.379008574103742, -3.290069515436081,
               2.324710524099774}},
        .b = {0.09646076681806523, 0.01, 0.4798896504144996, 1.379008574103742, -3.290069515436081,
              2.324710524099774, 0}};
    const double difference[7] = {-0.00178001105222577714,
                                  -0.0008164344596567469,
                                  0.007880878010261995,
                                  -0.1447110071732629,
                                  0.5823571654525552,
                                  -0.45808210592918697,
                                  1.0 / 66};
    for (int i = 0; i < 7; ++i) m.b_error.push_back(m.b[i] - difference[i]);
    return m;
  }();
  return t;
}

}  // namespace ctdl::ode

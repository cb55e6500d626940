#include "data.h"

#include <cmath>
#include <numbers>

#include "ctdl/tensor/ops.h"

namespace ctdl::examples::pdenet {

std::vector<double> grid_coordinates(int64_t n, double origin) {
  std::vector<double> x(n);
  for (int64_t i = 0; i < n; ++i) x[i] = origin + 2.0 * std::numbers::pi * i / n;
  return x;
}

Trajectories generate(const DataOptions& o, int64_t batch, int64_t steps, double dt,
                      uint64_t seed) {
  SpectralSolver solver(o.pde, o.solver);
  const int64_t channels = o.pde.channels(), n = o.grid, field = n * n;
  const int64_t per_sample = (steps + 1) * channels * field;
  std::vector<double> clean(batch * per_sample), observed(batch * per_sample);
  Trajectories out;
  const int64_t evolved = static_cast<int64_t>(std::floor(o.evolved * batch + 1e-9));
  for (int64_t b = 0; b < batch; ++b) {
    // One stream per sample: a sample does not depend on the batch size or on its neighbours.
    std::mt19937_64 rng(seed * 1000003ull + static_cast<uint64_t>(b));
    auto ic = random_initial_condition(rng, channels, o.initial);
    std::uniform_int_distribution<int64_t> shift(0, o.zoom - 1);
    const double fine = 2.0 * std::numbers::pi / static_cast<double>(n * o.zoom);
    std::array<double, 2> origin{shift(rng) * fine, shift(rng) * fine};
    out.offsets.push_back(origin);
    SpectralSolver::State s = solver.initial_state(ic);
    if (b < evolved) solver.advance(s, o.start_time);
    double* c = clean.data() + b * per_sample;
    for (int64_t t = 0; t <= steps; ++t) {
      if (t > 0) solver.advance(s, dt);
      for (int64_t ch = 0; ch < channels; ++ch) {
        std::vector<double> u = solver.sample(s, ch, n, origin[0], origin[1]);
        std::copy(u.begin(), u.end(), c + (t * channels + ch) * field);
      }
    }
    std::normal_distribution<double> normal(0.0, 1.0);
    for (int64_t ch = 0; ch < channels; ++ch) {
      const double* u0 = c + ch * field;
      double mean = 0, var = 0;
      for (int64_t m = 0; m < field; ++m) mean += u0[m];
      mean /= field;
      for (int64_t m = 0; m < field; ++m) var += (u0[m] - mean) * (u0[m] - mean);
      const double sigma = o.noise * std::sqrt(var / field);
      for (int64_t t = 0; t <= steps; ++t) {
        int64_t base = b * per_sample + (t * channels + ch) * field;
        for (int64_t m = 0; m < field; ++m)
          observed[base + m] = clean[base + m] + (sigma > 0 ? sigma * normal(rng) : 0.0);
      }
    }
  }
  Dims shape{batch, steps + 1, channels, n, n};
  out.clean = tensor(clean, shape, {.dtype = o.dtype});
  out.observed = tensor(observed, shape, {.dtype = o.dtype});
  return out;
}

}  // namespace ctdl::examples::pdenet

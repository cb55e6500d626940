#include "ctdl/ode/sde/sdeint.h"

#include <algorithm>

#include "ctdl/ode/sde/brownian/interval.h"

namespace ctdl::ode::sde {
namespace {

Field counted(Field f, const std::shared_ptr<Stats>& stats) {
  return [f = std::move(f), stats](double t, const State& z) {
    ++stats->nfe;
    return f(t, z);
  };
}

uint64_t draw_seed() {
  Generator& g = default_generator();
  return brownian::split_seed(g.seed(), g.reserve(1) ^ 0x5DE5EEDull);
}

}  // namespace

std::shared_ptr<BrownianMotion> default_brownian(const SDE& sde, const Tensor& z0,
                                                 const std::vector<double>& times,
                                                 const Options& options) {
  auto [lo, hi] = std::minmax_element(times.begin(), times.end());
  Dims shape(z0.shape().begin(), z0.shape().end() - 1);
  shape.push_back(brownian_size(sde, times.front(), z0));
  return std::make_shared<BrownianInterval>(
      BrownianOptions{.t0 = *lo,
                      .t1 = *hi,
                      .shape = shape,
                      .dtype = z0.dtype(),
                      .seed = options.seed ? *options.seed : draw_seed(),
                      .levy_area = options.solver.levy_area()});
}

Tensor sdeint(const SDE& sde, const Tensor& z0, const Times& times, const Options& options) {
  CTDL_CHECK(z0.defined() && z0.is_floating_point() && z0.dim() >= 2,
             "sdeint: the initial state must be a float32 or float64 tensor [batch, d], got ",
             z0.defined() ? str(z0.shape()) : std::string("(undefined)"));
  CTDL_CHECK(!times.tensor().defined() || !times.tensor().requires_grad(),
             "sdeint: gradients with respect to the times are not supported for SDEs");
  check_times(times.values(), "sdeint");
  std::shared_ptr<Stats> stats = options.stats ? options.stats : std::make_shared<Stats>();
  *stats = Stats{};
  std::shared_ptr<BrownianMotion> bm =
      options.brownian ? options.brownian : default_brownian(sde, z0, times.values(), options);
  const auto& b = bm->options();
  CTDL_CHECK(static_cast<int64_t>(b.shape.size()) == z0.dim() &&
                 std::equal(b.shape.begin(), b.shape.end() - 1, z0.shape().begin()) &&
                 b.shape.back() == brownian_size(sde, times.values().front(), z0),
             "sdeint: the Brownian motion has shape ", b.shape, " but this SDE with ",
             name(sde.noise), " noise and state ", z0.shape(), " needs [batch..., ",
             brownian_size(sde, times.values().front(), z0), "]");
  Problem p{.f = counted(as_field(sde), stats),
            .z0 = {z0},
            .times = times.values(),
            .params = {},
            .solver = options.solver.make(
                {.brownian = bm, .noise = sde.noise, .type = sde.type, .dt = options.dt}),
            .stats = stats};
  for (const Tensor& w : options.params)
    if (w.defined() && w.requires_grad()) p.params.push_back(w);
  if (p.times.size() == 1) return z0.unsqueeze(0);
  TensorList out = options.grad.solve(p);
  stats->nfe_forward = stats->nfe;
  stats->steps_forward = stats->steps;
  return out[0];
}

}  // namespace ctdl::ode::sde

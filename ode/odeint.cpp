#include "ctdl/ode/odeint.h"

#include "ctdl/autograd/grad_mode.h"

namespace ctdl::ode {
namespace {

// z0 passed through unchanged; backward adds dL/dt0 = -<dL/dz0, f(t0, z0)>.
class StartTime final : public autograd::CustomFunction {
 public:
  StartTime(Field f, double t0, size_t n) : f_(std::move(f)), t0_(t0), n_(n) {}
  const char* name() const override { return "odeint_start_time"; }
  TensorList forward(const TensorList& in) override {
    z0_ = detach(State(in.begin(), in.begin() + n_));
    times_ = in[n_];
    return z0_;
  }
  TensorList backward(const TensorList& g) override {
    State f0 = f_(t0_, z0_);
    Tensor dt = ctdl::zeros_like(times_);
    Tensor d0 = -dot(g, f0).to(times_.dtype());
    TensorList out = g;
    out.push_back(slice_scatter_zeros(d0.reshape({1}), times_.shape(), 0, 0, 1));
    return out;
  }

 private:
  Field f_;
  double t0_;
  size_t n_;
  State z0_;
  Tensor times_;
};

// The trajectory passed through unchanged; backward adds dL/dt_k = <dL/dz_k, f(t_k, z_k)>.
// For k = 0 that term cancels the part of StartTime's -<dL/dz0, f> that came through the
// output z(t_0) = z0 itself, which does not move with t_0.
class ObservationTimes final : public autograd::CustomFunction {
 public:
  ObservationTimes(Field f, std::vector<double> times, size_t n)
      : f_(std::move(f)), times_(std::move(times)), n_(n) {}
  const char* name() const override { return "odeint_observation_times"; }
  TensorList forward(const TensorList& in) override {
    trajectory_ = detach(State(in.begin(), in.begin() + n_));
    dtype_ = in[n_].dtype();
    return trajectory_;
  }
  TensorList backward(const TensorList& g) override {
    TensorList dts;
    for (size_t k = 0; k < times_.size(); ++k) {
      State zk, gk;
      for (size_t i = 0; i < n_; ++i)
        zk.push_back(trajectory_[i].select(0, k)), gk.push_back(g[i].select(0, k));
      dts.push_back(dot(gk, f_(times_[k], zk)).to(dtype_).reshape({1}));
    }
    TensorList out = g;
    out.push_back(cat(dts));
    return out;
  }

 private:
  Field f_;
  std::vector<double> times_;
  size_t n_;
  State trajectory_;
  DType dtype_ = DType::Float64;
};

Field counted(const Field& f, const std::shared_ptr<Stats>& stats) {
  return [f, stats](double t, const State& z) {
    ++stats->nfe;
    State out = f(t, z);
    CTDL_CHECK(out.size() == z.size(), "odeint: f returned ", out.size(),
               " tensors for a state of ", z.size(), " at t=", t);
    for (size_t i = 0; i < out.size(); ++i)
      CTDL_CHECK(out[i].defined() && out[i].shape() == z[i].shape(), "odeint: f returned shape ",
                 out[i].defined() ? str(out[i].shape()) : std::string("(undefined)"),
                 " for component ", i, " of shape ", z[i].shape(), " at t=", t);
    return out;
  };
}

}  // namespace

Times::Times(const Tensor& times) : tensor_(times) {
  CTDL_CHECK(times.dim() == 1, "odeint: times must be a 1-D tensor, got shape ", times.shape());
  values_ = times.to_vector<double>();
}

TensorList odeint(const Field& f, const State& z0, const Times& times, const Options& options) {
  std::shared_ptr<Stats> stats = options.stats ? options.stats : std::make_shared<Stats>();
  *stats = Stats{};
  check_times(times.values(), "odeint");
  CTDL_CHECK(!z0.empty(), "odeint: the initial state has no tensors");
  for (size_t i = 0; i < z0.size(); ++i)
    CTDL_CHECK(z0[i].defined() && z0[i].is_floating_point(), "odeint: component ", i,
               " of the initial state must be a float32 or float64 tensor");
  Problem p{.f = counted(f, stats),
            .z0 = z0,
            .times = times.values(),
            .params = {},
            .solver = options.solver,
            .stats = stats};
  for (const Tensor& w : options.params)
    if (w.defined() && w.requires_grad()) p.params.push_back(w);
  if (p.times.size() == 1) {
    TensorList out;
    for (const Tensor& z : z0) out.push_back(z.unsqueeze(0));
    return out;
  }
  const Tensor& t = times.tensor();
  const bool time_grad = t.defined() && t.requires_grad() && autograd::grad_enabled();
  if (time_grad) {
    TensorList in = z0;
    in.push_back(t);
    p.z0 = autograd::apply(std::make_shared<StartTime>(p.f, p.times[0], z0.size()), in);
  }
  TensorList out = options.grad.solve(p);
  stats->nfe_forward = stats->nfe;
  stats->steps_forward = stats->steps;
  CTDL_CHECK(out.size() == z0.size(), "odeint: gradient scheme '", options.grad.name(),
             "' returned ", out.size(), " tensors for a state of ", z0.size());
  if (time_grad) {
    TensorList in = out;
    in.push_back(t);
    out = autograd::apply(std::make_shared<ObservationTimes>(p.f, p.times, z0.size()), in);
  }
  return out;
}

Tensor odeint(const TensorField& f, const Tensor& z0, const Times& times, const Options& options) {
  Field lifted = [f](double t, const State& z) { return State{f(t, z[0])}; };
  return odeint(lifted, State{z0}, times, options)[0];
}

}  // namespace ctdl::ode

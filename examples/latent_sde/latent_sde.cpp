// latent-sde: the latent SDE of Li, Wong, Chen & Duvenaud (2020, §7.3) on CMU motion capture
// (subject 35 walking, 50 joint angles, 300 frames), trained by the stochastic adjoint.
//
//   build/bin/ctdl run latent-sde --quick              # writes runs/latent-sde/summary.json
//   build/bin/ctdl run latent-sde --set model=ode      # the latent ODE baseline
//
// The model, read top to bottom below:
//   encoder          a GRU over the first three frames (backwards) gives q(z0) and, with
//                    context > 0, a context vector ctx: the only frames the model sees, in
//                    training as at test time
//   posterior        dz = f(z, ctx) dt + g(z)∘dW       prior  dz = h(z) dt + g(z)∘dW
//   g                one small network per latent dimension (diagonal noise, shared)
//   KL               ∫ ½|(f - h)/g|² dt, carried as an extra state of the same SDE, plus
//                    KL(q(z0) ‖ p(z0))
//   likelihood       Gaussian around a linear decoding of z(t_i), noise 0.5 (normalized units)
// Training maximizes the ELBO on random windows of the training sequences, 100 frames at
// first and the whole 300 by mid-training. The test MSE is the paper's measure: from the first
// three frames, the posterior SDE (it conditions on nothing else) predicts the other 297, and
// the squared error in the data's units is averaged over frames, angles, sequences and 50
// samples (test_mse_of_mean: the error of the samples' mean). The latent ODE baseline
// (model=ode) swaps the SDE for dz = f(z, ctx) dt and drops the path KL. What differs from
// the paper and why (fixed observation noise, no context, the windows) is in README.md here.
#include <cmath>
#include <iostream>

#include "ctdl/autograd/engine.h"
#include "ctdl/autograd/grad_mode.h"
#include "ctdl/nn/nn.h"
#include "ctdl/nn/train/example.h"
#include "ctdl/nn/train/run.h"
#include "ctdl/ode/ode.h"
#include "ctdl/ode/sde/registry.h"
#include "mocap.h"

namespace ctdl::examples::latent_sde {
namespace {

struct LatentSdeConfig {
  std::string model = "sde";  // "sde", or "ode": the latent ODE baseline
  int64_t iterations = 3000;  // steps, each on one window of every training sequence
  double lr = 0.01;
  double lr_decay = 0.999;  // per iteration
  int64_t latent = 6;
  int64_t context = 0;  // the paper's posterior takes one (3); see README.md
  int64_t hidden = 30;
  int64_t encoder_hidden = 25;
  double frame_dt = 0.05;  // time between frames
  int64_t steps_per_frame = 1;
  std::string solver = "midpoint";          // an SDE solver for Stratonovich SDEs
  std::string grad = "stochastic_adjoint";  // or backprop, reversible_adjoint (reversible_heun)
  double obs_std = 0.5;  // observation noise (normalized units): fixed, or the initial value
  bool learn_obs_std = false;
  int64_t kl_anneal = 300;  // iterations over which the KL weight grows to 1
  int64_t eval_every = 100;
  int64_t val_samples = 10;
  int64_t test_samples = 50;
  // Training windows: each iteration crops every training sequence to `window` frames at a
  // random start, the window growing linearly to the whole sequence by `window_growth` of
  // the iterations (window 300: whole sequences throughout; window_growth 0: never grows).
  int64_t window = 100;
  double window_growth = 0.5;
  int64_t seed = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(LatentSdeConfig, model, iterations, lr, lr_decay,
                                                latent, context, hidden, encoder_hidden, frame_dt,
                                                steps_per_frame, solver, grad, obs_std, kl_anneal,
                                                eval_every, val_samples, test_samples, window,
                                                window_growth, learn_obs_std, seed)

// Every sequence of x [B, T, obs] cropped to `length` frames from a random start (drawn from
// default_generator(), so resuming replays the same crops).
Tensor random_windows(const Tensor& x, int64_t length) {
  const int64_t B = x.size(0), T = x.size(1);
  if (length >= T) return x;
  Tensor starts = randint(0, T - length + 1, {B});
  TensorList rows;
  for (int64_t b = 0; b < B; ++b)
    rows.push_back(x.select(0, b).narrow(0, starts.select(0, b).item<int64_t>(), length));
  return stack(rows);
}

struct GRU : nn::Module {
  GRU(int64_t in, int64_t hidden)
      : nn::Module("GRU"),
        ih(register_module("ih", nn::Linear(in, 3 * hidden))),
        hh(register_module("hh", nn::Linear(hidden, 3 * hidden))),
        size(hidden) {}
  Tensor operator()(const Tensor& x, const Tensor& h) const {
    TensorList a = split(ih(x), size, -1), b = split(hh(h), size, -1);
    Tensor r = sigmoid(a[0] + b[0]), u = sigmoid(a[1] + b[1]);
    Tensor n = tanh(a[2] + r * b[2]);
    return n + u * (h - n);
  }
  nn::Linear ih, hh;
  int64_t size;
};

// g_i(z_i): a one-hidden-layer network per latent dimension, so g_i depends on z_i alone.
struct DiagonalDiffusion : nn::Module {
  DiagonalDiffusion(int64_t d, int64_t hidden) : nn::Module("DiagonalDiffusion") {
    w1 = register_parameter("w1", rand({d, hidden}) * 2.0 - 1.0);
    b1 = register_parameter("b1", rand({d, hidden}) * 2.0 - 1.0);
    double bound = 1.0 / std::sqrt(static_cast<double>(hidden));
    w2 = register_parameter("w2", (rand({d, hidden}) * 2.0 - 1.0) * bound);
    // g starts small (sigmoid(-2) ≈ 0.12): noise integrated over the 300 frames would
    // otherwise swamp the drift before it has learnt anything.
    b2 = register_parameter("b2", full({d}, -2.0));
  }
  Tensor operator()(const Tensor& z) const {  // [B, d] -> [B, d], in (0, 1)
    Tensor h = softplus(z.unsqueeze(-1) * w1 + b1);
    return sigmoid((h * w2).sum({-1}) + b2);
  }
  Tensor w1, b1, w2, b2;
};

nn::Sequential mlp(int64_t in, int64_t hidden, int64_t out) {
  return nn::Sequential(nn::Linear(in, hidden, {.activation = Activation::Tanh}),
                        nn::Linear(hidden, hidden, {.activation = Activation::Tanh}),
                        nn::Linear(hidden, out));
}

struct LatentModel : nn::Module {
  LatentModel(const LatentSdeConfig& c, int64_t obs)
      : nn::Module("LatentSDE"),
        encoder(register_module("encoder", GRU(obs, c.encoder_hidden))),
        encoder_head(register_module("encoder_head",
                                     nn::Linear(c.encoder_hidden, 2 * c.latent + c.context))),
        posterior(register_module("posterior", mlp(c.latent + c.context, c.hidden, c.latent))),
        prior(register_module("prior", mlp(c.latent, c.hidden, c.latent))),
        diffusion(register_module("diffusion", DiagonalDiffusion(c.latent, c.hidden))),
        decoder(register_module("decoder", nn::Linear(c.latent, obs))) {
    obs_logstd = c.learn_obs_std
                     ? register_parameter("obs_logstd", full({obs}, std::log(c.obs_std)))
                     : register_buffer("obs_logstd", full({obs}, std::log(c.obs_std)));
    pz0_mean = register_parameter("pz0_mean", zeros({c.latent}));
    pz0_logstd = register_parameter("pz0_logstd", zeros({c.latent}));
  }

  // q(z0 | x_0, x_1, x_2) (mean, log standard deviation) and the context, from the first
  // three frames of x [B, T, obs].
  struct Encoding {
    Tensor mean, logstd, context;
  };
  Encoding encode(const Tensor& x, int64_t latent) const {
    Tensor h = zeros({x.size(0), encoder.size});
    for (int64_t i = 2; i >= 0; --i) h = encoder(x.select(1, i), h);
    const int64_t context = encoder_head.weight.size(0) - 2 * latent;
    Tensor out = encoder_head(h);
    if (context == 0) return {out.narrow(-1, 0, latent), out.narrow(-1, latent, latent), Tensor()};
    TensorList q = split(out, std::vector<int64_t>{latent, latent, context}, -1);
    return {q[0], q[1], q[2]};
  }

  GRU encoder;
  nn::Linear encoder_head;
  nn::Sequential posterior, prior;
  DiagonalDiffusion diffusion;
  nn::Linear decoder;
  Tensor obs_logstd, pz0_mean, pz0_logstd;
};

// The posterior drift's input: z, and the context when there is one.
Tensor with_context(const Tensor& z, const Tensor& ctx) {
  return ctx.defined() ? cat({z, ctx}, -1) : z;
}

std::vector<double> frame_times(int64_t frames, double frame_dt) {
  std::vector<double> t;
  for (int64_t i = 0; i < frames; ++i) t.push_back(static_cast<double>(i) * frame_dt);
  return t;
}

// Σ over frames and angles of log N(x | mean, σ²), per sequence: x, mean [T, B, obs].
Tensor log_likelihood(const Tensor& x, const Tensor& mean, const Tensor& logstd) {
  Tensor z = (x - mean) * exp(-logstd);
  return (square(z) * -0.5 - logstd - 0.5 * std::log(2 * M_PI)).sum({0, 2});
}

// KL(N(m, e^{2s}) ‖ N(pm, e^{2ps})) summed over the last dim.
Tensor gaussian_kl(const Tensor& m, const Tensor& s, const Tensor& pm, const Tensor& ps) {
  return (ps - s + (exp(s * 2.0) + square(m - pm)) * exp(ps * -2.0) * 0.5 - 0.5).sum({-1});
}

// dz = f(z, ctx) dt + g(z)∘dW on the state [z | KL so far]: the KL rate ½|u|²,
// u = (f - h)/g, rides along as one more state with no noise of its own. ctx: [B, context].
ode::SDE posterior_sde(const LatentModel& m, const Tensor& ctx, int64_t d) {
  return {.drift =
              [&m, ctx, d](double, const Tensor& y) {
                Tensor z = y.narrow(-1, 0, d);
                Tensor f = m.posterior(with_context(z, ctx));
                Tensor u = (f - m.prior(z)) / m.diffusion(z);
                return cat({f, (square(u) * 0.5).sum({-1}, true)}, -1);
              },
          .diffusion =
              [&m, d](double, const Tensor& y) {
                return cat({m.diffusion(y.narrow(-1, 0, d)), zeros({y.size(0), 1})}, -1);
              },
          .noise = ode::sde::Noise::Diagonal,
          .type = ode::sde::SdeType::Stratonovich};
}

// One step of the optimizer on the negative ELBO of x [B, T, obs] (normalized), per sequence.
// The context enters the SDE as a detached leaf listed in params: the adjoint differentiates
// the solve with respect to it, and one more backward pass carries that into the encoder.
// (Listing the encoder's output itself would work too, but every vector-Jacobian product of
// the drift would then walk the encoder's graph.)
struct Objective {
  LatentModel& m;
  const LatentSdeConfig& c;
  double nll = 0, kl = 0;

  double step(const Tensor& x, double beta, nn::Optimizer& opt) {
    const int64_t T = x.size(1), d = c.latent, B = x.size(0);
    LatentModel::Encoding q = m.encode(x, d);
    Tensor z0 = q.mean + exp(q.logstd) * randn_like(q.mean);
    Tensor kl0 = gaussian_kl(q.mean, q.logstd, m.pz0_mean, m.pz0_logstd);
    Tensor ctx = q.context.defined() ? q.context.detach().requires_grad_() : Tensor();
    std::vector<double> times = frame_times(T, c.frame_dt);
    const double dt = c.frame_dt / static_cast<double>(c.steps_per_frame);
    Tensor zs, kl_path;
    if (c.model == "ode") {
      const LatentModel& model = m;
      zs = ode::odeint(
          [&model, ctx](double, const Tensor& z) { return model.posterior(with_context(z, ctx)); },
          z0, times, {.solver = ode::Midpoint{.step_size = dt}, .grad = ode::Backprop{}});
      kl_path = zeros({B});
    } else {
      TensorList params = m.posterior.parameters();
      for (const Tensor& p : m.prior.parameters()) params.push_back(p);
      for (const Tensor& p : m.diffusion.parameters()) params.push_back(p);
      if (ctx.defined()) params.push_back(ctx);
      Tensor ys = ode::sdeint(posterior_sde(m, ctx, d), cat({z0, zeros({B, 1})}, -1), times,
                              {.solver = ode::sde::make_solver(c.solver),
                               .dt = dt,
                               .grad = ode::sde::make_scheme(c.grad, ode::NamedOptions()),
                               .params = params});
      zs = ys.narrow(-1, 0, d);
      kl_path = ys.select(0, T - 1).select(-1, d);
    }
    Tensor nll_b = -log_likelihood(x.transpose(0, 1), m.decoder(zs), m.obs_logstd);
    Tensor loss = (nll_b + (kl_path + kl0) * beta).mean();
    opt.zero_grad();
    // The encoder's graph is used again by the second pass: keep it.
    autograd::backward({loss}, {}, /*retain_graph=*/true);
    if (ctx.defined() && ctx.grad().defined()) autograd::backward({q.context}, {ctx.grad()});
    opt.step();
    nll = nll_b.mean().item();
    kl = (kl_path + kl0).mean().item();
    return loss.item();
  }
};

struct Prediction {
  double mse = 0;       // averaged over samples: the paper's measure
  double mse_mean = 0;  // of the samples' mean
};

// From the first three frames of each sequence, `samples` trajectories of the posterior SDE
// (the ODE for model=ode); the squared error over frames 3.. in the data's units.
Prediction predict(const LatentModel& m, const LatentSdeConfig& c, const Tensor& x_norm,
                   const Tensor& x_raw, const Tensor& scale, const Tensor& offset,
                   int64_t samples) {
  autograd::NoGradGuard no_grad;
  const int64_t B = x_norm.size(0), T = x_norm.size(1), d = c.latent;
  LatentModel::Encoding q = m.encode(x_norm, d);
  auto repeat = [&](const Tensor& t) { return cat(TensorList(static_cast<size_t>(samples), t)); };
  Tensor mu = repeat(q.mean), ctx = q.context.defined() ? repeat(q.context) : Tensor();
  Tensor z0 = mu + exp(repeat(q.logstd)) * randn_like(mu);  // [samples·B, d], sample-major
  std::vector<double> times = frame_times(T, c.frame_dt);
  const double dt = c.frame_dt / static_cast<double>(c.steps_per_frame);
  Tensor zs;
  if (c.model == "ode") {
    zs = ode::odeint(
        [&m, ctx](double, const Tensor& z) { return m.posterior(with_context(z, ctx)); }, z0, times,
        {.solver = ode::Midpoint{.step_size = dt}});
  } else {
    Tensor ys = ode::sdeint(posterior_sde(m, ctx, d), cat({z0, zeros({z0.size(0), 1})}, -1), times,
                            {.solver = ode::sde::make_solver(c.solver), .dt = dt});
    zs = ys.narrow(-1, 0, d);
  }
  // [T, samples·B, obs] -> [samples, B, T, obs], in the data's units
  Tensor pred = (m.decoder(zs) * scale + offset).reshape({T, samples, B, -1}).permute({1, 2, 0, 3});
  Tensor future = pred.narrow(2, 3, T - 3), truth = x_raw.narrow(1, 3, T - 3);
  Prediction p;
  p.mse = square(future - truth.unsqueeze(0)).mean().item();
  p.mse_mean = square(future.mean({0}) - truth).mean().item();
  return p;
}

void run_latent_sde(nn::Run& run, const LatentSdeConfig& c) {
  CTDL_CHECK(c.model == "sde" || c.model == "ode",
             "latent-sde: model must be \"sde\" or \"ode\", got \"", c.model, "\"");
  std::string dir;
  try {
    dir = run.data_dir("mocap");
  } catch (const Error& e) {
    fail(e.what(), "\n", kMocapSource);
  }
  Mocap data = load_mocap(dir);
  run.note(data.description);
  manual_seed(static_cast<uint64_t>(c.seed));
  // Per-angle standardization from the training set; constant angles keep scale 1.
  Tensor offset = data.train.mean({0, 1}).to(DType::Float32);
  Tensor scale = ctdl::std(data.train, {0, 1}).to(DType::Float32);
  scale = where(scale > 1e-6, scale, 1.0);
  auto normalize = [&](const Tensor& x) { return (x.to(DType::Float32) - offset) / scale; };
  Tensor train = normalize(data.train), val = normalize(data.val), test = normalize(data.test);
  const int64_t obs = data.train.size(2);

  LatentModel model(c, obs);
  nn::Adam opt(model.parameters(), {.lr = c.lr});
  std::cout << model.num_parameters() << " parameters; " << c.model << ", " << c.iterations
            << " iterations, solver " << (c.model == "ode" ? "midpoint (ODE)" : c.solver)
            << ", gradients by " << (c.model == "ode" ? "backprop" : c.grad) << "\n";
  (void)ode::sde::make_solver(c.solver);  // a typo in the config stops the run here
  int64_t start = run.resume({.model = &model, .optimizer = &opt});
  Objective objective{model, c};
  nn::NamedTensors best;
  double best_val = INFINITY;
  auto evaluate = [&](int64_t it, double train_loss) {
    Prediction v =
        predict(model, c, val, data.val.to(DType::Float32), scale, offset, c.val_samples);
    run.log({{"step", it},
             {"train_loss", train_loss},
             {"train_nll", objective.nll},
             {"train_kl", objective.kl},
             {"val_mse", v.mse}});
    std::cout << "iteration " << it << ": -ELBO/sequence " << train_loss << ", validation MSE "
              << v.mse << "\n";
    if (v.mse < best_val) {
      best_val = v.mse;
      best.clear();
      for (auto& [name, t] : model.state_dict()) best.emplace_back(name, t.clone());
    }
  };
  double loss = 0;
  for (int64_t it = start; it < c.iterations; ++it) {
    opt.set_lr(c.lr * std::pow(c.lr_decay, static_cast<double>(it)));
    double beta = c.kl_anneal > 0 ? std::min(1.0, static_cast<double>(it + 1) / c.kl_anneal) : 1.0;
    int64_t length = train.size(1);
    if (c.window > 0 && c.window < length) {
      double grown = c.window_growth > 0 ? static_cast<double>(it) /
                                               (c.window_growth * static_cast<double>(c.iterations))
                                         : 1.0;
      length =
          std::min(length, c.window + static_cast<int64_t>(std::min(grown, 1.0) *
                                                           static_cast<double>(length - c.window)));
    }
    loss = objective.step(random_windows(train, length), beta, opt);
    if ((it + 1) % c.eval_every == 0 || it + 1 == c.iterations) {
      evaluate(it + 1, loss);
      run.save_checkpoint(it + 1, {.model = &model, .optimizer = &opt});
    }
  }
  if (!best.empty()) model.load_state_dict(best, "the best validation checkpoint");
  Prediction t =
      predict(model, c, test, data.test.to(DType::Float32), scale, offset, c.test_samples);
  std::cout << "test MSE " << t.mse << " (" << c.test_samples << " samples; MSE of their mean "
            << t.mse_mean << ")\n";
  run.set_metric("test_mse", t.mse);
  run.set_metric("test_mse_of_mean", t.mse_mean);
  run.set_metric("best_val_mse", best_val);
  run.set_paper("test_mse", c.model == "ode" ? 5.98 : 4.03);
  run.note(std::string("paper (Li et al. 2020, table 2): latent SDE 4.03 ± 0.20, latent ODE 5.98 ± "
                       "0.28; test MSE on the 297 frames after the first three, ") +
           std::to_string(c.test_samples) + " samples, parameters of the best validation MSE");
}

const nn::RegisterExample<LatentSdeConfig> registration{{
    .name = "latent-sde",
    .description = "latent SDE on CMU motion capture (Li et al. 2020); model=ode for the latent "
                   "ODE baseline",
    .quick = {{"iterations", 800}},
    .run = run_latent_sde,
}};

}  // namespace
}  // namespace ctdl::examples::latent_sde

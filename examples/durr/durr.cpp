// durr: the Dynamically Unfolding Recurrent Restorer of Zhang, Lu, Liu & Dong (ICLR 2019),
// reproduced small: blind Gaussian denoising of grayscale CIFAR-10 images.
//
//   build/bin/ctdl run durr --quick            # writes runs/durr/summary.json, examples.png
//   build/bin/ctdl run durr --help             # every setting
//
// Read top to bottom below:
//   1. data        grayscale CIFAR-10 (training archive: random crops; test archive: whole
//                  32×32 images), noise σ ∈ [15, 50] in training, tested also at 55, 65, 75
//   2. denoisers   DURR's restoration unit x_{n+1} = x_n + F(x_n), trained unrolled with the
//                  terminal time round(σ/10) (moving endpoint); the same unit trained with a
//                  fixed number of steps; a DnCNN-style network with the same layers, once
//   3. policy      Q(x_n, continue) by deep Q-learning on the fixed unit's trajectories,
//                  reward PSNR(x_{n+1}) - PSNR(x_n) for continuing, 0 for stopping
//   4. test        PSNR per σ for each denoiser, DURR's steps per σ, and the best step per
//                  image in hindsight (the oracle) to see what the policy leaves on the table
#include <cmath>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/nn/data/image.h"
#include "ctdl/nn/io/checkpoint.h"
#include "ctdl/nn/io/safetensors.h"
#include "ctdl/nn/nn.h"
#include "ctdl/nn/train/example.h"
#include "ctdl/nn/train/plot.h"
#include "ctdl/nn/train/run.h"
#include "data.h"
#include "model.h"

namespace ctdl::examples::durr {
namespace {

struct DurrConfig {
  int64_t train_images = 20000;  // from the training archive, evenly spaced over it
  int64_t test_images = 500;     // from the test archive, whole 32×32 images
  int64_t patch = 24;            // training crops
  int64_t batch = 32;
  int64_t iterations = 4000;  // optimizer steps for each denoiser
  double lr = 2e-3;           // Adam, cosine to lr/20
  int64_t width = 16;         // the unit: 3×3 convolutions, `layers` of them
  int64_t layers = 4;
  bool unit_sees_input = false;  // F(x_n, y) instead of F(x_n)
  double sigma_min = 15, sigma_max = 50;
  double sigma_per_step = 10;       // DURR's training terminal time: round(σ / this)
  double intermediate_weight = 0;   // > 0: also supervise x_k on an even pace (model.h)
  int64_t fixed_steps = 4;          // the fixed-step baseline
  int64_t dncnn_layers = 4;         // the DnCNN-style baseline, `width` channels
  int64_t max_steps = 12;           // the most steps DURR may take
  int64_t policy_width = 16;
  int64_t policy_images = 1024;     // training crops whose trajectories the policy learns from
  int64_t policy_iterations = 6000;
  int64_t policy_batch = 64;
  double policy_lr = 1e-3;
  int64_t target_every = 100;       // the target network's refresh period
  std::vector<double> test_sigmas = {15, 25, 35, 45, 55, 65, 75};
  double picture_sigma = 65;  // examples.png
  int64_t log_every = 100;
  int64_t seed = 0;
  // A models.safetensors of an earlier run: its denoisers are loaded (train them further
  // with iterations > 0, or not at all with 0) and the policy is trained afresh.
  std::string init_from;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DurrConfig, train_images, test_images, patch,
                                                batch, iterations, lr, width, layers,
                                                unit_sees_input, sigma_min, sigma_max,
                                                sigma_per_step, intermediate_weight, fixed_steps,
                                                dncnn_layers, max_steps, policy_width,
                                                policy_images, policy_iterations, policy_batch,
                                                policy_lr, target_every, test_sigmas,
                                                picture_sigma, log_every, seed,
                                                init_from)

double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

std::string key(double sigma) { return std::to_string(std::lround(sigma)); }

// Every model of the run under one roof, to save them together.
struct Models : nn::Module {
  explicit Models(const DurrConfig& c)
      : nn::Module("DURR"),
        unit(register_module("unit", RestorationUnit({.width = c.width,
                                                      .layers = c.layers,
                                                      .sees_input = c.unit_sees_input}))),
        fixed(register_module("fixed", RestorationUnit({.width = c.width,
                                                        .layers = c.layers,
                                                        .sees_input = c.unit_sees_input}))),
        dncnn(register_module("dncnn", DnCNN(c.width, c.dncnn_layers))),
        policy(register_module("policy", StopPolicy({.width = c.policy_width}))) {}
  RestorationUnit unit, fixed;
  DnCNN dncnn;
  StopPolicy policy;
};

// 2. The three denoisers, one optimizer step each per iteration on the same clean crops.
void train_denoisers(nn::Run& run, const DurrConfig& c, const Models& m, const Tensor& train) {
  nn::Adam opt_unit(m.unit.parameters(), {.lr = c.lr}), opt_fixed(m.fixed.parameters(), {.lr = c.lr}),
      opt_dncnn(m.dncnn.parameters(), {.lr = c.lr});
  double sum_unit = 0, sum_fixed = 0, sum_dncnn = 0, steps = 0;
  for (int64_t it = 0; it < c.iterations; ++it) {
    double progress = static_cast<double>(it) / static_cast<double>(c.iterations);
    double lr = c.lr * (0.05 + 0.95 * 0.5 * (1 + std::cos(M_PI * progress)));
    for (nn::Adam* o : {&opt_unit, &opt_fixed, &opt_dncnn}) o->set_lr(lr);
    Tensor clean = random_crops(train, c.batch, c.patch);
    // DURR: one σ per batch, so every image of it has the same terminal time.
    double sigma = uniform_sigmas(1, c.sigma_min, c.sigma_max).item<double>();
    int64_t n = terminal_steps(sigma, c.sigma_per_step);
    sum_unit += train_unit_step(m.unit, opt_unit, clean, add_noise(clean, scalar_tensor(sigma)), n,
                                c.intermediate_weight);
    steps += static_cast<double>(n);
    // The baselines: σ per image.
    Tensor noisy = add_noise(clean, uniform_sigmas(c.batch, c.sigma_min, c.sigma_max));
    sum_fixed += train_unit_step(m.fixed, opt_fixed, clean, noisy, c.fixed_steps);
    sum_dncnn += train_dncnn_step(m.dncnn, opt_dncnn, clean, noisy);
    if ((it + 1) % c.log_every == 0 || it + 1 == c.iterations) {
      double k = static_cast<double>(c.log_every);
      if ((it + 1) % c.log_every != 0) k = static_cast<double>((it + 1) % c.log_every);
      run.log({{"step", it + 1},
               {"durr_unit_loss", sum_unit / k},
               {"fixed_steps_loss", sum_fixed / k},
               {"dncnn_loss", sum_dncnn / k},
               {"lr", lr}});
      std::cout << "iteration " << it + 1 << ": train MSE  DURR unit " << sum_unit / k
                << " (mean terminal time " << steps / k << ")  fixed " << sum_fixed / k
                << "  DnCNN " << sum_dncnn / k << "   " << std::fixed << std::setprecision(0)
                << run.elapsed_seconds() << " s" << std::defaultfloat << std::setprecision(6)
                << std::endl;
      sum_unit = sum_fixed = sum_dncnn = steps = 0;
    }
  }
}

// 3. Deep Q-learning of the stopping policy on the trained unit's trajectories.
void train_policy(nn::Run& run, const DurrConfig& c, const Models& m, const Tensor& train) {
  Tensor clean = random_crops(train, c.policy_images, c.patch);
  Tensor noisy = add_noise(clean, uniform_sigmas(c.policy_images, c.sigma_min, c.sigma_max));
  Transitions memory = collect_transitions(m.unit, clean, noisy, c.max_steps);
  StopPolicy target({.width = c.policy_width});
  target.load_state_dict(m.policy.state_dict());
  nn::Adam opt(m.policy.parameters(), {.lr = c.policy_lr});
  double sum = 0;
  for (int64_t it = 0; it < c.policy_iterations; ++it) {
    sum += q_learning_step(m.policy, target, opt, memory, c.policy_batch);
    if ((it + 1) % c.target_every == 0) target.load_state_dict(m.policy.state_dict());
    if ((it + 1) % c.log_every == 0 || it + 1 == c.policy_iterations) {
      double k = static_cast<double>((it + 1) % c.log_every == 0 ? c.log_every
                                                                  : (it + 1) % c.log_every);
      run.log({{"step", c.iterations + it + 1}, {"policy_td_loss", sum / k}});
      std::cout << "policy iteration " << it + 1 << ": TD error² " << sum / k << std::endl;
      sum = 0;
    }
  }
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

struct LevelResult {
  double sigma = 0, noisy = 0, durr = 0, fixed = 0, dncnn = 0, oracle = 0;
  double steps = 0, oracle_steps = 0;
  std::vector<double> unit_at_k;  // mean PSNR of DURR's unit after k steps, k = 0..max
  Tensor picture;                 // a few test images: noisy | DnCNN | fixed | DURR | clean
};

// 4. Every denoiser on the test images at one noise level (its noise seeded by σ).
LevelResult evaluate(const DurrConfig& c, const Models& m, const Tensor& test, double sigma) {
  autograd::NoGradGuard no_grad;
  Generator g(static_cast<uint64_t>(1000 * c.seed + std::lround(sigma)));
  Tensor noisy = add_noise(test, scalar_tensor(sigma), &g);
  LevelResult r;
  r.sigma = sigma;
  TensorList path = m.unit.trajectory(noisy, c.max_steps);
  std::vector<int64_t> stop = stopping_steps(m.policy, path);
  std::vector<std::vector<double>> db;  // [k][image]
  for (const Tensor& x : path) db.push_back(psnr(x, test).to_vector<double>());
  const size_t n = static_cast<size_t>(test.size(0));
  std::vector<double> chosen(n), best(n), best_k(n), steps(n);
  for (size_t i = 0; i < n; ++i) {
    chosen[i] = db[static_cast<size_t>(stop[i])][i];
    steps[i] = static_cast<double>(stop[i]);
    best[i] = db[0][i];
    for (size_t k = 1; k < db.size(); ++k)
      if (db[k][i] > best[i]) best[i] = db[k][i], best_k[i] = static_cast<double>(k);
  }
  for (const auto& at_k : db) r.unit_at_k.push_back(mean(at_k));
  Tensor fixed = m.fixed.unroll(noisy, c.fixed_steps), dncnn = m.dncnn(noisy);
  r.noisy = db[0].empty() ? 0 : mean(db[0]);
  r.durr = mean(chosen);
  r.oracle = mean(best);
  r.steps = mean(steps);
  r.oracle_steps = mean(best_k);
  r.fixed = psnr(fixed, test).mean().item<double>();
  r.dncnn = psnr(dncnn, test).mean().item<double>();
  // Four images side by side, one per row.
  TensorList rows;
  for (int64_t i = 0; i < std::min<int64_t>(4, test.size(0)); ++i) {
    Tensor restored = path[static_cast<size_t>(stop[static_cast<size_t>(i)])].select(0, i);
    TensorList cols;
    for (const Tensor& img :
         {noisy.select(0, i), dncnn.select(0, i), fixed.select(0, i), restored, test.select(0, i)}) {
      cols.push_back(clamp(img.select(0, 0), 0.0, 1.0));
      cols.push_back(ones({img.size(1), 2}));
    }
    rows.push_back(cat(cols, 1));
    rows.push_back(ones({2, rows.back().size(1)}));
  }
  r.picture = cat(rows, 0);
  return r;
}

// [H, W] -> [1, s·H, s·W], each pixel an s×s block.
Tensor upscale(const Tensor& image, int64_t s) {
  const int64_t h = image.size(0), w = image.size(1);
  return image.reshape({h, 1, w, 1}).expand({h, s, w, s}).reshape({1, h * s, w * s});
}

void run_durr(nn::Run& run, const DurrConfig& c) {
  CTDL_CHECK(c.sigma_min > 0 && c.sigma_max >= c.sigma_min, "durr: need 0 < sigma_min <= sigma_max");
  CTDL_CHECK(c.max_steps >= 1 && c.fixed_steps >= 1, "durr: max_steps and fixed_steps must be >= 1");
  const double cpu0 = cpu_seconds();
  std::string dir = run.data_dir("cifar10-jpg");
  // 1. Data.
  Tensor train = load_gray_images(dir + "/cifar10-train-jpg.tar.gz", c.train_images);
  Tensor test = load_gray_images(dir + "/cifar10-test-jpg.tar.gz", c.test_images);
  std::ostringstream data;
  data << "CIFAR-10 in grayscale (BT.601 luminance): " << train.size(0)
       << " training images (evenly spaced over cifar10-train-jpg.tar.gz), random " << c.patch
       << "x" << c.patch << " crops with left-right flips; " << test.size(0)
       << " test images (evenly spaced over cifar10-test-jpg.tar.gz), whole 32x32; noise sigma "
       << c.sigma_min << "-" << c.sigma_max << " in training (0-255 scale, not clipped)";
  run.note(data.str());
  manual_seed(static_cast<uint64_t>(c.seed));
  Models m(c);
  std::cout << "parameters: unit " << m.unit.num_parameters() << ", DnCNN-style "
            << m.dncnn.num_parameters() << ", policy " << m.policy.num_parameters() << std::endl;
  run.set_metric("parameters", {{"unit", m.unit.num_parameters()},
                                {"dncnn", m.dncnn.num_parameters()},
                                {"policy", m.policy.num_parameters()}});
  if (!c.init_from.empty()) {
    nn::NamedTensors saved = nn::load_safetensors(c.init_from).tensors, denoisers;
    for (auto& [name, t] : m.policy.state_dict()) denoisers.emplace_back("policy." + name, t);
    for (auto& [name, t] : saved)
      if (!name.starts_with("policy.")) denoisers.emplace_back(name, t);
    m.load_state_dict(denoisers, c.init_from);  // the policy keeps its fresh weights
    run.note("denoisers loaded from " + c.init_from + ", then trained for " +
             std::to_string(c.iterations) + " more iterations; the policy trained afresh");
  }
  const double t0 = run.elapsed_seconds();
  train_denoisers(run, c, m, train);
  const double t1 = run.elapsed_seconds();
  train_policy(run, c, m, train);
  const double t2 = run.elapsed_seconds();
  nn::save(m, (run.dir() / "models.safetensors").string());

  nn::Json psnr_durr, psnr_fixed, psnr_dncnn, psnr_noisy, psnr_oracle, steps, oracle_steps, at_k;
  std::vector<nn::Series> curves(5), step_curves(2);
  const char* names[] = {"DURR (policy)", "fixed steps", "DnCNN-style", "noisy", "DURR, best step"};
  for (int i = 0; i < 5; ++i) curves[i].title = names[i], curves[i].style = "linespoints";
  step_curves[0].title = "DURR (policy)", step_curves[1].title = "best step in hindsight";
  for (auto& s : step_curves) s.style = "linespoints";
  std::cout << "\n sigma   noisy    DURR   fixed   DnCNN  oracle   steps (oracle)\n";
  for (double sigma : c.test_sigmas) {
    LevelResult r = evaluate(c, m, test, sigma);
    std::string k = key(sigma);
    psnr_durr[k] = r.durr, psnr_fixed[k] = r.fixed, psnr_dncnn[k] = r.dncnn;
    psnr_noisy[k] = r.noisy, psnr_oracle[k] = r.oracle;
    steps[k] = r.steps, oracle_steps[k] = r.oracle_steps, at_k[k] = r.unit_at_k;
    double ys[] = {r.durr, r.fixed, r.dncnn, r.noisy, r.oracle};
    for (int i = 0; i < 5; ++i) curves[i].x.push_back(sigma), curves[i].y.push_back(ys[i]);
    step_curves[0].x.push_back(sigma), step_curves[0].y.push_back(r.steps);
    step_curves[1].x.push_back(sigma), step_curves[1].y.push_back(r.oracle_steps);
    std::cout << std::fixed << std::setprecision(2) << std::setw(6) << sigma << std::setw(8)
              << r.noisy << std::setw(8) << r.durr << std::setw(8) << r.fixed << std::setw(8)
              << r.dncnn << std::setw(8) << r.oracle << std::setw(8) << r.steps << " ("
              << r.oracle_steps << ")" << std::defaultfloat << std::setprecision(6) << std::endl;
    if (std::lround(sigma) == std::lround(c.picture_sigma))
      nn::data::write_png((run.dir() / "examples.png").string(), upscale(r.picture, 4));
  }
  const double t3 = run.elapsed_seconds();
  run.set_metric("psnr_durr", psnr_durr);
  run.set_metric("psnr_fixed_steps", psnr_fixed);
  run.set_metric("psnr_dncnn", psnr_dncnn);
  run.set_metric("psnr_noisy", psnr_noisy);
  run.set_metric("psnr_durr_best_step", psnr_oracle);
  run.set_metric("steps_durr", steps);
  run.set_metric("steps_best", oracle_steps);
  run.set_metric("psnr_durr_unit_after_k_steps", at_k);
  // The targets: above the training range, DURR beats both baselines and takes more steps
  // for stronger noise.
  bool beats = true, more_steps = true;
  double previous = -1;
  for (double sigma : c.test_sigmas) {
    if (sigma <= c.sigma_max) continue;
    std::string k = key(sigma);
    beats = beats && psnr_durr[k].get<double>() > psnr_fixed[k].get<double>() &&
            psnr_durr[k].get<double>() > psnr_dncnn[k].get<double>();
    more_steps = more_steps && steps[k].get<double>() > previous;
    previous = steps[k].get<double>();
  }
  run.set_metric("target_unseen_beats_both", beats);
  run.set_metric("target_unseen_more_steps", more_steps);
  run.set_metric("time_s", {{"denoisers", t1 - t0}, {"policy", t2 - t1}, {"test", t3 - t2},
                            {"cpu_total", cpu_seconds() - cpu0}});
  run.set_paper("psnr_durr_sigma65", 22.84);
  run.set_paper("psnr_dncnn_sigma65", 21.86);
  run.note("paper (Zhang et al. 2019): at sigma 65, unseen in training, DURR 22.84 dB against "
           "DnCNN 21.86 dB on its test set (natural grayscale images), not CIFAR-10 crops");
  nn::plot_lines((run.dir() / "psnr.png").string(), curves,
                 {.title = "test PSNR (trained on sigma 15-50)", .xlabel = "noise sigma",
                  .ylabel = "PSNR (dB)"});
  nn::plot_lines((run.dir() / "steps.png").string(), step_curves,
                 {.title = "DURR's steps", .xlabel = "noise sigma", .ylabel = "mean steps"});
  std::cout << "targets above sigma " << c.sigma_max << ": DURR beats both baselines: "
            << (beats ? "yes" : "no") << "; more steps for stronger noise: "
            << (more_steps ? "yes" : "no") << "\n";
}

const nn::RegisterExample<DurrConfig> registration{{
    .name = "durr",
    .description = "DURR (Zhang et al. 2019): a recurrent denoiser that learns when to stop, "
                   "on grayscale CIFAR-10, against fixed-step and DnCNN-style baselines",
    .quick = {{"train_images", 3000},
              {"test_images", 200},
              {"iterations", 1000},
              {"policy_iterations", 3000},
              {"policy_images", 512}},
    .run = run_durr,
}};

}  // namespace
}  // namespace ctdl::examples::durr

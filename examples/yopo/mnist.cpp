// yopo-mnist and pgd-mnist: the paper's MNIST experiment, YOPO-5-10 against PGD-40
// adversarial training of SmallCNN, ε = 0.3, evaluated by PGD-40 with step 0.01.
#include "ctdl/examples/yopo/training.h"
#include "ctdl/nn/train/example.h"

namespace ctdl::examples::yopo {
namespace {

// The paper's YOPO-5-10 configuration (40 epochs, lr 0.1/5, decays at epochs 30, 35, 39).
struct YopoConfig : AdversarialConfig {};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(YopoConfig, epochs, batch_size, lr,
                                                momentum, weight_decay, lr_milestones, epsilon,
                                                step, yopo_m, yopo_n, pgd_steps, free_replays, eval_steps,
                                                dropout, curve_every, curve_images, eval_images,
                                                eval_batch, holdout, train_limit, device, seed)

// The paper's PGD-40 configuration (56 epochs, lr 0.1, decays at epochs 50 and 55).
struct PgdConfig : AdversarialConfig {
  PgdConfig() {
    method = "pgd";
    epochs = 56;
    lr_milestones = {50.0 / 56.0, 55.0 / 56.0};
  }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PgdConfig, epochs, batch_size, lr,
                                                momentum, weight_decay, lr_milestones, epsilon,
                                                step, yopo_m, yopo_n, pgd_steps, free_replays, eval_steps,
                                                dropout, curve_every, curve_images, eval_images,
                                                eval_batch, holdout, train_limit, device, seed)

// Free adversarial training (Shafahi et al. 2019) with m = 8 replays of each batch, for 56/8
// = 7 epochs: the same number of full passes per batch as PGD-7, a budget the paper compares
// with PGD-k training run k times longer.
struct FreeConfig : AdversarialConfig {
  FreeConfig() {
    method = "free";
    epochs = 7;
    lr_milestones = {50.0 / 56.0, 55.0 / 56.0};
  }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(FreeConfig, epochs, batch_size, lr,
                                                momentum, weight_decay, lr_milestones, epsilon,
                                                step, free_replays, eval_steps, dropout,
                                                curve_every, curve_images, eval_images,
                                                eval_batch, holdout, train_limit, device, seed)

void run_free(nn::Run& run, const FreeConfig& config) {
  AdversarialConfig c = config;
  c.method = "free";
  train_adversarially(run, c);
}

void run_yopo(nn::Run& run, const YopoConfig& config) {
  AdversarialConfig c = config;
  c.method = "yopo";
  train_adversarially(run, c);
}

void run_pgd(nn::Run& run, const PgdConfig& config) {
  AdversarialConfig c = config;
  c.method = "pgd";
  train_adversarially(run, c);
}

const nn::RegisterExample<YopoConfig> yopo_registration{{
    .name = "yopo-mnist",
    .description = "YOPO-5-10 adversarial training of SmallCNN on MNIST (eps 0.3, PGD-40 "
                   "evaluation); compare with pgd-mnist by yopo-compare",
    .quick = {{"epochs", 3}, {"batch_size", 50}, {"curve_every", 80}},
    .run = run_yopo,
}};

const nn::RegisterExample<PgdConfig> pgd_registration{{
    .name = "pgd-mnist",
    .description = "PGD-40 adversarial training (Madry et al.) of SmallCNN on MNIST, the "
                   "baseline of yopo-mnist",
    .quick = {{"epochs", 1}, {"batch_size", 50}, {"curve_every", 40}},
    .run = run_pgd,
}};

const nn::RegisterExample<FreeConfig> free_registration{{
    .name = "free-mnist",
    .description = "Free adversarial training (Shafahi et al. 2019, m = 8) of SmallCNN on MNIST, "
                   "a second baseline of yopo-mnist",
    .quick = {{"epochs", 2}, {"batch_size", 50}, {"lr", 0.01}, {"curve_every", 80}},
    .run = run_free,
}};

}  // namespace
}  // namespace ctdl::examples::yopo

// yopo-cifar and pgd-cifar: the paper's CIFAR-10 experiment, YOPO-5-3 against PGD-10
// adversarial training of PreAct-ResNet18, ε = 8/255, σ = 2/255, evaluated by PGD-20 with
// step 2/255 on the 10,000 test images. Meant for a GPU (device=auto takes one when there
// is one); --quick is a smoke test of the pipeline that runs on the CPU in minutes.
//
//   ctdl run yopo-cifar                  # 36 epochs of the 50,000 training images
//   ctdl run pgd-cifar                   # 105 epochs
//   ctdl run yopo-compare --set yopo_run=runs/yopo-cifar --set pgd_run=runs/pgd-cifar
//
// Hyper-parameters as in the authors' configurations (experiments/CIFAR10/pre-res18.*):
// batch 256, SGD with momentum 0.9 and weight decay 5·10⁻⁴, no input normalization, random
// crops (4 pixels of padding) and flips. YOPO-5-3: lr 0.1·2/5 = 0.04 (our lr 0.2 divided by
// m), ÷10 at epochs 30 and 34 of 36. PGD-10: lr 0.05, ÷10 at epochs 75, 90 and 100 of 105.
#include "ctdl/examples/yopo/training.h"
#include "ctdl/nn/train/example.h"

namespace ctdl::examples::yopo {
namespace {

struct CifarConfig : AdversarialConfig {
  CifarConfig() {
    dataset = "cifar10";
    epsilon = 8.0 / 255.0;
    step = 2.0 / 255.0;
    eval_steps = 20;
    curve_images = 1000;
    device = "auto";
  }
};

// YOPO-5-3 (36 epochs, lr 0.2/5, decays at epochs 30 and 34).
struct YopoCifarConfig : CifarConfig {
  YopoCifarConfig() {
    epochs = 36;
    lr = 0.2;
    lr_milestones = {30.0 / 36.0, 34.0 / 36.0};
    yopo_m = 5;
    yopo_n = 3;
  }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(YopoCifarConfig, epochs, batch_size, lr, momentum,
                                                weight_decay, lr_milestones, epsilon, step, yopo_m,
                                                yopo_n, eval_steps, curve_every, curve_images,
                                                eval_images, eval_batch, train_limit, width,
                                                augment, device, seed)

// PGD-10 (105 epochs, lr 0.05, decays at epochs 75, 90 and 100).
struct PgdCifarConfig : CifarConfig {
  PgdCifarConfig() {
    method = "pgd";
    epochs = 105;
    lr = 0.05;
    lr_milestones = {75.0 / 105.0, 90.0 / 105.0, 100.0 / 105.0};
    pgd_steps = 10;
  }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PgdCifarConfig, epochs, batch_size, lr, momentum,
                                                weight_decay, lr_milestones, epsilon, step,
                                                pgd_steps, eval_steps, curve_every, curve_images,
                                                eval_images, eval_batch, train_limit, width,
                                                augment, device, seed)

void run_yopo_cifar(nn::Run& run, const YopoCifarConfig& config) {
  AdversarialConfig c = config;
  c.method = "yopo";
  c.dataset = "cifar10";
  train_adversarially(run, c);
}

void run_pgd_cifar(nn::Run& run, const PgdCifarConfig& config) {
  AdversarialConfig c = config;
  c.method = "pgd";
  c.dataset = "cifar10";
  train_adversarially(run, c);
}

// A smoke test of the pipeline on the CPU (not a result): 1,000 training images, a quarter
// of the network's width, one epoch, 500 test images.
const nn::Json kQuick = {{"epochs", 1},      {"batch_size", 100},  {"train_limit", 1000},
                         {"width", 16},      {"eval_images", 500}, {"curve_images", 200},
                         {"eval_batch", 250}};

const nn::RegisterExample<YopoCifarConfig> yopo_registration{{
    .name = "yopo-cifar",
    .description = "YOPO-5-3 adversarial training of PreAct-ResNet18 on CIFAR-10 (eps 8/255, "
                   "sigma 2/255, PGD-20 evaluation; meant for a GPU); baseline pgd-cifar",
    .quick = kQuick,
    .run = run_yopo_cifar,
}};

const nn::RegisterExample<PgdCifarConfig> pgd_registration{{
    .name = "pgd-cifar",
    .description = "PGD-10 adversarial training of PreAct-ResNet18 on CIFAR-10, the baseline "
                   "of yopo-cifar (meant for a GPU)",
    .quick = kQuick,
    .run = run_pgd_cifar,
}};

}  // namespace
}  // namespace ctdl::examples::yopo

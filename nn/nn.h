// The model DSL in one include: modules (ODEBlock too), losses, initialization, optimizers,
// schedules and adversarial attacks (FGSM, PGD).
// (Data loading, checkpoints and the training tools have their own headers: nn/data/,
// nn/io/, nn/train/.)
//
//   #include <ctdl/nn/nn.h>
//   using namespace ctdl;
//   nn::Sequential net(nn::Linear(2, 32), nn::Tanh(), nn::Linear(32, 1));
//   nn::Adam opt(net.parameters(), {.lr = 1e-2});
//   Tensor x = randn({64, 2}), y = (x * x).sum({1}, true);
//   for (int step = 0; step < 100; ++step) {
//     Tensor loss = nn::mse_loss(net(x), y);
//     opt.zero_grad();
//     loss.backward();
//     opt.step();
//   }
#pragma once

#include "ctdl/nn/adversarial/attacks.h"
#include "ctdl/nn/functional.h"
#include "ctdl/nn/init.h"
#include "ctdl/nn/losses.h"
#include "ctdl/nn/module.h"
#include "ctdl/nn/modules/activation.h"
#include "ctdl/nn/modules/container.h"
#include "ctdl/nn/modules/conv.h"
#include "ctdl/nn/modules/dropout.h"
#include "ctdl/nn/modules/linear.h"
#include "ctdl/nn/modules/mlp.h"
#include "ctdl/nn/modules/moment_conv.h"
#include "ctdl/nn/modules/normalization.h"
#include "ctdl/nn/modules/ode_block.h"
#include "ctdl/nn/modules/pooling.h"
#include "ctdl/nn/optim/lbfgs.h"
#include "ctdl/nn/optim/optimizer.h"
#include "ctdl/nn/optim/scheduler.h"
#include "ctdl/nn/state.h"

// Everything a ctdl user needs, in one include: tensors, autograd, ODE solvers, and the
// model DSL with its data loading and checkpoints. (The training tools that speak JSON —
// metrics files, configs, `ctdl run` examples — are in nn/train/, included on their own.)
//
//   #include <ctdl/ctdl.h>
//   using namespace ctdl;
//   Tensor x = randn({4, 3}, {.requires_grad = true});
//   Tensor loss = (x * x).sum();
//   loss.backward();
//   nn::Linear fc(3, 2);
//   Tensor y = fc(x);
#pragma once

#include "ctdl/autograd/engine.h"
#include "ctdl/autograd/function.h"
#include "ctdl/autograd/functional.h"
#include "ctdl/autograd/grad_mode.h"
#include "ctdl/autograd/gradcheck.h"
#include "ctdl/backends/cuda/cuda.h"
#include "ctdl/distributed/ddp.h"
#include "ctdl/distributed/launch.h"
#include "ctdl/distributed/nccl_communicator.h"
#include "ctdl/distributed/layer_parallel.h"
#include "ctdl/nn/data/dataloader.h"
#include "ctdl/nn/data/image_folder.h"
#include "ctdl/nn/data/mnist.h"
#include "ctdl/nn/io/checkpoint.h"
#include "ctdl/nn/nn.h"
#include "ctdl/ode/ode.h"
#include "ctdl/tensor/ops.h"
#include "ctdl/tensor/random.h"
#include "ctdl/tensor/tensor.h"

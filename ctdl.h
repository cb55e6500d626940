// Everything a ctdl user needs, in one include.
//
//   #include <ctdl/ctdl.h>
//   using namespace ctdl;
//   Tensor x = randn({4, 3}, {.requires_grad = true});
//   Tensor loss = (x * x).sum();
//   loss.backward();
#pragma once

#include "ctdl/autograd/engine.h"
#include "ctdl/autograd/function.h"
#include "ctdl/autograd/functional.h"
#include "ctdl/autograd/grad_mode.h"
#include "ctdl/autograd/gradcheck.h"
#include "ctdl/ode/ode.h"
#include "ctdl/tensor/ops.h"
#include "ctdl/tensor/random.h"
#include "ctdl/tensor/tensor.h"

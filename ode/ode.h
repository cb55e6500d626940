// ode/: ODE solvers and a family of gradient schemes behind one interface.
//
//   #include <ctdl/ode/ode.h>
//   using namespace ctdl;
//   Tensor A = tensor({{0.0, 1.0}, {-1.0, -0.1}}, {.dtype = DType::Float64});
//   A.requires_grad_();
//   auto f = [A](double, const Tensor& z) { return matmul(z, A.t()); };
//   Tensor z0 = tensor({{1.0, 0.0}}, {.dtype = DType::Float64});
//   Tensor zs = ode::odeint(f, z0, {0.0, 1.0, 2.0},
//                           {.solver = ode::Tsit5{.rtol = 1e-8},
//                            .grad = ode::CheckpointAdjoint{}, .params = {A}});
//   square(zs).sum().backward();                               // A.grad()
//
// Where things live: odeint.h (the entry point), solver.h (the step interface),
// solvers/ (explicit RK and Butcher tableaus, implicit, symplectic, reversible),
// scheme.h (the gradient-scheme interface), schemes/ (backprop, backsolve, checkpoint,
// symplectic, reversible and implicit adjoints, and the discrete-adjoint toolkit),
// krylov.h and implicit_layers.h (GMRES, Newton, implicit layers), registry.h (solvers and
// schemes by name, for the lab), lab/ (`ctdl lab`), sde/ (SDEs: sdeint, solvers, Brownian
// motion, the stochastic adjoint).
#pragma once

#include "ctdl/ode/implicit_layers.h"
#include "ctdl/ode/integrate.h"
#include "ctdl/ode/krylov.h"
#include "ctdl/ode/odeint.h"
#include "ctdl/ode/scheme.h"
#include "ctdl/ode/schemes/backprop.h"
#include "ctdl/ode/schemes/backsolve.h"
#include "ctdl/ode/schemes/checkpoint.h"
#include "ctdl/ode/schemes/discrete.h"
#include "ctdl/ode/schemes/implicit_adjoint.h"
#include "ctdl/ode/schemes/reversible_adjoint.h"
#include "ctdl/ode/schemes/symplectic_adjoint.h"
#include "ctdl/ode/sde/brownian/interval.h"
#include "ctdl/ode/sde/brownian/path.h"
#include "ctdl/ode/sde/brownian/virtual_tree.h"
#include "ctdl/ode/sde/sdeint.h"
#include "ctdl/ode/solver.h"
#include "ctdl/ode/solvers/butcher.h"
#include "ctdl/ode/solvers/explicit_rk.h"
#include "ctdl/ode/solvers/implicit.h"
#include "ctdl/ode/solvers/reversible.h"
#include "ctdl/ode/solvers/symplectic.h"
#include "ctdl/ode/state.h"

// Implicit layers: a layer defined by an equation, differentiated by the implicit function
// theorem (implicit_adjoint), never through the iterations that solved it.
//
//   // Implicit-Euler residual block (Li, He & Lin 2020): x⁺ = x + h·f(x⁺)
//   auto f = [w](const Tensor& x) { return tanh(matmul(x, w)); };
//   Tensor y = ode::implicit_euler_layer(f, x, 0.5);
//   // Deep equilibrium (Bai, Kolter & Koltun 2019): z* = f(z*)
//   auto g = [w, u](const Tensor& z) { return tanh(matmul(z, w) + u); };
//   Tensor z = ode::fixed_point(g, zeros_like(u));
//   square(z).sum().backward();   // w.grad(), u.grad(), by (I - ∂g/∂z)ᵀ v = dL/dz*
//
// f may use any tensors that require grad; they all get gradients. f is kept for the
// backward pass, so it must capture what it uses by value (tensors are cheap handles), not
// by reference to locals that are gone by then. The forward solve is
// Newton–GMRES (or fixed-point iteration, options.method); the backward pass solves one
// transposed linear system with GMRES using vector-Jacobian products.
#pragma once

#include "ctdl/ode/krylov.h"

namespace ctdl::ode {

using LayerFunction = std::function<Tensor(const Tensor&)>;

// x⁺ solving x⁺ = x + h·f(x⁺).
Tensor implicit_euler_layer(const LayerFunction& f, const Tensor& x, double h,
                            const NonlinearSolve& options = {});
// z* solving z* = f(z*), iterated from `initial`.
Tensor fixed_point(const LayerFunction& f, const Tensor& initial,
                   const NonlinearSolve& options = {});

}  // namespace ctdl::ode

#include "model.h"

#include "ctdl/ode/implicit_layers.h"
#include "ctdl/tensor/error.h"

namespace ctdl::examples::ie_resnet {

// The usual normalization of MNIST pixels.
constexpr double kMean = 0.1307, kStd = 0.3081;

Skip parse_skip(const std::string& name) {
  if (name == "explicit") return Skip::Explicit;
  if (name == "implicit") return Skip::Implicit;
  fail("ie-resnet: skip must be \"explicit\" or \"implicit\", got \"", name, "\"");
}

std::string skip_name(Skip skip) { return skip == Skip::Explicit ? "explicit" : "implicit"; }

Residual parse_residual(const std::string& name) {
  if (name == "mlp") return Residual::Mlp;
  if (name == "monotone") return Residual::Monotone;
  fail("ie-resnet: residual must be \"mlp\" or \"monotone\", got \"", name, "\"");
}

ResidualFunction::ResidualFunction(int64_t width, int64_t hidden, Residual kind)
    : nn::Module("ResidualFunction"),
      kind(kind),
      fc1(register_module("fc1", nn::Linear(width, hidden, {.activation = Activation::Tanh}))) {
  if (kind == Residual::Mlp)
    fc2 = register_module("fc2", nn::Linear(hidden, width));
  else
    shift = register_parameter("shift", zeros({width}));
}

Tensor ResidualFunction::operator()(const Tensor& x) const {
  if (kind == Residual::Mlp) return (*fc2)(fc1(x));
  return shift - matmul(fc1(x), fc1.weight);  // fc1.weight is W₁ [hidden, width]
}

ode::NonlinearSolve solver_settings(const std::string& method, DType dtype, int max_iters) {
  ode::NonlinearSolve s;
  if (method == "newton")
    s.method = ode::NonlinearMethod::Newton;
  else if (method == "fixed_point")
    s.method = ode::NonlinearMethod::FixedPoint;
  else
    fail("ie-resnet: solver must be \"newton\" or \"fixed_point\", got \"", method, "\"");
  const bool single = dtype == DType::Float32;
  s.tol = single ? 1e-5 : 1e-12;  // on the update's RMS, relative to 1 + RMS of x⁺
  s.max_iters = max_iters;
  // GMRES, for Newton's steps and for the adjoint system of the backward pass. Float32
  // cannot reach GMRES's default 1e-12; 1e-4 is far below what a training step notices.
  s.krylov.rtol = single ? 1e-4 : 1e-12;
  s.krylov.restart = 30;
  s.krylov.max_iters = 200;
  return s;
}

IeResNet::IeResNet(IeResNetOptions options)
    : nn::Module("IeResNet"),
      stem(register_module("stem",
                           nn::Linear(28 * 28, options.width, {.activation = Activation::Relu}))),
      f(register_module("f", nn::ModuleList<ResidualFunction>())),
      head(register_module("head", nn::Linear(options.width, 10))),
      options_(std::make_shared<IeResNetOptions>(options)),
      evaluations_(std::make_shared<std::atomic<int64_t>>(0)) {
  CTDL_CHECK(options.blocks >= 1 && options.width >= 1 && options.hidden >= 1,
             "IeResNet: blocks, width and hidden must be positive, got ", options.blocks, ", ",
             options.width, ", ", options.hidden);
  for (int64_t k = 0; k < options.blocks; ++k)
    f.push_back(ResidualFunction(options.width, options.hidden, options.residual));
}

Tensor IeResNet::stem_features(const Tensor& images) const {
  return stem((images.reshape({images.size(0), 28 * 28}) - kMean) / kStd);
}

Tensor IeResNet::block(size_t k, const Tensor& x) const {
  // f_k is captured by value (a module is a handle): the implicit layer keeps it for the
  // backward pass, after this function has returned.
  auto fk = [fk = f[k], evaluations = evaluations_](const Tensor& z) {
    ++*evaluations;
    return fk(z);
  };
  const double h = options_->step;
  if (options_->skip == Skip::Explicit) return x + fk(x) * h;
  // x⁺ = x + h·f_k(x⁺), started from x⁺ = x; differentiated by the implicit function theorem.
  return ode::implicit_euler_layer(fk, x, h, options_->solve);
}

Tensor IeResNet::stage(const Tensor& x) const {
  Tensor y = x;
  for (size_t k = 0; k < f.size(); ++k) y = block(k, y);
  return y;
}

Tensor IeResNet::operator()(const Tensor& images) const {
  return head(stage(stem_features(images)));
}

}  // namespace ctdl::examples::ie_resnet

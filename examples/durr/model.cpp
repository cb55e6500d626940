#include "model.h"

#include <algorithm>
#include <cmath>

#include "ctdl/autograd/grad_mode.h"

namespace ctdl::examples::durr {

ConvStack::ConvStack(ConvStackOptions o) : nn::Module("ConvStack") {
  CTDL_CHECK(o.layers >= 2, "ConvStack: needs at least 2 layers, got ", o.layers);
  for (int64_t i = 0; i < o.layers; ++i) {
    int64_t in = i == 0 ? o.in_channels : o.width, out = i + 1 == o.layers ? 1 : o.width;
    convs.push_back(nn::Conv2d(in, out, 3, {.padding = 1}));
  }
  autograd::NoGradGuard no_grad;
  convs[convs.size() - 1].weight.mul_(o.last_scale);
  convs[convs.size() - 1].bias.mul_(o.last_scale);
}

Tensor ConvStack::operator()(const Tensor& x) const {
  Tensor h = x;
  for (size_t i = 0; i < convs.size(); ++i) {
    h = convs[i](h);
    if (i + 1 < convs.size()) h = relu(h);
  }
  return h;
}

RestorationUnit::RestorationUnit(UnitOptions o)
    : nn::Module("RestorationUnit"),
      f(register_module("f", ConvStack({.in_channels = o.sees_input ? 2 : 1,
                                         .width = o.width,
                                         .layers = o.layers,
                                         .last_scale = 0.1}))),
      sees_input(o.sees_input) {}

Tensor RestorationUnit::step(const Tensor& x, const Tensor& y) const {
  return x + f(sees_input ? cat({x, y}, 1) : x);
}

Tensor RestorationUnit::unroll(const Tensor& y, int64_t steps) const {
  Tensor x = y;
  for (int64_t k = 0; k < steps; ++k) x = step(x, y);
  return x;
}

TensorList RestorationUnit::trajectory(const Tensor& y, int64_t steps) const {
  TensorList xs{y};
  for (int64_t k = 0; k < steps; ++k) xs.push_back(step(xs.back(), y));
  return xs;
}

DnCNN::DnCNN(int64_t width, int64_t layers)
    : nn::Module("DnCNN"),
      residual(register_module("residual", ConvStack({.width = width, .layers = layers}))) {}

Tensor DnCNN::operator()(const Tensor& y) const { return y - residual(y); }

StopPolicy::StopPolicy(PolicyOptions o)
    : nn::Module("StopPolicy"),
      conv1(register_module("conv1", nn::Conv2d(1, o.width, 3, {.stride = 2, .padding = 1}))),
      conv2(register_module("conv2",
                            nn::Conv2d(o.width, 2 * o.width, 3, {.stride = 2, .padding = 1}))),
      conv3(register_module("conv3",
                            nn::Conv2d(2 * o.width, 2 * o.width, 3, {.stride = 2, .padding = 1}))),
      head(register_module("head", nn::Linear(2 * o.width, 1))) {}

Tensor StopPolicy::q_continue(const Tensor& x) const {
  // Centred: what tells the remaining noise apart is local variation, not brightness.
  Tensor h = relu(conv1(x - 0.5));
  h = relu(conv2(h));
  h = relu(conv3(h));
  return head(h.mean({2, 3})).reshape({-1});
}

Tensor psnr(const Tensor& x, const Tensor& clean) {
  Tensor mse = square(clamp(x, 0.0, 1.0) - clean).mean({1, 2, 3});
  return log(mse) * (-10.0 / std::log(10.0));
}

std::vector<int64_t> stopping_steps(const StopPolicy& policy, const TensorList& trajectory) {
  autograd::NoGradGuard no_grad;
  const int64_t last = static_cast<int64_t>(trajectory.size()) - 1;
  std::vector<int64_t> steps(static_cast<size_t>(trajectory.front().size(0)), last);
  std::vector<bool> stopped(steps.size(), false);
  for (int64_t k = 0; k < last; ++k) {
    std::vector<float> q = policy.q_continue(trajectory[static_cast<size_t>(k)]).to_vector<float>();
    for (size_t i = 0; i < steps.size(); ++i)
      if (!stopped[i] && q[i] <= 0) stopped[i] = true, steps[i] = k;
  }
  return steps;
}

Restoration restore(const RestorationUnit& unit, const StopPolicy& policy, const Tensor& y,
                    int64_t max_steps) {
  autograd::NoGradGuard no_grad;
  const int64_t n = y.size(0);
  Tensor x = y;
  Tensor active = policy.q_continue(x) > 0.0;  // [N] bool
  std::vector<int64_t> steps(static_cast<size_t>(n), 0);
  for (int64_t k = 0; k < max_steps; ++k) {
    std::vector<bool> on = active.to_vector<bool>();
    if (std::none_of(on.begin(), on.end(), [](bool b) { return b; })) break;
    for (int64_t i = 0; i < n; ++i) steps[static_cast<size_t>(i)] += on[static_cast<size_t>(i)];
    x = where(active.reshape({n, 1, 1, 1}), unit.step(x, y), x);
    active = logical_and(active, policy.q_continue(x) > 0.0);
  }
  return {x, steps};
}

int64_t terminal_steps(double sigma, double sigma_per_step) {
  return std::max<int64_t>(1, std::llround(sigma / sigma_per_step));
}

double train_unit_step(const RestorationUnit& unit, nn::Optimizer& opt, const Tensor& clean,
                       const Tensor& noisy, int64_t steps, double intermediate_weight,
                       double clip) {
  Tensor x = noisy, loss;
  for (int64_t k = 1; k <= steps; ++k) {
    x = unit.step(x, noisy);
    if (k < steps && intermediate_weight > 0) {
      double left = 1.0 - static_cast<double>(k) / static_cast<double>(steps);
      Tensor partial = nn::mse_loss(x, clean + (noisy - clean) * left) * intermediate_weight;
      loss = loss.defined() ? loss + partial : partial;
    }
  }
  Tensor terminal = nn::mse_loss(x, clean);
  loss = loss.defined() ? loss + terminal : terminal;
  opt.zero_grad();
  loss.backward();
  if (clip > 0) nn::clip_grad_norm_(unit.parameters(), clip);
  opt.step();
  return terminal.item();
}

double train_dncnn_step(const DnCNN& net, nn::Optimizer& opt, const Tensor& clean,
                        const Tensor& noisy, double clip) {
  Tensor loss = nn::mse_loss(net(noisy), clean);
  opt.zero_grad();
  loss.backward();
  if (clip > 0) nn::clip_grad_norm_(net.parameters(), clip);
  opt.step();
  return loss.item();
}

Transitions collect_transitions(const RestorationUnit& unit, const Tensor& clean,
                                const Tensor& noisy, int64_t max_steps) {
  autograd::NoGradGuard no_grad;
  TensorList xs = unit.trajectory(noisy, max_steps), db;
  for (const Tensor& x : xs) db.push_back(psnr(x, clean));
  Tensor gains = stack(db, 1);  // [M, T+1]
  return {stack(xs, 1),
          gains.narrow(1, 1, max_steps) - gains.narrow(1, 0, max_steps)};
}

double q_learning_step(const StopPolicy& policy, const StopPolicy& target, nn::Optimizer& opt,
                       const Transitions& memory, int64_t batch) {
  const int64_t m = memory.rewards.size(0), t = memory.rewards.size(1);
  std::vector<int64_t> image = randint(0, m, {batch}).to_vector<int64_t>();
  std::vector<int64_t> step = randint(0, t, {batch}).to_vector<int64_t>();
  TensorList now, next, reward;
  for (int64_t b = 0; b < batch; ++b) {
    size_t i = static_cast<size_t>(b);
    Tensor states = memory.states.select(0, image[i]);
    now.push_back(states.select(0, step[i]));
    next.push_back(states.select(0, step[i] + 1));
    reward.push_back(memory.rewards.select(0, image[i]).select(0, step[i]));
  }
  Tensor target_q;
  {
    autograd::NoGradGuard no_grad;
    std::vector<double> last(static_cast<size_t>(batch));
    for (int64_t b = 0; b < batch; ++b) last[static_cast<size_t>(b)] = step[b] + 1 == t ? 0.0 : 1.0;
    Tensor bootstrap = clamp(target.q_continue(stack(next)), 0.0, std::nullopt);
    target_q = stack(reward) + bootstrap * tensor(last, {batch}, {.dtype = DType::Float32});
  }
  Tensor loss = nn::mse_loss(policy.q_continue(stack(now)), target_q);
  opt.zero_grad();
  loss.backward();
  nn::clip_grad_norm_(policy.parameters(), 10.0);
  opt.step();
  return loss.item();
}

}  // namespace ctdl::examples::durr

// A complete, resumable training loop for classifiers: what the MNIST examples use, and a
// starting point for your own loop (fit.cpp is short).
//
//   nn::Sequential net(nn::Flatten(), nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 10));
//   nn::Adam opt(net.parameters(), {.lr = 2e-3});
//   nn::CosineAnnealingLR schedule(opt, epochs);
//   nn::ClassifierResult r = nn::fit_classifier(run, net, net, opt, train_loader, test_loader,
//                                               {.epochs = epochs, .schedule = &schedule});
//
// Per epoch: train (the loader's order set from the epoch, cross-entropy, optional label
// smoothing and gradient clipping), step the schedule, evaluate, log a metrics record
// {epoch, train_loss, train_accuracy, test_loss, test_accuracy, lr} (plus a train_loss
// record every few batches, at fractional epochs, for the loss curve), save the checkpoint.
// It starts from run.resume(), so `ctdl run ... --resume` continues where a run stopped.
#pragma once

#include <functional>

#include "ctdl/nn/data/dataloader.h"
#include "ctdl/nn/module.h"
#include "ctdl/nn/optim/optimizer.h"
#include "ctdl/nn/optim/scheduler.h"
#include "ctdl/nn/train/run.h"

namespace ctdl::nn {

struct ClassifierOptions {
  int64_t epochs = 10;
  EpochScheduler* schedule = nullptr;  // stepped once per epoch
  double label_smoothing = 0.0;
  double clip_grad_norm = 0.0;  // 0: no clipping
  int64_t log_every = 0;        // batches between train_loss records; 0: about 10 an epoch
  // Called before each training batch (epoch and batch from 0), e.g. to stop a test run.
  std::function<void(int64_t epoch, int64_t batch)> on_batch;
};

struct ClassifierResult {
  double train_loss = 0, train_accuracy = 0, test_loss = 0, test_accuracy = 0;
  int64_t epochs = 0;
};

// Mean cross-entropy and accuracy of `forward` over a loader, without gradients.
std::pair<double, double> evaluate_classifier(const std::function<Tensor(const Tensor&)>& forward,
                                              data::DataLoader& loader);

ClassifierResult fit_classifier(Run& run, Module& model,
                                const std::function<Tensor(const Tensor&)>& forward,
                                Optimizer& optimizer, data::DataLoader& train,
                                data::DataLoader& test, const ClassifierOptions& options);

}  // namespace ctdl::nn

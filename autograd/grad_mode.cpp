#include "ctdl/autograd/grad_mode.h"

namespace ctdl::autograd {
namespace {
thread_local bool enabled = true;
thread_local bool keeping = false;
}

bool grad_enabled() { return enabled; }
void set_grad_enabled(bool value) { enabled = value; }

bool keep_intermediates() { return keeping; }
KeepIntermediatesGuard::KeepIntermediatesGuard() : previous_(keeping) { keeping = true; }
KeepIntermediatesGuard::~KeepIntermediatesGuard() { keeping = previous_; }

}  // namespace ctdl::autograd

#include "ctdl/autograd/grad_mode.h"

namespace ctdl::autograd {
namespace {
thread_local bool enabled = true;
}

bool grad_enabled() { return enabled; }
void set_grad_enabled(bool value) { enabled = value; }

}  // namespace ctdl::autograd

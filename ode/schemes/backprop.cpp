#include "ctdl/ode/schemes/backprop.h"

namespace ctdl::ode {

TensorList Backprop::solve(const Problem& p) const { return stack_states(p.integrate().outputs); }

}  // namespace ctdl::ode

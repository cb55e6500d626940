// How many threads the CPU kernels may use.
//
//   ctdl::set_num_threads(1);      // e.g. to time a single core
//   int n = ctdl::num_threads();   // the machine's cores unless CTDL_NUM_THREADS or a call says
//
// Results of deterministic ops do not depend on this number: parallel reductions split
// their work into chunks whose boundaries depend only on the sizes, and combine the
// chunks' results in a fixed order.
#pragma once

namespace ctdl {

int num_threads();
// Limits the CPU kernels (and ctdl's other oneTBB work) to `n` threads; n >= 1.
void set_num_threads(int n);

}  // namespace ctdl

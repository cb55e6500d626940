// Splitting CPU kernels over oneTBB threads.
//
//   // out[i] = f(in[i]) over n elements, in chunks of 32768 elements:
//   parallel_chunks(n, 32768, [&](int64_t begin, int64_t end) { ... });
//
// Chunk boundaries are multiples of `grain` and depend only on n: a kernel that reduces
// each chunk and then combines the chunks in order gets the same bits on any number of
// threads. Work of one chunk or less never leaves the calling thread, so small tensors pay
// nothing for threading.
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>

#include <cstdint>

#include "ctdl/tensor/threads.h"

namespace ctdl::cpu {

// Applies CTDL_NUM_THREADS before the first parallel kernel (backends/cpu/parallel.cpp).
void ensure_thread_limit();

// Element counts below which elementwise and reduction kernels stay on one thread.
inline constexpr int64_t kElementwiseGrain = 32768;
inline constexpr int64_t kReductionGrain = 16384;

inline int64_t chunk_count(int64_t n, int64_t grain) {
  return n <= 0 ? 0 : (n + grain - 1) / grain;
}

// Calls fn(begin, end) once per chunk [k * grain, min(n, (k + 1) * grain)).
template <class F>
void parallel_chunks(int64_t n, int64_t grain, F&& fn) {
  int64_t chunks = chunk_count(n, grain);
  if (chunks <= 1) {
    if (n > 0) fn(int64_t{0}, n);
    return;
  }
  // On one thread the same chunks run in order, without a trip through oneTBB's scheduler.
  if (num_threads() == 1) {
    for (int64_t k = 0; k < chunks; ++k) fn(k * grain, std::min(n, (k + 1) * grain));
    return;
  }
  tbb::parallel_for(
      tbb::blocked_range<int64_t>(0, chunks, 1),
      [&](const tbb::blocked_range<int64_t>& r) {
        for (int64_t k = r.begin(); k < r.end(); ++k) fn(k * grain, std::min(n, (k + 1) * grain));
      },
      tbb::simple_partitioner());
}

// Calls fn(i) for i in [0, count) where each call is about `cost` elements of work; runs on
// one thread unless the total is worth splitting.
template <class F>
void parallel_items(int64_t count, int64_t cost, F&& fn) {
  int64_t per_chunk = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(cost, 1));
  parallel_chunks(count, per_chunk, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) fn(i);
  });
}

}  // namespace ctdl::cpu

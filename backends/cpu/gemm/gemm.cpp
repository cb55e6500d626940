// The GEMM driver: picks a path per product shape, cuts the packed path into cache-sized
// blocks and spreads its tiles over oneTBB threads, and batches products. Compiled for
// baseline x86-64; the vector work happens in the kernels (kernels.h) of the active level.
#include "ctdl/backends/cpu/gemm/gemm.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "ctdl/backends/cpu/cpu_backend.h"
#include "ctdl/backends/cpu/gemm/kernels.h"
#include "ctdl/backends/cpu/parallel.h"

namespace ctdl::cpu::gemm {
namespace {

// Products below this many multiply-adds stay on the calling thread: waking oneTBB's
// workers costs more than they would save.
constexpr int64_t kParallelWork = int64_t{1} << 20;

template <class T>
struct Problem {
  int64_t m, n, k;
  MatrixRef<const T> a, b;
  MatrixRef<T> c;

  // C^T = B^T · A^T: the same product with the roles of rows and columns exchanged.
  Problem transposed() const {
    return {n, m, k, {b.data, b.cs, b.rs}, {a.data, a.cs, a.rs}, {c.data, c.cs, c.rs}};
  }
  Problem at(const int64_t* offsets) const {
    return {m,
            n,
            k,
            {a.data + offsets[0], a.rs, a.cs},
            {b.data + offsets[1], b.rs, b.cs},
            {c.data + offsets[2], c.rs, c.cs}};
  }
  double work() const { return double(m) * double(n) * double(k); }
};

// Scratch for packed operands and copies: 64-byte aligned (the micro-kernel's aligned
// loads), owned by one call while it runs, so no thread can find another call's data in it.
// It comes from the CPU backend's cache of freed blocks: a fresh block of megabytes (a
// weight gradient copies its [12544, 64] operand) would come from the system as untouched
// pages, which the kernel zeroes on first write at a cost close to that of the product.
struct ScratchDeleter {
  size_t bytes = 0;
  void operator()(void* p) const { host_deallocate(p, bytes); }
};
template <class T>
using Buffer = std::unique_ptr<T[], ScratchDeleter>;

template <class T>
Buffer<T> allocate(int64_t count) {
  const size_t bytes =
      std::max<size_t>(64, (static_cast<size_t>(count) * sizeof(T) + 63) / 64 * 64);
  return Buffer<T>(static_cast<T*>(host_allocate(bytes)), ScratchDeleter{bytes});
}

int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }
int64_t ceil_div(int64_t x, int64_t to) { return (x + to - 1) / to; }

// Runs fn(i) for i in [0, count), on the threads when `threads` is set.
template <class F>
void run_tasks(int64_t count, bool threads, F&& fn) {
  if (!threads || count <= 1) {
    for (int64_t i = 0; i < count; ++i) fn(i);
    return;
  }
  ensure_thread_limit();
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, count, 1),
                    [&](const tbb::blocked_range<int64_t>& r) {
                      for (int64_t i = r.begin(); i < r.end(); ++i) fn(i);
                    });
}

// Rows [0, m) in chunks worth about kParallelWork each, of whole 16-row blocks (the small
// kernels' row blocks are 4 to 16 rows). The chunks depend on the sizes only.
template <class F>
void split_rows(int64_t m, double work_per_row, bool threads, F&& fn) {
  if (!threads || work_per_row * double(m) < double(kParallelWork)) return fn(int64_t{0}, m);
  int64_t grain =
      round_up(std::max<int64_t>(16, int64_t(double(kParallelWork) / work_per_row)), 16);
  parallel_chunks(m, grain, fn);
}

// Picks the path with the fewest estimated cycles, counted as vector multiply-adds (one per
// cycle when the data is in cache) plus copies. The packed path wastes the padding of its
// edge tiles and pays for packing; Rows and Cols waste lanes when n (or m) is short and copy
// what they cannot read in place; Dots pays a reduction per element and loads two vectors
// per multiply-add. Constants from timings on Zen 4 (AVX-512).
template <class Arch, class T>
Path choose_path(const Problem<T>& p) {
  using B = Blocking<Arch, T>;
  constexpr double copy = 1.5, packed_setup = 2000;
  const double m = p.m, n = p.n, k = p.k, w = B::width;
  auto vectors = [&](double x) { return std::ceil(x / w); };
  // Packed: whole tiles of k multiply-adds, their stores, packing A and B.
  const double padded_vectors = std::ceil(m / B::mr) * B::mr * std::ceil(n / B::nr) * B::nr / w;
  // It also runs two parallel regions (packing, then tiles) per KC slice of each outer
  // block, about 30,000 cycles each to fork and join: a deep, narrow product (a weight
  // gradient [64, 12544] x [12544, 288]) is mostly synchronization on this path.
  constexpr double region = 30000;
  const double outer_rows = 16.0 * B::mc;
  const double slices =
      std::ceil(k / double(B::kc)) * std::ceil(m / outer_rows) * std::ceil(n / double(B::nc));
  const double packed = padded_vectors * (k + 1) +
                        copy * (m * k * std::ceil(n / B::nc) + k * n) + packed_setup +
                        2 * region * slices;
  // Rows: m x n/w vectors of k multiply-adds each, stores through a buffer unless C's rows
  // are contiguous, and B copied (all of it, or its last partial vector of columns).
  auto rows_cost = [&](double m, double n, bool b_rows_contiguous, bool c_rows_contiguous) {
    const double tail = std::fmod(n, w) > 0 ? w : 0;
    return m * k * vectors(n) + m * vectors(n) * (c_rows_contiguous ? 1 : w) +
           copy * k * (b_rows_contiguous ? tail : n);
  };
  // The small kernels re-read a strip of B (k x a few vectors, rows ldb apart) for every
  // few rows of A: fine while B sits in L2, slow once the strips spill from it. They also
  // hold fewer accumulators where there are only 16 registers.
  constexpr double l2_share = 256 << 10;
  constexpr double kernel = kVectorBytes<Arch> == 64 ? 1.0 : kVectorBytes<Arch> == 32 ? 1.1 : 1.3;
  const double rows = kernel * (k * n * sizeof(T) > l2_share ? 1.5 : 1.0) *
                      rows_cost(m, n, p.b.cs == 1, p.c.cs == 1);
  const double cols = kernel * (k * m * sizeof(T) > l2_share ? 1.5 : 1.0) *
                      rows_cost(n, m, p.a.rs == 1, p.c.rs == 1);
  // Dots does not block k: once B's columns (k x n) spill from L2 they stream from memory
  // again for every pair of A's rows (a [64, 12544] x [12544, 288] weight gradient ran 1.9x
  // slower on Dots than on Cols).
  const double dots = (k * n * sizeof(T) > l2_share ? 2.0 : 1.0) *
                          m * n * (1.5 * std::floor(k / w) + std::fmod(k, w) + 3) +
                      copy * ((p.a.cs != 1 ? m * k : 0) + (p.b.rs != 1 ? k * n : 0));
  const double best = std::min({packed, rows, cols, dots});
  if (best == packed) return Path::Packed;
  if (best == rows) return Path::Rows;
  if (best == cols) return Path::Cols;
  return Path::Dots;
}

// Vectorized along n, reading B's rows in place when they are contiguous. The kernel loads
// whole vectors, so the columns past the last whole vector (all of B when its rows are
// strided) are first copied into zero-padded rows of their own.
template <class Arch, class T>
void run_rows(const Problem<T>& p, bool threads) {
  constexpr int w = Blocking<Arch, T>::width;
  const int64_t direct = p.b.cs == 1 ? p.n / w * w : 0, rest = p.n - direct;
  const int64_t ld = round_up(rest, w);
  Buffer<T> copy;
  if (rest > 0) {
    copy = allocate<T>(p.k * ld);
    for (int64_t q = 0; q < p.k; ++q) {
      T* row = copy.get() + q * ld;
      for (int64_t j = 0; j < rest; ++j) row[j] = p.b.data[q * p.b.rs + (direct + j) * p.b.cs];
      std::fill(row + rest, row + ld, T(0));
    }
  }
  split_rows(p.m, double(p.n) * double(p.k), threads, [&](int64_t i0, int64_t i1) {
    const T* a = p.a.data + i0 * p.a.rs;
    T* c = p.c.data + i0 * p.c.rs;
    if (direct > 0)
      small_rows<Arch, T>(i1 - i0, direct, p.k, a, p.a.rs, p.a.cs, p.b.data, p.b.rs, c, p.c.rs,
                          p.c.cs);
    if (rest > 0)
      small_rows<Arch, T>(i1 - i0, rest, p.k, a, p.a.rs, p.a.cs, copy.get(), ld,
                          c + direct * p.c.cs, p.c.rs, p.c.cs);
  });
}

// Vectorized along k: A's rows and B's columns must be contiguous, else they are copied.
template <class Arch, class T>
void run_dots(const Problem<T>& p, bool threads) {
  const T* a = p.a.data;
  const T* bt = p.b.data;
  int64_t lda = p.a.rs, ldbt = p.b.cs;
  Buffer<T> a_copy, bt_copy;
  if (p.a.cs != 1) {
    a_copy = allocate<T>(p.m * p.k);
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t q = 0; q < p.k; ++q) a_copy[i * p.k + q] = a[i * p.a.rs + q * p.a.cs];
    a = a_copy.get();
    lda = p.k;
  }
  if (p.b.rs != 1) {
    bt_copy = allocate<T>(p.n * p.k);
    for (int64_t q = 0; q < p.k; ++q)
      for (int64_t j = 0; j < p.n; ++j) bt_copy[j * p.k + q] = bt[q * p.b.rs + j * p.b.cs];
    bt = bt_copy.get();
    ldbt = p.k;
  }
  split_rows(p.m, double(p.n) * double(p.k), threads, [&](int64_t i0, int64_t i1) {
    small_dots<Arch, T>(i1 - i0, p.n, p.k, a + i0 * lda, lda, bt, ldbt, p.c.data + i0 * p.c.rs,
                        p.c.rs, p.c.cs);
  });
}

// GotoBLAS loops: for each NC-column block of B and each KC-deep slice, pack B's slice
// (shared by all threads) and up to kOuterRows rows of A, then run the macro-kernel over
// tiles of C, one task per tile.
template <class Arch, class T>
void run_packed(const Problem<T>& p, bool threads) {
  using B = Blocking<Arch, T>;
  constexpr int64_t kOuterRows = 16 * B::mc;
  const int64_t kc_max = std::min<int64_t>(B::kc, p.k);
  const int64_t mc_max = std::min(kOuterRows, p.m), nc_max = std::min<int64_t>(B::nc, p.n);
  Buffer<T> packed_a = allocate<T>(round_up(mc_max, B::mr) * kc_max);
  Buffer<T> packed_b = allocate<T>(kc_max * round_up(nc_max, B::nr));
  threads = threads && p.work() >= double(kParallelWork);
  const int64_t want_tasks = threads ? 4 * tbb::this_task_arena::max_concurrency() : 1;
  // Packing jobs of about 16 panels each.
  constexpr int64_t kPackPanels = 16;

  for (int64_t jc = 0; jc < p.n; jc += B::nc) {
    const int64_t nc = std::min<int64_t>(B::nc, p.n - jc);
    for (int64_t pc = 0; pc < p.k; pc += B::kc) {
      const int64_t kc = std::min<int64_t>(B::kc, p.k - pc);
      for (int64_t ic = 0; ic < p.m; ic += kOuterRows) {
        const int64_t mc = std::min(kOuterRows, p.m - ic);
        const T* a = p.a.data + ic * p.a.rs + pc * p.a.cs;
        const T* b = p.b.data + pc * p.b.rs + jc * p.b.cs;
        const int64_t a_jobs = ceil_div(mc, B::mr * kPackPanels);
        const int64_t b_jobs = ic == 0 ? ceil_div(nc, B::nr * kPackPanels) : 0;
        run_tasks(a_jobs + b_jobs, threads, [&](int64_t job) {
          if (job < a_jobs) {
            const int64_t r0 = job * B::mr * kPackPanels;
            pack_a<Arch, T>(std::min(B::mr * kPackPanels, mc - r0), kc, a + r0 * p.a.rs, p.a.rs,
                            p.a.cs, packed_a.get() + r0 * kc);
          } else {
            const int64_t q0 = (job - a_jobs) * B::nr * kPackPanels;
            pack_b<Arch, T>(kc, std::min(B::nr * kPackPanels, nc - q0), b + q0 * p.b.cs, p.b.rs,
                            p.b.cs, packed_b.get() + q0 * kc);
          }
        });

        // Tiles of about MC rows and tile_panels panels of B (blocking.h), split evenly,
        // halved while there are too few to keep the threads busy.
        int64_t tile_m = round_up(ceil_div(mc, ceil_div(mc, B::mc)), B::mr);
        int64_t tile_n = std::min(round_up(nc, B::nr), B::nr * B::tile_panels);
        while (ceil_div(mc, tile_m) * ceil_div(nc, tile_n) < want_tasks &&
               (tile_m > 4 * B::mr || tile_n > 4 * B::nr)) {
          if (tile_n >= tile_m && tile_n > 4 * B::nr)
            tile_n = round_up(tile_n / 2, B::nr);
          else
            tile_m = round_up(tile_m / 2, B::mr);
        }
        const int64_t tiles_n = ceil_div(nc, tile_n);
        run_tasks(ceil_div(mc, tile_m) * tiles_n, threads, [&](int64_t t) {
          const int64_t i0 = t / tiles_n * tile_m, j0 = t % tiles_n * tile_n;
          macro_kernel<Arch, T>(std::min(tile_m, mc - i0), std::min(tile_n, nc - j0), kc,
                                packed_a.get() + i0 * kc, packed_b.get() + j0 * kc,
                                p.c.data + (ic + i0) * p.c.rs + (jc + j0) * p.c.cs, p.c.rs, p.c.cs,
                                pc > 0);
        });
      }
    }
  }
}

template <class Arch, class T>
void run(Path path, const Problem<T>& p, bool threads) {
  switch (path) {
    case Path::Packed:
      return run_packed<Arch, T>(p, threads);
    case Path::Rows:
      return run_rows<Arch, T>(p, threads);
    case Path::Cols:
      return run_rows<Arch, T>(p.transposed(), threads);
    case Path::Dots:
      return run_dots<Arch, T>(p, threads);
  }
}

template <class T>
void fill_zero(const Problem<T>& p) {
  for (int64_t i = 0; i < p.m; ++i)
    for (int64_t j = 0; j < p.n; ++j) p.c.data[i * p.c.rs + j * p.c.cs] = T(0);
}

}  // namespace

template <class T>
void gemm(int64_t m, int64_t n, int64_t k, MatrixRef<const T> a, MatrixRef<const T> b,
          MatrixRef<T> c) {
  const int64_t offsets[3] = {0, 0, 0};
  gemm_batched<T>(1, offsets, m, n, k, a, b, c);
}

template <class T>
void gemm_batched(int64_t count, const int64_t* offsets, int64_t m, int64_t n, int64_t k,
                  MatrixRef<const T> a, MatrixRef<const T> b, MatrixRef<T> c) {
  if (count <= 0 || m <= 0 || n <= 0) return;
  const Problem<T> all{m, n, k, a, b, c};
  if (k <= 0) {
    for (int64_t i = 0; i < count; ++i) fill_zero(all.at(offsets + 3 * i));
    return;
  }
  with_simd_arch([&](auto arch) {
    using Arch = decltype(arch);
    const Path path = choose_path<Arch, T>(all);
    const double work = all.work();
    if (count == 1 || work >= double(kParallelWork)) {
      for (int64_t i = 0; i < count; ++i) run<Arch, T>(path, all.at(offsets + 3 * i), true);
      return;
    }
    const int64_t per_chunk = std::max<int64_t>(1, int64_t(double(kParallelWork) / work));
    parallel_chunks(count, per_chunk, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) run<Arch, T>(path, all.at(offsets + 3 * i), false);
    });
  });
}

template <class T>
Path planned_path(int64_t m, int64_t n, int64_t k, MatrixRef<const T> a, MatrixRef<const T> b,
                  MatrixRef<T> c) {
  const Problem<T> p{m, n, k, a, b, c};
  return with_simd_arch([&](auto arch) { return choose_path<decltype(arch), T>(p); });
}

template <class T>
void gemm_along(Path path, int64_t m, int64_t n, int64_t k, MatrixRef<const T> a,
                MatrixRef<const T> b, MatrixRef<T> c) {
  if (m <= 0 || n <= 0) return;
  const Problem<T> p{m, n, k, a, b, c};
  if (k <= 0) return fill_zero(p);
  with_simd_arch([&](auto arch) { run<decltype(arch), T>(path, p, true); });
}

template void gemm<float>(int64_t, int64_t, int64_t, MatrixRef<const float>, MatrixRef<const float>,
                          MatrixRef<float>);
template void gemm<double>(int64_t, int64_t, int64_t, MatrixRef<const double>,
                           MatrixRef<const double>, MatrixRef<double>);
template void gemm_batched<float>(int64_t, const int64_t*, int64_t, int64_t, int64_t,
                                  MatrixRef<const float>, MatrixRef<const float>, MatrixRef<float>);
template void gemm_batched<double>(int64_t, const int64_t*, int64_t, int64_t, int64_t,
                                   MatrixRef<const double>, MatrixRef<const double>,
                                   MatrixRef<double>);
template Path planned_path<float>(int64_t, int64_t, int64_t, MatrixRef<const float>,
                                  MatrixRef<const float>, MatrixRef<float>);
template Path planned_path<double>(int64_t, int64_t, int64_t, MatrixRef<const double>,
                                   MatrixRef<const double>, MatrixRef<double>);
template void gemm_along<float>(Path, int64_t, int64_t, int64_t, MatrixRef<const float>,
                                MatrixRef<const float>, MatrixRef<float>);
template void gemm_along<double>(Path, int64_t, int64_t, int64_t, MatrixRef<const double>,
                                 MatrixRef<const double>, MatrixRef<double>);

}  // namespace ctdl::cpu::gemm

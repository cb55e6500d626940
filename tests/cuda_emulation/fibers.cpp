// Kernel launches on the CPU (shim/cuda_runtime.h): the blocks of a grid run one after
// another on the launching thread, each block's threads as fibers that switch only at
// __syncthreads and warp shuffles (a dozen instructions, below: ucontext's switches make a
// system call each, which made the suite several times slower). A barrier releases its threads once every thread
// it waits for has arrived, as on a GPU; when no thread can go on (a barrier some threads
// never reach, a full-warp shuffle after some lanes have exited) the launch throws, naming
// the kernel's barrier state, instead of hanging as a GPU would.
#include <sys/mman.h>

#include <bit>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda_runtime.h"

// Saves the callee-saved registers and the floating-point control words on the current
// stack, stores its pointer in *save, and resumes the stack `load` (x86-64 System V).
extern "C" void ctdl_emu_switch(void** save, void* load);
asm(R"(
  .text
  .globl ctdl_emu_switch
  .hidden ctdl_emu_switch
  .type ctdl_emu_switch, @function
ctdl_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $16, %rsp
  fnstcw (%rsp)
  stmxcsr 8(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  fldcw (%rsp)
  ldmxcsr 8(%rsp)
  addq $16, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size ctdl_emu_switch, .-ctdl_emu_switch
)");

namespace ctdl_emu {
namespace {

constexpr size_t kStackBytes = size_t{128} << 10;
constexpr size_t kGuardBytes = size_t{4} << 10;  // below each stack: an overflow faults
constexpr int kWarp = 32;

enum class State { Runnable, AtBlockBarrier, AtWarpBarrier, Done };

struct Fiber {
  void* stack_pointer = nullptr;  // while suspended
  uint3 index;
  int linear = 0;
  State state = State::Runnable;
};

struct Warp {
  int lanes = 0;          // threads of the block in this warp
  int arrived = 0;        // at the warp barrier now
  unsigned mask = 0;      // the lanes that barrier waits for
  unsigned generation = 0;
  uint64_t slots[2][kWarp] = {};  // shuffles alternate between the two (see exchange_slots)
};

struct Scheduler {
  std::vector<char*> stacks;
  std::vector<Fiber> fibers;
  std::vector<Warp> warps;
  void* main_stack_pointer = nullptr;
  Fiber* current = nullptr;
  void (*thread_main)(void*) = nullptr;
  void* argument = nullptr;
  int live = 0, at_block_barrier = 0;
  bool running = false;

  ~Scheduler() {
    for (char* s : stacks) munmap(s, kStackBytes + kGuardBytes);
  }

  char* stack(size_t i) {
    while (stacks.size() <= i) {
      void* p = mmap(nullptr, kStackBytes + kGuardBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (p == MAP_FAILED) throw std::runtime_error("cuda emulation: cannot map a fiber stack");
      mprotect(p, kGuardBytes, PROT_NONE);
      stacks.push_back(static_cast<char*>(p));
    }
    return stacks[i] + kGuardBytes;
  }
};

thread_local Scheduler scheduler;

[[noreturn]] void fiber_entry() {
  Scheduler& s = scheduler;
  s.thread_main(s.argument);
  s.current->state = State::Done;
  ctdl_emu_switch(&s.current->stack_pointer, s.main_stack_pointer);  // never resumed
  __builtin_unreachable();
}

// A fresh stack whose first switch "returns" into fiber_entry, aligned as after a call.
void* fresh_stack(char* base) {
  auto* top = reinterpret_cast<uint64_t*>(base + kStackBytes);  // 16-byte aligned
  uint64_t* sp = top - 2;                                         // fake return address: 0
  sp[0] = reinterpret_cast<uint64_t>(&fiber_entry);
  sp[1] = 0;
  sp -= 6;                                                        // rbp rbx r12-r15
  for (int i = 0; i < 6; ++i) sp[i] = 0;
  sp -= 2;
  sp[0] = 0x037F;  // x87 control word (default)
  sp[1] = 0x1F80;  // MXCSR (default)
  return sp;
}

void yield_to_scheduler() {
  Scheduler& s = scheduler;
  ctdl_emu_switch(&s.current->stack_pointer, s.main_stack_pointer);
}

Warp& my_warp() {
  Scheduler& s = scheduler;
  return s.warps[s.current->linear / kWarp];
}

bool valid(const LaunchConfig& c) {
  const uint64_t threads = uint64_t{c.block.x} * c.block.y * c.block.z;
  return threads >= 1 && threads <= 1024 && c.block.x <= 1024 && c.block.y <= 1024 &&
         c.block.z <= 64 && c.grid.x >= 1 && c.grid.x <= 0x7fffffffu && c.grid.y >= 1 &&
         c.grid.y <= 65535 && c.grid.z >= 1 && c.grid.z <= 65535 && c.shared_bytes <= 48 * 1024;
}

[[noreturn]] void deadlock(const dim3& block) {
  Scheduler& s = scheduler;
  int at_block = 0, at_warp = 0, done = 0;
  std::string warps;
  for (const Fiber& f : s.fibers) {
    at_block += f.state == State::AtBlockBarrier;
    at_warp += f.state == State::AtWarpBarrier;
    done += f.state == State::Done;
  }
  for (size_t w = 0; w < s.warps.size(); ++w)
    if (s.warps[w].arrived > 0)
      warps += " warp " + std::to_string(w) + ": " + std::to_string(s.warps[w].arrived) + " of " +
               std::to_string(std::popcount(s.warps[w].mask)) + " lanes at a shuffle/__syncwarp;";
  s.running = false;
  throw std::runtime_error(
      "cuda emulation: the threads of block (" + std::to_string(blockIdx.x) + ", " +
      std::to_string(blockIdx.y) + ", " + std::to_string(blockIdx.z) + ") of " +
      std::to_string(block.x * block.y * block.z) + " cannot go on: " + std::to_string(at_block) +
      " at __syncthreads, " + std::to_string(at_warp) + " at a warp barrier, " +
      std::to_string(done) + " exited;" + warps);
}

void run_block(const dim3& block) {
  Scheduler& s = scheduler;
  const int threads = static_cast<int>(block.x * block.y * block.z);
  s.fibers.resize(threads);
  s.warps.assign((threads + kWarp - 1) / kWarp, Warp{});
  for (int t = 0; t < threads; ++t) {
    Fiber& f = s.fibers[t];
    f.linear = t;
    f.index = {t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
    f.state = State::Runnable;
    f.stack_pointer = fresh_stack(s.stack(t));
    s.warps[t / kWarp].lanes++;
  }
  s.live = threads;
  s.at_block_barrier = 0;
  while (true) {
    bool ran = false;
    for (Fiber& f : s.fibers) {
      if (f.state != State::Runnable) continue;
      s.current = &f;
      threadIdx = f.index;
      ctdl_emu_switch(&s.main_stack_pointer, f.stack_pointer);
      ran = true;
      if (f.state == State::Done) --s.live;
    }
    if (s.live == 0) break;
    bool released = false;
    for (size_t w = 0; w < s.warps.size(); ++w) {
      Warp& warp = s.warps[w];
      const unsigned existing = warp.lanes == kWarp ? ~0u : (1u << warp.lanes) - 1;
      if (warp.arrived == 0 || warp.arrived < std::popcount(warp.mask & existing)) continue;
      for (int l = 0; l < warp.lanes; ++l) {
        Fiber& f = s.fibers[w * kWarp + l];
        if (f.state == State::AtWarpBarrier) f.state = State::Runnable;
      }
      warp.arrived = 0;
      warp.generation++;
      released = true;
    }
    if (s.at_block_barrier > 0 && s.at_block_barrier == s.live) {
      for (Fiber& f : s.fibers)
        if (f.state == State::AtBlockBarrier) f.state = State::Runnable;
      s.at_block_barrier = 0;
      released = true;
    }
    if (!released) {
      bool runnable = false;
      for (const Fiber& f : s.fibers) runnable = runnable || f.state == State::Runnable;
      if (!runnable || !ran) deadlock(block);
    }
  }
  s.current = nullptr;
}

}  // namespace

cudaError_t& last_error() {
  thread_local cudaError_t error = cudaSuccess;
  return error;
}

bool run_grid(const LaunchConfig& config, void (*thread_main)(void*), void* argument) {
  Scheduler& s = scheduler;
  if (s.running) throw std::runtime_error("cuda emulation: a kernel launched from a kernel");
  if (!valid(config)) {
    last_error() = cudaErrorInvalidConfiguration;
    return false;
  }
  s.running = true;
  s.thread_main = thread_main;
  s.argument = argument;
  gridDim = config.grid;
  blockDim = config.block;
  for (unsigned z = 0; z < config.grid.z; ++z)
    for (unsigned y = 0; y < config.grid.y; ++y)
      for (unsigned x = 0; x < config.grid.x; ++x) {
        blockIdx = {x, y, z};
        run_block(config.block);
      }
  s.running = false;
  return true;
}

void sync_block() {
  Scheduler& s = scheduler;
  s.current->state = State::AtBlockBarrier;
  s.at_block_barrier++;
  yield_to_scheduler();
}

void sync_warp(unsigned mask) {
  Scheduler& s = scheduler;
  Warp& warp = my_warp();
  if (warp.arrived == 0) warp.mask = mask;
  warp.arrived++;
  s.current->state = State::AtWarpBarrier;
  yield_to_scheduler();
}

int lane() { return scheduler.current->linear % kWarp; }

// A fast lane's next shuffle writes the other buffer, so it cannot overwrite a value a slow
// lane has yet to read: the barrier after that write waits for the slow lane.
uint64_t* exchange_slots() {
  Warp& warp = my_warp();
  return warp.slots[warp.generation % 2];
}

}  // namespace ctdl_emu

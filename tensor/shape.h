// Shapes, strides and the arithmetic on them.
//
//   Dims s = {2, 3, 4};
//   numel(s);                               // 24
//   contiguous_strides(s);                  // {12, 4, 1}
//   broadcast_shapes({2, 1, 4}, {3, 1}, "add");   // {2, 3, 4}
//
// Dims keeps up to kMaxDims values inline: building a shape never touches the heap,
// which keeps small-tensor ops cheap.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <vector>

#include "ctdl/tensor/error.h"

namespace ctdl {

class Dims {
 public:
  static constexpr int kMaxDims = 8;

  Dims() = default;
  Dims(std::initializer_list<int64_t> values) { assign(values.begin(), values.end()); }
  Dims(const std::vector<int64_t>& values) { assign(values.begin(), values.end()); }
  template <class It>
  Dims(It first, It last) { assign(first, last); }
  static Dims filled(int n, int64_t value) {
    Dims d;
    for (int i = 0; i < n; ++i) d.push_back(value);
    return d;
  }

  int size() const { return n_; }
  bool empty() const { return n_ == 0; }
  int64_t& operator[](int i) { return v_[i]; }
  int64_t operator[](int i) const { return v_[i]; }
  int64_t* begin() { return v_; }
  int64_t* end() { return v_ + n_; }
  const int64_t* begin() const { return v_; }
  const int64_t* end() const { return v_ + n_; }
  const int64_t* data() const { return v_; }
  int64_t back() const { return v_[n_ - 1]; }
  void push_back(int64_t value) {
    CTDL_CHECK(n_ < kMaxDims, "tensors have at most ", kMaxDims, " dimensions");
    v_[n_++] = value;
  }
  void insert(int pos, int64_t value) {
    push_back(0);
    for (int i = n_ - 1; i > pos; --i) v_[i] = v_[i - 1];
    v_[pos] = value;
  }
  void erase(int pos) {
    for (int i = pos; i + 1 < n_; ++i) v_[i] = v_[i + 1];
    --n_;
  }
  void pop_back() { --n_; }
  void resize(int n, int64_t value = 0) {
    while (n_ < n) push_back(value);
    n_ = n;
  }
  std::vector<int64_t> vec() const { return {begin(), end()}; }

  friend bool operator==(const Dims& a, const Dims& b) {
    // A plain loop: std::equal calls libc's memcmp for these few values, 4% of a small
    // neural ODE's time (shapes are compared a few times per op).
    if (a.n_ != b.n_) return false;
    for (int i = 0; i < a.n_; ++i)
      if (a.v_[i] != b.v_[i]) return false;
    return true;
  }
  friend bool operator!=(const Dims& a, const Dims& b) { return !(a == b); }

 private:
  template <class It>
  void assign(It first, It last) {
    for (; first != last; ++first) push_back(static_cast<int64_t>(*first));
  }
  int64_t v_[kMaxDims] = {};
  int n_ = 0;
};

using Shape = Dims;

std::ostream& operator<<(std::ostream& out, const Dims& d);

int64_t numel(const Dims& shape);
Dims contiguous_strides(const Dims& shape);

// True when every element of a tensor of `shape` and `strides` provably has an address of
// its own: ordered by |stride|, each dimension steps past the whole extent of those below
// it. False for a broadcast view (stride 0), and also for a few as_strided layouts whose
// elements happen to be distinct though interleaved: false means "may overlap", which is
// what writing in place must rule out.
bool elements_distinct(const Dims& shape, const Dims& strides);

// Wraps a possibly negative dimension index into [0, ndim); `op` names the caller in errors.
int wrap_dim(int64_t dim, int ndim, const char* op);
// Wraps and sorts a list of dims, rejecting duplicates. An empty list means "all dims".
Dims wrap_dims(const Dims& dims, int ndim, const char* op);

// NumPy broadcasting of two shapes; throws naming `op` and both shapes when they clash.
Dims broadcast_shapes(const Dims& a, const Dims& b, const char* op);

// Strides that read a tensor of `shape`/`strides` as if it had the broadcast shape `target`
// (0 where a dimension is broadcast).
Dims broadcast_strides(const Dims& shape, const Dims& strides, const Dims& target);

}  // namespace ctdl

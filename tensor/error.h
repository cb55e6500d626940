// ctdl::Error and the checks that throw it.
//
//   CTDL_CHECK(a.dim() == 2, "matmul: expected a matrix, got shape ", a.shape());
//   // throws ctdl::Error("matmul: expected a matrix, got shape [3]")
//
// Every user-facing failure is a ctdl::Error whose message starts with the name of the
// operation and names the values at fault (shapes, dtypes, indices, times, step sizes).
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace ctdl {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Concatenates anything that has an operator<< into one string.
template <class... Args>
std::string str(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

template <class... Args>
[[noreturn]] void fail(const Args&... args) {
  throw Error(str(args...));
}

}  // namespace ctdl

#define CTDL_CHECK(condition, ...)                 \
  do {                                             \
    if (!(condition)) ::ctdl::fail(__VA_ARGS__);   \
  } while (false)

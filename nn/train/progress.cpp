#include "ctdl/nn/train/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <sstream>

namespace ctdl::nn {

std::string format_duration(double seconds) {
  auto s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  char buffer[32];
  if (s >= 3600)
    std::snprintf(buffer, sizeof(buffer), "%lld:%02lld:%02lld", (long long)(s / 3600),
                  (long long)(s / 60 % 60), (long long)(s % 60));
  else
    std::snprintf(buffer, sizeof(buffer), "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
  return buffer;
}

namespace {

std::string format_value(double v) {
  char buffer[32];
  if (v != 0 && (std::abs(v) < 1e-3 || std::abs(v) >= 1e5))
    std::snprintf(buffer, sizeof(buffer), "%.3e", v);
  else
    std::snprintf(buffer, sizeof(buffer), "%.4f", v);
  return buffer;
}

}  // namespace

ProgressBar::ProgressBar(int64_t total_steps, ProgressOptions options)
    : total_(total_steps), o_(std::move(options)), start_(Clock::now()), last_draw_(start_) {
  terminal_ = o_.terminal.value_or(o_.out == &std::cout && isatty(STDOUT_FILENO));
}

double ProgressBar::elapsed() const {
  return std::chrono::duration<double>(Clock::now() - start_).count();
}

std::string ProgressBar::status(bool final) const {
  std::ostringstream line;
  if (!o_.label.empty()) line << o_.label << " ";
  double t = elapsed();
  if (final) {
    line << done_ << "/" << total_ << " in " << format_duration(t);
  } else if (terminal_) {
    int filled = total_ > 0 ? static_cast<int>(o_.width * done_ / total_) : o_.width;
    line << "[" << std::string(filled, '=') << (filled < o_.width ? ">" : "")
         << std::string(std::max(0, o_.width - filled - 1), ' ') << "] " << done_ << "/" << total_;
  } else {
    line << done_ << "/" << total_;
  }
  for (const auto& [name, value] : values_) line << "  " << name << " " << format_value(value);
  if (t > 0 && samples_ > 0) line << "  " << static_cast<int64_t>(samples_ / t) << " samples/s";
  if (!final && done_ > 0 && done_ < total_)
    line << "  ETA " << format_duration(t / done_ * (total_ - done_));
  return line.str();
}

void ProgressBar::step(int64_t samples, const Values& values) {
  ++done_;
  samples_ += samples;
  for (const auto& [name, value] : values) {
    bool found = false;
    for (auto& entry : values_)
      if (entry.first == name) entry.second = value, found = true;
    if (!found) values_.emplace_back(name, value);
  }
  double since = std::chrono::duration<double>(Clock::now() - last_draw_).count();
  if (terminal_ && (since >= o_.redraw_seconds || done_ == total_)) {
    *o_.out << "\r" << status(false) << "\033[K" << std::flush;
    last_draw_ = Clock::now();
  } else if (!terminal_ && since >= o_.plain_line_seconds && done_ < total_) {
    *o_.out << status(false) << "\n" << std::flush;
    last_draw_ = Clock::now();
  }
}

void ProgressBar::finish(const Values& values) {
  for (const auto& v : values) values_.push_back(v);
  if (terminal_)
    *o_.out << "\r" << status(true) << "\033[K\n" << std::flush;
  else
    *o_.out << status(true) << "\n" << std::flush;
}

}  // namespace ctdl::nn

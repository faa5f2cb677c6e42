// A latency histogram with under 2% error from 1 µs to days: log-linear buckets (exact below
// 128 µs, then 64 buckets per power of two). Hand-written because Debian has no C/C++ HdrHistogram;
// this is the same idea in a few lines. Not thread-safe: one per thread, merged at the end.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <vector>

namespace parley::bench {

class Histogram {
 public:
  static constexpr int kSubBits = 7;  // 128 sub-buckets: < 1% error
  static constexpr int kPowers = 40;  // up to 2^40 µs

  void record(std::uint64_t micros) {
    ++counts_[index(micros)];
    ++total_;
    if (micros > max_) max_ = micros;
  }
  void merge(const Histogram& other) {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    if (other.max_ > max_) max_ = other.max_;
  }
  std::uint64_t count() const { return total_; }
  std::uint64_t max() const { return max_; }
  // The value at quantile q (0..1), in µs (upper edge of its bucket, capped at the max seen).
  std::uint64_t quantile(double q) const {
    if (total_ == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total_ - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(upper(i), max_);
    }
    return max_;
  }

 private:
  static std::size_t index(std::uint64_t v) {
    if (v < (1u << kSubBits)) return static_cast<std::size_t>(v);
    const int power = 63 - std::countl_zero(v) - kSubBits + 1;  // >= 1
    const auto sub = static_cast<std::size_t>(v >> power) & ((1u << kSubBits) - 1);
    const std::size_t i = (static_cast<std::size_t>(power) << kSubBits) + sub;
    return std::min(i, static_cast<std::size_t>(kPowers << kSubBits) - 1);
  }
  static std::uint64_t upper(std::size_t i) {
    const std::size_t power = i >> kSubBits, sub = i & ((1u << kSubBits) - 1);
    if (power == 0) return sub;
    // Bucket [sub << power, (sub + 1) << power): sub is in [64, 128) for power >= 1.
    return (static_cast<std::uint64_t>(sub) << power) + ((std::uint64_t{1} << power) - 1);
  }

  std::array<std::uint64_t, (kPowers << kSubBits)> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace parley::bench

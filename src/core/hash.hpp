// Hashing of id pairs (conversation, user) for the maps that key on both.
#pragma once

#include <cstdint>
#include <functional>

namespace parley {

// Mixes two 64-bit ids into one key (Fibonacci hashing of the first, XOR the second): distinct
// enough for hash maps; not unique, so maps that need exact keys store the pair itself.
inline std::uint64_t mix_ids(std::int64_t a, std::int64_t b) {
  return static_cast<std::uint64_t>(a) * 0x9E3779B97F4A7C15ULL ^ static_cast<std::uint64_t>(b);
}

// A hash for structs with two id members, given as pointers to members.
template <typename T, auto First, auto Second>
struct IdPairHash {
  std::size_t operator()(const T& key) const { return std::hash<std::uint64_t>()(mix_ids(key.*First, key.*Second)); }
};

}  // namespace parley

// Expected<T, E>: a value or an error (an `expected` for C++20). Result<T> (core/result.hpp)
// is the server's, with parley::Error; the CLI's Outcome<T> carries its own Failure.
#pragma once

#include <cassert>
#include <utility>
#include <variant>

namespace parley {

template <typename T, typename E>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : storage_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Expected(E error) : storage_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return storage_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(storage_); }
  const T& value() const& { assert(ok()); return std::get<0>(storage_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(storage_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const E& error() const { assert(!ok()); return std::get<1>(storage_); }
  E&& take_error() { assert(!ok()); return std::get<1>(std::move(storage_)); }

 private:
  std::variant<T, E> storage_;
};

}  // namespace parley

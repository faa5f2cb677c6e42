// Result<T>: a value or an Error (an `expected` for C++20). Expected failures are
// return values in Parley; exceptions are for start-up only.
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "core/error.hpp"

namespace parley {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : storage_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : storage_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return storage_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(storage_); }
  const T& value() const& { assert(ok()); return std::get<0>(storage_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(storage_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(storage_); }
  Error&& take_error() { assert(!ok()); return std::get<1>(std::move(storage_)); }

 private:
  std::variant<T, Error> storage_;
};

struct Ok {};
using Status = Result<Ok>;

}  // namespace parley

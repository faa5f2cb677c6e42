// Outcome<T>: a value or a Failure, the CLI's `expected`. A Failure knows which exit code it
// ends the process with and prints itself as one line on stderr (main.cpp does both).
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace parley::cli {

// The process exit codes, part of the CLI's contract (README.md).
enum class ExitCode {
  success = 0,
  refused = 1,        // the server answered with an error
  usage = 2,          // bad arguments, unreadable input or config file
  network = 3,        // cannot connect, connection lost, no reply
  not_logged_in = 4,  // no token in the config file and no --token
};

struct Failure {
  ExitCode exit = ExitCode::refused;
  std::string code;     // the server's error code (refused); empty otherwise
  std::string message;  // one human-readable line
};

inline Failure refused(std::string code, std::string message) {
  return Failure{ExitCode::refused, std::move(code), std::move(message)};
}
inline Failure usage_error(std::string message) { return Failure{ExitCode::usage, {}, std::move(message)}; }
inline Failure network_error(std::string message) { return Failure{ExitCode::network, {}, std::move(message)}; }
inline Failure not_logged_in() {
  return Failure{ExitCode::not_logged_in, {}, "not logged in: run `parley login USER` or pass --token"};
}

template <typename T>
class [[nodiscard]] Outcome {
 public:
  Outcome(T value) : storage_(std::in_place_index<0>, std::move(value)) {}        // NOLINT: implicit by design
  Outcome(Failure failure) : storage_(std::in_place_index<1>, std::move(failure)) {}  // NOLINT

  bool ok() const { return storage_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(storage_); }
  const T& value() const& { assert(ok()); return std::get<0>(storage_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(storage_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Failure& failure() const { assert(!ok()); return std::get<1>(storage_); }
  Failure&& take_failure() { assert(!ok()); return std::get<1>(std::move(storage_)); }

 private:
  std::variant<T, Failure> storage_;
};

struct Done {};
using Status = Outcome<Done>;

}  // namespace parley::cli

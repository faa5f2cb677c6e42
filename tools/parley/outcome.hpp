// Outcome<T>: a value or a Failure, the CLI's `expected`. A Failure knows which exit code it
// ends the process with and prints itself as one line on stderr (main.cpp does both).
#pragma once

#include <string>
#include <utility>

#include "core/expected.hpp"

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
using Outcome = Expected<T, Failure>;

struct Done {};
using Status = Outcome<Done>;

}  // namespace parley::cli

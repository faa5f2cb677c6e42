// Passwords for register, login, password and password-check: from an option, else an
// environment variable, else one line of stdin. Never an interactive prompt a script could hang
// on: without a terminal, stdin is read as it is; on a terminal, echo is off while the line is typed.
#pragma once

#include <string>

#include "outcome.hpp"

namespace parley::cli {

struct SecretSource {
  const char* what;      // for messages: "password", "current password", "new password"
  const char* option;    // the option that gives it, e.g. "--password"
  const char* env_name;  // the environment variable that gives it, e.g. "PARLEY_PASSWORD"
};

// `option_value` if non-empty, else $env_name if non-empty, else the next line of stdin (a
// trailing CR dropped). With `confirm` and stdin a terminal, the line is asked for twice and
// must match. Fails with a usage error when none gives a non-empty value. Call from the main
// thread; reads std::cin.
Outcome<std::string> read_secret(const std::string& option_value, const SecretSource& source, bool confirm = false);

}  // namespace parley::cli

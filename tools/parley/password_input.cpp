#include "password_input.hpp"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <fmt/format.h>

#include "output.hpp"

namespace parley::cli {
namespace {

// One line of stdin, without its line break. On a terminal, says what it reads on stderr and
// turns echo off meanwhile.
bool read_line(std::string& line, const std::string& note) {
  const bool terminal = ::isatty(STDIN_FILENO) != 0;
  if (terminal) print_note(note);
  termios saved{};
  const bool restore = terminal && ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (restore) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  const bool read = static_cast<bool>(std::getline(std::cin, line));
  if (restore) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  if (terminal) std::fputc('\n', stderr);  // the Enter the user typed was not echoed
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return read;
}

}  // namespace

Outcome<std::string> read_secret(const std::string& option_value, const SecretSource& source, bool confirm) {
  if (!option_value.empty()) return option_value;
  if (const char* env = std::getenv(source.env_name); env && *env) return std::string(env);
  std::string line;
  if (read_line(line, fmt::format("reading the {} from the terminal (not echoed)", source.what)) && !line.empty()) {
    if (!confirm || !::isatty(STDIN_FILENO)) return line;
    std::string again;
    if (!read_line(again, fmt::format("the {} again, to confirm", source.what)) || again != line)
      return usage_error(fmt::format("the two {}s typed differ; nothing was changed", source.what));
    return line;
  }
  return usage_error(fmt::format("no {}: give {}, set {}, or write it as a line on stdin", source.what, source.option,
                                 source.env_name));
}

}  // namespace parley::cli

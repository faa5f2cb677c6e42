// The CLI's config file: the server URL and the logged-in user's token, as a JSON object
// {"server", "username", "user_id", "token", "expires_at"}. Written with mode 0600 (it holds a
// bearer token) by an atomic rename, so a crash never leaves half a file.
#pragma once

#include <cstdint>
#include <string>

#include "outcome.hpp"

namespace parley::cli {

struct CliConfig {
  std::string server;           // URL; empty = not set
  std::string username;
  std::int64_t user_id = 0;
  std::string token;            // empty = not logged in
  std::int64_t expires_at = 0;  // token expiry, Unix seconds
};

// $PARLEY_CONFIG, else $HOME/.config/parley/cli.json.
std::string default_config_path();

// Reads the file at `path`. A missing file is an empty config; an unreadable or malformed one
// is a usage failure naming the path.
Outcome<CliConfig> load_config(const std::string& path);

// Replaces the file at `path` (mode 0600), creating its directory (mode 0700) if needed.
Status save_config(const std::string& path, const CliConfig& config);

}  // namespace parley::cli

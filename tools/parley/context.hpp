// Context: what every command needs: the global options, the config file, the server URL, the
// token, and a WebSocket session on demand. One per process, built by main.cpp.
#pragma once

#include <memory>
#include <string>

#include "config_file.hpp"
#include "outcome.hpp"
#include "server_url.hpp"
#include "ws_session.hpp"

namespace parley::cli {

struct GlobalOptions {
  std::string server;       // --server; empty = config file, $PARLEY_SERVER, default
  std::string config_path;  // --config; empty = default_config_path()
  std::string token;        // --token; empty = the config file's
  bool json = false;        // --json: machine-readable output
};

inline constexpr const char* kDefaultServer = "http://127.0.0.1:8080";

class Context {
 public:
  // Reads the config file and settles the server URL. Call once, after parsing arguments.
  Status load(GlobalOptions options);

  bool json() const { return options_.json; }
  const ServerUrl& server() const { return server_; }
  const std::string& config_path() const { return config_path_; }
  CliConfig& config() { return config_; }
  Status save_config() const { return cli::save_config(config_path_, config_); }
  // After the server revoked `token`: removes it from the config file if it is the saved one
  // (a --token naming another leaves the file alone). The username and server stay.
  Status forget_token(const std::string& token);

  // --token, else the config file's token; not_logged_in() if neither.
  Outcome<std::string> token() const;
  // Connects with token() and completes hello. A refused token is explained with the server's
  // own error code (asked over REST), e.g. "token_revoked".
  Outcome<std::unique_ptr<WsSession>> open_session() const;

 private:
  GlobalOptions options_;
  std::string config_path_;
  CliConfig config_;
  ServerUrl server_;
};

}  // namespace parley::cli

#include "context.hpp"

#include <cstdlib>

#include "rest_api.hpp"

namespace parley::cli {

Status Context::load(GlobalOptions options) {
  options_ = std::move(options);
  config_path_ = options_.config_path.empty() ? default_config_path() : options_.config_path;
  auto config = load_config(config_path_);
  if (!config) return config.take_error();
  config_ = std::move(config.value());
  std::string server = options_.server;
  if (server.empty()) server = config_.server;
  if (const char* env = std::getenv("PARLEY_SERVER"); server.empty() && env) server = env;
  if (server.empty()) server = kDefaultServer;
  auto url = parse_server_url(server);
  if (!url) return url.take_error();
  server_ = std::move(url.value());
  return Done{};
}

Status Context::forget_token(const std::string& token) {
  if (config_.token != token) return Done{};
  config_.token.clear();
  config_.expires_at = 0;
  return save_config();
}

Outcome<std::string> Context::token() const {
  if (!options_.token.empty()) return options_.token;
  if (!config_.token.empty()) return config_.token;
  return not_logged_in();
}

Outcome<std::unique_ptr<WsSession>> Context::open_session() const {
  auto token = this->token();
  if (!token) return token.take_error();
  auto endpoint = websocket_endpoint(server_);
  if (!endpoint) return endpoint.take_error();
  WsSession::Options options;
  options.endpoint = std::move(endpoint.value());
  options.server_text = server_.text;
  options.token = *token;
  options.http_base_url = "http://" + server_.host_header() + server_.prefix;
  auto session = WsSession::open(std::move(options));
  if (session || session.error().code != kHelloRefused) return session;
  // The close frame after a refused hello does not say why; the REST API does.
  auto me = fetch_me(server_, *token);
  if (!me && me.error().exit == ExitCode::refused) return me.take_error();
  return session;
}

}  // namespace parley::cli

#include "server_url.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <charconv>

namespace parley::cli {

std::string ServerUrl::host_header() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Outcome<ServerUrl> parse_server_url(const std::string& text) {
  ServerUrl url;
  url.text = text;
  std::string_view rest = text;
  const auto scheme_end = rest.find("://");
  if (scheme_end != std::string_view::npos) {
    const std::string_view scheme = rest.substr(0, scheme_end);
    if (scheme == "https" || scheme == "wss")
      return usage_error("'" + text + "': parleyd speaks plain HTTP; TLS (https://) is not supported by this client");
    if (scheme != "http" && scheme != "ws") return usage_error("'" + text + "': the server URL must start with http://");
    rest.remove_prefix(scheme_end + 3);
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    url.prefix = std::string(rest.substr(slash));
    while (!url.prefix.empty() && url.prefix.back() == '/') url.prefix.pop_back();
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {  // [v6]:port
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return usage_error("'" + text + "': unbalanced '[' in the host");
    url.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size() && authority[close + 1] == ':') port_text = authority.substr(close + 2);
  } else {
    const auto colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (url.host.empty()) return usage_error("'" + text + "': no host in the server URL");
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535)
      return usage_error("'" + text + "': invalid port");
    url.port = static_cast<std::uint16_t>(port);
  }
  return url;
}

Outcome<client::Endpoint> websocket_endpoint(const ServerUrl& url) {
  client::Endpoint endpoint;
  endpoint.port = url.port;
  endpoint.path = url.prefix + "/ws";
  boost::system::error_code ec;
  boost::asio::ip::make_address(url.host, ec);
  if (!ec) {
    endpoint.host = url.host;
    return endpoint;
  }
  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver(io);
  auto results = resolver.resolve(url.host, std::to_string(url.port), ec);
  if (ec || results.empty()) return network_error("cannot resolve " + url.host + ": " + ec.message());
  endpoint.host = results.begin()->endpoint().address().to_string();
  for (const auto& entry : results) {
    if (entry.endpoint().address().is_v4()) {
      endpoint.host = entry.endpoint().address().to_string();
      break;
    }
  }
  return endpoint;
}

}  // namespace parley::cli

// ServerUrl: where parleyd listens, parsed from `--server` ("http://host:port[/prefix]";
// "host:port" alone means http). parleyd has no TLS, so https:// and wss:// are refused with a
// usage error: put the CLI on the proxy's inside or tunnel the port.
#pragma once

#include <cstdint>
#include <string>

#include "client/ws_connection.hpp"
#include "outcome.hpp"

namespace parley::cli {

struct ServerUrl {
  std::string host;         // name or address; IPv6 without brackets
  std::uint16_t port = 80;
  std::string prefix;       // path prefix without trailing '/', usually empty
  std::string text;         // as given, for messages

  // "host:port" for the HTTP Host header ("[v6]:port" for IPv6 addresses).
  std::string host_header() const;
};

Outcome<ServerUrl> parse_server_url(const std::string& text);

// The WebSocket endpoint of `url` for the client library. Resolves a host name to one address
// here (preferring IPv4, which parleyd listens on by default), because WsConnection connects
// to the first address of a name only.
Outcome<client::Endpoint> websocket_endpoint(const ServerUrl& url);

}  // namespace parley::cli

// A small blocking HTTP/1.1 client for Parley's REST API (register, login, admin calls): one
// request per connection, JSON bodies, optional bearer token. Boost.Beast, kept in this one
// translation unit (slow to compile); callers see plain structs.
#pragma once

#include <cstdint>
#include <string>

namespace parley::client {

struct HttpTarget {
  std::string host;          // name or address (IPv6 without brackets)
  std::uint16_t port = 80;
  std::string host_header;   // "Host:" value; empty = host:port
};

struct HttpResult {
  int status = 0;            // 0: no complete response; see `error`
  std::string body;
  std::string error;         // what failed, e.g. "connect to 127.0.0.1: Connection refused"
  std::string stage;         // the step that failed: "resolve", "connect to", "send to", "read from"
  std::string reason;        // why, e.g. "Connection refused", "timed out"
  bool timed_out = false;
};

// Performs one exchange on a fresh connection, blocking the calling thread; `timeout_ms`
// bounds the whole exchange (resolve excepted). Any HTTP status counts as a response.
HttpResult http_request(const HttpTarget& target, const std::string& method, const std::string& path,
                        const std::string& body = {}, const std::string& bearer = {}, int timeout_ms = 30000,
                        const std::string& user_agent = "parley-client");

// Convenience: `base_url` is "http://HOST:PORT".
HttpResult http_request(const std::string& base_url, const std::string& method, const std::string& path,
                        const std::string& body = {}, const std::string& bearer = {}, int timeout_ms = 30000);

// Splits "http://host:port" into host and port (default 80). False if it is not such a URL.
bool split_http_url(const std::string& url, std::string& host, std::string& port);

}  // namespace parley::client

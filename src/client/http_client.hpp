// A small blocking HTTP/1.1 client for Parley's REST API (register, login, admin calls),
// one request per connection. Boost.Beast, kept in one translation unit.
#pragma once

#include <string>

namespace parley::client {

struct HttpResult {
  int status = 0;         // 0: no response (connection failed); see `error`
  std::string body;
  std::string error;      // transport error, if any
};

// `base_url` is "http://HOST:PORT"; `path` starts with "/". `bearer` may be empty. Blocking; any
// thread. Times out after `timeout_ms`.
HttpResult http_request(const std::string& base_url, const std::string& method, const std::string& path,
                        const std::string& body = {}, const std::string& bearer = {}, int timeout_ms = 30000);

// Splits "http://host:port" into host and port (default 80). False if it is not such a URL.
bool split_http_url(const std::string& url, std::string& host, std::string& port);

}  // namespace parley::client

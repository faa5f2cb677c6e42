// The CLI's view of the client library's HTTP client (client/http_client.hpp): requests
// relative to the server URL, failures as Outcome network errors.
#pragma once

#include <string>

#include "outcome.hpp"
#include "server_url.hpp"

namespace parley::cli {

struct HttpRequest {
  std::string method = "GET";
  std::string target;        // path and query, e.g. "/v1/me"; the server URL's prefix is added
  std::string body;          // JSON, sent only if non-empty
  std::string bearer_token;  // "Authorization: Bearer ..." if non-empty
  int timeout_ms = 30000;    // for the whole exchange: connect, send, receive
};

struct HttpReply {
  int status = 0;
  std::string body;
};

// Performs one exchange on a fresh connection, blocking the calling thread. Any HTTP status is
// a success here; fails with a network failure when no complete response arrived (cannot
// resolve or connect, timeout, connection closed early).
Outcome<HttpReply> http_exchange(const ServerUrl& server, const HttpRequest& request);

}  // namespace parley::cli

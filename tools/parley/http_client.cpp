#include "http_client.hpp"

#include "client/http_client.hpp"

namespace parley::cli {

Outcome<HttpReply> http_exchange(const ServerUrl& server, const HttpRequest& request) {
  client::HttpTarget target;
  target.host = server.host;
  target.port = server.port;
  target.host_header = server.host_header();
  auto result = client::http_request(target, request.method, server.prefix + request.target, request.body,
                                     request.bearer_token, request.timeout_ms, "parley-cli/" PARLEY_VERSION);
  if (result.status == 0) {
    if (result.timed_out) return network_error("no answer from " + server.text + " (" + result.stage + " timed out)");
    return network_error("cannot " + result.stage + " " + server.text + ": " + result.reason);
  }
  HttpReply reply;
  reply.status = result.status;
  reply.body = std::move(result.body);
  return reply;
}

}  // namespace parley::cli

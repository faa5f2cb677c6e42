#include "http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>

namespace parley::cli {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

namespace {

// Admin replies carry a token per user (about 300 bytes each, up to 1000 users a batch).
constexpr std::uint64_t kMaxResponseBytes = 64ull << 20;

Failure exchange_failure(const ServerUrl& server, const char* stage, const beast::error_code& ec) {
  if (ec == beast::error::timeout)
    return network_error(std::string("no answer from ") + server.text + " (" + stage + " timed out)");
  return network_error(std::string("cannot ") + stage + " " + server.text + ": " + ec.message());
}

}  // namespace

Outcome<HttpReply> http_exchange(const ServerUrl& server, const HttpRequest& request) {
  boost::asio::io_context io;
  beast::error_code ec;
  tcp::resolver resolver(io);
  const auto addresses = resolver.resolve(server.host, std::to_string(server.port), ec);
  if (ec) return exchange_failure(server, "resolve", ec);

  // Blocking calls on a tcp_stream ignore its expiry, so every step runs asynchronously and
  // the io_context is run to completion: the stream's timer then bounds the whole exchange.
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::milliseconds(request.timeout_ms));

  http::request<http::string_body> message;
  message.method(http::string_to_verb(request.method));
  message.target(server.prefix + request.target);
  message.version(11);
  message.set(http::field::host, server.host_header());
  message.set(http::field::user_agent, "parley-cli/" PARLEY_VERSION);
  message.set(http::field::accept, "application/json");
  message.set(http::field::connection, "close");
  if (!request.bearer_token.empty()) message.set(http::field::authorization, "Bearer " + request.bearer_token);
  if (!request.body.empty()) {
    message.set(http::field::content_type, "application/json");
    message.body() = request.body;
  }
  message.prepare_payload();

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBytes);
  const char* stage = "connect to";
  stream.async_connect(addresses, [&](const beast::error_code& e, const tcp::endpoint&) {
    if ((ec = e)) return;
    stage = "send to";
    http::async_write(stream, message, [&](const beast::error_code& e2, std::size_t) {
      if ((ec = e2)) return;
      stage = "read from";
      http::async_read(stream, buffer, parser, [&](const beast::error_code& e3, std::size_t) { ec = e3; });
    });
  });
  io.run();
  if (ec) return exchange_failure(server, stage, ec);

  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  HttpReply reply;
  reply.status = static_cast<int>(parser.get().result_int());
  reply.body = std::move(parser.get().body());
  return reply;
}

}  // namespace parley::cli

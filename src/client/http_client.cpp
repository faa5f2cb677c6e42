#include "client/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>

namespace parley::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
// Admin replies carry a token per user (about 300 bytes each, up to thousands a batch).
constexpr std::uint64_t kMaxResponseBytes = 64ull << 20;
}  // namespace

bool split_http_url(const std::string& url, std::string& host, std::string& port) {
  const std::string prefix = "http://";
  if (url.rfind(prefix, 0) != 0) return false;
  std::string rest = url.substr(prefix.size());
  if (auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  auto colon = rest.rfind(':');
  host = colon == std::string::npos ? rest : rest.substr(0, colon);
  port = colon == std::string::npos ? "80" : rest.substr(colon + 1);
  return !host.empty() && !port.empty();
}

HttpResult http_request(const HttpTarget& target, const std::string& method, const std::string& path,
                        const std::string& body, const std::string& bearer, int timeout_ms,
                        const std::string& user_agent) {
  HttpResult result;
  asio::io_context io;
  beast::error_code ec;
  tcp::resolver resolver(io);
  const auto addresses = resolver.resolve(target.host, std::to_string(target.port), ec);
  if (ec) {
    result.stage = "resolve";
    result.reason = ec.message();
    result.error = "resolve " + target.host + ": " + ec.message();
    return result;
  }
  // Blocking calls on a tcp_stream ignore its expiry, so every step runs asynchronously and
  // the io_context runs to completion: the stream's timer then bounds the whole exchange.
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::milliseconds(timeout_ms));
  http::request<http::string_body> message(http::string_to_verb(method), path, 11);
  message.set(http::field::host,
              target.host_header.empty() ? target.host + ":" + std::to_string(target.port) : target.host_header);
  message.set(http::field::user_agent, user_agent);
  message.set(http::field::accept, "application/json");
  message.set(http::field::connection, "close");
  if (!bearer.empty()) message.set(http::field::authorization, "Bearer " + bearer);
  if (!body.empty()) {
    message.set(http::field::content_type, "application/json");
    message.body() = body;
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
  if (ec) {
    result.timed_out = ec == beast::error::timeout;
    result.stage = stage;
    result.reason = result.timed_out ? "timed out" : ec.message();
    result.error = result.stage + " " + target.host + ": " + result.reason;
    return result;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  result.status = static_cast<int>(parser.get().result_int());
  result.body = std::move(parser.get().body());
  return result;
}

HttpResult http_request(const std::string& base_url, const std::string& method, const std::string& path,
                        const std::string& body, const std::string& bearer, int timeout_ms) {
  HttpTarget target;
  std::string port;
  if (!split_http_url(base_url, target.host, port)) {
    HttpResult result;
    result.error = "not an http:// URL: " + base_url;
    return result;
  }
  target.port = static_cast<std::uint16_t>(std::stoi(port));
  return http_request(target, method, path, body, bearer, timeout_ms);
}

}  // namespace parley::client

#include "client/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace parley::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

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

HttpResult http_request(const std::string& base_url, const std::string& method, const std::string& path,
                        const std::string& body, const std::string& bearer, int timeout_ms) {
  HttpResult result;
  std::string host, port;
  if (!split_http_url(base_url, host, port)) {
    result.error = "not an http:// URL: " + base_url;
    return result;
  }
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::milliseconds(timeout_ms));
    stream.connect(resolver.resolve(host, port));
    http::request<http::string_body> request(http::string_to_verb(method), path, 11);
    request.set(http::field::host, host + ":" + port);
    request.set(http::field::user_agent, "parley-client");
    if (!bearer.empty()) request.set(http::field::authorization, "Bearer " + bearer);
    if (!body.empty()) request.set(http::field::content_type, "application/json");
    request.body() = body;
    request.prepare_payload();
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(256 * 1024 * 1024);
    http::read(stream, buffer, parser);
    result.status = static_cast<int>(parser.get().result_int());
    result.body = std::move(parser.get().body());
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  } catch (const std::exception& e) {
    result.status = 0;
    result.error = e.what();
  }
  return result;
}

}  // namespace parley::client

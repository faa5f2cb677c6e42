#include "push/http_sender.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <mutex>

namespace parley::push {
namespace {

std::once_flag curl_initialized;

// Addresses a user-registered URL must not reach unless the operator allows it.
bool private_address(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    const std::uint32_t a = ntohl(in->sin_addr.s_addr);
    auto in_net = [a](std::uint32_t net, int bits) { return (a >> (32 - bits)) == (net >> (32 - bits)); };
    return in_net(0x00000000, 8) || in_net(0x0A000000, 8) || in_net(0x7F000000, 8) || in_net(0xA9FE0000, 16) ||
           in_net(0xAC100000, 12) || in_net(0xC0A80000, 16) || in_net(0x64400000, 10) || a >= 0xE0000000;
  }
  if (address->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    const auto* b = in6->sin6_addr.s6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) || IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      sockaddr_in v4{};
      v4.sin_family = AF_INET;
      std::memcpy(&v4.sin_addr, b + 12, 4);
      return private_address(reinterpret_cast<const sockaddr*>(&v4));
    }
    return (b[0] & 0xFE) == 0xFC || (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) || b[0] == 0xFF;  // ULA, link-local, multicast
  }
  return true;  // anything but IP
}

}  // namespace

struct HttpSender::Transfer {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  HttpRequest request;
  std::string host;
  std::string answer;
  char error[CURL_ERROR_SIZE] = {};
  bool allow_private = false;
  bool refused = false;  // the host's address is a private one

  static curl_socket_t open_socket(void* self, curlsocktype, curl_sockaddr* address) {
    auto* t = static_cast<Transfer*>(self);
    if (!t->allow_private && private_address(&address->addr)) {
      t->refused = true;
      return CURL_SOCKET_BAD;
    }
    return ::socket(address->family, address->socktype, address->protocol);
  }

  ~Transfer() {
    if (easy) curl_easy_cleanup(easy);
    if (headers) curl_slist_free_all(headers);
  }
  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* self) {
    auto* t = static_cast<Transfer*>(self);
    const std::size_t n = size * count;
    const std::size_t room = HttpResponse::kMaxBodyBytes - std::min(HttpResponse::kMaxBodyBytes, t->answer.size());
    t->answer.append(data, std::min(n, room));
    return n;
  }
};

HttpSender::HttpSender(HttpSenderOptions options) : options_(options) {
  std::call_once(curl_initialized, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  multi_ = curl_multi_init();
  // Requests to one host share connections (HTTP/2 multiplexes them).
  curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
}

HttpSender::~HttpSender() {
  for (auto& t : transfers_) curl_multi_remove_handle(multi_, t->easy);
  transfers_.clear();
  curl_multi_cleanup(multi_);
}

std::string HttpSender::host_of(const std::string& url) {
  const std::size_t start = url.find("://");
  if (start == std::string::npos) return url;
  const std::size_t end = url.find_first_of("/?#", start + 3);
  return url.substr(start + 3, end == std::string::npos ? std::string::npos : end - start - 3);
}

void HttpSender::add(HttpRequest request) { queued_.push_back(std::move(request)); }

void HttpSender::wakeup() { curl_multi_wakeup(multi_); }

void HttpSender::start_what_fits() {
  // In order, skipping requests whose host is at its limit (they keep their place).
  for (auto it = queued_.begin(); it != queued_.end() && transfers_.size() < static_cast<std::size_t>(options_.max_in_flight);) {
    const std::string host = host_of(it->url);
    int& busy = per_host_[host];
    if (busy >= options_.max_in_flight_per_host) {
      ++it;
      continue;
    }
    auto t = std::make_unique<Transfer>();
    t->request = std::move(*it);
    t->host = host;
    it = queued_.erase(it);
    t->easy = curl_easy_init();
    CURL* e = t->easy;
    curl_easy_setopt(e, CURLOPT_URL, t->request.url.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_ms));
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->request.body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->request.body.size()));
    // HTTP/2 over TLS when the server offers it (else 1.1); HTTP/2 without TLS only when asked
    // for (only stand-ins speak it). Debian 12's curl 7.88 fails the second request on a reused
    // prior-knowledge connection ("Error in the HTTP2 framing layer"; node's own client reuses
    // it fine), so each such request gets its own connection.
    const bool h2c = t->request.http2 && t->request.url.rfind("https://", 0) != 0;
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, h2c ? CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE : CURL_HTTP_VERSION_2TLS);
    if (h2c) curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "parleyd");
    t->headers = curl_slist_append(t->headers, "Expect:");  // no 100-continue round trip
    for (const auto& h : t->request.headers) t->headers = curl_slist_append(t->headers, h.c_str());
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Transfer::on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    t->allow_private = options_.allow_private_networks || t->request.configured_url;
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &Transfer::open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t.get());
    curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
    curl_multi_add_handle(multi_, e);
    ++busy;
    transfers_.push_back(std::move(t));
  }
}

std::vector<HttpResponse> HttpSender::run(int wait_ms) {
  start_what_fits();
  std::vector<HttpResponse> done;
  int still_running = 0;
  curl_multi_perform(multi_, &still_running);
  bool polled = false;
  for (;;) {
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &t);
      HttpResponse r;
      r.tag = t->request.tag;
      if (message->data.result == CURLE_OK) {
        long status = 0;
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
        r.status = static_cast<int>(status);
        curl_off_t retry_after = -1;
        if (curl_easy_getinfo(t->easy, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0)
          r.retry_after_s = retry_after;
        r.body = std::move(t->answer);
      } else {
        r.refused = t->refused;
        r.error = t->refused ? "the host's address is on a private network (push.allow_private_networks)"
                  : t->error[0] ? t->error : curl_easy_strerror(message->data.result);
      }
      done.push_back(std::move(r));
      curl_multi_remove_handle(multi_, t->easy);
      if (--per_host_[t->host] <= 0) per_host_.erase(t->host);
      transfers_.erase(std::find_if(transfers_.begin(), transfers_.end(), [t](const auto& p) { return p.get() == t; }));
    }
    if (!done.empty() || polled) break;
    start_what_fits();
    curl_multi_poll(multi_, nullptr, 0, wait_ms, nullptr);
    polled = true;
    curl_multi_perform(multi_, &still_running);
  }
  start_what_fits();
  return done;
}

}  // namespace parley::push

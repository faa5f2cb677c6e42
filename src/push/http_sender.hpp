// HttpSender: the push dispatcher's HTTP requests to push services and webhooks, many at once
// on one thread (libcurl's multi interface: HTTP/1.1 and HTTP/2, TLS with the system's CA
// certificates). A request waits in this sender's own queue while `max_in_flight` requests are
// under way, or `max_in_flight_per_host` to its host, so a push service that hangs holds only
// its own slots; each request, once started, fails after `timeout_ms`. No redirects, only
// http(s), and (unless `allow_private_networks`) no connection to a loopback, private,
// link-local or unique-local address: a user registers the URL, and it must not become a way
// into the operator's network.
//
// Not thread-safe but for wakeup(): one thread calls add() and run().
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace parley::push {

struct HttpRequest {
  std::uint64_t tag = 0;             // handed back with the response
  std::string url;                   // http:// or https://
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // POSTed
  bool http2 = false;                // HTTP/2 only (APNs): ALPN over TLS, prior knowledge over http://
  bool configured_url = false;       // the operator's URL (FCM, APNs), not a user's: any address
};

struct HttpResponse {
  std::uint64_t tag = 0;
  int status = 0;                    // the HTTP status; 0 = none (could not connect, timed out, refused)
  std::string error;                 // why there is no status
  bool refused = false;              // not sent: the host is on a private network (not to retry)
  std::int64_t retry_after_s = -1;   // Retry-After (seconds or an HTTP date, as seconds from now); -1 = none
  std::string body;                  // the first kMaxBodyBytes of the answer (for logs)
  static constexpr std::size_t kMaxBodyBytes = 1024;
};

struct HttpSenderOptions {
  int timeout_ms = 10000;
  int max_in_flight = 64;
  int max_in_flight_per_host = 8;
  bool allow_private_networks = false;
};

class HttpSender {
 public:
  explicit HttpSender(HttpSenderOptions options);
  ~HttpSender();
  HttpSender(const HttpSender&) = delete;
  HttpSender& operator=(const HttpSender&) = delete;

  void add(HttpRequest request);
  // Moves the requests on for at most `wait_ms` (less if one completes or wakeup() is called)
  // and returns those that completed.
  std::vector<HttpResponse> run(int wait_ms);
  // Makes a run() under way (or the next one) return at once. Any thread.
  void wakeup();
  // Requests added and not yet handed back by run().
  std::size_t pending() const { return queued_.size() + transfers_.size(); }

 private:
  struct Transfer;
  static std::string host_of(const std::string& url);
  void start_what_fits();

  HttpSenderOptions options_;
  void* multi_ = nullptr;  // CURLM*
  std::deque<HttpRequest> queued_;
  std::map<std::string, int> per_host_;  // requests under way per host
  std::vector<std::unique_ptr<Transfer>> transfers_;
};

}  // namespace parley::push

// HTTP transfers of media files (docs/protocol.md "media.upload", "Uploading and downloading"):
// a PUT streamed from a file and a GET streamed into a sink, over http:// (parleyd's local
// backend) or https:// (an S3-compatible store's pre-signed URLs), asynchronously on the
// caller's io_context. A file is never held in memory: it goes through in 64 KiB pieces.
// There is no timeout for the whole transfer (a 100 MB file takes what it takes), only one
// for each step: connecting, and each write or read that makes no progress.
//
// Single-threaded like the rest of the library: start a transfer on the io_context's thread;
// progress and done run on it. Boost.Beast and OpenSSL stay in http_transfer.cpp.
#pragma once

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::client {

struct TransferUrl {
  bool tls = false;          // https
  std::string host;          // name or address (IPv6 without brackets)
  std::uint16_t port = 80;
  std::string authority;     // as written in the URL ("host:port" or "host"): the Host header,
                             // which an S3 signature covers
  std::string target;        // path and query, from the first '/'
};

// Parses an absolute "http://AUTHORITY/..." or "https://AUTHORITY/..." URL (no user info);
// nullopt if it is not one.
std::optional<TransferUrl> parse_transfer_url(std::string_view url);

struct TransferResult {
  int status = 0;               // the final HTTP status; 0: no complete response (see `error`)
  std::string error;            // what failed, e.g. "connect to 127.0.0.1: Connection refused"
  std::uint64_t body_bytes = 0; // body bytes sent (PUT) or received and accepted by the sink (GET)
  std::string error_body;       // the body of a non-2xx response, its first 64 KiB
  std::string content_type;     // of the response (GET)
  bool ok() const { return error.empty() && status >= 200 && status < 300; }
};

// done: bytes of the body moved so far; total: the body's size (0 if the server did not say).
using TransferProgress = std::function<void(std::uint64_t done, std::uint64_t total)>;
using TransferDone = std::function<void(TransferResult)>;
// Takes a GET's body in order, a piece at a time; false aborts the transfer (its result's
// error says so).
using BodySink = std::function<bool(std::string_view piece)>;

struct TransferOptions {
  // Extra request headers (upload.headers of media.upload). Content-Length and Host are the
  // transfer's own and ignored here.
  std::vector<std::pair<std::string, std::string>> headers;
  TransferProgress progress;      // after each piece
  int step_timeout_ms = 60000;    // connecting, or one write or read, taking longer fails
  std::string user_agent = "parley-client";
};

// PUTs the file at `path`, which must be `size` bytes (checked when it is opened), to `url`.
// `done` runs once, never before put_file returned, with the server's answer or what failed (also when the server answered
// before the whole body was sent: a refused URL).
void put_file(boost::asio::io_context& io, const TransferUrl& url, const std::string& path, std::uint64_t size,
              TransferOptions options, TransferDone done);

// GETs `url`; a 2xx body goes to `sink`, any other status's body to TransferResult::error_body.
// A body shorter than its Content-Length is an error. `done` runs once.
void get_to_sink(boost::asio::io_context& io, const TransferUrl& url, BodySink sink, TransferOptions options,
                 TransferDone done);

}  // namespace parley::client

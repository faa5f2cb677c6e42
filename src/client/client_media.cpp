// Client's media calls (client.hpp): upload_file, media_urls, download, download_to. The
// commands go over the WebSocket like any request; the bytes go over HTTP (http_transfer.hpp)
// on the same io_context, so the session keeps pinging while a large file moves.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <simdjson.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "client/client.hpp"
#include "client/media_json.hpp"
#include "core/json_writer.hpp"

namespace parley::client {

namespace {

Reply failure(std::string code, std::string message) {
  Reply r;
  r.type = "error";
  r.code = std::move(code);
  r.message = std::move(message);
  return r;
}

Reply success() {
  Reply r;
  r.ok = true;
  r.type = "ok";
  return r;
}

// A failed HTTP transfer as a Reply: parleyd's error body ({"error": {"code", "message"}})
// gives its code; an S3 store's XML (<Code>, <Message>) or anything else gives "http_NNN".
Reply transfer_failure(const TransferResult& result, const char* what) {
  if (result.status == 0) return failure("transfer_failed", std::string(what) + " failed: " + result.error);
  simdjson::dom::parser parser;
  simdjson::dom::element error;
  std::string_view code, message;
  if (parser.parse(result.error_body).get(error) == simdjson::SUCCESS &&
      error["error"]["code"].get_string().get(code) == simdjson::SUCCESS) {
    if (error["error"]["message"].get_string().get(message) != simdjson::SUCCESS) message = {};
    return failure(std::string(code), std::string(message));
  }
  const auto xml = [&](const char* tag) {
    const std::string open = std::string("<") + tag + ">", close = std::string("</") + tag + ">";
    const auto start = result.error_body.find(open);
    if (start == std::string::npos) return std::string();
    const auto end = result.error_body.find(close, start);
    if (end == std::string::npos) return std::string();
    return result.error_body.substr(start + open.size(), end - start - open.size());
  };
  std::string detail = std::string(what) + " answered HTTP " + std::to_string(result.status);
  if (const std::string store_code = xml("Code"); !store_code.empty()) {
    detail += ": " + store_code;
    if (const std::string store_message = xml("Message"); !store_message.empty()) detail += " (" + store_message + ")";
  }
  return failure("http_" + std::to_string(result.status), detail);
}

// The reply's JSON parsed, its element `key` handed to `read`; a bad_response failure if the
// reply is not JSON.
template <class Read>
bool read_reply(const Reply& reply, Read read) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(reply.json).get(doc) != simdjson::SUCCESS) return false;
  read(doc);
  return true;
}

}  // namespace

std::string Client::http_base_url() const {
  if (!options_.http_base_url.empty()) return options_.http_base_url;
  const Endpoint& e = options_.endpoint;
  const bool v6 = e.host.find(':') != std::string::npos;
  std::string prefix = e.path;
  if (prefix.size() >= 3 && prefix.compare(prefix.size() - 3, 3, "/ws") == 0) prefix.resize(prefix.size() - 3);
  return "http://" + (v6 ? "[" + e.host + "]" : e.host) + ":" + std::to_string(e.port) + prefix;
}

void Client::upload_file(const std::string& path, UploadOptions options, MediaHandler done) {
  std::string error;
  auto digest = digest_file(path, error);
  if (!digest) return done(failure("file_error", error), Media{});
  const std::string file_name = options.file_name.empty() ? base_name(path) : options.file_name;
  const std::string content_type = options.content_type.empty() ? guess_content_type(file_name) : options.content_type;
  std::string fields;
  JsonWriter(fields)
      .field("size", digest->size)
      .field("content_type", content_type)
      .field("file_name", file_name)
      .field("sha256", digest->sha256);
  std::weak_ptr<Client> weak = weak_from_this();
  const std::uint64_t size = digest->size;
  request("media.upload", fields, [weak, path, size, progress = std::move(options.progress), done](const Reply& reply) {
    auto self = weak.lock();
    if (!self) return done(failure("stopped", "the client is gone"), Media{});
    if (!reply.ok) return done(reply, Media{});
    std::string media_id, url;
    TransferOptions transfer;
    transfer.progress = progress;
    const bool parsed = read_reply(reply, [&](simdjson::dom::element doc) {
      std::string_view text;
      if (doc["media_id"].get_string().get(text) == simdjson::SUCCESS) media_id = std::string(text);
      if (doc["upload"]["url"].get_string().get(text) == simdjson::SUCCESS) url = std::string(text);
      simdjson::dom::object headers;
      if (doc["upload"]["headers"].get_object().get(headers) == simdjson::SUCCESS)
        for (auto [name, value] : headers)
          if (value.get_string().get(text) == simdjson::SUCCESS) transfer.headers.emplace_back(std::string(name), std::string(text));
    });
    auto target = resolve_media_url(self->http_base_url(), url);
    if (!parsed || media_id.empty() || !target)
      return done(failure("bad_response", "media.upload answered no usable upload URL: " + reply.json), Media{});
    put_file(self->io_, *target, path, size, std::move(transfer), [weak, media_id, done](TransferResult result) {
      auto self = weak.lock();
      if (!self) return done(failure("stopped", "the client is gone"), Media{});
      if (!result.ok()) return done(transfer_failure(result, "the upload"), Media{});
      std::string complete;
      JsonWriter(complete).field("media_id", media_id);
      self->request("media.complete", complete, [done](const Reply& reply) {
        Media media;
        if (reply.ok && !read_reply(reply, [&](simdjson::dom::element doc) {
              simdjson::dom::element object;
              if (doc["media"].get(object) == simdjson::SUCCESS) media = parse_media(object);
            }))
          return done(failure("bad_response", "media.complete answered no media"), Media{});
        done(reply, media);
      });
    });
  });
}

void Client::media_urls(const std::vector<std::string>& media_ids, MediaUrlsHandler done) {
  std::string fields;
  JsonWriter w(fields);
  w.key("media_ids").begin_array();
  for (const auto& id : media_ids) w.value(id);
  w.end_array();
  request("media.urls", fields, [done](const Reply& reply) {
    MediaUrls urls;
    if (reply.ok && !read_reply(reply, [&](simdjson::dom::element doc) { urls = parse_media_urls(doc); }))
      return done(failure("bad_response", "media.urls answered no JSON"), MediaUrls{});
    done(reply, urls);
  });
}

void Client::download_to(const std::string& media_id, BodySink sink, DownloadOptions options, DownloadHandler done) {
  std::weak_ptr<Client> weak = weak_from_this();
  media_urls({media_id}, [weak, media_id, sink = std::move(sink), options = std::move(options), done](
                             const Reply& reply, const MediaUrls& urls) {
    auto self = weak.lock();
    if (!self) return done(failure("stopped", "the client is gone"), 0);
    if (!reply.ok) return done(reply, 0);
    if (urls.media.empty() || urls.media.front().id != media_id)
      return done(failure("not_found", "media " + media_id +
                                           " cannot be downloaded: unknown, not uploaded completely, or in no "
                                           "message you can see"),
                  0);
    auto target = resolve_media_url(self->http_base_url(), urls.media.front().url);
    if (!target) return done(failure("bad_response", "media.urls answered an unusable URL: " + urls.media.front().url), 0);
    TransferOptions transfer;
    transfer.progress = options.progress;
    const std::int64_t expected = options.expected_size;
    get_to_sink(self->io_, *target, sink, std::move(transfer), [done, expected](TransferResult result) {
      if (!result.ok()) return done(transfer_failure(result, "the download"), result.body_bytes);
      if (expected >= 0 && result.body_bytes != static_cast<std::uint64_t>(expected))
        return done(failure("size_mismatch", "downloaded " + std::to_string(result.body_bytes) + " bytes, expected " +
                                                 std::to_string(expected)),
                    result.body_bytes);
      done(success(), result.body_bytes);
    });
  });
}

void Client::download(const std::string& media_id, const std::string& out_path, DownloadOptions options,
                      DownloadHandler done) {
  // A temporary file in the same directory, so that the rename is atomic and a reader of
  // out_path never sees half a file.
  std::string temp = out_path + ".XXXXXX.part";
  const int fd = ::mkostemps(temp.data(), 5, O_CLOEXEC);
  if (fd < 0) return done(failure("file_error", "cannot create a file beside " + out_path + ": " + std::strerror(errno)), 0);
  const mode_t mask = ::umask(0);  // mkstemp makes 0600; give the file what open() would
  ::umask(mask);
  ::fchmod(fd, 0666 & ~mask);
  auto write_error = std::make_shared<std::string>();
  BodySink sink = [fd, write_error, temp](std::string_view piece) {
    while (!piece.empty()) {
      const ssize_t n = ::write(fd, piece.data(), piece.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        *write_error = "cannot write " + temp + ": " + std::strerror(errno);
        return false;
      }
      piece.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  };
  download_to(media_id, std::move(sink), std::move(options),
              [fd, temp, out_path, write_error, done](const Reply& reply, std::uint64_t bytes) {
                const bool closed = ::close(fd) == 0;
                if (!write_error->empty()) {
                  std::remove(temp.c_str());
                  return done(failure("file_error", *write_error), bytes);
                }
                if (!reply.ok) {
                  std::remove(temp.c_str());
                  return done(reply, bytes);
                }
                if (!closed || std::rename(temp.c_str(), out_path.c_str()) != 0) {
                  const std::string why = std::strerror(errno);
                  std::remove(temp.c_str());
                  return done(failure("file_error", "cannot write " + out_path + ": " + why), bytes);
                }
                done(reply, bytes);
              });
}

}  // namespace parley::client

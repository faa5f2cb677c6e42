// The server's own requests to an S3-compatible store (media.backend = s3): HEAD, GET into a
// file, PUT and DELETE of one object each, authenticated by SigV4 pre-signed URLs
// (s3_presign.hpp) made for each request. Blocking: for the media worker thread, never an
// I/O thread. Boost.Beast over plain TCP (http://) or TLS with the system's CA certificates
// and host name checks (https://), kept in s3_client.cpp alone (slow to compile). One
// connection per request ("Connection: close"): a completed upload costs four requests at
// most, so there is nothing worth pooling.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "media/s3_presign.hpp"

namespace parley::media {

class S3Client {
 public:
  // `timeout_ms` bounds each step of a request (resolve excepted): connecting, the TLS
  // handshake, sending, and each read of the response, so a slow but moving download of a
  // large file goes on while a store that stops answering fails the request. The location is
  // checked by the caller (MediaUrls does at start-up).
  S3Client(S3Location location, int timeout_ms);

  // HEAD: the object's size in bytes. not_found if there is no such object; unavailable if the
  // store cannot be reached, times out or answers anything but 200 or 404.
  Result<std::int64_t> size_of(const std::string& key) const;

  // GET: the object streamed into a new file at `path` (created 0600; internal if a file is
  // there already), never more than `max_bytes` (too_large). not_found and unavailable as
  // size_of. On failure the file may hold part of the object: the caller removes it.
  Status download(const std::string& key, const std::string& path, std::int64_t max_bytes) const;

  // PUT: `body` as the object, served later with `content_type`. unavailable on failure.
  Status upload(const std::string& key, std::string_view body, std::string_view content_type) const;

  // PUT: the file at `path` as the object (streamed from disk, its size signed), served later
  // with `content_type` and `content_disposition` (none if empty). unavailable on failure;
  // internal if the file cannot be read. For the checked original media.complete stores.
  Status upload_file(const std::string& key, const std::string& path, std::string_view content_type,
                     std::string_view content_disposition = {}) const;

  // DELETE: an object that is not there counts as deleted. unavailable on failure.
  Status remove(const std::string& key) const;

 private:
  std::string presign(S3Method method, const std::string& key, std::int64_t content_length) const;

  S3Location location_;
  int timeout_ms_;
};

// A file that is removed (unlinked) when this is destroyed: where a fetched object is checked.
class TemporaryFile {
 public:
  explicit TemporaryFile(std::string path) : path_(std::move(path)) {}
  ~TemporaryFile();
  TemporaryFile(TemporaryFile&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TemporaryFile& operator=(TemporaryFile&& other) noexcept;
  TemporaryFile(const TemporaryFile&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace parley::media

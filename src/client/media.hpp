// The client library's media types (docs/protocol.md "media.upload", "media.complete"; the
// attachments of `send` and of text events; "media.urls"), and the local work of an upload:
// naming, typing and hashing the file. The transfers are Client::upload_file / download
// (client.hpp), the HTTP underneath http_transfer.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/http_transfer.hpp"

namespace parley::client {

// A completed upload as the server describes it: media.complete's `media`, and each entry of
// a text event's `attachments`.
struct Media {
  std::string id;             // the media id (22 characters)
  std::string file_name;      // sanitized by the server
  std::int64_t size = 0;      // bytes
  std::string content_type;   // what the bytes are (the server's reading, not the uploader's claim)
  std::int64_t width = 0;     // JPEG, PNG, WebP, GIF only: as displayed; 0 otherwise
  std::int64_t height = 0;
  bool thumbnail = false;     // a thumbnail exists (media.urls then gives a thumbnail_url)
  std::string preview;        // base64 JPEG of a few hundred bytes, images only
};

// One entry of media.urls' `media`. URLs are relative to the server with the local backend.
struct MediaUrl {
  std::string id;
  std::string url;
  std::string thumbnail_url;  // empty: no thumbnail
};

struct MediaUrls {
  std::vector<MediaUrl> media;       // the ids the caller may download, in the order asked
  std::vector<std::string> missing;  // the others (unknown, not ready, in no message the caller sees)
  std::int64_t url_expires_at = 0;   // Unix seconds
};

struct UploadOptions {
  std::string content_type;   // empty: guess_content_type(file_name)
  std::string file_name;      // empty: the path's last component
  TransferProgress progress;  // during the PUT
};

struct DownloadOptions {
  std::int64_t expected_size = -1;  // when known (an attachment's size): a download of another size fails
  TransferProgress progress;
};

// A content type from a file name's extension (case-insensitive), for media.upload; the
// server reads the bytes anyway and refuses only an image/video/audio claim the bytes belie.
// "application/octet-stream" when the extension says nothing.
std::string guess_content_type(std::string_view file_name);

// The last component of a path ("a/b/c.txt" -> "c.txt").
std::string base_name(std::string_view path);

struct FileDigest {
  std::uint64_t size = 0;
  std::string sha256;  // 64 lower-case hexadecimal digits
};
// Reads the regular file at `path` once, in 1 MiB pieces, for its size and SHA-256. On
// failure, nullopt and `error` says why ("cannot open x: No such file or directory").
std::optional<FileDigest> digest_file(const std::string& path, std::string& error);

// `url` as given by the server, made absolute: a path ("/v1/media/...") is resolved against
// `base_url` ("http://host:port" with an optional path prefix). nullopt if it is neither.
std::optional<TransferUrl> resolve_media_url(const std::string& base_url, const std::string& url);

}  // namespace parley::client

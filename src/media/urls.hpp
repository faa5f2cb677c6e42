// The URLs clients upload to and download from, for whichever backend media.backend names:
// the local backend's paths on parleyd itself (signed with LocalUrlSigner, relative to the
// server's origin), or pre-signed S3 URLs (absolute). Built from the config once; const and
// safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/config.hpp"
#include "media/local_files.hpp"
#include "media/local_signer.hpp"
#include "media/s3_presign.hpp"

namespace parley::media {

class MediaUrls {
 public:
  // Reads media.* (and, for the local backend, loads or creates the key: see
  // load_or_create_media_key). Throws std::runtime_error on a bad S3 location (start-up only).
  explicit MediaUrls(const Config& config);

  bool local() const { return !s3_; }
  // The store's location with media.backend = s3 (checked); nullptr with the local backend.
  const S3Location* s3_location() const { return s3_ ? &*s3_ : nullptr; }

  // Where to PUT the `size` bytes of upload `media_id`, valid until `expires_at_s` (signed at
  // `now_s`). Local: "/v1/media/ID/content?size=S&expires=E&sig=SIG"; S3: the pre-signed URL of
  // the object "uploads/ID", with Content-Length signed. (Not "media/ID": an S3 URL stays
  // usable until it expires, so what clients may write is never what others download.
  // media.complete stores the checked file as "media/ID".)
  std::string upload_url(std::string_view media_id, std::int64_t size, std::int64_t now_s, std::int64_t expires_at_s) const;

  // Where to GET a stored object (the original or its thumbnail) until `expires_at_s`.
  // Local: "/v1/media/ID/content?expires=E&sig=SIG" ("/thumbnail" for the thumbnail).
  std::string download_url(std::string_view media_id, MediaVariant variant, std::int64_t now_s,
                           std::int64_t expires_at_s) const;

  // The local backend's check of a request's signature (see LocalUrlSigner::verify). The
  // object of a thumbnail is "ID.thumb". Only for the local backend.
  UrlCheck verify_local(SignedMethod method, std::string_view media_id, MediaVariant variant, std::int64_t expires_at_s,
                        std::int64_t declared_size, std::string_view signature, std::int64_t now_s) const;

  // The S3 object key of a media id's object: "media/ID", "media/ID.thumb". Only parleyd writes
  // these.
  static std::string s3_key(std::string_view media_id, MediaVariant variant);
  // The S3 object key a client uploads to: "uploads/ID".
  static std::string s3_upload_key(std::string_view media_id);

 private:
  std::optional<LocalUrlSigner> signer_;
  std::optional<S3Location> s3_;
};

}  // namespace parley::media

// The `local` backend's signed URLs. parleyd itself serves media at URLs that carry an
// expiry and an HMAC-SHA256 signature; the signature covers the method, the object name (a
// media id, or a media id's derived object such as its thumbnail), the expiry and, for an
// upload, the declared size, so a URL cannot be reused for another object, another method,
// a later time or a larger upload. All methods are const and safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace parley::media {

enum class SignedMethod { get, put };

// Why a signed URL was refused (the HTTP layer answers 403 for every one of them, and
// names the reason in the body: "expired" and "bad_signature" are documented).
enum class UrlCheck { ok, bad_signature, expired };

class LocalUrlSigner {
 public:
  // Shortest key accepted (bytes). Throws std::invalid_argument for a shorter key: a short
  // key could be guessed from the URLs it signs.
  static constexpr std::size_t kMinKeyBytes = 32;
  explicit LocalUrlSigner(std::string key);

  // The signature of (method, object, expires_at_s, declared_size) as 43 characters of
  // URL-safe base64 (no padding). `declared_size` is the exact size a PUT must carry; a GET
  // is signed with -1. `object` must not contain '\n' (media ids and their suffixes never do).
  std::string sign(SignedMethod method, std::string_view object, std::int64_t expires_at_s,
                   std::int64_t declared_size) const;

  // Checks `signature` (as received in the URL) for the same tuple at Unix time `now_s`.
  // The signature is compared in constant time and before the expiry is looked at, so a
  // forged URL is never told whether its expiry was acceptable.
  UrlCheck verify(SignedMethod method, std::string_view object, std::int64_t expires_at_s,
                  std::int64_t declared_size, std::string_view signature, std::int64_t now_s) const;

 private:
  std::string key_;
};

// The media URL key: `configured` if it is non-empty (config media.secret; at least
// kMinKeyBytes), else the contents of DATA_DIR/media.key, created once with 32 random bytes
// (base64url) and mode 0600, exclusively (never readable by others, not even for a moment).
// Throws std::runtime_error when the file cannot be read or created (start-up only).
std::string load_or_create_media_key(const std::string& configured, const std::string& data_dir);

}  // namespace parley::media

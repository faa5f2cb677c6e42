// VAPID (RFC 8292): the application server's P-256 key that browsers bind a push subscription
// to, and the `Authorization: vapid t=..., k=...` header each push request carries. A const
// VapidKey may be used from several threads at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/result.hpp"
#include "push/private_key.hpp"

namespace parley::push {

class VapidKey {
 public:
  static Result<VapidKey> generate();

  // From configured text: a PEM private key (P-256), or the base64url 32-byte private scalar
  // that `web-push generate-vapid-keys` prints (the public key is derived from it).
  static Result<VapidKey> from_pem(std::string_view pem);
  static Result<VapidKey> from_base64url_scalar(std::string_view scalar_base64url);

  // Reads a PEM file written by save().
  static Result<VapidKey> load(const std::filesystem::path& path);

  // The key in `path`, or a new one written there first. Every server of a deployment must
  // use the same key (subscriptions are bound to it), so a key file is never replaced: when
  // two processes race to create it, both end up with the one that was linked in first.
  static Result<VapidKey> load_or_create(const std::filesystem::path& path);

  // Writes the key as PKCS#8 PEM with mode 0600: to a temporary file in the same folder, then
  // renamed over `path`, so a reader never sees half a key.
  Status save(const std::filesystem::path& path) const;

  // The 65-byte uncompressed public point, base64url without padding: the
  // `applicationServerKey` a browser passes to pushManager.subscribe(), and the k= parameter.
  const std::string& public_key_base64url() const { return public_key_base64url_; }

  // `vapid t=<JWT>, k=<public key>` for one push request. The JWT is ES256 with claims
  // {"aud":audience_origin,"exp":expires_at,"sub":subject}. `audience_origin` must be an
  // origin as origin_of() returns it; `subject` a "mailto:" or "https:" URI (push services
  // refuse others). RFC 8292 caps exp at 24 hours ahead; the caller picks it (12 h is usual).
  Result<std::string> authorization_header(std::string_view audience_origin, std::string_view subject,
                                           std::int64_t expires_at_unix_seconds) const;

  const PrivateKey& private_key() const { return key_; }

 private:
  static Result<VapidKey> from_key(Result<PrivateKey> key);
  VapidKey(PrivateKey key, std::string public_key)
      : key_(std::move(key)), public_key_base64url_(std::move(public_key)) {}

  PrivateKey key_;
  std::string public_key_base64url_;
};

// The origin of a push endpoint URL, the VAPID audience: "https://host" or
// "https://host:port" when the port is not the scheme's default, scheme and host in lower
// case. nullopt for anything but an absolute http(s) URL with a host (and no user info).
std::optional<std::string> origin_of(std::string_view endpoint_url);

}  // namespace parley::push

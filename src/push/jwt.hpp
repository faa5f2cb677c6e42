// Compact JWS / JWT signing (RFC 7515, RFC 7519) for the push services' credentials: VAPID
// and APNs provider tokens (ES256), and the OAuth2 assertion of an FCM service account
// (RS256). Signing only: Parley never has to accept these tokens. Safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"
#include "push/private_key.hpp"

namespace parley::push {

enum class JwtAlgorithm {
  es256,  // ECDSA P-256 with SHA-256; signature is raw r||s, 64 bytes (RFC 7518 section 3.4)
  rs256,  // RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 section 3.3)
};

// Returns base64url(header_json) "." base64url(claims_json) "." base64url(signature).
// Both JSON texts are used byte for byte: the caller writes them (with an "alg" that matches
// `algorithm`; this function does not parse them). Fails with invalid_field if the key does
// not fit the algorithm (ES256 needs a P-256 key, RS256 an RSA key).
Result<std::string> sign_jwt(JwtAlgorithm algorithm, std::string_view header_json, std::string_view claims_json,
                             const PrivateKey& key);

}  // namespace parley::push

// JSON Web Tokens (RFC 7519), HS256 only: Parley's own access tokens (TokenSigner) and tokens
// minted by a host application that embeds Parley (ExternalJwtVerifier).
//
// Both verifiers check the signature before they look at anything else, accept only
// {"alg":"HS256"} (never "none", never an asymmetric alg, never a header with "crit"), and
// reject tokens longer than kMaxTokenBytes. All methods are const and safe to call from any
// thread at once. Failures are ErrorCode::unauthorized, or ErrorCode::token_expired for an
// authentic token past its "exp"; messages are for logs, not for clients.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/ids.hpp"
#include "core/result.hpp"

namespace parley::auth {

// The "iss" of every token TokenSigner issues; peek_issuer() returning it means "ours".
inline constexpr std::string_view kParleyIssuer = "parley";

// Longer tokens are rejected before any decoding; real ones are a few hundred bytes.
inline constexpr std::size_t kMaxTokenBytes = 8192;

// What a verified Parley access token says.
struct TokenClaims {
  UserId user_id;        // "sub", always > 0
  std::string token_id;  // "jti", the handle for revoking this token
  std::int64_t issued_at;   // "iat", Unix seconds
  std::int64_t expires_at;  // "exp", Unix seconds
};

// Issues and verifies Parley's own access tokens with one HMAC-SHA256 key.
class TokenSigner {
 public:
  // `key` is the raw HMAC key (config auth.secret; 32+ random bytes recommended). Throws
  // std::invalid_argument if it is empty: an empty key would let anyone mint tokens.
  explicit TokenSigner(std::string key);

  // Returns a compact JWT: header {"alg":"HS256","typ":"JWT"}, claims {"iss":"parley",
  // "sub":"<user as decimal>","jti":token_id,"iat":issued_at_s,"exp":expires_at_s}.
  // `user` must be > 0 and `token_id` non-empty (see random_token_id()). Throws
  // std::runtime_error only if OpenSSL's HMAC fails internally (out of memory).
  std::string issue(UserId user, const std::string& token_id, std::int64_t issued_at_s,
                    std::int64_t expires_at_s) const;

  // Verifies `token` against this key at Unix time `now_s`, with no clock leeway (we issue
  // and check with the same clock). unauthorized: malformed token, bad base64, alg other than
  // HS256, bad signature, "iss" not "parley", "sub" not a positive decimal integer, missing
  // or non-integer "jti", "iat" or "exp". token_expired: exp <= now_s. Does not consult any
  // revocation list: that is the caller's job, with the returned token_id.
  Result<TokenClaims> verify(std::string_view token, std::int64_t now_s) const;

 private:
  std::string key_;
};

// What a verified host-application token says. The subject is the host's user id, not a
// Parley UserId: the caller maps it to (or creates) a Parley user.
struct ExternalClaims {
  std::string subject;        // "sub", non-empty, at most 255 bytes, valid UTF-8
  std::string username_hint;  // "preferred_username", else "username", else empty; unchecked
  std::int64_t expires_at;    // "exp", Unix seconds (fractions truncated)
  // "iat" if present; otherwise the earliest the token can have been issued under the
  // lifetime cap (exp - max lifetime), so that "log out everywhere" covers it too.
  std::int64_t issued_at;
  // The handle for revoking this token: "h:" + its "jti" (if a string of 1..64 bytes), else
  // "h:" + base64url of its SHA-256 (22 characters).
  std::string token_id;
};

// Verifies HS256 JWTs minted by a host application with a shared secret.
class ExternalJwtVerifier {
 public:
  // Clock skew tolerated between the host and us, applied to "exp" and "nbf".
  static constexpr std::int64_t kClockLeewaySeconds = 30;

  // `secret`: the shared HMAC key (config auth.jwt_secret); empty disables host tokens.
  // `required_issuer` / `required_audience`: when non-empty, "iss" must equal it / "aud"
  // (a string or an array of strings) must contain it; when empty, the claim is ignored.
  // `max_lifetime_s`: tokens whose exp is further than this past now (or past their iat) are
  // refused (config auth.jwt_max_lifetime_s).
  ExternalJwtVerifier(std::string secret, std::string required_issuer, std::string required_audience,
                      std::int64_t max_lifetime_s);

  // True if a secret is configured; verify() rejects every token otherwise.
  bool enabled() const { return !secret_.empty(); }

  // Verifies `token` at Unix time `now_s`. unauthorized: verifier disabled, malformed token,
  // alg other than HS256, bad signature, "sub" missing / not a string / empty / over 255
  // bytes, "exp" missing or not a number, "nbf" or "iat" not a number, "nbf" > now_s + leeway,
  // "iat" > now_s + leeway, a lifetime over the cap, wrong "iss" or "aud". token_expired:
  // exp <= now_s - leeway.
  Result<ExternalClaims> verify(std::string_view token, std::int64_t now_s) const;

 private:
  std::string secret_;
  std::string required_issuer_;
  std::string required_audience_;
  std::int64_t max_lifetime_s_;
};

// Returns the "iss" claim of `token` WITHOUT verifying anything, or nullopt if the token is
// malformed or "iss" is absent or not a string. The result is attacker-controlled: use it
// only to choose which verifier to run, never to trust the token.
std::optional<std::string> peek_issuer(std::string_view token);

}  // namespace parley::auth

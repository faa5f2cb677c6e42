#include "auth/tokens.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <array>
#include <cassert>
#include <charconv>
#include <cmath>
#include <stdexcept>

#include <simdjson.h>

#include "core/base64.hpp"
#include "core/json_writer.hpp"

namespace parley::auth {
namespace {

using Sha256Mac = std::array<unsigned char, 32>;

constexpr std::string_view kHeaderJson = R"({"alg":"HS256","typ":"JWT"})";
constexpr std::size_t kMaxExternalSubjectBytes = 255;

// The three base64url segments of a compact JWS, and the text the signature covers.
struct TokenParts {
  std::string_view header;
  std::string_view payload;
  std::string_view signature;
  std::string_view signing_input;  // "header.payload"
};

// Splits `token` into exactly three non-empty dot-separated parts; nullopt otherwise.
std::optional<TokenParts> split_token(std::string_view token) {
  if (token.empty() || token.size() > kMaxTokenBytes) return std::nullopt;
  const std::size_t first_dot = token.find('.');
  if (first_dot == std::string_view::npos) return std::nullopt;
  const std::size_t second_dot = token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos) return std::nullopt;
  if (token.find('.', second_dot + 1) != std::string_view::npos) return std::nullopt;

  TokenParts parts{token.substr(0, first_dot), token.substr(first_dot + 1, second_dot - first_dot - 1),
                   token.substr(second_dot + 1), token.substr(0, second_dot)};
  if (parts.header.empty() || parts.payload.empty() || parts.signature.empty()) return std::nullopt;
  return parts;
}

// HMAC-SHA256 of `data` under `key`. False only if OpenSSL fails internally.
bool hmac_sha256(std::string_view key, std::string_view data, Sha256Mac& mac) {
  unsigned int mac_length = 0;
  const unsigned char* result =
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &mac_length);
  return result != nullptr && mac_length == mac.size();
}

// Parses `json` as a JSON object with this thread's parser (a dom::parser is not thread-safe,
// and reusing one avoids reallocating its buffers per token). The object stays valid until
// the next parse_object call on the same thread.
std::optional<simdjson::dom::object> parse_object(std::string_view json) {
  thread_local simdjson::dom::parser parser;
  const simdjson::padded_string padded(json);
  simdjson::dom::object object;
  if (parser.parse(padded).get(object) != simdjson::SUCCESS) return std::nullopt;
  return object;
}

// The string value of `object[name]`, or nullopt if absent or not a string.
std::optional<std::string_view> string_claim(simdjson::dom::object object, std::string_view name) {
  std::string_view value;
  if (object[name].get(value) != simdjson::SUCCESS) return std::nullopt;
  return value;
}

// The integer value of `object[name]`, or nullopt if absent, not an integer or out of range.
std::optional<std::int64_t> integer_claim(simdjson::dom::object object, std::string_view name) {
  std::int64_t value = 0;
  if (object[name].get(value) != simdjson::SUCCESS) return std::nullopt;
  return value;
}

// A NumericDate (RFC 7519 section 2): seconds, which the RFC allows to be fractional; we
// truncate toward the past. nullopt for non-numbers and absurd magnitudes.
std::optional<std::int64_t> numeric_date(simdjson::dom::element value) {
  std::int64_t whole_seconds = 0;
  if (value.get(whole_seconds) == simdjson::SUCCESS) return whole_seconds;
  double seconds = 0;
  if (value.is_double() && value.get(seconds) == simdjson::SUCCESS) {
    constexpr double kLimit = 1e15;  // ~31 million years; keeps the cast well defined
    if (std::isfinite(seconds) && seconds > -kLimit && seconds < kLimit) {
      return static_cast<std::int64_t>(std::floor(seconds));
    }
  }
  return std::nullopt;
}

// "sub" of a Parley token: a canonical positive decimal int64 ("42", not "042" or "+42").
std::optional<UserId> parse_user_id(std::string_view text) {
  if (text.empty() || text.front() < '1' || text.front() > '9') return std::nullopt;
  UserId user = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), user);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return user;
}

Error unauthorized(std::string message) { return make_error(ErrorCode::unauthorized, std::move(message)); }

// Checks the signature of `token` under `key`, then its header. Returns the decoded claims
// JSON on success. The signature comes first so that nothing an attacker wrote is parsed
// before it is known to be authentic; the alg is still checked afterwards, because a token
// signed with our key under another declared alg is not one we issued.
Result<std::string> authenticate(std::string_view token, std::string_view key) {
  const std::optional<TokenParts> parts = split_token(token);
  if (!parts) return unauthorized("token is not three dot-separated parts");

  const std::optional<std::string> signature = base64url_decode(parts->signature);
  if (!signature || signature->size() != Sha256Mac{}.size()) return unauthorized("bad token signature");
  Sha256Mac expected_mac;
  if (!hmac_sha256(key, parts->signing_input, expected_mac)) {
    return make_error(ErrorCode::internal, "HMAC-SHA256 failed");
  }
  if (CRYPTO_memcmp(expected_mac.data(), signature->data(), expected_mac.size()) != 0) {
    return unauthorized("bad token signature");
  }

  const std::optional<std::string> header_json = base64url_decode(parts->header);
  if (!header_json) return unauthorized("token header is not base64url");
  const std::optional<simdjson::dom::object> header = parse_object(*header_json);
  if (!header) return unauthorized("token header is not a JSON object");
  if (string_claim(*header, "alg") != "HS256") return unauthorized("token alg is not HS256");
  // RFC 7515 section 4.1.11: extensions listed in "crit" must be understood; we know none.
  simdjson::dom::element critical;
  if ((*header)["crit"].get(critical) == simdjson::SUCCESS) return unauthorized("token header has crit");

  std::optional<std::string> claims_json = base64url_decode(parts->payload);
  if (!claims_json) return unauthorized("token claims are not base64url");
  return std::move(*claims_json);
}

// True if "aud" (a string or an array of strings) names `audience`.
bool audience_matches(simdjson::dom::object claims, std::string_view audience) {
  simdjson::dom::element aud;
  if (claims["aud"].get(aud) != simdjson::SUCCESS) return false;
  std::string_view single;
  if (aud.get(single) == simdjson::SUCCESS) return single == audience;
  simdjson::dom::array list;
  if (aud.get(list) != simdjson::SUCCESS) return false;
  for (simdjson::dom::element item : list) {
    std::string_view name;
    if (item.get(name) == simdjson::SUCCESS && name == audience) return true;
  }
  return false;
}

}  // namespace

TokenSigner::TokenSigner(std::string key) : key_(std::move(key)) {
  if (key_.empty()) throw std::invalid_argument("TokenSigner: empty signing key");
}

std::string TokenSigner::issue(UserId user, const std::string& token_id, std::int64_t issued_at_s,
                               std::int64_t expires_at_s) const {
  // Store ids start at 1; a token for user <= 0 would be one verify() rejects.
  assert(user > 0);
  static const std::string encoded_header = base64url_encode(kHeaderJson);

  std::string claims_json;
  JsonWriter writer(claims_json);
  writer.begin_object()
      .field("iss", kParleyIssuer)
      .field("sub", std::to_string(user))
      .field("jti", token_id)
      .field("iat", issued_at_s)
      .field("exp", expires_at_s)
      .end_object();

  std::string token = encoded_header;
  token.push_back('.');
  token.append(base64url_encode(claims_json));
  Sha256Mac mac;
  if (!hmac_sha256(key_, token, mac)) throw std::runtime_error("HMAC-SHA256 failed");
  token.push_back('.');
  token.append(base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size())));
  return token;
}

Result<TokenClaims> TokenSigner::verify(std::string_view token, std::int64_t now_s) const {
  Result<std::string> claims_json = authenticate(token, key_);
  if (!claims_json) return claims_json.take_error();
  const std::optional<simdjson::dom::object> claims = parse_object(*claims_json);
  if (!claims) return unauthorized("token claims are not a JSON object");

  if (string_claim(*claims, "iss") != kParleyIssuer) return unauthorized("token iss is not parley");
  const std::optional<std::string_view> subject = string_claim(*claims, "sub");
  const std::optional<UserId> user = subject ? parse_user_id(*subject) : std::nullopt;
  if (!user) return unauthorized("token sub is not a user id");
  const std::optional<std::string_view> token_id = string_claim(*claims, "jti");
  if (!token_id || token_id->empty()) return unauthorized("token has no jti");
  const std::optional<std::int64_t> issued_at = integer_claim(*claims, "iat");
  if (!issued_at) return unauthorized("token has no integer iat");
  const std::optional<std::int64_t> expires_at = integer_claim(*claims, "exp");
  if (!expires_at) return unauthorized("token has no integer exp");

  if (*expires_at <= now_s) return make_error(ErrorCode::token_expired, "token expired");
  return TokenClaims{*user, std::string(*token_id), *issued_at, *expires_at};
}

ExternalJwtVerifier::ExternalJwtVerifier(std::string secret, std::string required_issuer,
                                         std::string required_audience, std::int64_t max_lifetime_s)
    : secret_(std::move(secret)),
      required_issuer_(std::move(required_issuer)),
      required_audience_(std::move(required_audience)),
      max_lifetime_s_(max_lifetime_s) {}

Result<ExternalClaims> ExternalJwtVerifier::verify(std::string_view token, std::int64_t now_s) const {
  if (!enabled()) return unauthorized("host application tokens are not enabled");
  Result<std::string> claims_json = authenticate(token, secret_);
  if (!claims_json) return claims_json.take_error();
  const std::optional<simdjson::dom::object> claims = parse_object(*claims_json);
  if (!claims) return unauthorized("token claims are not a JSON object");

  const std::optional<std::string_view> subject = string_claim(*claims, "sub");
  if (!subject || subject->empty() || subject->size() > kMaxExternalSubjectBytes) {
    return unauthorized("token sub is missing, empty or too long");
  }

  simdjson::dom::element exp_value;
  if ((*claims)["exp"].get(exp_value) != simdjson::SUCCESS) return unauthorized("token has no exp");
  const std::optional<std::int64_t> expires_at = numeric_date(exp_value);
  if (!expires_at) return unauthorized("token exp is not a number");

  simdjson::dom::element nbf_value;
  if ((*claims)["nbf"].get(nbf_value) == simdjson::SUCCESS) {
    const std::optional<std::int64_t> not_before = numeric_date(nbf_value);
    if (!not_before) return unauthorized("token nbf is not a number");
    if (*not_before > now_s + kClockLeewaySeconds) return unauthorized("token not valid yet (nbf)");
  }

  if (!required_issuer_.empty() && string_claim(*claims, "iss") != required_issuer_) {
    return unauthorized("token iss does not match");
  }
  if (!required_audience_.empty() && !audience_matches(*claims, required_audience_)) {
    return unauthorized("token aud does not match");
  }

  if (*expires_at <= now_s - kClockLeewaySeconds) return make_error(ErrorCode::token_expired, "token expired");

  // A token valid for decades cannot be taken back in practice: refuse long lifetimes.
  std::optional<std::int64_t> issued_at;
  simdjson::dom::element iat_value;
  if ((*claims)["iat"].get(iat_value) == simdjson::SUCCESS) {
    issued_at = numeric_date(iat_value);
    if (!issued_at) return unauthorized("token iat is not a number");
    if (*issued_at > now_s + kClockLeewaySeconds) return unauthorized("token issued in the future (iat)");
    if (*expires_at - *issued_at > max_lifetime_s_) return unauthorized("token lifetime exceeds auth.jwt_max_lifetime_s");
  }
  if (*expires_at - now_s > max_lifetime_s_ + kClockLeewaySeconds)
    return unauthorized("token expires further ahead than auth.jwt_max_lifetime_s");

  std::string token_id = "h:";
  if (auto jti = string_claim(*claims, "jti"); jti && !jti->empty() && jti->size() <= 64) {
    token_id.append(*jti);
  } else {
    unsigned char digest[32];
    SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest);
    token_id += base64url_encode(std::string_view(reinterpret_cast<const char*>(digest), 16));
  }

  std::string username_hint;
  if (auto preferred = string_claim(*claims, "preferred_username")) {
    username_hint = *preferred;
  } else if (auto username = string_claim(*claims, "username")) {
    username_hint = *username;
  }
  return ExternalClaims{std::string(*subject), std::move(username_hint), *expires_at,
                        issued_at.value_or(*expires_at - max_lifetime_s_), std::move(token_id)};
}

std::optional<std::string> peek_issuer(std::string_view token) {
  const std::optional<TokenParts> parts = split_token(token);
  if (!parts) return std::nullopt;
  const std::optional<std::string> claims_json = base64url_decode(parts->payload);
  if (!claims_json) return std::nullopt;
  const std::optional<simdjson::dom::object> claims = parse_object(*claims_json);
  if (!claims) return std::nullopt;
  const std::optional<std::string_view> issuer = string_claim(*claims, "iss");
  if (!issuer) return std::nullopt;
  return std::string(*issuer);
}

}  // namespace parley::auth

// Unit tests for auth/passwords and auth/tokens. Hand-built tokens are signed by sign_jwt()
// below, so each negative case differs from a valid token in exactly one way; the fixtures
// made with Python's hmac module check interoperability with an independent implementation.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <set>
#include <string>

#include "auth/passwords.hpp"
#include "auth/search_terms.hpp"
#include "auth/tokens.hpp"
#include "core/base64.hpp"

namespace parley::auth {
namespace {

constexpr std::string_view kHs256Header = R"({"alg":"HS256","typ":"JWT"})";
constexpr std::string_view kParleyKey = "test-signing-key-0123456789abcdef";
constexpr std::string_view kHostSecret = "host-secret";
constexpr std::int64_t kNow = 1'800'000'000;

std::string hmac_sha256_base64url(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &mac_length);
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(mac), mac_length));
}

// A compact HS256 JWS over arbitrary header and claims JSON.
std::string sign_jwt(std::string_view header_json, std::string_view claims_json, std::string_view key) {
  const std::string signing_input = base64url_encode(header_json) + "." + base64url_encode(claims_json);
  return signing_input + "." + hmac_sha256_base64url(key, signing_input);
}

// The middle part of a token, decoded.
std::string claims_of(const std::string& token) {
  const std::size_t first = token.find('.');
  const std::size_t second = token.find('.', first + 1);
  return base64url_decode(token.substr(first + 1, second - first - 1)).value_or("<bad base64>");
}

ErrorCode code_of_own(std::string_view token, std::int64_t now = kNow) {
  const TokenSigner signer{std::string(kParleyKey)};
  const Result<TokenClaims> result = signer.verify(token, now);
  return result.ok() ? ErrorCode::internal : result.error().code;  // internal = "it passed"
}

// ---------------------------------------------------------------- passwords and randomness

class PasswordsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { init_crypto(); }
  static constexpr unsigned long long kOps = 1;
  static constexpr std::size_t kMem = 8192 * 1024;
};

TEST_F(PasswordsTest, InitCryptoIsIdempotent) {
  EXPECT_NO_THROW(init_crypto());
  EXPECT_NO_THROW(init_crypto());
}

TEST_F(PasswordsTest, HashIsArgon2idAndVerifiesTheRightPassword) {
  const std::string hash = hash_password("correct horse battery staple", kOps, kMem);
  EXPECT_EQ(hash.rfind("$argon2id$v=19$m=8192,t=1,", 0), 0u) << hash;
  EXPECT_TRUE(verify_password("correct horse battery staple", hash));
}

TEST_F(PasswordsTest, WrongPasswordDoesNotVerify) {
  const std::string hash = hash_password("correct horse battery staple", kOps, kMem);
  EXPECT_FALSE(verify_password("correct horse battery stapler", hash));
  EXPECT_FALSE(verify_password("", hash));
  EXPECT_FALSE(verify_password(std::string("correct horse battery staple\0x", 30), hash));
}

TEST_F(PasswordsTest, SamePasswordGetsADifferentSaltEachTime) {
  const std::string first = hash_password("hunter2", kOps, kMem);
  const std::string second = hash_password("hunter2", kOps, kMem);
  EXPECT_NE(first, second);
  EXPECT_TRUE(verify_password("hunter2", first));
  EXPECT_TRUE(verify_password("hunter2", second));
}

TEST_F(PasswordsTest, EmptyPasswordHashesAndVerifies) {
  const std::string hash = hash_password("", kOps, kMem);
  EXPECT_TRUE(verify_password("", hash));
  EXPECT_FALSE(verify_password("x", hash));
}

TEST_F(PasswordsTest, MalformedStoredHashNeverVerifies) {
  EXPECT_FALSE(verify_password("hunter2", ""));
  EXPECT_FALSE(verify_password("hunter2", "hunter2"));
  EXPECT_FALSE(verify_password("hunter2", "$argon2id$v=19$m=8192,t=1,p=1$garbage"));
  std::string hash = hash_password("hunter2", kOps, kMem);
  hash.back() = hash.back() == 'A' ? 'B' : 'A';  // corrupt the digest
  EXPECT_FALSE(verify_password("hunter2", hash));
  std::string with_nul = hash_password("hunter2", kOps, kMem);
  with_nul.push_back('\0');
  EXPECT_FALSE(verify_password("hunter2", with_nul));
}

TEST_F(PasswordsTest, RandomTokenIdsAre16BytesAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {  // 1000 draws: a leading '-' (1 in 64 unguarded) would show
    const std::string id = random_token_id();
    EXPECT_EQ(id.size(), 22u);
    EXPECT_NE(id.front(), '-') << id;
    const auto bytes = base64url_decode(id);
    ASSERT_TRUE(bytes.has_value()) << id;
    EXPECT_EQ(bytes->size(), 16u);
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST_F(PasswordsTest, RandomSecretsAre32BytesAndDistinct) {
  const std::string first = random_secret();
  const std::string second = random_secret();
  EXPECT_EQ(first.size(), 43u);
  const auto bytes = base64url_decode(first);
  ASSERT_TRUE(bytes.has_value());
  EXPECT_EQ(bytes->size(), 32u);
  EXPECT_NE(first, second);
}

// ---------------------------------------------------------------- the test helper itself

TEST(JwtTestHelper, ReproducesTheRfc7515AppendixA1Signature) {
  const auto key = base64url_decode(
      "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
  ASSERT_TRUE(key.has_value());
  const std::string signing_input =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
  EXPECT_EQ(hmac_sha256_base64url(*key, signing_input), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
}

// ---------------------------------------------------------------- Parley's own tokens

TEST(TokenSigner, IssuedTokenVerifiesWithItsClaims) {
  const TokenSigner signer{std::string(kParleyKey)};
  const std::string token = signer.issue(42, "token-id-1", kNow - 10, kNow + 3600);
  const Result<TokenClaims> claims = signer.verify(token, kNow);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->user_id, 42);
  EXPECT_EQ(claims->token_id, "token-id-1");
  EXPECT_EQ(claims->issued_at, kNow - 10);
  EXPECT_EQ(claims->expires_at, kNow + 3600);
}

TEST(TokenSigner, IssuedTokenHasTheDocumentedShape) {
  const TokenSigner signer{std::string(kParleyKey)};
  const std::string token = signer.issue(9007199254740993, "abc", 100, 200);
  ASSERT_EQ(std::count(token.begin(), token.end(), '.'), 2);
  EXPECT_EQ(token.substr(0, token.find('.')), base64url_encode(kHs256Header));
  EXPECT_EQ(claims_of(token),
            R"({"iss":"parley","sub":"9007199254740993","jti":"abc","iat":100,"exp":200})");
  EXPECT_EQ(token.find_first_of("+/= "), std::string::npos);
  // The signature is plain HMAC-SHA256 over "header.claims", checked independently here.
  const std::size_t last_dot = token.rfind('.');
  EXPECT_EQ(token.substr(last_dot + 1), hmac_sha256_base64url(kParleyKey, token.substr(0, last_dot)));
}

TEST(TokenSigner, TokenIdIsJsonEscapedAndRoundTrips) {
  const TokenSigner signer{std::string(kParleyKey)};
  const std::string awkward_id = "a\"b\\c\n\x01}";
  const Result<TokenClaims> claims = signer.verify(signer.issue(7, awkward_id, kNow, kNow + 60), kNow);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->token_id, awkward_id);
  EXPECT_EQ(claims->user_id, 7);
}

TEST(TokenSigner, AcceptsATokenMadeByAnIndependentImplementation) {
  // Python: hmac.new(key, input, sha256), header keys in the other order.
  const std::string python_token =
      "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9."
      "eyJpc3MiOiJwYXJsZXkiLCJzdWIiOiI3NyIsImp0aSI6InB5dGhvbi1tYWRlIiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjIwMDAwMDAwMDB9."
      "_TV0BpshImTh5tMQbqBu71aQsp0dhPxz2F-u_x2L7Gw";
  const TokenSigner signer{std::string(kParleyKey)};
  const Result<TokenClaims> claims = signer.verify(python_token, kNow);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->user_id, 77);
  EXPECT_EQ(claims->token_id, "python-made");
  EXPECT_EQ(claims->expires_at, 2000000000);
}

TEST(TokenSigner, ExpiresExactlyAtExpWithNoLeeway) {
  const TokenSigner signer{std::string(kParleyKey)};
  const std::string token = signer.issue(1, "t", kNow - 100, kNow);
  EXPECT_TRUE(signer.verify(token, kNow - 1).ok());
  const Result<TokenClaims> at_exp = signer.verify(token, kNow);
  ASSERT_FALSE(at_exp.ok());
  EXPECT_EQ(at_exp.error().code, ErrorCode::token_expired);
  EXPECT_EQ(code_of_own(token, kNow + 1000), ErrorCode::token_expired);
}

TEST(TokenSigner, TamperedClaimsAreRejected) {
  const TokenSigner signer{std::string(kParleyKey)};
  const std::string token = signer.issue(42, "t", kNow, kNow + 60);
  const std::size_t first = token.find('.');
  const std::size_t second = token.find('.', first + 1);
  const std::string forged_claims = base64url_encode(R"({"iss":"parley","sub":"1","jti":"t","iat":0,"exp":1900000000})");
  const std::string forged = token.substr(0, first + 1) + forged_claims + token.substr(second);
  EXPECT_EQ(code_of_own(forged), ErrorCode::unauthorized);
}

TEST(TokenSigner, TamperedSignatureIsRejected) {
  const TokenSigner signer{std::string(kParleyKey)};
  const std::string token = signer.issue(42, "t", kNow, kNow + 60);
  const std::size_t signature_start = token.rfind('.') + 1;

  std::string flipped = token;
  flipped[signature_start] = flipped[signature_start] == 'A' ? 'B' : 'A';
  EXPECT_EQ(code_of_own(flipped), ErrorCode::unauthorized);

  EXPECT_EQ(code_of_own(token.substr(0, token.size() - 1)), ErrorCode::unauthorized);  // truncated
  EXPECT_EQ(code_of_own(token + "AAAA"), ErrorCode::unauthorized);                     // extended
  EXPECT_EQ(code_of_own(token.substr(0, signature_start)), ErrorCode::unauthorized);   // stripped
}

TEST(TokenSigner, NonCanonicalSignatureEncodingIsRejected) {
  // 32 bytes encode to 43 chars whose last one has 2 unused bits; setting them keeps the
  // decoded bytes but must not yield a second valid spelling of the token.
  const TokenSigner signer{std::string(kParleyKey)};
  const std::string token = signer.issue(42, "t", kNow, kNow + 60);
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const std::size_t last_value = alphabet.find(token.back());
  ASSERT_EQ(last_value & 3, 0u);
  std::string respelled = token;
  respelled.back() = alphabet[last_value | 1];
  EXPECT_EQ(code_of_own(respelled), ErrorCode::unauthorized);
}

TEST(TokenSigner, TokenSignedWithAnotherKeyIsRejected) {
  const TokenSigner other{"some-other-key"};
  EXPECT_EQ(code_of_own(other.issue(42, "t", kNow, kNow + 60)), ErrorCode::unauthorized);
}

TEST(TokenSigner, EmptyKeyIsRefused) {
  EXPECT_THROW(TokenSigner{std::string()}, std::invalid_argument);
}

TEST(TokenSigner, HandBuiltValidTokenIsAccepted) {
  // Guards the negative tests below: the same construction with good claims passes.
  const std::string token = sign_jwt(
      kHs256Header, R"({"iss":"parley","sub":"5","jti":"j","iat":1,"exp":1900000000})", kParleyKey);
  EXPECT_EQ(code_of_own(token), ErrorCode::internal);  // i.e. verified
}

TEST(TokenSigner, AlgNoneIsRejectedSignedOrNot) {
  const std::string claims = R"({"iss":"parley","sub":"5","jti":"j","iat":1,"exp":1900000000})";
  const std::string unsigned_token =
      base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + base64url_encode(claims) + ".";
  EXPECT_EQ(code_of_own(unsigned_token), ErrorCode::unauthorized);
  EXPECT_EQ(code_of_own(unsigned_token.substr(0, unsigned_token.size() - 1)), ErrorCode::unauthorized);
  // Even with a correct HMAC, a header that does not say HS256 is not one we issued.
  EXPECT_EQ(code_of_own(sign_jwt(R"({"alg":"none"})", claims, kParleyKey)), ErrorCode::unauthorized);
}

TEST(TokenSigner, AnyAlgOtherThanHs256IsRejected) {
  const std::string claims = R"({"iss":"parley","sub":"5","jti":"j","iat":1,"exp":1900000000})";
  for (const char* header : {R"({"alg":"HS512"})", R"({"alg":"RS256"})", R"({"alg":"hs256"})",
                             R"({"alg":"HS256 "})", R"({"alg":null})", R"({"typ":"JWT"})",
                             R"(["HS256"])", R"({"alg":"HS256")", "not json"}) {
    EXPECT_EQ(code_of_own(sign_jwt(header, claims, kParleyKey)), ErrorCode::unauthorized) << header;
  }
}

TEST(TokenSigner, CriticalHeaderExtensionsAreRejected) {
  const std::string claims = R"({"iss":"parley","sub":"5","jti":"j","iat":1,"exp":1900000000})";
  EXPECT_EQ(code_of_own(sign_jwt(R"({"alg":"HS256","crit":["b64"],"b64":false})", claims, kParleyKey)),
            ErrorCode::unauthorized);
}

TEST(TokenSigner, ClaimsThatAreNotOursAreRejected) {
  for (const char* claims : {
           R"({"iss":"host","sub":"5","jti":"j","iat":1,"exp":1900000000})",       // wrong issuer
           R"({"sub":"5","jti":"j","iat":1,"exp":1900000000})",                    // no issuer
           R"({"iss":"parley","sub":"0","jti":"j","iat":1,"exp":1900000000})",     // user 0
           R"({"iss":"parley","sub":"-5","jti":"j","iat":1,"exp":1900000000})",    // negative
           R"({"iss":"parley","sub":"+5","jti":"j","iat":1,"exp":1900000000})",
           R"({"iss":"parley","sub":"05","jti":"j","iat":1,"exp":1900000000})",    // not canonical
           R"({"iss":"parley","sub":"5x","jti":"j","iat":1,"exp":1900000000})",
           R"({"iss":"parley","sub":"","jti":"j","iat":1,"exp":1900000000})",
           R"({"iss":"parley","sub":"9223372036854775808","jti":"j","iat":1,"exp":1900000000})",
           R"({"iss":"parley","sub":5,"jti":"j","iat":1,"exp":1900000000})",       // not a string
           R"({"iss":"parley","jti":"j","iat":1,"exp":1900000000})",               // no sub
           R"({"iss":"parley","sub":"5","iat":1,"exp":1900000000})",               // no jti
           R"({"iss":"parley","sub":"5","jti":"","iat":1,"exp":1900000000})",      // empty jti
           R"({"iss":"parley","sub":"5","jti":7,"iat":1,"exp":1900000000})",
           R"({"iss":"parley","sub":"5","jti":"j","exp":1900000000})",             // no iat
           R"({"iss":"parley","sub":"5","jti":"j","iat":1})",                      // no exp
           R"({"iss":"parley","sub":"5","jti":"j","iat":1,"exp":"1900000000"})",   // exp string
           R"({"iss":"parley","sub":"5","jti":"j","iat":1,"exp":1900000000.5})",   // exp fraction
           R"(["iss","parley"])",                                                  // not an object
           R"({"iss":"parley","sub":"5","jti":"j","iat":1,"exp":1900000000)",      // bad JSON
       }) {
    EXPECT_EQ(code_of_own(sign_jwt(kHs256Header, claims, kParleyKey)), ErrorCode::unauthorized) << claims;
  }
}

TEST(TokenSigner, ExpiryIsOnlyReportedForAuthenticTokens) {
  const TokenSigner other{"some-other-key"};
  EXPECT_EQ(code_of_own(other.issue(42, "t", 1, 2)), ErrorCode::unauthorized);
}

TEST(TokenSigner, MalformedTokensAreRejected) {
  const TokenSigner signer{std::string(kParleyKey)};
  const std::string good = signer.issue(42, "t", kNow, kNow + 60);
  const std::size_t first = good.find('.');
  for (const std::string& token : {
           std::string(), std::string("abc"), std::string("a.b"), std::string("a.b.c.d"),
           std::string(".."), good + ".", "." + good,
           good.substr(0, first) + ".!!!!" + good.substr(good.find('.', first + 1)),  // bad base64
           "=" + good, good.substr(0, first) + " " + good.substr(first),
           std::string(kMaxTokenBytes + 1, 'a'),
       }) {
    EXPECT_EQ(code_of_own(token), ErrorCode::unauthorized) << token;
  }
}

// ---------------------------------------------------------------- host-application tokens

// The existing cases use exp values years ahead: a lifetime cap far beyond them.
constexpr std::int64_t kLongLifetime = 10LL * 365 * 24 * 3600;

ExternalJwtVerifier host_verifier(std::string issuer = "", std::string audience = "",
                                  std::int64_t max_lifetime_s = kLongLifetime) {
  return ExternalJwtVerifier(std::string(kHostSecret), std::move(issuer), std::move(audience), max_lifetime_s);
}

std::string host_token(std::string_view claims) { return sign_jwt(kHs256Header, claims, kHostSecret); }

ErrorCode code_of_host(const ExternalJwtVerifier& verifier, std::string_view claims, std::int64_t now = kNow) {
  const Result<ExternalClaims> result = verifier.verify(host_token(claims), now);
  return result.ok() ? ErrorCode::internal : result.error().code;  // internal = "it passed"
}

TEST(ExternalJwtVerifier, MinimalTokenVerifies) {
  const Result<ExternalClaims> claims = host_verifier().verify(host_token(R"({"sub":"u-1","exp":1900000000})"), kNow);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->subject, "u-1");
  EXPECT_EQ(claims->expires_at, 1900000000);
  EXPECT_EQ(claims->username_hint, "");
}

TEST(ExternalJwtVerifier, AcceptsATokenMadeByAnIndependentImplementation) {
  const std::string python_token =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
      "eyJzdWIiOiJob3N0LXVzZXItMSIsImV4cCI6MjAwMDAwMDAwMCwiaXNzIjoiaHR0cHM6Ly9ob3N0LmV4YW1wbGUiLCJhdWQiOlsicGFybGV5Iiwib3RoZXIiXSwicHJlZmVycmVkX3VzZXJuYW1lIjoiYWxpY2UifQ."
      "a0EGj-zldRItzKya72PvFJcgSWaZJ9TQ9VKf8FB36PU";
  const Result<ExternalClaims> claims =
      host_verifier("https://host.example", "parley").verify(python_token, kNow);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->subject, "host-user-1");
  EXPECT_EQ(claims->username_hint, "alice");
  EXPECT_EQ(claims->expires_at, 2000000000);
}

TEST(ExternalJwtVerifier, DisabledWithoutSecret) {
  const ExternalJwtVerifier disabled("", "", "", kLongLifetime);
  EXPECT_FALSE(disabled.enabled());
  EXPECT_TRUE(host_verifier().enabled());
  const Result<ExternalClaims> result = disabled.verify(host_token(R"({"sub":"u","exp":1900000000})"), kNow);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::unauthorized);
}

TEST(ExternalJwtVerifier, UsernameHintPrefersPreferredUsername) {
  const auto verifier = host_verifier();
  const auto both = verifier.verify(
      host_token(R"({"sub":"u","exp":1900000000,"username":"bob","preferred_username":"Robert"})"), kNow);
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->username_hint, "Robert");
  const auto only_username = verifier.verify(host_token(R"({"sub":"u","exp":1900000000,"username":"bob"})"), kNow);
  ASSERT_TRUE(only_username.ok());
  EXPECT_EQ(only_username->username_hint, "bob");
  const auto non_string_preferred = verifier.verify(
      host_token(R"({"sub":"u","exp":1900000000,"preferred_username":12,"username":"bob"})"), kNow);
  ASSERT_TRUE(non_string_preferred.ok());
  EXPECT_EQ(non_string_preferred->username_hint, "bob");
}

TEST(ExternalJwtVerifier, SubjectIsRequiredNonEmptyAndAtMost255Bytes) {
  const auto verifier = host_verifier();
  EXPECT_EQ(code_of_host(verifier, R"({"exp":1900000000})"), ErrorCode::unauthorized);
  EXPECT_EQ(code_of_host(verifier, R"({"sub":"","exp":1900000000})"), ErrorCode::unauthorized);
  EXPECT_EQ(code_of_host(verifier, R"({"sub":12,"exp":1900000000})"), ErrorCode::unauthorized);
  EXPECT_EQ(code_of_host(verifier, R"({"sub":null,"exp":1900000000})"), ErrorCode::unauthorized);
  const std::string longest = std::string(255, 's');
  const std::string too_long = std::string(256, 's');
  EXPECT_EQ(code_of_host(verifier, R"({"sub":")" + longest + R"(","exp":1900000000})"), ErrorCode::internal);
  EXPECT_EQ(code_of_host(verifier, R"({"sub":")" + too_long + R"(","exp":1900000000})"), ErrorCode::unauthorized);
}

TEST(ExternalJwtVerifier, ExpIsRequiredAndNumeric) {
  const auto verifier = host_verifier();
  EXPECT_EQ(code_of_host(verifier, R"({"sub":"u"})"), ErrorCode::unauthorized);
  EXPECT_EQ(code_of_host(verifier, R"({"sub":"u","exp":"1900000000"})"), ErrorCode::unauthorized);
  EXPECT_EQ(code_of_host(verifier, R"({"sub":"u","exp":null})"), ErrorCode::unauthorized);
  EXPECT_EQ(code_of_host(verifier, R"({"sub":"u","exp":18446744073709551615})"), ErrorCode::unauthorized);
}

TEST(ExternalJwtVerifier, ExpGetsThirtySecondsOfLeeway) {
  const auto verifier = host_verifier();
  const std::string exp = std::to_string(kNow - 29);
  EXPECT_EQ(code_of_host(verifier, R"({"sub":"u","exp":)" + exp + "}"), ErrorCode::internal);
  const std::string exp_at_leeway = std::to_string(kNow - 30);
  EXPECT_EQ(code_of_host(verifier, R"({"sub":"u","exp":)" + exp_at_leeway + "}"), ErrorCode::token_expired);
  EXPECT_EQ(code_of_host(verifier, R"({"sub":"u","exp":1000})"), ErrorCode::token_expired);
}

TEST(ExternalJwtVerifier, FractionalExpIsTruncated) {
  const auto claims = host_verifier().verify(host_token(R"({"sub":"u","exp":1900000000.9})"), kNow);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->expires_at, 1900000000);
}

TEST(ExternalJwtVerifier, NbfGetsThirtySecondsOfLeeway) {
  const auto verifier = host_verifier();
  const std::string within = std::to_string(kNow + 30);
  const std::string beyond = std::to_string(kNow + 31);
  EXPECT_EQ(code_of_host(verifier, R"({"sub":"u","exp":1900000000,"nbf":)" + within + "}"), ErrorCode::internal);
  EXPECT_EQ(code_of_host(verifier, R"({"sub":"u","exp":1900000000,"nbf":)" + beyond + "}"), ErrorCode::unauthorized);
  EXPECT_EQ(code_of_host(verifier, R"({"sub":"u","exp":1900000000,"nbf":"soon"})"), ErrorCode::unauthorized);
  EXPECT_EQ(code_of_host(verifier, R"({"sub":"u","exp":1900000000,"nbf":1})"), ErrorCode::internal);
}

TEST(ExternalJwtVerifier, IssuerCheckedOnlyWhenRequired) {
  const auto strict = host_verifier("https://host.example");
  EXPECT_EQ(code_of_host(strict, R"({"sub":"u","exp":1900000000,"iss":"https://host.example"})"), ErrorCode::internal);
  EXPECT_EQ(code_of_host(strict, R"({"sub":"u","exp":1900000000,"iss":"https://evil.example"})"), ErrorCode::unauthorized);
  EXPECT_EQ(code_of_host(strict, R"({"sub":"u","exp":1900000000})"), ErrorCode::unauthorized);
  EXPECT_EQ(code_of_host(strict, R"({"sub":"u","exp":1900000000,"iss":["https://host.example"]})"), ErrorCode::unauthorized);
  const auto lenient = host_verifier();
  EXPECT_EQ(code_of_host(lenient, R"({"sub":"u","exp":1900000000,"iss":"anyone"})"), ErrorCode::internal);
}

TEST(ExternalJwtVerifier, AudienceCheckedOnlyWhenRequired) {
  const auto strict = host_verifier("", "parley");
  EXPECT_EQ(code_of_host(strict, R"({"sub":"u","exp":1900000000,"aud":"parley"})"), ErrorCode::internal);
  EXPECT_EQ(code_of_host(strict, R"({"sub":"u","exp":1900000000,"aud":["api","parley"]})"), ErrorCode::internal);
  EXPECT_EQ(code_of_host(strict, R"({"sub":"u","exp":1900000000,"aud":[1,"parley"]})"), ErrorCode::internal);
  EXPECT_EQ(code_of_host(strict, R"({"sub":"u","exp":1900000000,"aud":["api","other"]})"), ErrorCode::unauthorized);
  EXPECT_EQ(code_of_host(strict, R"({"sub":"u","exp":1900000000,"aud":"parley2"})"), ErrorCode::unauthorized);
  EXPECT_EQ(code_of_host(strict, R"({"sub":"u","exp":1900000000,"aud":[]})"), ErrorCode::unauthorized);
  EXPECT_EQ(code_of_host(strict, R"({"sub":"u","exp":1900000000,"aud":{"parley":true}})"), ErrorCode::unauthorized);
  EXPECT_EQ(code_of_host(strict, R"({"sub":"u","exp":1900000000})"), ErrorCode::unauthorized);
  const auto lenient = host_verifier();
  EXPECT_EQ(code_of_host(lenient, R"({"sub":"u","exp":1900000000,"aud":"whatever"})"), ErrorCode::internal);
}

TEST(ExternalJwtVerifier, IdentityIsCheckedBeforeExpiry) {
  // An expired token from the wrong issuer is reported as unauthorized, not token_expired.
  EXPECT_EQ(code_of_host(host_verifier("https://host.example"), R"({"sub":"u","exp":1000,"iss":"x"})"),
            ErrorCode::unauthorized);
}

TEST(ExternalJwtVerifier, TokensSignedWithAnotherKeyAreRejected) {
  const std::string claims = R"({"sub":"u","exp":1900000000})";
  const auto result = host_verifier().verify(sign_jwt(kHs256Header, claims, "not-the-host-secret"), kNow);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::unauthorized);
  // Parley's own tokens are signed with a different key and so are not host tokens.
  const TokenSigner own{std::string(kParleyKey)};
  EXPECT_FALSE(host_verifier().verify(own.issue(5, "t", kNow, kNow + 60), kNow).ok());
}

TEST(ExternalJwtVerifier, AlgOtherThanHs256IsRejected) {
  const std::string claims = R"({"sub":"u","exp":1900000000})";
  const auto verifier = host_verifier();
  const std::string unsigned_none = base64url_encode(R"({"alg":"none"})") + "." + base64url_encode(claims) + ".";
  EXPECT_FALSE(verifier.verify(unsigned_none, kNow).ok());
  EXPECT_FALSE(verifier.verify(sign_jwt(R"({"alg":"none"})", claims, kHostSecret), kNow).ok());
  EXPECT_FALSE(verifier.verify(sign_jwt(R"({"alg":"HS384"})", claims, kHostSecret), kNow).ok());
  EXPECT_TRUE(verifier.verify(sign_jwt(R"({"alg":"HS256"})", claims, kHostSecret), kNow).ok());
}

TEST(ExternalJwtVerifier, TamperedClaimsAreRejected) {
  const std::string token = host_token(R"({"sub":"u","exp":1900000000})");
  const std::size_t first = token.find('.');
  const std::size_t second = token.find('.', first + 1);
  const std::string forged = token.substr(0, first + 1) +
                             base64url_encode(R"({"sub":"admin","exp":1900000000})") + token.substr(second);
  const auto result = host_verifier().verify(forged, kNow);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::unauthorized);
}

// ---------------------------------------------------------------- peek_issuer

TEST(PeekIssuer, ReadsIssWithoutVerifying) {
  const TokenSigner signer{std::string(kParleyKey)};
  EXPECT_EQ(peek_issuer(signer.issue(1, "t", 0, 1)), std::optional<std::string>("parley"));
  EXPECT_EQ(peek_issuer(sign_jwt(kHs256Header, R"({"iss":"https://host.example"})", "any key")),
            std::optional<std::string>("https://host.example"));
  const std::string badly_signed = base64url_encode(kHs256Header) + "." + base64url_encode(R"({"iss":"x"})") + ".AAAA";
  EXPECT_EQ(peek_issuer(badly_signed), std::optional<std::string>("x"));
}

TEST(PeekIssuer, NulloptWithoutAStringIss) {
  EXPECT_EQ(peek_issuer(host_token(R"({"sub":"u"})")), std::nullopt);
  EXPECT_EQ(peek_issuer(host_token(R"({"iss":5})")), std::nullopt);
  EXPECT_EQ(peek_issuer(host_token(R"(not json)")), std::nullopt);
  EXPECT_EQ(peek_issuer("garbage"), std::nullopt);
  EXPECT_EQ(peek_issuer(""), std::nullopt);
  EXPECT_EQ(peek_issuer("a.!!!.c"), std::nullopt);
  const std::string four_parts = host_token(R"({"iss":"x"})") + ".extra";  // not a JWS
  EXPECT_EQ(peek_issuer(four_parts), std::nullopt);
}

// users.search terms: the username, the display name and its later words, case folded.
TEST(SearchTerms, UsernameDisplayNameAndItsWordsFolded) {
  EXPECT_EQ(user_search_terms("anne_m", "Anne  Marie Smith"),
            (std::vector<std::string>{"anne marie smith", "anne_m", "marie smith", "smith"}));
  // Full case folding, beyond ASCII: "Ä" is "ä", "ß" folds to "ss", Greek capital sigma to sigma.
  EXPECT_EQ(user_search_terms("u1", "\xc3\x84rger \xce\xa3\xce\x9f\xce\xa6\xce\x99\xce\x91 Stra\xc3\x9f" "e"),
            (std::vector<std::string>{"strasse", "u1", "\xc3\xa4rger \xcf\x83\xce\xbf\xcf\x86\xce\xb9\xce\xb1 strasse",
                                      "\xcf\x83\xce\xbf\xcf\x86\xce\xb9\xce\xb1 strasse"}));
  EXPECT_EQ(user_search_terms("bob", "bob"), (std::vector<std::string>{"bob"}));  // no duplicates
}

TEST(SearchTerms, QueriesAreTrimmedCollapsedAndFolded) {
  EXPECT_EQ(fold_search_query("  Anne   MARIE "), "anne marie");
  EXPECT_EQ(fold_search_query("\xc3\x84"), "\xc3\xa4");
  EXPECT_EQ(fold_search_query(" \t\n "), "");
}

// The upper bound of a prefix range: the next string in code point order, valid UTF-8.
TEST(SearchTerms, PrefixUpperBound) {
  EXPECT_EQ(prefix_upper_bound("ann"), "ano");
  EXPECT_EQ(prefix_upper_bound("a\x7f"), "a\xc2\x80");               // U+007F -> U+0080
  EXPECT_EQ(prefix_upper_bound("\xed\x9f\xbf"), "\xee\x80\x80");  // U+D7FF -> U+E000, past the surrogates
  EXPECT_EQ(prefix_upper_bound("a\xf4\x8f\xbf\xbf"), "b");           // U+10FFFF cannot grow: the one before does
  EXPECT_EQ(prefix_upper_bound("\xf4\x8f\xbf\xbf"), "");
  for (const std::string prefix : {"ann", "\xc3\xa4", "z"}) {
    const std::string high = prefix_upper_bound(prefix);
    EXPECT_LT(prefix + "\xf4\x8f\xbf\xbf", high);
    EXPECT_LT(prefix, high);
  }
}

}  // namespace
// auth.jwt_max_lifetime_s: a host token valid for 100 years is refused, by its exp alone or by
// exp - iat; within the cap it verifies, and its revocation handle is derived from it.
TEST(ExternalJwtVerifier, LifetimeIsCapped) {
  const ExternalJwtVerifier verifier = host_verifier("", "", 3600);
  const std::string far = std::to_string(kNow + 100LL * 365 * 24 * 3600);
  EXPECT_EQ(code_of_host(verifier, R"({"sub":"u","exp":)" + far + "}"), ErrorCode::unauthorized);
  EXPECT_EQ(code_of_host(verifier, R"({"sub":"u","iat":)" + std::to_string(kNow - 7200) + R"(,"exp":)" +
                                       std::to_string(kNow + 60) + "}"),
            ErrorCode::unauthorized);  // two hours and a minute from iat to exp
  EXPECT_EQ(code_of_host(verifier, R"({"sub":"u","iat":)" + std::to_string(kNow + 3600) + R"(,"exp":)" +
                                       std::to_string(kNow + 3700) + "}"),
            ErrorCode::unauthorized);  // issued in the future
  const auto ok = verifier.verify(host_token(R"({"sub":"u","iat":)" + std::to_string(kNow) + R"(,"exp":)" +
                                             std::to_string(kNow + 3000) + R"(,"jti":"abc"})"),
                                  kNow);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->issued_at, kNow);
  EXPECT_EQ(ok->token_id, "h:abc");
  const auto no_iat = verifier.verify(host_token(R"({"sub":"u","exp":)" + std::to_string(kNow + 3000) + "}"), kNow);
  ASSERT_TRUE(no_iat.ok());
  EXPECT_EQ(no_iat->issued_at, kNow + 3000 - 3600);  // the earliest it can have been issued
  EXPECT_EQ(no_iat->token_id.size(), 2u + 22u);      // "h:" + a hash
}

}  // namespace parley::auth

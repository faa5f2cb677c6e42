// The push crypto (src/push): RFC 8291's worked example byte for byte; JWTs verified with
// OpenSSL's verifier; VAPID key files; and, with code Parley did not write, Web Push bodies
// decrypted by http_ece and JWTs verified by jose (tests/webpush/check.mjs). Needs
// `npm ci --prefix tests/webpush` (scripts/test.sh runs it).
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <simdjson.h>
#include <stdio.h>
#include <sys/stat.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "core/base64.hpp"
#include "push/jwt.hpp"
#include "push/private_key.hpp"
#include "push/vapid.hpp"
#include "push/web_push_encrypt.hpp"
#include "scratch_dir.hpp"

namespace parley::push {
namespace {

using testing_support::ScratchDir;

const std::string kNodeDir = std::string(PARLEY_SOURCE_DIR) + "/tests/webpush";

// RFC 8291 Appendix A (the example of section 5), base64url as the RFC prints it.
constexpr std::string_view kRfcPlaintext = "When I grow up, I want to be a watermelon";
constexpr std::string_view kRfcAsPrivate = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
constexpr std::string_view kRfcAsPublic =
    "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
constexpr std::string_view kRfcUaPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
constexpr std::string_view kRfcUaPublic =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
constexpr std::string_view kRfcSalt = "DGv6ra1nlYgDCS1FRnbzlw";
constexpr std::string_view kRfcAuthSecret = "BTBZMqHH6r4Tts7J_aSIgg";
constexpr std::string_view kRfcBody =
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl"
    "7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

std::string b64(std::string_view text) { return base64url_decode(text).value(); }

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n));
  return out;
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out + "\"";
}

// Runs tests/webpush/check.mjs with `request` on stdin; its stdout, or empty if it failed.
std::string run_check(const std::string& request) {
  ScratchDir dir("push_check");
  const std::string input = dir.path() + "/request.json";
  std::ofstream(input) << request;
  std::string out;
  FILE* pipe = popen(("node " + kNodeDir + "/check.mjs < " + input).c_str(), "r");
  if (!pipe) return out;
  char buffer[4096];
  while (std::size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  if (pclose(pipe) != 0) out.clear();
  return out;
}

void require_node_modules() {
  ASSERT_TRUE(std::filesystem::exists(kNodeDir + "/node_modules/http_ece") &&
              std::filesystem::exists(kNodeDir + "/node_modules/jose"))
      << "run: npm ci --prefix tests/webpush";
}

// A user agent's subscription keys, made with OpenSSL directly (not with src/push).
struct UserAgentKeys {
  std::string private_scalar;  // 32 bytes
  std::string public_point;    // 65 bytes
};

UserAgentKeys user_agent_keys() {
  std::unique_ptr<EVP_PKEY, EvpPkeyDelete> key(EVP_EC_gen("P-256"));
  UserAgentKeys keys;
  BIGNUM* d = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_PRIV_KEY, &d), 1);
  keys.private_scalar.resize(32);
  BN_bn2binpad(d, reinterpret_cast<unsigned char*>(keys.private_scalar.data()), 32);
  BN_clear_free(d);
  keys.public_point.resize(65);
  std::size_t length = 0;
  EXPECT_EQ(EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_PUB_KEY,
                                            reinterpret_cast<unsigned char*>(keys.public_point.data()), 65, &length),
            1);
  EXPECT_EQ(length, 65u);
  return keys;
}

struct JwtParts {
  std::string header, claims, signature;
};

JwtParts split_jwt(std::string_view token) {
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  EXPECT_NE(second, std::string_view::npos);
  return {b64(token.substr(0, first)), b64(token.substr(first + 1, second - first - 1)), b64(token.substr(second + 1))};
}

std::string signing_input(std::string_view token) { return std::string(token.substr(0, token.rfind('.'))); }

// Verifies with a key read back from the SPKI PEM, so nothing of PrivateKey is reused.
bool openssl_verifies(const std::string& public_pem, std::string_view data, std::string_view signature) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size())),
                                                BIO_free);
  std::unique_ptr<EVP_PKEY, EvpPkeyDelete> key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!key || EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, key.get(), nullptr) != 1)
    return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

// JOSE r||s back to the DER that OpenSSL verifies.
std::string der_from_jose(std::string_view raw) {
  EXPECT_EQ(raw.size(), 64u);
  ECDSA_SIG* signature = ECDSA_SIG_new();
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  ECDSA_SIG_set0(signature, BN_bin2bn(bytes, 32, nullptr), BN_bin2bn(bytes + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int length = i2d_ECDSA_SIG(signature, &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  ECDSA_SIG_free(signature);
  return out;
}

std::string rsa_pem(int bits, bool traditional) {
  std::unique_ptr<EVP_PKEY, EvpPkeyDelete> key(EVP_RSA_gen(static_cast<unsigned>(bits)));
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (traditional)
    PEM_write_bio_PrivateKey_traditional(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  else
    PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

simdjson::dom::element parse(simdjson::dom::parser& parser, const std::string& json) {
  simdjson::dom::element root;
  EXPECT_EQ(parser.parse(json).get(root), simdjson::SUCCESS) << json;
  return root;
}

// --- Web Push encryption -------------------------------------------------------------------

TEST(WebPushEncrypt, ReproducesRfc8291Example) {
  auto as_key = PrivateKey::from_p256_scalar(b64(kRfcAsPrivate));
  ASSERT_TRUE(as_key.ok());
  EXPECT_EQ(base64url_encode(as_key->p256_public_point()), kRfcAsPublic);
  auto ua_key = PrivateKey::from_p256_scalar(b64(kRfcUaPrivate));
  ASSERT_TRUE(ua_key.ok());
  EXPECT_EQ(base64url_encode(ua_key->p256_public_point()), kRfcUaPublic);

  auto body = web_push_encrypt_with(kRfcPlaintext, b64(kRfcUaPublic), b64(kRfcAuthSecret), *as_key, b64(kRfcSalt));
  ASSERT_TRUE(body.ok()) << body.error().message;
  EXPECT_EQ(base64url_encode(*body), kRfcBody);
}

TEST(WebPushEncrypt, BodyLayoutAndLimit) {
  EXPECT_EQ(max_plaintext_bytes(), 3993u);
  const auto ua = user_agent_keys();
  const std::string auth = random_bytes(16);
  auto body = web_push_encrypt(std::string(max_plaintext_bytes(), 'x'), ua.public_point, auth);
  ASSERT_TRUE(body.ok()) << body.error().message;
  EXPECT_EQ(body->size(), 4096u);
  EXPECT_EQ(body->substr(16, 5), std::string("\x00\x00\x10\x00\x41", 5));  // rs 4096, idlen 65
  EXPECT_EQ((*body)[21], '\x04');

  auto small = web_push_encrypt("hi", ua.public_point, auth, 10);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->size(), 86u + 2 + 1 + 10 + 16);
  // Fresh salt and key every time.
  auto again = web_push_encrypt("hi", ua.public_point, auth, 10);
  EXPECT_NE(small->substr(0, 86), again->substr(0, 86));
}

TEST(WebPushEncrypt, RejectsBadInputs) {
  const auto ua = user_agent_keys();
  const std::string auth = random_bytes(16);
  const auto code = [](const Result<std::string>& r) { return r.ok() ? ErrorCode::internal : r.error().code; };

  EXPECT_EQ(code(web_push_encrypt(std::string(max_plaintext_bytes() + 1, 'x'), ua.public_point, auth)),
            ErrorCode::too_large);
  EXPECT_EQ(code(web_push_encrypt("x", ua.public_point, auth, max_plaintext_bytes())), ErrorCode::too_large);
  EXPECT_EQ(code(web_push_encrypt("x", ua.public_point, auth.substr(0, 15))), ErrorCode::invalid_field);
  EXPECT_EQ(code(web_push_encrypt("x", ua.public_point.substr(0, 64), auth)), ErrorCode::invalid_field);
  // The compressed form, and a point off the curve (Y changed), are refused.
  std::string compressed = ua.public_point.substr(0, 33);
  compressed[0] = static_cast<char>(0x02 + (ua.public_point[64] & 1));
  EXPECT_EQ(code(web_push_encrypt("x", compressed, auth)), ErrorCode::invalid_field);
  std::string off_curve = ua.public_point;
  off_curve[64] = static_cast<char>(off_curve[64] ^ 1);
  EXPECT_EQ(code(web_push_encrypt("x", off_curve, auth)), ErrorCode::invalid_field);
  EXPECT_EQ(code(web_push_encrypt("x", std::string(65, '\0'), auth)), ErrorCode::invalid_field);

  auto rsa = PrivateKey::from_pem(rsa_pem(2048, false));
  ASSERT_TRUE(rsa.ok());
  EXPECT_EQ(code(web_push_encrypt_with("x", ua.public_point, auth, *rsa, random_bytes(16))), ErrorCode::invalid_field);
  auto ec = PrivateKey::generate_p256();
  EXPECT_EQ(code(web_push_encrypt_with("x", ua.public_point, auth, *ec, random_bytes(15))), ErrorCode::invalid_field);
}

TEST(WebPushEncrypt, HttpEceDecryptsParleysBodies) {
  require_node_modules();
  const auto ua = user_agent_keys();
  const std::string auth = random_bytes(16);
  struct Case {
    std::string plaintext;
    std::size_t padding;
  };
  const std::vector<Case> cases = {
      {"", 0},
      {"x", 0},
      {"Grüße aus Köln — 你好 👋 {\"type\":\"message\"}", 0},
      {random_bytes(max_plaintext_bytes()), 0},
      {"padded", 100},
  };
  for (const auto& c : cases) {
    auto body = web_push_encrypt(c.plaintext, ua.public_point, auth, c.padding);
    ASSERT_TRUE(body.ok()) << body.error().message;
    const std::string answer =
        run_check(R"({"op":"decrypt","ua_private":")" + base64url_encode(ua.private_scalar) + R"(","auth_secret":")" +
                  base64url_encode(auth) + R"(","body":")" + base64url_encode(*body) + "\"}");
    ASSERT_FALSE(answer.empty()) << "http_ece could not decrypt a body of " << c.plaintext.size() << " bytes";
    simdjson::dom::parser parser;
    const std::string_view plaintext = parse(parser, answer)["plaintext"].get_string().value();
    EXPECT_EQ(b64(plaintext), c.plaintext) << "plaintext of " << c.plaintext.size() << " bytes";
  }
}

// --- JWT -------------------------------------------------------------------------------------

TEST(Jwt, Es256VerifiesWithOpenSsl) {
  auto key = PrivateKey::generate_p256();
  ASSERT_TRUE(key.ok());
  const std::string header = R"({"alg":"ES256","kid":"ABC123DEFG"})";
  const std::string claims = R"({"iss":"TEAM123456","iat":1700000000})";
  auto token = sign_jwt(JwtAlgorithm::es256, header, claims, *key);
  ASSERT_TRUE(token.ok()) << token.error().message;
  const auto parts = split_jwt(*token);
  EXPECT_EQ(parts.header, header);
  EXPECT_EQ(parts.claims, claims);
  ASSERT_EQ(parts.signature.size(), 64u);
  EXPECT_TRUE(openssl_verifies(key->public_pem(), signing_input(*token), der_from_jose(parts.signature)));
  EXPECT_FALSE(openssl_verifies(key->public_pem(), signing_input(*token) + "x", der_from_jose(parts.signature)));
}

TEST(Jwt, Rs256VerifiesWithOpenSsl) {
  auto key = PrivateKey::from_pem(rsa_pem(2048, false));
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(key->kind(), KeyKind::rsa);
  const std::string header = R"({"alg":"RS256","typ":"JWT"})";
  const std::string claims =
      R"({"iss":"parley@example.iam.gserviceaccount.com","scope":"https://www.googleapis.com/auth/firebase.messaging"})";
  auto token = sign_jwt(JwtAlgorithm::rs256, header, claims, *key);
  ASSERT_TRUE(token.ok()) << token.error().message;
  const auto parts = split_jwt(*token);
  EXPECT_EQ(parts.header, header);
  EXPECT_EQ(parts.claims, claims);
  EXPECT_EQ(parts.signature.size(), 256u);
  EXPECT_TRUE(openssl_verifies(key->public_pem(), signing_input(*token), parts.signature));
}

TEST(Jwt, KeyMustFitTheAlgorithm) {
  auto ec = PrivateKey::generate_p256();
  auto rsa = PrivateKey::from_pem(rsa_pem(2048, false));
  EXPECT_FALSE(sign_jwt(JwtAlgorithm::rs256, "{}", "{}", *ec).ok());
  EXPECT_FALSE(sign_jwt(JwtAlgorithm::es256, "{}", "{}", *rsa).ok());
}

TEST(Jwt, JoseVerifiesEs256AndRs256) {
  require_node_modules();
  for (const auto algorithm : {JwtAlgorithm::es256, JwtAlgorithm::rs256}) {
    const bool es = algorithm == JwtAlgorithm::es256;
    auto key = es ? PrivateKey::generate_p256() : PrivateKey::from_pem(rsa_pem(2048, false));
    ASSERT_TRUE(key.ok());
    const std::string alg = es ? "ES256" : "RS256";
    auto token = sign_jwt(algorithm, R"({"alg":")" + alg + R"(","kid":"K1"})", R"({"iss":"parley","n":7})", *key);
    ASSERT_TRUE(token.ok());
    const std::string answer = run_check(R"({"op":"jwt","alg":")" + alg + R"(","token":")" + *token +
                                         R"(","public_key_pem":)" + json_string(key->public_pem()) + "}");
    ASSERT_FALSE(answer.empty()) << "jose refused the " << alg << " token";
    simdjson::dom::parser parser;
    const auto root = parse(parser, answer);
    EXPECT_EQ(root["header"]["kid"].get_string().value(), "K1");
    EXPECT_EQ(root["claims"]["n"].get_int64().value(), 7);
  }
}

// --- Keys -----------------------------------------------------------------------------------

TEST(PushPrivateKey, LoadsPemForms) {
  auto generated = PrivateKey::generate_p256();
  ASSERT_TRUE(generated.ok());
  const std::string pkcs8 = generated->private_pem();
  EXPECT_NE(pkcs8.find("BEGIN PRIVATE KEY"), std::string::npos);
  auto from_pkcs8 = PrivateKey::from_pem(pkcs8);
  ASSERT_TRUE(from_pkcs8.ok());
  EXPECT_EQ(from_pkcs8->p256_public_point(), generated->p256_public_point());

  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey_traditional(bio.get(), generated->native(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const std::string sec1(data, static_cast<std::size_t>(BIO_get_mem_data(bio.get(), &data)));
  ASSERT_NE(sec1.find("BEGIN EC PRIVATE KEY"), std::string::npos);
  auto from_sec1 = PrivateKey::from_pem(sec1);
  ASSERT_TRUE(from_sec1.ok());
  EXPECT_EQ(from_sec1->p256_public_point(), generated->p256_public_point());

  const std::string pkcs1 = rsa_pem(2048, true);
  ASSERT_NE(pkcs1.find("BEGIN RSA PRIVATE KEY"), std::string::npos);
  EXPECT_TRUE(PrivateKey::from_pem(pkcs1).ok());
}

TEST(PushPrivateKey, RefusesOtherKeys) {
  EXPECT_FALSE(PrivateKey::from_pem("not a key").ok());
  EXPECT_FALSE(PrivateKey::from_pem(rsa_pem(1024, false)).ok());
  std::unique_ptr<EVP_PKEY, EvpPkeyDelete> p384(EVP_EC_gen("P-384"));
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey(bio.get(), p384.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  EXPECT_FALSE(
      PrivateKey::from_pem(std::string(data, static_cast<std::size_t>(BIO_get_mem_data(bio.get(), &data)))).ok());
  // Encrypted PEM fails instead of prompting for a pass phrase.
  auto key = PrivateKey::generate_p256();
  std::unique_ptr<BIO, decltype(&BIO_free)> encrypted(BIO_new(BIO_s_mem()), BIO_free);
  char pass[] = "secret";
  PEM_write_bio_PKCS8PrivateKey(encrypted.get(), key->native(), EVP_aes_128_cbc(), pass, 6, nullptr, nullptr);
  EXPECT_FALSE(
      PrivateKey::from_pem(std::string(data, static_cast<std::size_t>(BIO_get_mem_data(encrypted.get(), &data)))).ok());

  EXPECT_FALSE(PrivateKey::from_p256_scalar(std::string(32, '\0')).ok());
  EXPECT_FALSE(PrivateKey::from_p256_scalar(std::string(32, '\xff')).ok());  // above the group order
  EXPECT_FALSE(PrivateKey::from_p256_scalar(std::string(31, '\x01')).ok());
}

// --- VAPID ----------------------------------------------------------------------------------

TEST(Vapid, LoadOrCreateKeepsOneKeyInA0600File) {
  ScratchDir dir("vapid");
  const std::string path = dir.path() + "/vapid.pem";
  auto first = VapidKey::load_or_create(path);
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto second = VapidKey::load_or_create(path);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(first->public_key_base64url(), second->public_key_base64url());
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator{}),
            1);  // no temporary left

  // save() replaces; load() reads it back.
  auto other = VapidKey::generate();
  ASSERT_TRUE(other->save(path).ok());
  EXPECT_EQ(VapidKey::load(path)->public_key_base64url(), other->public_key_base64url());
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_FALSE(VapidKey::load(dir.path() + "/missing.pem").ok());
}

TEST(Vapid, ConcurrentCreatorsAgreeOnOneKey) {
  ScratchDir dir("vapid_race");
  const std::string path = dir.path() + "/vapid.pem";
  std::vector<std::string> keys(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < keys.size(); ++i)
    threads.emplace_back([&, i] {
      auto key = VapidKey::load_or_create(path);
      if (key.ok()) keys[i] = key->public_key_base64url();
    });
  for (auto& t : threads) t.join();
  for (const auto& key : keys) EXPECT_EQ(key, VapidKey::load(path)->public_key_base64url());
}

TEST(Vapid, FromConfiguredKeys) {
  auto from_scalar = VapidKey::from_base64url_scalar(kRfcAsPrivate);
  ASSERT_TRUE(from_scalar.ok());
  EXPECT_EQ(from_scalar->public_key_base64url(), kRfcAsPublic);
  EXPECT_EQ(from_scalar->public_key_base64url().size(), 87u);
  auto from_pem = VapidKey::from_pem(from_scalar->private_key().private_pem());
  ASSERT_TRUE(from_pem.ok());
  EXPECT_EQ(from_pem->public_key_base64url(), kRfcAsPublic);
  EXPECT_FALSE(VapidKey::from_base64url_scalar("not+base64").ok());
  EXPECT_FALSE(VapidKey::from_pem(rsa_pem(2048, false)).ok());
}

TEST(Vapid, AuthorizationHeader) {
  auto key = VapidKey::generate();
  ASSERT_TRUE(key.ok());
  auto header = key->authorization_header("https://fcm.googleapis.com", "mailto:ops@example.com", 1700043200);
  ASSERT_TRUE(header.ok()) << header.error().message;
  // "vapid t=<JWT>, k=<key>"; split_jwt's base64url decoding rejects any other characters.
  const std::string_view text = *header;
  ASSERT_TRUE(text.starts_with("vapid t=")) << text;
  const auto k_at = text.find(", k=");
  ASSERT_NE(k_at, std::string_view::npos) << text;
  const std::string token(text.substr(8, k_at - 8));
  EXPECT_EQ(text.substr(k_at + 4), key->public_key_base64url());
  const auto parts = split_jwt(token);
  EXPECT_EQ(parts.header, R"({"typ":"JWT","alg":"ES256"})");
  EXPECT_EQ(parts.claims, R"({"aud":"https://fcm.googleapis.com","exp":1700043200,"sub":"mailto:ops@example.com"})");
  EXPECT_TRUE(openssl_verifies(key->private_key().public_pem(), signing_input(token), der_from_jose(parts.signature)));

  EXPECT_FALSE(key->authorization_header("https://fcm.googleapis.com/fcm/send/x", "mailto:a@b", 1).ok());
  EXPECT_FALSE(key->authorization_header("https://fcm.googleapis.com", "ops@example.com", 1).ok());
}

TEST(Vapid, JoseVerifiesTheHeader) {
  require_node_modules();
  auto key = VapidKey::generate();
  const std::int64_t expires = static_cast<std::int64_t>(std::time(nullptr)) + 12 * 3600;
  auto header = key->authorization_header("https://updates.push.services.mozilla.com", "https://chat.example", expires);
  ASSERT_TRUE(header.ok());
  const std::string answer = run_check(R"({"op":"vapid","authorization":")" + *header + "\"}");
  ASSERT_FALSE(answer.empty()) << "jose refused " << *header;
  simdjson::dom::parser parser;
  const auto root = parse(parser, answer);
  EXPECT_EQ(root["header"]["alg"].get_string().value(), "ES256");
  EXPECT_EQ(root["claims"]["aud"].get_string().value(), "https://updates.push.services.mozilla.com");
  EXPECT_EQ(root["claims"]["sub"].get_string().value(), "https://chat.example");
  EXPECT_EQ(root["claims"]["exp"].get_int64().value(), expires);
}

TEST(Vapid, OriginOfEndpoint) {
  EXPECT_EQ(origin_of("https://fcm.googleapis.com/fcm/send/abc:def"), "https://fcm.googleapis.com");
  EXPECT_EQ(origin_of("HTTPS://Web.Push.Apple.com:443/QGx?x=1"), "https://web.push.apple.com");
  EXPECT_EQ(origin_of("https://push.example:8443/p"), "https://push.example:8443");
  EXPECT_EQ(origin_of("http://127.0.0.1:80/x"), "http://127.0.0.1");
  EXPECT_EQ(origin_of("http://[::1]:9000/x"), "http://[::1]:9000");
  EXPECT_EQ(origin_of("https://push.example"), "https://push.example");
  EXPECT_EQ(origin_of("https://push.example?x#y"), "https://push.example");
  EXPECT_EQ(origin_of("ftp://push.example/"), std::nullopt);
  EXPECT_EQ(origin_of("push.example/x"), std::nullopt);
  EXPECT_EQ(origin_of("https:///x"), std::nullopt);
  EXPECT_EQ(origin_of("https://user@push.example/"), std::nullopt);
  EXPECT_EQ(origin_of("https://push.example:99999/"), std::nullopt);
  EXPECT_EQ(origin_of("https://push.example:x/"), std::nullopt);
}

}  // namespace
}  // namespace parley::push

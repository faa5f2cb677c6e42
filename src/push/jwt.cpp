#include "push/jwt.hpp"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <memory>

#include "core/base64.hpp"

namespace parley::push {
namespace {

constexpr int kEs256HalfBytes = 32;

struct MdCtxDelete {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct EcdsaSigDelete {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};

// OpenSSL's ECDSA signature is DER (SEQUENCE of two INTEGERs, minimal length); JOSE wants
// both numbers left-padded to 32 bytes and concatenated.
std::string jose_from_der(const unsigned char* der, std::size_t length) {
  const unsigned char* cursor = der;
  std::unique_ptr<ECDSA_SIG, EcdsaSigDelete> signature(d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(length)));
  if (!signature) return {};
  std::string raw(2 * kEs256HalfBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(signature.get()), out, kEs256HalfBytes) != kEs256HalfBytes ||
      BN_bn2binpad(ECDSA_SIG_get0_s(signature.get()), out + kEs256HalfBytes, kEs256HalfBytes) != kEs256HalfBytes)
    return {};
  return raw;
}

}  // namespace

Result<std::string> sign_jwt(JwtAlgorithm algorithm, std::string_view header_json, std::string_view claims_json,
                             const PrivateKey& key) {
  const KeyKind needed = algorithm == JwtAlgorithm::es256 ? KeyKind::p256 : KeyKind::rsa;
  if (key.kind() != needed)
    return make_error(ErrorCode::invalid_field,
                      algorithm == JwtAlgorithm::es256 ? "ES256 needs a P-256 key" : "RS256 needs an RSA key");
  std::string token = base64url_encode(header_json);
  token += '.';
  token += base64url_encode(claims_json);

  // EVP_DigestSign picks PKCS#1 v1.5 padding for RSA and DER-encoded ECDSA by default.
  std::unique_ptr<EVP_MD_CTX, MdCtxDelete> ctx(EVP_MD_CTX_new());
  std::size_t length = 0;
  if (!ctx || EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, key.native(), nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, reinterpret_cast<const unsigned char*>(token.data()), token.size()) !=
          1)
    return make_error(ErrorCode::internal, "JWT signing failed");
  std::string signature(length, '\0');
  auto* out = reinterpret_cast<unsigned char*>(signature.data());
  if (EVP_DigestSign(ctx.get(), out, &length, reinterpret_cast<const unsigned char*>(token.data()), token.size()) != 1)
    return make_error(ErrorCode::internal, "JWT signing failed");
  signature.resize(length);
  if (algorithm == JwtAlgorithm::es256) {
    signature = jose_from_der(out, length);
    if (signature.empty()) return make_error(ErrorCode::internal, "unexpected ECDSA signature");
  }
  token += '.';
  token += base64url_encode(signature);
  return token;
}

}  // namespace parley::push

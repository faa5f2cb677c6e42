#include "push/web_push_encrypt.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <array>
#include <memory>

namespace parley::push {
namespace {

constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kAuthSecretBytes = 16;
constexpr std::size_t kPointBytes = 65;
constexpr std::size_t kKeyBytes = 16;
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;
constexpr unsigned char kLastRecordDelimiter = 0x02;  // RFC 8188 section 2: the final record

struct PkeyCtxDelete {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct CipherCtxDelete {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
struct KdfDelete {
  void operator()(EVP_KDF* k) const { EVP_KDF_free(k); }
};
struct KdfCtxDelete {
  void operator()(EVP_KDF_CTX* c) const { EVP_KDF_CTX_free(c); }
};

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// One HKDF step with SHA-256 (RFC 5869): mode is EVP_KDF_HKDF_MODE_EXTRACT_ONLY (salt, ikm
// -> 32-byte PRK) or EVP_KDF_HKDF_MODE_EXPAND_ONLY (prk in `key`, info -> length bytes).
std::string hkdf(int mode, std::string_view salt, std::string_view key, std::string_view info, std::size_t length) {
  std::unique_ptr<EVP_KDF, KdfDelete> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  std::unique_ptr<EVP_KDF_CTX, KdfCtxDelete> ctx(kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr);
  if (!ctx) return {};
  char digest[] = "SHA256";
  OSSL_PARAM params[5];
  std::size_t n = 0;
  params[n++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(key.data()), key.size());
  if (mode == EVP_KDF_HKDF_MODE_EXTRACT_ONLY)
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()), salt.size());
  else
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size());
  params[n] = OSSL_PARAM_construct_end();
  std::string out(length, '\0');
  if (EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), out.size(), params) != 1) return {};
  return out;
}

std::string hkdf_extract(std::string_view salt, std::string_view ikm) {
  return hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, salt, ikm, {}, 32);
}

std::string hkdf_expand(std::string_view prk, std::string_view info, std::size_t length) {
  return hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, {}, prk, info, length);
}

std::string ecdh(const PrivateKey& own, EVP_PKEY* peer) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDelete> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own.native(), nullptr));
  std::size_t length = 0;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), peer) != 1 ||
      EVP_PKEY_derive(ctx.get(), nullptr, &length) != 1)
    return {};
  std::string secret(length, '\0');
  if (EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(secret.data()), &length) != 1) return {};
  secret.resize(length);
  return secret;
}

std::string aes128gcm_seal(std::string_view key, std::string_view nonce, std::string_view record_plaintext) {
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDelete> ctx(EVP_CIPHER_CTX_new());
  std::string out(record_plaintext.size() + kTagBytes, '\0');
  auto* cursor = reinterpret_cast<unsigned char*>(out.data());
  int written = 0;
  int final_written = 0;
  if (!ctx || EVP_EncryptInit_ex2(ctx.get(), EVP_aes_128_gcm(), bytes(key), bytes(nonce), nullptr) != 1 ||
      EVP_EncryptUpdate(ctx.get(), cursor, &written, bytes(record_plaintext),
                        static_cast<int>(record_plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), cursor + written, &final_written) != 1 ||
      static_cast<std::size_t>(written + final_written) != record_plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, cursor + record_plaintext.size()) != 1)
    return {};
  return out;
}

}  // namespace

Result<std::string> web_push_encrypt_with(std::string_view plaintext, std::string_view ua_public,
                                          std::string_view auth_secret, const PrivateKey& ephemeral_key,
                                          std::string_view salt, std::size_t padding_bytes) {
  if (auth_secret.size() != kAuthSecretBytes)
    return field_error(ErrorCode::invalid_field, "auth", "the auth secret must be 16 bytes");
  if (salt.size() != kSaltBytes) return make_error(ErrorCode::invalid_field, "the salt must be 16 bytes");
  if (plaintext.size() > max_plaintext_bytes() || padding_bytes > max_plaintext_bytes() - plaintext.size())
    return make_error(ErrorCode::too_large,
                      "a push message carries at most " + std::to_string(max_plaintext_bytes()) + " bytes");
  const EvpPkeyPtr ua_key = p256_public_key_from_point(ua_public);
  if (!ua_key)
    return field_error(ErrorCode::invalid_field, "p256dh", "not an uncompressed P-256 public key on the curve");
  const std::string as_public = ephemeral_key.p256_public_point();
  if (as_public.size() != kPointBytes) return make_error(ErrorCode::invalid_field, "the ephemeral key must be P-256");

  // RFC 8291 section 3.3: mix the subscription's auth secret into the ECDH secret.
  const std::string ecdh_secret = ecdh(ephemeral_key, ua_key.get());
  if (ecdh_secret.empty()) return make_error(ErrorCode::internal, "ECDH failed");
  std::string key_info = "WebPush: info";
  key_info.push_back('\0');
  key_info.append(ua_public);
  key_info.append(as_public);
  const std::string ikm = hkdf_expand(hkdf_extract(auth_secret, ecdh_secret), key_info, 32);

  // RFC 8188 section 2.2 and 2.3: the content-encryption key and nonce from the salt. The
  // nonce is XORed with the record's sequence number, which is 0 for our only record.
  const std::string prk = hkdf_extract(salt, ikm);
  const std::string cek = hkdf_expand(prk, std::string_view("Content-Encoding: aes128gcm\0", 28), kKeyBytes);
  const std::string nonce = hkdf_expand(prk, std::string_view("Content-Encoding: nonce\0", 24), kNonceBytes);
  if (ikm.empty() || prk.empty() || cek.size() != kKeyBytes || nonce.size() != kNonceBytes)
    return make_error(ErrorCode::internal, "HKDF failed");

  std::string record(plaintext);
  record.push_back(static_cast<char>(kLastRecordDelimiter));
  record.append(padding_bytes, '\0');
  const std::string sealed = aes128gcm_seal(cek, nonce, record);
  if (sealed.empty()) return make_error(ErrorCode::internal, "AES-128-GCM failed");

  std::string body(salt);
  for (const int shift : {24, 16, 8, 0}) body.push_back(static_cast<char>((kWebPushRecordSize >> shift) & 0xff));
  body.push_back(static_cast<char>(kPointBytes));
  body += as_public;
  body += sealed;
  return body;
}

Result<std::string> web_push_encrypt(std::string_view plaintext, std::string_view ua_public,
                                     std::string_view auth_secret, std::size_t padding_bytes) {
  auto ephemeral_key = PrivateKey::generate_p256();
  if (!ephemeral_key) return ephemeral_key.take_error();
  std::array<unsigned char, kSaltBytes> salt{};
  if (RAND_bytes(salt.data(), salt.size()) != 1) return make_error(ErrorCode::internal, "no randomness");
  return web_push_encrypt_with(plaintext, ua_public, auth_secret, *ephemeral_key,
                               std::string_view(reinterpret_cast<const char*>(salt.data()), salt.size()),
                               padding_bytes);
}

}  // namespace parley::push

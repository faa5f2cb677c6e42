// PrivateKey: an owned OpenSSL EVP_PKEY holding a P-256 or RSA private key, the one key type
// the push code passes around (JWT signing for VAPID, APNs and FCM; ECDH for Web Push).
// Immutable once made; a const PrivateKey may be used from several threads at once.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "core/result.hpp"

namespace parley::push {

enum class KeyKind { p256, rsa };

struct EvpPkeyDelete {
  void operator()(EVP_PKEY* key) const;
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDelete>;

class PrivateKey {
 public:
  // Parses one PEM private key: PKCS#8 ("BEGIN PRIVATE KEY", as APNs .p8 files and Google
  // service-account `private_key` fields are), SEC1 ("BEGIN EC PRIVATE KEY") or PKCS#1
  // ("BEGIN RSA PRIVATE KEY"). Refuses encrypted PEM (never prompts for a pass phrase), EC
  // curves other than P-256 and RSA keys under 2048 bits.
  static Result<PrivateKey> from_pem(std::string_view pem);

  // A fresh P-256 key pair from OpenSSL's CSPRNG.
  static Result<PrivateKey> generate_p256();

  // A P-256 key from its raw 32-byte big-endian private scalar (what `web-push
  // generate-vapid-keys` prints, base64url-decoded); the public point is derived. Refuses 0
  // and scalars not below the group order.
  static Result<PrivateKey> from_p256_scalar(std::string_view scalar);

  KeyKind kind() const { return kind_; }

  // PKCS#8 PEM of the private key (for saving), and SPKI PEM of the public key.
  std::string private_pem() const;
  std::string public_pem() const;

  // The P-256 public key as the 65-byte uncompressed point 0x04||X||Y (SEC 1, section
  // 2.3.3), the form Web Push puts on the wire. Empty for an RSA key.
  std::string p256_public_point() const;

  // Borrowed; valid as long as this PrivateKey.
  EVP_PKEY* native() const { return key_.get(); }

 private:
  PrivateKey(EvpPkeyPtr key, KeyKind kind) : key_(std::move(key)), kind_(kind) {}

  EvpPkeyPtr key_;
  KeyKind kind_;
};

// Reads a 65-byte uncompressed P-256 point into a public-only key; null if it has the wrong
// length or prefix, or is not on the curve.
EvpPkeyPtr p256_public_key_from_point(std::string_view point);

}  // namespace parley::push

#include "push/private_key.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <array>

namespace parley::push {
namespace {

constexpr std::size_t kP256FieldBytes = 32;
constexpr std::size_t kP256PointBytes = 65;
constexpr int kMinRsaBits = 2048;

struct BioDelete {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct BnDelete {
  void operator()(BIGNUM* n) const { BN_clear_free(n); }
};
struct BnCtxDelete {
  void operator()(BN_CTX* c) const { BN_CTX_free(c); }
};
struct GroupDelete {
  void operator()(EC_GROUP* g) const { EC_GROUP_free(g); }
};
struct PointDelete {
  void operator()(EC_POINT* p) const { EC_POINT_free(p); }
};
struct PkeyCtxDelete {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct ParamBldDelete {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamDelete {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};

// Encrypted PEM must fail rather than make OpenSSL prompt on the terminal.
int refuse_pass_phrase(char*, int, int, void*) { return -1; }

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  return length > 0 ? std::string(data, static_cast<std::size_t>(length)) : std::string();
}

bool is_p256(EVP_PKEY* key) {
  char group[64] = {};
  std::size_t length = 0;
  return EVP_PKEY_is_a(key, "EC") &&
         EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &length) == 1 &&
         std::string_view(group, length) == SN_X9_62_prime256v1;
}

// Builds a P-256 EVP_PKEY from parameters (the OpenSSL 3 way, without EC_KEY).
EvpPkeyPtr p256_from_params(OSSL_PARAM* params, int selection) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDelete> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 || EVP_PKEY_fromdata(ctx.get(), &key, selection, params) != 1)
    return nullptr;
  return EvpPkeyPtr(key);
}

}  // namespace

void EvpPkeyDelete::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

Result<PrivateKey> PrivateKey::from_pem(std::string_view pem) {
  std::unique_ptr<BIO, BioDelete> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return make_error(ErrorCode::internal, "out of memory");
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_pass_phrase, nullptr));
  if (!key) return make_error(ErrorCode::invalid_field, "not an unencrypted PEM private key");
  if (is_p256(key.get())) return PrivateKey(std::move(key), KeyKind::p256);
  if (EVP_PKEY_is_a(key.get(), "RSA")) {
    if (EVP_PKEY_get_bits(key.get()) < kMinRsaBits)
      return make_error(ErrorCode::invalid_field, "RSA key shorter than 2048 bits");
    return PrivateKey(std::move(key), KeyKind::rsa);
  }
  return make_error(ErrorCode::invalid_field, "private key is neither P-256 nor RSA");
}

Result<PrivateKey> PrivateKey::generate_p256() {
  EvpPkeyPtr key(EVP_EC_gen(SN_X9_62_prime256v1));
  if (!key) return make_error(ErrorCode::internal, "P-256 key generation failed");
  return PrivateKey(std::move(key), KeyKind::p256);
}

Result<PrivateKey> PrivateKey::from_p256_scalar(std::string_view scalar) {
  if (scalar.size() != kP256FieldBytes) return make_error(ErrorCode::invalid_field, "a P-256 private key is 32 bytes");
  std::unique_ptr<EC_GROUP, GroupDelete> group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  std::unique_ptr<BN_CTX, BnCtxDelete> bn_ctx(BN_CTX_new());
  std::unique_ptr<BIGNUM, BnDelete> d(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(scalar.data()), static_cast<int>(scalar.size()), nullptr));
  if (!group || !bn_ctx || !d) return make_error(ErrorCode::internal, "out of memory");
  if (BN_is_zero(d.get()) || BN_cmp(d.get(), EC_GROUP_get0_order(group.get())) >= 0)
    return make_error(ErrorCode::invalid_field, "not a valid P-256 private key");
  // The public point is d·G; OpenSSL's fromdata does not derive it for us.
  std::unique_ptr<EC_POINT, PointDelete> public_point(EC_POINT_new(group.get()));
  std::array<unsigned char, kP256PointBytes> encoded{};
  if (!public_point || EC_POINT_mul(group.get(), public_point.get(), d.get(), nullptr, nullptr, bn_ctx.get()) != 1 ||
      EC_POINT_point2oct(group.get(), public_point.get(), POINT_CONVERSION_UNCOMPRESSED, encoded.data(), encoded.size(),
                         bn_ctx.get()) != encoded.size())
    return make_error(ErrorCode::internal, "P-256 public key derivation failed");
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldDelete> builder(OSSL_PARAM_BLD_new());
  if (!builder ||
      OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, SN_X9_62_prime256v1, 0) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, encoded.data(), encoded.size()) != 1)
    return make_error(ErrorCode::internal, "out of memory");
  std::unique_ptr<OSSL_PARAM, ParamDelete> params(OSSL_PARAM_BLD_to_param(builder.get()));
  EvpPkeyPtr key = params ? p256_from_params(params.get(), EVP_PKEY_KEYPAIR) : nullptr;
  if (!key) return make_error(ErrorCode::internal, "P-256 key import failed");
  return PrivateKey(std::move(key), KeyKind::p256);
}

std::string PrivateKey::private_pem() const {
  std::unique_ptr<BIO, BioDelete> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) return {};
  return bio_text(bio.get());
}

std::string PrivateKey::public_pem() const {
  std::unique_ptr<BIO, BioDelete> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) return {};
  return bio_text(bio.get());
}

std::string PrivateKey::p256_public_point() const {
  if (kind_ != KeyKind::p256) return {};
  // From X and Y rather than the encoded public key, whose form (compressed or not) follows
  // however the key was loaded.
  BIGNUM* x = nullptr;
  BIGNUM* y = nullptr;
  const bool have = EVP_PKEY_get_bn_param(key_.get(), OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
                    EVP_PKEY_get_bn_param(key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1;
  std::unique_ptr<BIGNUM, BnDelete> x_owned(x), y_owned(y);
  std::string point(kP256PointBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(point.data());
  out[0] = POINT_CONVERSION_UNCOMPRESSED;
  if (!have || BN_bn2binpad(x, out + 1, kP256FieldBytes) != static_cast<int>(kP256FieldBytes) ||
      BN_bn2binpad(y, out + 1 + kP256FieldBytes, kP256FieldBytes) != static_cast<int>(kP256FieldBytes))
    return {};
  return point;
}

EvpPkeyPtr p256_public_key_from_point(std::string_view point) {
  if (point.size() != kP256PointBytes || static_cast<unsigned char>(point[0]) != POINT_CONVERSION_UNCOMPRESSED)
    return nullptr;
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldDelete> builder(OSSL_PARAM_BLD_new());
  if (!builder ||
      OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, SN_X9_62_prime256v1, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1)
    return nullptr;
  std::unique_ptr<OSSL_PARAM, ParamDelete> params(OSSL_PARAM_BLD_to_param(builder.get()));
  if (!params) return nullptr;
  EvpPkeyPtr key = p256_from_params(params.get(), EVP_PKEY_PUBLIC_KEY);
  if (!key) return nullptr;
  // Decoding already refuses points off the curve; the explicit check keeps that true whatever
  // the provider does, since ECDH with an invalid point leaks the private key.
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDelete> check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) return nullptr;
  return key;
}

}  // namespace parley::push

#include "auth/passwords.hpp"

#include <sodium.h>

#include <array>
#include <stdexcept>

#include "core/base64.hpp"

namespace parley::auth {
namespace {

// `byte_count` bytes from libsodium's CSPRNG, base64url-encoded.
std::string random_base64url(std::size_t byte_count) {
  std::string bytes(byte_count, '\0');
  randombytes_buf(bytes.data(), bytes.size());
  std::string encoded = base64url_encode(bytes);
  sodium_memzero(bytes.data(), bytes.size());  // the raw bytes of a secret need not linger
  return encoded;
}

// An empty string_view may have a null data(); libsodium wants a valid pointer even for 0 bytes.
const char* non_null(std::string_view text) { return text.empty() ? "" : text.data(); }

}  // namespace

void init_crypto() {
  // sodium_init() is itself thread-safe and idempotent (0 = done now, 1 = already done);
  // the static just spares repeated calls from taking its lock.
  static const int init_result = sodium_init();
  if (init_result < 0) throw std::runtime_error("libsodium initialization failed");
}

std::string hash_password(std::string_view password, unsigned long long opslimit,
                          std::size_t memlimit_bytes) {
  std::array<char, crypto_pwhash_STRBYTES> encoded{};
  if (crypto_pwhash_str_alg(encoded.data(), non_null(password), password.size(), opslimit,
                            memlimit_bytes, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw std::runtime_error("argon2id hashing failed (out of memory or invalid limits)");
  }
  return std::string(encoded.data());  // NUL-terminated by libsodium
}

bool verify_password(std::string_view password, const std::string& stored_hash) {
  // libsodium reads the hash as a C string; an embedded NUL would silently truncate it.
  if (stored_hash.find('\0') != std::string::npos) return false;
  return crypto_pwhash_str_verify(stored_hash.c_str(), non_null(password), password.size()) == 0;
}

std::string random_token_id() {
  // Ids are typed on command lines (`parley sessions revoke ID`, `--invite CODE`), where a
  // leading '-' reads as an option; redrawing costs 1/64 of one character's entropy.
  std::string id = random_base64url(16);
  while (id.front() == '-') id = random_base64url(16);
  return id;
}

std::string random_secret() { return random_base64url(32); }

}  // namespace parley::auth

// Password hashing (argon2id via libsodium) and the random ids and secrets auth hands out.
// Call init_crypto() once at start-up, before any other function here or in tokens.hpp.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace parley::auth {

// Initializes libsodium (CPU feature detection, RNG). Idempotent and thread-safe; call it at
// start-up. Throws std::runtime_error if libsodium cannot initialize.
void init_crypto();

// Hashes `password` with argon2id (crypto_pwhash_ALG_ARGON2ID13) and a fresh random salt.
// Returns the self-describing "$argon2id$v=19$m=...,t=...,p=1$salt$hash" string, which
// carries its own parameters, so it can be verified after the limits change.
// Slow and memory-hungry by design (tens of ms, `memlimit_bytes` of RAM): never call it on
// an event-loop thread. Throws std::runtime_error only if libsodium fails to hash, which with
// sane limits means it could not allocate `memlimit_bytes` (opslimit must be >= 1 and
// memlimit_bytes >= 8 KiB, as validated by the config).
std::string hash_password(std::string_view password, unsigned long long opslimit,
                          std::size_t memlimit_bytes);

// True if `password` matches `stored_hash` (a string from hash_password). False for a wrong
// password and for a malformed or unsupported stored hash. As slow as hash_password with the
// limits stored in the hash: never call it on an event-loop thread.
bool verify_password(std::string_view password, const std::string& stored_hash);

// A fresh random token id ("jti"): 16 random bytes, base64url without padding (22 chars),
// never starting with '-' (it would read as an option on a command line).
std::string random_token_id();

// A fresh random secret, e.g. a generated token signing key: 32 random bytes, base64url
// without padding (43 chars).
std::string random_secret();

}  // namespace parley::auth

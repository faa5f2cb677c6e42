// Web Push message encryption (RFC 8291) in the aes128gcm content coding (RFC 8188): what an
// application server does to a payload before POSTing it to a subscription's endpoint with
// `Content-Encoding: aes128gcm`. Safe from any thread.
//
// The body is one record: salt (16) | rs (uint32 BE, 4096) | idlen (1) = 65 | the server's
// ephemeral public key (65), then AES-128-GCM(plaintext || 0x02 || zero padding) with its
// 16-byte tag. rs bounds the record alone (ciphertext and tag, not the 86-byte header), so one
// record could carry 4096 - 16 - 1 = 4079 bytes of plaintext. But a push service only has to
// accept 4096 bytes of body in all (RFC 8030 section 7.2; larger ones get 413), which leaves
// 4096 - 86 - 16 - 1 = 3993 bytes for plaintext and padding together.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "push/private_key.hpp"

namespace parley::push {

inline constexpr std::size_t kWebPushRecordSize = 4096;
inline constexpr std::size_t kWebPushHeaderBytes = 16 + 4 + 1 + 65;
inline constexpr std::size_t kWebPushMaxBodyBytes = 4096;

// The most plaintext (plus padding) one push message can carry: 3993 bytes.
constexpr std::size_t max_plaintext_bytes() { return kWebPushMaxBodyBytes - kWebPushHeaderBytes - 16 - 1; }

// Encrypts `plaintext` for the subscription whose keys are `ua_public` (keys.p256dh decoded:
// the 65-byte uncompressed P-256 point) and `auth_secret` (keys.auth decoded: 16 bytes),
// with a fresh ephemeral key and salt. `padding_bytes` zero bytes are added inside the
// record to hide the length. Errors: invalid_field for a bad key or secret, too_large when
// plaintext plus padding exceed max_plaintext_bytes().
Result<std::string> web_push_encrypt(std::string_view plaintext, std::string_view ua_public,
                                     std::string_view auth_secret, std::size_t padding_bytes = 0);

// The same with the server's ephemeral key (P-256) and the 16-byte salt given, so the output
// is deterministic (RFC 8291 section 5's example). Never reuse either in production.
Result<std::string> web_push_encrypt_with(std::string_view plaintext, std::string_view ua_public,
                                          std::string_view auth_secret, const PrivateKey& ephemeral_key,
                                          std::string_view salt, std::size_t padding_bytes = 0);

}  // namespace parley::push

#include "gateway/tls_context.hpp"

#include <openssl/err.h>

#include <stdexcept>

namespace parley::gateway {
namespace {

std::string openssl_reason() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

// TLS 1.2 suites: ECDHE key exchange (forward secrecy) with AES-GCM or ChaCha20-Poly1305 only.
// TLS 1.3 keeps OpenSSL's defaults (all AEAD).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

int select_http11(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
                  unsigned int in_length, void*) {
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_length, kHttp11, sizeof kHttp11, in, in_length) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;  // no common protocol: go on without ALPN
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

SharedSslContext load_tls_context(const std::string& cert_path, const std::string& key_path) {
  ERR_clear_error();
  SharedSslContext context(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!context) throw std::runtime_error("TLS: cannot create a context: " + openssl_reason());
  SSL_CTX* ctx = context.get();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  // Idle connections give their read and write buffers back (tens of KiB each).
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) throw std::runtime_error("TLS: cipher list: " + openssl_reason());
  if (SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1) throw std::runtime_error("TLS: groups: " + openssl_reason());
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_path.c_str()) != 1)
    throw std::runtime_error("TLS: server.tls_cert " + cert_path + ": " + openssl_reason());
  if (SSL_CTX_use_PrivateKey_file(ctx, key_path.c_str(), SSL_FILETYPE_PEM) != 1)
    throw std::runtime_error("TLS: server.tls_key " + key_path + ": " + openssl_reason());
  if (SSL_CTX_check_private_key(ctx) != 1)
    throw std::runtime_error("TLS: server.tls_key does not match server.tls_cert: " + openssl_reason());
  SSL_CTX_set_alpn_select_cb(ctx, select_http11, nullptr);
  return context;
}

TlsContextHolder::TlsContextHolder(std::string cert_path, std::string key_path)
    : cert_path_(std::move(cert_path)), key_path_(std::move(key_path)), context_(load_tls_context(cert_path_, key_path_)) {}

SharedSslContext TlsContextHolder::current() const {
  std::lock_guard lock(mutex_);
  return context_;
}

std::string TlsContextHolder::reload() {
  try {
    SharedSslContext fresh = load_tls_context(cert_path_, key_path_);
    std::lock_guard lock(mutex_);
    context_ = std::move(fresh);
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

SSL* TlsContextHolder::new_connection() const {
  SharedSslContext context = current();
  return SSL_new(context.get());  // holds its own reference to the context
}

}  // namespace parley::gateway

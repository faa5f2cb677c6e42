// The server's TLS configuration: certificate chain and key from PEM files, TLS 1.2 and 1.3
// only, forward-secret AEAD cipher suites (Mozilla's "intermediate" profile), no
// renegotiation, no compression, ALPN http/1.1. Reloadable: a new context is built from the
// files and swapped in; connections keep the context they started with.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <mutex>
#include <string>

namespace parley::gateway {

using SharedSslContext = std::shared_ptr<SSL_CTX>;

// Builds a server context from `cert_path` (PEM chain, leaf first) and `key_path` (PEM private
// key). Throws std::runtime_error naming the file and OpenSSL's reason.
SharedSslContext load_tls_context(const std::string& cert_path, const std::string& key_path);

// The current context, swapped by reload(). Thread-safe.
class TlsContextHolder {
 public:
  TlsContextHolder(std::string cert_path, std::string key_path);
  SharedSslContext current() const;
  // Rebuilds from the files; on failure keeps the old context and returns the reason.
  std::string reload();
  // A new server-side SSL object of the current context, or nullptr if OpenSSL fails.
  SSL* new_connection() const;

 private:
  std::string cert_path_, key_path_;
  mutable std::mutex mutex_;
  SharedSslContext context_;
};

}  // namespace parley::gateway

#include "media/local_signer.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "core/base64.hpp"

namespace parley::media {
namespace {

constexpr std::size_t kMacBytes = 32;  // SHA-256
constexpr std::size_t kSignatureChars = 43;  // base64url of 32 bytes, unpadded

// The signed text. A version prefix keeps these MACs apart from anything else a key might be
// (mis)used for; fields are separated by '\n', which none of them may contain.
std::string signed_text(SignedMethod method, std::string_view object, std::int64_t expires_at_s,
                        std::int64_t declared_size) {
  std::string text = "parley-media-url-v1\n";
  text += method == SignedMethod::put ? "PUT" : "GET";
  text += '\n';
  text += object;
  text += '\n';
  text += std::to_string(expires_at_s);
  text += '\n';
  text += std::to_string(declared_size);
  return text;
}

void hmac(const std::string& key, const std::string& text, unsigned char (&out)[kMacBytes]) {
  unsigned int length = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(text.data()),
            text.size(), out, &length) ||
      length != kMacBytes)
    throw std::runtime_error("HMAC-SHA256 failed");
}

}  // namespace

LocalUrlSigner::LocalUrlSigner(std::string key) : key_(std::move(key)) {
  if (key_.size() < kMinKeyBytes) throw std::invalid_argument("media URL key shorter than 32 bytes");
}

std::string LocalUrlSigner::sign(SignedMethod method, std::string_view object, std::int64_t expires_at_s,
                                 std::int64_t declared_size) const {
  unsigned char mac[kMacBytes];
  hmac(key_, signed_text(method, object, expires_at_s, declared_size), mac);
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(mac), kMacBytes));
}

UrlCheck LocalUrlSigner::verify(SignedMethod method, std::string_view object, std::int64_t expires_at_s,
                                std::int64_t declared_size, std::string_view signature, std::int64_t now_s) const {
  if (object.find('\n') != std::string_view::npos) return UrlCheck::bad_signature;
  // Exactly 43 characters (no padding), and base64url_decode refuses non-zero trailing bits:
  // a signature has one valid spelling, never a second one made by varying it.
  if (signature.size() != kSignatureChars) return UrlCheck::bad_signature;
  const auto received = base64url_decode(signature);
  if (!received || received->size() != kMacBytes) return UrlCheck::bad_signature;
  unsigned char expected[kMacBytes];
  hmac(key_, signed_text(method, object, expires_at_s, declared_size), expected);
  if (CRYPTO_memcmp(expected, received->data(), kMacBytes) != 0) return UrlCheck::bad_signature;
  if (expires_at_s <= now_s) return UrlCheck::expired;
  return UrlCheck::ok;
}

std::string load_or_create_media_key(const std::string& configured, const std::string& data_dir) {
  if (!configured.empty()) {
    if (configured.size() < LocalUrlSigner::kMinKeyBytes) throw std::runtime_error("media.secret is shorter than 32 bytes");
    return configured;
  }
  const auto path = std::filesystem::path(data_dir) / "media.key";
  if (std::ifstream in(path); in) {
    std::string key;
    std::getline(in, key);
    if (key.size() >= LocalUrlSigner::kMinKeyBytes) return key;
    throw std::runtime_error("media key file " + path.string() + " is too short");
  }
  unsigned char random[32];
  if (RAND_bytes(random, sizeof random) != 1) throw std::runtime_error("no random bytes for the media key");
  const std::string key = base64url_encode(std::string_view(reinterpret_cast<const char*>(random), sizeof random));
  const std::string line = key + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create media key file " + path.string() + ": " + std::strerror(errno));
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written) throw std::runtime_error("cannot write media key file " + path.string());
  return key;
}

}  // namespace parley::media

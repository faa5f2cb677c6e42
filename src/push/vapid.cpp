#include "push/vapid.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <fstream>
#include <sstream>

#include "core/base64.hpp"
#include "core/json_writer.hpp"
#include "push/jwt.hpp"

namespace parley::push {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Creates a new 0600 file next to `path` holding `bytes`; returns its name, or empty.
std::filesystem::path write_temporary(const std::filesystem::path& path, std::string_view bytes) {
  std::string name = path.string() + ".XXXXXX";
  const int fd = ::mkstemp(name.data());  // mkstemp creates with mode 0600
  if (fd < 0) return {};
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  const bool ok = written == bytes.size() && ::fsync(fd) == 0;
  if (::close(fd) != 0 || !ok) {
    ::unlink(name.c_str());
    return {};
  }
  return name;
}

}  // namespace

Result<VapidKey> VapidKey::from_key(Result<PrivateKey> key) {
  if (!key) return key.take_error();
  if (key->kind() != KeyKind::p256) return make_error(ErrorCode::invalid_field, "a VAPID key must be P-256");
  std::string public_key = base64url_encode(key->p256_public_point());
  return VapidKey(std::move(key).value(), std::move(public_key));
}

Result<VapidKey> VapidKey::generate() { return from_key(PrivateKey::generate_p256()); }

Result<VapidKey> VapidKey::from_pem(std::string_view pem) { return from_key(PrivateKey::from_pem(pem)); }

Result<VapidKey> VapidKey::from_base64url_scalar(std::string_view scalar_base64url) {
  const auto scalar = base64url_decode(scalar_base64url);
  if (!scalar) return make_error(ErrorCode::invalid_field, "VAPID private key is not base64url");
  return from_key(PrivateKey::from_p256_scalar(*scalar));
}

Result<VapidKey> VapidKey::load(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::not_found, "cannot read VAPID key file " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  auto key = from_pem(text.str());
  if (!key) return make_error(key.error().code, path.string() + ": " + key.error().message);
  return key;
}

Status VapidKey::save(const std::filesystem::path& path) const {
  const auto temporary = write_temporary(path, key_.private_pem());
  if (temporary.empty()) return make_error(ErrorCode::internal, "cannot write VAPID key next to " + path.string());
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    ::unlink(temporary.c_str());
    return make_error(ErrorCode::internal, "cannot rename VAPID key into " + path.string());
  }
  return Ok{};
}

Result<VapidKey> VapidKey::load_or_create(const std::filesystem::path& path) {
  if (std::filesystem::exists(path)) return load(path);
  auto fresh = generate();
  if (!fresh) return fresh;
  const auto temporary = write_temporary(path, fresh->key_.private_pem());
  if (temporary.empty()) return make_error(ErrorCode::internal, "cannot write VAPID key next to " + path.string());
  // link() fails if `path` exists, unlike rename(): a key another process made first wins
  // and is never overwritten.
  const int linked = ::link(temporary.c_str(), path.c_str());
  const int link_errno = errno;
  ::unlink(temporary.c_str());
  if (linked == 0) return fresh;
  if (link_errno == EEXIST) return load(path);
  return make_error(ErrorCode::internal, "cannot create VAPID key file " + path.string());
}

Result<std::string> VapidKey::authorization_header(std::string_view audience_origin, std::string_view subject,
                                                   std::int64_t expires_at_unix_seconds) const {
  const auto origin = origin_of(audience_origin);
  if (!origin || *origin != audience_origin)
    return make_error(ErrorCode::invalid_field, "VAPID audience must be an origin such as https://push.example");
  if (!subject.starts_with("mailto:") && !subject.starts_with("https:"))
    return make_error(ErrorCode::invalid_field, "VAPID subject must be a mailto: or https: URI");
  std::string claims;
  JsonWriter(claims)
      .begin_object()
      .field("aud", audience_origin)
      .field("exp", expires_at_unix_seconds)
      .field("sub", subject)
      .end_object();
  auto token = sign_jwt(JwtAlgorithm::es256, R"({"typ":"JWT","alg":"ES256"})", claims, key_);
  if (!token) return token;
  return "vapid t=" + *token + ", k=" + public_key_base64url_;
}

std::optional<std::string> origin_of(std::string_view endpoint_url) {
  const auto scheme_end = endpoint_url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  const std::string scheme = lower(endpoint_url.substr(0, scheme_end));
  if (scheme != "https" && scheme != "http") return std::nullopt;
  std::string_view authority = endpoint_url.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) return std::nullopt;

  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {  // IPv6 literal: the port follows the bracket
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(0, close + 1);
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || host == "[]") return std::nullopt;
  for (const char c : host)
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c))) return std::nullopt;

  std::string origin = scheme + "://" + lower(host);
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); }))
      return std::nullopt;
    const int number = std::stoi(std::string(port));
    if (number < 1 || number > 65535) return std::nullopt;
    const int default_port = scheme == "https" ? 443 : 80;
    if (number != default_port) origin += ":" + std::to_string(number);
  }
  return origin;
}

}  // namespace parley::push

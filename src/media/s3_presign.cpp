#include "media/s3_presign.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <time.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <utility>
#include <vector>

namespace parley::media {
namespace {

constexpr std::int64_t kMaxExpiresSeconds = 7 * 24 * 3600;
constexpr std::size_t kMaxKeyBytes = 1024;

std::string hex(const unsigned char* bytes, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 15]);
  }
  return out;
}

std::string sha256_hex(std::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return hex(digest, sizeof digest);
}

std::string hmac_sha256(std::string_view key, std::string_view text) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(text.data()),
            text.size(), mac, &length))
    throw std::runtime_error("HMAC-SHA256 failed");
  return std::string(reinterpret_cast<const char*>(mac), length);
}

struct Endpoint {
  std::string scheme;  // "http" or "https"
  std::string host;    // host[:port], the default port left out (as the SDK's Host header)
};

Result<Endpoint> parse_endpoint(std::string_view endpoint) {
  Endpoint out;
  std::string_view rest;
  if (endpoint.rfind("https://", 0) == 0) {
    out.scheme = "https";
    rest = endpoint.substr(8);
  } else if (endpoint.rfind("http://", 0) == 0) {
    out.scheme = "http";
    rest = endpoint.substr(7);
  } else {
    return field_error(ErrorCode::invalid_field, "media.s3.endpoint", "must start with http:// or https://");
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty() || rest.find_first_of("/?#@ \t\r\n") != std::string_view::npos)
    return field_error(ErrorCode::invalid_field, "media.s3.endpoint", "must be scheme://HOST[:PORT] with no path");
  std::string host(rest);
  const std::string default_port = out.scheme == "https" ? ":443" : ":80";
  if (host.size() > default_port.size() && host.ends_with(default_port) && host.front() != '[')
    host.resize(host.size() - default_port.size());
  for (char c : host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']'))
      return field_error(ErrorCode::invalid_field, "media.s3.endpoint", "has a character not allowed in a host name");
  out.host = std::move(host);
  return out;
}

// A bucket name that can be the first label of a host name: 3..63 of [a-z0-9-], starting
// and ending with a letter or digit (no dots: they break TLS wildcard certificates).
bool is_dns_label_bucket(std::string_view bucket) {
  if (bucket.size() < 3 || bucket.size() > 63) return false;
  for (char c : bucket)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return bucket.front() != '-' && bucket.back() != '-';
}

// S3's bucket naming rules for path-style use: 3..63 of [a-z0-9.-].
bool is_path_bucket(std::string_view bucket) {
  if (bucket.size() < 3 || bucket.size() > 63) return false;
  for (char c : bucket)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  return true;
}

std::string amz_date(std::int64_t now_s) {
  const time_t t = static_cast<time_t>(now_s);
  tm utc{};
  gmtime_r(&t, &utc);
  char text[17];
  strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

}  // namespace

std::string sigv4_encode(std::string_view text, bool keep_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 15]);
    }
  }
  return out;
}

Status check_s3_location(const S3Location& location) {
  auto endpoint = parse_endpoint(location.endpoint);
  if (!endpoint) return endpoint.error();
  if (location.path_style ? !is_path_bucket(location.bucket) : !is_dns_label_bucket(location.bucket))
    return field_error(ErrorCode::invalid_field, "media.s3.bucket",
                                  location.path_style ? "must be 3..63 of a-z 0-9 . -"
                                                      : "must be 3..63 of a-z 0-9 - for virtual-hosted addressing (use media.s3.path_style for dotted names)");
  if (location.region.empty() || location.region.find_first_of("/ \t\r\n") != std::string::npos)
    return field_error(ErrorCode::invalid_field, "media.s3.region", "must be a region name such as us-east-1");
  if (location.access_key.empty() || location.access_key.find_first_of("/ \t\r\n") != std::string::npos)
    return field_error(ErrorCode::invalid_field, "media.s3.access_key", "must be non-empty, without '/' or spaces");
  if (location.secret_key.empty())
    return field_error(ErrorCode::invalid_field, "media.s3.secret_key", "must be non-empty");
  return Ok{};
}

Result<std::string> presign_s3_url(const S3Location& location, const S3PresignRequest& request) {
  if (auto checked = check_s3_location(location); !checked) return checked.error();
  if (request.key.empty() || request.key.size() > kMaxKeyBytes)
    return field_error(ErrorCode::invalid_field, "key", "object keys are 1..1024 bytes");
  if (request.expires_in_s < 1 || request.expires_in_s > kMaxExpiresSeconds)
    return field_error(ErrorCode::invalid_field, "expires_in_s", "must be within 1..604800");
  if (request.method == S3Method::put && request.content_length < 0)
    return field_error(ErrorCode::invalid_field, "content_length", "must not be negative");
  const Endpoint endpoint = *parse_endpoint(location.endpoint);

  std::string host = endpoint.host;
  std::string path = "/";
  if (location.path_style) path += sigv4_encode(location.bucket, false) + "/";
  else host = location.bucket + "." + host;
  path += sigv4_encode(request.key, true);

  const std::string date_time = amz_date(request.now_s);
  const std::string date = date_time.substr(0, 8);
  const std::string scope = date + "/" + location.region + "/s3/aws4_request";
  const bool put = request.method == S3Method::put;
  const std::string signed_headers = put ? "content-length;host" : "host";
  const char* method = put                                 ? "PUT"
                       : request.method == S3Method::head   ? "HEAD"
                       : request.method == S3Method::del    ? "DELETE"
                                                            : "GET";

  // Parameter names and values as they appear (encoded); sorted by name, they are both the
  // canonical query and the URL's query. "x-id" is what the SDK adds (S3 ignores it); it is
  // kept so the URLs are identical.
  std::vector<std::pair<std::string, std::string>> query = {
      {"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
      {"X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"},
      {"X-Amz-Credential", sigv4_encode(location.access_key + "/" + scope, false)},
      {"X-Amz-Date", date_time},
      {"X-Amz-Expires", std::to_string(request.expires_in_s)},
      {"X-Amz-SignedHeaders", sigv4_encode(signed_headers, false)},
  };
  if (request.method == S3Method::get) query.emplace_back("x-id", "GetObject");
  if (put) query.emplace_back("x-id", "PutObject");
  if (request.method == S3Method::del) query.emplace_back("x-id", "DeleteObject");
  std::sort(query.begin(), query.end());
  std::string canonical_query;
  for (const auto& [name, value] : query) {
    if (!canonical_query.empty()) canonical_query += '&';
    canonical_query += name + "=" + value;
  }

  std::string canonical_headers;
  if (put) canonical_headers += "content-length:" + std::to_string(request.content_length) + "\n";
  canonical_headers += "host:" + host + "\n";
  const std::string canonical_request = std::string(method) + "\n" + path + "\n" + canonical_query + "\n" +
                                        canonical_headers + "\n" + signed_headers + "\nUNSIGNED-PAYLOAD";
  const std::string string_to_sign = "AWS4-HMAC-SHA256\n" + date_time + "\n" + scope + "\n" + sha256_hex(canonical_request);
  std::string signing_key = hmac_sha256("AWS4" + location.secret_key, date);
  signing_key = hmac_sha256(signing_key, location.region);
  signing_key = hmac_sha256(signing_key, "s3");
  signing_key = hmac_sha256(signing_key, "aws4_request");
  const std::string mac = hmac_sha256(signing_key, string_to_sign);
  query.emplace_back("X-Amz-Signature", hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size()));
  std::sort(query.begin(), query.end());

  std::string url = endpoint.scheme + "://" + host + path + "?";
  for (std::size_t i = 0; i < query.size(); ++i) {
    if (i > 0) url += '&';
    url += query[i].first + "=" + query[i].second;
  }
  return url;
}

}  // namespace parley::media

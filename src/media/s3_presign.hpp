// AWS Signature Version 4 query-string pre-signing (docs.aws.amazon.com, "Authenticating
// Requests: Using Query Parameters") for any S3-compatible store: GET, HEAD, PUT and DELETE, where a
// PUT's Content-Length is a signed header, so the store refuses a body of any other size and
// the size a client declared binds its upload. The URLs are byte for byte the ones the AWS
// SDK's @aws-sdk/s3-request-presigner makes for the same inputs (tests/s3presign). Pure
// functions, safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace parley::media {

// Where objects live. The endpoint is "http(s)://HOST[:PORT]" without a path.
struct S3Location {
  std::string endpoint;    // e.g. "https://s3.eu-central-1.amazonaws.com" or "http://127.0.0.1:9000"
  std::string bucket;
  std::string region;      // e.g. "us-east-1"; S3-compatible stores often accept any ("auto")
  std::string access_key;
  std::string secret_key;
  bool path_style = true;  // ENDPOINT/BUCKET/KEY (true) or BUCKET.HOST/KEY (virtual-hosted)
};

enum class S3Method { get, put, head, del };  // del: DELETE (the server's own clean-up)

struct S3PresignRequest {
  S3Method method = S3Method::get;
  std::string key;                 // object key, 1..1024 bytes (any bytes; encoded here)
  std::int64_t expires_in_s = 300; // 1..604800 (SigV4's limit: 7 days)
  std::int64_t now_s = 0;          // signing time, Unix seconds (the URL is valid from then on)
  std::int64_t content_length = 0; // PUT only: the exact body size the store will accept
};

// Checks what pre-signing needs of a location (scheme, host, no path, a bucket name usable
// in a path or, for virtual-hosted addressing, as a DNS label). invalid_field with the
// setting's name as the field.
Status check_s3_location(const S3Location& location);

// The pre-signed URL, or invalid_field for a key, expiry or size out of range, or a location
// check_s3_location refuses.
Result<std::string> presign_s3_url(const S3Location& location, const S3PresignRequest& request);

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters (A-Z a-z 0-9 - . _ ~)
// stay, every other byte becomes %XX (upper case); '/' stays if `keep_slash`.
std::string sigv4_encode(std::string_view text, bool keep_slash);

}  // namespace parley::media

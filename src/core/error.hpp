// Errors that reach a client: one enum, one stable wire code per value.
// The wire codes are part of the protocol (docs/protocol.md); never rename one.
#pragma once

#include <string>
#include <string_view>

namespace parley {

enum class ErrorCode {
  bad_request,        // malformed JSON, nesting too deep, wrong top-level shape
  unknown_type,       // "type" names no command
  missing_field,      // a required field is absent
  invalid_field,      // a field has the wrong type or an invalid value
  too_large,          // a field, body or frame exceeds its configured limit
  not_authenticated,  // command sent before a successful hello
  already_authenticated,
  unauthorized,       // missing, malformed or badly signed token / wrong password
  token_expired,
  token_revoked,
  forbidden,          // authenticated but not allowed (role, not the author, ...)
  not_member,         // the conversation exists but the caller is not a member
  not_found,
  conflict,           // e.g. username taken
  already_member,
  limit_reached,      // e.g. group size limit
  rate_limited,
  unavailable,        // shutting down or store not ready
  internal,
};

// The stable wire string of a code, e.g. "not_member".
std::string_view error_code_name(ErrorCode code);

// HTTP status used when the error is returned by the REST API.
int error_http_status(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;  // human readable, for logs and developers; may change
  std::string field;    // the request field the error is about ("password"), if one is; stable
};

inline Error make_error(ErrorCode code, std::string message) { return Error{code, std::move(message), {}}; }
// An error about one field of the request: clients show it next to that field.
inline Error field_error(ErrorCode code, std::string field, std::string message) {
  return Error{code, std::move(message), std::move(field)};
}

}  // namespace parley

#include "core/error.hpp"

namespace parley {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::bad_request: return "bad_request";
    case ErrorCode::unknown_type: return "unknown_type";
    case ErrorCode::missing_field: return "missing_field";
    case ErrorCode::invalid_field: return "invalid_field";
    case ErrorCode::too_large: return "too_large";
    case ErrorCode::not_authenticated: return "not_authenticated";
    case ErrorCode::already_authenticated: return "already_authenticated";
    case ErrorCode::unauthorized: return "unauthorized";
    case ErrorCode::token_expired: return "token_expired";
    case ErrorCode::token_revoked: return "token_revoked";
    case ErrorCode::forbidden: return "forbidden";
    case ErrorCode::not_member: return "not_member";
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::conflict: return "conflict";
    case ErrorCode::already_member: return "already_member";
    case ErrorCode::limit_reached: return "limit_reached";
    case ErrorCode::rate_limited: return "rate_limited";
    case ErrorCode::unavailable: return "unavailable";
    case ErrorCode::internal: return "internal";
  }
  return "internal";
}

int error_http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::bad_request:
    case ErrorCode::unknown_type:
    case ErrorCode::missing_field:
    case ErrorCode::invalid_field: return 400;
    case ErrorCode::too_large: return 413;
    case ErrorCode::not_authenticated:
    case ErrorCode::unauthorized:
    case ErrorCode::token_expired:
    case ErrorCode::token_revoked: return 401;
    case ErrorCode::forbidden:
    case ErrorCode::not_member: return 403;
    case ErrorCode::not_found: return 404;
    case ErrorCode::conflict:
    case ErrorCode::already_member:
    case ErrorCode::already_authenticated: return 409;
    case ErrorCode::limit_reached: return 422;
    case ErrorCode::rate_limited: return 429;
    case ErrorCode::unavailable: return 503;
    case ErrorCode::internal: return 500;
  }
  return 500;
}

}  // namespace parley

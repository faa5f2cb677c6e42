// The security log: one structured line per event an operator audits (sign-ups, sign-ins and
// failures, password changes, revocations, admin calls, refused connections), as
// `security.<event> key=value ...` on the normal log (or the `msg` of a JSON log line).
// Never pass a password, a token or an invite code: ids and addresses only.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace parley {

using SecurityField = std::pair<std::string_view, std::string_view>;

// Logs `security.<event>` with the fields in order; values are quoted and escaped when they
// hold spaces, quotes or control characters. Any thread.
void security_log(std::string_view event, std::initializer_list<SecurityField> fields);

// The text of such a line (without the logger's prefix); for tests.
std::string security_log_line(std::string_view event, std::initializer_list<SecurityField> fields);

}  // namespace parley

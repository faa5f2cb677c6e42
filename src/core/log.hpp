// Logging: spdlog, one line per event, "event key=value ..." (logfmt-like) so lines can be
// grepped and parsed; with server.log_format=json every line is a JSON object instead.
// Call init_logging once at start-up; then use spdlog::info/warn/error anywhere (thread-safe).
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace parley {

// Throws std::runtime_error on an unknown level or format.
void init_logging(const std::string& level, const std::string& format);

}  // namespace parley

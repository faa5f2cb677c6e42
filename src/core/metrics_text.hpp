// One Prometheus metric in the text exposition format (HELP, TYPE, value), appended to `out`:
// what each subsystem's metrics_text() writes for /metrics.
#pragma once

#include <cstdint>
#include <string>

namespace parley {

inline void append_metric(std::string& out, const char* name, const char* type, const char* help,
                          std::uint64_t value) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
         std::to_string(value) + "\n";
}

}  // namespace parley

// The REST API's routes: which command a method and path run, and the parameters the path
// carries. Pure (no I/O); the REST handler in chat/rest.cpp and the fuzz targets use it.
#pragma once

#include <string_view>

#include "protocol/parse.hpp"

namespace parley::protocol {

struct RouteMatch {
  bool path_known = false;           // some route has this path (with any method)
  std::string_view command;          // the command to run; empty if the method does not match
};

// Looks `method` and `path` (decoded, without the query) up in the route table. On a match the
// path's parameters ("{conversation_id}", ...) are appended to `params`. A trailing "/" on the
// path is accepted.
RouteMatch match_route(std::string_view method, std::string_view path, Params& params);

}  // namespace parley::protocol

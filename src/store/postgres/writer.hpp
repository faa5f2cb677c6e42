// The PostgreSQL engine's writer connection (see writer.cpp).
#pragma once

#include <memory>

#include "store/postgres/connection.hpp"
#include "store/store.hpp"

namespace parley::store::postgres {

// Opens this node's writer connection. Throws StoreFailure if the server cannot be reached.
std::unique_ptr<WriterConnection> open_postgres_writer(const ConnectionOptions& connection,
                                                       const EngineOptions& options, ReconnectPolicy& policy);

}  // namespace parley::store::postgres

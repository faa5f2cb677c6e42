// The PostgreSQL engine: one writer connection per node (group commit; batches of all nodes
// serialized by a row lock), one connection per reader thread in REPEATABLE READ snapshots.
#pragma once

#include <memory>
#include <string>

#include "store/store.hpp"

namespace parley::store::postgres {

// `url` is a libpq connection URI (postgresql://...). Waits up to options.start_timeout_s for
// the server, then migrates the schema. Throws StoreFailure.
std::unique_ptr<Engine> open_postgres_engine(const std::string& url, const EngineOptions& options);

// The URL with its password replaced by "***" (for logs).
std::string redact_url(const std::string& url);

}  // namespace parley::store::postgres

// The SQLite engine: WAL mode, one writer connection (group commit), one read connection per
// reader thread. Readers never block the writer (WAL snapshots).
#pragma once

#include <memory>

#include "store/store.hpp"

namespace parley::store::sqlite {

// `path` is the database file. Throws StoreFailure.
std::unique_ptr<Engine> open_sqlite_engine(const std::string& path, const EngineOptions& options);

}  // namespace parley::store::sqlite

// The SQLite engine's writer connection (see writer.cpp).
#pragma once

#include <memory>
#include <string>

#include "store/store.hpp"

namespace parley::store::sqlite {

// Opens the single writer connection of the database at `path`, with its checkpointer thread.
std::unique_ptr<WriterConnection> open_sqlite_writer(const std::string& path, const EngineOptions& options);

}  // namespace parley::store::sqlite

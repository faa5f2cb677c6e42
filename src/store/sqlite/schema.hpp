// Versioned schema migrations of the SQLite engine. PRAGMA user_version counts the
// migrations applied; each runs in its own transaction. Never edit a released migration:
// append a new one.
#pragma once

namespace parley::store::sqlite {

class Database;

// The number of migrations this build knows (PRAGMA user_version after migrate()).
int schema_version();

// Applies every pending migration. Throws StoreFailure.
void migrate(Database& db);

}  // namespace parley::store::sqlite

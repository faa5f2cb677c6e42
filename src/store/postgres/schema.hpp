// Versioned schema migrations of the PostgreSQL engine. The table parley_schema records how
// many migrations ran; each runs in its own transaction, under an advisory lock so that several
// nodes starting at once migrate exactly once. Never edit a released migration: append one.
#pragma once

namespace parley::store::postgres {

class Connection;

// The number of migrations this build knows.
int schema_version();

// Applies every pending migration. Throws StoreFailure.
void migrate(Connection& connection);

}  // namespace parley::store::postgres

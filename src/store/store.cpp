#include "store/store.hpp"

#include "store/postgres/postgres_engine.hpp"
#include "store/sqlite/sqlite_engine.hpp"

namespace parley::store {

std::unique_ptr<Engine> open_engine(const EngineOptions& options) {
  const std::string& url = options.url;
  if (url.rfind("sqlite:", 0) == 0) return sqlite::open_sqlite_engine(url.substr(7), options);
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0)
    return postgres::open_postgres_engine(url, options);
  throw StoreFailure("unsupported store URL '" + postgres::redact_url(url) +
                     "' (supported: sqlite:PATH, postgresql://...)");
}

}  // namespace parley::store

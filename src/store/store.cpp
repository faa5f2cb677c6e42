#include "store/store.hpp"

#include "store/sqlite/sqlite_engine.hpp"

namespace parley::store {

std::unique_ptr<Engine> open_engine(const EngineOptions& options) {
  const std::string& url = options.url;
  if (url.rfind("sqlite:", 0) == 0) return sqlite::open_sqlite_engine(url.substr(7), options);
  throw StoreFailure("unsupported store URL '" + url + "' (supported: sqlite:PATH)");
}

}  // namespace parley::store

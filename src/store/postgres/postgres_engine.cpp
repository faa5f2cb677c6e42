#include "store/postgres/postgres_engine.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "core/clock.hpp"
#include "store/postgres/reads.hpp"
#include "store/postgres/schema.hpp"
#include "store/postgres/writer.hpp"

namespace parley::store::postgres {
namespace {

// A reader thread's connection. Each read is one REPEATABLE READ, READ ONLY transaction: every
// query of a task sees the same snapshot. BEGIN travels with the first query and COMMIT is
// sent without waiting, so a one-query read costs one round trip.
class PgReader final : public ReaderConnection {
 public:
  PgReader(const ConnectionOptions& options, ReconnectPolicy& policy)
      : connection_(options), reads_(connection_), policy_(policy) {}

  ReadTxn& begin_read() override {
    if (!connection_.check_alive()) reconnect();
    connection_.queue_simple("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    return reads_;
  }
  void end_read() override {
    if (connection_.broken()) return;
    connection_.queue_simple("COMMIT");
    connection_.sync_later();
  }

 private:
  void reconnect() {
    policy_.before_attempt(retry_at_ms_, failed_at_ms_);
    try {
      connection_.connect();
      policy_.succeeded(backoff_ms_, retry_at_ms_);
    } catch (const StoreFailure&) {
      policy_.failed(backoff_ms_, retry_at_ms_, failed_at_ms_);
      throw;
    }
  }

  Connection connection_;
  PgReads<ReadTxn> reads_;
  ReconnectPolicy& policy_;
  std::int64_t backoff_ms_ = 0;
  std::int64_t retry_at_ms_ = 0;
  std::int64_t failed_at_ms_ = 0;
};

class PostgresEngine final : public Engine {
 public:
  PostgresEngine(const std::string& url, const EngineOptions& options) : options_(options) {
    connection_.url = url;
    connection_.connect_timeout_s = options.connect_timeout_s;
    connection_.statement_timeout_ms = options.statement_timeout_ms;
    connection_.network_timeout_ms = options.network_timeout_ms;
    Connection setup(connection_);
    // Several nodes (and the database) may start together: wait for the server a while.
    const std::int64_t deadline = monotonic_ms() + static_cast<std::int64_t>(options.start_timeout_s) * 1000;
    for (int attempt = 0;; ++attempt) {
      try {
        setup.connect();
        break;
      } catch (const StoreFailure& failure) {
        if (monotonic_ms() >= deadline) throw;
        if (attempt == 0) spdlog::warn("store.postgres_waiting error=\"{}\"", failure.what());
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min(100 << std::min(attempt, 5), 2000)));
      }
    }
    migrate(setup);
  }
  std::unique_ptr<ReaderConnection> open_reader() override { return std::make_unique<PgReader>(connection_, *policy_); }
  std::unique_ptr<WriterConnection> open_writer() override {
    return open_postgres_writer(connection_, options_, *policy_);
  }
  std::string describe() const override { return redact_url(connection_.url); }

 private:
  EngineOptions options_;
  ConnectionOptions connection_;
  std::unique_ptr<ReconnectPolicy> policy_ = std::make_unique<ReconnectPolicy>();
};

}  // namespace

std::string redact_url(const std::string& url) {
  // postgresql://user:password@host... -> postgresql://user:***@host...
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const auto at = url.find('@', scheme + 3);
  const auto colon = url.find(':', scheme + 3);
  std::string out = url;
  if (at != std::string::npos && colon != std::string::npos && colon < at)
    out = url.substr(0, colon + 1) + "***" + url.substr(at);
  // A password given as a query parameter.
  const auto password = out.find("password=");
  if (password != std::string::npos) {
    const auto end = out.find('&', password);
    out = out.substr(0, password + 9) + "***" + (end == std::string::npos ? "" : out.substr(end));
  }
  return out;
}

std::unique_ptr<Engine> open_postgres_engine(const std::string& url, const EngineOptions& options) {
  return std::make_unique<PostgresEngine>(url, options);
}

}  // namespace parley::store::postgres

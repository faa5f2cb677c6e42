#include "store/postgres/connection.hpp"

#include <spdlog/spdlog.h>

#include <poll.h>

#include <charconv>

#include "core/clock.hpp"
#include "store/store.hpp"

namespace parley::store::postgres {

// --- Params ---

Params& Params::add(std::int64_t value) {
  values_.push_back(std::to_string(value));
  null_.push_back(false);
  return *this;
}

Params& Params::add(std::string_view text) {
  values_.emplace_back(text);
  null_.push_back(false);
  return *this;
}

Params& Params::add_null() {
  values_.emplace_back();
  null_.push_back(true);
  return *this;
}

std::vector<const char*> Params::pointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (std::size_t i = 0; i < values_.size(); ++i) out.push_back(null_[i] ? nullptr : values_[i].c_str());
  return out;
}

// --- ArrayLiteral ---

void ArrayLiteral::add(std::int64_t value) {
  separate();
  body_ += std::to_string(value);
}

void ArrayLiteral::add_text(std::string_view text) {
  separate();
  body_.push_back('"');
  for (char c : text) {
    if (c == '"' || c == '\\') body_.push_back('\\');
    body_.push_back(c);
  }
  body_.push_back('"');
}

void ArrayLiteral::add_null() {
  separate();
  body_ += "NULL";
}

// --- Rows ---

std::int64_t Rows::integer(int row, int column) const {
  const char* text = PQgetvalue(result_.get(), row, column);
  const int length = PQgetlength(result_.get(), row, column);
  if (length == 0) return 0;  // NULL
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text, text + length, value);
  if (ec != std::errc()) throw StoreFailure(std::string("not an integer: ") + text);
  return value;
}

int Rows::affected() const {
  if (!result_) return 0;
  const char* count = PQcmdTuples(result_.get());
  return count[0] == '\0' ? 0 : std::atoi(count);
}

// --- ReconnectPolicy ---

void ReconnectPolicy::before_attempt(std::int64_t& retry_at_ms, std::int64_t failed_at_ms) const {
  const std::int64_t now = monotonic_ms();
  if (now >= retry_at_ms || last_success_ms_.load(std::memory_order_acquire) > failed_at_ms) return;
  throw StoreFailure("PostgreSQL unreachable; next attempt in " + std::to_string(retry_at_ms - now) + " ms");
}

void ReconnectPolicy::failed(std::int64_t& backoff_ms, std::int64_t& retry_at_ms, std::int64_t& failed_at_ms) const {
  backoff_ms = backoff_ms == 0 ? 100 : std::min<std::int64_t>(backoff_ms * 2, 1000);
  failed_at_ms = monotonic_ms();
  retry_at_ms = failed_at_ms + backoff_ms;
}

void ReconnectPolicy::succeeded(std::int64_t& backoff_ms, std::int64_t& retry_at_ms) {
  backoff_ms = 0;
  retry_at_ms = 0;
  last_success_ms_.store(monotonic_ms(), std::memory_order_release);
}

// --- Connection ---

Connection::Connection(ConnectionOptions options) : options_(std::move(options)) {}

Connection::~Connection() { close(); }

void Connection::close() {
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
  prepared_.clear();
  expected_.clear();
  kept_.clear();
  deferred_sync_ = false;
}

bool Connection::broken() const { return conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK; }

bool Connection::check_alive() {
  if (broken()) return false;
  drain_deferred();  // the last read's COMMIT: sent long ago, answered by now
  if (broken() || !expected_.empty()) return !broken();
  // Nothing is outstanding, so the server has nothing to say: anything readable is its
  // termination notice ("terminating connection due to administrator command") or EOF.
  pollfd readable{PQsocket(conn_), POLLIN, 0};
  if (::poll(&readable, 1, 0) != 0) {
    spdlog::warn("store.postgres_connection_lost reason=\"closed by the server while idle\"");
    close();
    return false;
  }
  return true;
}

void Connection::connect() {
  close();
  const std::string timeout = std::to_string(options_.connect_timeout_s);
  // A partition: unacknowledged data for network_timeout_ms, or that long without an answer to
  // keepalive probes (idle a third of it, then probes every sixth, three of them), drops the
  // connection; the next statement reconnects.
  const int network_ms = std::max(options_.network_timeout_ms, 1000);
  const std::string user_timeout = std::to_string(network_ms);
  const std::string keepalive_idle = std::to_string(std::max(network_ms / 3000, 1));
  const std::string keepalive_interval = std::to_string(std::max(network_ms / 6000, 1));
  // Ours first: what the URL says (its query parameters) overrides these defaults.
  const char* keywords[] = {"connect_timeout",     "fallback_application_name", "keepalives",
                            "keepalives_idle",     "keepalives_interval",       "keepalives_count",
                            "tcp_user_timeout",    "dbname",                    nullptr};
  const char* values[] = {timeout.c_str(),        options_.application_name.c_str(), "1",
                          keepalive_idle.c_str(), keepalive_interval.c_str(),        "3",
                          user_timeout.c_str(),   options_.url.c_str(),              nullptr};
  conn_ = PQconnectdbParams(keywords, values, 1);
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
    const std::string message = conn_ ? PQerrorMessage(conn_) : "out of memory";
    close();
    throw StoreFailure("cannot connect to PostgreSQL: " + message);
  }
  // The server's side of a partition: a transaction this connection leaves open (its COMMIT
  // never arrives) is rolled back after network_timeout_ms, and the writer lock it holds with it.
  const std::string setup = "SET statement_timeout = " + std::to_string(options_.statement_timeout_ms) +
                            "; SET idle_in_transaction_session_timeout = " + std::to_string(network_ms) +
                            "; SET client_encoding = 'UTF8'";
  PGresult* result = PQexec(conn_, setup.c_str());
  const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
  const std::string message = PQresultErrorMessage(result);
  PQclear(result);
  if (!ok) {
    close();
    throw StoreFailure("PostgreSQL session setup failed: " + message);
  }
  if (PQenterPipelineMode(conn_) != 1) {
    close();
    throw StoreFailure("PostgreSQL pipeline mode unavailable");
  }
}

void Connection::fail(const std::string& what) {
  std::string message = what;
  if (conn_ && PQstatus(conn_) != CONNECTION_OK) message += " (connection lost)";
  expected_.clear();
  kept_.clear();
  deferred_sync_ = false;
  if (conn_ && PQstatus(conn_) != CONNECTION_OK) close();
  throw StoreFailure(message);
}

const std::string& Connection::prepared_name(std::string_view sql) {
  auto it = prepared_.find(std::string(sql));
  if (it != prepared_.end()) return it->second;
  std::string name = "p" + std::to_string(prepared_.size());
  const std::string text(sql);
  if (PQsendPrepare(conn_, name.c_str(), text.c_str(), 0, nullptr) != 1) fail(PQerrorMessage(conn_));
  expected_.push_back(Expected{Expected::prepare, -1, text});
  return prepared_.emplace(text, std::move(name)).first->second;
}

long Connection::queue(std::string_view sql, const Params& params, bool keep) {
  if (broken()) fail("not connected to PostgreSQL");
  const std::string& name = prepared_name(sql);
  const auto values = params.pointers();
  if (PQsendQueryPrepared(conn_, name.c_str(), params.size(), values.data(), nullptr, nullptr, 0) != 1)
    fail(PQerrorMessage(conn_));
  const long ticket = keep ? next_ticket_++ : -1;
  expected_.push_back(Expected{Expected::statement, ticket, {}});
  return ticket;
}

void Connection::queue_simple(std::string_view sql) {
  if (broken()) fail("not connected to PostgreSQL");
  const std::string text(sql);
  if (PQsendQueryParams(conn_, text.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) != 1)
    fail(PQerrorMessage(conn_));
  expected_.push_back(Expected{Expected::statement, -1, {}});
}

void Connection::read_until_sync(bool throw_errors) {
  std::string first_error;
  while (!expected_.empty()) {
    const Expected e = expected_.front();
    expected_.pop_front();
    PGresult* result = PQgetResult(conn_);
    if (!result) {
      if (broken()) fail("PostgreSQL connection lost while waiting for results");
      if (first_error.empty()) first_error = "a PostgreSQL result is missing";
      if (e.kind == Expected::sync) break;
      continue;
    }
    const ExecStatusType status = PQresultStatus(result);
    if (e.kind == Expected::sync) {
      if (status != PGRES_PIPELINE_SYNC && first_error.empty()) first_error = PQresultErrorMessage(result);
      PQclear(result);
      if (status != PGRES_PIPELINE_SYNC && broken()) fail(first_error);
      break;
    }
    const bool ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
    if (!ok) {
      if (status == PGRES_FATAL_ERROR && first_error.empty()) first_error = PQresultErrorMessage(result);
      // A statement that was never prepared (its Parse failed or was skipped) must be prepared
      // again at its next use.
      if (e.kind == Expected::prepare) prepared_.erase(e.sql);
    }
    if (ok && e.ticket >= 0) {
      kept_[e.ticket] = Rows(result);
    } else {
      PQclear(result);
    }
    // Each statement's results end with a null result.
    if (PGresult* end = PQgetResult(conn_)) PQclear(end);
  }
  if (!first_error.empty()) {
    while (!first_error.empty() && (first_error.back() == '\n' || first_error.back() == ' ')) first_error.pop_back();
    if (throw_errors) fail("PostgreSQL: " + first_error);
    spdlog::warn("store.postgres_deferred_error error=\"{}\"", first_error);
  }
}

void Connection::drain_deferred() noexcept {
  if (!deferred_sync_) return;
  deferred_sync_ = false;
  try {
    read_until_sync(false);
  } catch (const StoreFailure& failure) {
    spdlog::warn("store.postgres_deferred_error error=\"{}\"", failure.what());
  }
}

void Connection::sync() {
  if (broken()) fail("not connected to PostgreSQL");
  if (PQpipelineSync(conn_) != 1) fail(PQerrorMessage(conn_));
  expected_.push_back(Expected{Expected::sync, -1, {}});
  if (deferred_sync_) {
    // The results of an earlier sync_later() come first in the stream (errors only logged).
    deferred_sync_ = false;
    read_until_sync(false);
  }
  read_until_sync(true);
}

Rows Connection::take(long ticket) {
  auto it = kept_.find(ticket);
  if (it == kept_.end()) throw StoreFailure("no such PostgreSQL result");
  Rows rows = std::move(it->second);
  kept_.erase(it);
  return rows;
}

Rows Connection::run(std::string_view sql, const Params& params) {
  const long ticket = queue(sql, params, true);
  sync();
  return take(ticket);
}

void Connection::sync_later() noexcept {
  if (broken()) return;
  if (PQpipelineSync(conn_) != 1) return;
  expected_.push_back(Expected{Expected::sync, -1, {}});
  deferred_sync_ = true;
}

void Connection::exec_script(const std::string& sql) {
  if (broken()) fail("not connected to PostgreSQL");
  drain_deferred();
  if (!expected_.empty()) sync();
  if (PQexitPipelineMode(conn_) != 1) fail(std::string("cannot leave pipeline mode: ") + PQerrorMessage(conn_));
  PGresult* result = PQexec(conn_, sql.c_str());
  const ExecStatusType status = PQresultStatus(result);
  const std::string message = PQresultErrorMessage(result);
  PQclear(result);
  PQenterPipelineMode(conn_);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail("PostgreSQL: " + message);
}

}  // namespace parley::store::postgres

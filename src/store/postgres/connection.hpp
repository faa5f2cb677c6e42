// A thin layer over libpq: one connection in pipeline mode, prepared statements made on first
// use, text-format parameters and results. Hand-written (libpqxx is not used: it has no pipeline
// mode in Debian 12's version, and this is a few hundred lines) so that every error becomes
// StoreFailure in one place. Not thread-safe: one thread per Connection.
//
// Pipeline mode: statements are queued (sent without waiting) and a sync waits for all of them
// at once, so a group-commit batch costs a few round trips however many statements it runs.
#pragma once

#include <libpq-fe.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace parley::store::postgres {

// Statement parameters, in libpq's text format. NULL where added as such.
class Params {
 public:
  Params& add(std::int64_t value);
  Params& add(std::string_view text);
  Params& add(const char* text) { return add(std::string_view(text)); }
  Params& add(const std::string& text) { return add(std::string_view(text)); }
  Params& add_null();
  Params& add_optional_text(std::string_view text) { return text.empty() ? add_null() : add(text); }  // "" -> NULL
  Params& add_optional_id(std::int64_t value) { return value == 0 ? add_null() : add(value); }        // 0 -> NULL
  int size() const { return static_cast<int>(values_.size()); }
  // Pointers for libpq, valid while this object is unchanged.
  std::vector<const char*> pointers() const;

 private:
  std::vector<std::string> values_;
  std::vector<bool> null_;
};

// Builds a PostgreSQL array literal ("{1,2,NULL}", "{\"a\",\"b\"}") for one parameter; used with
// unnest() to send many rows in one statement.
class ArrayLiteral {
 public:
  void add(std::int64_t value);
  void add_text(std::string_view text);
  void add_null();
  void add_optional_id(std::int64_t value) { value == 0 ? add_null() : add(value); }
  void add_optional_text(std::string_view text) { text.empty() ? add_null() : add_text(text); }
  std::string finish() const { return "{" + body_ + "}"; }
  bool empty() const { return body_.empty(); }

 private:
  void separate() {
    if (!body_.empty()) body_.push_back(',');
  }
  std::string body_;
};

// The rows of one statement's result (or its affected-row count).
class Rows {
 public:
  Rows() = default;
  explicit Rows(PGresult* result) : result_(result, &PQclear) {}
  int size() const { return result_ ? PQntuples(result_.get()) : 0; }
  bool empty() const { return size() == 0; }
  bool is_null(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }
  std::int64_t integer(int row, int column) const;  // NULL -> 0
  std::optional<std::int64_t> optional_integer(int row, int column) const {
    if (is_null(row, column)) return std::nullopt;
    return integer(row, column);
  }
  std::string text(int row, int column) const {  // NULL -> ""
    return std::string(PQgetvalue(result_.get(), row, column),
                       static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
  }
  bool boolean(int row, int column) const { return PQgetvalue(result_.get(), row, column)[0] == 't'; }
  // Rows inserted, updated or deleted.
  int affected() const;

 private:
  std::shared_ptr<PGresult> result_;
};

struct ConnectionOptions {
  std::string url;                 // postgresql://... (libpq URI, with its query parameters)
  int connect_timeout_s = 5;
  int statement_timeout_ms = 30000;
  // A network partition closes nothing: past this much silence, libpq drops the connection (TCP
  // user timeout and keepalives) and the server rolls back a transaction this connection left
  // open (idle_in_transaction_session_timeout), releasing its locks for the other nodes.
  int network_timeout_ms = 10000;
  std::string application_name = "parleyd";
};

// When a connection may try to reach the server again after failing: capped exponential
// backoff (100 ms doubling to 1 s), cut short as soon as any connection of the engine got
// through (the server is back: nobody waits out its own backoff). Shared by the engine's
// connections; thread-safe.
class ReconnectPolicy {
 public:
  // Throws StoreFailure while this connection should not try yet.
  void before_attempt(std::int64_t& retry_at_ms, std::int64_t failed_at_ms) const;
  void failed(std::int64_t& backoff_ms, std::int64_t& retry_at_ms, std::int64_t& failed_at_ms) const;
  void succeeded(std::int64_t& backoff_ms, std::int64_t& retry_at_ms);

 private:
  std::atomic<std::int64_t> last_success_ms_{0};
};

class Connection {
 public:
  explicit Connection(ConnectionOptions options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // (Re)connects, enters pipeline mode and sets the session's timeouts. Throws StoreFailure.
  void connect();
  // True if never connected or the server went away (connect() again).
  bool broken() const;
  // Reads whatever the server sent meanwhile without waiting: a connection the server closed
  // while it sat idle (a restart, an administrator's pg_terminate_backend) is found broken now
  // rather than by the next statement. Returns !broken().
  bool check_alive();
  // Drops the connection at once (tests, shutdown).
  void close();

  // Queues a statement (prepared on first use). Its result is kept until take() if `keep`;
  // otherwise only checked for errors at the next sync. Returns a ticket for take().
  long queue(std::string_view sql, const Params& params = {}, bool keep = false);
  // Queues a statement given as plain text with no parameters (BEGIN, COMMIT, SET ...).
  void queue_simple(std::string_view sql);
  // Sends everything queued and waits for every result. Throws StoreFailure on the first
  // failed statement (the rest of the pipeline is skipped by the server).
  void sync();
  // The kept result of a ticket from this sync.
  Rows take(long ticket);
  // queue + sync + take.
  Rows run(std::string_view sql, const Params& params = {});
  // Sends everything queued with a sync but does not wait: the results are read (errors
  // logged, not thrown) before the connection's next use. For a read transaction's COMMIT.
  void sync_later() noexcept;
  // Runs statements outside of pipeline mode (migrations: several statements in one string).
  void exec_script(const std::string& sql);

  const ConnectionOptions& options() const { return options_; }

 private:
  struct Expected {
    enum Kind { statement, prepare, sync } kind;
    long ticket = -1;  // kept statement
    std::string sql;   // a prepare's statement text
  };
  const std::string& prepared_name(std::string_view sql);
  void drain_deferred() noexcept;
  void read_until_sync(bool throw_errors);
  [[noreturn]] void fail(const std::string& what);

  ConnectionOptions options_;
  PGconn* conn_ = nullptr;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text -> statement name
  std::deque<Expected> expected_;
  std::unordered_map<long, Rows> kept_;
  long next_ticket_ = 0;
  bool deferred_sync_ = false;  // a sync_later() whose results are still unread
};

}  // namespace parley::store::postgres

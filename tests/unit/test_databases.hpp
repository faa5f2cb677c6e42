// Databases for the store tests on every engine. "sqlite": a file in a scratch directory.
// "postgres": a fresh database on the PostgreSQL server named by $PARLEY_TEST_POSTGRES (an admin
// URL such as postgresql://postgres@127.0.0.1:5433/postgres; scripts/test.sh starts a throwaway
// server and sets it), dropped at the end of the test.
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>

#include "scratch_dir.hpp"

namespace parley::testing_support {

inline const char* postgres_admin_url() {
  const char* url = std::getenv("PARLEY_TEST_POSTGRES");
  return url && *url ? url : nullptr;
}

// Runs one statement as the admin; throws with the server's message.
inline void postgres_admin(const std::string& sql) {
  PGconn* conn = PQconnectdb(postgres_admin_url());
  if (PQstatus(conn) != CONNECTION_OK) {
    const std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    throw std::runtime_error("cannot reach the test PostgreSQL: " + message);
  }
  PGresult* result = PQexec(conn, sql.c_str());
  const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK || PQresultStatus(result) == PGRES_TUPLES_OK;
  const std::string message = PQresultErrorMessage(result);
  PQclear(result);
  PQfinish(conn);
  if (!ok) throw std::runtime_error(sql + ": " + message);
}

// The URL of a database of the test's own, for `engine` ("sqlite" or "postgres").
class TestDatabase {
 public:
  explicit TestDatabase(const std::string& engine) : engine_(engine) {
    if (engine_ == "sqlite") {
      url_ = "sqlite:" + dir_.path() + "/t.db";
      return;
    }
    std::random_device random;
    name_ = "parley_unit_" + std::to_string(random()) + std::to_string(random());
    postgres_admin("CREATE DATABASE " + name_);
    std::string admin = postgres_admin_url();
    // Same server and credentials, another database: replace the path of the URL.
    const auto authority = admin.find("://") + 3;
    auto slash = admin.find('/', authority);
    const auto query = admin.find('?', authority);
    std::string tail = query == std::string::npos ? "" : admin.substr(query);
    url_ = admin.substr(0, slash == std::string::npos ? (query == std::string::npos ? admin.size() : query) : slash) +
           "/" + name_ + tail;
  }
  ~TestDatabase() {
    if (!name_.empty()) {
      try {
        postgres_admin("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
      } catch (...) {
      }
    }
  }
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& url() const { return url_; }
  const std::string& dir() const { return dir_.path(); }

 private:
  std::string engine_;
  ScratchDir dir_;
  std::string name_;
  std::string url_;
};

// Skips the current test when it needs PostgreSQL and no test server is configured.
#define PARLEY_SKIP_WITHOUT_POSTGRES(engine)                                                          \
  if (std::string(engine) == "postgres" && !::parley::testing_support::postgres_admin_url())          \
  GTEST_SKIP() << "PARLEY_TEST_POSTGRES is not set (scripts/test.sh starts a PostgreSQL and sets it)"

}  // namespace parley::testing_support

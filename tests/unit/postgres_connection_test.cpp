// The PostgreSQL connection's behaviour in a network partition that the store's behavioural
// suite cannot show: a transaction whose client went silent must not keep its locks (the other
// nodes' writers wait on the writer_state row lock). Needs $PARLEY_TEST_POSTGRES.
#include <gtest/gtest.h>

#include <chrono>

#include "store/postgres/connection.hpp"
#include "store/store.hpp"
#include "test_databases.hpp"

namespace parley::store::postgres {
namespace {

using testing_support::postgres_admin_url;
using testing_support::TestDatabase;

TEST(PostgresConnectionTest, ASilentClientsOpenTransactionIsRolledBackAndItsLocksFreed) {
  if (!postgres_admin_url()) GTEST_SKIP() << "PARLEY_TEST_POSTGRES is not set";
  TestDatabase database("postgres");
  ConnectionOptions options;
  options.url = database.url();
  options.network_timeout_ms = 1000;
  options.statement_timeout_ms = 60000;

  Connection setup(options);
  setup.connect();
  setup.run("CREATE TABLE held (id bigint PRIMARY KEY)");
  setup.run("INSERT INTO held VALUES (1)");

  // A client takes a row lock in a transaction, then says nothing more (as a node does when
  // the network between it and the server goes dark mid-transaction).
  Connection silent(options);
  silent.connect();
  silent.queue_simple("BEGIN");
  silent.queue("UPDATE held SET id = id WHERE id = 1");
  silent.sync();

  // Another client wanting the row gets it once the server gave up on the silent one: after
  // network_timeout_ms, not after the 60 s statement timeout (nor never).
  const auto start = std::chrono::steady_clock::now();
  EXPECT_NO_THROW(setup.run("UPDATE held SET id = id WHERE id = 1"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(50));
  // The silent client finds its session ended and its transaction gone.
  EXPECT_THROW(silent.run("COMMIT"), StoreFailure);
  EXPECT_TRUE(silent.broken());
}

}  // namespace
}  // namespace parley::store::postgres

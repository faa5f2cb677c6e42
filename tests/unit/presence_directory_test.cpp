// The behavioural suite of the presence directory, run unchanged on every engine
// (Engines/DirectoryTest.*/inproc and /redis): the aggregate of several nodes' statuses,
// transitions returned once (also to racing nodes), expiry and sweep, lookup, last seen, the
// session cap, request counts across nodes and windows, key prefixes. "Nodes" are Directory
// instances on the same inproc name or the same Redis. The Redis cases run against a real
// redis-server on a free loopback port (started once, on first use); RedisDirectoryTest.* are
// Redis-only: Redis going away and coming back, a server that never answers, AUTH and SELECT,
// a flushed script cache, the key layout. URL syntax has its own small tests.
//
// Expiry is tested with ttls of a few hundred ms and polling with a generous deadline; nothing
// asserts that something has *not* expired unless the test measured that too little time passed
// (the suite also runs on one busy core and under AddressSanitizer).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "presence/directory.hpp"
#include "test_redis.hpp"

namespace parley::presence {
namespace {

using namespace std::chrono_literals;
using testing_support::RedisServer;
using Clock = std::chrono::steady_clock;

constexpr auto kWait = 10s;              // for anything that should happen
constexpr std::int64_t kLongTtl = 60000;  // never lapses during a test
constexpr std::int64_t kShortTtl = 300;   // lapses during a test

// The redis-server the parametrized cases share.
using SharedRedisServer = testing_support::SharedServer<RedisServer>;
[[maybe_unused]] auto* const shared_redis_environment = ::testing::AddGlobalTestEnvironment(new SharedRedisServer);

// The value of a call that must succeed; a failure fails the test (gtest reports the exception).
template <typename T>
T must(Result<T> result, const char* what = "call") {
  if (!result) {
    ADD_FAILURE() << what << " failed: " << result.error().message;
    throw std::runtime_error(result.error().message);
  }
  return std::move(result).value();
}

void must_succeed(const Status& status) {
  if (!status) {
    ADD_FAILURE() << "call failed: " << status.error().message;
    throw std::runtime_error(status.error().message);
  }
}

// Polls `condition` every 10 ms until it holds or `timeout` passes.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout = kWait) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

long long ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

View view_of(Directory& directory, UserId user) { return must(directory.lookup({user}), "lookup")[0]; }
State state_of(Directory& directory, UserId user) { return view_of(directory, user).state; }

// A key prefix (and inproc name suffix) no other test of this process uses, so nothing from an
// earlier test, or an earlier --gtest_repeat round, shows up on the shared Redis.
std::string unique_name(const std::string& base) {
  static std::atomic<int> serial{0};
  return base + std::to_string(::getpid()) + "_" + std::to_string(serial.fetch_add(1));
}

std::string text(const Transition& t) {
  return "{user " + std::to_string(t.user) + " " + to_string(t.state) + " at " + std::to_string(t.at_ms) + " v" +
         std::to_string(t.version) + "}";
}

// ----------------------------------------------------------------------------------------------
// The suite on every engine.

class DirectoryTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    prefix_ = unique_name("t");
    if (GetParam() == "redis") {
      PARLEY_SKIP_WITHOUT_REDIS_SERVER();
      url_ = SharedRedisServer::get().url();
    } else {
      url_ = "inproc:directory_test_" + prefix_;
    }
  }

  // One more node on the same directory (and key prefix, unless given).
  std::unique_ptr<Directory> open_node(const std::string& prefix = {}) {
    Options options;
    options.url = url_;
    options.key_prefix = prefix.empty() ? prefix_ : prefix;
    options.timeout_ms = 5000;  // generous: a busy machine is not an outage
    return must(open_directory(options), "open_directory");
  }

  std::string url_;
  std::string prefix_;
};

TEST_P(DirectoryTest, AggregatesTheHighestStatusAcrossNodes) {
  auto a = open_node();
  auto b = open_node();
  auto c = open_node();
  constexpr UserId kUser = 1;

  const auto away = must(a->report(1, {{kUser, State::away}}, kLongTtl));
  ASSERT_EQ(away.size(), 1u);
  EXPECT_EQ(away[0].user, kUser);
  EXPECT_EQ(away[0].state, State::away);
  EXPECT_GT(away[0].at_ms, 0);
  EXPECT_GE(away[0].version, 1u);
  EXPECT_EQ(state_of(*c, kUser), State::away);

  const auto online = must(b->report(2, {{kUser, State::online}}, kLongTtl));
  ASSERT_EQ(online.size(), 1u);
  EXPECT_EQ(online[0].state, State::online);
  EXPECT_EQ(online[0].version, away[0].version + 1);
  EXPECT_GE(online[0].at_ms, away[0].at_ms);
  EXPECT_EQ(state_of(*a, kUser), State::online);

  // Reports that leave the highest status as it is change nothing.
  EXPECT_TRUE(must(c->report(3, {{kUser, State::away}}, kLongTtl)).empty());
  EXPECT_TRUE(must(a->report(1, {{kUser, State::online}}, kLongTtl)).empty());
  EXPECT_TRUE(must(b->report(2, {{kUser, State::offline}}, kLongTtl)).empty());  // a is online
  EXPECT_EQ(state_of(*b, kUser), State::online);

  const auto down = must(a->report(1, {{kUser, State::offline}}, kLongTtl));  // c is still away
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].state, State::away);
  EXPECT_EQ(down[0].version, online[0].version + 1);

  const auto gone = must(c->report(3, {{kUser, State::offline}}, kLongTtl));
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].state, State::offline);
  EXPECT_EQ(gone[0].version, down[0].version + 1);
  const View view = view_of(*a, kUser);
  EXPECT_EQ(view.state, State::offline);
  EXPECT_EQ(view.last_seen_ms, gone[0].at_ms);
  EXPECT_TRUE(must(a->report(1, {{kUser, State::offline}}, kLongTtl)).empty());
}

TEST_P(DirectoryTest, ReportsABatchAndReturnsOnlyItsChangesInOrder) {
  auto node = open_node();
  const std::vector<Report> batch = {
      {10, State::online}, {11, State::away}, {12, State::offline}, {13, State::online}};
  const auto changes = must(node->report(1, batch, kLongTtl));
  ASSERT_EQ(changes.size(), 3u);  // user 12 was offline already
  EXPECT_EQ(changes[0].user, 10);
  EXPECT_EQ(changes[1].user, 11);
  EXPECT_EQ(changes[2].user, 13);
  EXPECT_EQ(changes[1].state, State::away);
  EXPECT_TRUE(must(node->report(1, batch, kLongTtl)).empty());  // the same again: no change

  const auto views = must(node->lookup({13, 99, 11, 12, 10}));
  ASSERT_EQ(views.size(), 5u);
  EXPECT_EQ(views[0].state, State::online);
  EXPECT_EQ(views[1].state, State::offline);  // never seen
  EXPECT_EQ(views[1].last_seen_ms, 0);
  EXPECT_EQ(views[2].state, State::away);
  EXPECT_EQ(views[3].state, State::offline);
  EXPECT_EQ(views[3].last_seen_ms, 0);  // reported offline without ever being online
  EXPECT_EQ(views[4].state, State::online);
}

TEST_P(DirectoryTest, ReturnsEachChangeOnceWhileNodesRace) {
  constexpr int kNodes = 4;
  constexpr int kRounds = 150;
  const std::vector<UserId> users = {1, 2, 3};
  std::vector<std::unique_ptr<Directory>> nodes;
  for (int i = 0; i < kNodes; ++i) nodes.push_back(open_node());

  std::mutex mutex;
  std::vector<Transition> returned;
  std::map<std::pair<int, UserId>, State> last_reported;
  std::atomic<int> failures{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kNodes; ++i) {
    threads.emplace_back([&, i] {
      ++ready;  // start together, so the nodes really race
      while (ready.load() < kNodes) std::this_thread::yield();
      std::mt19937 random(static_cast<unsigned>(i) * 7919u + 1u);
      std::uniform_int_distribution<int> pick(0, 2);
      for (int round = 0; round < kRounds; ++round) {
        std::vector<Report> batch;
        for (UserId user : users) batch.push_back({user, static_cast<State>(pick(random))});
        auto changes = nodes[i]->report(static_cast<unsigned>(i + 1), batch, kLongTtl);
        std::lock_guard lock(mutex);
        if (!changes) {
          ++failures;
          continue;
        }
        returned.insert(returned.end(), changes->begin(), changes->end());
        for (const Report& report : batch) last_reported[{i, report.user}] = report.state;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(failures.load(), 0);

  for (UserId user : users) {
    std::vector<Transition> changes;
    for (const Transition& t : returned)
      if (t.user == user) changes.push_back(t);
    ASSERT_FALSE(changes.empty());
    std::sort(changes.begin(), changes.end(), [](const auto& x, const auto& y) { return x.version < y.version; });
    // One sequence: versions one apart (no change twice, none lost), each a change of state.
    State previous = State::offline;
    for (std::size_t i = 0; i < changes.size(); ++i) {
      if (i > 0) {
        ASSERT_EQ(changes[i].version, changes[i - 1].version + 1) << text(changes[i]);
        EXPECT_GE(changes[i].at_ms, changes[i - 1].at_ms) << text(changes[i]);
      }
      ASSERT_NE(changes[i].state, previous) << text(changes[i]);
      previous = changes[i].state;
    }
    // It ends where the nodes left the user: the highest of their last reports.
    State expected = State::offline;
    for (int i = 0; i < kNodes; ++i) expected = std::max(expected, last_reported[{i, user}]);
    EXPECT_EQ(previous, expected) << "user " << user;
    EXPECT_EQ(state_of(*nodes[0], user), expected) << "user " << user;
    std::cout << "[          ] user " << user << ": " << changes.size() << " changes\n";
  }
}

TEST_P(DirectoryTest, LapsedStatusGoesOfflineOnceThroughSweep) {
  auto a = open_node();
  auto b = open_node();
  constexpr UserId kUser = 7;
  const auto online = must(a->report(1, {{kUser, State::online}}, kShortTtl));
  ASSERT_EQ(online.size(), 1u);

  // lookup ignores the lapsed status before any sweep, and dates the last sight to the lapse.
  ASSERT_TRUE(wait_until([&] { return state_of(*b, kUser) == State::offline; }));
  EXPECT_EQ(view_of(*b, kUser).last_seen_ms, online[0].at_ms + kShortTtl);

  // Two nodes sweep: one of them gets the change, once.
  std::vector<Transition> swept;
  auto sweep_both = [&] {
    for (Directory* node : {a.get(), b.get()}) {
      const auto changes = must(node->sweep(100), "sweep");
      swept.insert(swept.end(), changes.begin(), changes.end());
    }
    return !swept.empty();
  };
  ASSERT_TRUE(wait_until(sweep_both));
  sweep_both();
  ASSERT_EQ(swept.size(), 1u) << text(swept[0]) << " " << text(swept.back());
  EXPECT_EQ(swept[0].user, kUser);
  EXPECT_EQ(swept[0].state, State::offline);
  EXPECT_EQ(swept[0].at_ms, online[0].at_ms + kShortTtl);  // when it lapsed, not when swept
  EXPECT_EQ(swept[0].version, online[0].version + 1);
  const View view = view_of(*a, kUser);
  EXPECT_EQ(view.state, State::offline);
  EXPECT_EQ(view.last_seen_ms, swept[0].at_ms);

  // A node reporting again brings the user back, with the next version.
  const auto back = must(b->report(2, {{kUser, State::away}}, kLongTtl));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].version, swept[0].version + 1);
}

TEST_P(DirectoryTest, SweepDropsALapsedNodeWhileAnotherLives) {
  auto a = open_node();
  auto b = open_node();
  constexpr UserId kUser = 8;
  const auto online = must(a->report(1, {{kUser, State::online}}, kShortTtl));
  ASSERT_EQ(online.size(), 1u);
  EXPECT_TRUE(must(b->report(2, {{kUser, State::away}}, kLongTtl)).empty());

  ASSERT_TRUE(wait_until([&] { return state_of(*b, kUser) == State::away; }));
  std::vector<Transition> swept;
  ASSERT_TRUE(wait_until([&] {
    const auto changes = must(b->sweep(100), "sweep");
    swept.insert(swept.end(), changes.begin(), changes.end());
    return !swept.empty();
  }));
  ASSERT_EQ(swept.size(), 1u);
  EXPECT_EQ(swept[0].state, State::away);
  EXPECT_EQ(swept[0].at_ms, online[0].at_ms + kShortTtl);
  EXPECT_EQ(swept[0].version, online[0].version + 1);
  EXPECT_TRUE(must(a->sweep(100)).empty());  // b's status lives on

  const auto gone = must(b->report(2, {{kUser, State::offline}}, kLongTtl));
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].state, State::offline);
}

TEST_P(DirectoryTest, ReportNoticesOtherNodesLapsedStatuses) {
  auto a = open_node();
  auto b = open_node();
  constexpr UserId kUser = 9;
  ASSERT_EQ(must(a->report(1, {{kUser, State::online}}, kShortTtl)).size(), 1u);
  ASSERT_TRUE(wait_until([&] { return state_of(*b, kUser) == State::offline; }));
  // No sweep ran; b's report is the first write to see that a's status lapsed.
  const auto changes = must(b->report(2, {{kUser, State::away}}, kLongTtl));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].state, State::away);
  EXPECT_TRUE(must(a->sweep(100)).empty());
}

TEST_P(DirectoryTest, RemembersWhenAUserWasLastSeen) {
  auto node = open_node();
  constexpr UserId kUser = 15;
  EXPECT_EQ(view_of(*node, kUser).last_seen_ms, 0);
  ASSERT_EQ(must(node->report(1, {{kUser, State::online}}, kLongTtl)).size(), 1u);
  EXPECT_EQ(view_of(*node, kUser).last_seen_ms, 0);  // online, never offline yet
  const auto offline = must(node->report(1, {{kUser, State::offline}}, kLongTtl));
  ASSERT_EQ(offline.size(), 1u);
  EXPECT_EQ(view_of(*node, kUser).last_seen_ms, offline[0].at_ms);
  ASSERT_EQ(must(node->report(1, {{kUser, State::online}}, kLongTtl)).size(), 1u);
  const View online = view_of(*node, kUser);
  EXPECT_EQ(online.state, State::online);
  EXPECT_EQ(online.last_seen_ms, offline[0].at_ms);  // the last time the user went offline
}

TEST_P(DirectoryTest, CapsSessionsPerUserAcrossNodes) {
  auto a = open_node();
  auto b = open_node();
  constexpr UserId kUser = 21;
  EXPECT_TRUE(must(a->add_session(kUser, "1:a", 2, kLongTtl)));
  EXPECT_TRUE(must(b->add_session(kUser, "2:b", 2, kLongTtl)));
  EXPECT_FALSE(must(a->add_session(kUser, "1:c", 2, kLongTtl)));  // max reached
  EXPECT_TRUE(must(b->add_session(kUser, "1:a", 2, kLongTtl)));   // already registered
  must_succeed(a->remove_session(kUser, "2:b"));                  // frees a slot
  EXPECT_TRUE(must(a->add_session(kUser, "1:c", 2, kLongTtl)));
  EXPECT_FALSE(must(b->add_session(kUser, "2:d", 2, kLongTtl)));
  EXPECT_TRUE(must(b->add_session(22, "2:d", 2, kLongTtl)));  // another user has slots of its own
  must_succeed(b->remove_session(kUser, "never-added"));
  EXPECT_FALSE(must(a->add_session(23, "1:x", 0, kLongTtl)));  // max 0 admits nobody
}

// Many sessions in one call: answered in order, each counted against the cap after the ones
// before it (two of one user in the same call included).
TEST_P(DirectoryTest, AdmitsManySessionsInOneCallInOrder) {
  auto a = open_node();
  auto b = open_node();
  constexpr UserId kUser = 25, kOther = 26;
  EXPECT_TRUE(must(b->add_session(kUser, "2:x", 3, kLongTtl)));
  const auto admitted = must(a->add_sessions(
      {{kUser, "1:a"}, {kOther, "1:b"}, {kUser, "1:c"}, {kUser, "1:d"}, {kUser, "1:a"}, {kOther, "1:e"}}, 3, kLongTtl));
  EXPECT_EQ(admitted, (std::vector<bool>{true, true, true, false, true, true}));
  auto sorted = [](std::vector<std::string> keys) {
    std::sort(keys.begin(), keys.end());
    return keys;
  };
  EXPECT_EQ(sorted(must(b->sessions(kUser))), (std::vector<std::string>{"1:a", "1:c", "2:x"}));
  EXPECT_EQ(sorted(must(b->sessions(kOther))), (std::vector<std::string>{"1:b", "1:e"}));
  EXPECT_TRUE(must(a->add_sessions({}, 3, kLongTtl)).empty());
}

TEST_P(DirectoryTest, ExpiredSessionsFreeTheirSlots) {
  auto node = open_node();
  constexpr UserId kUser = 31;
  const auto start = Clock::now();
  EXPECT_TRUE(must(node->add_session(kUser, "old", 1, kShortTtl)));
  const bool refused = !must(node->add_session(kUser, "new", 1, kLongTtl));
  if (ms_since(start) < kShortTtl - 50) {
    EXPECT_TRUE(refused) << "\"old\" had not expired yet";
  }
  EXPECT_TRUE(wait_until([&] { return must(node->add_session(kUser, "new", 1, kLongTtl), "add_session"); }));
}

TEST_P(DirectoryTest, RefreshKeepsSessionsAliveButAddsNone) {
  auto node = open_node();
  constexpr UserId kUser = 41;
  constexpr std::int64_t kFirstTtl = 1000;
  const auto start = Clock::now();
  EXPECT_TRUE(must(node->add_session(kUser, "k", 1, kFirstTtl)));
  must_succeed(node->refresh_sessions({{kUser, "k"}, {kUser, "ghost"}}, kLongTtl));
  if (ms_since(start) >= kFirstTtl - 100) GTEST_SKIP() << "too slow to tell a refresh from the first ttl";
  std::this_thread::sleep_until(start + std::chrono::milliseconds(kFirstTtl + 200));
  EXPECT_FALSE(must(node->add_session(kUser, "other", 1, kLongTtl)));  // "k" lives on, refreshed
  must_succeed(node->remove_session(kUser, "k"));
  EXPECT_TRUE(must(node->add_session(kUser, "other", 1, kLongTtl)));  // "ghost" was never added

  // A session that expired is not brought back by a refresh.
  EXPECT_TRUE(must(node->add_session(42, "short", 1, kShortTtl)));
  std::this_thread::sleep_for(std::chrono::milliseconds(kShortTtl + 100));
  must_succeed(node->refresh_sessions({{42, "short"}}, kLongTtl));
  EXPECT_TRUE(must(node->add_session(42, "next", 1, kLongTtl)));
}

TEST_P(DirectoryTest, ListsAUsersLiveSessionsFromEveryNode) {
  auto a = open_node();
  auto b = open_node();
  constexpr UserId kUser = 45;
  EXPECT_TRUE(must(a->add_session(kUser, "1:7:token-a", 5, kLongTtl)));
  EXPECT_TRUE(must(b->add_session(kUser, "2:9:token-a", 5, kLongTtl)));
  EXPECT_TRUE(must(b->add_session(kUser, "2:10:token-b", 5, kShortTtl)));
  EXPECT_TRUE(must(b->add_session(46, "2:11:token-c", 5, kLongTtl)));  // another user's
  auto listed = must(a->sessions(kUser));
  std::sort(listed.begin(), listed.end());
  if (listed.size() == 3) {  // else the short one lapsed already (a slow machine)
    EXPECT_EQ(listed, (std::vector<std::string>{"1:7:token-a", "2:10:token-b", "2:9:token-a"}));
  }
  must_succeed(a->remove_session(kUser, "1:7:token-a"));
  // The short-lived one lapses: only the live session is listed.
  EXPECT_TRUE(wait_until([&] { return must(b->sessions(kUser)) == std::vector<std::string>{"2:9:token-a"}; }));
  EXPECT_TRUE(must(a->sessions(47)).empty());
}

TEST_P(DirectoryTest, ThrottlesSignInsAcrossNodes) {
  auto a = open_node();
  auto b = open_node();
  SignInRules rules;
  rules.account = FailurePolicy{2, 10000, 15000, 60000};  // 2 free, then 10 s, 20 s capped at 15 s
  rules.address = FailurePolicy{5, 1000, 1000, 60000};
  rules.known_addresses = 2;
  const std::string account = "alice-" + std::to_string(Clock::now().time_since_epoch().count());
  const std::string guesser = "198.51.100.7";
  must_succeed(a->record_sign_in(account, guesser, false, rules));
  SignInState state = must(b->sign_in_state(account, guesser));
  EXPECT_EQ(state.account_wait_ms, 0);  // one of the two free failures
  EXPECT_FALSE(state.known_address);
  must_succeed(b->record_sign_in(account, guesser, false, rules));  // the second, on another node
  state = must(a->sign_in_state(account, guesser));
  EXPECT_GT(state.account_wait_ms, 0);
  EXPECT_LE(state.account_wait_ms, 10000);
  EXPECT_EQ(state.address_wait_ms, 0);  // 2 of the address's 5 free failures
  must_succeed(a->record_sign_in(account, guesser, false, rules));
  state = must(b->sign_in_state(account, guesser));
  EXPECT_GT(state.account_wait_ms, 10000);  // doubled, capped at the max
  EXPECT_LE(state.account_wait_ms, 15000);

  // The owner signs in: the account's failures are forgotten, the address is remembered; the
  // guesser's address keeps its count (2 more reach its 5 free failures).
  must_succeed(b->record_sign_in(account, "10.0.0.1", true, rules));
  state = must(a->sign_in_state(account, "10.0.0.1"));
  EXPECT_EQ(state.account_wait_ms, 0);
  EXPECT_TRUE(state.known_address);
  EXPECT_FALSE(must(a->sign_in_state(account, guesser)).known_address);
  must_succeed(a->record_sign_in("bob-" + account, guesser, false, rules));
  must_succeed(a->record_sign_in("carol-" + account, guesser, false, rules));
  state = must(b->sign_in_state("dave-" + account, guesser));
  EXPECT_EQ(state.account_wait_ms, 0);
  EXPECT_GT(state.address_wait_ms, 0);
  EXPECT_LE(state.address_wait_ms, 1000);

  // Only the newest `known_addresses` are kept (in the same millisecond, the smallest goes).
  must_succeed(a->record_sign_in(account, "10.0.0.2", true, rules));
  must_succeed(b->record_sign_in(account, "10.0.0.3", true, rules));
  EXPECT_FALSE(must(a->sign_in_state(account, "10.0.0.1")).known_address);
  EXPECT_TRUE(must(a->sign_in_state(account, "10.0.0.2")).known_address);
  EXPECT_TRUE(must(b->sign_in_state(account, "10.0.0.3")).known_address);

  // A key without failures for forget_after starts over.
  SignInRules quick = rules;
  quick.account = FailurePolicy{1, 60000, 60000, kShortTtl};
  must_succeed(a->record_sign_in("erin-" + account, "10.0.0.9", false, quick));
  EXPECT_GT(must(b->sign_in_state("erin-" + account, "10.0.0.9")).account_wait_ms, 0);
  EXPECT_TRUE(wait_until([&] { return must(b->sign_in_state("erin-" + account, "10.0.0.9")).account_wait_ms == 0; }));
}

TEST_P(DirectoryTest, CountsRequestsAcrossNodes) {
  auto a = open_node();
  auto b = open_node();
  constexpr std::int64_t kHour = 3600 * 1000;
  auto first = must(a->add_requests({{51, 3}, {52, 1}}, kHour));
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].user, 51);
  EXPECT_EQ(first[0].count, 3);
  EXPECT_EQ(first[1].count, 1);
  auto second = must(b->add_requests({{51, 4}}, kHour));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].count, 7);
  auto read = must(a->add_requests({{52, 0}, {51, 0}}, kHour));
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read[0].user, 52);
  EXPECT_EQ(read[0].count, 1);
  EXPECT_EQ(read[1].count, 7);
  // Another window length counts on its own.
  EXPECT_EQ(must(a->add_requests({{51, 0}}, 2 * kHour))[0].count, 0);
}

TEST_P(DirectoryTest, RequestWindowsSlide) {
  auto a = open_node();
  auto b = open_node();
  constexpr UserId kUser = 61;
  constexpr std::int64_t kWindow = 300;
  EXPECT_EQ(must(a->add_requests({{kUser, 10}}, kWindow))[0].count, 10);
  // Then the count only falls: the previous window weighs less and less, then not at all.
  std::vector<std::int64_t> seen;
  ASSERT_TRUE(wait_until([&] {
    seen.push_back(must(b->add_requests({{kUser, 0}}, kWindow), "add_requests")[0].count);
    return seen.back() == 0;
  }));
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_LE(seen[i], 10);
    if (i > 0) {
      EXPECT_LE(seen[i], seen[i - 1]);
    }
  }
  EXPECT_EQ(must(a->add_requests({{kUser, 5}}, kWindow))[0].count, 5);
}

TEST_P(DirectoryTest, KeyPrefixesDoNotSeeEachOther) {
  auto x = open_node(prefix_ + "x");
  auto y = open_node(prefix_ + "y");
  constexpr UserId kUser = 71;
  ASSERT_EQ(must(x->report(1, {{kUser, State::online}}, kLongTtl)).size(), 1u);
  EXPECT_EQ(state_of(*y, kUser), State::offline);
  const auto own = must(y->report(1, {{kUser, State::away}}, kLongTtl));
  ASSERT_EQ(own.size(), 1u);
  EXPECT_EQ(own[0].state, State::away);
  EXPECT_EQ(state_of(*x, kUser), State::online);
  EXPECT_TRUE(must(x->add_session(kUser, "s", 1, kLongTtl)));
  EXPECT_TRUE(must(y->add_session(kUser, "t", 1, kLongTtl)));
  EXPECT_EQ(must(x->add_requests({{kUser, 5}}, kLongTtl))[0].count, 5);
  EXPECT_EQ(must(y->add_requests({{kUser, 1}}, kLongTtl))[0].count, 1);
  EXPECT_NE(x->describe().find("prefix=" + prefix_ + "x"), std::string::npos) << x->describe();
}

TEST_P(DirectoryTest, AnswersEmptyCallsAndRefusesInvalidArguments) {
  auto node = open_node();
  EXPECT_TRUE(must(node->report(1, {}, kLongTtl)).empty());
  EXPECT_TRUE(must(node->sweep(0)).empty());
  EXPECT_TRUE(must(node->lookup({})).empty());
  EXPECT_TRUE(must(node->add_requests({}, kLongTtl)).empty());
  must_succeed(node->refresh_sessions({}, kLongTtl));

  auto code = [](const auto& result) { return result ? ErrorCode::internal : result.error().code; };
  EXPECT_EQ(code(node->report(1, {{1, State::online}}, 0)), ErrorCode::invalid_field);
  EXPECT_EQ(code(node->report(1, {{1, static_cast<State>(7)}}, kLongTtl)), ErrorCode::invalid_field);
  EXPECT_EQ(code(node->add_session(1, "k", 1, -1)), ErrorCode::invalid_field);
  EXPECT_EQ(code(node->refresh_sessions({{1, "k"}}, 0)), ErrorCode::invalid_field);
  EXPECT_EQ(code(node->add_requests({{1, 1}}, 0)), ErrorCode::invalid_field);
  EXPECT_EQ(code(node->add_requests({{1, -1}}, kLongTtl)), ErrorCode::invalid_field);
  EXPECT_EQ(state_of(*node, 1), State::offline);  // nothing of the refused report was applied
}

INSTANTIATE_TEST_SUITE_P(Engines, DirectoryTest, ::testing::Values("inproc", "redis"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// ----------------------------------------------------------------------------------------------
// Redis only: a server of the test's own where the test needs to stop, restart or configure it.

class RedisDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override { PARLEY_SKIP_WITHOUT_REDIS_SERVER(); }

  static Options options_for(const std::string& url) {
    Options options;
    options.url = url;
    options.key_prefix = "redis_test";
    options.timeout_ms = 1000;
    options.reconnect_wait_ms = 100;
    return options;
  }
};

TEST_F(RedisDirectoryTest, FailsWhileRedisIsDownAndRecoversWithoutReopening) {
  RedisServer server;
  server.start();
  const Options options = options_for(server.url());
  auto directory = must(open_directory(options));
  const auto first = must(directory->report(1, {{81, State::online}}, kLongTtl));
  ASSERT_EQ(first.size(), 1u);

  server.kill();
  for (int i = 0; i < 3; ++i) {  // the call that finds the connection dead, a reconnect, a wait
    const auto start = Clock::now();
    const auto result = directory->lookup({81});
    const auto took = ms_since(start);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, ErrorCode::unavailable);
    EXPECT_NE(result.error().message.find(std::to_string(server.port())), std::string::npos)
        << result.error().message;
    EXPECT_LT(took, options.timeout_ms + 2000);
    std::cout << "[          ] call " << i << " while down: " << took << " ms, \"" << result.error().message << "\"\n";
  }

  const auto restarted = Clock::now();
  server.start();  // same port, empty: no persistence
  ASSERT_TRUE(wait_until([&] { return directory->lookup({81}).ok(); }));
  std::cout << "[          ] calls work again " << ms_since(restarted) << " ms after the restart\n";
  EXPECT_EQ(state_of(*directory, 81), State::offline);  // Redis forgot; the node re-reports
  const auto again = must(directory->report(1, {{81, State::online}}, kLongTtl));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_GT(again[0].version, first[0].version);  // versions keep growing across the loss
}

TEST_F(RedisDirectoryTest, OpensBeforeRedisIsUpAndConnectsLater) {
  RedisServer server(testing_support::free_tcp_port());
  auto directory = must(open_directory(options_for("redis://127.0.0.1:" + std::to_string(server.port()))));
  const auto start = Clock::now();
  const auto result = directory->report(1, {{82, State::online}}, kLongTtl);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::unavailable);
  EXPECT_LT(ms_since(start), 3000);
  server.start();
  ASSERT_TRUE(wait_until([&] { return directory->report(1, {{82, State::online}}, kLongTtl).ok(); }));
  EXPECT_EQ(state_of(*directory, 82), State::online);
}

TEST_F(RedisDirectoryTest, TimesOutOnAServerThatNeverAnswers) {
  // Accepts connections (the kernel does, from the backlog) but never reads or replies.
  const int silent = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(silent, 8), 0);
  ASSERT_EQ(::getsockname(silent, reinterpret_cast<sockaddr*>(&address), &length), 0);
  Options options = options_for("redis://127.0.0.1:" + std::to_string(ntohs(address.sin_port)));
  options.timeout_ms = 300;
  auto directory = must(open_directory(options));
  const auto start = Clock::now();
  const auto result = directory->lookup({83});
  const auto took = ms_since(start);
  ::close(silent);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::unavailable);
  EXPECT_NE(result.error().message.find("timed out"), std::string::npos) << result.error().message;
  EXPECT_LT(took, options.timeout_ms + 2000);
  std::cout << "[          ] a silent server failed the call after " << took << " ms\n";
}

TEST_F(RedisDirectoryTest, AuthenticatesAndSelectsTheDatabase) {
  RedisServer server(0, {"--requirepass", "Hunter2x"});
  server.start();
  const std::string port = std::to_string(server.port());
  auto three = must(open_directory(options_for("redis://:Hunter2x@127.0.0.1:" + port + "/3")));
  EXPECT_EQ(three->describe(), "redis://127.0.0.1:" + port + "/3 prefix=redis_test");
  ASSERT_EQ(must(three->report(1, {{84, State::online}}, kLongTtl)).size(), 1u);
  auto with_user = must(open_directory(options_for("redis://default:Hunter2x@127.0.0.1:" + port + "/3")));
  EXPECT_EQ(state_of(*with_user, 84), State::online);
  auto four = must(open_directory(options_for("redis://:Hunter2x@127.0.0.1:" + port + "/4")));
  EXPECT_EQ(state_of(*four, 84), State::offline);  // another database

  auto wrong = must(open_directory(options_for("redis://:Wrong9pw@127.0.0.1:" + port)));
  const auto refused = wrong->lookup({84});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::unavailable);
  EXPECT_EQ(refused.error().message.find("Wrong9pw"), std::string::npos) << refused.error().message;
  EXPECT_EQ(wrong->describe().find("Wrong9pw"), std::string::npos);
}

TEST_F(RedisDirectoryTest, SurvivesAFlushedScriptCache) {
  RedisServer& server = SharedRedisServer::get();
  Options options = options_for(server.url());
  options.key_prefix = unique_name("flush_test_");
  auto directory = must(open_directory(options));
  ASSERT_EQ(must(directory->report(1, {{85, State::online}}, kLongTtl)).size(), 1u);
  ASSERT_EQ(testing_support::redis_command(server.port(), {"SCRIPT", "FLUSH"}), "+OK");
  const auto changes = must(directory->report(1, {{85, State::away}, {86, State::online}}, kLongTtl));
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].state, State::away);
  EXPECT_TRUE(must(directory->add_session(85, "s", 1, kLongTtl)));
  EXPECT_EQ(must(directory->add_requests({{85, 2}}, kLongTtl))[0].count, 2);
}

TEST_F(RedisDirectoryTest, KeepsTheDocumentedKeyLayout) {
  RedisServer& server = SharedRedisServer::get();
  Options options = options_for(server.url());
  const std::string prefix = unique_name("layout_test_");
  options.key_prefix = prefix;
  auto directory = must(open_directory(options));
  ASSERT_EQ(must(directory->report(5, {{91, State::online}}, kLongTtl)).size(), 1u);
  EXPECT_TRUE(must(directory->add_session(91, "5:1", 3, kLongTtl)));
  must(directory->add_requests({{91, 1}}, 60000));
  auto redis = [&](std::vector<std::string> args) { return testing_support::redis_command(server.port(), args); };
  const std::string user_key = prefix + ":pres:91";
  EXPECT_EQ(redis({"HEXISTS", user_key, "n5"}), ":1");
  EXPECT_EQ(redis({"HGET", user_key, "pub"}), "$1");  // "2"
  EXPECT_EQ(redis({"HEXISTS", user_key, "ver"}), ":1");
  const long long retained = std::stoll(redis({"PTTL", user_key}).substr(1));
  EXPECT_GT(retained, 24LL * 3600 * 1000);  // a day after the write, plus the ttl
  EXPECT_LE(retained, 24LL * 3600 * 1000 + kLongTtl);
  EXPECT_EQ(redis({"ZCARD", prefix + ":pres:live"}), ":1");
  EXPECT_EQ(redis({"ZCARD", prefix + ":sess:91"}), ":1");
  EXPECT_GT(std::stoll(redis({"PTTL", prefix + ":sess:91"}).substr(1)), 0);
  EXPECT_EQ(redis({"EXISTS", prefix + ":rate:91:60000"}), ":1");
  EXPECT_LE(std::stoll(redis({"PTTL", prefix + ":rate:91:60000"}).substr(1)), 120000);

  SignInRules rules;
  rules.account = FailurePolicy{1, 1000, 1000, 600000};
  rules.address = FailurePolicy{5, 1000, 1000, 300000};
  must_succeed(directory->record_sign_in("alice", "10.0.0.1", false, rules));
  EXPECT_EQ(redis({"HGET", prefix + ":fail:a:alice", "n"}), "$1");  // "1"
  EXPECT_EQ(redis({"HEXISTS", prefix + ":fail:a:alice", "until"}), ":1");  // the one free failure used
  EXPECT_EQ(redis({"HEXISTS", prefix + ":fail:ip:10.0.0.1", "until"}), ":0");
  EXPECT_GT(std::stoll(redis({"PTTL", prefix + ":fail:a:alice"}).substr(1)), 300000);
  EXPECT_LE(std::stoll(redis({"PTTL", prefix + ":fail:ip:10.0.0.1"}).substr(1)), 300000);
  must_succeed(directory->record_sign_in("alice", "10.0.0.2", true, rules));
  EXPECT_EQ(redis({"EXISTS", prefix + ":fail:a:alice"}), ":0");
  EXPECT_EQ(redis({"ZCARD", prefix + ":known:alice"}), ":1");
  EXPECT_GT(std::stoll(redis({"PTTL", prefix + ":known:alice"}).substr(1)), 0);
}

// ----------------------------------------------------------------------------------------------
// URLs (no server needed).

TEST(DirectoryUrlTest, RefusesMalformedUrlsWithoutShowingThePassword) {
  for (const char* url :
       {"", "inproc:", "inproc:a b", "http://127.0.0.1:6379", "redis://", "redis://:6379", "redis://host:",
        "redis://host:0", "redis://host:65536", "redis://host:63x", "redis://host/x", "redis://host/-1",
        "redis://host/1/2", "redis://host?db=1", "redis://host a", "rediss://:s3cret@host", "redis://:@host",
        "redis://s3cret@host", "redis://:s3cret@host:bad", "redis://:s3cret@/0", "redis://[::1:6379",
        "redis://[zz]:6379", "6379"}) {
    Options options;
    options.url = url;
    const auto result = open_directory(options);
    if (result.ok()) {
      ADD_FAILURE() << "accepted \"" << url << "\"";
      continue;
    }
    EXPECT_EQ(result.error().code, ErrorCode::invalid_field) << url;
    EXPECT_EQ(result.error().message.rfind("directory.url: ", 0), 0u) << result.error().message;
    EXPECT_EQ(result.error().message.find("s3cret"), std::string::npos) << result.error().message;
  }
}

TEST(DirectoryUrlTest, AcceptsWellFormedUrlsAndDescribesThem) {
  const std::pair<const char*, const char*> cases[] = {
      {"inproc:cluster-1", "inproc:cluster-1 prefix=parley"},
      {"redis://localhost", "redis://localhost:6379/0 prefix=parley"},
      {"redis://127.0.0.1:6380/2", "redis://127.0.0.1:6380/2 prefix=parley"},
      {"redis://:p@ss:w/rd@redis.internal:7000/", "redis://redis.internal:7000/0 prefix=parley"},
      {"redis://app:s3cret@10.0.0.5", "redis://10.0.0.5:6379/0 prefix=parley"},
      {"redis://[::1]:6379/1", "redis://[::1]:6379/1 prefix=parley"},
  };
  for (const auto& [url, described] : cases) {
    Options options;
    options.url = url;
    const auto result = open_directory(options);  // never connects: nothing needs to listen
    ASSERT_TRUE(result.ok()) << url << ": " << result.error().message;
    EXPECT_EQ((*result)->describe(), described);
  }
}

TEST(DirectoryStateTest, NamesStates) {
  EXPECT_STREQ(to_string(State::offline), "offline");
  EXPECT_STREQ(to_string(State::away), "away");
  EXPECT_STREQ(to_string(State::online), "online");
}

}  // namespace
}  // namespace parley::presence

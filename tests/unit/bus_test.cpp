// The behavioural suite of the message bus, run unchanged on every engine
// (Engines/BusTest.*/inproc and /nats): subjects and wildcards, order, two nodes, unsubscribe,
// request/reply, handler threads, binary and large payloads, destruction while messages flow.
// The NATS cases run against a real nats-server on a free loopback port (started once, on
// first use); NatsBusTest.* are NATS-only: restarts of the server, the reconnect buffer, and
// start-up failures. URL and subject syntax have their own small tests.
//
// Waits are bounded (10 s for a message that should come) and never assume speed: the suite
// also runs on one busy core and under AddressSanitizer.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bus/bus.hpp"
#include "test_nats.hpp"

namespace parley::bus {
namespace {

using namespace std::chrono_literals;
using testing_support::NatsServer;
using Clock = std::chrono::steady_clock;

constexpr auto kWait = 10s;  // for anything that should happen

// The nats-server the parametrized cases share.
using SharedNatsServer = testing_support::SharedServer<NatsServer>;
[[maybe_unused]] auto* const shared_nats_environment = ::testing::AddGlobalTestEnvironment(new SharedNatsServer);

struct Received {
  std::string subject;
  std::string payload;
  std::string reply_to;
  std::thread::id thread;
};

// Collects what a subscription receives; waits for it with a bound.
class Inbox {
 public:
  Handler handler() {
    return [this](const Message& message) {
      std::lock_guard lock(mutex_);
      received_.push_back({std::string(message.subject), std::string(message.payload), std::string(message.reply_to),
                           std::this_thread::get_id()});
      changed_.notify_all();
    };
  }
  // True once `count` messages arrived (within kWait).
  bool wait_for(std::size_t count, std::chrono::milliseconds timeout = kWait) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return received_.size() >= count; });
  }
  // True once a message with `payload` arrived (within kWait).
  bool wait_for_payload(const std::string& payload) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kWait, [&] {
      for (const Received& r : received_)
        if (r.payload == payload) return true;
      return false;
    });
  }
  std::vector<Received> all() {
    std::lock_guard lock(mutex_);
    return received_;
  }
  std::vector<std::string> payloads() {
    std::vector<std::string> out;
    for (const Received& r : all()) out.push_back(r.payload);
    return out;
  }
  std::size_t size() {
    std::lock_guard lock(mutex_);
    return received_.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Received> received_;
};

// Records the state changes a Bus reports.
class StateLog {
 public:
  StateHandler handler() {
    return [this](State state) {
      std::lock_guard lock(mutex_);
      states_.push_back(state);
      threads_.push_back(std::this_thread::get_id());
      changed_.notify_all();
    };
  }
  bool wait_for(State state, std::chrono::milliseconds timeout = kWait) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout,
                             [&] { return std::find(states_.begin(), states_.end(), state) != states_.end(); });
  }
  std::vector<State> states() {
    std::lock_guard lock(mutex_);
    return states_;
  }
  std::vector<std::thread::id> threads() {
    std::lock_guard lock(mutex_);
    return threads_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<State> states_;
  std::vector<std::thread::id> threads_;
};

const char* state_text(State state) {
  switch (state) {
    case State::connected:
      return "connected";
    case State::disconnected:
      return "disconnected";
    case State::reconnected:
      return "reconnected";
    case State::closed:
      return "closed";
  }
  return "?";
}

std::string states_text(const std::vector<State>& states) {
  std::string text;
  for (State s : states) text += std::string(text.empty() ? "" : ",") + state_text(s);
  return text;
}

long long ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

// ----------------------------------------------------------------------------------------------
// The suite on every engine.

class BusTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    static std::atomic<int> serial{0};
    const int n = serial.fetch_add(1);
    // Subjects of their own per test, so nothing from an earlier test (same NATS server) shows up.
    prefix_ = "t" + std::to_string(::getpid()) + "_" + std::to_string(n) + ".";
    if (GetParam() == "nats") {
      PARLEY_SKIP_WITHOUT_NATS_SERVER();
      url_ = SharedNatsServer::get().url();
    } else {
      url_ = "inproc:bus_test_" + std::to_string(n);
    }
  }

  // One more node on the same bus.
  std::unique_ptr<Bus> open_node() {
    Options options;
    options.url = url_;
    options.name = "bus_test";
    return open_bus(options);
  }

  std::string subject(const std::string& leaf) const { return prefix_ + leaf; }

  std::string url_;
  std::string prefix_;
};

TEST_P(BusTest, DeliversAnExactSubject) {
  Inbox inbox;
  auto bus = open_node();
  bus->subscribe(subject("a"), inbox.handler());
  ASSERT_TRUE(bus->publish(subject("a"), "hello"));
  ASSERT_TRUE(inbox.wait_for(1));
  const auto received = inbox.all();
  EXPECT_EQ(received[0].subject, subject("a"));
  EXPECT_EQ(received[0].payload, "hello");
  EXPECT_EQ(received[0].reply_to, "");
  EXPECT_EQ(bus->dropped(), 0u);
}

TEST_P(BusTest, NeverDeliversOtherSubjects) {
  Inbox inbox;
  auto bus = open_node();
  bus->subscribe(subject("a.b"), inbox.handler());
  for (const char* other : {"a", "a.c", "a.b.c", "a.bb", "b.b", "x.a.b"})
    ASSERT_TRUE(bus->publish(subject(other), other));
  ASSERT_TRUE(bus->publish(subject("a.b"), "marker"));
  // The marker comes after the others from one publisher: had any matched, it arrived first.
  ASSERT_TRUE(inbox.wait_for_payload("marker"));
  EXPECT_EQ(inbox.payloads(), std::vector<std::string>{"marker"});
}

TEST_P(BusTest, MatchesWildcards) {
  Inbox star, tail, middle;
  auto bus = open_node();
  bus->subscribe(subject("w.*"), star.handler());
  bus->subscribe(subject("w.>"), tail.handler());
  bus->subscribe(subject("w.*.c"), middle.handler());
  for (const char* leaf : {"w", "w.a", "w.a.b", "w.a.c", "w.a.b.c", "wx.a", "v.a.c"})
    ASSERT_TRUE(bus->publish(subject(leaf), leaf));
  ASSERT_TRUE(bus->publish(subject("w.end"), "w.end"));      // marks the end for w.* and w.>
  ASSERT_TRUE(bus->publish(subject("w.end.c"), "w.end.c"));  // for w.> and w.*.c
  ASSERT_TRUE(star.wait_for_payload("w.end"));
  ASSERT_TRUE(tail.wait_for_payload("w.end.c"));
  ASSERT_TRUE(middle.wait_for_payload("w.end.c"));
  EXPECT_EQ(star.payloads(), (std::vector<std::string>{"w.a", "w.end"}));
  EXPECT_EQ(tail.payloads(), (std::vector<std::string>{"w.a", "w.a.b", "w.a.c", "w.a.b.c", "w.end", "w.end.c"}));
  EXPECT_EQ(middle.payloads(), (std::vector<std::string>{"w.a.c", "w.end.c"}));
  for (const Received& r : tail.all()) EXPECT_EQ(r.subject, subject(r.payload));  // the concrete subject
}

TEST_P(BusTest, KeepsThePublishOrderOf10000Messages) {
  constexpr int kCount = 10000;
  Inbox inbox;
  auto subscriber = open_node();
  auto publisher = open_node();
  subscriber->subscribe(subject("order"), inbox.handler());
  for (int i = 0; i < kCount; ++i) ASSERT_TRUE(publisher->publish(subject("order"), std::to_string(i)));
  ASSERT_TRUE(publisher->flush(static_cast<int>(std::chrono::milliseconds(kWait).count())));
  ASSERT_TRUE(inbox.wait_for(kCount, 60s)) << inbox.size() << " of " << kCount;
  const auto payloads = inbox.payloads();
  ASSERT_EQ(payloads.size(), static_cast<std::size_t>(kCount));
  for (int i = 0; i < kCount; ++i) ASSERT_EQ(payloads[i], std::to_string(i)) << "at " << i;
  EXPECT_EQ(publisher->dropped(), 0u);
}

TEST_P(BusTest, TwoNodesSeeEachOthersMessages) {
  Inbox at_a, at_b;
  auto a = open_node();
  auto b = open_node();
  a->subscribe(subject("room"), at_a.handler());
  b->subscribe(subject("room"), at_b.handler());
  ASSERT_TRUE(a->publish(subject("room"), "from a"));
  ASSERT_TRUE(b->publish(subject("room"), "from b"));
  ASSERT_TRUE(at_a.wait_for_payload("from b"));
  ASSERT_TRUE(at_b.wait_for_payload("from a"));
  ASSERT_TRUE(at_a.wait_for_payload("from a"));  // a subscriber also gets its own node's messages
  ASSERT_TRUE(at_b.wait_for_payload("from b"));
}

TEST_P(BusTest, UnsubscribeStopsDelivery) {
  Inbox gone, marker;
  auto subscriber = open_node();
  auto publisher = open_node();
  const SubscriptionId id = subscriber->subscribe(subject("gone"), gone.handler());
  subscriber->subscribe(subject("marker"), marker.handler());
  ASSERT_TRUE(publisher->publish(subject("gone"), "before"));
  ASSERT_TRUE(gone.wait_for_payload("before"));

  subscriber->unsubscribe(id);
  subscriber->unsubscribe(id);  // twice: ignored
  ASSERT_TRUE(publisher->publish(subject("gone"), "after"));
  ASSERT_TRUE(publisher->flush(10000));
  ASSERT_TRUE(publisher->publish(subject("marker"), "marker"));
  // Same publisher, so "after" would have come before the marker.
  ASSERT_TRUE(marker.wait_for_payload("marker"));
  EXPECT_EQ(gone.payloads(), std::vector<std::string>{"before"});
}

TEST_P(BusTest, RequestGetsTheReply) {
  auto responder = open_node();
  auto requester = open_node();
  Bus* responder_bus = responder.get();
  responder->subscribe(subject("echo"), [responder_bus](const Message& m) {
    if (!m.reply_to.empty()) responder_bus->publish(m.reply_to, "re:" + std::string(m.payload));
  });
  const auto reply = requester->request(subject("echo"), "ping", 10000);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(*reply, "re:ping");
  EXPECT_EQ(requester->request(subject("echo"), "again", 10000).value_or("<none>"), "re:again");
}

TEST_P(BusTest, GatherCollectsEveryResponder) {
  std::vector<std::unique_ptr<Bus>> responders;
  for (int i = 0; i < 3; ++i) {
    responders.push_back(open_node());
    Bus* bus = responders.back().get();
    bus->subscribe(subject("census"), [bus, i](const Message& m) {
      if (m.reply_to.empty()) return;
      bus->publish(m.reply_to, "node " + std::to_string(i) + " part 1");
      if (i == 2) bus->publish(m.reply_to, "node 2 part 2");  // one answers twice
    });
  }
  auto asker = open_node();
  // All four answers, early: max_replies came long before the timeout.
  const auto start = Clock::now();
  auto replies = asker->gather(subject("census"), "who", 60000, 4);
  EXPECT_LT(ms_since(start), 30000);
  std::sort(replies.begin(), replies.end());
  EXPECT_EQ(replies, (std::vector<std::string>{"node 0 part 1", "node 1 part 1", "node 2 part 1", "node 2 part 2"}));
  // Asking for more than will come: what came, after the timeout.
  const auto second = Clock::now();
  replies = asker->gather(subject("census"), "who", 2000, 10);
  EXPECT_GE(ms_since(second), 1900);
  EXPECT_EQ(replies.size(), 4u);
  EXPECT_TRUE(asker->gather(subject("nobody"), "who", 100, 10).empty());
}

TEST_P(BusTest, RequestTimesOutWithoutAReply) {
  constexpr int kTimeoutMs = 200;
  auto bus = open_node();
  const auto nobody_start = Clock::now();
  EXPECT_EQ(bus->request(subject("nobody"), "x", kTimeoutMs), std::nullopt);  // no subscriber at all
  EXPECT_LT(ms_since(nobody_start), 10 * kTimeoutMs);

  Inbox silent;  // a subscriber that never answers: the full timeout
  bus->subscribe(subject("silent"), silent.handler());
  const auto silent_start = Clock::now();
  EXPECT_EQ(bus->request(subject("silent"), "x", kTimeoutMs), std::nullopt);
  EXPECT_LT(ms_since(silent_start), 10 * kTimeoutMs);
  ASSERT_TRUE(silent.wait_for(1));
  EXPECT_FALSE(silent.all()[0].reply_to.empty());
}

TEST_P(BusTest, RunsHandlersOnABusThread) {
  Inbox inbox;
  StateLog states;
  auto bus = open_node();
  bus->on_state(states.handler());
  bus->subscribe(subject("thread"), inbox.handler());
  ASSERT_TRUE(bus->publish(subject("thread"), "x"));
  ASSERT_TRUE(inbox.wait_for(1));
  EXPECT_NE(inbox.all()[0].thread, std::this_thread::get_id());
  ASSERT_TRUE(states.wait_for(State::connected));
  EXPECT_NE(states.threads()[0], std::this_thread::get_id());
}

TEST_P(BusTest, ReportsConnectedAtOpen) {
  StateLog states;
  auto bus = open_node();
  EXPECT_TRUE(bus->connected());
  bus->on_state(states.handler());
  ASSERT_TRUE(states.wait_for(State::connected));
  EXPECT_EQ(states.states().front(), State::connected);
  EXPECT_NE(bus->describe().find("(connected)"), std::string::npos) << bus->describe();
}

TEST_P(BusTest, CarriesBinaryAndOneMebibytePayloads) {
  std::string binary("a\0b\0\0c", 6);
  for (int c = 0; c < 256; ++c) binary.push_back(static_cast<char>(c));
  std::string large(1 << 20, '\0');
  std::uint32_t x = 12345;
  for (char& c : large) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  Inbox inbox;
  auto subscriber = open_node();
  auto publisher = open_node();
  subscriber->subscribe(subject("bytes"), inbox.handler());
  ASSERT_TRUE(publisher->publish(subject("bytes"), binary));
  ASSERT_TRUE(publisher->publish(subject("bytes"), large));
  ASSERT_TRUE(publisher->publish(subject("bytes"), ""));
  ASSERT_TRUE(inbox.wait_for(3));
  const auto payloads = inbox.payloads();
  EXPECT_EQ(payloads[0], binary);
  EXPECT_EQ(payloads[1].size(), large.size());
  EXPECT_TRUE(payloads[1] == large);
  EXPECT_EQ(payloads[2], "");
}

TEST_P(BusTest, RefusesInvalidSubjectsAndOversizePayloads) {
  auto bus = open_node();
  EXPECT_THROW(bus->subscribe(subject("a..b"), [](const Message&) {}), std::invalid_argument);
  EXPECT_THROW(bus->subscribe(subject("a.>.b"), [](const Message&) {}), std::invalid_argument);
  EXPECT_THROW(bus->subscribe("", [](const Message&) {}), std::invalid_argument);
  EXPECT_FALSE(bus->publish(subject("a.*"), "x"));
  EXPECT_FALSE(bus->publish(subject("a b"), "x"));
  EXPECT_FALSE(bus->publish(subject("big"), std::string((1 << 20) + 1, 'x')));
  EXPECT_EQ(bus->dropped(), 3u);
}

TEST_P(BusTest, DestroyingABusWhileMessagesFlowIsSafe) {
  // A handler that ran after the destructor returned would touch freed memory (ASan reports it)
  // or change the count we read after destruction.
  struct Seen {
    std::atomic<int> count{0};
    std::string last;
  };
  auto publisher = open_node();
  for (int round = 0; round < 3; ++round) {
    auto seen = std::make_unique<Seen>();
    auto receiver = open_node();
    Seen* raw = seen.get();
    receiver->subscribe(subject("flow"), [raw](const Message& m) {
      raw->last.assign(m.payload);
      raw->count.fetch_add(1);
    });
    receiver->subscribe(subject("flow.>"), [raw](const Message& m) { raw->last.assign(m.payload); });
    std::atomic<bool> stop{false};
    std::thread flood([&] {
      for (int i = 0; i < 200000 && !stop.load(); ++i) {
        publisher->publish(subject("flow"), "message " + std::to_string(i));
        if (i % 64 == 0) publisher->publish(subject("flow.x"), "x");
        if (i % 256 == 0) std::this_thread::yield();
      }
    });
    const auto start = Clock::now();
    while (raw->count.load() < 200 && Clock::now() - start < kWait) std::this_thread::sleep_for(1ms);
    EXPECT_GE(raw->count.load(), 200) << "round " << round;
    receiver.reset();  // while the flood goes on
    const int after = raw->count.load();
    seen.reset();
    std::this_thread::sleep_for(20ms);  // let the flood go on with no receiver (not a correctness wait)
    stop = true;
    flood.join();
    EXPECT_GT(after, 0);
  }
  EXPECT_TRUE(publisher->flush(10000));
}

TEST_P(BusTest, UnsubscribingWhileMessagesFlowIsSafe) {
  // As above, for one subscription of a Bus that stays.
  auto publisher = open_node();
  auto receiver = open_node();
  Inbox marker;
  receiver->subscribe(subject("marker"), marker.handler());
  for (int round = 0; round < 3; ++round) {
    auto count = std::make_unique<std::atomic<int>>(0);
    std::atomic<int>* raw = count.get();
    const SubscriptionId id = receiver->subscribe(subject("flow"), [raw](const Message&) { raw->fetch_add(1); });
    std::atomic<bool> stop{false};
    std::thread flood([&] {
      for (int i = 0; i < 200000 && !stop.load(); ++i) {
        publisher->publish(subject("flow"), "message " + std::to_string(i));
        if (i % 256 == 0) std::this_thread::yield();
      }
    });
    const auto start = Clock::now();
    while (raw->load() < 200 && Clock::now() - start < kWait) std::this_thread::sleep_for(1ms);
    EXPECT_GE(raw->load(), 200) << "round " << round;
    receiver->unsubscribe(id);  // while the flood goes on
    const int after = raw->load();
    std::this_thread::sleep_for(20ms);  // more messages in flight (not a correctness wait)
    EXPECT_EQ(raw->load(), after) << "a handler ran after unsubscribe returned";
    count.reset();
    stop = true;
    flood.join();
  }
  // The receiver still works.
  ASSERT_TRUE(publisher->publish(subject("marker"), "still here"));
  EXPECT_TRUE(marker.wait_for_payload("still here"));
}

INSTANTIATE_TEST_SUITE_P(Engines, BusTest, ::testing::Values("inproc", "nats"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// ----------------------------------------------------------------------------------------------
// NATS only: a server of the test's own, restarted under the Bus.

class NatsBusTest : public ::testing::Test {
 protected:
  void SetUp() override { PARLEY_SKIP_WITHOUT_NATS_SERVER(); }
};

TEST_F(NatsBusTest, ReconnectsAfterAServerRestartAndKeepsSubscriptions) {
  NatsServer server;
  server.start();
  Options options;
  options.url = server.url();
  options.name = "restart_test";
  auto bus = open_bus(options);
  auto other = open_bus(options);  // a second node, which must come back as well
  StateLog states;
  bus->on_state(states.handler());
  ASSERT_TRUE(states.wait_for(State::connected));
  Inbox inbox;
  bus->subscribe("restart.x", inbox.handler());
  ASSERT_TRUE(other->publish("restart.x", "before"));
  ASSERT_TRUE(inbox.wait_for_payload("before"));

  server.kill();
  ASSERT_TRUE(states.wait_for(State::disconnected)) << states_text(states.states());
  EXPECT_FALSE(bus->connected());
  EXPECT_NE(bus->describe().find("(disconnected)"), std::string::npos) << bus->describe();
  ASSERT_TRUE(bus->publish("restart.x", "during"));  // into the reconnect buffer

  const auto restarted = Clock::now();
  server.start();  // same port
  ASSERT_TRUE(states.wait_for(State::reconnected, 20s)) << states_text(states.states());
  std::cout << "[          ] reconnected " << ms_since(restarted) << " ms after the server answered again\n";
  EXPECT_EQ(states_text(states.states()), "connected,disconnected,reconnected");
  EXPECT_TRUE(bus->connected());

  // The subscription was re-sent before the buffered publish: "during" arrives.
  ASSERT_TRUE(inbox.wait_for_payload("during"));
  // And the other node's publish after the restart reaches us (if that node is still
  // reconnecting, from its reconnect buffer).
  ASSERT_TRUE(other->publish("restart.x", "after"));
  EXPECT_TRUE(inbox.wait_for_payload("after"));
  EXPECT_EQ(bus->dropped(), 0u);
}

TEST_F(NatsBusTest, CountsWhatTheReconnectBufferCannotHoldAsDropped) {
  constexpr int kCount = 1000;
  NatsServer server;
  server.start();
  Options options;
  options.url = server.url();
  options.reconnect_buffer_bytes = 64 << 10;
  auto bus = open_bus(options);
  StateLog states;
  bus->on_state(states.handler());
  Inbox inbox;
  bus->subscribe("buffer.x", inbox.handler());

  server.kill();
  ASSERT_TRUE(states.wait_for(State::disconnected));
  const std::string filler(1000, 'x');
  const auto start = Clock::now();
  int accepted = 0;
  for (int i = 0; i < kCount; ++i) accepted += bus->publish("buffer.x", std::to_string(i) + ":" + filler) ? 1 : 0;
  const auto publish_ms = ms_since(start);
  std::cout << "[          ] " << kCount << " publishes while disconnected took " << publish_ms << " ms; " << accepted
            << " accepted by publish()\n";
  EXPECT_LT(publish_ms, 5000);    // never waits on the network (a loose bound, not a timing)
  EXPECT_FALSE(bus->flush(500));  // nothing reaches a server that is down
  EXPECT_GT(bus->dropped(), 0u);

  server.start();
  ASSERT_TRUE(states.wait_for(State::reconnected, 20s));
  // Every message either arrives or was counted as dropped; the buffered ones arrive in order.
  const auto deadline = Clock::now() + kWait;
  while (inbox.size() + bus->dropped() < kCount && Clock::now() < deadline) inbox.wait_for(inbox.size() + 1, 100ms);
  EXPECT_EQ(inbox.size() + bus->dropped(), static_cast<std::size_t>(kCount));
  std::cout << "[          ] " << inbox.size() << " buffered messages arrived after the reconnect, " << bus->dropped()
            << " dropped\n";
  EXPECT_GT(inbox.size(), 0u);
  EXPECT_LT(inbox.size(), static_cast<std::size_t>(kCount / 2));
  int previous = -1;
  for (const std::string& payload : inbox.payloads()) {
    const int index = std::stoi(payload.substr(0, payload.find(':')));
    EXPECT_GT(index, previous);
    previous = index;
  }
}

TEST(NatsBusOpenTest, ThrowsWhenNoServerAnswers) {  // needs libnats only, no nats-server
  Options options;
  options.connect_timeout_ms = 500;

  // Nothing listens: refused at once.
  options.url = "nats://alice:s3cret@127.0.0.1:" + std::to_string(testing_support::free_tcp_port());
  auto start = Clock::now();
  try {
    open_bus(options);
    ADD_FAILURE() << "open_bus did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("nats://127.0.0.1:"), std::string::npos) << e.what();
  }
  EXPECT_LT(ms_since(start), 5000);

  // Something accepts the TCP connection but never speaks NATS: the connect timeout applies.
  const int silent = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(silent, 8), 0);
  ASSERT_EQ(::getsockname(silent, reinterpret_cast<sockaddr*>(&address), &length), 0);
  options.url = "nats://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  start = Clock::now();
  EXPECT_THROW(open_bus(options), std::runtime_error);
  EXPECT_LT(ms_since(start), 5000);
  ::close(silent);
}

TEST_F(NatsBusTest, DescribeNeverShowsCredentials) {
  NatsServer server;
  server.start();
  Options options;
  options.url = "nats://alice:s3cret@127.0.0.1:" + std::to_string(server.port());
  auto bus = open_bus(options);
  const std::string text = bus->describe();
  EXPECT_EQ(text, "nats://127.0.0.1:" + std::to_string(server.port()) + " (connected)");
}

// ----------------------------------------------------------------------------------------------
// URL and subject syntax (no server needed).

TEST(BusUrlTest, RejectsMalformedUrlsWithoutShowingCredentials) {
  for (const char* url : {"", "inproc:", "inproc:a b", "http://127.0.0.1:4222", "nats://", "nats://:4222",
                          "nats://host:", "nats://host:0", "nats://host:65536", "nats://host:42x", "nats://host/path",
                          "nats://a:1,", "nats://a:1,,nats://b:2", "nats://a:1,http://b:2", "nats://[::1:4222",
                          "nats://alice:s3cret@host:notaport", "4222"}) {
    Options options;
    options.url = url;
    try {
      open_bus(options);
      ADD_FAILURE() << "accepted \"" << url << "\"";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("bus.url"), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos) << e.what();
    }
  }
}

TEST(BusSubjectTest, FollowsNatsSyntax) {
  for (const char* good : {"a", "a.b", "parley.batches", "a-b_c.D9", "_INBOX.x.y"}) {
    EXPECT_TRUE(valid_subject(good, false)) << good;
    EXPECT_TRUE(valid_subject(good, true)) << good;
  }
  for (const char* wildcard : {"*", ">", "a.*", "a.>", "a.*.c", "*.*.>"}) {
    EXPECT_FALSE(valid_subject(wildcard, false)) << wildcard;
    EXPECT_TRUE(valid_subject(wildcard, true)) << wildcard;
  }
  for (const char* bad : {"", ".", "a.", ".a", "a..b", "a b", "a\tb", "a\nb", "a.>.b", ">.a"}) {
    EXPECT_FALSE(valid_subject(bad, false)) << bad;
    EXPECT_FALSE(valid_subject(bad, true)) << bad;
  }
  EXPECT_FALSE(valid_subject(std::string("a\0b", 3), false));
}

}  // namespace
}  // namespace parley::bus

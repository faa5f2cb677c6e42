// Tests of the C++ client library against real parleyd processes: backoff bounds, and a
// server killed (kill -9) and restarted mid-stream: the client reconnects, resumes from its
// cursor, retries its unacknowledged sends, and surfaces every event once, in order.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <map>
#include <mutex>
#include <thread>

#include "client/client.hpp"
#include "client/http_client.hpp"
#include "core/json_writer.hpp"
#include "test_support.hpp"

namespace parley::client {
namespace {

using testing::eventually;
using testing::Loop;
using testing::Server;

TEST(ClientBackoff, StaysWithinCappedExponentialBoundsWithFullJitter) {
  std::mt19937_64 random(7);
  for (int attempt = 0; attempt < 40; ++attempt) {
    const std::int64_t ceiling = std::min<std::int64_t>(30000, 250LL << std::min(attempt, 30));
    int low = ceiling, high = 0;
    double sum = 0;
    for (int i = 0; i < 2000; ++i) {
      const int d = Client::backoff_delay_ms(attempt, 250, 30000, random);
      ASSERT_GE(d, 0);
      ASSERT_LE(d, ceiling) << "attempt " << attempt;
      low = std::min(low, d);
      high = std::max(high, d);
      sum += d;
    }
    // Full jitter: spread over the whole range, centred on half the ceiling.
    EXPECT_LT(low, ceiling * 0.1 + 1) << attempt;
    EXPECT_GT(high, ceiling * 0.9) << attempt;
    EXPECT_NEAR(sum / 2000, ceiling / 2.0, ceiling * 0.06 + 1) << attempt;
  }
}

TEST(ClientReconnect, SurvivesKillAndRestartWithoutGapOrDuplicate) {
  Server server;
  server.start();
  auto [sender_id, sender_token] = server.user("sender-one");
  auto [reader_id, reader_token] = server.user("reader-one");
  Loop loop;

  std::mutex mutex;
  std::vector<Event> seen;  // what the reader's application got
  std::vector<Reply> acks;  // what the sender's application got
  ClientOptions reader_options;
  reader_options.endpoint = server.endpoint();
  reader_options.token = reader_token;
  reader_options.cursor = 0;  // resume from the beginning: everything must arrive exactly once
  reader_options.backoff_base_ms = 50;
  reader_options.backoff_cap_ms = 500;
  ClientOptions sender_options = reader_options;
  sender_options.token = sender_token;
  sender_options.cursor.reset();
  auto reader = Client::create(loop.io, reader_options);
  auto sender = Client::create(loop.io, sender_options);
  reader->on_event = [&](const Event& e) {
    std::lock_guard lock(mutex);
    seen.push_back(e);
  };
  loop.run([&] {
    reader->start();
    sender->start();
    return 0;
  });
  ASSERT_TRUE(eventually([&] { return loop.run([&] { return reader->state() == State::live && sender->state() == State::live; }); }));

  // 10,000 messages queued at once (about 0.2 s of work for the server flat out); the server
  // dies right after the first acks, while most are in flight, and comes back.
  const int total = 10000;
  loop.run([&] {
    for (int i = 0; i < total; ++i)
      sender->send_to_user(reader_id, "m" + std::to_string(i), [&](const Reply& r) {
        std::lock_guard lock(mutex);
        acks.push_back(r);
      });
    return 0;
  });
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return !acks.empty();
  }));
  server.kill9();
  const std::size_t acked_before_kill = [&] {
    std::lock_guard lock(mutex);
    return acks.size();
  }();
  EXPECT_LT(acked_before_kill, static_cast<std::size_t>(total)) << "the kill came too late to test retries";
  ASSERT_TRUE(eventually([&] { return loop.run([&] { return reader->state() != State::live; }); }));
  server.start();

  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return static_cast<int>(acks.size()) == total && static_cast<int>(seen.size()) >= total;
  }, 30000)) << "acks " << acks.size() << " seen " << seen.size();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // nothing extra trickles in

  std::lock_guard lock(mutex);
  for (const auto& ack : acks) EXPECT_TRUE(ack.ok) << ack.code;
  ASSERT_EQ(static_cast<int>(seen.size()), total) << "duplicates surfaced";
  // One conversation, seq 1..total in order, every text exactly once.
  std::map<std::string, int> texts;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].seq, static_cast<Seq>(i + 1));
    EXPECT_EQ(seen[i].sender_id, sender_id);
    if (i > 0) {
      EXPECT_GT(seen[i].pos, seen[i - 1].pos);
    }
    ++texts[seen[i].text];
  }
  EXPECT_EQ(static_cast<int>(texts.size()), total);
  EXPECT_GE(loop.run([&] { return reader->reconnects(); }), 1);
  EXPECT_EQ(loop.run([&] { return reader->gaps_detected(); }), 0u);
  loop.run([&] {
    reader->stop();
    sender->stop();
    return 0;
  });
}

TEST(ClientReconnect, RefusedTokenStopsWithTheReason) {
  Server server;
  server.start();
  Loop loop;
  ClientOptions options;
  options.endpoint = server.endpoint();
  options.token = "not-a-token";
  auto client = Client::create(loop.io, options);
  std::atomic<bool> refused{false};
  client->on_refused = [&](const Reply& r) { refused = r.code == "unauthorized"; };
  loop.run([&] {
    client->start();
    return 0;
  });
  ASSERT_TRUE(eventually([&] { return loop.run([&] { return client->state() == State::stopped; }); }));
  EXPECT_TRUE(refused.load());
  EXPECT_EQ(loop.run([&] { return client->last_close_code(); }), 4003);
}

}  // namespace
}  // namespace parley::client

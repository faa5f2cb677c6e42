// The client library and the live features, against a real parleyd: the frames that are not
// events (conversation, receipt, read_state, conversation_settings, typing, presence) reach on_notice; sends with a
// reply / thread option are acked and surfaced with those fields; and the message-state and
// membership events (message.edited/deleted, reaction.*, message.pinned/unpinned, member.*)
// flow through on_event like messages, exactly once and without gaps, live and after a
// reconnect (when they come back through sync).

#include <gtest/gtest.h>
#include <simdjson.h>

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

// Short live-feature windows, so that tests do not wait long for coalesced frames.
Server live_server() {
  return Server({"--limits.receipt_flush_ms", "50", "--limits.typing_ttl_ms", "1500", "--presence.batch_ms", "100"});
}

// One user's client and everything its application saw, in arrival order.
struct Recorder {
  std::shared_ptr<Client> client;
  std::mutex mutex;
  std::vector<Event> events;
  std::vector<Notice> notices;
  std::vector<std::string> order;  // "event:<conversation>:<seq>" / "notice:<type>:<conversation>"

  Recorder(Loop& loop, const Server& server, const std::string& token, std::optional<Pos> cursor = {}) {
    ClientOptions options;
    options.endpoint = server.endpoint();
    options.token = token;
    options.cursor = cursor;
    options.backoff_base_ms = 50;
    options.backoff_cap_ms = 300;
    client = Client::create(loop.io, options);
    client->on_event = [this](const Event& e) {
      std::lock_guard lock(mutex);
      events.push_back(e);
      order.push_back("event:" + std::to_string(e.conversation_id) + ":" + std::to_string(e.seq));
    };
    client->on_notice = [this](const Notice& n) {
      std::lock_guard lock(mutex);
      notices.push_back(n);
      order.push_back("notice:" + n.type + ":" + std::to_string(n.conversation_id));
    };
    loop.run([this] {
      client->start();
      return 0;
    });
  }

  // The first notice matching `match`, waiting for it.
  std::optional<Notice> notice(const std::function<bool(const Notice&)>& match) {
    std::optional<Notice> found;
    eventually([&] {
      std::lock_guard lock(mutex);
      for (const auto& n : notices)
        if (match(n)) {
          found = n;
          return true;
        }
      return false;
    });
    return found;
  }
  std::vector<Event> events_of(ConversationId conversation) {
    std::lock_guard lock(mutex);
    std::vector<Event> out;
    for (const auto& e : events)
      if (e.conversation_id == conversation) out.push_back(e);
    return out;
  }
};

// Runs a command on the loop and waits for its reply.
Reply call(Loop& loop, Client& client, const std::string& type, const std::string& fields) {
  std::promise<Reply> promise;
  auto future = promise.get_future();
  loop.run([&] {
    client.request(type, fields, [&promise](const Reply& r) { promise.set_value(r); });
    return 0;
  });
  return future.get();
}

Reply send(Loop& loop, Client& client, ConversationId conversation, const std::string& text, SendOptions options = {}) {
  std::promise<Reply> promise;
  auto future = promise.get_future();
  loop.run([&] {
    client.send(conversation, text, std::move(options), [&promise](const Reply& r) { promise.set_value(r); });
    return 0;
  });
  return future.get();
}

std::int64_t field(const std::string& json, const char* name) {
  simdjson::dom::parser parser;
  std::int64_t value = 0;
  if (parser.parse(json)[name].get_int64().get(value) != simdjson::SUCCESS) return 0;
  return value;
}

std::string conversation_fields(ConversationId conversation, const std::string& more = {}) {
  std::string fields;
  JsonWriter(fields).field("conversation_id", conversation);
  return more.empty() ? fields : fields + "," + more;
}

bool live(Loop& loop, Recorder& r) {
  return eventually([&] { return loop.run([&] { return r.client->state() == State::live; }); });
}

TEST(ClientNotices, ConversationReceiptReadStateTypingAndPresenceReachOnNotice) {
  Server server = live_server();
  server.start();
  auto [alice_id, alice_token] = server.user("alice");
  auto [bob_id, bob_token] = server.user("bob");
  Loop loop;
  Recorder alice(loop, server, alice_token);
  Recorder bob(loop, server, bob_token);
  ASSERT_TRUE(live(loop, alice) && live(loop, bob));

  // A new direct conversation is announced to bob before its first event.
  std::promise<Reply> sent;
  loop.run([&, bob_id = bob_id] {
    alice.client->send_to_user(bob_id, "hi bob", [&sent](const Reply& r) { sent.set_value(r); });
    return 0;
  });
  const Reply ack = sent.get_future().get();
  ASSERT_TRUE(ack.ok) << ack.json;
  const ConversationId conversation = field(ack.json, "conversation_id");
  ASSERT_TRUE(eventually([&] { return bob.events_of(conversation).size() == 1; }));
  {
    std::lock_guard lock(bob.mutex);
    const std::string announced = "notice:conversation:" + std::to_string(conversation);
    const std::string first = "event:" + std::to_string(conversation) + ":1";
    auto at_notice = std::find(bob.order.begin(), bob.order.end(), announced);
    auto at_event = std::find(bob.order.begin(), bob.order.end(), first);
    ASSERT_NE(at_notice, bob.order.end());
    EXPECT_LT(at_notice, at_event) << "the announcement must precede the first event";
    EXPECT_NE(std::find_if(bob.notices.begin(), bob.notices.end(),
                           [](const Notice& n) { return n.json.find("\"peer\"") != std::string::npos; }),
              bob.notices.end());
  }

  // Bob reads it: alice gets a receipt, bob's own sessions a read_state.
  ASSERT_TRUE(call(loop, *bob.client, "receipt", conversation_fields(conversation, R"("read_seq":1)")).ok);
  auto receipt = alice.notice([&, bob_id = bob_id](const Notice& n) { return n.type == "receipt" && n.user_id == bob_id; });
  ASSERT_TRUE(receipt);
  EXPECT_EQ(receipt->conversation_id, conversation);
  EXPECT_EQ(receipt->delivered_seq, 1);
  ASSERT_TRUE(receipt->read_seq.has_value());
  EXPECT_EQ(*receipt->read_seq, 1);
  EXPECT_NE(receipt->json.find("\"type\":\"receipt\""), std::string::npos);
  auto state = bob.notice([](const Notice& n) { return n.type == "read_state"; });
  ASSERT_TRUE(state);
  EXPECT_EQ(state->conversation_id, conversation);
  EXPECT_EQ(state->read_seq.value_or(-1), 1);
  EXPECT_EQ(state->unread_count, 0);
  EXPECT_EQ(state->mention_count, 0);

  // Bob's own conversation settings reach his notices with all four values.
  ASSERT_TRUE(call(loop, *bob.client, "conversation.settings",
                   conversation_fields(conversation, R"("muted_until":-1,"pinned":true,"marked_unread":true)")).ok);
  auto settings = bob.notice([](const Notice& n) { return n.type == "conversation_settings"; });
  ASSERT_TRUE(settings);
  EXPECT_EQ(settings->conversation_id, conversation);
  EXPECT_EQ(settings->muted_until, -1);
  EXPECT_FALSE(settings->archived);
  EXPECT_EQ(settings->pin_rank, 1);
  EXPECT_TRUE(settings->marked_unread);
  EXPECT_EQ(settings->cleared_seq, 0);

  // "Delete for me" and "clear chat" reach his notices too; his sync reads show the message hidden.
  ASSERT_TRUE(call(loop, *bob.client, "message.hide", conversation_fields(conversation, R"("seq":1)")).ok);
  auto hid = bob.notice([](const Notice& n) { return n.type == "message_hidden"; });
  ASSERT_TRUE(hid);
  EXPECT_EQ(hid->conversation_id, conversation);
  EXPECT_EQ(hid->seq, 1);
  {
    Recorder replay(loop, server, bob_token, Pos{0});
    ASSERT_TRUE(eventually([&] { return replay.events_of(conversation).size() == 1; }));
    const Event synced = replay.events_of(conversation)[0];
    EXPECT_TRUE(synced.hidden);
    EXPECT_EQ(synced.text, "");
    EXPECT_FALSE(bob.events_of(conversation)[0].hidden);  // the live event was not
    loop.run([&] {
      replay.client->stop();
      return 0;
    });
  }
  ASSERT_TRUE(call(loop, *bob.client, "conversation.settings", conversation_fields(conversation, R"("cleared_seq":1)")).ok);
  auto cleared = bob.notice([](const Notice& n) { return n.type == "conversation_settings" && n.cleared_seq == 1; });
  ASSERT_TRUE(cleared);
  EXPECT_TRUE(cleared->marked_unread);  // all five values, as they now are

  // With read receipts off, the receipt frame carries no read_seq.
  ASSERT_TRUE(call(loop, *bob.client, "settings.update", R"("read_receipts":false)").ok);
  ASSERT_TRUE(send(loop, *alice.client, conversation, "again").ok);
  ASSERT_TRUE(eventually([&] { return bob.events_of(conversation).size() == 2; }));
  ASSERT_TRUE(call(loop, *bob.client, "receipt", conversation_fields(conversation, R"("read_seq":2)")).ok);
  auto hidden = alice.notice([&](const Notice& n) { return n.type == "receipt" && n.delivered_seq == 2; });
  ASSERT_TRUE(hidden);
  EXPECT_FALSE(hidden->read_seq.has_value()) << hidden->json;

  // Typing: start (with its expiry), then stop.
  ASSERT_TRUE(call(loop, *bob.client, "typing", conversation_fields(conversation, R"("state":"start")")).ok);
  auto start = alice.notice([](const Notice& n) { return n.type == "typing" && n.state == "start"; });
  ASSERT_TRUE(start);
  EXPECT_EQ(start->user_id, bob_id);
  EXPECT_EQ(start->conversation_id, conversation);
  EXPECT_EQ(start->expires_in_ms, 1500);
  ASSERT_TRUE(call(loop, *bob.client, "typing", conversation_fields(conversation, R"("state":"stop")")).ok);
  auto stop = alice.notice([](const Notice& n) { return n.type == "typing" && n.state == "stop"; });
  ASSERT_TRUE(stop);
  EXPECT_EQ(stop->user_id, bob_id);

  // Presence: bob goes away.
  ASSERT_TRUE(call(loop, *bob.client, "presence.set", R"("status":"away")").ok);
  auto away = alice.notice([&, bob_id = bob_id](const Notice& n) {
    return n.type == "presence" &&
           std::any_of(n.users.begin(), n.users.end(), [&](const PresenceEntry& u) { return u.user_id == bob_id && u.status == "away"; });
  });
  ASSERT_TRUE(away);
  EXPECT_EQ(away->conversation_id, 0);

  // Notices never pass as events, and the typer hears nothing of its own typing.
  {
    std::lock_guard lock(bob.mutex);
    EXPECT_EQ(std::count_if(bob.notices.begin(), bob.notices.end(), [](const Notice& n) { return n.type == "typing"; }), 0);
    EXPECT_EQ(bob.events.size(), 2u);  // the two messages
  }
  loop.run([&] {
    alice.client->stop();
    bob.client->stop();
    return 0;
  });
}

TEST(ClientEvents, MessageStateAndMembershipEventsFlowThroughOnEventExactlyOnce) {
  Server server = live_server();
  server.start();
  auto [alice_id, alice_token] = server.user("alice");
  auto [bob_id, bob_token] = server.user("bob");
  const UserId carol_id = server.user("carol").first;
  Loop loop;
  Recorder alice(loop, server, alice_token);
  Recorder bob(loop, server, bob_token);
  ASSERT_TRUE(live(loop, alice) && live(loop, bob));

  std::string members;
  JsonWriter(members).field("title", "state").key("member_ids").begin_array().value(bob_id).end_array();
  const Reply created = call(loop, *alice.client, "group.create", members);
  ASSERT_TRUE(created.ok) << created.json;
  simdjson::dom::parser parser;
  const ConversationId group = parser.parse(created.json)["conversation"]["id"].get_int64().value();

  // seq 1 conversation.created, 2 member.added; then messages with and without options.
  const Reply root = send(loop, *alice.client, group, "root");
  ASSERT_TRUE(root.ok) << root.json;
  ASSERT_EQ(field(root.json, "seq"), 3);
  SendOptions in_thread;
  in_thread.thread_root_seq = 3;
  in_thread.reply_to_seq = 3;
  const Reply threaded = send(loop, *bob.client, group, "in the thread", in_thread);
  ASSERT_TRUE(threaded.ok) << threaded.json;
  ASSERT_EQ(field(threaded.json, "seq"), 4);

  const auto ok = [&](Recorder& who, const char* type, const std::string& more) {
    const Reply r = call(loop, *who.client, type, conversation_fields(group, more));
    EXPECT_TRUE(r.ok) << type << ": " << r.json;
  };
  ok(alice, "message.edit", R"j("seq":3,"text":"root (edited)")j");  // 5
  ok(bob, "reaction.add", R"("seq":3,"emoji":"👍")");              // 6
  ok(alice, "pin.add", R"("seq":3)");                              // 7
  ASSERT_TRUE(eventually([&] { return bob.events_of(group).size() == 7; })) << [&] {
    std::string seen;
    for (const auto& e : bob.events_of(group)) seen += " " + std::to_string(e.seq) + ":" + e.kind;
    return seen + " gaps " + std::to_string(loop.run([&] { return bob.client->gaps_detected(); }));
  }();
  // Bob's device goes away; it comes back from its cursor, so what follows reaches it by sync.
  const Pos bob_cursor = loop.run([&] {
    bob.client->stop();
    return bob.client->cursor();
  });
  ok(alice, "pin.remove", R"("seq":3)");                                                    // 8
  ok(alice, "members.add", "\"user_ids\":[" + std::to_string(carol_id) + "]");              // 9
  ok(alice, "members.set_role", "\"user_id\":" + std::to_string(bob_id) + ",\"role\":\"admin\"");  // 10
  ok(alice, "members.remove", "\"user_id\":" + std::to_string(carol_id));                   // 11
  ok(alice, "message.delete", R"("seq":4)");  // 12: the owner deletes bob's message
  ok(alice, "reaction.add", R"("seq":3,"emoji":"🎉")");                                     // 13
  Recorder bob_again(loop, server, bob_token, bob_cursor);
  ASSERT_TRUE(live(loop, bob_again));
  ok(bob_again, "reaction.remove", R"("seq":3,"emoji":"👍")");  // 14
  ASSERT_TRUE(send(loop, *alice.client, group, "last").ok);     // 15

  const std::vector<std::string> kinds = {
      "conversation.created", "member.added", "text", "text", "message.edited", "reaction.added",
      "message.pinned", "message.unpinned", "member.added", "member.role_changed", "member.removed",
      "message.deleted", "reaction.added", "reaction.removed", "text"};
  const auto check = [&](const char* who, const std::vector<Event>& events) {
    ASSERT_EQ(events.size(), kinds.size()) << who;
    for (std::size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i].seq, static_cast<Seq>(i + 1)) << who;
      EXPECT_EQ(events[i].kind, kinds[i]) << who << " seq " << i + 1;
      if (i > 0) {
        EXPECT_GT(events[i].pos, events[i - 1].pos) << who;
      }
    }
    EXPECT_EQ(events[3].thread_root, 3) << who;
    EXPECT_EQ(events[3].reply_to, 3) << who;
    EXPECT_NE(events[3].json.find("\"thread_root\":3"), std::string::npos) << who << " " << events[3].json;
    EXPECT_EQ(events[4].target_seq, 3) << who;
    EXPECT_EQ(events[4].text, "root (edited)") << who;
    EXPECT_EQ(events[5].emoji, "👍") << who;
    EXPECT_EQ(events[5].sender_id, bob_id) << who;
    EXPECT_EQ(events[11].target_seq, 4) << who;
    EXPECT_EQ(events[13].sender_id, bob_id) << who;
  };
  ASSERT_TRUE(eventually([&] { return alice.events_of(group).size() >= kinds.size(); }));
  ASSERT_TRUE(eventually([&] { return bob_again.events_of(group).size() >= kinds.size() - 7; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // nothing extra trickles in
  check("alice", alice.events_of(group));
  auto bobs = bob.events_of(group);
  const auto later = bob_again.events_of(group);
  bobs.insert(bobs.end(), later.begin(), later.end());
  check("bob", bobs);
  EXPECT_EQ(loop.run([&] { return alice.client->gaps_detected() + bob_again.client->gaps_detected(); }), 0u);

  // A new device replaying everything from the start gets the same events.
  Recorder replay(loop, server, bob_token, Pos{0});
  ASSERT_TRUE(eventually([&] { return replay.events_of(group).size() >= kinds.size(); }));
  const auto replayed = replay.events_of(group);
  ASSERT_EQ(replayed.size(), kinds.size());
  for (std::size_t i = 0; i < replayed.size(); ++i) EXPECT_EQ(replayed[i].kind, kinds[i]) << "seq " << i + 1;
  loop.run([&] {
    alice.client->stop();
    bob_again.client->stop();
    replay.client->stop();
    return 0;
  });
}

}  // namespace
}  // namespace parley::client

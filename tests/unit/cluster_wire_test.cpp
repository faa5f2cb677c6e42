// The bytes cluster nodes exchange (chat/cluster_wire): what one node encodes, another decodes
// to the same deliveries; anything malformed, truncated or of another version is refused whole.
#include <gtest/gtest.h>

#include "chat/cluster_wire.hpp"

namespace parley::chat {
namespace {

DeliveryBatch sample_batch() {
  DeliveryBatch batch;
  batch.start_pos = 41;
  batch.committed_pos = 43;
  Delivery event;
  event.conversation_id = 7;
  event.event_pos = 42;
  event.event_frame = gateway::make_text_frame(R"({"type":"event","event":{"seq":1}})");
  event.subscribe = {1, 2};
  event.to_users = {2};
  event.user_frame = gateway::make_text_frame(R"({"type":"conversation"})");
  batch.items.push_back(event);
  Delivery reply_only;  // a requester's reply: stays on its node
  reply_only.requester = ReplyTarget{};
  reply_only.reply.type = "ack";
  batch.items.push_back(reply_only);
  Delivery revoke;
  revoke.revoked_token_ids = {"abc", std::string("with\0nul", 8)};
  revoke.token_cutoff = store::TokenCutoff{9, 1700000000, "kept"};
  revoke.unsubscribe = {3};
  revoke.event_pos = 43;
  batch.items.push_back(revoke);
  return batch;
}

TEST(ClusterWireTest, BatchRoundTripKeepsWhatOtherNodesNeed) {
  const DeliveryBatch batch = sample_batch();
  const std::string bytes = wire::encode_batch(5, batch);
  auto decoded = wire::decode_batch(bytes);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->node_id, 5u);
  EXPECT_EQ(decoded->batch.start_pos, 41);
  EXPECT_EQ(decoded->batch.committed_pos, 43);
  ASSERT_EQ(decoded->batch.items.size(), 2u);  // the reply-only item is not relayed
  const Delivery& event = decoded->batch.items[0];
  EXPECT_EQ(event.conversation_id, 7);
  EXPECT_EQ(event.event_pos, 42);
  ASSERT_TRUE(event.event_frame);
  EXPECT_EQ(*event.event_frame, *batch.items[0].event_frame);  // the very frame bytes
  EXPECT_EQ(event.subscribe, (std::vector<UserId>{1, 2}));
  EXPECT_EQ(event.to_users, (std::vector<UserId>{2}));
  ASSERT_TRUE(event.user_frame);
  EXPECT_EQ(*event.user_frame, *batch.items[0].user_frame);
  EXPECT_FALSE(event.requester.has_value());
  const Delivery& revoke = decoded->batch.items[1];
  EXPECT_FALSE(revoke.event_frame);
  EXPECT_EQ(revoke.revoked_token_ids, batch.items[2].revoked_token_ids);
  ASSERT_TRUE(revoke.token_cutoff.has_value());
  EXPECT_EQ(revoke.token_cutoff->user_id, 9);
  EXPECT_EQ(revoke.token_cutoff->valid_after_s, 1700000000);
  EXPECT_EQ(revoke.token_cutoff->kept_token_id, "kept");
  EXPECT_EQ(revoke.unsubscribe, (std::vector<UserId>{3}));
}

TEST(ClusterWireTest, EveryTruncationAndTrailingByteIsRefused) {
  const std::string bytes = wire::encode_batch(5, sample_batch());
  for (std::size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(wire::decode_batch(std::string_view(bytes).substr(0, n)).has_value()) << "prefix of " << n;
  EXPECT_FALSE(wire::decode_batch(bytes + "x").has_value());
}

TEST(ClusterWireTest, UnknownVersionOrKindIsRefused) {
  std::string bytes = wire::encode_batch(5, sample_batch());
  bytes[0] = static_cast<char>(wire::kVersion + 1);
  EXPECT_FALSE(wire::decode_batch(bytes).has_value());
  const std::string typing = wire::encode_typing({1, 2, 3, true});
  EXPECT_FALSE(wire::decode_batch(typing).has_value());  // a typing message is not a batch
  EXPECT_FALSE(wire::decode_typing(wire::encode_batch(5, sample_batch())).has_value());
}

TEST(ClusterWireTest, HugeCountsAreRefusedBeforeAllocating) {
  // A count of 2^32-1 items or ids in a few bytes must not reserve gigabytes.
  std::string bytes = wire::encode_batch(5, DeliveryBatch{});
  bytes.replace(bytes.size() - 4, 4, std::string("\xff\xff\xff\xff", 4));
  EXPECT_FALSE(wire::decode_batch(bytes).has_value());
}

TEST(ClusterWireTest, PositionsMustBeOrdered) {
  DeliveryBatch batch;
  batch.start_pos = 10;
  batch.committed_pos = 9;
  EXPECT_FALSE(wire::decode_batch(wire::encode_batch(1, batch)).has_value());
}

TEST(ClusterWireTest, TypingRoundTrip) {
  auto typing = wire::decode_typing(wire::encode_typing({4, 77, 88, true}));
  ASSERT_TRUE(typing.has_value());
  EXPECT_EQ(typing->node_id, 4u);
  EXPECT_EQ(typing->conversation_id, 77);
  EXPECT_EQ(typing->user_id, 88);
  EXPECT_TRUE(typing->started);
  std::string bytes = wire::encode_typing({4, 77, 88, false});
  EXPECT_FALSE(wire::decode_typing(bytes.substr(0, bytes.size() - 1)).has_value());
}

TEST(ClusterWireTest, PresenceRoundTripAndStrictDecoding) {
  wire::Presence sent{7, {}};
  sent.changes.push_back(PresenceChange{11, "offline", 1700000000123, {1, 2, 3}, 42});
  sent.changes.push_back(PresenceChange{12, "away", 0, {}, 1});
  sent.changes.push_back(PresenceChange{13, "online", 0, {9}, 1700000000000000});
  const std::string bytes = wire::encode_presence(sent);
  auto got = wire::decode_presence(bytes);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->node_id, 7u);
  ASSERT_EQ(got->changes.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(got->changes[i].user_id, sent.changes[i].user_id);
    EXPECT_EQ(got->changes[i].status, sent.changes[i].status);
    EXPECT_EQ(got->changes[i].last_seen_ms, sent.changes[i].last_seen_ms);
    EXPECT_EQ(got->changes[i].audience, sent.changes[i].audience);
    EXPECT_EQ(got->changes[i].version, sent.changes[i].version);
  }
  for (std::size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(wire::decode_presence(std::string_view(bytes).substr(0, n)).has_value()) << "prefix of " << n;
  EXPECT_FALSE(wire::decode_presence(bytes + "x").has_value());
  EXPECT_FALSE(wire::decode_presence(wire::encode_typing({1, 2, 3, true})).has_value());
  EXPECT_FALSE(wire::decode_typing(bytes).has_value());
  // A status byte past "online" is refused (offset: version, kind, node, count, user id).
  std::string bad = bytes;
  bad[2 + 4 + 4 + 8] = 3;
  EXPECT_FALSE(wire::decode_presence(bad).has_value());
}

}  // namespace
}  // namespace parley::chat

// The push dispatcher's rules (chat/push_dispatch.hpp): when a device is notified, what the
// notification carries, and how long a failed delivery waits. The deliveries themselves are
// checked end to end by tests/integration/test_push_delivery.py.
#include <gtest/gtest.h>
#include <simdjson.h>

#include "chat/notification_settings.hpp"
#include "chat/push_dispatch.hpp"

namespace parley::chat {
namespace {

PushContext context(Seq seq) {
  PushContext c;
  c.job.key = {5, 9};
  c.job.user_id = 2;
  c.job.seq = seq;
  c.job.count = 1;
  c.job.first_at_ms = 10'000;
  c.member = store::MemberRecord{};
  c.member->conversation_id = 9;
  c.member->user_id = 2;
  c.conversation = store::ConversationRecord{};
  c.conversation->id = 9;
  c.conversation->kind = ConversationKind::group;
  c.conversation->title = "Team";
  c.event = store::EventRecord{};
  c.event->conversation_id = 9;
  c.event->seq = seq;
  c.event->sender_id = 1;
  c.event->body = "hello";
  c.event->created_at_ms = 10'000;
  c.sender_name = "Alice";
  return c;
}

TEST(PushRules, AnOfflineUserIsNotifiedAtOnce) {
  EXPECT_EQ(decide_push(context(3), false, 10'001, 1500).verdict, PushVerdict::send);
}

TEST(PushRules, NothingForFormerMembersReadEventsMutedOrDeletedMessages) {
  auto c = context(3);
  c.member->left_seq = 2;
  EXPECT_STREQ(decide_push(c, false, 10'001, 1500).reason, "not_member");
  c = context(3);
  c.member.reset();
  EXPECT_STREQ(decide_push(c, false, 10'001, 1500).reason, "not_member");
  c = context(3);
  c.member->read_seq = 3;
  EXPECT_STREQ(decide_push(c, false, 10'001, 1500).reason, "read");
  c = context(3);
  c.member->settings.muted_until = -1;
  EXPECT_STREQ(decide_push(c, false, 10'001, 1500).reason, "muted");
  c.member->settings.muted_until = 20'000;  // muted for a while yet
  EXPECT_STREQ(decide_push(c, false, 10'001, 1500).reason, "muted");
  c.member->settings.muted_until = 10'000;  // the mute ran out
  EXPECT_EQ(decide_push(c, false, 10'001, 1500).verdict, PushVerdict::send);
  c = context(3);
  c.event->deleted_at_ms = 10'500;
  EXPECT_STREQ(decide_push(c, false, 10'001, 1500).reason, "deleted");
}

TEST(PushRules, AnAttentiveUserIsNotifiedOnlyOfWhatNoDeviceGotWithinTheGrace) {
  auto c = context(3);
  const PushDecision early = decide_push(c, true, 10'200, 1500);
  EXPECT_EQ(early.verdict, PushVerdict::wait);
  EXPECT_EQ(early.wait_until_ms, 11'500);
  EXPECT_EQ(decide_push(c, true, 11'500, 1500).verdict, PushVerdict::send);  // never arrived
  c.member->delivered_seq = 3;
  EXPECT_STREQ(decide_push(c, true, 11'500, 1500).reason, "delivered");
  // Not attentive (away, or an idle tab): a delivery to a screen nobody looks at does not count.
  EXPECT_EQ(decide_push(c, false, 10'200, 1500).verdict, PushVerdict::send);
}

TEST(PushRules, TheConversationsNotifyLevelTakesAllMentionsOrNothing) {
  auto c = context(3);
  EXPECT_EQ(decide_push(c, false, 10'001, 1500).verdict, PushVerdict::send);  // a group's default: all
  c.member->settings.notify = store::NotifyLevel::mentions;
  EXPECT_STREQ(decide_push(c, false, 10'001, 1500).reason, "level");
  c.job.mention = true;
  EXPECT_EQ(decide_push(c, false, 10'001, 1500).verdict, PushVerdict::send);
  c.member->settings.notify = store::NotifyLevel::none;
  EXPECT_STREQ(decide_push(c, false, 10'001, 1500).reason, "level");
  // A channel's default is mentions only; a member may take every message.
  c = context(3);
  c.conversation->kind = ConversationKind::channel;
  EXPECT_STREQ(decide_push(c, false, 10'001, 1500).reason, "level");
  c.member->settings.notify = store::NotifyLevel::all;
  EXPECT_EQ(decide_push(c, false, 10'001, 1500).verdict, PushVerdict::send);
  // A reaction to one's own message counts as being mentioned.
  c.member->settings.notify = store::NotifyLevel::mentions;
  c.event->kind = EventKind::reaction_added;
  EXPECT_EQ(decide_push(c, false, 10'001, 1500).verdict, PushVerdict::send);
}

TEST(PushRules, DoNotDisturbHoldsBackEverything) {
  auto c = context(3);
  c.job.mention = true;
  c.do_not_disturb.dnd_until = -1;
  EXPECT_STREQ(decide_push(c, false, 10'001, 1500).reason, "do_not_disturb");
  c.do_not_disturb.dnd_until = 10'002;
  EXPECT_STREQ(decide_push(c, false, 10'001, 1500).reason, "do_not_disturb");
  c.do_not_disturb.dnd_until = 10'001;  // over
  EXPECT_EQ(decide_push(c, false, 10'001, 1500).verdict, PushVerdict::send);
}

TEST(QuietHours, DailyHoursInTheUsersZoneWithDaylightSavingTime) {
  store::NotificationSettings night;
  night.timezone = "UTC";
  night.quiet_start_min = 22 * 60;
  night.quiet_end_min = 7 * 60;
  EXPECT_TRUE(quiet_now(night, 1796684400000));   // 2026-12-07 23:00 UTC
  EXPECT_TRUE(quiet_now(night, 1796680800000));   // 22:00: the start is in
  EXPECT_TRUE(quiet_now(night, 1796626740000));   // 06:59
  EXPECT_FALSE(quiet_now(night, 1796626800000));  // 07:00: the end is out
  EXPECT_FALSE(quiet_now(night, 1796644800000));  // 12:00
  // Berlin is UTC+2 in July and UTC+1 in January: 20:30 UTC is 22:30 there in July, 21:30 in January.
  night.timezone = "Europe/Berlin";
  EXPECT_TRUE(quiet_now(night, 1782937800000));
  EXPECT_FALSE(quiet_now(night, 1768509000000));
  // Hours within one day; a half-hour zone (Kolkata, UTC+5:30): 10:00 UTC is 15:30 there.
  store::NotificationSettings afternoon;
  afternoon.timezone = "Asia/Kolkata";
  afternoon.quiet_start_min = 15 * 60 + 30;
  afternoon.quiet_end_min = 16 * 60;
  EXPECT_TRUE(quiet_now(afternoon, 1796637600000));
  afternoon.quiet_start_min = 15 * 60 + 31;
  EXPECT_FALSE(quiet_now(afternoon, 1796637600000));
  EXPECT_TRUE(known_timezone("America/New_York"));
  EXPECT_FALSE(known_timezone("Mars/Olympus"));
  EXPECT_FALSE(known_timezone(""));
}

TEST(PushPayload, ContentSettingDecidesWhatLeavesTheServer) {
  simdjson::dom::parser parser;
  auto c = context(3);
  c.job.count = 2;
  const std::string full = push_payload(c, "full");
  auto doc = parser.parse(full).value();
  EXPECT_EQ(std::string_view(doc["type"].get_string().value()), "message");
  EXPECT_EQ(doc["conversation_id"].get_int64().value(), 9);
  EXPECT_EQ(doc["count"].get_int64().value(), 2);
  EXPECT_EQ(std::string_view(doc["text"].get_string().value()), "hello");
  EXPECT_EQ(std::string_view(doc["sender"]["name"].get_string().value()), "Alice");
  EXPECT_EQ(std::string_view(doc["conversation"]["title"].get_string().value()), "Team");
  const std::string sender = push_payload(c, "sender");
  EXPECT_EQ(sender.find("hello"), std::string::npos);
  EXPECT_NE(sender.find("Alice"), std::string::npos);
  const std::string none = push_payload(c, "none");
  EXPECT_EQ(none.find("Alice"), std::string::npos);
  EXPECT_EQ(none.find("Team"), std::string::npos);
  EXPECT_NE(none.find("\"conversation_id\":9"), std::string::npos);
  // Long text is cut at 1000 bytes, never inside a UTF-8 character.
  c.event->body = std::string(999, 'a') + "é";
  doc = parser.parse(push_payload(c, "full")).value();
  EXPECT_EQ(std::string_view(doc["text"].get_string().value()), std::string(999, 'a'));
}

TEST(PushRetry, DoublesFromTheMinimumUpToTheMaximumAndHonoursRetryAfter) {
  PushConfig config;
  config.retry_min_ms = 1000;
  config.retry_max_ms = 5000;
  EXPECT_EQ(push_retry_delay_ms(config, 1, -1), 1000);
  EXPECT_EQ(push_retry_delay_ms(config, 2, -1), 2000);
  EXPECT_EQ(push_retry_delay_ms(config, 3, -1), 4000);
  EXPECT_EQ(push_retry_delay_ms(config, 4, -1), 5000);
  EXPECT_EQ(push_retry_delay_ms(config, 40, -1), 5000);
  EXPECT_EQ(push_retry_delay_ms(config, 1, 30), 30'000);  // the service asked for longer
  EXPECT_EQ(push_retry_delay_ms(config, 3, 1), 4000);     // ours is longer already
}

}  // namespace
}  // namespace parley::chat

// account.notifications: a user's do-not-disturb — a pause and daily quiet hours in their time
// zone — kept for all of their devices (docs/protocol.md 3.6), and the rule push delivery reads
// from it. Time zones come from ICU's database (the same library the accounts' text rules use).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "chat/chat_op.hpp"
#include "core/json_writer.hpp"
#include "protocol/commands.hpp"
#include "store/records.hpp"

namespace parley::chat {

// Whether `timezone` names a zone of the time zone database ("Europe/Berlin", "UTC").
bool known_timezone(const std::string& timezone);

// Whether push notifications are held back at `now_ms`: a pause not over yet, or inside the
// quiet hours (start included, end not; start > end crosses midnight).
bool quiet_now(const store::NotificationSettings& settings, std::int64_t now_ms);

// The object {"dnd_until","schedule","quiet_now"} as replies and frames carry it.
void write_notification_settings(JsonWriter& w, const store::NotificationSettings& settings, std::int64_t now_ms);

std::unique_ptr<ChatOp> make_account_notifications_op(ChatService& service, UserId caller, ReplyTarget target,
                                                       const protocol::AccountNotificationsCmd& command);

}  // namespace parley::chat

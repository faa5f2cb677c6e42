// conversation.settings: each user's own settings of a conversation (mute, archive, pin,
// marked unread, cleared chat), stored with the membership and announced to every session of
// that user on every node (docs/protocol.md 5.10).
#pragma once

#include <memory>

#include "chat/chat_op.hpp"
#include "core/json_writer.hpp"
#include "protocol/commands.hpp"
#include "store/records.hpp"

namespace parley::chat {

// "muted_until","archived","pin_rank","marked_unread","cleared_seq","notify" (members of an
// object being written).
void write_settings_fields(JsonWriter& w, const store::ConversationSettings& settings);
// "default", "all", "mentions", "none" (protocol::kNotifyLevelNames).
std::string_view notify_level_name(store::NotifyLevel level);

// The frame {"type":"conversation_settings","conversation_id",<the six fields>} for every
// session of the member whose settings changed.
Delivery settings_delivery(ConversationId conversation, UserId user, const store::ConversationSettings& settings);

// The op of a conversation.settings command.
std::unique_ptr<ChatOp> make_conversation_settings_op(ChatService& service, UserId caller, ReplyTarget target,
                                                      const protocol::ConversationSettingsCmd& command);

}  // namespace parley::chat

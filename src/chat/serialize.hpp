// JSON shapes of the protocol's objects (docs/protocol.md, "Objects"). Every transport and
// every frame that carries one of these objects writes it here, so the shapes cannot drift.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/json_writer.hpp"
#include "store/records.hpp"

namespace parley::chat {

// Current state of a message that history adds to its event (live events are as created).
struct EventExtras {
  std::vector<store::ReactionRecord> reactions;  // on this message, in order
  const store::ThreadRecord* thread = nullptr;   // if it is a thread root with replies
  bool hidden = false;  // the reader hid it: where it sits, not what it says (no reactions, thread)
};

// {"conversation_id","seq","pos","id","sender_id","kind","ts", "text" (text events),
//  "client_msg_id" (if any), "reply_to", "thread_root", "target_seq" (if set), the kind's
//  detail fields (user_ids, user_id, role, title, emoji, mentions ...), and the message's
//  current state: "edited"/"edited_at" with the latest text, or "deleted"; plus `extras`.
//  A hidden event (extras->hidden) has the first seven, "client_msg_id", "thread_root" and
//  "target_seq" when set, and "hidden":true: nothing of its content.
void write_event(JsonWriter& w, const store::EventRecord& event, const EventExtras* extras = nullptr);

// "reactions":[{"emoji","count","user_ids"}], aggregated per emoji in order of first use.
void write_reactions(JsonWriter& w, const std::vector<store::ReactionRecord>& reactions);

// An uploaded file as media.complete answers it and as attachments carry it:
// {"id","file_name","size","content_type", "width","height" (images), "thumbnail",
//  "preview" (if any)}.
void write_media(JsonWriter& w, const store::MediaRecord& media);

// Per-caller state that conversation lists add to a conversation.
struct ConversationExtras {
  int unread_count = 0;
  int mention_count = 0;
  const store::EventRecord* last_message = nullptr;
  std::optional<Seq> peer_delivered_seq;  // direct conversations
  std::optional<Seq> peer_read_seq;       // direct conversations, if the peer shares it
};

// {"id","kind","title","topic","created_by","created_at","last_seq","last_pos","last_event_at",
//  "member_count"} plus, with a membership, "role","visible_from_seq", "left_seq" (if left), the
//  receipt pointers, "cleared_seq" and, for an active one, the member's other settings
//  ("muted_until","archived","pin_rank","marked_unread","notify"),
//  plus "peer" (the other user) for direct conversations when known. For a former member
//  (left_seq set) title/last_seq/last_pos are those of the moment it left, and topic,
//  last_event_at and member_count are omitted.
void write_conversation(JsonWriter& w, const store::ConversationRecord& conversation,
                        const store::MemberRecord* member = nullptr, const store::UserRecord* peer = nullptr,
                        const ConversationExtras* extras = nullptr);

// {"id","username","display_name","created_at"}
void write_user(JsonWriter& w, const store::UserRecord& user);

// {"user_id","role","joined_at"}
void write_member(JsonWriter& w, const store::MemberRecord& member);

// The live event frame: {"type":"event","event":{...}}
std::string event_frame_json(const store::EventRecord& event);

}  // namespace parley::chat

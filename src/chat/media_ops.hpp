// Media commands (issue 14). media.upload: checks the caller's limits and records a pending
// upload in the same batch, and answers with where to PUT the bytes.
#pragma once

#include <memory>

#include "chat/chat_op.hpp"
#include "protocol/commands.hpp"
#include "store/store.hpp"

namespace parley::chat {

std::unique_ptr<ChatOp> make_media_upload_op(ChatService& service, UserId caller, ReplyTarget& target,
                                             protocol::MediaUploadCmd&& command);

// Whether `user` may download `media` or attach it to a message: it is ready, not released
// (attached, then every message carrying it deleted), and the user uploaded it or can see a
// message that carries it (media_urls.cpp).
bool may_use_media(store::ReadTxn& txn, UserId user, const store::MediaRecord& media);

}  // namespace parley::chat

// Media commands that write (issue 14). media.upload: checks the caller's limits and records
// a pending upload in the same batch, and answers with where to PUT the bytes.
#pragma once

#include <memory>

#include "chat/chat_op.hpp"
#include "protocol/commands.hpp"

namespace parley::chat {

std::unique_ptr<ChatOp> make_media_upload_op(ChatService& service, UserId caller, ReplyTarget& target,
                                             protocol::MediaUploadCmd&& command);

}  // namespace parley::chat

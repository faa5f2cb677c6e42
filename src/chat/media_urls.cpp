// media.urls (docs/protocol.md, "media.urls"): short-lived download URLs for the media a user
// may see, answered on a reader thread. Who may see a media is may_use_media's rule, the same
// one a send that attaches it passes.
#include "chat/media_ops.hpp"
#include "chat/service.hpp"
#include "core/clock.hpp"
#include "core/json_writer.hpp"
#include "media/urls.hpp"

namespace parley::chat {

bool may_use_media(store::ReadTxn& txn, UserId user, const store::MediaRecord& media) {
  return media.state == store::MediaState::ready && !media.released &&
         (media.owner_id == user || txn.media_visible_to(user, media.id));
}

bool ChatService::handle_media_urls(const Identity& caller, protocol::Command& command, const ReplyTarget& target) {
  auto* urls = std::get_if<protocol::MediaUrlsCmd>(&command);
  if (!urls) return false;
  auto read = [this, user = caller.user_id, target, ids = std::move(urls->media_ids)](store::ReadTxn* txn) {
    if (!txn)
      return reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "the store could not be read; retry"));
    const std::int64_t now_s = wall_clock_ms() / 1000;
    const std::int64_t expires_at = now_s + config_.media.download_url_ttl_s;
    Reply reply;
    JsonWriter w(reply.fields);
    std::vector<const std::string*> missing;
    w.key("media").begin_array();
    for (const std::string& id : ids) {
      auto media = txn->media(id);
      // Unknown, pending, released or not visible: the same answer, so ids cannot be probed.
      if (!media || !may_use_media(*txn, user, *media)) {
        missing.push_back(&id);
        continue;
      }
      w.begin_object().field("id", id);
      w.field("url", media_urls_->download_url(id, media::MediaVariant::original, now_s, expires_at));
      if (media->has_thumbnail)
        w.field("thumbnail_url", media_urls_->download_url(id, media::MediaVariant::thumbnail, now_s, expires_at));
      w.end_object();
    }
    w.end_array();
    w.key("missing").begin_array();
    for (const std::string* id : missing) w.value(*id);
    w.end_array();
    w.field("url_expires_at", expires_at);
    reply_on_thread(target, std::move(reply));
  };
  if (!readers_->submit(std::move(read)))
    reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "the read queue is full; retry"));
  return true;
}

}  // namespace parley::chat

// media.upload (docs/protocol.md, "media.upload"). The limits that depend on what the user
// already stored are checked on the writer thread, in the batch that records the upload, so
// two requests at once cannot both pass a quota that has room for one.
#include "chat/media_ops.hpp"

#include "chat/service.hpp"
#include "core/clock.hpp"
#include "core/json_writer.hpp"
#include "media/names.hpp"
#include "media/urls.hpp"

namespace parley::chat {
namespace {

// Longest file name stored (bytes, after sanitizing).
constexpr std::size_t kMaxFileNameBytes = 255;

class MediaUploadOp final : public ChatOp {
 public:
  MediaUploadOp(ChatService& s, UserId caller, ReplyTarget t, protocol::MediaUploadCmd&& command)
      : ChatOp(s, caller, std::move(t)) {
    const MediaConfig& media = s.config().media;
    const std::int64_t now_ms = wall_clock_ms();
    const std::int64_t now_s = now_ms / 1000;
    record_.id = media::new_media_id();
    record_.owner_id = caller;
    record_.declared_size = command.size;
    record_.declared_type = std::move(command.content_type);
    record_.file_name = media::sanitize_file_name(command.file_name, kMaxFileNameBytes);
    record_.sha256 = std::move(command.sha256);
    record_.created_at_ms = now_ms;
    record_.expires_at_s = now_s + media.upload_ttl_s;
    url_expires_at_s_ = now_s + media.upload_url_ttl_s;
    // Signed here, off the writer thread; used only if the batch records the upload.
    url_ = s.media_urls().upload_url(record_.id, record_.declared_size, now_s, url_expires_at_s_);
  }

 protected:
  Status run(store::WriteTxn& txn) override {
    const MediaConfig& media = service_.config().media;
    if (record_.declared_size > media.max_file_bytes)
      return field_error(ErrorCode::too_large, "size",
                         "'size' is more than media.max_file_bytes (" + std::to_string(media.max_file_bytes) + ")");
    const store::MediaUsage usage = txn.media_usage(caller_);
    if (usage.pending >= media.max_pending_uploads)
      return make_error(ErrorCode::limit_reached, "too many uploads not yet completed (media.max_pending_uploads = " +
                                                      std::to_string(media.max_pending_uploads) + ")");
    if (media.user_quota_bytes > 0 && usage.bytes + record_.declared_size > media.user_quota_bytes)
      return field_error(ErrorCode::limit_reached, "size",
                         "this upload would exceed your storage quota (media.user_quota_bytes = " +
                             std::to_string(media.user_quota_bytes) + ", in use " + std::to_string(usage.bytes) + ")");
    // 128 random bits: a collision is not a case to handle, only to refuse.
    if (!txn.add_media(record_)) return make_error(ErrorCode::internal, "media id collision; retry");
    JsonWriter w(reply_.fields);
    w.field("media_id", record_.id).field("file_name", record_.file_name).field("size", record_.declared_size);
    w.key("upload").begin_object().field("method", "PUT").field("url", url_).field("expires_at", url_expires_at_s_);
    w.key("headers").begin_object().field("Content-Length", std::to_string(record_.declared_size)).end_object();
    w.end_object();
    return Ok{};
  }

 private:
  store::MediaRecord record_;
  std::string url_;
  std::int64_t url_expires_at_s_ = 0;
};

}  // namespace

std::unique_ptr<ChatOp> make_media_upload_op(ChatService& service, UserId caller, ReplyTarget& target,
                                             protocol::MediaUploadCmd&& command) {
  return std::make_unique<MediaUploadOp>(service, caller, target, std::move(command));
}

}  // namespace parley::chat

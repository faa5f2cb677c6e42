// media.complete (docs/protocol.md, "media.complete"): the uploader says the bytes are there.
// Read the pending row (reader thread), check and describe the file (the media worker: size,
// type from the bytes, the image's header, thumbnail and inline preview, each libvips step in
// a sandboxed child), then record it (writer thread) and answer the media object with
// short-lived download URLs. With media.backend = s3 the uploaded object is first fetched into
// a temporary file (fetch_s3_upload), the same checks run on that, and the checked file goes
// back to the store under the name downloads read (chat/media_s3.hpp).
#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>

#include "chat/media_s3.hpp"
#include "chat/serialize.hpp"
#include "chat/service.hpp"
#include "chat/worker_thread.hpp"
#include "core/base64.hpp"
#include "core/clock.hpp"
#include "core/json_writer.hpp"
#include "media/images.hpp"
#include "media/local_files.hpp"
#include "media/metadata_strip.hpp"
#include "media/names.hpp"
#include "media/sniff.hpp"
#include "media/urls.hpp"

namespace parley::chat {
namespace {

// Lower-case hex SHA-256 of the file at `path`; empty if it cannot be read.
std::string file_sha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  EVP_DigestInit_ex(context, EVP_sha256(), nullptr);
  std::string block(1 << 16, '\0');
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    EVP_DigestUpdate(context, block.data(), static_cast<std::size_t>(in.gcount()));
  }
  unsigned char digest[32];
  unsigned int length = 0;
  EVP_DigestFinal_ex(context, digest, &length);
  EVP_MD_CTX_free(context);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

// Writes `bytes` to `path` through a temporary name, so a reader sees all of it or nothing.
bool write_file_atomically(const std::string& path, const std::string& bytes) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()))) return false;
  }
  return std::rename(temporary.c_str(), path.c_str()) == 0;
}

class MediaCompleteOp final : public ChatOp {
 public:
  MediaCompleteOp(ChatService& s, UserId caller, ReplyTarget t, store::MediaRecord record)
      : ChatOp(s, caller, std::move(t)), record_(std::move(record)) {
    fields_ = service_.media_reply_fields(record_);  // signed here, off the writer thread
    // Completed but never attached to a message: deleted after the same TTL as an upload.
    record_.expires_at_s = wall_clock_ms() / 1000 + service_.config().media.upload_ttl_s;
  }

 protected:
  Status run(store::WriteTxn& txn) override {
    if (!txn.complete_media(record_))
      return make_error(ErrorCode::conflict, "this upload was completed or deleted meanwhile");
    reply_.fields = fields_;
    return Ok{};
  }

 private:
  store::MediaRecord record_;
  std::string fields_;
};

}  // namespace

std::string ChatService::media_reply_fields(const store::MediaRecord& record) const {
  const std::int64_t now_s = wall_clock_ms() / 1000;
  const std::int64_t expires_at = now_s + config_.media.download_url_ttl_s;
  std::string fields;
  JsonWriter w(fields);
  w.key("media");
  write_media(w, record);
  w.field("url", media_urls_->download_url(record.id, media::MediaVariant::original, now_s, expires_at));
  if (record.has_thumbnail)
    w.field("thumbnail_url", media_urls_->download_url(record.id, media::MediaVariant::thumbnail, now_s, expires_at));
  w.field("url_expires_at", expires_at);
  return fields;
}

bool ChatService::handle_media(const Identity& caller, protocol::Command& command, const ReplyTarget& target) {
  auto* complete = std::get_if<protocol::MediaCompleteCmd>(&command);
  if (!complete) return false;
  auto read = [this, caller, target, id = std::move(complete->media_id)](store::ReadTxn* txn) {
    if (!txn)
      return reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "the store could not be read; retry"));
    auto record = txn->media(id);
    // Another user's upload is as unknown as none: ids are not to be probed.
    if (!record || record->owner_id != caller.user_id)
      return reply_on_thread(target, Reply::failure(field_error(ErrorCode::not_found, "media_id", "no such upload")));
    if (record->state == store::MediaState::ready) {  // completed before: the same answer again
      Reply reply;
      reply.fields = media_reply_fields(*record);
      return reply_on_thread(target, std::move(reply));
    }
    auto check = [this, caller, target, record = std::move(*record)]() mutable {
      check_upload(caller.user_id, std::move(record), target);
    };
    if (!media_worker_->submit(std::move(check)))
      reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "too many uploads being completed; retry"));
  };
  if (!readers_->submit(std::move(read)))
    reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "the read queue is full; retry"));
  return true;
}

void ChatService::check_upload(UserId caller, store::MediaRecord record, const ReplyTarget& target) {
  const media::LocalMediaDir dir(config_.media_dir());
  std::string path = *dir.path_of(record.id, media::MediaVariant::original);
  // What was uploaded is refused as a whole: the file goes, the pending row stays until its
  // TTL (the URL may still be used again, with the right bytes).
  auto refuse = [&](Error error) {
    if (s3_client_) delete_s3_upload(*s3_client_, record.id);
    else std::remove(path.c_str());
    reply_on_thread(target, Reply::failure(std::move(error)));
  };
  // media.backend = s3: the checks below run on a local copy of the object, removed when
  // `fetched` goes.
  std::optional<media::TemporaryFile> fetched;
  if (s3_client_) {
    auto file = fetch_s3_upload(*s3_client_, dir.scratch_dir(), record);
    if (!file && file.error().field == "size") return refuse(file.take_error());
    if (!file) return reply_on_thread(target, Reply::failure(file.take_error()));
    fetched.emplace(std::move(*file));
    path = fetched->path();
  }
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0)
    return reply_on_thread(target,
                           Reply::failure(ErrorCode::conflict, "nothing has been uploaded to this media id yet"));
  auto type = media::sniff_file(path);
  if (!type) return reply_on_thread(target, Reply::failure(ErrorCode::internal, "cannot read the uploaded file"));
  // Local backend: a file smaller than declared that has no metadata left is this function's
  // own output: an earlier media.complete of this id stripped it (below) and was then not
  // recorded (a full write queue, two completions at once). Its size and SHA-256 were checked
  // before that. (On s3 the upload object is never rewritten: it is always the client's.)
  const bool stripped_before =
      !fetched && info.st_size < record.declared_size && media::is_stripped_image(path, *type);
  // The upload route allows no other size; a defence in depth.
  if (info.st_size != record.declared_size && !stripped_before)
    return refuse(field_error(ErrorCode::invalid_field, "size", "the stored file is not of the declared size"));
  if (!record.sha256.empty() && !stripped_before && file_sha256(path) != record.sha256)
    return refuse(field_error(ErrorCode::invalid_field, "sha256", "the file's SHA-256 is not the declared one"));
  if (auto declared = media::check_declared_type(record.declared_type, *type); !declared)
    return refuse(declared.take_error());
  record.size = info.st_size;
  // What others download carries no location: metadata removed from the original in place
  // (media/metadata_strip.hpp); a file whose container cannot be walked is refused.
  if (auto format = media::strip_format_of(*type)) {
    auto stripped = media::strip_metadata_in_place(path, *format, dir.scratch_dir() + "/" + record.id + ".strip");
    if (!stripped && stripped.error().code == ErrorCode::internal) {  // our disk, not the file: kept for a retry
      spdlog::error("media.strip_failed id={} reason={}", record.id, stripped.error().message);
      return reply_on_thread(target, Reply::failure(ErrorCode::internal, "cannot rewrite the uploaded file; retry"));
    }
    if (!stripped) return refuse(stripped.take_error());
    if (stripped->changed) {
      std::string removed;
      for (const auto& what : stripped->removed) removed += (removed.empty() ? "" : ",") + what;
      spdlog::info("media.stripped id={} removed={} bytes={}->{}", record.id, removed, info.st_size, stripped->size);
    }
    record.size = stripped->size;
  }
  record.content_type = *type;
  if (media::is_thumbnail_type(*type)) {
    auto image = image_tools_->probe(path);
    if (!image) return refuse(image.take_error());  // a decompression bomb, or not readable as what it claims
    record.width = image->width;
    record.height = image->height;
    if (auto thumbnail = image_tools_->make_thumbnail(path); thumbnail) {
      record.has_thumbnail = s3_client_ ? put_s3_thumbnail(*s3_client_, record.id, *thumbnail)
                                        : write_file_atomically(*dir.path_of(record.id, media::MediaVariant::thumbnail), *thumbnail);
    } else {
      spdlog::warn("media.thumbnail_failed id={} reason={}", record.id, thumbnail.error().message);
    }
    if (auto preview = image_tools_->make_preview(path); preview) record.preview = base64_encode(*preview);
  }
  record.state = store::MediaState::ready;
  record.completed_at_ms = wall_clock_ms();
  ReplyTarget copy = target;
  if (s3_client_) {
    // The checked file becomes what downloads read, served as what it is (a type that is not
    // shown inline as a download, like the local backend's). Once that is recorded the
    // upload object goes; if it cannot, the sweep deletes it with the rest.
    const std::string disposition =
        media::content_disposition(record.file_name, !media::is_inline_type(record.content_type));
    if (!put_s3_original(*s3_client_, record.id, path, record.content_type, disposition))
      return reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "the media store could not be reached; retry"));
    copy.http = [this, target, id = record.id](const Reply& reply) {
      if (!reply.error) {
        if (!media_worker_->submit([this, id] { delete_s3_upload(*s3_client_, id); }))
          spdlog::warn("media.upload_object_left id={} reason=worker_queue_full", id);
      }
      reply_on_thread(target, reply);
    };
    copy.session_id = 0;
    copy.request_id.clear();
  }
  if (!submit_write(std::make_unique<MediaCompleteOp>(*this, caller, copy, std::move(record))))
    reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "the write queue is full; retry"));
}

}  // namespace parley::chat

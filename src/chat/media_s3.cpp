#include "chat/media_s3.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <random>

#include "media/urls.hpp"

namespace parley::chat {

Result<media::TemporaryFile> fetch_s3_upload(const media::S3Client& s3, const std::string& scratch_dir,
                                             const store::MediaRecord& record) {
  const std::string key = media::MediaUrls::s3_upload_key(record.id);
  auto size = s3.size_of(key);
  if (!size && size.error().code == ErrorCode::not_found)
    return make_error(ErrorCode::conflict, "nothing has been uploaded to this media id yet");
  if (!size) {
    spdlog::warn("media.s3_failed id={} reason={}", record.id, size.error().message);
    return make_error(ErrorCode::unavailable, "the media store could not be reached; retry");
  }
  // A store that checks signatures allows no other size (the upload URL signs Content-Length);
  // one that does not is caught here.
  if (*size != record.declared_size)
    return field_error(ErrorCode::invalid_field, "size", "the stored file is not of the declared size");
  std::error_code ignored;
  std::filesystem::create_directories(scratch_dir, ignored);
  // A name of its own per fetch: nodes of a cluster may share media.dir, and one upload may
  // be completed on two of them at once.
  std::random_device random;
  char suffix[17];
  std::snprintf(suffix, sizeof suffix, "%08x%08x", random(), random());
  media::TemporaryFile file(scratch_dir + "/" + record.id + "." + suffix + ".s3get");
  if (auto got = s3.download(key, file.path(), record.declared_size); !got) {
    switch (got.error().code) {
      case ErrorCode::too_large:  // replaced by a larger object since the HEAD
        return field_error(ErrorCode::invalid_field, "size", "the stored file is not of the declared size");
      case ErrorCode::not_found:  // deleted since the HEAD
        return make_error(ErrorCode::conflict, "nothing has been uploaded to this media id yet");
      default:
        spdlog::warn("media.s3_failed id={} reason={}", record.id, got.error().message);
        return make_error(got.error().code == ErrorCode::unavailable ? ErrorCode::unavailable : ErrorCode::internal,
                          "the uploaded file could not be fetched from the media store; retry");
    }
  }
  return file;
}

bool put_s3_original(const media::S3Client& s3, std::string_view media_id, const std::string& path,
                     std::string_view content_type, std::string_view content_disposition) {
  auto stored = s3.upload_file(media::MediaUrls::s3_key(media_id, media::MediaVariant::original), path, content_type,
                               content_disposition);
  if (!stored) spdlog::warn("media.s3_failed id={} reason={}", media_id, stored.error().message);
  return stored.ok();
}

bool delete_s3_upload(const media::S3Client& s3, std::string_view media_id) {
  auto deleted = s3.remove(media::MediaUrls::s3_upload_key(media_id));
  if (!deleted) spdlog::warn("media.s3_failed id={} reason={}", media_id, deleted.error().message);
  return deleted.ok();
}

bool put_s3_thumbnail(const media::S3Client& s3, std::string_view media_id, const std::string& jpeg) {
  auto stored = s3.upload(media::MediaUrls::s3_key(media_id, media::MediaVariant::thumbnail), jpeg, "image/jpeg");
  if (!stored) spdlog::warn("media.s3_failed id={} reason={}", media_id, stored.error().message);
  return stored.ok();
}

bool delete_s3_objects(const media::S3Client& s3, std::string_view media_id) {
  if (!delete_s3_upload(s3, media_id)) return false;
  for (auto variant : {media::MediaVariant::original, media::MediaVariant::thumbnail}) {
    if (auto deleted = s3.remove(media::MediaUrls::s3_key(media_id, variant)); !deleted) {
      spdlog::warn("media.s3_failed id={} reason={}", media_id, deleted.error().message);
      return false;
    }
  }
  return true;
}

}  // namespace parley::chat

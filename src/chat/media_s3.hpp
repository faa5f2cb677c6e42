// The server's side of media.backend = s3 (on the media worker). Clients PUT to "uploads/ID"
// (MediaUrls::s3_upload_key); media.complete fetches that object, checks it, and stores the
// checked (metadata-stripped) original as "media/ID" with the sniffed type and a
// Content-Disposition, its thumbnail as "media/ID.thumb"; download URLs name only these. The
// upload object goes once the completion is recorded; the sweep deletes all three.
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"
#include "media/s3_client.hpp"
#include "store/records.hpp"

namespace parley::chat {

// The uploaded object of `record` fetched into a temporary file in `scratch_dir` (created if missing):
// HEAD first (it must be there, not larger than declared), then a GET streamed to disk, never
// more than that size. The file is removed when the result goes. conflict if nothing has been
// uploaded yet; invalid_field "size" if the object is larger than declared (the caller refuses
// it and deletes the object; a smaller one is refused by check_upload's own size check);
// unavailable if the store cannot be reached.
Result<media::TemporaryFile> fetch_s3_upload(const media::S3Client& s3, const std::string& scratch_dir,
                                             const store::MediaRecord& record);

// PUTs the checked file at `path` as the original of `media_id`, served with `content_type`
// and `content_disposition`. False, logged, if the store refused it or could not be reached.
bool put_s3_original(const media::S3Client& s3, std::string_view media_id, const std::string& path,
                     std::string_view content_type, std::string_view content_disposition);

// DELETEs the upload object of `media_id` (gone already counts as deleted). False, logged, on
// failure.
bool delete_s3_upload(const media::S3Client& s3, std::string_view media_id);

// PUTs `jpeg` as the thumbnail of `media_id` (served as image/jpeg). False, logged, if the
// store refused it or could not be reached.
bool put_s3_thumbnail(const media::S3Client& s3, std::string_view media_id, const std::string& jpeg);

// DELETEs the upload, the original and the thumbnail of `media_id` (objects that are not there count as
// deleted). False, logged, if the store could not be reached.
bool delete_s3_objects(const media::S3Client& s3, std::string_view media_id);

}  // namespace parley::chat

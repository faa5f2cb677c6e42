// The server's side of media.backend = s3 (on the media worker): an uploaded object fetched
// for media.complete's checks, its thumbnail stored beside it, and objects deleted (refused
// files, uploads never completed). The object keys are MediaUrls::s3_key's, so the URLs
// clients get name the same objects.
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"
#include "media/s3_client.hpp"
#include "store/records.hpp"

namespace parley::chat {

// The object of `record` fetched into a temporary file in `scratch_dir` (created if missing):
// HEAD first (it must be there, not larger than declared), then a GET streamed to disk, never
// more than that size. The file is removed when the result goes. conflict if nothing has been
// uploaded yet; invalid_field "size" if the object is larger than declared (the caller refuses
// it and deletes the object; a smaller one is refused by check_upload's own size check);
// unavailable if the store cannot be reached.
Result<media::TemporaryFile> fetch_s3_upload(const media::S3Client& s3, const std::string& scratch_dir,
                                             const store::MediaRecord& record);

// PUTs `jpeg` as the thumbnail of `media_id` (served as image/jpeg). False, logged, if the
// store refused it or could not be reached.
bool put_s3_thumbnail(const media::S3Client& s3, std::string_view media_id, const std::string& jpeg);

// DELETEs the original and the thumbnail of `media_id` (objects that are not there count as
// deleted). False, logged, if the store could not be reached.
bool delete_s3_objects(const media::S3Client& s3, std::string_view media_id);

}  // namespace parley::chat
